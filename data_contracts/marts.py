"""The load-time marts' own contract: their version and the check that they still describe the warehouse.

The loader builds the marts (pipelines/marts.py) and the pages read them (access/marts.py); both sides
need the same version and the same test of currency, so it is written down once, here, below both.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import duckdb

from data_contracts.sql_files import read_sql

CURRENT_SQL = Path(__file__).resolve().parent.parent / "sql" / "marts" / "from_marts" / "current.sql"
# Bump when a build file changes shape or meaning: older marts are then read as stale, never misread.
MART_VERSION = 1


def marts_current(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the marts exist and still describe this warehouse (version, last load, row counts)."""
    cursor = con.cursor()  # readers share one connection: never leave a result open on it
    try:
        rows = cursor.execute(_current_sql(), {"mart_version": MART_VERSION}).fetchall()
    except duckdb.CatalogException:  # no mart.build_info: a warehouse loaded before the marts existed
        return False
    return bool(rows and rows[0][0])


@lru_cache(maxsize=1)
def _current_sql() -> str:
    return read_sql(CURRENT_SQL)
