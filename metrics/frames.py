"""Checks shared by the metrics on the frames they are given, with messages a caller can act on."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
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


# -- whole-column helpers of the vectorised metrics -----------------------------------------------------------


def codes(frame: pl.DataFrame, columns: list[str]) -> np.ndarray:
    """One int64 per row, equal exactly where the rows agree on `columns` (a blank is a value of its own)."""
    code = np.zeros(frame.height, dtype=np.int64)
    span = 1
    for column in columns:
        part = frame[column].cast(pl.String).cast(pl.Categorical).to_physical()
        width = int(part.max() or 0) + 2
        if span * width >= 2**62:
            return frame.select(pl.struct(columns).rank("dense")).to_series().to_numpy().astype(np.int64)
        code = code * width + part.fill_null(width - 1).to_numpy().astype(np.int64)
        span *= width
    return code


def first_seen_ids(code: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... numbering the distinct codes in the order they first appear."""
    if code.size == 0:
        return code.copy()
    _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return rank[inverse.reshape(-1)]


def segment_sums(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Sum of each consecutive segment exactly as numpy sums one array (pairwise): rows of one length
    are summed as a 2-D block along its last axis, which runs the same loop per row."""
    out = np.zeros(lengths.size)
    starts = np.cumsum(lengths) - lengths
    for length in np.unique(lengths):
        if length == 0:
            continue
        which = np.nonzero(lengths == length)[0]
        out[which] = values[starts[which][:, None] + np.arange(length)].sum(axis=1)
    return out
