"""python -m pipelines export --db FILE --out DIR [--as-of DATE] [--audience board --year Y]: the metric
exports as CSV. `--audience board` writes one school year's published figures instead, read from that year's
suppressed release (figures/released_export.py), for an audience that may not see small counts.

disproportionality.csv, time_to_intervention.csv and time_to_intervention_ci.csv (extension 1.1) follow
spec/interchange.md exactly; idc_measures.csv is a compatible extension (docs/INTERCHANGE.md); every other
file is documented in docs/METHODOLOGY.md ("Metric exports"). Numbers are written unrounded, an
undefined number is blank, booleans are true/false. The district's exports come from access.metric_tables.
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from access import metric_tables as mt
from metrics.config import DEFAULT_SETTINGS, MetricSettings
from metrics.disproportionality import EXPORT_COLUMNS

# disproportionality.csv: the spec's columns, in the spec's order
DISPROPORTIONALITY_COLUMNS = EXPORT_COLUMNS[: EXPORT_COLUMNS.index("flagged") + 1]
# disproportionality_detail.csv: the row's key, then what this project adds to the spec
DISPROPORTIONALITY_DETAIL_COLUMNS = (
    *EXPORT_COLUMNS[: EXPORT_COLUMNS.index("group") + 1],
    *EXPORT_COLUMNS[EXPORT_COLUMNS.index("flagged") + 1 :],
)

EXPORT_FILES = (
    "disproportionality.csv",
    "disproportionality_detail.csv",
    "time_to_intervention.csv",
    "time_to_intervention_ci.csv",
    "time_to_intervention_ci_tests.csv",
    "time_to_assessment.csv",
    "survival_by_group.csv",
    "logrank.csv",
    "timeliness.csv",
    "case_volumes.csv",
    "concern_levels.csv",
    "concern_level_tests.csv",
    "conditional_disparities.csv",
    "process_audit.csv",
    "idc_measures.csv",
    "identification.csv",
)
SURVIVAL_DIMENSIONS = ("school", "school_level", *mt.SUBGROUP_DIMENSIONS)


class ExportError(Exception):
    """A problem the user can fix (no warehouse, a bad date); printed without a traceback."""


def write_exports(
    con: duckdb.DuckDBPyConnection, out: Path, as_of: date | None = None, settings: MetricSettings = DEFAULT_SETTINGS
) -> dict[str, int]:
    """Write every export file into `out`; returns rows written per file."""
    out.mkdir(parents=True, exist_ok=True)
    as_of = mt.resolve_as_of(con, as_of)
    disp = mt.disproportionality(con, settings=settings)
    survival = pl.concat(
        [
            mt.survival_by_group(con, dimension, event, as_of)
            for event in mt.SURVIVAL_EVENTS
            for dimension in SURVIVAL_DIMENSIONS
        ]
    )
    tables = {
        "disproportionality.csv": disp.select(DISPROPORTIONALITY_COLUMNS),
        "disproportionality_detail.csv": disp.select(DISPROPORTIONALITY_DETAIL_COLUMNS),
        "time_to_intervention.csv": mt.time_to_intervention(con, as_of),
        "time_to_intervention_ci.csv": mt.time_to_intervention_ci(con, as_of),
        "time_to_intervention_ci_tests.csv": mt.served_group_tests(con, as_of),
        "time_to_assessment.csv": mt.time_to_assessment(con, as_of),
        "survival_by_group.csv": survival,
        "logrank.csv": pl.concat([mt.logrank_tests(con, event, as_of) for event in mt.SURVIVAL_EVENTS]),
        "timeliness.csv": mt.timeliness(con, as_of, settings=settings),
        "case_volumes.csv": mt.case_volumes(con, as_of=as_of),
        "concern_levels.csv": mt.concern_levels(con, as_of=as_of),
        "concern_level_tests.csv": mt.concern_level_tests(con, as_of=as_of, settings=settings),
        "conditional_disparities.csv": mt.conditional_disparities(con, as_of=as_of, settings=settings),
        "process_audit.csv": mt.process_audit(con, as_of, settings=settings),
        "idc_measures.csv": mt.idc_measures(con, settings=settings),
        "identification.csv": mt.identification(con, settings=settings),
    }
    written = {}
    for name in EXPORT_FILES:
        _write_csv(tables[name], out / name)
        written[name] = tables[name].height
    return written


def _write_csv(frame: pl.DataFrame, path: Path) -> None:
    """Unrounded numbers (shortest round-trip form), blank for undefined, true/false; atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    frame.write_csv(tmp, null_value="", include_header=True)
    tmp.replace(path)


def run(args) -> int:
    """CLI entry: exit 0 on success, 2 for a problem the user can fix."""
    started = time.perf_counter()
    try:
        as_of = _parse_date(args.as_of)
        db = Path(args.db)
        if not db.exists():
            raise ExportError(f"no warehouse at {db}: load data first (python -m pipelines load ...) or give --db")
        con = duckdb.connect(str(db), read_only=True)
        try:
            audience = getattr(args, "audience", "district") or "district"
            if audience == "district":
                written = write_exports(con, Path(args.out), as_of)
            else:
                written = _write_for_audience(con, Path(args.out), getattr(args, "year", None), as_of)
            used = mt.resolve_as_of(con, as_of)
        finally:
            con.close()
    except ExportError as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 2
    except duckdb.IOException as exc:
        print(
            f"export: cannot open the warehouse {args.db} read-only: {exc}. If a load is running, "
            "wait for it and try again",
            file=sys.stderr,
        )
        return 2
    for name, rows in written.items():
        print(f"{name}: {rows:,} rows")
    print(
        f"export: {len(written)} files in {args.out} (as of {used.isoformat()}) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return 0


def _write_for_audience(con: duckdb.DuckDBPyConnection, out: Path, year: str | None, as_of: date | None) -> dict:
    """The board's export of one school year: the published figures of that year's release (figures/)."""
    from figures.released_export import write_suppressed_exports

    years = mt.school_years(con)
    if not years:
        raise ExportError("the warehouse holds no school year yet: load data first")
    year = year or years[-1]
    if year not in years:
        raise ExportError(f"--year {year!r} is not a school year of this warehouse; it holds {', '.join(years)}")
    return write_suppressed_exports(con, out, year, as_of)


def _parse_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ExportError(f"--as-of {text!r} is not a date YYYY-MM-DD") from None
