"""python -m pipelines check: verify the warehouse file and say in words what is wrong with it.

Checks, in order, stopping at the first that makes the rest meaningless:
1. the file exists, opens read-only and is not held by a read-write session; a WAL beside it is named;
2. every block of every table reads back (a full scan of every column: DuckDB verifies each block's
   checksum as it reads it);
3. the public schema is all there (tables and columns of sql/warehouse/schema.sql);
4. keys are unique, the ledger reconciles (rows_read = rows_loaded + rows_quarantined), and no stored row
   breaks a cross-table rule (what export, report and the pages would reject);
5. the file is private (mode 0600) and the kept versions (rollback) open.

Exit codes: 0 nothing wrong, 1 problems in the content (listed), 5 the file cannot be read.
"""

from __future__ import annotations

import argparse
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from data_contracts.interchange import ENTITIES
from pipelines import crosschecks, sessions, versions
from pipelines.warehouse import PUBLIC_TABLES, create_schema

EXIT_OK, EXIT_PROBLEMS, EXIT_MISSING, EXIT_WAREHOUSE = 0, 1, 4, 5


@dataclass
class CheckResult:
    problems: list[str] = field(default_factory=list)  # what is wrong, one sentence each
    notes: list[str] = field(default_factory=list)  # what is right or worth knowing
    unreadable: bool = False


def check(db_path: Path) -> CheckResult:
    """Every check above; never raises for a damaged or foreign file."""
    result = CheckResult()
    if not db_path.exists():
        result.unreadable = True
        result.problems.append(f"there is no warehouse at {db_path}")
        return result
    wal = sessions.wal_of(db_path)
    if wal.exists():
        result.notes.append(
            f"{wal.name} holds writes of a session that ended without a checkpoint (or is still open); the next "
            "load folds them in"
        )
    try:
        con = duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error as exc:
        result.unreadable = True
        result.problems.append(sessions.explain(db_path, exc))
        return result
    try:
        tables = _read_every_block(con, db_path, result)
        if not result.unreadable:
            _check_schema(con, tables, result)
        if not result.unreadable and not result.problems:
            _check_content(con, result)
    finally:
        con.close()
    mode = stat.S_IMODE(db_path.stat().st_mode)
    if mode & 0o077:
        result.problems.append(
            f"{db_path} can be read by other users (mode {mode:o}); it holds student-level records: "
            f"`chmod 600 {db_path}`"
        )
    for kept in versions.kept(db_path):
        words = versions.describe(kept)
        (result.problems if words.startswith("cannot be read") else result.notes).append(
            f"kept version {kept.stem}: {words}"
        )
    return result


def _read_every_block(con: duckdb.DuckDBPyConnection, db_path: Path, result: CheckResult) -> list[str]:
    try:
        found = con.sql("select schema_name, table_name from duckdb_tables() where not temporary").fetchall()
    except duckdb.Error as exc:
        result.unreadable = True
        result.problems.append(sessions.explain(db_path, exc))
        return []
    for schema, table in found:
        try:
            rows = con.sql(f'select count(*), bit_xor(hash(columns(*))) from "{schema}"."{table}"').fetchall()[0][0]
        except duckdb.Error as exc:
            result.unreadable = True
            first = str(exc).strip().splitlines()[0][:200]
            result.problems.append(
                f"table {table} cannot be read back ({first}): {db_path} is damaged. `python -m pipelines rollback "
                f"--list --db {db_path}` shows the kept versions to go back to"
            )
            continue
        if table in ENTITIES and schema == "main":
            result.notes.append(f"{table}: {rows:,} rows read back")
    return [table for schema, table in found if schema == "main"]


def _check_schema(con: duckdb.DuckDBPyConnection, tables: list[str], result: CheckResult) -> None:
    expected = duckdb.connect()
    try:
        create_schema(expected)
        want = expected.sql(
            "select table_name, column_name from duckdb_columns() where schema_name = 'main'"
        ).fetchall()
    finally:
        expected.close()
    have = set(
        con.sql(
            "select table_name, column_name from duckdb_columns() where schema_name = 'main' and database_name = current_database()"
        ).fetchall()
    )
    for table in PUBLIC_TABLES:
        if table not in tables:
            result.problems.append(f"table {table} is missing: this is not a warehouse written by `pipelines load`")
            continue
        missing = [column for t, column in want if t == table and (t, column) not in have]
        if missing:
            result.problems.append(f"table {table} lacks column(s) {', '.join(missing)}")


def _check_content(con: duckdb.DuckDBPyConnection, result: CheckResult) -> None:
    for name, entity in ENTITIES.items():
        key = ", ".join(entity.key)
        repeated = con.sql(f"select count(*) from (select 1 from {name} group by {key} having count(*) > 1)").fetchall()
        if repeated[0][0]:
            result.problems.append(f"{name}: {repeated[0][0]:,} key(s) ({key}) are stored more than once")
    unbalanced = con.sql(
        "select file_name, rows_read, rows_loaded, rows_quarantined from load_ledger "
        "where rows_read <> rows_loaded + rows_quarantined order by loaded_at"
    ).fetchall()
    for file_name, read, loaded, quarantined in unbalanced:
        result.problems.append(
            f"ledger: {file_name} read {read:,} rows but records {loaded:,} loaded and {quarantined:,} quarantined"
        )
    for (child, rule), count in sorted(crosschecks.stored_violations(con).items()):
        result.problems.append(
            f"{child}: {count:,} stored row(s) break {rule} (metrics, export and the pages reject them); load "
            "the corrected parent file, then `python -m pipelines requarantine`"
        )


def run(args: argparse.Namespace) -> int:
    db_path = Path(args.db)
    result = check(db_path)
    for note in result.notes:
        print(note)
    for problem in result.problems:
        print(f"problem: {problem}", file=sys.stderr)
    if result.unreadable:
        return EXIT_MISSING if not db_path.exists() else EXIT_WAREHOUSE
    if result.problems:
        print(f"{db_path}: {len(result.problems)} problem(s) found", file=sys.stderr)
        return EXIT_PROBLEMS
    print(f"{db_path}: every check passed")
    return EXIT_OK
