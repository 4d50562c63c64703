"""The small private files of a deployment (accounts, web sessions, the signing key): read and changed under an
exclusive lock, written back atomically and readable by the service's user only (0600)."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def write_private(target: Path, text: str) -> None:
    """Replace `target` with `text` in one step (a reader sees the old or the new file, never half), mode 0600."""
    tmp = target.with_name(target.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, target)


@contextmanager
def file_lock(target: Path) -> Iterator[None]:
    """An exclusive lock on `target` (a `.lock` file beside it), held across processes until the block ends."""
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_fd = os.open(target.with_name(target.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(lock_fd)


@contextmanager
def locked_json(target: Path, empty: dict, *, write: bool = True) -> Iterator[dict]:
    """The JSON document in `target` (a copy of `empty` when there is none) under the file's lock; what the block
    leaves in it is written back atomically when `write`."""
    with file_lock(target):
        data = json.loads(target.read_text()) if target.exists() else json.loads(json.dumps(empty))
        yield data
        if write:
            write_private(target, json.dumps(data, indent=2, sort_keys=True))
