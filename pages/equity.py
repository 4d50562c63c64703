"""Equity: disproportionality per outcome and student group: risk ratios with confidence intervals against
the threshold, ratio and difference side by side, a chosen reference group, race x disability, and
three-year persistence. Every group without a ratio says why."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from access.benchmarks import BENCHMARK_OUTCOMES
from data_contracts import number_format as nf
from figures.derived import released_disparities
from metrics.config import DEFAULT_SETTINGS
from metrics.disproportionality import OTHERS_IN_STATE
from ui import idc_section
from ui import page_data as data
from ui.charts import OKABE_ITO, chart_with_table, forest_figure, style
from ui.context import analytic_view
from ui.text import first_lower, fmt_pct, python_map, table_number
from ui.url_state import url_selectbox

S = DEFAULT_SETTINGS
ALL_OTHERS = "__all_others__"

ctx, year, school_ids, suppress, where = analytic_view("Equity")
years = tuple(data.earlier_years(year, S.persistence_years))
disp = data.disproportionality(ctx.cache_key, years, school_ids)
current = disp.filter(pl.col("school_year") == year)
if current.is_empty():
    st.info(f"No enrolled students in {where}. Choose another year or more schools in the sidebar.")
    st.stop()
st.caption(where + (" · counts of 1 to 9 are shown as <10 for this role" if suppress else ""))
outcomes = [o for o in data.OUTCOME_LABELS if o in set(current["outcome"].to_list())]
c1, c2 = st.columns(2)
outcome = url_selectbox(
    "Outcome", outcomes, key="equity_outcome", param="outcome", format_func=data.OUTCOME_LABELS.get, container=c1
)
dims = [
    d
    for d in (*data.GROUP_DIMENSIONS, "race_x_disability")
    if current.filter((pl.col("outcome") == outcome) & (pl.col("dimension") == d)).height
]
dimension = url_selectbox(
    "Student groups", dims, key="equity_dimension", param="groups", format_func=data.DIMENSION_LABELS.get, container=c2
)
rows = current.filter((pl.col("outcome") == outcome) & (pl.col("dimension") == dimension))
groups = rows["group"].to_list()
reference = url_selectbox(
    "Compare each group with",
    [ALL_OTHERS, *groups],
    key="equity_reference",
    param="reference",
    format_func=lambda g: (
        "All other students (34 CFR 300.647)" if g == ALL_OTHERS else data.students_phrase(dimension, g)
    ),
)
if reference != ALL_OTHERS:
    rows = data.against_reference(ctx.cache_key, year, school_ids, outcome, dimension, reference)
    versus = data.students_phrase(dimension, reference)
else:
    versus = "all other students"
STATE_OTHERS = "students of the other groups statewide (alternate risk ratio)"
population = data.POPULATION_LABELS[data.population_measure(outcome)]
measure = data.OUTCOME_LABELS[outcome]
measure_in_text = first_lower(measure)  # keeps acronyms such as BTAM and IDEA

count_shown: dict[str, tuple[str, str]] = {}
notes: list[str] = []
if suppress:
    table = data.public_release(ctx.release_key, year, school_ids).tables.get(f"disp_{outcome}_{dimension}")
    # Ratios, intervals, differences and flags only where every count they use is published.
    rows = released_disparities(
        rows,
        table,
        outcome,
        data.population_measure(outcome),
        dimension,
        None if reference == ALL_OTHERS else reference,
    )
    if table is not None:
        den = data.population_measure(outcome)
        disp_frame = table.display
        key_cols = list(table.dimensions)
        for r in disp_frame.iter_rows(named=True):
            key = ":".join(str(r[c]) for c in key_cols)
            count_shown[key] = (r[den], r[outcome])
        notes += list(table.footnotes.values())


def why_not(r: dict) -> str:
    """The reason a group has no ratio, in words (for a suppressed viewer, the release's reason first: the
    exact size rules would narrow a hidden count)."""
    if r.get("withheld"):
        return r["withheld"]
    if r["n"] < S.min_n:
        return f"too few students (n < {S.min_n})"
    if r["k"] < S.min_cell:
        return f"too few with the outcome (fewer than {S.min_cell})"
    if (r["comparison_n"] or 0) < S.min_n or (r["comparison_k"] or 0) < S.min_cell:
        return f"comparison group too small (fewer than {S.min_n} students or {S.min_cell} with the outcome)"
    return "not computable"


def label(g: str) -> str:
    return data.group_label(dimension, g)


records = []
for r in rows.iter_rows(named=True):
    ok = r["ratio_method"] != "none" and r["risk_ratio"] is not None
    n_text, k_text = count_shown.get(r["group"], (nf.fmt_int(r["n"]), nf.fmt_int(r["k"])))
    risk_ok = not suppress or ("<" not in k_text and "*" not in k_text and "*" not in n_text)
    records.append(
        {
            "group": r["group"],
            "Group": label(r["group"]),
            "Students": n_text,
            "With the outcome": k_text,
            "Risk": r["risk"] if risk_ok else None,
            # Every field beside the ratio is against the ratio's own comparison group (for an alternate ratio,
            # the other groups' students in the state), and the row says which.
            "Compared with": STATE_OTHERS if r["comparison_group"] == OTHERS_IN_STATE else versus,
            "Comparison risk": r["ratio_comparison_risk"] if risk_ok else None,
            "Risk ratio": r["risk_ratio"] if ok else None,
            "CI low": r["rr_ci_low"] if ok else None,
            "CI high": r["rr_ci_high"] if ok else None,
            "Risk difference (points)": 100 * r["ratio_risk_difference"]
            if ok and r["ratio_risk_difference"] is not None
            else None,
            "Flagged": "FLAGGED" if r["flagged"] else ("no" if ok else "–"),
            "Why no ratio": "" if ok else why_not(r),
        }
    )
frame = pl.DataFrame(records)
ratios = frame.filter(pl.col("Risk ratio").is_not_null()).sort("Risk ratio")

# Sentences first.
flagged = ratios.filter(pl.col("Flagged") == "FLAGGED").sort("Risk ratio", descending=True)
for r in flagged.iter_rows(named=True):
    st.markdown(
        f"- **{data.students_phrase(dimension, r['group'])}** — {measure_in_text}: "
        f"{nf.fmt_ratio(r['Risk ratio'], decimals=1)} times as often as {r['Compared with']} (95% CI {nf.fmt_ratio(r['CI low'], decimals=1)}–{nf.fmt_ratio(r['CI high'], decimals=1)}); "
        f"a difference of {nf.fmt_ratio(r['Risk difference (points)'], decimals=1)} percentage points."
    )
if ratios.height and not flagged.height:
    st.markdown(f"No group is above the threshold of {nf.fmt_setting(S.threshold)} for *{measure_in_text}*.")

if ratios.height:
    fig = forest_figure(
        ratios["Group"].to_list(),
        ratios["Risk ratio"].to_list(),
        ratios["CI low"].to_list(),
        ratios["CI high"].to_list(),
        (ratios["Flagged"] == "FLAGGED").to_list(),
        threshold=S.threshold,
        title=f"Risk ratio: {measure_in_text}, {population} by {data.DIMENSION_LABELS[dimension].lower()}, "
        f"against {versus}, {where}",
        x_title="Risk ratio (log scale, 95% CI)",
        y_title=data.DIMENSION_LABELS[dimension],
    )
    chart_with_table(
        ctx,
        fig,
        frame.drop("group").with_columns(
            table_number("Risk", "risk"),
            table_number("Comparison risk", "risk"),
            table_number("Risk ratio", "ratio"),
            table_number("CI low", "ratio"),
            table_number("CI high", "ratio"),
            table_number("Risk difference (points)", "points"),
        ),
        stem=f"risk_ratios_{outcome}_{dimension}_{year}",
        key="equity_forest",
        footnotes=notes + ["Flagged groups are drawn as large diamonds and labelled 'flagged'."],
        how=f"Risk = students with the outcome / students in the group. Risk ratio = the group's risk / the risk of "
        f"{versus}, with a Katz 95% interval; flagged when above {nf.fmt_setting(S.threshold)}. A ratio needs at least "
        f"{S.min_n} students and {S.min_cell} with the outcome in the group and in the comparison.",
        section="Disproportionality (`metrics/disproportionality.py`)",
    )
else:
    st.info(
        "No group has a risk ratio here: "
        + "; ".join(f"{r['Group']}: {r['Why no ratio']}" for r in frame.iter_rows(named=True))
        + "."
    )
missing = frame.filter(pl.col("Risk ratio").is_null())
if missing.height and ratios.height:
    st.caption(
        "No ratio for " + "; ".join(f"{r['Group']} ({r['Why no ratio']})" for r in missing.iter_rows(named=True)) + "."
    )

if reference == ALL_OTHERS:  # the IDC measures compare with all other students (34 CFR 300.647)
    idc_section.measures_section(ctx, year, school_ids, suppress, outcome, dimension, where)


def benchmarks() -> None:
    """The district's risk by race beside the state's and similar districts' (public CRDC figures)."""
    st.subheader("Beside the state and similar districts (CRDC)")
    view = data.crdc_benchmarks(ctx.cache_key, year)
    if not view.has_state:
        st.info(view.message)
        return
    own = current.filter((pl.col("outcome") == outcome) & (pl.col("dimension") == "race_ethnicity")).select(
        pl.col("group").alias("race_ethnicity"), "n", "k", "risk"
    )
    own = own.with_columns(pl.col("n").cast(pl.String).alias("n_text"), pl.col("k").cast(pl.String).alias("k_text"))
    release = (
        data.public_release(ctx.release_key, year, school_ids).tables.get(f"disp_{outcome}_race_ethnicity")
        if suppress
        else None
    )
    if suppress and release is None:
        own = own.with_columns(
            pl.lit(None, pl.Float64).alias("risk"), pl.lit("*").alias("n_text"), pl.lit("*").alias("k_text")
        )
    elif release is not None:  # a suppressed viewer: counts as published, the risk only where both are
        den = data.population_measure(outcome)
        shown = (
            data.published(release, den)
            .select(
                pl.col("race_ethnicity"), pl.col("shown").alias("n_text"), pl.col("value").is_not_null().alias("n_ok")
            )
            .join(
                data.published(release, outcome).select(
                    pl.col("race_ethnicity"),
                    pl.col("shown").alias("k_text"),
                    pl.col("value").is_not_null().alias("k_ok"),
                ),
                on="race_ethnicity",
            )
        )
        own = (
            own.drop("n_text", "k_text")
            .join(shown, on="race_ethnicity", how="left")
            .with_columns(
                pl.when(pl.col("n_ok") & pl.col("k_ok")).then(pl.col("risk")).alias("risk"),
                pl.col("n_text").fill_null("*"),
                pl.col("k_text").fill_null("*"),
            )
            .drop("n_ok", "k_ok")
        )
    state = view.state_rates.filter((pl.col("outcome") == outcome) & (pl.col("n") > 0)).select(
        "race_ethnicity", pl.col("risk").alias("state_risk"), pl.col("exact").alias("state_exact")
    )
    peers = (
        view.peers.filter((pl.col("outcome") == outcome) & (pl.col("n") > 0)).select(
            "race_ethnicity", pl.col("risk").alias("peer_risk"), pl.col("n").alias("peer_n")
        )
        if view.has_peers
        else pl.DataFrame(schema={"race_ethnicity": pl.String, "peer_risk": pl.Float64, "peer_n": pl.Int64})
    )
    races = sorted(
        set(own["race_ethnicity"].to_list())
        | set(state["race_ethnicity"].to_list())
        | set(peers["race_ethnicity"].to_list())
    )
    both = (
        pl.DataFrame({"race_ethnicity": races}, schema={"race_ethnicity": pl.String})
        .join(own, on="race_ethnicity", how="left")
        .join(state, on="race_ethnicity", how="left")
        .join(peers, on="race_ethnicity", how="left")
    )
    crdc = view.crdc_year
    table = both.select(
        python_map(both["race_ethnicity"], lambda g: data.group_label("race_ethnicity", g)).alias("Group"),
        pl.col("n_text").fill_null("–").alias(f"Students, district {year}"),
        pl.col("k_text").fill_null("–").alias(f"With the outcome, district {year}"),
        table_number("risk", "risk").alias(f"Risk, district {year}"),
        table_number("state_risk", "risk").alias(f"Risk, {view.state} {crdc} (CRDC)"),
        table_number("peer_risk", "risk").alias(f"Risk, peer districts {crdc} (CRDC)"),
        pl.col("peer_n").alias(f"Peer students {crdc}"),
    )
    st.markdown(f"**{view.label()}.**")
    lag = view.lag_years(year)
    st.caption(
        f"CRDC figures describe {crdc}, "
        + (
            f"{lag} school year{'s' if lag != 1 else ''} before the district's {year} figures: the "
            "Civil Rights Data Collection is published years after the school year it covers."
            if lag > 0
            else f"the district's figures {year}."
        )
        + (
            " The CRDC count sums several actions, so a student with more than one is counted more than once "
            "(an upper bound)."
            if not bool(state["state_exact"].all())
            else ""
        )
        + (
            " The benchmarks describe whole districts; the district figures here are of the selected schools."
            if school_ids is not None
            else ""
        )
    )
    if not view.has_peers:
        st.info(view.message)
    fig = go.Figure()
    labels = table["Group"].to_list()
    series = [
        (f"District {year}", both["risk"], OKABE_ITO["blue"], ""),
        (f"{view.state} {crdc} (CRDC)", both["state_risk"], OKABE_ITO["orange"], "/"),
    ]
    if view.has_peers:
        series.append((f"Peer districts {crdc} (CRDC)", both["peer_risk"], OKABE_ITO["bluish_green"], "."))
    for name, values, colour, pattern in series:
        fig.add_bar(
            x=(values * 100).to_list(),
            y=labels,
            orientation="h",
            name=name,
            marker_color=colour,
            marker_pattern_shape=pattern,
            hovertemplate="%{y}: %{x:.1f}%<extra>" + name + "</extra>",
        )
    fig.update_layout(barmode="group")
    style(
        fig,
        title=f"{measure}: risk by race and ethnicity, district {year} beside {view.state} and peer "
        f"districts (CRDC {crdc})",
        x_title="Students with the outcome (% of enrolled)",
        y_title=data.DIMENSION_LABELS["race_ethnicity"],
        height=max(320, 90 + 60 * len(labels)),
    )
    notes = [
        "State and peer figures are public CRDC counts of whole districts (Office for "
        "Civil Rights), not this district's student records; they are not suppressed."
    ]
    if suppress:
        notes.append("District risks are shown only where both counts are published for this role.")
    chart_with_table(
        ctx,
        fig,
        table,
        stem=f"crdc_benchmark_{outcome}_{year}",
        key="equity_benchmark",
        footnotes=notes,
        how="Risk = students with the outcome / students enrolled, by race. State: the state's CRDC "
        "counts (state_reference). Peers: the CRDC counts of the peer districts pooled (their "
        "students with the outcome over their enrolled students, not an average of rates).",
        section="Peer benchmarks",
    )


if outcome in BENCHMARK_OUTCOMES:
    benchmarks()

# Race x disability heat map.
heat = current.filter((pl.col("outcome") == outcome) & (pl.col("dimension") == "race_x_disability"))
if suppress:
    heat = released_disparities(
        heat,
        data.public_release(ctx.release_key, year, school_ids).tables.get(f"disp_{outcome}_race_x_disability"),
        outcome,
        data.population_measure(outcome),
        "race_x_disability",
    )
if heat.height and reference == ALL_OTHERS:
    st.subheader("Race and disability together")
    split = heat.with_columns(pl.col("group").str.split_exact(":", 1).struct.rename_fields(["race", "dis"])).unnest(
        "group"
    )
    races = sorted(split["race"].unique().to_list())
    diss = [d for d in ("idea", "section_504_only", "none") if d in set(split["dis"].to_list())]
    z, text = [], []
    for race in races:
        zr, tr = [], []
        for dis in diss:
            cell = split.filter((pl.col("race") == race) & (pl.col("dis") == dis))
            if cell.height and cell["risk_ratio"][0] is not None and cell["ratio_method"][0] != "none":
                v = cell["risk_ratio"][0]
                zr.append(v)
                tr.append(nf.fmt_ratio(v) + (" ▲" if cell["flagged"][0] else ""))
            else:
                zr.append(None)
                hidden = bool(cell.height) and "withheld" in cell.columns and cell["withheld"][0] is not None
                tr.append(
                    "hidden" if hidden else f"n < {S.min_n}" if not cell.height or cell["n"][0] < S.min_n else "too few"
                )
        z.append(zr)
        text.append(tr)
    cells = pl.DataFrame(
        {
            "Race": [data.group_label("race_ethnicity", r) for r in races for _ in diss],
            "Disability": [data.group_label("disability_status", d) for _ in races for d in diss],
            "Risk ratio": [t for row in text for t in row],
        }
    )
    if not any(v is not None for row in z for v in row):
        st.info(
            f"No race and disability group is large enough for a ratio here (each needs at least {S.min_n} "
            f"students and {S.min_cell} with the outcome). The groups and why each has no ratio:"
        )
        st.dataframe(cells, hide_index=True, width="stretch")
    else:
        fig = go.Figure(
            go.Heatmap(
                z=z,
                x=[data.group_label("disability_status", d) for d in diss],
                y=[data.group_label("race_ethnicity", r) for r in races],
                text=text,
                texttemplate="%{text}",
                colorscale=[[0, OKABE_ITO["sky_blue"]], [0.5, "#f7f7f7"], [1, OKABE_ITO["vermillion"]]],
                zmid=1,
                colorbar={"title": "Risk ratio"},
                hoverongaps=False,
            )
        )
        style(
            fig,
            title=f"Risk ratio: {measure_in_text}, by race and disability, against all other students, {where}",
            x_title=data.DIMENSION_LABELS["disability_status"],
            y_title=data.DIMENSION_LABELS["race_ethnicity"],
            height=420,
        )
        chart_with_table(
            ctx,
            fig,
            cells,
            stem=f"race_x_disability_{outcome}_{year}",
            key="equity_heat",
            footnotes=["▲ marks a flagged cell; 'n < 30' and 'too few' cells have no ratio."],
            how="Each cell is the students of one race with one disability status against all other "
            "students; the same size rules and threshold as above.",
            section="Disproportionality (`metrics/disproportionality.py`)",
        )

# Three-year persistence.
st.subheader("Flagged year after year?")
history = disp.filter((pl.col("outcome") == outcome) & (pl.col("dimension") == dimension))
if suppress and history.height:  # each year's flag from that year's release
    history = pl.concat(
        [
            released_disparities(
                history.filter(pl.col("school_year") == y),
                data.public_release(ctx.release_key, y, school_ids).tables.get(f"disp_{outcome}_{dimension}"),
                outcome,
                data.population_measure(outcome),
                dimension,
            )
            for y in years
            if history.filter(pl.col("school_year") == y).height
        ],
        how="vertical_relaxed",
    )
if history.height:
    wide = history.select(
        "group",
        "school_year",
        pl.when(pl.col("withheld").is_not_null() if "withheld" in history.columns else pl.lit(False))
        .then(pl.lit("hidden"))
        .when(pl.col("flagged"))
        .then(pl.lit("flagged"))
        .when(pl.col("ratio_method") == "none")
        .then(pl.lit("no ratio"))
        .otherwise(pl.lit("not flagged"))
        .alias("status"),
    ).pivot(on="school_year", index="group", values="status")
    if suppress:  # flagged in every year's release, not the exact persistence mark
        per_group = history.group_by("group").agg(pl.col("flagged").fill_null(False).all(), pl.len())
        persistent = sorted(per_group.filter(pl.col("flagged") & (pl.col("len") == len(years)))["group"].to_list())
    else:
        persistent = history.filter(pl.col("persistent") & (pl.col("school_year") == year))["group"].to_list()
    if persistent:
        st.markdown(
            "**Flagged in each of the last three school years:** "
            + ", ".join(data.students_phrase(dimension, g) for g in persistent)
            + "."
        )
    else:
        st.markdown("No group is flagged in each of the last three school years for this outcome.")
    st.dataframe(
        wide.with_columns(python_map(wide["group"], label)).rename({"group": "Group"}).fill_null("–"),
        hide_index=True,
        width="stretch",
    )
idc_section.trend_section(ctx, year, school_ids, suppress, outcome, dimension, where)
idc_section.identification_section(ctx, year, school_ids, suppress, where)
st.caption(
    f"Outcome population: {population}. Risk difference = the group's risk minus the comparison's, in "
    f"percentage points; shares such as {fmt_pct(0.021)} are students with the outcome among the group."
)
