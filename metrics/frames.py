"""Checks shared by the metrics on the frames they are given, with messages a caller can act on."""
from __future__ import annotations

import math
from typing import Sequence

import polars as pl


def require_columns(frame: pl.DataFrame, columns: Sequence[str], where: str) -> None:
    """Fail early, naming the missing columns, rather than deep inside a computation."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{where}: the frame lacks the columns {missing} (it has {frame.columns})")


def require_unique(frame: pl.DataFrame, key: Sequence[str], where: str) -> None:
    """A key repeated would be counted twice; say which value repeats."""
    dup = frame.group_by(key).len().filter(pl.col("len") > 1)
    if dup.height:
        raise ValueError(f"{where}: {list(key)} repeats, e.g. {dup.row(0, named=True)}")


def finite_or_none(x: float | None) -> float | None:
    """Every number a metric returns goes through here: blank, never NaN or inf."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None
