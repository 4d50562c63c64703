"""What the warehouse holds: entities, school years, schools, row counts, the last load, quarantine."""
from __future__ import annotations

import streamlit as st

from access.session import shared_reader, warehouse_path
from access.warehouse_reader import WarehouseMissing
from access.warehouse_status import read_status


@st.cache_data(show_spinner=False, max_entries=8)
def _status(version: str):
    return read_status(shared_reader().connection())


st.title("What is loaded")
try:
    status = _status(shared_reader().version)
except WarehouseMissing:
    st.info(f"No warehouse yet at `{warehouse_path()}`. Load a district's exports with "
            "`python -m pipelines load PATH... --db FILE`, or build the synthetic demo with `make demo`.")
    st.stop()

if status.is_empty:
    st.info("The warehouse exists but holds no rows yet. Load exports with `python -m pipelines load PATH...`.")
    st.stop()

kind = "Synthetic demo data" if status.synthetic else "District data"
years = status.enrollment_by_year
schools = status.entities.filter(status.entities["entity"] == "schools")["row_count"][0]
cases = status.entities.filter(status.entities["entity"] == "btam_cases")["row_count"][0]
quarantined = int(status.quarantine["rows_quarantined"].sum()) if not status.quarantine.is_empty() else 0

st.caption(f"{kind} · last load {status.last_load_at} · as-of date {status.info.get('last_load_as_of', '-')}")
c1, c2, c3, c4 = st.columns(4)
c1.metric("School years", f"{years.height}",
          help=f"{years['school_year'][0]} to {years['school_year'][-1]}" if years.height else None)
c2.metric("Schools", f"{schools:,}")
c3.metric("BTAM cases", f"{cases:,}")
c4.metric("Rows in quarantine", f"{quarantined:,}")

st.subheader("Entities")
st.dataframe(status.entities.rename({"entity": "Entity", "row_count": "Rows", "first_year": "First year",
                                     "last_year": "Last year", "school_count": "Schools"}),
             hide_index=True, width="stretch")

st.subheader("Enrollment by school year")
st.dataframe(years.rename({"school_year": "School year", "students": "Students enrolled", "schools": "Schools"}),
             hide_index=True, width="stretch")

st.subheader("Files loaded")
st.dataframe(status.loads.select("loaded_at", "file_name", "entity", "status", "rows_read", "rows_loaded",
                                 "rows_quarantined", "ignored_columns")
             .rename({"loaded_at": "Loaded at", "file_name": "File", "entity": "Entity", "status": "Status",
                      "rows_read": "Read", "rows_loaded": "Loaded", "rows_quarantined": "Quarantined",
                      "ignored_columns": "Columns not stored"}),
             hide_index=True, width="stretch")

st.subheader("Quarantine by rule")
if status.quarantine.is_empty():
    st.success("No row was quarantined: every row read was loaded.")
else:
    st.caption("Rows that broke a rule of the data contract are kept aside with the rule and row number "
               "(1-based data rows; the header is row 0). Fix them in the source system and load the file again.")
    st.dataframe(status.quarantine.rename({"file_name": "File", "entity": "Entity", "rule": "Rule",
                                           "rows_quarantined": "Rows", "first_rows": "First rows"}),
                 hide_index=True, width="stretch")
