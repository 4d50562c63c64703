"""Other sessions on the warehouse file: a read-write session, a stale WAL, a damaged file.

A load builds the next version in a private copy and renames it over the
warehouse. That is only safe when nobody else writes the file: a read-write
session (the DuckDB CLI opens read-write by default) would lose its writes,
and a `.wal` left by a session that died belongs to the old file, so after the
swap every reader fails on it. This module finds those cases before a load
publishes and says, in words, what is wrong and what to do.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import duckdb

DAMAGE_MARKS = (
    "not a valid DuckDB database file",
    "Could not read enough bytes",
    "Corrupt database file",
    "checksum",
    "WAL does not match",
    "Failure while replaying WAL",
)


class WarehouseBusy(Exception):
    """The warehouse cannot be written now (another load or session holds it, or the file is damaged);
    the message says which file and what to do."""


class SessionHoldsWarehouse(WarehouseBusy):
    """A read-write session has the warehouse open; a load now would silently drop its writes."""


class WarehouseDamaged(WarehouseBusy):
    """The warehouse file (or its WAL) cannot be read; nothing was changed."""


def wal_of(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".wal")


def wal_digest(db_path: Path) -> str | None:
    """The stale WAL's content hash, to tell whether a session wrote to it while a load was building."""
    wal = wal_of(db_path)
    try:
        return hashlib.sha256(wal.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def is_damage(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.Error) and any(mark in str(exc) for mark in DAMAGE_MARKS)


def is_session_lock(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.Error) and "Conflicting lock" in str(exc)


def explain(db_path: Path, exc: BaseException) -> str:
    """What a DuckDB error on opening or reading the warehouse means for its user, and what to do."""
    text = str(exc).strip()
    first_line = text.splitlines()[0][:200] if text else type(exc).__name__
    wal = wal_of(db_path)
    if is_session_lock(exc):
        found = re.search(r"held in (.*?) \(PID (\d+)\)", text)
        holder = f"process {found.group(2)} ({found.group(1)})" if found else "another process"
        return (
            f"{db_path} is open read-write in another session: {holder}. A load now would lose that "
            f"session's writes. End that session (quit the duckdb CLI, close the notebook or script), "
            f"look at the warehouse only with `duckdb -readonly {db_path}`, and run this again"
        )
    if "WAL" in text:
        return (
            f"{wal} does not belong to {db_path} (a session on an earlier version of the file left it; "
            f"DuckDB says: {first_line}). {db_path} itself may be intact: move the log aside "
            f"(`mv {wal} {wal}.orphan`), check with `python -m pipelines status --db {db_path}`, then load "
            "again. The writes in that log are lost; repeat them through a load"
        )
    if is_damage(exc):
        return (
            f"{db_path} is damaged ({first_line}). Nothing was changed. Restore the file from a backup, "
            f"or move it aside (`mv {db_path} {db_path}.damaged`) and load every export again into a new "
            "warehouse"
        )
    return f"{db_path} cannot be read ({first_line}). Nothing was changed"


def check_readable(db_path: Path) -> None:
    """Raise SessionHoldsWarehouse or WarehouseDamaged, in words, unless the warehouse opens read-only and its
    catalog and ledger read. A missing file is fine (the first load creates it)."""
    if not db_path.exists():
        return
    try:
        con = duckdb.connect(str(db_path), read_only=True)
        try:
            con.sql("select count(*) from duckdb_tables()").fetchall()
            con.sql("select count(*), max(loaded_at) from load_ledger").fetchall()
        finally:
            con.close()
    except duckdb.Error as exc:
        if is_session_lock(exc):
            raise SessionHoldsWarehouse(explain(db_path, exc)) from exc
        raise WarehouseDamaged(explain(db_path, exc)) from exc


def check_no_writer(db_path: Path) -> None:
    """Raise SessionHoldsWarehouse if a read-write session holds the file; a damaged file is not refused here."""
    if not db_path.exists():
        return
    try:
        duckdb.connect(str(db_path), read_only=True).close()
    except duckdb.Error as exc:
        if is_session_lock(exc):
            raise SessionHoldsWarehouse(explain(db_path, exc)) from exc


def check_before_publish(db_path: Path, wal_copied: str | None) -> None:
    """Refuse to swap a build in while a read-write session holds the warehouse, or when the WAL changed
    since the build copied it (a session wrote during the load; its writes are not in the build)."""
    check_readable(db_path)
    if wal_digest(db_path) != wal_copied:
        raise SessionHoldsWarehouse(
            f"another session wrote to {db_path} while this load was building ({wal_of(db_path).name} changed); "
            "this load was not published, so those writes are kept. Make sure no other session has the "
            f"warehouse open read-write (look with `duckdb -readonly {db_path}`) and load again"
        )
