"""Named queries: one SQL file per question under sql/, run with bound parameters.

Pages, exports and reports name a query ("status/entity_counts"); they never
hold SQL text. Parameters are always bound, never formatted into the text.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import duckdb
import polars as pl

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class UnknownQuery(KeyError):
    """A query name with no file under sql/."""


@lru_cache(maxsize=None)
def query_text(name: str) -> str:
    path = (SQL_DIR / f"{name}.sql").resolve()
    if SQL_DIR.resolve() not in path.parents or not path.exists():
        raise UnknownQuery(name)
    return path.read_text()


def run_query(con: duckdb.DuckDBPyConnection, name: str, **params) -> pl.DataFrame:
    """The named query's rows as a polars frame; only the parameters the query uses are bound."""
    text = query_text(name)
    bound = {k: v for k, v in params.items() if f"${k}" in text}
    return con.cursor().sql(text, params=bound or None).pl()
