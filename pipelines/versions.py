"""The previous versions of the warehouse, and `python -m pipelines rollback` to go back to one.

Every publish keeps the version it replaces in `.<db>.versions/` beside the warehouse (a hard link to
the replaced file, so keeping it costs no copy), newest first, the last `BTAM_KEEP_VERSIONS` (default 3).
A rollback publishes a copy of a kept version through the same atomic swap, and keeps the version it
replaces too, so a rollback can itself be rolled back.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb

KEEP_DEFAULT = 3
EXIT_OK, EXIT_USAGE, EXIT_WAREHOUSE = 0, 2, 5


def keep_count() -> int:
    try:
        return max(0, int(os.environ.get("BTAM_KEEP_VERSIONS", KEEP_DEFAULT)))
    except ValueError:
        return KEEP_DEFAULT


def folder_of(db_path: Path) -> Path:
    return db_path.with_name(f".{db_path.name}.versions")


def kept(db_path: Path) -> list[Path]:
    """Kept versions, newest first (names start with the UTC time they were replaced)."""
    folder = folder_of(db_path)
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.suffix == ".duckdb"), key=lambda p: p.name, reverse=True)


def keep_current(db_path: Path, build_id: str) -> Path | None:
    """Keep the file about to be replaced (called just before the swap; prune() after it)."""
    if not db_path.exists() or keep_count() == 0:
        return None
    folder = folder_of(db_path)
    folder.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"{stamp}-{build_id}.duckdb"
    try:
        os.link(db_path, target)
    except OSError:  # a file system without hard links
        shutil.copyfile(db_path, target)
    return target


def discard(kept_path: Path) -> None:
    """Undo keep_current when the swap did not happen (a failed load leaves nothing behind)."""
    kept_path.unlink(missing_ok=True)
    try:
        kept_path.parent.rmdir()  # only when no other version is kept
    except OSError:
        pass


def prune(db_path: Path) -> None:
    """Drop kept versions beyond keep_count(), oldest first (with a WAL kept beside one)."""
    for old in kept(db_path)[keep_count() :]:
        old.unlink(missing_ok=True)
        Path(str(old) + ".wal").unlink(missing_ok=True)


def describe(path: Path) -> str:
    """A kept version in words: when its last load ran, files loaded, rows of cases; or why it cannot be read."""
    try:
        con = duckdb.connect(str(path), read_only=True)
        try:
            last, files = con.sql("select max(loaded_at), count(*) from load_ledger").fetchall()[0]
            cases = con.sql("select count(*) from btam_cases").fetchall()[0][0]
        finally:
            con.close()
    except duckdb.Error as exc:
        return f"cannot be read ({str(exc).strip().splitlines()[0][:120]})"
    return f"last load {str(last)[:19] if last else 'never'}, {files:,} files loaded, {cases:,} cases"


def rollback(db_path: Path, version: str | None = None, lock_wait_seconds: float = 30.0) -> Path:
    """Publish a copy of a kept version (the newest, or the one named) over the warehouse."""
    from pipelines import atomic, sessions

    versions = kept(db_path)
    if not versions:
        raise LookupError(f"no previous version of {db_path} is kept ({folder_of(db_path)} is empty)")
    if version:
        chosen = [p for p in versions if p.name == version or p.stem == version]
        if not chosen:
            raise LookupError(
                f"{version}: not a kept version of {db_path}; "
                f"`python -m pipelines rollback --list --db {db_path}` lists them"
            )
        source = chosen[0]
    else:
        source = versions[0]
    sessions.check_readable(source)
    with atomic.exclusive_lock(db_path, lock_wait_seconds):
        atomic.remove_stale_builds(db_path)
        sessions.check_no_writer(db_path)  # a damaged current file is exactly what a rollback is for
        build = db_path.with_name(f".{db_path.name}{atomic.TEMP_MARK}rollback")
        try:
            shutil.copyfile(source, build)
            replaced = keep_current(db_path, "before-rollback")
            wal = sessions.wal_of(db_path)
            if wal.exists():  # a dead session's writes stay with the version they belong to
                if replaced:
                    os.replace(wal, Path(str(replaced) + ".wal"))
                else:
                    wal.unlink()
            atomic.publish(build, db_path)
        finally:
            build.unlink(missing_ok=True)
        prune(db_path)
    return source


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pipelines.warehouse import DEFAULT_DB

    parser.add_argument("--db", default=str(DEFAULT_DB), help=f"warehouse file (default {DEFAULT_DB})")
    parser.add_argument("--to", dest="version", default=None, help="a kept version's name (default: the newest)")
    parser.add_argument("--list", action="store_true", help="list the kept versions and change nothing")


def run(args: argparse.Namespace) -> int:
    from pipelines import sessions

    db_path = Path(args.db)
    if args.list:
        versions = kept(db_path)
        if not versions:
            print(f"no previous version of {db_path} is kept")
        for path in versions:
            print(f"{path.stem}: {describe(path)}")
        return EXIT_OK
    try:
        source = rollback(db_path, args.version)
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except sessions.WarehouseBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("the warehouse is unchanged", file=sys.stderr)
        return EXIT_WAREHOUSE
    print(f"{db_path} rolled back to {source.stem} ({describe(db_path)}); the replaced version is kept too")
    return EXIT_OK
