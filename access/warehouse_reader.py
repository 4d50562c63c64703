"""Read-only access to the warehouse file that follows atomic swaps.

A load replaces the file with os.replace; an open connection would keep
reading the old inode. Readers check the inode before each use and reopen
when it changed, so every query sees one whole version.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import duckdb

from pipelines.warehouse import DEFAULT_DB


class WarehouseMissing(FileNotFoundError):
    """No warehouse file yet: the first-run state."""


class WarehouseReader:
    def __init__(self, path: str | os.PathLike = DEFAULT_DB):
        self.path = Path(path)
        self._con: duckdb.DuckDBPyConnection | None = None
        self._inode: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def _current_inode(self) -> tuple[int, int]:
        try:
            st = self.path.stat()
        except FileNotFoundError as exc:
            raise WarehouseMissing(str(self.path)) from exc
        return st.st_ino, st.st_mtime_ns

    def connection(self) -> duckdb.DuckDBPyConnection:
        """A cursor on the current version of the warehouse (reopened after a swap)."""
        with self._lock:
            inode = self._current_inode()
            if self._con is None or inode != self._inode:
                if self._con is not None:
                    self._con.close()
                self._con = duckdb.connect(str(self.path), read_only=True)
                self._inode = inode
            return self._con.cursor()

    @property
    def version(self) -> str:
        """Changes whenever a load publishes a new file: part of every cache key."""
        ino, mtime = self._current_inode()
        return f"{ino}-{mtime}"

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None
