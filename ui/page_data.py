"""What the analytic pages read: access.metric_tables for the filters of one page view, cached per
viewer and warehouse version, and the one suppressed release a suppressed viewer (the board) sees.

Every cached function takes `cache_key` (PageContext.cache_key: the viewer's role and scope plus the
warehouse version) first, so no role ever receives another's cached result and a new load is never
hidden behind an old one. `school_ids` is the filter scope already limited to the viewer
(ui.context.PageContext.params): None = every school, a tuple = those schools. The `district`
rows of metric_tables are then the aggregate of exactly those schools.

For a suppressed viewer every count a page prints comes from `public_release`: all analytic tables of
one school year and school scope suppressed together (access.suppression), so a cell hidden on one
page is hidden on every page that prints it. Statistics (ratios, medians, shares) are shown to such a
viewer only where every count they are computed from is published.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl
import streamlit as st

from access import metric_tables as mt
from access.marts import one_check
from access.session import shared_reader
from access.suppression import CountTable, SuppressedRelease, SuppressedTable
from data_contracts.interchange import CONCERN_LEVELS
from data_contracts.labels import (  # noqa: F401  (the one vocabulary; pages read it from here)
    CATEGORY_LABELS,
    DIMENSION_LABELS,
    LEVEL_LABELS,
    OUTCOME_LABELS,
    POPULATION_LABELS,
    group_label,
    students_phrase,
)
from figures.release import (  # noqa: F401  (names pages and tests read from here)
    GROUP_DIMENSIONS,
    MAX_PUBLIC_SCHOOLS,
    PUBLIC_OUTCOME_DIMENSIONS,
    SERVED_HORIZON,
    TOTAL,
    VOLUME_BREAKDOWNS,
    earlier_years,
    population_measure,
    prior_year,
    release_tables,
    with_total,
)
from figures.stored import release_for
from metrics.config import DEFAULT_SETTINGS
from metrics.significance import disparity_significance
from metrics.survival import kaplan_meier

Schools = tuple[str, ...] | None
HIGH_LEVELS = ("high", "imminent")


def _con():
    return shared_reader().connection()


def _ids(school_ids: Schools) -> list[str] | None:
    return None if school_ids is None else list(school_ids)


# -- exact numbers (metric_tables, unchanged) ----------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=16)
def as_of(cache_key: str) -> date:
    return mt.resolve_as_of(_con())


@st.cache_data(show_spinner=False, max_entries=64)
def case_volumes(cache_key: str, year: str, school_ids: Schools) -> pl.DataFrame:
    """case_volumes of the year and the year before it (for the change), the selection as `district`."""
    return mt.case_volumes(_con(), [prior_year(year), year], _ids(school_ids), include_district=True)


@st.cache_data(show_spinner=False, max_entries=64)
def case_volume_trend(cache_key: str, school_ids: Schools) -> pl.DataFrame:
    """Total and monthly cases of every school year, for the selection only (no school rows)."""
    frame = mt.case_volumes(_con(), None, _ids(school_ids), include_district=True, include_schools=False)
    return frame.filter(pl.col("breakdown").is_in(["total", "month"]))


@st.cache_data(show_spinner=False, max_entries=64)
def concern_levels(cache_key: str, year: str, school_ids: Schools) -> pl.DataFrame:
    return mt.concern_levels(_con(), [prior_year(year), year], _ids(school_ids), include_district=True)


@st.cache_data(show_spinner=False, max_entries=64)
def concern_level_tests(cache_key: str, year: str, school_ids: Schools) -> pl.DataFrame:
    return mt.concern_level_tests(_con(), [year], _ids(school_ids), include_district=True, include_schools=False)


@dataclass(frozen=True)
class InterventionTimes:
    """What the Time to intervention page shows, for the selection (district rows) of one school year."""

    summary: pl.DataFrame  # time_to_intervention: 'all' and each level of concern
    groups: pl.DataFrame  # the same summary per group of the chosen dimension
    logrank: pl.DataFrame  # log-rank test across those groups
    curves: pl.DataFrame  # Kaplan-Meier curve of each group
    timeliness: pl.DataFrame  # first action within each level's target
    open_cases: pl.DataFrame  # open_cases_at_risk's case rows (callers show them only to who may see them)
    served: pl.DataFrame  # time_to_intervention_ci: 'all' and each level (closing unserved competing)
    served_groups: pl.DataFrame  # the same per group of the chosen dimension
    served_curves: pl.DataFrame  # Aalen-Johansen curve of each group
    served_test: pl.DataFrame  # Gray's test across those groups, and the log-rank on the cause-specific hazard
    served_followed: pl.DataFrame  # per group: cases followed SERVED_HORIZON days and those served within them


@st.cache_data(show_spinner=False, max_entries=64)
def intervention_times(cache_key: str, year: str, school_ids: Schools, dimension: str) -> InterventionTimes:
    """The page's tables from one read of the case timeline (six reads of the same rows cost most of it)."""
    con = _con()
    with one_check(con):
        as_of = mt.resolve_as_of(con)
        cases = mt.case_timeline(con, as_of, [year], _ids(school_ids))
    summary = mt.summary_by_level(cases, include_district=True, include_schools=False)
    outcomes = mt.served_outcomes(cases, as_of)
    if dimension == "concern_level":
        served_groups = (
            mt.ci_summary_by_level(outcomes, include_district=True, include_schools=False)
            .filter(pl.col("concern_level") != "all")
            .rename({"concern_level": "group"})
        )
    else:
        served_groups = mt.ci_summary_by_group(outcomes, dimension, include_district=True, include_schools=False)
    if dimension == "concern_level":
        groups = summary.filter(pl.col("concern_level") != "all").rename({"concern_level": "group"})
    else:
        groups = mt.summary_by_group(cases, dimension, include_district=True, include_schools=False)
    return InterventionTimes(
        summary=summary,
        groups=groups,
        logrank=mt.logrank_of(cases, include_district=True, include_schools=False, dimensions=(dimension,)),
        curves=_survival_curves(cases, dimension),
        timeliness=mt.timeliness_of(cases, include_district=True, include_schools=False),
        open_cases=_open_cases_at_risk(cases),
        served=mt.ci_summary_by_level(outcomes, include_district=True, include_schools=False),
        served_groups=served_groups,
        served_curves=mt.ci_curves_by_group(outcomes, dimension),
        served_test=mt.served_group_tests_of(
            outcomes, include_district=True, include_schools=False, dimensions=(dimension,)
        ),
        served_followed=mt.served_within_counts(outcomes, dimension, as_of, SERVED_HORIZON),
    )


def _survival_curves(cases: pl.DataFrame, dimension: str) -> pl.DataFrame:
    """Kaplan-Meier curve of each group of `dimension` over the selected schools (metric_tables'
    survival_curve does one school or the district; this is the same computation over a selection)."""
    column = "school_id" if dimension == "school" else dimension
    cases = cases.filter(pl.col(column).is_not_null())
    parts = []
    for (group,), part in cases.partition_by(column, as_dict=True, maintain_order=True).items():
        curve = kaplan_meier(part["duration_days"].to_list(), part["event"].to_list()).curve
        parts.append(curve.select(pl.lit(str(group)).alias("group"), pl.all()))
    if not parts:
        return pl.DataFrame(
            schema={
                "group": pl.String,
                "days": pl.Float64,
                "at_risk": pl.Int64,
                "events": pl.Int64,
                "censored": pl.Int64,
                "survival": pl.Float64,
                "ci_low": pl.Float64,
                "ci_high": pl.Float64,
            }
        )
    return pl.concat(parts).sort("group", "days", maintain_order=True)


def _open_cases_at_risk(cases: pl.DataFrame, warn_days: int = 2) -> pl.DataFrame:
    """Open cases with a level of concern and no first action yet: past their level's target
    (`missed`) or within `warn_days` of it (`due soon`). Case-level: callers show it only to viewers
    who may see case rows of the case's school."""
    targets = pl.DataFrame(
        {
            "concern_level": list(DEFAULT_SETTINGS.timeliness_days),
            "target_days": list(DEFAULT_SETTINGS.timeliness_days.values()),
        }
    )
    waiting = cases.filter(~pl.col("event") & pl.col("closed_date").is_null() & pl.col("concern_level").is_not_null())
    out = waiting.join(targets, on="concern_level", how="left").with_columns(
        (pl.col("target_days") - pl.col("duration_days")).alias("days_left")
    )
    out = out.filter(pl.col("days_left") <= warn_days).with_columns(
        pl.when(pl.col("days_left") < 0).then(pl.lit("target missed")).otherwise(pl.lit("due soon")).alias("status")
    )
    order = pl.col("concern_level").replace_strict(
        {lvl: i for i, lvl in enumerate(CONCERN_LEVELS)}, default=9, return_dtype=pl.Int32
    )
    return (
        out.with_columns(order.alias("_order"))
        .sort(["_order", "days_left"], descending=[True, False])
        .select(
            "case_id",
            "school_id",
            "concern_level",
            "reported_date",
            "assessed_date",
            "duration_days",
            "target_days",
            "days_left",
            "status",
        )
    )


@st.cache_data(show_spinner=False, max_entries=16)
def disproportionality(cache_key: str, years: tuple[str, ...], school_ids: Schools) -> pl.DataFrame:
    """District (or selection) rows only; computed once per year set and viewer, reused by every view."""
    return mt.disproportionality(_con(), list(years), _ids(school_ids), include_district=True, include_schools=False)


@st.cache_data(show_spinner=False, max_entries=32)
def against_reference(
    cache_key: str, year: str, school_ids: Schools, outcome: str, dimension: str, reference: str
) -> pl.DataFrame:
    """Each group's risk against one chosen reference group instead of all other students: the same
    metric (metrics.disproportionality: ratio rules, Katz interval, Fisher test) run on the pair."""
    from metrics.disproportionality import disproportionality_table

    counts = mt.outcome_group_counts(_con(), [year], _ids(school_ids), include_district=True, include_schools=False)
    counts = counts.filter((pl.col("outcome") == outcome) & (pl.col("dimension") == dimension))
    groups = [g for g in counts["group"].to_list() if g != reference]
    if reference not in counts["group"].to_list() or not groups:
        return pl.DataFrame()
    pairs = pl.concat(
        [
            counts.filter(pl.col("group").is_in([g, reference])).with_columns(
                pl.lit(f"{dimension}|{g}").alias("dimension")
            )
            for g in groups
        ]
    )
    table = disproportionality_table(pairs, None, DEFAULT_SETTINGS)
    return table.filter(pl.col("group") != reference).with_columns(pl.lit(dimension).alias("dimension"))


@st.cache_data(show_spinner=False, max_entries=32)
def conditional_disparities(cache_key: str, year: str, school_ids: Schools) -> pl.DataFrame:
    return mt.conditional_disparities(
        _con(), [year], _ids(school_ids), include_district=True, include_schools=False, pool_years=False
    )


@st.cache_data(show_spinner=False, max_entries=32)
def outcome_strata(cache_key: str, year: str, school_ids: Schools) -> pl.DataFrame:
    """Per outcome x dimension x group x level: group cases (a + b) and those with the outcome (a)."""
    strata = mt.conditional_disparity_strata(
        _con(), [year], _ids(school_ids), include_district=True, include_schools=False
    )
    return strata.select(
        "school_year",
        "outcome",
        "dimension",
        "group",
        "concern_level",
        (pl.col("a") + pl.col("b")).alias("cases"),
        pl.col("a").alias("with_outcome"),
    )


@st.cache_data(show_spinner=False, max_entries=64)
def process_audit(cache_key: str, year: str, school_ids: Schools) -> pl.DataFrame:
    return mt.process_audit(_con(), None, [prior_year(year), year], _ids(school_ids), include_district=True)


@dataclass(frozen=True)
class Overview:
    """What the Overview page prints: district (selection) rows only, the school year and the one before."""

    volumes: pl.DataFrame  # case_volumes, breakdown 'total'
    levels: pl.DataFrame  # concern_levels, dimension 'all'
    time_to_intervention: pl.DataFrame  # concern_level 'all'
    served: pl.DataFrame  # time_to_intervention_ci, concern_level 'all' (closing unserved competing)
    flags: pl.DataFrame  # disproportionality's flagged rows of the year (the federal threshold test)
    notable: pl.DataFrame  # those of them that pass the significance rule (metrics.significance)
    prior_flags: int | None  # flagged rows of the year before; None when it has no rows at all
    prior_flag_rows: pl.DataFrame  # those rows (a suppressed viewer counts only flags on published counts)
    audit: pl.DataFrame  # process_audit
    timeliness: pl.DataFrame  # the year only


@st.cache_data(show_spinner=False, max_entries=64)
def overview(cache_key: str, year: str, school_ids: Schools) -> Overview:
    """The Overview's figures in one call, without the per-school rows the page never prints (the p values
    are computed: the attention list names only flags that pass the significance rule),
    which cost most of the separate calls at state size; numbers as those calls give them."""
    con, ids, prior = _con(), _ids(school_ids), prior_year(year)
    years = [prior, year]
    district = pl.col("scope") == "district"
    with one_check(con):
        as_of = mt.resolve_as_of(con)
        volumes = mt.case_volumes(con, years, ids, include_district=True, include_schools=False)
        levels = mt.concern_levels(con, years, ids, include_district=True, include_schools=False, dimensions=("all",))
        cases = mt.case_timeline(con, as_of, years, ids)
        disp = mt.disproportionality(con, years, ids, include_district=True, include_schools=False)
        audit = mt.process_audit(con, as_of, years, ids, include_district=True, include_schools=False)
    tti = mt.summary_by_level(cases, include_district=True, include_schools=False)
    prior_disp = disp.filter(pl.col("school_year") == prior)
    ruled = disparity_significance(disp.filter(pl.col("school_year") == year))
    return Overview(
        volumes=volumes.filter(district & (pl.col("breakdown") == "total")),
        levels=levels.filter(district & (pl.col("dimension") == "all")),
        time_to_intervention=tti.filter(district & (pl.col("concern_level") == "all")),
        served=mt.ci_summary_by_level(
            mt.served_outcomes(cases, as_of), include_district=True, include_schools=False
        ).filter(district & (pl.col("concern_level") == "all")),
        flags=disp.filter(pl.col("flagged") & (pl.col("school_year") == year)),
        notable=ruled.filter(pl.col("unlikely_to_be_chance")),
        prior_flags=prior_disp.filter(pl.col("flagged")).height if prior_disp.height else None,
        prior_flag_rows=prior_disp.filter(pl.col("flagged")),
        audit=audit.filter(district),
        timeliness=mt.timeliness_of(
            cases.filter(pl.col("school_year") == year), include_district=True, include_schools=False
        ),
    )


@st.cache_data(show_spinner=False, max_entries=16)
def crdc_benchmarks(cache_key: str, year: str):
    """State and peer benchmarks from CRDC for the district's school year `year` (access.benchmarks.
    BenchmarkView): public CRDC figures of whole districts, the same for every viewer, never suppressed."""
    from access.benchmarks import benchmark_view

    return benchmark_view(_con(), year)


# -- the suppressed release ------------------------------------------------------------------------------------------


def _release_tables(con, year: str, school_ids: Schools) -> list[CountTable]:
    """The release's count tables (figures.release.release_tables), under the name tests and benches use."""
    return release_tables(con, year, school_ids)


@st.cache_data(
    show_spinner="Preparing the published figures of every page (once after each data load)...", max_entries=32
)
def public_release(release_key: str, year: str, school_ids: Schools) -> SuppressedRelease:
    """Every count the analytic pages print for one school year and school scope, suppressed as one
    release (the page set): a cell hidden on one page cannot be worked out from what another prints.
    Each school year is a release of its own tables only; a page comparing years reads each year's.

    `release_key` is PageContext.release_key (the warehouse version): the release is the same for every
    suppressed viewer of the scope, so they share it; only suppressed viewers are ever given it. The release a
    load stored in the warehouse is read when it is that load's (figures.stored), else it is built here."""
    return release_for(_con(), year, school_ids)


def published(table: SuppressedTable, measure: str) -> pl.DataFrame:
    """The table's dimensions with `measure`'s printed text, plottable value (null when hidden) and reason."""
    return table.display.select(*table.dimensions, pl.col(measure).alias("shown")).with_columns(
        table.published[measure].alias("value"), table.reason[measure].alias("reason")
    )
