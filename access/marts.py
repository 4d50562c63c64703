"""Which named query answers a mart read: the one over the load-time marts while they are current, else
its fallback twin, the same query computing the marts inline from the raw tables (access/queries.py;
same rows, slower), so warehouses loaded before the marts existed, or changed outside the loader, still
give the right numbers. The next load rebuilds the marts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import duckdb

from access.queries import FALLBACK
from data_contracts.marts import marts_current

# the reads of sql/marts/from_marts/ (current.sql is the check itself)
MART_READS = (
    "outcome_group_counts",
    "case_volumes",
    "case_volumes_whole_district",
    "case_timeline",
    "concern_level_counts",
    "conditional_disparity_strata",
    "process_audit_counts",
    "school_years",
)

_log = logging.getLogger(__name__)
_warned = False
# (connection, marts_current) while one_check holds: a page's data call asks once, not before every read
_checked: ContextVar[tuple[duckdb.DuckDBPyConnection, bool] | None] = ContextVar("marts_checked", default=None)


def mart_query(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """The query name to run for the mart read `name` (one of MART_READS) on this warehouse."""
    if name not in MART_READS:
        raise KeyError(f"mart_query: {name!r} has no mart read (one of {sorted(MART_READS)})")
    held = _checked.get()
    current = held[1] if held is not None and held[0] is con else marts_current(con)
    if current:
        return f"marts/from_marts/{name}"
    _warn_once()
    return FALLBACK + name


@contextmanager
def one_check(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Check the marts once for the reads of this block on `con` (each check counts five tables' rows)."""
    token = _checked.set((con, marts_current(con)))
    try:
        yield
    finally:
        _checked.reset(token)


def _warn_once() -> None:
    global _warned
    if not _warned:
        _warned = True
        _log.warning(
            "the warehouse's load-time marts are missing or stale: metrics read the raw tables "
            "(same numbers, slower); the next load, or `python -m pipelines marts`, rebuilds them"
        )
