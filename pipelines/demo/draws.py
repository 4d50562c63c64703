"""Vectorised random draws and day arithmetic shared by the demo's generators.

Dates are int32 days since 1970-01-01 with NA_DAY for missing, so millions of
rows move through numpy without Python objects.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

NA_DAY = -1
EPOCH = date(1970, 1, 1)
KEY_ALPHABET = np.frombuffer(b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefgh", dtype=np.uint8)  # 32 letters, no I or O


def day(d: date) -> int:
    return (d - EPOCH).days


def categorical(rng: np.random.Generator, n: int, shares: dict | list | tuple | np.ndarray) -> np.ndarray:
    """n draws of category indexes 0..k-1 with the given (unnormalised) shares."""
    p = np.asarray(list(shares.values()) if isinstance(shares, dict) else shares, dtype=float)
    cum = np.cumsum(p / p.sum())
    cum[-1] = 1.0
    return np.searchsorted(cum, rng.random(n), side="right").astype(np.int8)


def categorical_by_row(rng: np.random.Generator, row_class: np.ndarray, tables: list) -> np.ndarray:
    """One draw per row from tables[row_class[i]]: a conditional categorical."""
    out = np.zeros(len(row_class), dtype=np.int8)
    for k, table in enumerate(tables):
        mask = row_class == k
        if mask.any():
            out[mask] = categorical(rng, int(mask.sum()), table)
    return out


def bernoulli(rng: np.random.Generator, p: np.ndarray | float, n: int | None = None) -> np.ndarray:
    size = n if n is not None else len(p)
    return rng.random(size) < p


def next_weekday(days: np.ndarray) -> np.ndarray:
    """Saturdays and Sundays move to the following Monday (1970-01-01 was a Thursday)."""
    weekday = (days + 3) % 7
    return days + np.where(weekday == 5, 2, np.where(weekday == 6, 1, 0)).astype(days.dtype)


def school_days(year_start: int) -> np.ndarray:
    """Instruction days of a school year: late August to early June, weekdays, minus winter and spring break."""
    days = np.arange(day(date(year_start, 8, 20)), day(date(year_start + 1, 6, 6)) + 1, dtype=np.int32)
    weekday = (days + 3) % 7
    winter = (days >= day(date(year_start, 12, 22))) & (days <= day(date(year_start + 1, 1, 2)))
    spring = (days >= day(date(year_start + 1, 3, 23))) & (days <= day(date(year_start + 1, 3, 29)))
    return days[(weekday < 5) & ~winter & ~spring]


def lognormal_days(rng: np.random.Generator, median: np.ndarray, sigma: float) -> np.ndarray:
    """Whole days from a lognormal with the given per-row median."""
    return np.floor(median * np.exp(sigma * rng.standard_normal(len(median)))).astype(np.int32)


def _distinct_new(values: np.ndarray, used_sorted: np.ndarray | None) -> np.ndarray:
    """values without repeats and without members of used_sorted (sort-based: np.unique is slow here)."""
    values = np.sort(values)
    values = values[np.concatenate([[True], np.diff(values) != 0])]
    if used_sorted is not None and len(used_sorted):
        at = np.minimum(np.searchsorted(used_sorted, values), len(used_sorted) - 1)
        values = values[used_sorted[at] != values]
    return values


def opaque_keys(
    rng: np.random.Generator, n: int, prefix: str, used_sorted: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """n distinct pseudonyms: prefix + 11 base32 characters of a random 55-bit number (never sequential).

    Returns the keys and their numbers; numbers in the sorted array `used_sorted` are never drawn again.
    """
    values = _distinct_new(rng.integers(0, 2**55, size=n, dtype=np.int64), used_sorted)
    while len(values) < n:
        more = rng.integers(0, 2**55, size=n - len(values), dtype=np.int64)
        values = _distinct_new(np.concatenate([values, more]), used_sorted)
    values = rng.permutation(values)[:n]
    shifts = np.arange(50, -1, -5, dtype=np.int64)
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    chars = np.empty((n, len(head) + len(shifts)), dtype=np.uint8)
    chars[:, : len(head)] = head
    chars[:, len(head) :] = KEY_ALPHABET[(values[:, None] >> shifts) & 31]
    return chars.view(f"S{chars.shape[1]}").ravel(), values


def date_series(name: str, days: np.ndarray) -> pl.Series:
    """int days (NA_DAY = missing) as a polars Date column."""
    s = pl.Series(name, days.astype(np.int32)).cast(pl.Date)
    return s.set(pl.Series(days == NA_DAY), None) if (days == NA_DAY).any() else s


def code_series(name: str, codes: tuple[str, ...], index: np.ndarray, missing: np.ndarray | None = None) -> pl.Series:
    """Code indexes as a string column; rows where missing is true are null."""
    s = pl.Series(name, list(codes), dtype=pl.String).gather(index.astype(np.int64))
    return s.set(pl.Series(missing), None) if missing is not None and missing.any() else s


def yes_no(name: str, values: np.ndarray, missing: np.ndarray | None = None) -> pl.Series:
    return code_series(name, ("N", "Y"), values.astype(np.int8), missing)


def sequential_ids(name: str, prefix: str, n: int) -> pl.Series:
    """prefix + a 7-digit running number (case, action and review ids carry no student information)."""
    return (prefix + pl.Series(name, np.arange(1, n + 1)).cast(pl.String).str.zfill(7)).alias(name)
