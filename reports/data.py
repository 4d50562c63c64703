"""The numbers of one board report: every count in one suppressed release, plus the statistics
(medians, ratios) that may be printed beside the published counts.

Counts are cells of `access.suppression.suppress_release`, built as partitions with total rows so the
engine knows every additive relation: levels of concern add to all assessed cases, timeliness statuses
add to the cases of a level, groups add to all students. A measure name means one quantity across the
whole release (`enrolled`, `btam_referral` = students with a case, `leveled_cases` = assessed cases
with a level of concern), so a cell hidden in one table is hidden in all. A statistic is released only
when the counts it is computed from are published: see `RatioFinding` and `ReportData.median_days`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb
import polars as pl

from access import metric_tables as mt
from access.queries import run_query
from access.roles import Viewer, viewer
from access.suppression import CountTable, SuppressedRelease, SuppressionSettings, suppress_release
from metrics.competing_risks import MIN_CASES
from metrics.config import DEFAULT_SETTINGS, MetricSettings
from metrics.significance import conditional_significance
from reports.labels import OUTCOMES

TOTAL = "total"
DIMENSIONS = ("race_ethnicity", "disability_status", "sex", "english_learner", "econ_disadvantaged")
EQUITY_OUTCOMES = tuple(OUTCOMES)
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
    release: SuppressedRelease
    tables: list[CountTable]
    viewer: Viewer
    metric_settings: MetricSettings
    median_days: dict[str, tuple[float, float | None, float | None]] = field(default_factory=dict)
    # level -> (days_to_50 or None when never reached, served_by_30, ever_served): Aalen-Johansen, closing
    # unserved competing (time_to_intervention_ci.csv); only levels with a published count of 10 or more
    served: dict[str, tuple[float | None, float, float]] = field(default_factory=dict)
    # level -> why its Kaplan-Meier median is not printed (no published count, under MIN_CASES, not reached)
    median_withheld: dict[str, str] = field(default_factory=dict)
    findings: list[RatioFinding] = field(default_factory=list)
    too_small: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    withheld_flags: list[tuple[str, str, str]] = field(default_factory=list)
    conditional: list[ConditionalFinding] = field(default_factory=list)
    audit_flags: dict[str, str] = field(default_factory=dict)
    benchmarks: object | None = None  # access.benchmarks.BenchmarkView, None when no CRDC is loaded
    trends: list[RatioTrend] = field(default_factory=list)  # flagged findings over the trend years

    # -- reading the release ------------------------------------------------------------------------

    def cell(self, table: str, measure: str, **where: str) -> tuple[str, int | None]:
        """(display, published value or None) of one cell of a table of the release."""
        t = self.release.tables[table]
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
        return name in self.release.tables

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


def _frame(rows: list[dict], schema: dict) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema, orient="row")


# -- the tables of the release ----------------------------------------------------------------------------------


def _volume_trend(con, years: list[str], as_of: date) -> CountTable:
    volumes = mt.case_volumes(con, years, include_schools=False, as_of=as_of).filter(pl.col("breakdown") == "total")
    groups = mt.outcome_group_counts(con, years, include_schools=False).filter(
        (pl.col("outcome") == "btam_referral") & (pl.col("dimension") == "sex")
    )
    rows = []
    for year in years:
        g = groups.filter(pl.col("school_year") == year)
        v = volumes.filter(pl.col("school_year") == year)
        rows.append(
            {
                "school_year": year,
                "enrolled": int(g["n"].sum()),
                "cases": int(v["cases"].sum()) if v.height else 0,
                "btam_referral": int(g["k"].sum()),
            }
        )
    frame = _frame(rows, {"school_year": pl.String, "enrolled": pl.Int64, "cases": pl.Int64, "btam_referral": pl.Int64})
    return CountTable("volume_trend", frame, ("school_year",), ("cases", "btam_referral"), "enrolled")


def _cases_by_school_level(con, year: str, as_of: date) -> CountTable:
    volumes = mt.case_volumes(con, [year], include_schools=False, as_of=as_of)
    levels = volumes.filter(pl.col("breakdown") == "school_level").select(
        pl.col("category").alias("school_level"), pl.col("cases").cast(pl.Int64)
    )
    total = int(volumes.filter(pl.col("breakdown") == "total")["cases"].sum())
    missing = total - int(levels["cases"].sum())
    rows = levels.to_dicts()
    if missing:
        rows.append({"school_level": "unknown", "cases": missing})
    rows.append({"school_level": TOTAL, "cases": total})
    frame = _frame(rows, {"school_level": pl.String, "cases": pl.Int64})
    return CountTable("cases_by_school_level", frame, ("school_level",), ("cases",), filters={"school_year": year})


def _concern_outcomes(con, year: str, as_of: date, name: str) -> CountTable:
    frame = run_query(con, "report/case_outcomes_by_level", as_of=as_of, school_year=year)
    frame = frame.with_columns((pl.col("leveled_cases") - pl.col("with_support")).alias("without_support"))
    measures = ["leveled_cases", "without_support", "with_exclusion_or_placement", "with_law_enforcement"]
    total = frame.select(pl.lit(TOTAL).alias("concern_level"), *[pl.col(m).sum().cast(pl.Int64) for m in measures])
    frame = pl.concat([frame.select("concern_level", *[pl.col(m).cast(pl.Int64) for m in measures]), total])
    return CountTable(
        name, frame, ("concern_level",), tuple(measures[1:]), "leveled_cases", filters={"school_year": year}
    )


def _timeliness(con, year: str, as_of: date, leveled_total: int, settings: MetricSettings) -> CountTable:
    """Assessed cases within their level's target for a first action, and the rest (missed, or recent and
    still inside the window). Per level the split would force hiding the level counts themselves, so the
    report gives per-level medians and this one district split."""
    t = mt.timeliness(con, as_of, [year], include_schools=False, settings=settings)
    met = int(t["n_met"].sum()) if t.height else 0
    rows = [
        {"timeliness": "met", "leveled_cases": met},
        {"timeliness": "not_met", "leveled_cases": leveled_total - met},
        {"timeliness": TOTAL, "leveled_cases": leveled_total},
    ]
    frame = _frame(rows, {"timeliness": pl.String, "leveled_cases": pl.Int64})
    return CountTable("timeliness", frame, ("timeliness",), ("leveled_cases",), filters={"school_year": year})


def _equity_tables(counts: pl.DataFrame, year: str) -> list[CountTable]:
    """One table per outcome and dimension, every group of the enrolled population listed (0 where the
    case population has no student of it), so the same dimension has the same groups in every table."""
    tables = []
    universe = (
        counts.filter(pl.col("outcome") == "btam_referral").select("dimension", "group").unique(maintain_order=True)
    )
    for outcome in EQUITY_OUTCOMES:
        denominator = "btam_referral" if outcome in CASE_POPULATION else "enrolled"
        part = universe.join(
            counts.filter(pl.col("outcome") == outcome).select("dimension", "group", "n", "k"),
            on=["dimension", "group"],
            how="left",
        ).with_columns(pl.col("n", "k").fill_null(0))
        for dim in DIMENSIONS:
            g = part.filter(pl.col("dimension") == dim)
            if g.is_empty():
                continue
            rows = [
                {dim: grp, denominator: int(n), outcome: int(k)}
                for grp, n, k in g.select("group", "n", "k").iter_rows()
            ]
            rows.append({dim: TOTAL, denominator: int(g["n"].sum()), outcome: int(g["k"].sum())})
            frame = _frame(rows, {dim: pl.String, denominator: pl.Int64, outcome: pl.Int64})
            tables.append(
                CountTable(f"{outcome}_by_{dim}", frame, (dim,), (outcome,), denominator, filters={"school_year": year})
            )
    return tables


def _audit_table(con, year: str, as_of: date, settings: MetricSettings) -> CountTable:
    """Per indicator: the cases it covers and the cases short of practice (higher-is-better) or with
    the outcome (lower-is-better). Publishing the shortfall keeps "all 294 had it" readable: a count
    of 0 is shown, where the full count would be hidden as a small remainder."""
    audit = mt.process_audit(con, as_of, [year], include_schools=False, settings=settings)
    rows = []
    for key in AUDIT_TABLE_INDICATORS:
        r = audit.filter(pl.col("indicator") == key)
        num, den = (int(r["numerator"].sum()), int(r["denominator"].sum())) if r.height else (0, 0)
        direction = r["direction"][0] if r.height else "higher_is_better"
        shown = den - num if direction == "higher_is_better" else num
        rows.append({"indicator": key, "audit_cases": den, "audit_count": shown})
    frame = _frame(rows, {"indicator": pl.String, "audit_cases": pl.Int64, "audit_count": pl.Int64})
    return CountTable(
        "process_audit", frame, ("indicator",), ("audit_count",), "audit_cases", filters={"school_year": year}
    )


def _completeness(con, year: str, as_of: date) -> CountTable:
    frame = run_query(con, "report/data_completeness", as_of=as_of, school_year=year).select(
        "check_name", pl.col("checked_cases").cast(pl.Int64), pl.col("missing").cast(pl.Int64)
    )
    return CountTable(
        "completeness", frame, ("check_name",), ("missing",), "checked_cases", filters={"school_year": year}
    )


def _load_quality(con) -> CountTable:
    frame = run_query(con, "report/load_quality").select(
        "entity", pl.col("rows_read").cast(pl.Int64), pl.col("rows_quarantined").cast(pl.Int64)
    )
    total = frame.select(
        pl.lit(TOTAL).alias("entity"),
        pl.col("rows_read").sum().cast(pl.Int64),
        pl.col("rows_quarantined").sum().cast(pl.Int64),
    )
    frame = (
        pl.concat([frame, total])
        if frame.height
        else total.with_columns(pl.lit(0, pl.Int64).alias("rows_read"), pl.lit(0, pl.Int64).alias("rows_quarantined"))
    )
    return CountTable(
        "load_quality", frame, ("entity",), ("rows_quarantined",), "rows_read", filters={"release": "loads"}
    )


# -- statistics released beside the counts ----------------------------------------------------------------------


def _published(data: ReportData, table: str, measure: str, **where: str) -> bool:
    try:
        return data.value(table, measure, **where) is not None
    except KeyError:
        return False


def _ratio_findings(data: ReportData, dispro: pl.DataFrame) -> None:
    for row in dispro.iter_rows(named=True):
        outcome, dim, group = row["outcome"], row["dimension"], row["group"]
        if outcome not in EQUITY_OUTCOMES or dim not in DIMENSIONS:
            continue
        den = "btam_referral" if outcome in CASE_POPULATION else "enrolled"
        table, where = f"{outcome}_by_{dim}", {dim: group}
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
    """Cumulative incidence of a first intervention per level, when its case count is published and the
    estimates exist (10 cases or more)."""
    for row in tti_ci.iter_rows(named=True):
        level = row["concern_level"]
        if level == "all":
            cases = data.value("volume_trend", "cases", school_year=data.school_year)
        else:
            cases = data.value("concern_outcomes", "leveled_cases", concern_level=level)
        if cases and row["ever_served"] is not None:
            data.served[level] = (row["days_to_50"], row["served_by_30"], row["ever_served"])


def _medians(data: ReportData, tti: pl.DataFrame) -> None:
    """Median days of a level only when its case count is published and it has at least MIN_CASES cases
    (a median of a handful of cases, and its interval, say little); otherwise the reason."""
    for row in tti.iter_rows(named=True):
        level = row["concern_level"]
        if level == "all":
            cases = data.value("volume_trend", "cases", school_year=data.school_year)
        else:
            cases = data.value("concern_outcomes", "leveled_cases", concern_level=level)
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


def benchmark_tables(con, year: str, tables: list[CountTable], view) -> list[CountTable]:
    """The district's own counts by race for the CRDC outcomes the release lacks (`<outcome>_by_race_ethnicity`),
    so the "How we compare" section prints only published cells. Every race of the enrolled population is listed."""
    if view is None:
        return []
    from access.benchmarks import BENCHMARK_OUTCOMES

    have = {t.name for t in tables}
    counts = mt.outcome_group_counts(con, [year], include_schools=False).filter(pl.col("dimension") == "race_ethnicity")
    universe = counts.filter(pl.col("outcome") == "btam_referral").select("group").unique(maintain_order=True)
    out = []
    for outcome in BENCHMARK_OUTCOMES:
        if f"{outcome}_by_race_ethnicity" in have or universe.is_empty():
            continue
        part = universe.join(
            counts.filter(pl.col("outcome") == outcome).select("group", "n", "k"), on="group", how="left"
        ).with_columns(pl.col("n", "k").fill_null(0))
        rows = [{"race_ethnicity": g, "enrolled": int(n), outcome: int(k)} for g, n, k in part.iter_rows()]
        rows.append({"race_ethnicity": TOTAL, "enrolled": int(part["n"].sum()), outcome: int(part["k"].sum())})
        frame = _frame(rows, {"race_ethnicity": pl.String, "enrolled": pl.Int64, outcome: pl.Int64})
        out.append(
            CountTable(
                f"{outcome}_by_race_ethnicity",
                frame,
                ("race_ethnicity",),
                (outcome,),
                "enrolled",
                filters={"school_year": year},
            )
        )
    return out


# -- the whole ----------------------------------------------------------------------------------------------------


def warehouse_state(con) -> tuple[bool, list[str]]:
    row = run_query(con, "quality/warehouse_state").row(0, named=True)
    return bool(row["synthetic"]), mt.school_years(con)


def build_tables(
    con: duckdb.DuckDBPyConnection, year: str, as_of: date, trend: list[str], settings: MetricSettings
) -> list[CountTable]:
    """Every count table of the report, in the order of the report."""
    tables = [
        _volume_trend(con, trend, as_of),
        _cases_by_school_level(con, year, as_of),
        _concern_outcomes(con, year, as_of, "concern_outcomes"),
    ]
    previous = previous_school_year(year)
    if previous in trend:
        tables.append(_concern_outcomes(con, previous, as_of, "concern_outcomes_previous"))
    leveled_total = int(tables[2].frame.filter(pl.col("concern_level") == TOTAL)["leveled_cases"][0])
    tables.append(_timeliness(con, year, as_of, leveled_total, settings))
    counts = mt.outcome_group_counts(con, [year], include_schools=False)
    tables += _equity_tables(counts, year)
    tables += [_audit_table(con, year, as_of, settings), _completeness(con, year, as_of), _load_quality(con)]
    return tables


def load_report_data(
    con: duckdb.DuckDBPyConnection,
    school_year: str,
    district_name: str,
    as_of: date | None = None,
    settings: MetricSettings = DEFAULT_SETTINGS,
    suppression: SuppressionSettings | None = None,
    trends: bool = True,
) -> ReportData:
    """Query, suppress as the board (always suppressed), and keep the statistics the counts allow.
    `trends=False` leaves out the flagged ratios' earlier years (each read from that year's own report)."""
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
    as_of = mt.resolve_as_of(con, as_of)
    known = [y for y in years if y <= year]
    trend = sorted(known)[-TREND_YEARS:]
    tables = build_tables(con, year, as_of, trend, settings)
    benchmarks = report_benchmarks(con, year)
    tables += benchmark_tables(con, year, tables, benchmarks)
    release = suppress_release(tables, suppression or SuppressionSettings())
    previous = previous_school_year(year)
    data = ReportData(
        district_name,
        year,
        previous if previous in trend else None,
        as_of,
        synthetic,
        trend,
        release,
        tables,
        board,
        settings,
        benchmarks=benchmarks,
    )
    _medians(data, mt.time_to_intervention(con, as_of, [year], include_schools=False))
    _served(data, mt.time_to_intervention_ci(con, as_of, [year], include_schools=False))
    _ratio_findings(data, mt.disproportionality(con, [year], include_schools=False, settings=settings))
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
                con, y, data.district_name, data.as_of, settings, suppression, trends=False
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
