"""Process audit: a scorecard per school against the NASP BTAM steps, with each indicator's numerator and
denominator behind it."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from data_contracts.labels import AUDIT_STATUS_LABELS, AUDIT_STATUS_MARKS
from figures.released_audit import released_audit_rows
from ui import page_data as data
from ui.charts import OKABE_ITO, chart_with_table, style, table_with_download
from ui.context import analytic_view
from ui.text import fmt_int, fmt_pct, of_count, plural, python_map, table_number
from ui.url_state import url_selectbox

# the vocabulary's status words with the page's marks: too few cases is neither on nor off target
STATUS = {
    "on_target": f"{AUDIT_STATUS_MARKS['on_target']} {AUDIT_STATUS_LABELS['on_target']}",
    "off_target": f"{AUDIT_STATUS_MARKS['off_target']} {AUDIT_STATUS_LABELS['off_target']}",
    "too_few": f"○ {AUDIT_STATUS_LABELS['too_few']} (< 10)",
    "not_applicable": AUDIT_STATUS_LABELS["not_applicable"],
    "withheld": AUDIT_STATUS_LABELS["withheld"],
}
# Plotly marker symbol and colour per status: too few cases is neither on nor off target, so it has its own mark.
MARKS = {
    "on_target": ("circle", OKABE_ITO["bluish_green"]),
    "off_target": ("x", OKABE_ITO["vermillion"]),
    "too_few": ("circle-open", "#595959"),
    "withheld": ("diamond-open", "#595959"),
}

ctx, year, school_ids, suppress, where = analytic_view("Process audit")
audit = data.process_audit(ctx.cache_key, year, school_ids).filter(pl.col("school_year") == year)
district = audit.filter(pl.col("scope") == "district")
if district.is_empty() or not district["denominator"].sum():
    st.info(f"No BTAM case in {where}, so there is nothing to audit. Choose another year or more schools.")
    st.stop()
st.caption(where + (" · counts of 1 to 9 are shown as <10 for this role" if suppress else ""))


def name(r: dict) -> str:
    label = r["label"]
    return f"{label} ({r['concern_level']})" if r["concern_level"] else label


district = district.with_columns(
    python_map(district.select(pl.struct("label", "concern_level")).to_series(), name).alias("indicator_name")
)
numbers = district.with_columns(
    pl.col("numerator").cast(pl.String).alias("num"),
    pl.col("denominator").cast(pl.String).alias("den"),
    pl.col("value").alias("shown_value"),
)
notes: list[str] = []
if suppress:
    release = data.public_release(ctx.release_key, year, school_ids)
    numbers, notes = released_audit_rows(numbers, release)
    marks = numbers["status"].to_list()
    if "withheld" in marks:
        notes.insert(
            0,
            "A status marked withheld would narrow a hidden count (off target over a count shown as <10 "
            "says which end of 1-9 it is), so it is not shown for this role.",
        )
off = numbers.filter(pl.col("status") == "off_target")
judged = numbers.filter(pl.col("status").is_in(["on_target", "off_target"])).height
withheld = numbers.filter(pl.col("status") == "withheld").height
more = (
    f"; the status of {fmt_int(withheld)} more is withheld because a count it depends on is hidden."
    if withheld
    else "."
)
if judged:
    st.markdown(
        f"**{fmt_int(off.height)} of {plural(judged, 'indicator')}** with enough cases "
        f"{'is' if off.height == 1 else 'are'} off target for the chosen schools together" + more
    )
else:
    st.markdown(
        "**No indicator has enough cases** (10 or more) to be compared with its target for the chosen "
        "schools together" + more
    )
plotted = numbers.filter(pl.col("shown_value").is_not_null())
fig = go.Figure()
for status in MARKS:  # each status its own mark, colour and legend entry
    part = plotted.filter(pl.col("status") == status)
    if part.height:
        fig.add_scatter(
            x=part["shown_value"].to_list(),
            y=part["indicator_name"].to_list(),
            mode="markers",
            marker_symbol=MARKS[status][0],
            marker_size=12,
            marker_color=MARKS[status][1],
            marker_line_width=2,
            marker_line_color=MARKS[status][1],
            name=STATUS[status],
            hovertemplate=f"%{{y}}: %{{x:.0%}} ({STATUS[status]})<extra></extra>",
        )
fig.add_scatter(
    x=plotted["target"].to_list(),
    y=plotted["indicator_name"].to_list(),
    mode="markers",
    marker_symbol="line-ns-open",
    marker_size=18,
    marker_color=OKABE_ITO["black"],
    name="target",
)
fig.update_xaxes(tickformat=".0%", range=[0, 1.05])
fig.update_yaxes(categoryorder="array", categoryarray=plotted["indicator_name"].to_list())
style(
    fig,
    title=f"Process-audit indicators against their targets, {where}",
    x_title="Share of cases (%)",
    y_title="Indicator",
    height=max(360, 60 + 34 * plotted.height),
)
chart_with_table(
    ctx,
    fig,
    numbers.select(
        pl.col("nasp_step").alias("NASP step"),
        pl.col("indicator_name").alias("Indicator"),
        pl.col("num").alias("Numerator"),
        pl.col("den").alias("Denominator"),
        table_number("shown_value", "share").alias("Share"),
        pl.col("target").alias("Target"),
        pl.col("status").replace_strict(STATUS).alias("Status"),
    ),
    stem=f"process_audit_{year}",
    footnotes=notes
    + [
        (
            "✓ filled circle: on target; ✗ cross: off target; ○ open circle: too few cases (under 10) "
            "to judge; the bar is the target."
        )
    ],
    key="audit_district",
    how="Each indicator is a share of cases compared with a local target; a share equal to the target is on target. "
    "Indicators over fewer than 10 cases are reported as too few.",
    section="Process audit (`metrics/audit.py`)",
)

# Scorecard per school.
schools = audit.filter(pl.col("scope") != "district")
if schools.height and not suppress:
    st.subheader("Scorecard per school")
    names = {s.school_id: s.name for s in ctx.options.schools}
    schools = schools.with_columns(
        python_map(schools.select(pl.struct("label", "concern_level")).to_series(), name).alias("indicator_name"),
        pl.col("scope").replace_strict(names, default=pl.col("scope")).alias("school"),
    )
    card = schools.with_columns(pl.col("status").replace_strict(AUDIT_STATUS_MARKS).alias("mark")).pivot(
        on="indicator_name", index="school", values="mark"
    )
    st.dataframe(card, hide_index=True, width="stretch")
    st.caption("✓ on target · ✗ off target · ○ few: fewer than 10 cases · –: no case the indicator applies to.")
    c1, c2 = st.columns(2)
    school = url_selectbox(
        "Drill down: school",
        sorted(schools["school"].unique().to_list()),
        key="audit_school",
        param="drill_school",
        container=c1,
    )
    indicator = url_selectbox(
        "Indicator",
        schools["indicator_name"].unique(maintain_order=True).to_list(),
        key="audit_indicator",
        param="indicator",
        container=c2,
    )
    row = schools.filter((pl.col("school") == school) & (pl.col("indicator_name") == indicator))
    if row.height:
        r = row.row(0, named=True)
        counted = (
            f"{of_count(r['numerator'], r['denominator'], 'case')} ({fmt_pct(r['value'])})"
            if r["denominator"]
            else "no case the indicator applies to"
        )
        bound = "at least" if r["direction"] == "higher_is_better" else "at most"
        st.markdown(
            f"**{school} — {indicator}**: {counted}, target {bound} {fmt_pct(r['target'], decimals=0)}: "
            f"{STATUS[r['status']]}. NASP step {r['nasp_step']}: "
            f"{r['nasp_step_name']}."
        )
    table_with_download(
        ctx,
        schools.select(
            pl.col("school").alias("School"),
            pl.col("nasp_step").alias("NASP step"),
            pl.col("indicator_name").alias("Indicator"),
            pl.col("numerator").alias("Numerator"),
            pl.col("denominator").alias("Denominator"),
            table_number("value", "share").alias("Share"),
            pl.col("target").alias("Target"),
            pl.col("status").replace_strict(STATUS).alias("Status"),
        ),
        stem=f"process_audit_by_school_{year}",
        key="audit_schools",
    )
elif suppress:
    st.info(
        "The per-school scorecard holds small counts of cases; it is for district staff and each school's coordinator.",
        icon=":material/lock:",
    )
