"""The warehouse reader shared by all Streamlit sessions of one server process.

BTAM_WAREHOUSE overrides the default file (tests point it at their own).
"""

from __future__ import annotations

import os
from pathlib import Path

from access.warehouse_reader import WarehouseReader
from pipelines.warehouse import DEFAULT_DB


def warehouse_path() -> Path:
    return Path(os.environ.get("BTAM_WAREHOUSE", str(DEFAULT_DB)))


_readers: dict[Path, WarehouseReader] = {}


def shared_reader() -> WarehouseReader:
    """One reader per warehouse path per process; it follows atomic swaps by itself."""
    path = warehouse_path()
    if path not in _readers:
        _readers[path] = WarehouseReader(path)
    return _readers[path]
