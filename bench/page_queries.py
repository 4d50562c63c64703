"""Every dashboard page's data calls for typical filters, cold and warm, vs a plain grouped count.

Typical filters: the latest school year, the whole district. "Cold" is the first
call on a freshly opened warehouse in this process; "warm" repeats the call on
the open connection (no Streamlit cache in front, so this is the work a cache
miss costs). The yardstick is DuckDB's plainest grouped count over the same
enrollment rows.
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from access import metric_tables as mt
from access.warehouse_status import read_status


def _latest(con) -> list[str]:
    return mt.school_years(con)[-1:]


def _two_latest(con) -> list[str]:
    return mt.school_years(con)[-2:]


# page -> the calls it makes for the district view of the latest year
PAGE_CALLS: dict[str, list[Callable[[duckdb.DuckDBPyConnection], object]]] = {
    "overview": [
        lambda con: mt.case_volumes(con, school_years=_two_latest(con), include_schools=False),
        lambda con: mt.time_to_intervention(con, school_years=_two_latest(con), include_schools=False),
        lambda con: mt.process_audit(con, school_years=_latest(con), include_schools=True),
    ],
    "case_volumes": [lambda con: mt.case_volumes(con)],
    "concern_levels": [
        lambda con: mt.concern_levels(con, school_years=_latest(con)),
        lambda con: mt.concern_level_tests(con, school_years=_latest(con)),
    ],
    "time_to_intervention": [
        lambda con: mt.survival_curve(con, _latest(con)[0]),
        lambda con: mt.timeliness(con, school_years=_latest(con)),
        lambda con: mt.survival_by_group(con, "race_ethnicity", school_years=_latest(con), include_schools=False),
    ],
    "equity": [lambda con: mt.disproportionality(con, school_years=_latest(con), include_schools=False)],
    "discipline_outcomes": [
        lambda con: mt.conditional_disparities(con, school_years=_latest(con), include_schools=False),
    ],
    "process_audit": [lambda con: mt.process_audit(con, school_years=_latest(con))],
    "data_quality": [lambda con: read_status(con)],
}

PLAIN_COUNT = "select school_id, count(*) from enrollment group by school_id"


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def measure(db: Path, runs: int = 10) -> list[dict]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        plain = [_timed(lambda: con.sql(PLAIN_COUNT).fetchall()) for _ in range(runs)]
        plain_ms = statistics.median(plain)
    finally:
        con.close()
    figures = []
    for page, calls in PAGE_CALLS.items():
        con = duckdb.connect(str(db), read_only=True)
        try:
            cold = _timed(lambda: [call(con) for call in calls])
            warm = [_timed(lambda: [call(con) for call in calls]) for _ in range(runs)]
        finally:
            con.close()
        p95 = _percentile(warm, 0.95)
        figures.append({"page": page, "cold_ms": round(cold), "warm_p50_ms": round(statistics.median(warm)),
                        "warm_p95_ms": round(p95), "plain_count_ms": round(plain_ms, 1),
                        "ratio_p95_to_count": round(p95 / plain_ms, 1) if plain_ms else None})
    return figures
