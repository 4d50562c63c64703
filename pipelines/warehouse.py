"""The warehouse file: creating its schema, opening it for reading, and atomic swaps.

DuckDB allows one writer or many readers. A load builds the next version in a
sibling file and `os.replace`s it over the current one, so readers (which open
read-only and reopen when the inode changes) never see half a load.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from data_contracts.sql_files import read_sql

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_SQL = REPO_ROOT / "sql" / "warehouse" / "schema.sql"
DEFAULT_DB = REPO_ROOT / "data" / "warehouse.duckdb"

PUBLIC_TABLES = (
    "schools",
    "enrollment",
    "btam_cases",
    "case_actions",
    "case_reviews",
    "discipline_actions",
    "load_ledger",
    "load_quarantine",
)


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table of the public schema that does not exist yet."""
    con.execute(read_sql(SCHEMA_SQL))


def create_empty(path: str | os.PathLike) -> Path:
    """A new, empty warehouse file with the public schema (used by tests and first loads)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        create_schema(con)
        con.execute("checkpoint")
    finally:
        con.close()
    os.chmod(path, 0o600)  # student-level records: the owner's alone (as every published version, atomic.py)
    return path


def connect_read_only(path: str | os.PathLike) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=True)


def info(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The warehouse_info key/value pairs (synthetic flag, spec version, as-of date)."""
    return dict(con.sql("select key, value from warehouse_info").fetchall())


def is_synthetic(con: duckdb.DuckDBPyConnection) -> bool:
    return info(con).get("synthetic") == "true"
