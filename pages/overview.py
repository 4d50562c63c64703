"""Overview: the headline figures of the school year, their change from the year before, and what needs
attention, in words."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from data_contracts import number_format as nf
from figures.derived import (
    change,
    released_audit,
    released_flags,
    released_headline,
    released_high_share,
    released_timeliness,
)
from figures.words import days_until
from metrics.competing_risks import MIN_CASES
from metrics.config import DEFAULT_SETTINGS
from ui import page_data as data
from ui.charts import ORDERED, chart_with_table, mark_hidden, style
from ui.context import analytic_view
from ui.text import (
    first_lower,
    fmt_count,
    fmt_int,
    fmt_pct,
    join_words,
    metric_delta,
    plural,
    python_map,
    within_days,
)

ctx, year, school_ids, suppress, where = analytic_view("Overview")
prior = data.prior_year(year)
st.caption(
    f"{ctx.describe_filters()} · compared with {prior}"
    + (" · counts of 1 to 9 are shown as <10 for this role" if suppress else "")
)

view = data.overview(ctx.cache_key, year, school_ids)
now = view.volumes.filter(pl.col("school_year") == year)
if now.is_empty() or not now["cases"][0]:
    st.info(
        f"No BTAM case was reported in {year} in {ctx.describe_filters()}. Choose another year or more "
        "schools in the sidebar."
    )
    st.stop()
cases: int | None = int(now["cases"][0])  # None: withheld from this role (below)
enrolled = int(now["enrolled"][0])
rate = now["cases_per_1000"][0]
prev_cases, prev_rate = now["previous_cases"][0], now["previous_cases_per_1000"][0]
cases_text = fmt_count(cases, suppress=suppress)
withheld: list[str] = []  # why a headline figure is not shown to this role
if suppress:  # every headline figure from the year's release (and the prior year's): figures.derived
    release = data.public_release(ctx.release_key, year, school_ids)
    prior_release = data.public_release(ctx.release_key, prior, school_ids)
    before = view.volumes.filter(pl.col("school_year") == prior)
    head = released_headline(release, year, enrolled)
    prev_head = released_headline(prior_release, prior, int(before["enrolled"][0]) if before.height else None)
    cases, cases_text, rate = head.cases, head.shown, head.rate
    prev_cases, prev_rate = prev_head.cases, prev_head.rate
    withheld += [f"{year}: {head.reason}"] if head.reason else []
    withheld += [f"{prior}: {prev_head.reason}"] if prev_head.reason and head.cases is not None else []

all_levels = view.levels


def high_share(y: str) -> tuple[int, int, float | None]:
    part = all_levels.filter(pl.col("school_year") == y)
    high = int(part.filter(pl.col("concern_level").is_in(data.HIGH_LEVELS))["n"].sum())
    assessed = int(part["n"].sum())
    return high, assessed, (high / assessed if assessed else None)


high, assessed, share = high_share(year)
_, prev_assessed, prev_share = high_share(prior)
if suppress:
    share, prev_share = released_high_share(release, year), released_high_share(prior_release, prior)


def served_row(school_year: str) -> dict | None:
    rows = view.served.filter(pl.col("school_year") == school_year)
    return rows.row(0, named=True) if rows.height else None


# Days until half the cases were served: the cumulative incidence (a case closed unserved is never served).
served_now, served_prev = served_row(year), served_row(prior)
half_now = served_now["days_to_50"] if served_now else None
half_prev = served_prev["days_to_50"] if served_prev else None
half_text = days_until(half_now, served_now["n_cases"]) if served_now else "–"
if suppress and (cases is None or cases < MIN_CASES or not served_now or served_now["n_cases"] < MIN_CASES):
    half_now, half_text = None, "–"  # a duration, shown beside a published total of 10+ (docs/PRIVACY.md)
if suppress and (prev_cases is None or prev_cases < MIN_CASES):
    half_prev = None

flags, prev_flags, notable = view.flags, view.prior_flags, view.notable
district_audit = view.audit
if suppress:  # flags and audit marks on hidden counts are withheld, each year by its own release
    flags = released_flags(view.flags, release, data.population_measure)
    notable = released_flags(view.notable, release, data.population_measure)
    prev_flags = (
        released_flags(view.prior_flag_rows, prior_release, data.population_measure).height
        if prev_flags is not None
        else None
    )
    district_audit = pl.concat(
        [
            released_audit(district_audit.filter(pl.col("school_year") == year), release),
            released_audit(district_audit.filter(pl.col("school_year") == prior), prior_release),
        ],
        how="vertical_relaxed",
    )
off_now = district_audit.filter((pl.col("school_year") == year) & (pl.col("status") == "off_target"))
off_prev = (
    district_audit.filter((pl.col("school_year") == prior) & (pl.col("status") == "off_target")).height
    if district_audit.filter(pl.col("school_year") == prior).height
    else None
)
audit_withheld = district_audit.filter((pl.col("school_year") == year) & (pl.col("status") == "withheld")).height


def delta(now_value, prev_value, fmt, lower_is_better: bool | None = None) -> dict:
    """st.metric's delta arguments; a change only between two released figures (figures.derived.change)."""
    if change(now_value, prev_value) is None:
        return {"delta": None}
    return metric_delta(now_value, prev_value, fmt, prior, lower_is_better=lower_is_better)


c = st.columns(3)
c[0].metric(
    "BTAM cases",
    cases_text,
    **delta(cases, prev_cases, fmt_int),
    help="Cases reported in the school year, every subject (students, staff, others).",
)
c[1].metric(
    "Cases per 1,000 students",
    nf.fmt_ratio(rate, decimals=1),
    **delta(rate, prev_rate, lambda v: nf.fmt_ratio(v, decimals=1)),
    help=f"Cases per 1,000 students enrolled ({fmt_int(enrolled)} enrolled).",
)
if withheld:
    st.caption("Not shown: " + "; ".join(withheld) + ".")
c[2].metric(
    "Share rated high or imminent",
    fmt_pct(share),
    **delta(share, prev_share, lambda v: nf.fmt_ratio(100 * v, decimals=1) + " points", lower_is_better=True),
    help="Of the assessed cases with a level of concern.",
)
c = st.columns(3)
c[0].metric(
    "Days until half the cases were served",
    half_text,
    **delta(half_now, half_prev, fmt_int, lower_is_better=True),
    help="Days from report to the first action of any kind, by which half the cases had one (cumulative "
    "incidence: a case closed without any intervention counts as never served, an open case as still "
    "waiting). 'Never reached': fewer than half were ever served. See *Time to intervention*.",
)
c[1].metric(
    "Flagged disparities",
    fmt_int(flags.height),
    **delta(flags.height, prev_flags, fmt_int, lower_is_better=True),
    help="Groups whose risk ratio is above 2.0 (see Equity).",
)
c[2].metric(
    "Audit indicators off target",
    fmt_int(off_now.height),
    **delta(off_now.height, off_prev, fmt_int, lower_is_better=True),
    help="Of the NASP process-audit indicators (see Process audit)."
    + (
        f" {plural(audit_withheld, 'indicator')} withheld: a count it uses is hidden for this role."
        if audit_withheld
        else ""
    ),
)

st.subheader("What needs attention")
notes: list[str] = []
# The significance rule (metrics.significance.disparity_significance, as the board report): a flag is named here
# only when its q value within its outcome x dimension passes and its interval lies above 1.
if notable.height:
    top = notable.sort("risk_ratio", descending=True).head(3)
    parts = [
        f"{data.students_phrase(r['dimension'], r['group'])} — "
        f"{first_lower(data.OUTCOME_LABELS.get(r['outcome'], r['outcome']))} "
        f"({nf.fmt_ratio(r['risk_ratio'], decimals=1)} times as often, 95% CI {nf.fmt_ratio(r['rr_ci_low'], decimals=1)}–{nf.fmt_ratio(r['rr_ci_high'], decimals=1)})"
        for r in top.iter_rows(named=True)
    ]
    persistent = notable.filter(pl.col("persistent")).height
    chance = flags.height - notable.height
    notes.append(
        f"**{plural(notable.height, 'disparity', 'disparities')}** above the risk-ratio threshold of 2.0 and "
        f"unlikely to be chance (q {nf.fmt_setting(DEFAULT_SETTINGS.alpha)} or less among the groups compared on the "
        "same outcome)"
        + (f", {persistent} of them for three years running" if persistent else "")
        + ". Largest: "
        + "; ".join(parts)
        + "."
        + (f" {plural(chance, 'more flag')} above the threshold could be chance." if chance > 0 else "")
        + " See *Equity*."
    )
elif flags.height:
    notes.append(
        f"{plural(flags.height, 'group')} above the risk-ratio threshold of 2.0, none of them unlikely to be "
        "chance once the number of groups compared is taken into account. See *Equity*."
    )
if off_now.height:
    worst = off_now.with_columns((pl.col("value") - pl.col("target")).abs().alias("gap")).sort("gap", descending=True)
    named = [
        f"{first_lower(r['label'])} ({fmt_pct(r['value'], decimals=0)} against a target of "
        f"{fmt_pct(r['target'], decimals=0)})"
        for r in worst.head(3).iter_rows(named=True)
    ]
    notes.append(
        f"**{plural(off_now.height, 'process-audit indicator')} off target**, e.g. {join_words(named)}. "
        "See *Process audit*."
    )
timely = released_timeliness(view.timeliness, release) if suppress else view.timeliness
late = timely.filter(pl.col("share_met").is_not_null() & (pl.col("share_met") < 0.8))
if late.height:
    named = [
        f"{data.LEVEL_LABELS[r['concern_level']].lower()} concern ({fmt_pct(r['share_met'], decimals=0)} "
        f"{within_days(r['target_days'])})"
        for r in late.iter_rows(named=True)
    ]
    notes.append(
        f"**First interventions late**: fewer than 80% of cases met the target at "
        f"{join_words(named)}. See *Time to intervention*."
    )
if share is not None and prev_share is not None and share - prev_share > 0.05:
    notes.append(f"**More cases rated high or imminent**: {fmt_pct(share)} against {fmt_pct(prev_share)} in {prior}.")
if rate is not None and prev_rate:
    rate_change = (rate - prev_rate) / prev_rate
    if abs(rate_change) >= 0.2:
        notes.append(
            f"**Case rate {'up' if rate_change > 0 else 'down'} {fmt_pct(abs(rate_change), decimals=0)}** "
            f"from {prior} ({nf.fmt_ratio(rate, decimals=1)} against {nf.fmt_ratio(prev_rate, decimals=1)} per 1,000 students)."
        )
if notes:
    for note in notes:
        st.markdown(f"- {note}")
else:
    st.success(
        "No disparity is flagged, every process-audit indicator with enough cases is on target and "
        "first interventions meet their targets.",
        icon=":material/check_circle:",
    )

# Cases by level of concern, this year against the prior year.
rows = []
for y in (prior, year):
    part = all_levels.filter(pl.col("school_year") == y)
    for lvl in data.LEVEL_LABELS:
        if lvl == "all":
            continue
        n = part.filter(pl.col("concern_level") == lvl)["n"]
        rows.append({"school_year": y, "concern_level": lvl, "n": int(n[0]) if n.len() else 0})
table = pl.DataFrame(rows)
footnotes: list[str] = []
if suppress:
    shown, values = [], []
    for y in (prior, year):
        t = (prior_release if y == prior else release).tables.get(f"levels_all_{y}")
        if t is None:
            cells = [("–", None)] * 4
        else:
            pub = data.published(t, "assessed_cases").filter(pl.col("concern_level") != data.TOTAL)
            cells = list(zip(pub["shown"].to_list(), pub["value"].to_list()))
            footnotes += list(t.footnotes.values())
        shown += [p[0] for p in cells]
        values += [p[1] for p in cells]
    table = table.with_columns(pl.Series("shown", shown), pl.Series("value", values, dtype=pl.Int64))
else:
    table = table.with_columns(python_map(table["n"], fmt_int).alias("shown"), pl.col("n").alias("value"))
fig = go.Figure()
hidden_note = False
for i, y in enumerate((prior, year)):
    part = table.filter(pl.col("school_year") == y)
    x = [data.LEVEL_LABELS[lv] for lv in part["concern_level"]]
    fig.add_bar(
        name=y,
        x=x,
        y=part["value"].to_list(),
        text=part["shown"].to_list(),
        textposition="outside",
        marker_color=ORDERED[1 + 2 * i],
        marker_pattern_shape="" if i else "/",
        offsetgroup=y,
    )
    if mark_hidden(fig, x, part["value"].to_list(), offsetgroup=y) and not hidden_note:
        hidden_note = True
        footnotes.append("A count hidden for this role has no bar: it is marked hidden.")
style(
    fig,
    title=f"Assessed BTAM cases by level of concern, {ctx.describe_filters()}, {prior} and {year}",
    x_title=data.DIMENSION_LABELS["concern_level"],
    y_title="Assessed cases",
)
chart_with_table(
    ctx,
    fig,
    table.select(
        pl.col("school_year").alias("School year"),
        pl.col("concern_level").replace_strict(data.LEVEL_LABELS).alias(data.DIMENSION_LABELS["concern_level"]),
        pl.col("shown").alias("Assessed cases"),
    ),
    stem=f"cases_by_level_{year}",
    footnotes=footnotes,
    how="Assessed cases are those with a level of concern recorded by the as-of date. The headline "
    "rate is cases per 1,000 students enrolled in the chosen schools; the change compares the "
    "school year just before. Days until half were served come from the cumulative incidence of a first "
    "intervention (closing unserved competing).",
    section="Levels of concern (`metrics/concern.py`)",
    key="overview_levels",
)
