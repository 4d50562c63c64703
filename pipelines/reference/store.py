"""Writing reference tables into the warehouse with the loader's atomic build-and-swap."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from data_contracts.sql_files import read_sql
from pipelines import atomic
from pipelines.marts import ensure_marts
from pipelines.warehouse import REPO_ROOT, create_schema

REFERENCE_DDL = REPO_ROOT / "sql" / "warehouse" / "reference_tables.sql"
STATE_REFERENCE_DDL = REPO_ROOT / "sql" / "warehouse" / "state_reference.sql"


def new_load_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def create_reference_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The public schema, state_reference and the reference tables, where missing."""
    create_schema(con)
    con.execute(read_sql(STATE_REFERENCE_DDL))
    con.execute(read_sql(REFERENCE_DDL))


def already_loaded(db_path: Path, source: str, digests: list[str], school_year: str, state: str | None) -> bool:
    """Every file of this import was loaded before for the same year and state."""
    if not db_path.exists():
        return False
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        present = {r[0] for r in con.sql("select table_name from duckdb_tables()").fetchall()}
        if "reference_loads" not in present:
            return False
        rows = con.execute(
            "select distinct sha256 from reference_loads where source = $s and school_year = $y "
            "and state is not distinct from $st",
            {"s": source, "y": school_year, "st": state},
        ).fetchall()
        return set(digests) <= {r[0] for r in rows}
    finally:
        con.close()


def write_atomically(
    db_path: str | Path,
    load_id: str,
    write: Callable[[duckdb.DuckDBPyConnection], None],
    lock_wait_seconds: float = 30.0,
) -> None:
    """Run `write` on a private copy of the warehouse and swap it in; a failure leaves the old one serving."""
    db_path = Path(db_path)
    with atomic.exclusive_lock(db_path, lock_wait_seconds):
        atomic.remove_stale_builds(db_path)
        with atomic.building(db_path, load_id) as con:
            create_reference_tables(con)
            write(con)
            ensure_marts(con)  # reference tables feed no mart; this brings an older warehouse's up to date


def replace_state_reference(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """Replace state_reference rows by key with those of temp table `table` (school_year, outcome,
    dimension, group, n, k); every slice given replaces the whole slice it names."""
    con.execute(f"""
        delete from state_reference
        where (school_year, outcome, dimension) in (select distinct (school_year, outcome, dimension) from {table})""")
    return con.execute(f"""
        insert into state_reference (school_year, outcome, dimension, "group", n, k)
        select school_year, outcome, dimension, "group", n, k from {table}""").fetchall()[0][0]
