"""Metric tables: the named mart queries of sql/marts/ run through the statistics of metrics/.

The heavy reads go over the load-time marts when they are current (access/marts.py picks the query).

One function per metric family. The export, the dashboard pages and the board report call these
and nothing else, so every consumer shows the same numbers. They return polars frames, never
suppress (access.suppression does that for the roles that need it) and never touch Streamlit.

Common filters: `school_years` (a list of "2024-25" codes, None = every year), `school_ids` (None =
every school; given, only those schools' rows come back and the district rows are left out unless
`include_district=True`), `include_schools` (False = district rows only, much faster), `as_of`
(None = the latest date in the warehouse's cases, actions, reviews and discipline actions).
docs/METHODOLOGY.md documents every column.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import duckdb
import polars as pl

from access.marts import mart_query
from access.queries import run_query
from data_contracts.interchange import CONCERN_LEVELS
from metrics.aggregate_bounds import comparison_bounds
from metrics.audit import evaluate_audit
from metrics.competing_risks import SERVED as SERVED_OUTCOME
from metrics.competing_risks import SUMMARY_COLUMNS as _CI_SUMMARY
from metrics.competing_risks import (
    cumulative_incidence_curves,
    cumulative_incidence_table,
    first_action_outcomes,
    gray_table,
)
from metrics.concern import concern_distribution, concern_independence_table, concern_ordinal_table
from metrics.config import DEFAULT_SETTINGS, MetricSettings
from metrics.disproportionality import disproportionality_table
from metrics.idc import idc_measures as idc_measure_rows
from metrics.identification import identification as identification_rows
from metrics.stratified import mantel_haenszel_table
from metrics.survival import kaplan_meier, logrank_table, time_to_first_action
from metrics.survival import time_to_intervention as km_summary
from metrics.survival import timeliness as timeliness_by_level

Years = Sequence[str] | None
Schools = Sequence[str] | None

SUBGROUP_DIMENSIONS = (
    "race_ethnicity",
    "disability_status",
    "sex",
    "english_learner",
    "econ_disadvantaged",
    "race_x_disability",
)
SURVIVAL_EVENTS = ("first_action", "assessment")
CASE_OUTCOMES = ("case_exclusionary", "case_law_enforcement", "case_placement_change")
POOLED_YEARS = "all"  # school_year of conditional-disparity rows pooled over the years asked for

# time_to_intervention.csv, in the spec's order
TIME_TO_INTERVENTION_COLUMNS = (
    "school_year",
    "scope",
    "concern_level",
    "n_cases",
    "n_events",
    "median_days",
    "median_ci_low",
    "median_ci_high",
    "p90_days",
)
_SUMMARY = TIME_TO_INTERVENTION_COLUMNS[3:]
# time_to_intervention_ci.csv (spec extension 1.1), in the spec's order
TIME_TO_INTERVENTION_CI_COLUMNS = ("school_year", "scope", "concern_level", *_CI_SUMMARY)
_LEVEL_ORDER = {"all": 0, **{lvl: i + 1 for i, lvl in enumerate(CONCERN_LEVELS)}}


# -- filters and dates ------------------------------------------------------------------------------------------


def latest_activity_date(con: duckdb.DuckDBPyConnection) -> date | None:
    """The spec's default as-of date: the latest date of any case, action, review or discipline action."""
    return run_query(con, "marts/latest_activity_date")["as_of"][0]


def resolve_as_of(con: duckdb.DuckDBPyConnection, as_of: date | None = None) -> date:
    """`as_of` when given, else the latest activity date, else today (an empty warehouse)."""
    return as_of or latest_activity_date(con) or date.today()


def school_years(con: duckdb.DuckDBPyConnection) -> list[str]:
    """School years holding enrollment or cases, oldest first."""
    return run_query(con, mart_query(con, "school_years"))["school_year"].to_list()


def _scope(school_years: Years, school_ids: Schools, include_district: bool | None, include_schools: bool) -> dict:
    return {
        "school_years": None if school_years is None else [str(y) for y in school_years],
        "school_ids": None if school_ids is None else [str(s) for s in school_ids],
        "include_district": (school_ids is None) if include_district is None else bool(include_district),
        "include_schools": bool(include_schools),
    }


def _with_earlier_years(years: Years, back: int) -> list[str] | None:
    """The years asked for plus the `back` school years before each (for persistence and year-over-year)."""
    if years is None:
        return None
    out = set()
    for year in years:
        start = int(str(year)[:4])
        out.update(f"{s}-{(s + 1) % 100:02d}" for s in range(start - back, start + 1))
    return sorted(out)


def _scope_order(frame: pl.DataFrame, *more: str) -> pl.DataFrame:
    """Sort as the exports do: school year, the district first, then schools, then `more`."""
    return frame.sort(["school_year", pl.col("scope") != "district", "scope", *more], maintain_order=True)


# -- disproportionality ------------------------------------------------------------------------------------------


def student_year_outcomes(
    con: duckdb.DuckDBPyConnection, school_years: Years = None, school_ids: Schools = None
) -> pl.DataFrame:
    """One row per enrolled student x year: school_id, the six dimensions, one boolean per spec outcome
    (case_* null outside the case population, idea_* null outside the IDEA population)."""
    scope = _scope(school_years, school_ids, None, True)
    return run_query(
        con, "marts/student_year_outcomes", school_years=scope["school_years"], school_ids=scope["school_ids"]
    )


def outcome_group_counts(
    con: duckdb.DuckDBPyConnection,
    school_years: Years = None,
    school_ids: Schools = None,
    include_district: bool | None = None,
    include_schools: bool = True,
) -> pl.DataFrame:
    """school_year, scope, outcome, dimension, group, n, k for every group with n > 0."""
    return run_query(
        con,
        mart_query(con, "outcome_group_counts"),
        **_scope(school_years, school_ids, include_district, include_schools),
    )


def state_reference_counts(con: duckdb.DuckDBPyConnection, school_years: Years = None) -> pl.DataFrame | None:
    """school_year, outcome, dimension, group, n, k of the optional state_reference table; None without it."""
    if not run_query(con, "marts/state_reference_present")["present"][0]:
        return None
    return run_query(
        con, "marts/state_reference_counts", school_years=None if school_years is None else list(school_years)
    )


def aggregate_comparison_bounds(
    con: duckdb.DuckDBPyConnection,
    source: str,
    school_year: str,
    n_measure: str,
    k_measure: str,
    dimensions: Sequence[str],
    settings: MetricSettings = DEFAULT_SETTINGS,
) -> pl.DataFrame:
    """Risk ratios of a published aggregate table (reference data) with its suppressed groups kept in the
    comparison group as an interval, never dropped (metrics.aggregate_bounds; a row the totals cannot bound
    is marked). `source` is the aggregate's profile name; the statewide row's scope is 'state'."""
    cells = run_query(
        con,
        "reference/aggregate_group_cells",
        source=source,
        school_year=school_year,
        n_measure=n_measure,
        k_measure=k_measure,
        dimensions=list(dimensions),
    )
    totals = cells.select("scope", "n_total", "k_total").unique("scope", maintain_order=True)
    return comparison_bounds(cells.drop("n_total", "k_total"), totals, settings)


def disproportionality(
    con: duckdb.DuckDBPyConnection,
    school_years: Years = None,
    school_ids: Schools = None,
    include_district: bool | None = None,
    include_schools: bool = True,
    settings: MetricSettings = DEFAULT_SETTINGS,
    tests: bool = True,
) -> pl.DataFrame:
    """Rows of disproportionality.csv plus outcome_share, population_share, weighted_risk_ratio, persistent
    (metrics.disproportionality.EXPORT_COLUMNS). Earlier years are read too, so persistence is right.
    `tests=False`: p_value and q_value blank, for a caller that shows only ratios and flags."""
    years = _with_earlier_years(school_years, settings.persistence_years - 1)
    counts = outcome_group_counts(con, years, school_ids, include_district, include_schools)
    table = disproportionality_table(counts, state_reference_counts(con, years), settings, tests)
    if school_years is not None:
        table = table.filter(pl.col("school_year").is_in([str(y) for y in school_years]))
    return table


def idc_measures(
    con: duckdb.DuckDBPyConnection,
    school_years: Years = None,
    school_ids: Schools = None,
    include_district: bool | None = None,
    include_schools: bool = True,
    settings: MetricSettings = DEFAULT_SETTINGS,
) -> pl.DataFrame:
    """Rows of idc_measures.csv (metrics.idc.IDC_COLUMNS): the IDC and DisImpact measures of every group of
    disproportionality.csv, from the same counts, with the state's composition when state_reference exists."""
    counts = outcome_group_counts(con, school_years, school_ids, include_district, include_schools)
    return _scope_order(idc_measure_rows(counts, state_reference_counts(con, school_years), settings))


def identification(con: duckdb.DuckDBPyConnection, settings: MetricSettings = DEFAULT_SETTINGS) -> pl.DataFrame:
    """Rows of identification.csv (metrics.identification.IDENTIFICATION_COLUMNS) over every loaded year:
    the run of flagged years behind each race group and discipline category needs them all."""
    return identification_rows(disproportionality(con, settings=settings, tests=False), settings)


# -- case volumes and levels of concern --------------------------------------------------------------------------


def case_volumes(
    con: duckdb.DuckDBPyConnection,
    school_years: Years = None,
    school_ids: Schools = None,
    include_district: bool | None = None,
    include_schools: bool = True,
    as_of: date | None = None,
) -> pl.DataFrame:
    """Cases and student subjects per year x scope x breakdown x category, per 1,000 enrolled, with the
    change from the school year just before (blank when that year is missing)."""
    years = _with_earlier_years(school_years, 1)
    counted_at_load = as_of is None and school_ids is None  # the whole district's counts are a mart
    frame = run_query(
        con,
        mart_query(con, "case_volumes_whole_district" if counted_at_load else "case_volumes"),
        as_of=as_of,
        **_scope(years, school_ids, include_district, include_schools),
    )
    per_1000 = pl.when(pl.col("enrolled") > 0).then(1000 * pl.col("cases") / pl.col("enrolled")).otherwise(None)
    frame = frame.with_columns(
        per_1000.alias("cases_per_1000"),
        pl.when(pl.col("enrolled") > 0)
        .then(1000 * pl.col("student_subjects") / pl.col("enrolled"))
        .otherwise(None)
        .alias("student_subjects_per_1000"),
    )
    frame = _previous_year(frame, ["scope", "breakdown", "category"], "cases")
    frame = _previous_year(frame, ["scope", "breakdown", "category"], "cases_per_1000")
    if school_years is not None:
        frame = frame.filter(pl.col("school_year").is_in([str(y) for y in school_years]))
    return frame


def _previous_year(frame: pl.DataFrame, by: list[str], value: str) -> pl.DataFrame:
    """Add previous_<value>, <value>_change and <value>_percent_change (metrics.rates.year_over_year's rule:
    the school year just before, not the previous row; percent blank when the previous value is 0)."""
    start = pl.col("school_year").str.slice(0, 4).cast(pl.Int32)
    previous = frame.select(*by, (start + 1).alias("_start"), pl.col(value).alias(f"previous_{value}"))
    out = frame.with_columns(start.alias("_start")).join(previous, on=[*by, "_start"], how="left", nulls_equal=True)
    change = pl.col(value).cast(pl.Float64) - pl.col(f"previous_{value}").cast(pl.Float64)
    return out.with_columns(
        change.alias(f"{value}_change"),
        pl.when(pl.col(f"previous_{value}") != 0)
        .then(100 * change / pl.col(f"previous_{value}"))
        .otherwise(None)
        .alias(f"{value}_percent_change"),
    ).drop("_start")


def concern_level_counts(
    con: duckdb.DuckDBPyConnection,
    school_years: Years = None,
    school_ids: Schools = None,
    include_district: bool | None = None,
    include_schools: bool = True,
    as_of: date | None = None,
) -> pl.DataFrame:
    """school_year, scope, dimension, group, concern_level, n (assessed cases; zero levels have no row)."""
    return run_query(
        con,
        mart_query(con, "concern_level_counts"),
        as_of=as_of,
        **_scope(school_years, school_ids, include_district, include_schools),
    )


def concern_levels(
    con: duckdb.DuckDBPyConnection,
    school_years: Years = None,
    school_ids: Schools = None,
    include_district: bool | None = None,
    include_schools: bool = True,
    as_of: date | None = None,
    dimensions: Sequence[str] | None = None,
) -> pl.DataFrame:
    """The ordered distribution: school_year, scope, dimension, group, concern_level, n, share,
    cumulative_share, every level present (zeros filled in). dimension 'all' is every assessed case.
    `dimensions`: only these (None = every one); each group's distribution is its own, so the rows are the same."""
    counts = concern_level_counts(con, school_years, school_ids, include_district, include_schools, as_of)
    if dimensions is not None:
        counts = counts.filter(pl.col("dimension").is_in(list(dimensions)))
    table = concern_distribution(counts, by=("school_year", "scope", "dimension", "group"))
    return _scope_order(table, pl.col("dimension") != "all", "dimension", "group")


def concern_level_tests(
    con: duckdb.DuckDBPyConnection,
    school_years: Years = None,
    school_ids: Schools = None,
    include_district: bool | None = None,
    include_schools: bool = True,
    as_of: date | None = None,
    settings: MetricSettings = DEFAULT_SETTINGS,
) -> pl.DataFrame:
    """Group x level independence per school_year x scope x dimension: method, statistic, df, p_value, n,
    groups, levels (comma-separated, those kept), min_expected; then the ordinal test beside it
    (row mean scores of the ordered levels): ordinal_statistic, ordinal_df, ordinal_p_value."""
    counts = concern_level_counts(con, school_years, school_ids, include_district, include_schools, as_of)
    keys = ["school_year", "scope", "dimension"]
    by_group = counts.filter(pl.col("dimension") != "all")
    tests = concern_independence_table(by_group, keys, group="group", settings=settings)
    ordinal = concern_ordinal_table(by_group, keys, group="group")
    tests = tests.join(ordinal, on=keys, how="left", nulls_equal=True, maintain_order="left")
    return tests.with_columns(pl.col("groups").list.join(","), pl.col("levels").list.join(",")).cast(
        {
            "school_year": pl.String,
            "scope": pl.String,
            "dimension": pl.String,
            "method": pl.String,
            "statistic": pl.Float64,
            "df": pl.Int64,
            "p_value": pl.Float64,
            "n": pl.Int64,
            "groups": pl.String,
            "levels": pl.String,
            "min_expected": pl.Float64,
            "ordinal_statistic": pl.Float64,
            "ordinal_df": pl.Int64,
            "ordinal_p_value": pl.Float64,
        }
    )


# -- time to first intervention and to assessment ----------------------------------------------------------------


def case_timeline(
    con: duckdb.DuckDBPyConnection,
    as_of: date | None = None,
    school_years: Years = None,
    school_ids: Schools = None,
    event: str = "first_action",
) -> pl.DataFrame:
    """One row per case (sql/marts/from_marts/case_timeline.sql) with duration_days and event for `event`
    (first_action: days to the first case action; assessment: days to assessed_date). Both are censored
    at closed_date, or at the as-of date while open. Cases assessed before their report are left out."""
    if event not in SURVIVAL_EVENTS:
        raise ValueError(f"case_timeline: event {event!r} is not one of {SURVIVAL_EVENTS}")
    as_of = resolve_as_of(con, as_of)
    scope = _scope(school_years, school_ids, None, True)
    cases = run_query(
        con,
        mart_query(con, "case_timeline"),
        as_of=as_of,
        school_years=scope["school_years"],
        school_ids=scope["school_ids"],
    )
    if event == "assessment":
        cases = cases.filter(pl.col("assessed_date").is_null() | (pl.col("assessed_date") >= pl.col("reported_date")))
        source = cases.rename({"first_action_date": "_first_action_date"}).with_columns(
            pl.col("assessed_date").alias("first_action_date")
        )
        return (
            time_to_first_action(source, as_of)
            .drop("first_action_date")
            .rename({"_first_action_date": "first_action_date"})
        )
    return time_to_first_action(cases, as_of)


def _scoped_cases(cases: pl.DataFrame, include_district: bool, include_schools: bool) -> pl.DataFrame:
    """Each case once per scope it belongs to: the district and its own school."""
    parts = []
    if include_district:
        parts.append(cases.with_columns(pl.lit("district").alias("scope")))
    if include_schools:
        parts.append(cases.with_columns(pl.col("school_id").alias("scope")))
    return pl.concat(parts) if parts else cases.with_columns(pl.lit(None, pl.String).alias("scope")).clear()


def _by_level(cases: pl.DataFrame) -> pl.DataFrame:
    """Each case under 'all' and, when assessed, under its level of concern."""
    return pl.concat(
        [
            cases.with_columns(pl.lit("all").alias("level")),
            cases.filter(pl.col("concern_level").is_not_null()).with_columns(pl.col("concern_level").alias("level")),
        ]
    )


def _survival_summary(
    con: duckdb.DuckDBPyConnection,
    event: str,
    as_of: date | None,
    school_years: Years,
    school_ids: Schools,
    include_district: bool | None,
    include_schools: bool,
) -> pl.DataFrame:
    scope = _scope(school_years, school_ids, include_district, include_schools)
    return summary_by_level(
        case_timeline(con, as_of, school_years, school_ids, event), scope["include_district"], include_schools
    )


def summary_by_level(cases: pl.DataFrame, include_district: bool = True, include_schools: bool = True) -> pl.DataFrame:
    """time_to_intervention's table from rows of case_timeline already read (a page reads them once)."""
    long = _by_level(_scoped_cases(cases, include_district, include_schools))
    table = km_summary(
        long.select("school_year", "scope", pl.col("level").alias("concern_level"), "duration_days", "event"),
        by=("school_year", "scope", "concern_level"),
    )
    order = pl.col("concern_level").replace_strict(_LEVEL_ORDER, default=9, return_dtype=pl.Int32)
    return _scope_order(table, order).select(TIME_TO_INTERVENTION_COLUMNS)


def time_to_intervention(
    con: duckdb.DuckDBPyConnection,
    as_of: date | None = None,
    school_years: Years = None,
    school_ids: Schools = None,
    include_district: bool | None = None,
    include_schools: bool = True,
) -> pl.DataFrame:
    """time_to_intervention.csv exactly (TIME_TO_INTERVENTION_COLUMNS): Kaplan-Meier days from report to
    first case action per school_year x scope x concern_level ('all' and each level with cases)."""
    return _survival_summary(con, "first_action", as_of, school_years, school_ids, include_district, include_schools)


def time_to_intervention_ci(
    con: duckdb.DuckDBPyConnection,
    as_of: date | None = None,
    school_years: Years = None,
    school_ids: Schools = None,
    include_district: bool | None = None,
    include_schools: bool = True,
) -> pl.DataFrame:
    """time_to_intervention_ci.csv exactly (TIME_TO_INTERVENTION_CI_COLUMNS): Aalen-Johansen cumulative
    incidence of a first case action, closing unserved the competing event, per school_year x scope x
    concern_level (the same rows as time_to_intervention)."""
    as_of = resolve_as_of(con, as_of)
    scope = _scope(school_years, school_ids, include_district, include_schools)
    cases = case_timeline(con, as_of, school_years, school_ids, "first_action")
    return ci_summary_by_level(
        first_action_outcomes(cases.drop("duration_days", "event"), as_of), scope["include_district"], include_schools
    )


def ci_summary_by_level(
    cases: pl.DataFrame, include_district: bool = True, include_schools: bool = True
) -> pl.DataFrame:
    """time_to_intervention_ci's table from cases with duration_days and outcome (first_action_outcomes)."""
    long = _by_level(_scoped_cases(cases, include_district, include_schools))
    table = cumulative_incidence_table(
        long.select("school_year", "scope", pl.col("level").alias("concern_level"), "duration_days", "outcome"),
        by=("school_year", "scope", "concern_level"),
    )
    order = pl.col("concern_level").replace_strict(_LEVEL_ORDER, default=9, return_dtype=pl.Int32)
    return _scope_order(table, order).select(TIME_TO_INTERVENTION_CI_COLUMNS)


def served_outcomes(cases: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Rows of case_timeline re-timed for the cumulative incidence: duration_days and outcome (served,
    closed unserved: the competing event, open: censored at the as-of date), from first_action_outcomes."""
    return first_action_outcomes(cases.drop("duration_days", "event"), as_of)


def ci_summary_by_group(
    outcomes: pl.DataFrame, dimension: str, include_district: bool = True, include_schools: bool = True
) -> pl.DataFrame:
    """time_to_intervention_ci's columns per school_year x scope x group of `dimension`, from served_outcomes."""
    grouped = _grouped_cases(outcomes, dimension, include_district, include_schools)
    table = cumulative_incidence_table(
        grouped.select("school_year", "scope", "group", "duration_days", "outcome"),
        by=("school_year", "scope", "group"),
    )
    return _scope_order(table, "group").select("school_year", "scope", "group", *_CI_SUMMARY)


def served_within_counts(outcomes: pl.DataFrame, dimension: str, as_of: date, horizon: int) -> pl.DataFrame:
    """group, followed, served_within: per group of `dimension` over all the rows given (one scope), the cases
    reported at least `horizon` days before `as_of` (their first `horizon` days are observed: no censoring
    before the horizon) and those of them with a first intervention within `horizon` days. Over such a cohort
    the Aalen-Johansen cumulative incidence at the horizon is the plain share served_within / followed, so a
    suppressed release can publish the two counts and the share computed from them (figures/release.py)."""
    grouped = _grouped_cases(outcomes, dimension, True, False)
    cohort = grouped.filter((pl.lit(as_of) - pl.col("reported_date")).dt.total_days() >= horizon)
    served = (pl.col("outcome") == SERVED_OUTCOME) & (pl.col("duration_days") <= horizon)
    return (
        cohort.group_by("group")
        .agg(pl.len().cast(pl.Int64).alias("followed"), served.sum().cast(pl.Int64).alias("served_within"))
        .with_columns(pl.col("group").cast(pl.String))
        .sort("group")
    )


def ci_curves_by_group(outcomes: pl.DataFrame, dimension: str) -> pl.DataFrame:
    """The Aalen-Johansen curve of each group of `dimension` over all the rows given (one scope): group, then
    metrics.competing_risks.CURVE_SCHEMA."""
    grouped = _grouped_cases(outcomes, dimension, True, False)
    curves = cumulative_incidence_curves(grouped.select("group", "duration_days", "outcome"), ["group"])
    return curves.with_columns(pl.col("group").cast(pl.String)).sort("group", "days", maintain_order=True)


def served_hazard_logrank_of(
    outcomes: pl.DataFrame,
    include_district: bool = True,
    include_schools: bool = True,
    dimensions: Sequence[str] = ("concern_level", "school", *SUBGROUP_DIMENSIONS),
) -> pl.DataFrame:
    """The group comparison that goes with the cumulative incidence: the log-rank test on the cause-specific
    hazard of being served (a case closed unserved leaves the risk set at its closing day, an open case at the
    as-of date). logrank_tests' columns, event 'first_action_served'."""
    cases = outcomes.with_columns((pl.col("outcome") == SERVED_OUTCOME).alias("event"))
    return logrank_of(cases, "first_action_served", include_district, include_schools, dimensions)


SERVED_TEST_COLUMNS = ("school_year", "scope", "dimension", "test", "method", "statistic", "df", "p_value", "groups")
# Gray's test compares the cumulative incidence itself and is the comparison stated; the cause-specific log-rank
# (how fast cases still waiting are served) is kept beside it.
SERVED_TESTS = ("gray", "cause_specific_logrank")


def served_gray_of(
    outcomes: pl.DataFrame,
    include_district: bool = True,
    include_schools: bool = True,
    dimensions: Sequence[str] = ("concern_level", "school", *SUBGROUP_DIMENSIONS),
) -> pl.DataFrame:
    """Gray's (1988) test of equal cumulative incidence of being served across the groups of each dimension,
    closing unserved competing (metrics.competing_risks.gray_test): school_year, scope, dimension, method
    ('gray' or 'not_applicable'), statistic, df, p_value, groups (comma-separated)."""
    schema = {c: pl.String for c in ("school_year", "scope", "dimension", "method")} | {
        "statistic": pl.Float64,
        "df": pl.Int64,
        "p_value": pl.Float64,
        "groups": pl.String,
    }

    def gray(grouped: pl.DataFrame) -> pl.DataFrame:
        columns = ("school_year", "scope", pl.col("group").cast(pl.String), "duration_days", "outcome")
        return gray_table(grouped.select(*columns), ("school_year", "scope"))

    return _tests_by_dimension(outcomes, gray, schema, dimensions, include_district, include_schools, {})


def _tests_by_dimension(
    cases: pl.DataFrame,
    test: Callable[[pl.DataFrame], pl.DataFrame],
    schema: dict[str, Any],
    dimensions: Sequence[str],
    include_district: bool,
    include_schools: bool,
    constants: dict[str, str],
) -> pl.DataFrame:
    """One group-comparison test per dimension (`test` over the cases grouped by it), stacked in `schema`'s
    columns; `constants` are columns of one value (e.g. the event)."""
    parts = []
    for dimension in dimensions:
        tests = test(_grouped_cases(cases, dimension, include_district, include_schools))
        fixed = {**constants, "dimension": dimension}
        parts.append(
            tests.with_columns(
                *(pl.lit(value).alias(name) for name, value in fixed.items()), pl.col("groups").list.join(",")
            )
            .select(list(schema))
            .cast(schema)
        )
    table = pl.concat(parts) if parts else pl.DataFrame(schema=schema)
    return _scope_order(table).select(list(schema))


def served_group_tests_of(
    outcomes: pl.DataFrame,
    include_district: bool = True,
    include_schools: bool = True,
    dimensions: Sequence[str] = ("concern_level", "school", *SUBGROUP_DIMENSIONS),
) -> pl.DataFrame:
    """Both group comparisons of the cumulative incidence, SERVED_TEST_COLUMNS: `test` 'gray' (the stated
    comparison of cumulative incidence) and 'cause_specific_logrank', per school_year x scope x dimension."""
    gray = served_gray_of(outcomes, include_district, include_schools, dimensions).with_columns(
        pl.lit("gray").alias("test")
    )
    hazard = (
        served_hazard_logrank_of(outcomes, include_district, include_schools, dimensions)
        .drop("event")
        .with_columns(pl.lit("cause_specific_logrank").alias("test"))
    )
    both = pl.concat([gray.select(SERVED_TEST_COLUMNS), hazard.select(SERVED_TEST_COLUMNS)])
    dim_order = pl.col("dimension").replace_strict(
        {d: i for i, d in enumerate(dict.fromkeys([*dimensions]))}, return_dtype=pl.Int32
    )
    test_order = pl.col("test").replace_strict({t: i for i, t in enumerate(SERVED_TESTS)}, return_dtype=pl.Int32)
    return _scope_order(both, dim_order, test_order)


def served_group_tests(
    con: duckdb.DuckDBPyConnection,
    as_of: date | None = None,
    school_years: Years = None,
    school_ids: Schools = None,
    include_district: bool | None = None,
    include_schools: bool = True,
) -> pl.DataFrame:
    """time_to_intervention_ci_tests.csv: served_group_tests_of over every dimension of the warehouse."""
    as_of = resolve_as_of(con, as_of)
    scope = _scope(school_years, school_ids, include_district, include_schools)
    cases = case_timeline(con, as_of, school_years, school_ids, "first_action")
    return served_group_tests_of(served_outcomes(cases, as_of), scope["include_district"], include_schools)


def time_to_assessment(
    con: duckdb.DuckDBPyConnection,
    as_of: date | None = None,
    school_years: Years = None,
    school_ids: Schools = None,
    include_district: bool | None = None,
    include_schools: bool = True,
) -> pl.DataFrame:
    """Same columns as time_to_intervention, for days from report to assessed_date (n_events = assessed)."""
    return _survival_summary(con, "assessment", as_of, school_years, school_ids, include_district, include_schools)


def _grouped_cases(cases: pl.DataFrame, dimension: str, include_district: bool, include_schools: bool) -> pl.DataFrame:
    """Cases with `group` = their value of `dimension` (school, school_level, concern_level or a subgroup),
    per scope; 'school' and 'school_level' are compared within the district only."""
    column = "school_id" if dimension == "school" else dimension
    if column not in cases.columns:
        raise ValueError(f"survival: unknown dimension {dimension!r}")
    within_school = include_schools and dimension not in ("school", "school_level")
    scoped = _scoped_cases(cases, include_district, within_school)
    return scoped.with_columns(pl.col(column).alias("group")).filter(pl.col("group").is_not_null())


def survival_by_group(
    con: duckdb.DuckDBPyConnection,
    dimension: str,
    event: str = "first_action",
    as_of: date | None = None,
    school_years: Years = None,
    school_ids: Schools = None,
    include_district: bool | None = None,
    include_schools: bool = True,
) -> pl.DataFrame:
    """Kaplan-Meier summary of every case per school_year x scope x group of `dimension`:
    event, school_year, scope, dimension, group, n_cases, n_events, median_days, median_ci_low,
    median_ci_high, p90_days. Subgroup dimensions cover student subjects only."""
    scope = _scope(school_years, school_ids, include_district, include_schools)
    return summary_by_group(
        case_timeline(con, as_of, school_years, school_ids, event),
        dimension,
        event,
        scope["include_district"],
        include_schools,
    )


def summary_by_group(
    cases: pl.DataFrame,
    dimension: str,
    event: str = "first_action",
    include_district: bool = True,
    include_schools: bool = True,
) -> pl.DataFrame:
    """survival_by_group's table from rows of case_timeline already read."""
    cases = _grouped_cases(cases, dimension, include_district, include_schools)
    table = km_summary(
        cases.select("school_year", "scope", "group", "duration_days", "event"), by=("school_year", "scope", "group")
    )
    table = table.with_columns(pl.lit(event).alias("event"), pl.lit(dimension).alias("dimension"))
    return _scope_order(table, "group").select("event", "school_year", "scope", "dimension", "group", *_SUMMARY)


def survival_curve(
    con: duckdb.DuckDBPyConnection,
    school_year: str,
    scope: str = "district",
    dimension: str = "concern_level",
    event: str = "first_action",
    as_of: date | None = None,
) -> pl.DataFrame:
    """The Kaplan-Meier curve of each group, for a chart: group, days, at_risk, events, censored,
    survival, ci_low, ci_high (log-log band). scope is 'district' or a school_id."""
    cases = case_timeline(con, as_of, [school_year], None if scope == "district" else [scope], event)
    grouped = _grouped_cases(cases, dimension, True, False)
    parts = []
    for (group,), part in grouped.partition_by("group", as_dict=True, maintain_order=True).items():
        curve = kaplan_meier(part["duration_days"].to_list(), part["event"].to_list()).curve
        parts.append(curve.select(pl.lit(str(group)).alias("group"), pl.all()))
    if not parts:
        return kaplan_meier([], []).curve.select(pl.lit(None, pl.String).alias("group"), pl.all())
    return pl.concat(parts).sort("group", "days", maintain_order=True)


def logrank_tests(
    con: duckdb.DuckDBPyConnection,
    event: str = "first_action",
    as_of: date | None = None,
    school_years: Years = None,
    school_ids: Schools = None,
    include_district: bool | None = None,
    include_schools: bool = True,
    dimensions: Sequence[str] = ("concern_level", "school", *SUBGROUP_DIMENSIONS),
) -> pl.DataFrame:
    """Log-rank test of equal time to the event across the groups of each dimension (K-1 df):
    event, school_year, scope, dimension, method, statistic, df, p_value, groups (comma-separated)."""
    scope = _scope(school_years, school_ids, include_district, include_schools)
    return logrank_of(
        case_timeline(con, as_of, school_years, school_ids, event),
        event,
        scope["include_district"],
        include_schools,
        dimensions,
    )


def logrank_of(
    cases: pl.DataFrame,
    event: str = "first_action",
    include_district: bool = True,
    include_schools: bool = True,
    dimensions: Sequence[str] = ("concern_level", "school", *SUBGROUP_DIMENSIONS),
) -> pl.DataFrame:
    """logrank_tests' table from rows of case_timeline already read."""
    schema = {
        "event": pl.String,
        "school_year": pl.String,
        "scope": pl.String,
        "dimension": pl.String,
        "method": pl.String,
        "statistic": pl.Float64,
        "df": pl.Int64,
        "p_value": pl.Float64,
        "groups": pl.String,
    }

    def logrank(grouped: pl.DataFrame) -> pl.DataFrame:
        return logrank_table(grouped, ("school_year", "scope"), group="group")

    return _tests_by_dimension(cases, logrank, schema, dimensions, include_district, include_schools, {"event": event})


def timeliness(
    con: duckdb.DuckDBPyConnection,
    as_of: date | None = None,
    school_years: Years = None,
    school_ids: Schools = None,
    include_district: bool | None = None,
    include_schools: bool = True,
    settings: MetricSettings = DEFAULT_SETTINGS,
) -> pl.DataFrame:
    """Share of assessed cases with a first action within their level's target: school_year, scope,
    concern_level, target_days, n_met, n_missed, n_not_yet_due, share_met."""
    scope = _scope(school_years, school_ids, include_district, include_schools)
    return timeliness_of(
        case_timeline(con, as_of, school_years, school_ids), scope["include_district"], include_schools, settings
    )


def timeliness_of(
    cases: pl.DataFrame,
    include_district: bool = True,
    include_schools: bool = True,
    settings: MetricSettings = DEFAULT_SETTINGS,
) -> pl.DataFrame:
    """timeliness' table from rows of case_timeline (event first_action) already read."""
    cases = _scoped_cases(cases, include_district, include_schools)
    table = timeliness_by_level(
        cases.select("school_year", "scope", "concern_level", "duration_days", "event", "reported_date", "closed_date"),
        by=("school_year", "scope"),
        settings=settings,
    )
    order = pl.col("concern_level").replace_strict(_LEVEL_ORDER, default=9, return_dtype=pl.Int32)
    return _scope_order(table, order)


# -- conditional disparities ------------------------------------------------------------------------------------


def conditional_disparity_strata(
    con: duckdb.DuckDBPyConnection,
    school_years: Years = None,
    school_ids: Schools = None,
    include_district: bool | None = None,
    include_schools: bool = True,
    as_of: date | None = None,
) -> pl.DataFrame:
    """The 2x2 per stratum: school_year, scope, outcome, dimension, group, concern_level, a, b, c, d
    (group with / without the outcome, all other students' cases with / without)."""
    return run_query(
        con,
        mart_query(con, "conditional_disparity_strata"),
        as_of=as_of,
        **_scope(school_years, school_ids, include_district, include_schools),
    )


def conditional_disparities(
    con: duckdb.DuckDBPyConnection,
    school_years: Years = None,
    school_ids: Schools = None,
    include_district: bool | None = None,
    include_schools: bool = True,
    as_of: date | None = None,
    pool_years: bool = True,
    settings: MetricSettings = DEFAULT_SETTINGS,
) -> pl.DataFrame:
    """Mantel-Haenszel odds ratio of each case outcome, each group against all others, within levels of
    concern. One row per school_year x scope x outcome x dimension x group; with `pool_years`, also rows with
    school_year 'all', stratified by school year x level. Columns: CONDITIONAL_COLUMNS."""
    strata = conditional_disparity_strata(con, school_years, school_ids, include_district, include_schools, as_of)
    key = ["school_year", "scope", "outcome", "dimension", "group"]
    parts = [_mh_rows(strata, key, pl.col("concern_level"), "concern_level", settings)]
    if pool_years and strata["school_year"].n_unique() > 1:
        label = pl.format(
            "{}:{}",
            pl.col("school_year").cast(pl.String).fill_null("None"),
            pl.col("concern_level").cast(pl.String).fill_null("None"),
        )
        parts.append(
            _mh_rows(strata, key[1:], label, "school_year x concern_level", settings).with_columns(
                pl.lit(POOLED_YEARS).alias("school_year")
            )
        )
    table = pl.concat([part.select(list(_CONDITIONAL_SCHEMA)) for part in parts]).cast(_CONDITIONAL_SCHEMA)
    return _scope_order(table, "outcome", "dimension", "group")


def _mh_rows(
    strata: pl.DataFrame, key: list[str], label: pl.Expr, stratified_by: str, settings: MetricSettings
) -> pl.DataFrame:
    """mantel_haenszel per `key` over the strata rows, in the export's columns (school_year may be missing)."""
    frame = strata.select(*key, label.cast(pl.String).fill_null("None").alias("_label"), "a", "b", "c", "d")
    table = mantel_haenszel_table(frame, key, "_label", confidence_level=1 - settings.alpha)
    return table.with_columns(
        pl.lit(stratified_by).alias("stratified_by"),
        (pl.col("a") + pl.col("b")).alias("group_cases"),
        pl.col("a").alias("group_with_outcome"),
        (pl.col("c") + pl.col("d")).alias("other_cases"),
        pl.col("c").alias("other_with_outcome"),
        pl.col("strata_used").list.join(","),
        pl.col("strata_skipped").list.join(","),
    )


_CONDITIONAL_SCHEMA: dict[str, pl.DataType] = {
    "school_year": pl.String,
    "scope": pl.String,
    "outcome": pl.String,
    "dimension": pl.String,
    "group": pl.String,
    "stratified_by": pl.String,
    "group_cases": pl.Int64,
    "group_with_outcome": pl.Int64,
    "other_cases": pl.Int64,
    "other_with_outcome": pl.Int64,
    "strata_used": pl.String,
    "strata_skipped": pl.String,
    "odds_ratio": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "cmh": pl.Float64,
    "cmh_p": pl.Float64,
    "cmh_corrected": pl.Float64,
    "cmh_corrected_p": pl.Float64,
    "breslow_day": pl.Float64,
    "breslow_day_p": pl.Float64,
    "breslow_day_df": pl.Int64,
}
CONDITIONAL_COLUMNS = tuple(_CONDITIONAL_SCHEMA)


# -- process audit ----------------------------------------------------------------------------------------------


def process_audit(
    con: duckdb.DuckDBPyConnection,
    as_of: date | None = None,
    school_years: Years = None,
    school_ids: Schools = None,
    include_district: bool | None = None,
    include_schools: bool = True,
    settings: MetricSettings = DEFAULT_SETTINGS,
) -> pl.DataFrame:
    """Every AUDIT_INDICATORS entry per school_year x scope: school_year, scope, indicator, concern_level,
    numerator, denominator, label, nasp_step, nasp_step_name, direction, target, value, status."""
    counts = run_query(
        con,
        mart_query(con, "process_audit_counts"),
        as_of=resolve_as_of(con, as_of),
        review_within_days=settings.review_within_days,
        **_scope(school_years, school_ids, include_district, include_schools),
    )
    return evaluate_audit(counts, settings)
