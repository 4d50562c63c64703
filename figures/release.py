"""The one suppressed release of a school year and school scope: every count the analytic pages, the board
report and the suppressed exports print, suppressed together (access.suppression), so the board report and the
board's pages for a year show the same numbers and a cell hidden in one output is hidden in all.

`release_tables` lists the count tables: the page set (`page_tables`) and, for the whole district, the report's
own extra tables (`report_tables`: cases by school level, case outcomes by level, completeness, load quality,
CRDC comparison counts). A measure name means one quantity across the release (`enrolled`, `btam_referral` =
students with a case, `assessed_cases` = cases with a level of concern), so two tables printing the same
population and measure print the same cell. `build_release` suppresses them. Each school year is a release of
its own tables only; an output comparing years reads each year's release.

No Streamlit: the app layer caches, the entry points store releases at load time (figures/stored.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import duckdb
import polars as pl

from access import metric_tables as mt
from access.queries import run_query
from access.release_cells import CellId, DeclaredSum, cell_id
from access.suppression import CountTable, SuppressedRelease, SuppressionSettings, suppress_release
from data_contracts.interchange import CONCERN_LEVELS
from metrics.config import DEFAULT_SETTINGS, MetricSettings

Schools = tuple[str, ...] | None
TOTAL = "total"
VOLUME_BREAKDOWNS = ("month", "report_source", "report_channel", "concern_type", "behavior")
GROUP_DIMENSIONS = ("race_ethnicity", "disability_status", "sex", "english_learner", "econ_disadvantaged")
# Case outcomes within a level of concern, as a suppressed viewer (the board) sees them: by race and by
# disability, the two comparisons NASP guidance asks teams to watch. Finer splits of a few dozen cases a year
# are nearly all hidden in a public release and are the costliest part of its disclosure audit.
PUBLIC_OUTCOME_DIMENSIONS = ("race_ethnicity", "disability_status")
# Per-school tables join a suppressed release only up to this many schools in view: a table of hundreds of
# mostly small school counts (a state, a very large district) makes the disclosure audit take many minutes.
# Such a view publishes district-wide figures; school figures are left to the schools' own report cards.
MAX_PUBLIC_SCHOOLS = 50
# Time to intervention as a suppressed viewer sees it: of the cases reported at least this many days before the
# as-of date (followed that long), those with a first intervention within it, by level and by the two groups
# NASP guidance asks teams to watch (access.metric_tables.served_within_counts).
SERVED_HORIZON = 30
SERVED_DIMENSIONS = ("concern_level", *PUBLIC_OUTCOME_DIMENSIONS)
# Measures of the report's case-outcome table: assessed cases of a level and those with each outcome.
CASE_OUTCOME_MEASURES = ("without_support", "with_exclusion_or_placement", "with_law_enforcement")


def served_measures(dimension: str) -> tuple[str, str]:
    """The two counts of a served-within table: the cases followed for SERVED_HORIZON days and those served
    within it. Cases by level of concern are the assessed cases; by a student group, the student cases."""
    population = "assessed_cases" if dimension == "concern_level" else "student_cases"
    return f"followed_{SERVED_HORIZON}d_{population}", f"served_{SERVED_HORIZON}d_{population}"


def served_table(dimension: str) -> str:
    return f"served_{SERVED_HORIZON}d_by_{dimension}"


def prior_year(year: str) -> str:
    """'2024-25' -> '2023-24'."""
    start = int(year[:4]) - 1
    return f"{start}-{(start + 1) % 100:02d}"


def earlier_years(year: str, count: int) -> list[str]:
    """The `count` school years ending with `year`, oldest first."""
    years = [year]
    for _ in range(count - 1):
        years.insert(0, prior_year(years[0]))
    return years


def with_total(
    frame: pl.DataFrame,
    dims: Sequence[str],
    measures: Sequence[str],
    domains: Mapping[str, Sequence[str]] | None = None,
) -> pl.DataFrame:
    """Add the margins of a one- or two-way count table as rows labelled 'total'.

    `domains` lists every value a dimension takes in the release; missing rows are filled with 0, so every
    table partitions a total into the same groups (the suppression engine derives relations from them)."""
    frame = frame.select(*dims, *measures).with_columns(pl.col(d).cast(pl.String) for d in dims)
    wanted = {d: list(domains[d]) for d in dims if domains and d in domains}
    if wanted:
        columns = [
            pl.DataFrame(
                {d: [str(v) for v in wanted.get(d) or frame[d].unique(maintain_order=True).to_list()]},
                schema={d: pl.String},
            )
            for d in dims
        ]
        grid = columns[0]
        for column in columns[1:]:
            grid = grid.join(column, how="cross")
        extra = frame.join(grid, on=list(dims), how="anti")
        frame = pl.concat([grid.join(frame, on=list(dims), how="left"), extra], how="vertical_relaxed").with_columns(
            pl.col(m).fill_null(0) for m in measures
        )
    parts = [frame]
    for dim in dims:
        others = [d for d in dims if d != dim]
        agg = [pl.col(m).sum().cast(pl.Int64) for m in measures]
        margin = frame.group_by(others, maintain_order=True).agg(agg) if others else frame.select(agg)
        parts.append(margin.with_columns(pl.lit(TOTAL).alias(dim)).select(*dims, *measures))
    if len(dims) == 2:
        parts.append(
            frame.select([pl.col(m).sum().cast(pl.Int64) for m in measures])
            .with_columns(*(pl.lit(TOTAL).alias(d) for d in dims))
            .select(*dims, *measures)
        )
    out = pl.concat(parts, how="vertical_relaxed")
    return out.with_columns(pl.col(m).cast(pl.Int64) for m in measures)


def population_measure(outcome: str) -> str:
    """The measure name of the population an outcome's n counts: enrolled students, students with a case
    (`btam_referral`, so it is the very cell the referral tables print), IDEA students."""
    if outcome.startswith("case_"):
        return "btam_referral"  # students with a case: the same cells as btam_referral's counts
    if outcome.startswith("idea_"):
        return "idea_students"
    return "enrolled"


def page_tables(
    con: duckdb.DuckDBPyConnection,
    year: str,
    school_ids: Schools,
    as_of: date | None = None,
    settings: MetricSettings = DEFAULT_SETTINGS,
) -> list[CountTable]:
    """Every count table an analytic page prints for one school year and school scope: the page set."""
    ids = None if school_ids is None else list(school_ids)
    this = {"school_year": year}
    tables: list[CountTable] = []
    vol = mt.case_volumes(con, [year], ids, include_district=True, as_of=as_of)
    district = vol.filter(pl.col("scope") == "district")
    disp = mt.disproportionality(con, [year], ids, include_district=True, include_schools=False, settings=settings)
    dom: dict[str, list[str]] = {"concern_level": list(CONCERN_LEVELS)}
    dom["school"] = sorted(
        vol.filter((pl.col("scope") != "district") & (pl.col("school_year") == year))["scope"].unique().to_list()
    )
    for dim in (*GROUP_DIMENSIONS,):
        dom[dim] = sorted(
            disp.filter((pl.col("outcome") == "btam_referral") & (pl.col("dimension") == dim))["group"]
            .unique()
            .to_list()
        )
    total = district.filter((pl.col("school_year") == year) & (pl.col("breakdown") == "total"))
    if total.height:
        tables.append(
            CountTable(
                f"cases_total_{year}",
                total.select(pl.lit(TOTAL).alias("breakdown"), "cases"),
                ("breakdown",),
                ("cases",),
                filters=this,
            )
        )
    now = district.filter(pl.col("school_year") == year)
    for b in VOLUME_BREAKDOWNS:
        part = now.filter(pl.col("breakdown") == b).select(pl.col("category").alias(b), "cases")
        if part.height:
            tables.append(
                CountTable(f"cases_by_{b}", with_total(part, (b,), ("cases",), dom), (b,), ("cases",), filters=this)
            )
    schools = vol.filter(
        (pl.col("scope") != "district") & (pl.col("school_year") == year) & (pl.col("breakdown") == "total")
    ).select(pl.col("scope").alias("school"), "cases", "enrolled")
    per_school = len(dom["school"]) <= MAX_PUBLIC_SCHOOLS
    if schools.height and per_school:
        whole = now.filter(pl.col("breakdown") == "total")
        rest = {
            "cases": int(whole["cases"].sum()) - int(schools["cases"].sum()),
            "enrolled": int(whole["enrolled"].sum()) - int(schools["enrolled"].sum()),
        }
        if rest["cases"] > 0 or rest["enrolled"] > 0:  # cases recorded without a known school
            schools = pl.concat(
                [schools, pl.DataFrame({"school": ["unknown"], **{k: [max(v, 0)] for k, v in rest.items()}})],
                how="vertical_relaxed",
            )
        # Not cases among the enrolled: a case may be about a member of staff or a visitor, and be recorded
        # at a site with no students enrolled. Two counts, each suppressed; the page divides only published ones.
        tables.append(
            CountTable(
                "cases_by_school",
                with_total(schools, ("school",), ("cases", "enrolled"), dom),
                ("school",),
                ("cases", "enrolled"),
                filters=this,
            )
        )

    levels = mt.concern_levels(con, [year], ids, include_district=True, as_of=as_of)
    part = levels.filter(
        (pl.col("school_year") == year) & (pl.col("scope") == "district") & (pl.col("dimension") == "all")
    )
    if part.height and part["n"].sum():
        tables.append(
            CountTable(
                f"levels_all_{year}",
                with_total(part, ("concern_level",), ("n",), dom).rename({"n": "assessed_cases"}),
                ("concern_level",),
                ("assessed_cases",),
                filters=this,
            )
        )
    cur = levels.filter(pl.col("school_year") == year)
    by_school = cur.filter((pl.col("scope") != "district") & (pl.col("dimension") == "all")).select(
        pl.col("scope").alias("school"), "concern_level", "n"
    )
    if by_school.height and by_school["n"].sum() and per_school:
        tables.append(
            CountTable(
                "levels_by_school",
                with_total(by_school, ("school", "concern_level"), ("n",), dom).rename({"n": "assessed_cases"}),
                ("school", "concern_level"),
                ("assessed_cases",),
                filters=this,
            )
        )
    for dim in GROUP_DIMENSIONS:
        part = cur.filter((pl.col("scope") == "district") & (pl.col("dimension") == dim)).select(
            pl.col("group").alias(dim), "concern_level", "n"
        )
        if part.height and part["n"].sum():
            tables.append(
                CountTable(
                    f"levels_by_{dim}",
                    with_total(part, (dim, "concern_level"), ("n",), dom).rename({"n": "assessed_student_cases"}),
                    (dim, "concern_level"),
                    ("assessed_student_cases",),
                    filters=this,
                )
            )

    tl = mt.timeliness(con, as_of, [year], ids, include_district=True, include_schools=False, settings=settings)
    if tl.height:
        tables.append(
            CountTable(
                "timeliness",
                with_total(
                    tl.select(
                        "concern_level", pl.col("n_met").alias("timely_met"), pl.col("n_missed").alias("timely_missed")
                    ),
                    ("concern_level",),
                    ("timely_met", "timely_missed"),
                    dom,
                ),
                ("concern_level",),
                ("timely_met", "timely_missed"),
                filters=this,
            )
        )

    resolved = mt.resolve_as_of(con, as_of)
    outcomes = mt.served_outcomes(mt.case_timeline(con, resolved, [year], ids), resolved)
    for dim in SERVED_DIMENSIONS:
        followed, served = served_measures(dim)
        part = mt.served_within_counts(outcomes, dim, resolved, SERVED_HORIZON).select(
            pl.col("group").alias(dim), pl.col("followed").alias(followed), pl.col("served_within").alias(served)
        )
        if part.height:
            tables.append(
                CountTable(
                    served_table(dim),
                    with_total(part, (dim,), (followed, served), dom),
                    (dim,),
                    (served,),
                    followed,
                    filters=this,
                )
            )

    for (outcome, dim), part in disp.partition_by(["outcome", "dimension"], as_dict=True, maintain_order=True).items():
        den = population_measure(outcome)
        if dim == "race_x_disability":
            split = part.with_columns(
                pl.col("group").str.split_exact(":", 1).struct.rename_fields(["race_ethnicity", "disability_status"])
            ).unnest("group")
            frame = with_total(
                split.select("race_ethnicity", "disability_status", pl.col("n").alias(den), pl.col("k").alias(outcome)),
                ("race_ethnicity", "disability_status"),
                (den, outcome),
                dom,
            )
            tables.append(
                CountTable(
                    f"disp_{outcome}_{dim}",
                    frame,
                    ("race_ethnicity", "disability_status"),
                    (outcome,),
                    den,
                    filters=this,
                )
            )
        else:
            frame = with_total(
                part.select(pl.col("group").alias(dim), pl.col("n").alias(den), pl.col("k").alias(outcome)),
                (dim,),
                (den, outcome),
                dom,
            )
            tables.append(CountTable(f"disp_{outcome}_{dim}", frame, (dim,), (outcome,), den, filters=this))

    strata = mt.conditional_disparity_strata(
        con, [year], ids, include_district=True, include_schools=False, as_of=as_of
    )
    for (outcome, dim), part in strata.partition_by(
        ["outcome", "dimension"], as_dict=True, maintain_order=True
    ).items():
        if dim not in PUBLIC_OUTCOME_DIMENSIONS:
            continue
        frame = with_total(
            part.select(
                pl.col("group").alias(dim),
                "concern_level",
                (pl.col("a") + pl.col("b")).alias("assessed_student_cases"),
                pl.col("a").alias(f"{outcome}_cases"),
            ),
            (dim, "concern_level"),
            ("assessed_student_cases", f"{outcome}_cases"),
            dom,
        )
        tables.append(
            CountTable(
                f"outcome_{outcome}_{dim}",
                frame,
                (dim, "concern_level"),
                (f"{outcome}_cases",),
                "assessed_student_cases",
                filters=this,
            )
        )

    audit = mt.process_audit(con, as_of, [year], ids, include_district=True, settings=settings)
    cells = {c: v for t in tables for c, v in _cell_values(t).items()}
    # The process audit page prints district figures only (per-school rows are for case-level viewers).
    for row in audit.filter(pl.col("scope") == "district").iter_rows(named=True):
        key = row["indicator"] + (f"_{row['concern_level']}" if row["concern_level"] else "")
        frame = pl.DataFrame(
            {"breakdown": [TOTAL], f"{key}_den": [row["denominator"]], f"{key}_num": [row["numerator"]]}
        )
        sums = _audit_sums(row, key, year, cells)
        tables.append(
            CountTable(
                f"audit_district_{key}", frame, ("breakdown",), (f"{key}_num",), f"{key}_den", filters=this, sums=sums
            )
        )
    return tables


def _cell_values(table: CountTable) -> dict[CellId, int]:
    """Every cell of one count table with its count (the ids the release model gives them)."""
    out = {}
    for row in table.frame.iter_rows(named=True):
        population = {**table.filters, **{d: row[d] for d in table.dimensions if str(row[d]) != table.total_label}}
        for measure in table.measures:
            out[cell_id(population, measure)] = int(row[measure])
    return out


# The level counts (all assessed cases, district) each process-audit count is, by METHODOLOGY's definitions:
# a `_den` or `_num` of an indicator -> the levels whose assessed cases it counts (None: all of them).
AUDIT_LEVEL_SUMS: dict[str, tuple[str, ...] | None] = {
    "team_composition_den": None,
    "concern_level_recorded_num": None,
    "written_plan_moderate_plus_den": ("moderate", "high", "imminent"),
    "formal_monitoring_moderate_plus_den": ("moderate", "high", "imminent"),
    "law_enforcement_low_moderate_den": ("low", "moderate"),
    **{f"exclusion_or_placement_change_{level}_den": (level,) for level in CONCERN_LEVELS},
}


def _audit_sums(row: Mapping, key: str, year: str, cells: Mapping[CellId, int]) -> tuple[DeclaredSum, ...]:
    """The audit row's counts as the level counts (or students with a case) they equal, declared so that the
    suppression protects them together: hiding a level's count while printing the audit denominator that
    equals it (or a sum with it) would print it. Declared only where the counts agree in this warehouse (a
    case assessed but without a level, or a student with a case but not enrolled, makes them differ)."""
    this = {"school_year": year}
    sums = []
    values = {f"{key}_den": int(row["denominator"]), f"{key}_num": int(row["numerator"])}
    for measure, value in values.items():
        if measure in AUDIT_LEVEL_SUMS:
            levels = AUDIT_LEVEL_SUMS[measure]
            parts = (
                (cell_id(this, "assessed_cases"),)
                if levels is None
                else tuple(cell_id({**this, "concern_level": lv}, "assessed_cases") for lv in levels)
            )
        elif measure == "suspended_while_case_open_den":
            parts = (cell_id(this, "btam_referral"),)
        else:
            continue
        if all(p in cells for p in parts) and sum(cells[p] for p in parts) == value:
            sums.append(DeclaredSum(cell_id(this, measure), parts))
    return tuple(sums)


# -- the report's extra tables (the whole district only) ----------------------------------------------------------


def _frame(rows: list[dict], schema: dict) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema, orient="row")


def _cases_by_school_level(con, year: str, as_of: date | None) -> CountTable:
    volumes = mt.case_volumes(con, [year], include_schools=False, as_of=as_of)
    volumes = volumes.filter(pl.col("school_year") == year)
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


def _case_outcomes(con, year: str, as_of: date | None) -> CountTable:
    """Assessed cases of each level (the same cells as the Concern levels page's) and those without a
    support action, with an exclusion or change of placement, with law enforcement."""
    frame = run_query(con, "report/case_outcomes_by_level", as_of=mt.resolve_as_of(con, as_of), school_year=year)
    frame = frame.with_columns(
        pl.col("leveled_cases").alias("assessed_cases"),
        (pl.col("leveled_cases") - pl.col("with_support")).alias("without_support"),
    )
    measures = ("assessed_cases", *CASE_OUTCOME_MEASURES)
    frame = with_total(frame, ("concern_level",), measures, {"concern_level": list(CONCERN_LEVELS)})
    return CountTable(
        "concern_outcomes",
        frame,
        ("concern_level",),
        CASE_OUTCOME_MEASURES,
        "assessed_cases",
        filters={"school_year": year},
    )


def _completeness(con, year: str, as_of: date | None) -> CountTable:
    frame = run_query(con, "report/data_completeness", as_of=mt.resolve_as_of(con, as_of), school_year=year).select(
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


def report_tables(con: duckdb.DuckDBPyConnection, year: str, as_of: date | None = None) -> list[CountTable]:
    """The board report's tables the pages do not print, for the whole district: they join the same release,
    so a cell they share with a page (a year's cases, a level's assessed cases) is one decision."""
    return [
        _cases_by_school_level(con, year, as_of),
        _case_outcomes(con, year, as_of),
        _completeness(con, year, as_of),
        _load_quality(con),
    ]


# -- the release --------------------------------------------------------------------------------------------------


def release_tables(
    con: duckdb.DuckDBPyConnection,
    year: str,
    school_ids: Schools = None,
    as_of: date | None = None,
    settings: MetricSettings = DEFAULT_SETTINGS,
) -> list[CountTable]:
    """Every count table of the release of (`year`, `school_ids`): the page set, and for the whole district
    (school_ids None) the board report's extra tables. `as_of` None is the warehouse's as-of date."""
    tables = page_tables(con, year, school_ids, as_of, settings)
    if school_ids is None:
        tables += report_tables(con, year, as_of)
    return tables


def build_release(
    con: duckdb.DuckDBPyConnection,
    year: str,
    school_ids: Schools = None,
    as_of: date | None = None,
    settings: MetricSettings = DEFAULT_SETTINGS,
    suppression: SuppressionSettings | None = None,
) -> SuppressedRelease:
    """The suppressed release of one school year and school scope, as every suppressed output shows it.

    The builder behind figures.stored: outputs call `release_for`, which reads the release a load stored, or
    the one this process built for the same warehouse file, and only then builds (tests/test_release_sums.py
    checks that nothing else calls this)."""
    return suppress_release(release_tables(con, year, school_ids, as_of, settings), suppression)
