"""Published figures: what every output shows, built without Streamlit."""
