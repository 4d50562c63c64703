"""Data quality: freshness, the ledger's reconciliation, every load, and the quarantine by rule."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from access.queries import run_query
from access.roles import ADMIN, DISTRICT
from access.warehouse_reader import WarehouseMissing
from data_contracts.labels import ENTITY_LABELS
from ui.charts import OKABE_ITO, chart_with_table, how_computed, style, table_with_download
from ui.context import PageContext, connection, page_context
from ui.text import fmt_date, fmt_int, fmt_text, plural

ROW_LIMIT = 200


@st.cache_data(show_spinner=False, max_entries=64)
def _named(cache_key: str, name: str) -> pl.DataFrame:
    return run_query(connection(), name)


@st.cache_data(show_spinner=False, max_entries=64)
def _quarantine_rows(cache_key: str, file_name: str, rule: str) -> pl.DataFrame:
    return run_query(connection(), "quality/quarantine_rows", file_name=file_name, rule=rule, row_limit=ROW_LIMIT)


def may_see_quarantined_rows(ctx: PageContext) -> bool:
    """Raw quarantined rows are case-level and not scoped to a school: district staff only."""
    return ctx.viewer.role in (ADMIN, DISTRICT) and not ctx.viewer.suppressed


def freshness(ctx: PageContext) -> None:
    st.subheader("Data freshness")
    dates = _named(ctx.cache_key, "quality/latest_dates")
    ledger = _named(ctx.cache_key, "status/load_history")
    as_of = dates["as_of_date"][0] if dates.height else None
    c1, c2, c3 = st.columns(3)
    c1.metric("Last load", fmt_date(ledger["loaded_at"].max() if ledger.height else None))
    c2.metric(
        "As-of date of the last load",
        fmt_date(as_of),
        help="The date the loaded exports describe; dates after it are quarantined.",
    )
    c3.metric("Files loaded", fmt_int(ledger.filter(pl.col("status") == "loaded").height))
    st.dataframe(
        pl.DataFrame(
            {
                "Entity": [ENTITY_LABELS.get(e, e) for e in dates["entity"]],
                "Latest date": [fmt_date(d) for d in dates["latest_date"]],
                "Date column": [fmt_text(c) for c in dates["date_column"]],
                "Days before the as-of date": [fmt_int(d) for d in dates["days_before_as_of"]],
                "Latest school year": [fmt_text(y) for y in dates["latest_school_year"]],
                "Last loaded": [fmt_date(t) for t in dates["last_loaded_at"]],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    stale = dates.filter(pl.col("days_before_as_of") > 60)
    if stale.height:
        names = ", ".join(ENTITY_LABELS.get(e, e) for e in stale["entity"])
        st.warning(
            f"{names}: the latest record is more than 60 days before the as-of date. "
            "Check that the export covers the whole period."
        )


def reconciliation(ctx: PageContext, show_counts: bool) -> None:
    st.subheader("Ledger reconciliation")
    rec = _named(ctx.cache_key, "quality/ledger_reconciliation")
    broken = rec.filter(~pl.col("balanced") | ~pl.col("quarantine_complete"))
    if rec.is_empty():
        st.info("No file has been loaded yet.")
    elif broken.is_empty():
        st.success(
            f"Every row read was either loaded or quarantined, in all {plural(rec.height, 'file')} "
            "loaded (rows read = rows loaded + rows quarantined), and every quarantined row is stored "
            "with its rule.",
            icon=":material/check_circle:",
        )
    else:
        st.error(
            f"{plural(broken.height, 'file')} do not reconcile: "
            + ", ".join(broken["file_name"].to_list())
            + ". Rows were lost or counted twice; reload these files and report the load id.",
            icon=":material/error:",
        )
    if show_counts and rec.height:
        table = rec.select(
            pl.col("loaded_at").alias("Loaded at"),
            pl.col("file_name").alias("File"),
            pl.col("entity").alias("Entity"),
            pl.col("rows_read").alias("Read"),
            pl.col("rows_loaded").alias("Loaded"),
            pl.col("rows_quarantined").alias("Quarantined"),
            pl.col("quarantine_rows_stored").alias("Quarantined rows stored"),
            pl.when(pl.col("balanced") & pl.col("quarantine_complete"))
            .then(pl.lit("yes"))
            .otherwise(pl.lit("NO"))
            .alias("Reconciles"),
        )
        with st.expander("Reconciliation per file", icon=":material/balance:"):
            table_with_download(ctx, table, stem="ledger_reconciliation")


def load_ledger(ctx: PageContext) -> None:
    st.subheader("Load ledger")
    ledger = _named(ctx.cache_key, "status/load_history")
    table = ledger.select(
        pl.col("loaded_at").alias("Loaded at"),
        pl.col("load_id").alias("Load"),
        pl.col("file_name").alias("File"),
        pl.col("entity").alias("Entity"),
        pl.col("status").alias("Status"),
        pl.col("rows_read").alias("Read"),
        pl.col("rows_loaded").alias("Loaded"),
        pl.col("rows_quarantined").alias("Quarantined"),
        pl.col("ignored_columns").alias("Columns not stored"),
    )
    table_with_download(ctx, table, stem="load_ledger")


def quarantine(ctx: PageContext) -> None:
    st.subheader("Quarantine by rule")
    families = _named(ctx.cache_key, "quality/quarantine_by_rule_family")
    by_rule = _named(ctx.cache_key, "status/quarantine_by_rule")
    if by_rule.is_empty():
        st.success("No row was quarantined: every row read was loaded.", icon=":material/check_circle:")
        return
    total = int(families["rows_quarantined"].sum())
    st.write(
        f"{plural(total, 'row')} broke a rule of the data contract and were kept aside, not loaded. "
        "Fix them in the source system and load the file again; row numbers count data rows from 1 "
        "(the header is row 0)."
    )
    ordered = families.sort("rows_quarantined")
    fig = go.Figure(
        go.Bar(
            x=ordered["rows_quarantined"].to_list(),
            y=ordered["rule_family"].to_list(),
            orientation="h",
            marker_color=OKABE_ITO["blue"],
            text=[fmt_int(v) for v in ordered["rows_quarantined"]],
            textposition="outside",
            customdata=ordered["entity_list"].to_list(),
            hovertemplate="%{y}: %{x:,} rows (%{customdata})<extra></extra>",
        )
    )
    style(
        fig,
        title="Quarantined rows by kind of rule, all loads",
        x_title="Rows quarantined",
        y_title="Kind of rule",
        height=max(260, 60 + 32 * ordered.height),
    )
    chart_with_table(
        ctx,
        fig,
        families.select(
            pl.col("rule_family").alias("Kind of rule"),
            pl.col("rows_quarantined").alias("Rows quarantined"),
            pl.col("entity_list").alias("Entities"),
        ),
        stem="quarantine_by_kind_of_rule",
        how="Each row read is checked against the entity's data contract. A row that breaks rules is "
        "quarantined once, under the first rule it broke, so the counts add up to the rows quarantined. "
        "The kind of rule is the part of the rule name before the colon.",
        section="Data contract rules and the quarantine",
        doc="CONTRACT_RULES.md",
    )
    st.markdown("**Per file and rule**, with the first row numbers to look at")
    table_with_download(
        ctx,
        by_rule.select(
            pl.col("file_name").alias("File"),
            pl.col("entity").alias("Entity"),
            pl.col("rule").alias("Rule"),
            pl.col("rows_quarantined").alias("Rows"),
            pl.col("first_rows").alias("First rows"),
        ),
        stem="quarantine_by_rule",
    )
    quarantined_rows(ctx, by_rule)


def quarantined_rows(ctx: PageContext, by_rule: pl.DataFrame) -> None:
    st.markdown("**Quarantined rows as read**")
    if not may_see_quarantined_rows(ctx):
        st.info(
            "The quarantined rows themselves are case-level records of any school, so only district "
            "staff and administrators see them. The counts above are what this role may see.",
            icon=":material/lock:",
        )
        return
    files = sorted(by_rule["file_name"].unique().to_list())
    c1, c2 = st.columns(2)
    file_name = c1.selectbox("File", files, key="dq_file")
    rules = by_rule.filter(pl.col("file_name") == file_name)["rule"].to_list()
    rule = c2.selectbox("Rule", rules, key="dq_rule")
    if not file_name or not rule:
        return
    rows = _quarantine_rows(ctx.cache_key, file_name, rule)
    logged = st.session_state.setdefault("_dq_logged", set())
    if (ctx.cache_key, file_name, rule) not in logged:
        ctx.audit("view_case_rows", page="data_quality", file=file_name, rule=rule, row_count=rows.height)
        logged.add((ctx.cache_key, file_name, rule))
    st.caption(f"Up to {ROW_LIMIT} rows; this view is written to the audit log.")
    table_with_download(
        ctx,
        rows.select(
            pl.col("row_number").alias("Row"),
            pl.col("rule").alias("Rule"),
            pl.col("detail").alias("What is wrong"),
            pl.col("raw_row").alias("Row as read"),
        ),
        stem=f"quarantine_{file_name}_{rule}",
        row_level=True,
        key="quarantine_rows",
    )


ctx = page_context()
st.title("Data quality")
try:
    state = _named(ctx.cache_key, "quality/warehouse_state")
except WarehouseMissing:
    st.info("Nothing is loaded yet, so there is no data quality to report. See *What is loaded*.")
    st.stop()
if not state["files_loaded"][0]:
    st.info("Nothing is loaded yet, so there is no data quality to report. See *What is loaded*.")
    st.stop()

st.caption("Whole warehouse, every load (the global filters apply to the analytic pages).")
freshness(ctx)
counts_allowed = not ctx.viewer.suppressed
reconciliation(ctx, show_counts=counts_allowed)
if counts_allowed:
    load_ledger(ctx)
    quarantine(ctx)
else:
    st.info(
        "Row counts of loads and of the quarantine are for district staff; the board view shows whether "
        "the data are current and complete.",
        icon=":material/lock:",
    )
how_computed(
    "Freshness is the latest date each entity holds against the as-of date of the last load. "
    "Reconciliation checks, for every file, that rows read = rows loaded + rows quarantined and that "
    "each quarantined row is stored with its rule and row number.",
    section="Data contract rules and the quarantine",
    doc="CONTRACT_RULES.md",
)
