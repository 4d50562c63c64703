"""The Equity page's IDEA sections: every IDC measure beside the risk ratio for one group, the multi-year
identification status of 34 CFR 300.647, and the trend of flagged ratios beside the state's. The numbers come
from figures/idc.py (sizes, suppression, each year from its own release); this module reads, caches and draws."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from access import metric_tables as mt
from access.session import shared_reader
from access.suppression import SuppressedRelease
from data_contracts import number_format as nf
from data_contracts.labels import MEASURE_LABELS, first_lower
from data_contracts.number_format import fmt_decimal, fmt_points, fmt_signed
from figures.idc import (
    idc_with_state,
    identification_status,
    measures_beside_ratio,
    ratio_trend,
    released_idc,
    released_years,
    state_ratios,
)
from metrics.config import DEFAULT_SETTINGS
from metrics.identification import DISCIPLINE_CATEGORIES
from ui import page_data as data
from ui.charts import OKABE_ITO, chart_with_table, style, table_with_download
from ui.context import PageContext
from ui.text import MISSING, first_upper, fmt_pct, fmt_ratio, table_number

S = DEFAULT_SETTINGS
Schools = data.Schools
FLAG_WORDS = {
    "risk_ratio": (f"above the threshold of {nf.fmt_setting(S.threshold)}", "not above the threshold"),
    "e_formula": ("composition above E", "within E"),
    "e_formula_state": ("composition above E", "within E"),
    "index_80": (f"below {nf.fmt_setting(S.index_80_cutoff)}", f"not below {nf.fmt_setting(S.index_80_cutoff)}"),
    "percentage_point_gap": ("gap at least its margin of error", "gap within its margin of error"),
}


# -- reads (cached per viewer and warehouse version) -------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=32)
def idc_rows(cache_key: str, year: str, school_ids: Schools) -> pl.DataFrame:
    """The district (selection) rows of idc_measures.csv for one year, the state E-formula against the
    latest state reference year at or before it (figures.idc.idc_with_state)."""
    ids = None if school_ids is None else list(school_ids)
    con = shared_reader().connection()
    counts = mt.outcome_group_counts(con, [year], ids, include_district=True, include_schools=False)
    return idc_with_state(counts, mt.state_reference_counts(con), year, S)


@st.cache_data(show_spinner=False, max_entries=16)
def every_year(cache_key: str, school_ids: Schools) -> pl.DataFrame:
    """Disproportionality of every loaded year (district or selection): runs of flagged years and trends."""
    ids = None if school_ids is None else list(school_ids)
    return mt.disproportionality(
        shared_reader().connection(), None, ids, include_district=True, include_schools=False, tests=False
    )


@st.cache_data(show_spinner=False, max_entries=4)
def state_reference_ratios(cache_key: str) -> pl.DataFrame:
    """The state's own ratios from state_reference (public figures, the same for every viewer)."""
    return state_ratios(mt.state_reference_counts(shared_reader().connection()), S)


def _releases(ctx: PageContext, years: list[str], school_ids: Schools) -> dict[str, SuppressedRelease]:
    return {y: data.public_release(ctx.release_key, y, school_ids) for y in years}


def shown_years(
    ctx: PageContext,
    school_ids: Schools,
    suppress: bool,
    outcomes: list[str],
    dimension: str,
    years: list[str] | None = None,
) -> pl.DataFrame:
    """The loaded years' ratios of some outcomes and one dimension as this viewer may see them (each year
    from its own release); only the slices a section prints, since each is checked against its release."""
    disp = every_year(ctx.cache_key, school_ids).filter(
        pl.col("outcome").is_in(outcomes) & (pl.col("dimension") == dimension)
    )
    if years is not None:
        disp = disp.filter(pl.col("school_year").is_in(years))
    loaded = sorted(disp["school_year"].unique().to_list())
    return released_years(disp, _releases(ctx, loaded, school_ids) if suppress else None, data.population_measure)


# -- every IDC measure beside the risk ratio ---------------------------------------------------------------------


def _value_text(measure: str, value: float | None) -> str:
    if value is None:
        return MISSING
    if measure in ("risk_ratio", "index_80"):
        return fmt_ratio(value)
    if measure in ("risk_difference", "percentage_point_gap"):
        return fmt_points(value)
    if measure == "relative_difference_in_composition":
        return fmt_signed(100 * value) + "%"
    return fmt_pct(value)


def _range_text(measure: str, low: float | None, high: float | None) -> str:
    if measure in ("e_formula", "e_formula_state"):
        return MISSING if high is None else f"E = {fmt_pct(high)}"
    if low is None or high is None:
        return MISSING
    if measure == "risk_ratio":
        return f"95% CI {fmt_ratio(low)} to {fmt_ratio(high)}"
    if measure == "risk_difference":
        return f"95% CI {fmt_signed(100 * low)} to {fmt_signed(100 * high)} points"
    if measure == "percentage_point_gap":
        return f"± {fmt_decimal(100 * (high - low) / 2, decimals=1)} points margin of error"
    return MISSING


def measure_table(measures: pl.DataFrame) -> pl.DataFrame:
    """The printed table of measures_beside_ratio (what the page shows and the download carries)."""
    out = []
    for r in measures.iter_rows(named=True):
        words = FLAG_WORDS.get(r["measure"])
        reading = "" if words is None or r["flagged"] is None else words[0] if r["flagged"] else words[1]
        out.append(
            {
                "Measure": MEASURE_LABELS[r["measure"]],
                "Value": _value_text(r["measure"], r["value"]),
                "Interval or limit": _range_text(r["measure"], r["low"], r["high"]),
                "Compared with": r["compared_with"] or "",
                "Reading": reading,
                "Why not shown": r["withheld"] or "",
            }
        )
    return pl.DataFrame(out, schema={c: pl.String for c in out[0]})


def measures_section(
    ctx: PageContext, year: str, school_ids: Schools, suppress: bool, outcome: str, dimension: str, where: str
) -> None:
    """Every IDC measure beside the risk ratio for one chosen group, against all other students."""
    rows = idc_rows(ctx.cache_key, year, school_ids).filter(
        (pl.col("outcome") == outcome) & (pl.col("dimension") == dimension)
    )
    if rows.is_empty():
        return
    st.subheader("Every IDC measure beside the risk ratio")
    den = data.population_measure(outcome)
    release = data.public_release(ctx.release_key, year, school_ids) if suppress else None
    table = None if release is None else release.tables.get(f"disp_{outcome}_{dimension}")
    shown = released_idc(rows, table, outcome, den, dimension, suppress, S)
    ratios = shown_years(ctx, school_ids, suppress, [outcome], dimension, [year]).filter(
        (pl.col("outcome") == outcome) & (pl.col("dimension") == dimension)
    )
    groups = shown["group"].to_list()
    # First the group flagged with the highest ratio, else the largest group with measures.
    flagged = ratios.filter(pl.col("flagged").fill_null(False)).sort("risk_ratio", descending=True)["group"]
    with_measures = shown.filter(pl.col("withheld").is_null()).sort("n", descending=True)["group"]
    first = (flagged.to_list() or with_measures.to_list() or groups)[0]
    group = st.selectbox(
        "Group",
        groups,
        index=groups.index(first),
        key="equity_idc_group",
        format_func=lambda g: data.group_label(dimension, g),
    )
    chosen = shown.filter(pl.col("group") == group).row(0, named=True)
    ratio = ratios.filter(pl.col("group") == group)
    measures = measures_beside_ratio(chosen, ratio.row(0, named=True) if ratio.height else None)
    printed = measure_table(measures)
    st.markdown(
        f"**{first_upper(data.students_phrase(dimension, group))}**, "
        f"{first_lower(data.OUTCOME_LABELS[outcome])}, {where}, "
        "against all other students."
    )
    table_with_download(ctx, printed, stem=f"idc_measures_{outcome}_{dimension}_{group}_{year}", key="equity_idc")
    notes = [
        f"Each measure needs at least {S.min_n} students and {S.min_cell} with the outcome in the group (the "
        "risk difference also in the comparison group), the sizes of the risk ratio."
    ]
    if suppress:
        notes.append(
            "For this role each measure is computed only from counts published in this year's figures; the "
            "80% index needs every group's counts published."
        )
    for note in notes:
        st.caption(note)
    with st.expander("How these measures are computed", icon=":material/functions:"):
        st.markdown(
            "Composition: the group's share of the students with the outcome beside its share of the students; "
            "relative difference in composition: (outcome share − student share) / student share. E-formula: "
            "E = A + √(A(1 − A)/K), A the group's share of enrollment (the district's or the state's), K the "
            "students with the outcome; exceeded when the outcome share is above E. Risk difference: the "
            "group's risk minus all other students', with a Wald 95% interval. 80% index: the group's rate of "
            "not having the outcome over the highest such rate of any group; flagged below 0.8 (DisImpact). "
            "Percentage point gap: the group's risk minus all students' risk, flagged when at least its "
            "margin of error (DisImpact). Only the risk ratio identifies a district under 34 CFR 300.647. "
            "Formulas and sources: `docs/METHODOLOGY.md`, “IDC measures”."
        )


# -- would the state identify the district (34 CFR 300.647(d)) ----------------------------------------------------


def _status_words(r: dict) -> str:
    if r["withheld"]:
        return r["withheld"]
    if r["would_be_identified"]:
        return "would be identified"
    if r["reasonable_progress"] and r["consecutive_years_flagged"] >= S.identification_years:
        return "flagged, but reasonable progress"
    if r["ratio_method"] == "none":
        return "no ratio (too few students or with the outcome)"
    if r["flagged"]:
        return f"flagged {r['consecutive_years_flagged']} year(s) in a row of {S.identification_years} needed"
    return "not flagged"


def identification_section(ctx: PageContext, year: str, school_ids: Schools, suppress: bool, where: str) -> None:
    """The 'would be identified' status per IDEA discipline category and race group, with the years behind it."""
    shown = shown_years(ctx, school_ids, suppress, list(DISCIPLINE_CATEGORIES), "race_ethnicity")
    status = identification_status(shown, year, S)
    st.subheader("Would the state identify the district? (34 CFR 300.647)")
    if status.is_empty():
        st.info(
            f"No IDEA discipline category has students with IDEA eligibility in {where} in {year}, so there is no "
            "multi-year identification to show."
        )
        return
    identified = status.filter(pl.col("would_be_identified").fill_null(False))
    need = S.identification_years
    if identified.height:
        st.markdown(
            "**Would be identified:** "
            + "; ".join(
                f"{data.students_phrase('race_ethnicity', r['group'])}, "
                f"{first_lower(data.OUTCOME_LABELS[r['outcome']])} "
                f"(flagged {r['years_behind'].replace(',', ', ')})"
                for r in identified.iter_rows(named=True)
            )
            + "."
        )
    else:
        st.markdown(
            f"No race or ethnicity group would be identified in {year}: none is flagged in {need} consecutive "
            "school year(s) in any IDEA discipline category."
        )
    order = {c: i for i, c in enumerate(DISCIPLINE_CATEGORIES)}
    rows = sorted(status.iter_rows(named=True), key=lambda r: (order.get(r["outcome"], 99), r["group"]))
    printed = pl.DataFrame(
        [
            {
                "Category": data.OUTCOME_LABELS.get(r["outcome"], r["outcome"]),
                "Group": data.group_label("race_ethnicity", r["group"]),
                f"Risk ratio {year}": fmt_ratio(r["risk_ratio"]) if r["ratio_method"] != "none" else MISSING,
                "Flagged years in a row": MISSING
                if r["consecutive_years_flagged"] is None
                else str(r["consecutive_years_flagged"]),
                "Status": _status_words(r),
                "Years behind": (r["years_behind"] or "").replace(",", ", "),
            }
            for r in rows
        ],
        schema={
            c: pl.String
            for c in (
                "Category",
                "Group",
                f"Risk ratio {year}",
                "Flagged years in a row",
                "Status",
                "Years behind",
            )
        },
    )
    table_with_download(ctx, printed, stem=f"identification_{year}", key="equity_identification")
    progress = (
        "reasonable progress is not tested"
        if S.reasonable_progress is None
        else f"a ratio falling by at least {nf.fmt_setting(S.reasonable_progress)} in each of the last two years is reasonable "
        "progress and not identified"
    )
    st.caption(
        f"Identified when the risk ratio of children with disabilities of one race is above {nf.fmt_setting(S.threshold)} "
        f"(at least {S.min_n} students and {S.min_cell} with the outcome) in {need} consecutive school year(s); "
        f"{progress}. Not collected in the interchange format, so not shown: identification by disability "
        "category and placements in educational environments (300.647(b)(3)). The state's own choices may differ."
        + (" For this role each year's flag is the one published in that year's figures." if suppress else "")
    )


# -- trends: each flagged ratio over every loaded year, beside the state's ---------------------------------------


def trend_section(
    ctx: PageContext, year: str, school_ids: Schools, suppress: bool, outcome: str, dimension: str, where: str
) -> None:
    """Each group flagged this year: its ratio over every loaded year with its interval, and the state's."""
    shown = shown_years(ctx, school_ids, suppress, [outcome], dimension)
    now = shown.filter(
        (pl.col("school_year") == year)
        & (pl.col("outcome") == outcome)
        & (pl.col("dimension") == dimension)
        & pl.col("flagged").fill_null(False)
    )
    measure = data.OUTCOME_LABELS[outcome]
    measure_in_text = first_lower(measure)
    st.subheader("Flagged ratios over the years")
    if now.is_empty():
        st.markdown(f"No group is flagged in {year} for *{measure_in_text}*, so there is no flagged trend to show.")
        return
    groups = now["group"].to_list()
    state = state_reference_ratios(ctx.cache_key)
    trend = ratio_trend(shown, state, outcome, dimension, groups)
    state_years = sorted(trend.filter(pl.col("series") == "state")["school_year"].unique().to_list())
    state_label = "State, reference data " + (", ".join(state_years) if state_years else "")
    fig = go.Figure()
    colours = [OKABE_ITO[c] for c in ("vermillion", "blue", "bluish_green", "orange", "reddish_purple", "sky_blue")]
    for i, group in enumerate(groups):
        colour = colours[i % len(colours)]
        for series, dash, name in (
            ("district", "solid", f"{data.group_label(dimension, group)}, district"),
            ("state", "dot", f"{data.group_label(dimension, group)}, {state_label}"),
        ):
            part = trend.filter(
                (pl.col("series") == series) & (pl.col("group") == group) & pl.col("risk_ratio").is_not_null()
            )
            if part.is_empty():
                continue
            fig.add_scatter(
                x=part["school_year"].to_list(),
                y=part["risk_ratio"].to_list(),
                mode="lines+markers",
                name=name,
                line={"color": colour, "dash": dash},
                marker_symbol="diamond" if series == "district" else "square",
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": (part["rr_ci_high"] - part["risk_ratio"]).to_list(),
                    "arrayminus": (part["risk_ratio"] - part["rr_ci_low"]).to_list(),
                },
                hovertemplate="%{x}: %{y:.2f}<extra>" + name + "</extra>",
            )
    fig.add_hline(
        y=S.threshold,
        line_dash="dash",
        line_color=OKABE_ITO["vermillion"],
        annotation_text=f"threshold {nf.fmt_setting(S.threshold)}",
    )
    fig.update_xaxes(type="category", categoryorder="category ascending")
    fig.update_yaxes(type="log")
    style(
        fig,
        title=f"Risk ratio over the years: {measure_in_text}, groups flagged in {year}, {where}"
        + (f", beside the state ({', '.join(state_years)})" if state_years else ""),
        x_title="School year",
        y_title="Risk ratio (log scale, 95% CI)",
        height=420,
    )
    printed = trend.select(
        pl.when(pl.col("series") == "district")
        .then(pl.lit("District"))
        .otherwise(pl.lit("State (reference data)"))
        .alias("Series"),
        pl.col("group").replace_strict({g: data.group_label(dimension, g) for g in groups}).alias("Group"),
        pl.col("school_year").alias("School year"),
        table_number("risk_ratio", "ratio").alias("Risk ratio"),
        table_number("rr_ci_low", "ratio").alias("CI low"),
        table_number("rr_ci_high", "ratio").alias("CI high"),
        pl.when(pl.col("flagged"))
        .then(pl.lit("FLAGGED"))
        .when(pl.col("flagged").is_not_null())
        .then(pl.lit("no"))
        .otherwise(pl.lit("–"))
        .alias("Flagged"),
        pl.col("withheld").fill_null("").alias("Why no ratio"),
    )
    notes = []
    if state_years:
        notes.append(
            f"State ratios are the state's own groups against its other students, from the reference data of "
            f"{', '.join(state_years)} (public counts, not suppressed); reference data lag the district's years."
        )
    else:
        notes.append(
            "No state reference data is loaded, so the state's trend is not shown (import CRDC files: "
            "docs/REFERENCE_DATA.md)."
        )
    if suppress:
        notes.append("For this role each year's ratio is shown only where that year's published counts give it.")
    chart_with_table(
        ctx,
        fig,
        printed,
        stem=f"ratio_trend_{outcome}_{dimension}_{year}",
        key="equity_trend",
        footnotes=notes,
        how=f"Each year's risk ratio against all other students with its Katz 95% interval, the same sizes and "
        f"threshold ({nf.fmt_setting(S.threshold)}) every year; the state's from its reference counts the same way.",
        section="Disproportionality (`metrics/disproportionality.py`)",
    )
