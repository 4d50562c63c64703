"""What the warehouse holds: entities, school years, schools, row counts, the last load."""

from __future__ import annotations

import polars as pl
import streamlit as st

from access.roles import must_suppress
from access.warehouse_reader import WarehouseMissing
from access.warehouse_status import WarehouseStatus, read_status
from data_contracts.labels import ENTITY_LABELS
from ui.context import connection, page_context
from ui.first_run import show_first_run
from ui.text import fmt_count, fmt_date, fmt_text


@st.cache_data(show_spinner=False, max_entries=32)
def _status(cache_key: str) -> WarehouseStatus:
    return read_status(connection())


ctx = page_context()
try:
    status = _status(ctx.cache_key)
except WarehouseMissing:
    show_first_run(missing=True)
    st.stop()
if status.loads.is_empty():
    show_first_run(missing=False)
    st.stop()

# District-wide counts reach a board member (and a coordinator, for schools not theirs) with 1-9 as '<10'.
suppress = must_suppress(ctx.viewer, None)


def count(value: object) -> str:
    return fmt_count(value, suppress=suppress)


st.title("What is loaded")
kind = "Synthetic demo data" if status.synthetic else "District data"
st.caption(
    f"{kind} · last load {fmt_date(status.last_load_at)} · "
    f"as-of date {fmt_text(status.info.get('last_load_as_of'))} · whole district, every school year "
    "(the filters apply to the analytic pages)"
)

entities = status.entities
years = status.enrollment_by_year


def rows_of(entity: str) -> int:
    found = entities.filter(pl.col("entity") == entity)["row_count"]
    return int(found[0]) if found.len() else 0


quarantined = int(status.quarantine["rows_quarantined"].sum()) if not status.quarantine.is_empty() else 0
c1, c2, c3, c4 = st.columns(4)
c1.metric(
    "School years",
    f"{years.height}",
    help=f"{years['school_year'][0]} to {years['school_year'][-1]}" if years.height else None,
)
c2.metric("Schools", count(rows_of("schools")))
c3.metric("BTAM cases", count(rows_of("btam_cases")))
c4.metric(
    "Rows in quarantine", count(quarantined), help="Rows that broke a rule of the data contract; see Data quality."
)

st.subheader("Entities")
st.dataframe(
    pl.DataFrame(
        {
            "Entity": [ENTITY_LABELS.get(e, e) for e in entities["entity"]],
            "Rows": [count(v) for v in entities["row_count"]],
            "First year": [fmt_text(v) for v in entities["first_year"]],
            "Last year": [fmt_text(v) for v in entities["last_year"]],
            "Schools": [count(v) for v in entities["school_count"]],
        }
    ),
    hide_index=True,
    width="stretch",
)

st.subheader("Enrollment by school year")
st.dataframe(
    pl.DataFrame(
        {
            "School year": years["school_year"].to_list(),
            "Students enrolled": [count(v) for v in years["students"]],
            "Schools": [count(v) for v in years["schools"]],
        }
    ),
    hide_index=True,
    width="stretch",
)
if suppress:
    st.caption("Counts of 1 to 9 are shown as <10 for this role.")
st.caption("Load history, quarantined rows and data freshness are on the *Data quality* page.")
