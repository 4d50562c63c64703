"""Published figures: what a viewer is shown, computed once for pages, the board report and exports.

Streamlit-free (the app layer caches); derived.py holds the rule for statistics derived from a suppressed
release."""
