"""Named queries: one SQL file per question under sql/, run with bound parameters.

Pages, exports and reports name a query ("status/entity_counts"); they never
hold SQL text. Parameters are always bound, never formatted into the text.

A read over the load-time marts (sql/marts/from_marts/<name>.sql) has a twin for a warehouse whose
marts are missing or stale: "marts/fallback/<name>" is the same text with every `mart.<t>` read
replaced by the select that builds it (sql/marts/build/<t>.sql), so it gives the same rows from the
raw tables without a second copy of the query to keep in step.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import duckdb
import polars as pl

from data_contracts.sql_files import read_sql

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
FALLBACK = "marts/fallback/"
_MART_READ = re.compile(r"\bmart\.(\w+)(\s+as\s+\w+)?", re.IGNORECASE)
_MART_BUILD = re.compile(r"create\s+or\s+replace\s+table\s+mart\.(\w+)\s+as\s+(.*?);?\s*$", re.IGNORECASE | re.DOTALL)


class UnknownQuery(KeyError):
    """A query name with no file under sql/."""


@cache
def query_text(name: str) -> str:
    if name.startswith(FALLBACK):
        return _marts_inlined(query_text("marts/from_marts/" + name.removeprefix(FALLBACK)))
    path = (SQL_DIR / f"{name}.sql").resolve()
    if SQL_DIR.resolve() not in path.parents or not path.exists():
        raise UnknownQuery(name)
    return read_sql(path)


def _marts_inlined(text: str) -> str:
    """`text` with each `mart.<t>` read (outside comments) replaced by `(<t>'s build select) as <alias or t>`."""

    def inline(match: re.Match) -> str:
        return f"({_mart_select(match[1])}){match[2] or ' as ' + match[1]}"

    lines = []
    for line in text.splitlines():
        code, dashes, comment = line.partition("--")
        lines.append(_MART_READ.sub(inline, code) + dashes + comment)
    return "\n".join(lines)


def _mart_select(mart: str) -> str:
    build = _MART_BUILD.search(query_text(f"marts/build/{mart}"))
    if build is None or build[1] != mart:
        raise UnknownQuery(f"marts/build/{mart}: no 'create or replace table mart.{mart} as ...'")
    return build[2]


def run_query(con: duckdb.DuckDBPyConnection, name: str, **params) -> pl.DataFrame:
    """The named query's rows as a polars frame; only the parameters the query uses are bound."""
    text = query_text(name)
    bound = {k: v for k, v in params.items() if f"${k}" in text}
    return con.cursor().sql(text, params=bound or None).pl()
