"""One writer at a time, and a swap that readers never see half-done.

The next version of the warehouse is built in a sibling file and renamed over
the current one (os.replace is atomic on POSIX). A lock file keeps two loads
from building at once; a killed load leaves only a stray temporary file,
which the next load removes.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipelines import sessions, versions
from pipelines.sessions import WarehouseBusy
from pipelines.warehouse import create_empty

TEMP_MARK = ".building-"
PRIVATE_MODE = 0o600  # the warehouse holds student-level records: its owner alone reads it
PRIVATE_DIR_MODE = 0o700


@contextmanager
def private_files():
    """Files created meanwhile (the build, its WAL and spill files, a reader's transcoded copy) are the
    owner's alone: umask 077 for the duration, the previous umask restored after (it is per process)."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


@contextmanager
def exclusive_lock(db_path: Path, wait_seconds: float = 30.0):
    """Hold `<db>.lock` for the duration of a load; wait up to `wait_seconds` for another load to end."""
    lock_path = db_path.with_name(db_path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_path, "a+")
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() >= deadline:
                    raise WarehouseBusy(
                        f"another load is writing {db_path} (lock {lock_path} held for {wait_seconds:.0f} s); "
                        "wait for it to finish and run this load again"
                    ) from exc
                time.sleep(0.2)
        yield
    finally:
        handle.close()


def remove_stale_builds(db_path: Path) -> None:
    """Temporary files of loads that were killed; only called while holding the lock."""
    for stale in db_path.parent.glob(f".{db_path.name}{TEMP_MARK}*"):
        remove_path(stale)


def remove_path(path: Path) -> None:
    """A build file, its WAL or its spill folder."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def start_build(db_path: Path, load_id: str) -> Path:
    """A private copy of the current warehouse (or an empty one) to build the next version in. A stale WAL
    (a session that ended without a checkpoint) is copied with it, so the build replays and keeps its writes."""
    build = db_path.with_name(f".{db_path.name}{TEMP_MARK}{load_id}")
    if db_path.exists():
        shutil.copyfile(db_path, build)
        wal = sessions.wal_of(db_path)
        if wal.exists():
            shutil.copyfile(wal, sessions.wal_of(build))
    else:
        create_empty(build)
    return build


def work_dir(db_path: Path, build_id: str) -> Path:
    """A private folder for a load's working files (transcoded text, split rows), beside its build: removed
    with the build's leftovers when the build ends however it ends, and by remove_stale_builds after a kill."""
    folder = db_path.with_name(f".{db_path.name}{TEMP_MARK}{build_id}.work")
    folder.mkdir(mode=PRIVATE_DIR_MODE)
    return folder


@contextmanager
def signals_as_exit() -> Iterator[None]:
    """SIGTERM and SIGHUP end the process through SystemExit, so every `finally` runs and no build, work
    file or transcoded copy is left behind (the default action kills without cleanup). Main thread only:
    elsewhere (the dashboard's script thread) the host process owns its signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    received: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        received.append(signum)
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    except BaseException:
        if received:  # inside a DuckDB query the SystemExit surfaces as "Query interrupted": exit as signalled
            raise SystemExit(128 + received[0]) from None
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def publish(build: Path, db_path: Path) -> None:
    """Make the build durable, then swap it in with one atomic rename."""
    with open(build, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(build, db_path)
    directory = os.open(db_path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def publish_folding_wal(build: Path, db_path: Path) -> None:
    """Publish a build that folded in the writes of a stale WAL. The WAL is moved aside first: beside the
    new file it would not match, and a reader opening in between sees the old file without it, still a
    whole version. If the swap did not happen the WAL goes back."""
    aside = build.with_name(build.name + ".stale-wal")
    os.replace(sessions.wal_of(db_path), aside)
    try:
        publish(build, db_path)
    except BaseException:
        if build.exists():  # not swapped in: the old file and its WAL still belong together
            os.replace(aside, sessions.wal_of(db_path))
        raise
    aside.unlink(missing_ok=True)


@contextmanager
def building(db_path: Path, build_id: str, memory_limit: str | None = None):
    """A connection on a private copy of the warehouse (start_build). On a clean exit the copy is
    checkpointed and published over `db_path`; whatever happens, the copy and its leftovers are removed,
    so a failure leaves the old warehouse serving. The caller holds exclusive_lock. With `memory_limit`
    DuckDB spills past it into a folder beside the copy (a state-size load in bounded memory). Nothing is
    published while a read-write session holds the warehouse or the file is damaged (sessions)."""
    sessions.check_readable(db_path)
    wal_copied = sessions.wal_digest(db_path)
    build = start_build(db_path, build_id)
    try:
        os.chmod(build, PRIVATE_MODE)  # a copy of a version written before this rule keeps no wider mode
        config = {"memory_limit": memory_limit, "temp_directory": str(build) + ".spill"} if memory_limit else {}
        con = duckdb.connect(str(build), config=config)
        try:
            con.execute("set enable_progress_bar = false")
            yield con
            con.execute("checkpoint")
        finally:
            con.close()
        sessions.check_before_publish(db_path, wal_copied)
        replaced = versions.keep_current(db_path, build_id)
        try:
            if wal_copied:
                publish_folding_wal(build, db_path)
            else:
                publish(build, db_path)
        except BaseException:
            if replaced and build.exists():  # nothing was replaced: nothing to keep
                versions.discard(replaced)
            raise
        versions.prune(db_path)
    finally:
        build.unlink(missing_ok=True)
        for leftover in build.parent.glob(build.name + ".*"):
            remove_path(leftover)
