"""Every dashboard page's data calls for typical filters, cold and warm, vs a plain grouped count.

Typical filters: the latest school year, the whole district. "Cold" is the first
call on a freshly opened warehouse in this process; "warm" repeats the call on
the open connection (no Streamlit cache in front, so this is the work a cache
miss costs). The yardstick is DuckDB's plainest grouped count over the same
enrollment rows.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

# ui.page_data's functions are Streamlit-cached; here they run without a server, which Streamlit would
# warn about for every one of them as it is imported (the logger is named by the module, so no import is needed).
logging.getLogger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)

from access import metric_tables as mt  # noqa: E402
from access.warehouse_status import read_status  # noqa: E402
from metrics.config import DEFAULT_SETTINGS  # noqa: E402
from ui import page_data  # noqa: E402


def _latest(con) -> str:
    return mt.school_years(con)[-1]


def _page(name: str, *args: object) -> Callable[[duckdb.DuckDBPyConnection, str], object]:
    """One of the page's own data calls (ui.page_data.<name>) without Streamlit's cache in front, for the
    latest school year (given) and the whole district. In `args`, YEAR stands for that year and YEARS for the
    persistence window the Equity page reads."""

    def call(con: duckdb.DuckDBPyConnection, year: str) -> object:
        stands_for = {
            id(YEAR): year,
            id(YEARS): tuple(page_data.earlier_years(year, DEFAULT_SETTINGS.persistence_years)),
        }
        values = [stands_for.get(id(a), a) for a in args]
        return getattr(page_data, name).__wrapped__("bench", *values)

    return call


YEAR, YEARS = object(), object()

# page -> the ui.page_data calls it makes for the district view of the latest year (pages/*.py)
PAGE_CALLS: dict[str, list[Callable[[duckdb.DuckDBPyConnection, str], object]]] = {
    "overview": [_page("overview", YEAR, None)],
    "case_volumes": [_page("case_volumes", YEAR, None), _page("case_volume_trend", None)],
    "concern_levels": [_page("concern_levels", YEAR, None), _page("concern_level_tests", YEAR, None)],
    "time_to_intervention": [_page("intervention_times", YEAR, None, "race_ethnicity")],
    "equity": [_page("disproportionality", YEARS, None)],
    "discipline_outcomes": [
        _page("outcome_strata", YEAR, None),
        _page("conditional_disparities", YEAR, None),
        _page("process_audit", YEAR, None),
    ],
    "process_audit": [_page("process_audit", YEAR, None)],
    "data_quality": [lambda con, year: read_status(con)],
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
        page_data_con, page_data._con = page_data._con, (lambda: con)  # the pages' reader, on this file
        try:
            year = _latest(con)  # the page has it from the sidebar before it asks for data
            cold = _timed(lambda: [call(con, year) for call in calls])
            warm = [_timed(lambda: [call(con, year) for call in calls]) for _ in range(runs)]
        finally:
            page_data._con = page_data_con
            con.close()
        p95 = _percentile(warm, 0.95)
        figures.append(
            {
                "page": page,
                "cold_ms": round(cold),
                "warm_p50_ms": round(statistics.median(warm)),
                "warm_p95_ms": round(p95),
                "plain_count_ms": round(plain_ms, 1),
                "ratio_p95_to_count": round(p95 / plain_ms, 1) if plain_ms else None,
            }
        )
    return figures
