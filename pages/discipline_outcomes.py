"""Discipline outcomes of BTAM cases: how often cases end in exclusion, law enforcement or a change of
placement, by level of concern and student group, the same-level comparison in one sentence, and the
students suspended while their case was open."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from data_contracts import number_format as nf
from data_contracts.labels import CASE_OUTCOME_PHRASES, LEVELS
from figures.released_outcomes import HIDDEN_STRATUM, released_conditional, released_outcome_shares
from figures.words import p_text, statistic_sentence
from metrics.config import DEFAULT_SETTINGS
from metrics.significance import conditional_significance
from ui import page_data as data
from ui.charts import PALETTE, SYMBOLS, chart_with_table, footnote_line, style, table_with_download
from ui.context import analytic_view
from ui.text import first_upper, fmt_int, fmt_pct, plural, python_map, table_number
from ui.url_state import url_selectbox

ctx, year, school_ids, suppress, where = analytic_view("Discipline outcomes")
strata = data.outcome_strata(ctx.cache_key, year, school_ids)
if strata.is_empty():
    st.info(f"No assessed case about an enrolled student in {where}. Choose another year or more schools.")
    st.stop()
st.caption(where + (" · counts of 1 to 9 are shown as <10 for this role" if suppress else ""))
c1, c2 = st.columns(2)
outcome = url_selectbox(
    "Outcome of the case",
    list(CASE_OUTCOME_PHRASES),
    key="discipline_outcome",
    param="outcome",
    format_func=lambda o: data.OUTCOME_LABELS[o],
    container=c1,
)
dimension = url_selectbox(
    "Student groups",
    data.PUBLIC_OUTCOME_DIMENSIONS if suppress else data.GROUP_DIMENSIONS,
    key="discipline_dimension",
    param="groups",
    container=c2,
    format_func=data.DIMENSION_LABELS.get,
    help="For this role case outcomes are published by race and by disability only: finer "
    "splits of a year's cases are too small to publish."
    if suppress
    else None,
)
part = strata.filter((pl.col("outcome") == outcome) & (pl.col("dimension") == dimension)).with_columns(
    pl.when(pl.col("cases") > 0).then(pl.col("with_outcome") / pl.col("cases")).alias("share"),
    pl.col("cases").cast(pl.String).alias("cases_shown"),
    pl.col("with_outcome").cast(pl.String).alias("with_shown"),
)
notes: list[str] = []
pub = None
if suppress:  # counts as the release prints them; a share only where both of its counts are published
    pub = data.public_release(ctx.release_key, year, school_ids).tables[f"outcome_{outcome}_{dimension}"]
    part = released_outcome_shares(part, pub, outcome, dimension)
    notes = list(pub.footnotes.values())

fig = go.Figure()
groups = sorted(part["group"].unique().to_list())
for i, g in enumerate(groups):
    rows = part.filter(pl.col("group") == g)
    rows = rows.sort(pl.col("concern_level").replace_strict({lv: j for j, lv in enumerate(LEVELS)}, default=9))
    fig.add_scatter(
        x=[data.LEVEL_LABELS[lv] for lv in rows["concern_level"]],
        y=rows["share"].to_list(),
        name=data.group_label(dimension, g),
        mode="lines+markers",
        marker_symbol=SYMBOLS[i % len(SYMBOLS)],
        marker_size=10,
        line_color=PALETTE[i % len(PALETTE)],
        line_dash=["solid", "dash", "dot"][i % 3],
        customdata=list(zip(rows["with_shown"].to_list(), rows["cases_shown"].to_list())),
        hovertemplate="%{y:.1%}: %{customdata[0]} of %{customdata[1]} cases<extra>%{fullData.name}</extra>",
    )
drawn = [v for v in part["share"].to_list() if v is not None]  # a share is at most 100%: so is the axis
fig.update_yaxes(tickformat=".0%", range=[0, min(1.05, 1.2 * max(drawn) + 0.02) if drawn else 1.05])
style(
    fig,
    title=f"Share of assessed BTAM cases that {CASE_OUTCOME_PHRASES[outcome]}, by level of concern and "
    f"{data.DIMENSION_LABELS[dimension].lower()}, {where}",
    x_title=data.DIMENSION_LABELS["concern_level"],
    y_title="Cases with the outcome (%)",
    height=420,
)
part = part.sort("group", pl.col("concern_level").replace_strict({lv: j for j, lv in enumerate(LEVELS)}, default=9))
table = part.select(
    python_map(part["group"], lambda g: data.group_label(dimension, g)).alias("Group"),
    pl.col("concern_level").replace_strict(data.LEVEL_LABELS).alias(data.DIMENSION_LABELS["concern_level"]),
    pl.col("cases_shown").alias("Assessed cases"),
    pl.col("with_shown").alias("With the outcome"),
    table_number("share", "share").alias("Share"),
)
HOW = (
    "Assessed cases about enrolled students, by the student's group and the case's level of concern; "
    "a case has the outcome when one of its actions is one (e.g. a suspension or expulsion)."
)
if part["share"].is_not_null().any():
    chart_with_table(
        ctx,
        fig,
        table,
        stem=f"case_outcomes_{outcome}_{dimension}_{year}",
        footnotes=notes,
        key="discipline_levels",
        how=HOW,
        section="Pooling within levels of concern (`metrics/stratified.py`)",
    )
else:  # an empty chart would draw only an axis: say why there is nothing to draw, and show the counts
    st.info(
        "No share can be drawn here: "
        + (
            "too few cases to publish: every group's count of cases, or of cases with this outcome, at a level "
            "of concern is hidden for this role (a small count could identify a student). The counts that are "
            "published are below."
            if suppress
            else "too few cases: no group has an assessed case at any level of concern."
        ),
        icon=":material/visibility_off:",
    )
    for note in dict.fromkeys(notes):
        st.caption(footnote_line(note))
    table_with_download(ctx, table, stem=f"case_outcomes_{outcome}_{dimension}_{year}", key="discipline_levels")

# The same-level comparison, in one sentence per group.
st.subheader("Comparing students at the same level of concern")
cond = data.conditional_disparities(ctx.cache_key, year, school_ids).filter(
    (pl.col("scope") == "district") & (pl.col("outcome") == outcome) & (pl.col("dimension") == dimension)
)
# the q values over the whole family (the report's rule), then withheld where a pooled count is hidden
cond = conditional_significance(cond)
if suppress:  # an odds ratio only where every count it pools is published
    cond = released_conditional(cond, pub, outcome, dimension)
said = 0
withheld = 0
for r in cond.sort("odds_ratio", descending=True, nulls_last=True).iter_rows(named=True):
    who = data.students_phrase(dimension, r["group"])
    if r.get("withheld"):
        withheld += 1
        continue
    enough = r["group_with_outcome"] >= 10 and r["other_with_outcome"] >= 10 if suppress else True
    if r["odds_ratio"] is None or r["ci_low"] is None or not enough:
        continue
    said += 1
    odds = statistic_sentence(
        "odds_ratio",
        r["odds_ratio"],
        f"{who}'s cases",
        CASE_OUTCOME_PHRASES[outcome],
        "other students' cases at the same level",
    )
    interval = f"95% CI {nf.fmt_ratio(r['ci_low'])}–{nf.fmt_ratio(r['ci_high'])}; {p_text(r['q_value'], 'q')}"
    if r["unlikely_to_be_chance"] and r["ci_low"] > 1:
        st.markdown(f"- **{odds}** ({interval}): a difference unlikely to be chance.")
    elif r["unlikely_to_be_chance"]:
        st.markdown(f"- {odds} ({interval}): lower, a difference unlikely to be chance.")
    elif r["ci_low"] > 1 or r["ci_high"] < 1:
        st.markdown(f"- {odds} ({interval}): with this many groups compared, or this few cases, it could be chance.")
    else:
        st.markdown(
            f"- {first_upper(who)}: no clear difference from other students at the same level of concern "
            f"(odds ratio {nf.fmt_ratio(r['odds_ratio'])}, {interval})."
        )
if withheld:
    st.write(
        f"For {plural(withheld, 'group')} the comparison is {HIDDEN_STRATUM}: the odds ratio pools every "
        "level's counts, so it would give a hidden one back."
    )
elif not said:
    st.write("Too few cases with this outcome to compare groups at the same level of concern.")
st.caption(
    "Mantel-Haenszel odds ratio pooled over the levels of concern (Robins-Breslow-Greenland interval): "
    "each group against all other students' cases, comparing like with like. An odds ratio is not a rate "
    "ratio: it compares odds, not shares. Unlikely to be chance: q (the p value adjusted for the groups "
    f"compared on this outcome) at most {nf.fmt_setting(DEFAULT_SETTINGS.alpha)}, the interval excluding 1 and at least "
    f"{DEFAULT_SETTINGS.min_cell} cases in each of the four counts, the rule the board report uses."
)

# Students suspended while their case was open.
st.subheader("Students suspended while their case was open")
audit = data.process_audit(ctx.cache_key, year, school_ids).filter(
    (pl.col("school_year") == year) & (pl.col("indicator") == "suspended_while_case_open")
)
district = audit.filter(pl.col("scope") == "district")
if district.height and district["denominator"][0]:
    r = district.row(0, named=True)
    if suppress:
        release = data.public_release(ctx.release_key, year, school_ids)
        t = release["audit_district_suspended_while_case_open"]
        num = t.display["suspended_while_case_open_num"][0]
        rate = t.display["suspended_while_case_open_num_rate"][0]
        st.markdown(
            f"**{num}** students with a BTAM case ({rate}) had an in-school or out-of-school suspension "
            "or an expulsion while their case was open."
        )
    else:
        st.markdown(
            f"**{fmt_int(r['numerator'])} of {fmt_int(r['denominator'])}** students with a BTAM case "
            f"({fmt_pct(r['value'])}) had an in-school or out-of-school suspension or an expulsion while their "
            f"case was open; the target is at most {fmt_pct(r['target'], decimals=0)}."
        )
    st.caption(
        "Counted from the discipline export: an ISS, OSS or expulsion dated between the case's report and its "
        "closing (or the as-of date). NASP: punitive measures can raise risk. Per school on *Process audit*."
    )
else:
    st.write("No student was the subject of a case in this selection.")
