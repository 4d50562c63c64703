"""The numbers of one board report: the counts of the year's one release (figures.release, the same
release the board's pages show), plus the statistics (medians, ratios) that may be printed beside them.

The release of the report's year is the page set and the report's own extra tables (cases by school level,
case outcomes by level, completeness, load quality), suppressed together; the trend reads each earlier
year's own release, as the pages do. A statistic is released only when the counts it is computed from are
published: see `RatioFinding` and `ReportData.median_days`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb
import polars as pl

from access import metric_tables as mt
from access.queries import run_query
from access.roles import Viewer, viewer
from access.suppression import SuppressedRelease, SuppressionSettings
from data_contracts.labels import OUTCOME_PHRASES
from figures.derived import audit_key
from figures.release import population_measure
from figures.released_served import report_served
from figures.stored import release_for
from metrics.competing_risks import MIN_CASES
from metrics.config import DEFAULT_SETTINGS, MetricSettings
from metrics.significance import conditional_significance, disparity_significance

TOTAL = "total"
DIMENSIONS = ("race_ethnicity", "disability_status", "sex", "english_learner", "econ_disadvantaged")
EQUITY_OUTCOMES = tuple(OUTCOME_PHRASES)
CASE_POPULATION = {"case_high_or_imminent", "case_exclusionary", "case_law_enforcement"}
TREND_YEARS = 5
AUDIT_TABLE_INDICATORS = (
    "team_composition",
    "concern_level_recorded",
    "disability_factors_considered",
    "written_plan_moderate_plus",
    "formal_monitoring_moderate_plus",
    "review_within_window_moderate_plus",
    "suspended_while_case_open",
)


class ReportDataError(ValueError):
    """The warehouse cannot give a report for the year asked (the message says what to do)."""


@dataclass(frozen=True)
class RatioFinding:
    """A group's risk against all other students, releasable because its counts are published."""

    outcome: str
    dimension: str
    group: str
    risk_ratio: float
    ci_low: float | None
    ci_high: float | None
    risk: float
    comparison_risk: float
    flagged: bool
    persistent: bool
    # flagged and passing the significance rule (metrics.significance.disparity_significance), as the Overview
    unlikely_to_be_chance: bool = False


@dataclass(frozen=True)
class ConditionalFinding:
    """Mantel-Haenszel odds ratio within levels of concern whose interval lies above 1."""

    outcome: str
    dimension: str
    group: str
    odds_ratio: float
    ci_low: float
    ci_high: float
    q_value: float  # Benjamini-Hochberg within metrics.significance.FAMILY, at most settings.alpha


@dataclass(frozen=True)
class RatioTrend:
    """A group flagged in the report's year: its ratio in every trend year as that year's own report publishes
    it (None: that report does not publish it), and the state's ratio in each reference year (public counts)."""

    outcome: str
    dimension: str
    group: str
    years: tuple[tuple[str, RatioFinding | None], ...]
    state: tuple[tuple[str, float, float | None, float | None], ...]  # reference year, ratio, 95% interval


@dataclass
class ReportData:
    district_name: str
    school_year: str
    previous_year: str | None
    as_of: date
    synthetic: bool
    trend_years: list[str]
    release: SuppressedRelease  # the report year's release (the report holds no exact count table)
    viewer: Viewer
    metric_settings: MetricSettings
    median_days: dict[str, tuple[float, float | None, float | None]] = field(default_factory=dict)
    # Days until half of all cases were served (Aalen-Johansen, closing unserved competing; None inside: never
    # reached), when the year's case total is published and at least MIN_CASES: a duration, not a count
    half_served: tuple[float | None] | None = None
    # (followed, served, share) of the assessed cases followed 30 days, from the release's served counts
    # (figures/released_served.py), when both are published: the same figure as the board's pages
    served_within: tuple[int, int, float] | None = None
    # level -> why its Kaplan-Meier median is not printed (no published count, under MIN_CASES, not reached)
    median_withheld: dict[str, str] = field(default_factory=dict)
    findings: list[RatioFinding] = field(default_factory=list)
    too_small: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    withheld_flags: list[tuple[str, str, str]] = field(default_factory=list)
    conditional: list[ConditionalFinding] = field(default_factory=list)
    audit_flags: dict[str, str] = field(default_factory=dict)
    benchmarks: object | None = None  # access.benchmarks.BenchmarkView, None when no CRDC is loaded
    trends: list[RatioTrend] = field(default_factory=list)  # flagged findings over the trend years
    releases: dict[str, SuppressedRelease] = field(default_factory=dict)  # each trend year's own release
    asked_as_of: date | None = None  # the as-of date asked for (None: the warehouse's), as the releases were built

    # -- reading the release ------------------------------------------------------------------------

    def _release_of(self, table: str) -> tuple[SuppressedRelease | None, str]:
        """`name` is a table of the report year's release, `name@2023-24` one of that year's release."""
        name, _, year = table.partition("@")
        if not year or year == self.school_year:
            return self.release, name
        return self.releases.get(year), name

    def cell(self, table: str, measure: str, **where: str) -> tuple[str, int | None]:
        """(display, published value or None) of one cell of a table of the release (`name@year`: of that
        year's release)."""
        release, name = self._release_of(table)
        if release is None or name not in release.tables:
            raise KeyError(f"{table}: no such table in the release")
        t = release.tables[name]
        mask = pl.lit(True)
        for col, value in where.items():
            mask = mask & (pl.col(col) == value)
        index = t.display.with_row_index("_i").filter(mask)["_i"].to_list()
        if len(index) != 1:
            raise KeyError(f"{table}: {where} matches {len(index)} rows")
        i = index[0]
        return t.display[measure][i], t.published[measure][i]

    def value(self, table: str, measure: str, **where: str) -> int | None:
        return self.cell(table, measure, **where)[1]

    def display(self, table: str, measure: str, **where: str) -> str:
        return self.cell(table, measure, **where)[0]

    def has_table(self, name: str) -> bool:
        release, table = self._release_of(name)
        return release is not None and table in release.tables

    def year_cell(self, year: str, measure: str) -> tuple[str, int | None]:
        """A year's whole-district `cases`, `enrolled` or `btam_referral` (students with a case), from that
        year's release: the tables the Case volumes and Equity pages print them in."""
        if measure == "cases":
            table, where = f"cases_total_{year}@{year}", {"breakdown": TOTAL}
        else:
            table, where = f"disp_btam_referral_sex@{year}", {"sex": TOTAL}
        if not self.has_table(table):
            return "0", 0
        return self.cell(table, measure, **where)

    def year_value(self, year: str, measure: str) -> int | None:
        return self.year_cell(year, measure)[1]

    def year_display(self, year: str, measure: str) -> str:
        return self.year_cell(year, measure)[0]

    def audit_cell(self, indicator: str, measure: str) -> tuple[str, int | None]:
        """An indicator's cases (`den`) or cases meeting it (`num`) from the Process audit page's table."""
        key = audit_key({"indicator": indicator, "concern_level": None})
        if not self.has_table(f"audit_district_{key}"):  # no case the indicator covers
            return "0", 0
        return self.cell(f"audit_district_{key}", f"{key}_{measure}", breakdown=TOTAL)

    @property
    def settings(self) -> SuppressionSettings:
        return self.release.settings


def previous_school_year(year: str) -> str:
    start = int(year[:4])
    return f"{start - 1}-{start % 100:02d}"


def check_year(year: str) -> str:
    """'2024-25' and nothing else: the spec's school-year code."""
    ok = (
        len(year) == 7
        and year[4] == "-"
        and year[:4].isdigit()
        and year[5:].isdigit()
        and int(year[5:]) == (int(year[:4]) + 1) % 100
    )
    if not ok:
        raise ReportDataError(f"school year {year!r} is not a school-year code like 2024-25")
    return year


# -- statistics released beside the counts ----------------------------------------------------------------------


def _published(data: ReportData, table: str, measure: str, **where: str) -> bool:
    try:
        return data.value(table, measure, **where) is not None
    except KeyError:
        return False


def _ratio_findings(data: ReportData, dispro: pl.DataFrame, settings: MetricSettings = DEFAULT_SETTINGS) -> None:
    for row in disparity_significance(dispro, settings).iter_rows(named=True):
        outcome, dim, group = row["outcome"], row["dimension"], row["group"]
        if outcome not in EQUITY_OUTCOMES or dim not in DIMENSIONS:
            continue
        den = population_measure(outcome)
        table, where = f"disp_{outcome}_{dim}", {dim: group}
        if not data.has_table(table):
            continue
        counts_published = _published(data, table, den, **where) and _published(data, table, outcome, **where)
        total_where = {k: TOTAL for k in where}
        total_published = _published(data, table, outcome, **total_where) and _published(
            data, table, den, **total_where
        )
        has_ratio = row["ratio_method"] == "risk_ratio" and row["risk_ratio"] is not None
        if has_ratio and counts_published and total_published:
            data.findings.append(
                RatioFinding(
                    outcome,
                    dim,
                    group,
                    row["risk_ratio"],
                    row["rr_ci_low"],
                    row["rr_ci_high"],
                    row["risk"],
                    row["comparison_risk"],
                    bool(row["flagged"]),
                    bool(row["persistent"]),
                    bool(row["unlikely_to_be_chance"]),
                )
            )
        else:
            if has_ratio and row["flagged"]:
                data.withheld_flags.append((outcome, dim, group))
            data.too_small.setdefault((outcome, dim), []).append(group)


def _conditional_findings(data: ReportData, cond: pl.DataFrame, settings: MetricSettings) -> None:
    """The differences that pass the significance rule (metrics.significance.conditional_significance: BH q
    of the Mantel-Haenszel test within its family, interval above 1, every count behind the ratio at least
    the minimum cell), the same rule the Discipline outcomes page flags by."""
    for row in conditional_significance(cond, settings).iter_rows(named=True):
        if row["odds_ratio"] is None or row["ci_low"] is None or row["ci_high"] is None:
            continue
        if row["unlikely_to_be_chance"] and row["ci_low"] > 1 and row["dimension"] in DIMENSIONS:
            data.conditional.append(
                ConditionalFinding(
                    row["outcome"],
                    row["dimension"],
                    row["group"],
                    row["odds_ratio"],
                    row["ci_low"],
                    row["ci_high"],
                    row["q_value"],
                )
            )


def _served(data: ReportData, tti_ci: pl.DataFrame) -> None:
    """How soon cases were served: the days until half of all cases were (a duration of the exact cases, shown
    when the year's published case total is at least MIN_CASES), and the share served within 30 days from the
    release's counts, as the board's Time to intervention page shows it."""
    cases = data.year_value(data.school_year, "cases")
    for row in tti_ci.filter(pl.col("concern_level") == "all").iter_rows(named=True):
        if cases is not None and cases >= MIN_CASES and row["ever_served"] is not None:
            data.half_served = (row["days_to_50"],)
    data.served_within = report_served(data.release)


def _medians(data: ReportData, tti: pl.DataFrame) -> None:
    """Median days of a level only when its case count is published and it has at least MIN_CASES cases
    (a median of a handful of cases, and its interval, say little); otherwise the reason."""
    for row in tti.iter_rows(named=True):
        level = row["concern_level"]
        if level == "all":
            cases = data.year_value(data.school_year, "cases")
        else:
            cases = data.value("concern_outcomes", "assessed_cases", concern_level=level)
        if cases is None:
            data.median_withheld[level] = "case count hidden to protect small numbers"
        elif not cases:
            data.median_withheld[level] = "no cases"
        elif row["n_cases"] < MIN_CASES:
            data.median_withheld[level] = f"withheld: fewer than {MIN_CASES} cases"
        elif row["median_days"] is None:
            data.median_withheld[level] = "not reached"
        else:
            data.median_days[level] = (row["median_days"], row["median_ci_low"], row["median_ci_high"])


# -- state and peer benchmarks (CRDC) ----------------------------------------------------------------------------


def report_benchmarks(con, year: str):
    """The CRDC state and peer benchmarks for `year` (access.benchmarks.BenchmarkView), None without CRDC."""
    from access.benchmarks import benchmark_view

    view = benchmark_view(con, year)
    return None if view.status == "no_crdc" else view


# -- the whole ----------------------------------------------------------------------------------------------------


def warehouse_state(con) -> tuple[bool, list[str]]:
    row = run_query(con, "quality/warehouse_state").row(0, named=True)
    return bool(row["synthetic"]), mt.school_years(con)


def load_report_data(
    con: duckdb.DuckDBPyConnection,
    school_year: str,
    district_name: str,
    as_of: date | None = None,
    settings: MetricSettings = DEFAULT_SETTINGS,
    suppression: SuppressionSettings | None = None,
    trends: bool = True,
) -> ReportData:
    """The year's release and each earlier trend year's (as the board's pages show them), and the
    statistics the published counts allow. `trends=False` leaves out the flagged ratios' earlier years
    (each read from that year's own report)."""
    year = check_year(school_year)
    board = viewer("board")
    synthetic, years = warehouse_state(con)
    if not years:
        raise ReportDataError(
            "the warehouse holds no school year yet; load enrollment and cases first (python -m pipelines load ...)"
        )
    if year not in years:
        raise ReportDataError(
            f"the warehouse holds no enrollment or case for {year}; it holds "
            f"{', '.join(years)}. Load that year's files first, or pick one of those years"
        )
    asked_as_of = as_of  # None: the warehouse's as-of date, the pages' (and the stored releases')
    as_of = mt.resolve_as_of(con, as_of)
    known = [y for y in years if y <= year]
    trend = sorted(known)[-TREND_YEARS:]
    suppression = suppression or SuppressionSettings()
    releases = {y: release_for(con, y, None, asked_as_of, settings, suppression) for y in dict.fromkeys([year, *trend])}
    release = releases[year]
    benchmarks = report_benchmarks(con, year)
    previous = previous_school_year(year)
    data = ReportData(
        district_name,
        year,
        previous if previous in trend else None,
        as_of,
        synthetic,
        trend,
        release,
        board,
        settings,
        benchmarks=benchmarks,
        releases=releases,
        asked_as_of=asked_as_of,
    )
    _medians(data, mt.time_to_intervention(con, as_of, [year], include_schools=False))
    _served(data, mt.time_to_intervention_ci(con, as_of, [year], include_schools=False))
    _ratio_findings(data, mt.disproportionality(con, [year], include_schools=False, settings=settings), settings)
    _conditional_findings(
        data,
        mt.conditional_disparities(
            con, [year], include_schools=False, as_of=as_of, pool_years=False, settings=settings
        ),
        settings,
    )
    if trends:
        _ratio_trends(data, con, settings, suppression)
    return data


# -- flagged ratios over the years ---------------------------------------------------------------------------------


def _ratio_trends(data: ReportData, con, settings: MetricSettings, suppression: SuppressionSettings | None) -> None:
    """Each flagged finding over the trend years, every earlier year's ratio as that year's report publishes
    it (its own release: a ratio another year's report withholds stays withheld), beside the state's."""
    from figures.idc import state_ratios

    flagged = [f for f in data.findings if f.flagged]
    if not flagged:
        return
    published: dict[str, dict[tuple[str, str, str], RatioFinding]] = {
        data.school_year: {(f.outcome, f.dimension, f.group): f for f in data.findings}
    }
    for y in data.trend_years:
        if y != data.school_year:
            earlier = load_report_data(
                con, y, data.district_name, data.asked_as_of, settings, suppression, trends=False
            ).findings
            published[y] = {(f.outcome, f.dimension, f.group): f for f in earlier}
    state = state_ratios(mt.state_reference_counts(con), settings)
    for f in flagged:
        key = (f.outcome, f.dimension, f.group)
        rows = state.filter(
            (pl.col("outcome") == f.outcome) & (pl.col("dimension") == f.dimension) & (pl.col("group") == f.group)
        ).sort("school_year")
        data.trends.append(
            RatioTrend(
                *key,
                tuple((y, published[y].get(key)) for y in data.trend_years),
                tuple(
                    (r["school_year"], r["risk_ratio"], r["rr_ci_low"], r["rr_ci_high"])
                    for r in rows.iter_rows(named=True)
                ),
            )
        )
