"""Counts and rates with explicit empty handling: an undefined rate is None, never NaN or inf."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from data_contracts.interchange import SCHOOL_YEAR_PATTERN
from metrics.frames import require_columns, require_unique


def rate(k: int | float, n: int | float) -> float | None:
    """k/n, or None when there is no one to divide by (n of 0 or missing)."""
    if k is None or n is None or n <= 0:
        return None
    return k / n


def rate_per_1000(k: int | float, n: int | float) -> float | None:
    """Students with the outcome per 1,000 students of the population, None when n is 0."""
    r = rate(k, n)
    return None if r is None else 1000 * r


def poisson_rate_ci(k: int, n: int | float, per: float = 1000.0, level: float = 0.95) -> tuple[float, float] | None:
    """The exact (Garwood) interval of a rate of k events among n, per `per`: events such as BTAM cases are
    counts that may exceed the students, so the count is treated as Poisson. None when n is 0 or missing."""
    from scipy.stats import chi2

    if k is None or n is None or n <= 0 or k < 0:
        return None
    alpha = 1.0 - level
    low = 0.0 if k == 0 else chi2.ppf(alpha / 2, 2 * k) / 2
    high = chi2.ppf(1 - alpha / 2, 2 * (k + 1)) / 2
    return float(per * low / n), float(per * high / n)


def _safe_ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num / den).otherwise(None)


def with_rates(frame: pl.DataFrame, k: str = "k", n: str = "n") -> pl.DataFrame:
    """Add `rate` (k/n) and `rate_per_1000`, null where n is 0 or null."""
    require_columns(frame, [k, n], "with_rates")
    r = _safe_ratio(pl.col(k).cast(pl.Float64), pl.col(n).cast(pl.Float64))
    return frame.with_columns(r.alias("rate"), (r * 1000).alias("rate_per_1000"))


def year_over_year(frame: pl.DataFrame, by: Sequence[str], value: str) -> pl.DataFrame:
    """Add the value of the school year just before (not the previous row) and the change from it.

    Adds `previous_value`, `change` (value - previous) and `percent_change` (change / previous x 100,
    null when the previous value is 0 or the previous year is missing).
    """
    require_columns(frame, ["school_year", *by, value], "year_over_year")
    require_unique(frame, ["school_year", *by], "year_over_year")
    bad = frame.filter(~pl.col("school_year").str.contains(SCHOOL_YEAR_PATTERN))
    if bad.height:
        raise ValueError(f"year_over_year: school_year must look like 2024-25, got {bad['school_year'][0]!r}")
    keyed = frame.with_columns(pl.col("school_year").str.slice(0, 4).cast(pl.Int32).alias("_start"))
    previous = keyed.select(*by, (pl.col("_start") + 1).alias("_start"), pl.col(value).alias("previous_value"))
    out = keyed.join(previous, on=[*by, "_start"], how="left", nulls_equal=True)
    change = pl.col(value).cast(pl.Float64) - pl.col("previous_value").cast(pl.Float64)
    return out.with_columns(
        change.alias("change"),
        pl.when(pl.col("previous_value") != 0)
        .then(100 * change / pl.col("previous_value"))
        .otherwise(None)
        .alias("percent_change"),
    ).drop("_start")
