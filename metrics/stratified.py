"""Mantel-Haenszel pooling of 2x2 tables across strata (e.g. levels of concern), which scipy lacks.

A difference that no single stratum can show may appear once strata are pooled, and a difference
that is only a mix of strata disappears: docs/METHODOLOGY.md has the formulas and sources.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

from metrics.frames import codes, finite_or_none, first_seen_ids

Table = Sequence[Sequence[int]]  # [[a, b], [c, d]]: [[group with, group without], [others with, others without]]


@dataclass(frozen=True)
class MantelHaenszelResult:
    """Pooled odds ratio, CMH test and homogeneity test; a None is a quantity the data cannot define."""

    odds_ratio: float | None
    ci_low: float | None
    ci_high: float | None
    cmh: float | None
    cmh_p: float | None
    cmh_corrected: float | None
    cmh_corrected_p: float | None
    breslow_day: float | None  # Breslow-Day statistic with Tarone's correction
    breslow_day_p: float | None
    breslow_day_df: int | None
    strata_used: tuple[str, ...]
    strata_skipped: tuple[str, ...]  # strata with a zero row or column total: they carry no information


def mantel_haenszel(
    strata: Sequence[Table], labels: Sequence[str] | None = None, confidence_level: float = 0.95
) -> MantelHaenszelResult:
    """Common odds ratio (RBG CI), CMH chi-square with and without continuity correction, Breslow-Day-Tarone."""
    labels = [str(i) for i in range(len(strata))] if labels is None else [str(x) for x in labels]
    if len(labels) != len(strata):
        raise ValueError(f"mantel_haenszel: {len(strata)} strata but {len(labels)} labels")
    used, skipped = [], []
    for label, table in zip(labels, strata):
        a, b, c, d = _cells(table, label)
        if min(a + b, c + d, a + c, b + d) == 0:
            skipped.append(label)
        else:
            used.append((label, a, b, c, d))
    tables = [(a, b, c, d) for _, a, b, c, d in used]
    odds_ratio, ci_low, ci_high = _mh_odds_ratio(tables, confidence_level)
    cmh, cmh_p = _cmh(tables, correction=False)
    cmh_c, cmh_c_p = _cmh(tables, correction=True)
    bd, bd_p, bd_df = _breslow_day_tarone(tables, odds_ratio)
    return MantelHaenszelResult(
        odds_ratio,
        ci_low,
        ci_high,
        cmh,
        cmh_p,
        cmh_c,
        cmh_c_p,
        bd,
        bd_p,
        bd_df,
        tuple(label for label, *_ in used),
        tuple(skipped),
    )


def _cells(table: Table, label: str) -> tuple[int, int, int, int]:
    try:
        (a, b), (c, d) = table
    except (TypeError, ValueError):
        raise ValueError(f"mantel_haenszel: stratum {label!r} is not a 2x2 table [[a, b], [c, d]]") from None
    cells = (a, b, c, d)
    if any(x is None or x < 0 or x != int(x) for x in cells):
        raise ValueError(f"mantel_haenszel: stratum {label!r} has {cells}; cells must be whole counts >= 0")
    return tuple(int(x) for x in cells)


def _mh_odds_ratio(tables: list[tuple[int, int, int, int]], level: float) -> tuple[float | None, ...]:
    """MH (1959) estimate with the Robins-Breslow-Greenland (1986) variance of its log."""
    R = [a * d / (a + b + c + d) for a, b, c, d in tables]
    S = [b * c / (a + b + c + d) for a, b, c, d in tables]
    P = [(a + d) / (a + b + c + d) for a, b, c, d in tables]
    Q = [(b + c) / (a + b + c + d) for a, b, c, d in tables]
    sum_r, sum_s = sum(R), sum(S)
    if sum_r <= 0 or sum_s <= 0:
        return (sum_r / sum_s if sum_s > 0 else None), None, None
    var = (
        sum(p * r for p, r in zip(P, R)) / (2 * sum_r**2)
        + sum(p * s + q * r for p, q, r, s in zip(P, Q, R, S)) / (2 * sum_r * sum_s)
        + sum(q * s for q, s in zip(Q, S)) / (2 * sum_s**2)
    )
    odds_ratio = sum_r / sum_s
    z = stats.norm.ppf(0.5 + level / 2)
    half = z * math.sqrt(var)
    return odds_ratio, finite_or_none(odds_ratio * math.exp(-half)), finite_or_none(odds_ratio * math.exp(half))


def _cmh(tables: list[tuple[int, int, int, int]], correction: bool) -> tuple[float | None, float | None]:
    """(|sum a - sum E[a]| - c)^2 / sum Var(a), hypergeometric moments, 1 df; c = 1/2 when corrected."""
    observed = expected = variance = 0.0
    for a, b, c, d in tables:
        n, n1, n0, m1, m0 = a + b + c + d, a + b, c + d, a + c, b + d
        observed += a
        expected += n1 * m1 / n
        variance += n1 * n0 * m1 * m0 / (n * n * (n - 1))
    if variance <= 0:
        return None, None
    diff = abs(observed - expected)
    if correction:
        diff = max(diff - 0.5, 0.0)
    statistic = diff * diff / variance
    return statistic, finite_or_none(stats.chi2.sf(statistic, 1))


def _breslow_day_tarone(
    tables: list[tuple[int, int, int, int]], odds_ratio: float | None
) -> tuple[float | None, float | None, int | None]:
    """Breslow-Day (1980) homogeneity chi-square with Tarone's (1985) correction, K-1 df."""
    if odds_ratio is None or odds_ratio <= 0 or len(tables) < 2:
        return None, None, None
    statistic = sum_a = sum_fit = sum_var = 0.0
    for a, b, c, d in tables:
        fit = _fitted_a(a + b, c + d, a + c, odds_ratio)
        cells = (fit, a + b - fit, a + c - fit, c + d - (a + c - fit))
        if min(cells) <= 0:
            continue  # a fitted cell on the table's boundary: the stratum cannot vary, it adds nothing
        var = 1 / sum(1 / x for x in cells)
        statistic += (a - fit) ** 2 / var
        sum_a, sum_fit, sum_var = sum_a + a, sum_fit + fit, sum_var + var
    if sum_var <= 0:
        return None, None, None
    statistic -= (sum_a - sum_fit) ** 2 / sum_var
    df = len(tables) - 1
    return statistic, finite_or_none(stats.chi2.sf(statistic, df)), df


def _fitted_a(n1: int, n0: int, m1: int, odds_ratio: float) -> float:
    """The a with fixed margins whose odds ratio a(n0-m1+a) / ((n1-a)(m1-a)) equals the common one."""
    low, high = max(0, m1 - n0), min(n1, m1)
    # (1-OR) a^2 + (n0 - m1 + OR (n1 + m1)) a - OR n1 m1 = 0, root inside [low, high]
    qa = 1 - odds_ratio
    qb = n0 - m1 + odds_ratio * (n1 + m1)
    qc = -odds_ratio * n1 * m1
    if abs(qa) < 1e-12:
        return -qc / qb
    disc = math.sqrt(max(qb * qb - 4 * qa * qc, 0.0))
    for root in ((-qb + disc) / (2 * qa), (-qb - disc) / (2 * qa)):
        if low - 1e-9 <= root <= high + 1e-9:
            return min(max(root, low), high)
    raise ArithmeticError("no fitted cell inside the margins")  # cannot happen for OR > 0


def mantel_haenszel_table(
    strata: pl.DataFrame, by: Sequence[str], label: str, confidence_level: float = 0.95
) -> pl.DataFrame:
    """mantel_haenszel for every group of `by` at once; each row of `strata` is one stratum's 2x2 table.

    `strata`: the `by` columns, `label` and a, b, c, d. Output, one row per group of `by` in the order
    they first appear: the `by` columns, a, b, c, d (summed over every stratum), strata_used and
    strata_skipped (lists of labels), odds_ratio, ci_low, ci_high, cmh, cmh_p, cmh_corrected,
    cmh_corrected_p, breslow_day, breslow_day_p, breslow_day_df. The sums run stratum by stratum in
    the order of the rows, with mantel_haenszel's arithmetic, so the numbers are its own.
    """
    cells = strata.select("a", "b", "c", "d")
    bad = strata.filter(
        pl.any_horizontal(
            pl.col("a", "b", "c", "d").is_null()
            | (pl.col("a", "b", "c", "d") < 0)
            | (pl.col("a", "b", "c", "d").cast(pl.Float64) != pl.col("a", "b", "c", "d").cast(pl.Float64).floor())
        )
    )
    if bad.height:
        row = bad.row(0, named=True)
        raise ValueError(
            f"mantel_haenszel: stratum {str(row[label])!r} has {(row['a'], row['b'], row['c'], row['d'])}; "
            "cells must be whole counts >= 0"
        )
    keys = first_seen_ids(codes(strata, list(by))) if by else np.zeros(strata.height, dtype=np.int64)
    groups = int(keys.max()) + 1 if keys.size else 0
    order = np.argsort(keys, kind="stable")
    key = keys[order]
    start = np.searchsorted(key, np.arange(groups))
    pos = np.arange(key.size) - start[key]
    width = int(pos.max()) + 1 if pos.size else 0
    a, b, c, d = (cells[x].cast(pl.Int64).to_numpy()[order] for x in ("a", "b", "c", "d"))
    labels = (
        strata[label]
        if strata.schema[label] == pl.String
        else pl.Series([str(x) for x in strata[label].to_list()], dtype=pl.String)
    )
    labels = labels.fill_null("None")[order]
    n1, n0, m1, m0 = a + b, c + d, a + c, b + d
    n = n1 + n0
    used = np.minimum(np.minimum(n1, n0), np.minimum(m1, m0)) > 0

    def grid(values, fill=0.0):
        out = np.full((groups, width), fill, dtype=np.asarray(values).dtype if fill is None else float)
        out[key, pos] = values
        return out

    def running(values):
        """sum over used strata, one stratum after another (as Python's sum and += do)."""
        table, ok = grid(np.asarray(values, dtype=float)), grid(used.astype(float)) > 0
        total = np.zeros(groups)
        for j in range(width):
            total = total + np.where(ok[:, j], table[:, j], 0.0)
        return total

    af, bf, cf, df_, nf = (x.astype(float) for x in (a, b, c, d, n))
    with np.errstate(divide="ignore", invalid="ignore"):
        R, S = (a * d) / nf, (b * c) / nf
        P, Q = (a + d) / nf, (b + c) / nf
        sum_r, sum_s = running(R), running(S)
        spr, spsqr, sqs = running(P * R), running(P * S + Q * R), running(Q * S)
        var = spr / (2 * sum_r**2) + spsqr / (2 * sum_r * sum_s) + sqs / (2 * sum_s**2)
        full = (sum_r > 0) & (sum_s > 0)
        odds_ratio = np.where(sum_s > 0, sum_r / sum_s, np.nan)
        z = stats.norm.ppf(0.5 + confidence_level / 2)
        half = z * np.sqrt(var)
        ci_low = np.where(full, odds_ratio * np.exp(-half), np.nan)
        ci_high = np.where(full, odds_ratio * np.exp(half), np.nan)
        observed = running(af)
        expected = running((n1 * m1) / nf)
        variance = running(_hypergeometric_variance(n1, n0, m1, m0, n))
        cmh, cmh_p = _cmh_vector(observed, expected, variance, False)
        cmh_c, cmh_c_p = _cmh_vector(observed, expected, variance, True)
        bd, bd_p, bd_df = _breslow_day_vector(a, b, c, d, used, key, grid, groups, width, odds_ratio)
    flat = pl.DataFrame({"k": key, "used": used, "label": pl.Series(labels, dtype=pl.String)})
    lists = pl.DataFrame({"k": np.arange(groups)}).join(
        flat.group_by("k").agg(
            pl.col("label").filter(pl.col("used")).alias("strata_used"),
            pl.col("label").filter(~pl.col("used")).alias("strata_skipped"),
        ),
        on="k",
        how="left",
        maintain_order="left",
    )
    first = np.full(groups, keys.size, dtype=np.int64)
    np.minimum.at(first, keys, np.arange(keys.size))

    def col(name, values, dtype=pl.Float64):
        values = np.where(np.isfinite(values), values, np.nan) if dtype == pl.Float64 else values
        return (
            pl.Series(name, values, dtype=dtype).fill_nan(None)
            if dtype == pl.Float64
            else pl.Series(name, values, dtype=dtype)
        )

    totals = [
        pl.Series(x, np.bincount(key, weights=v, minlength=groups).astype(np.int64), dtype=pl.Int64)
        for x, v in (("a", a), ("b", b), ("c", c), ("d", d))
    ]
    values = pl.DataFrame(
        [
            *totals,
            lists["strata_used"].cast(pl.List(pl.String)),
            lists["strata_skipped"].cast(pl.List(pl.String)),
            col("odds_ratio", odds_ratio),
            col("ci_low", ci_low),
            col("ci_high", ci_high),
            col("cmh", cmh),
            col("cmh_p", cmh_p),
            col("cmh_corrected", cmh_c),
            col("cmh_corrected_p", cmh_c_p),
            col("breslow_day", bd),
            col("breslow_day_p", bd_p),
            pl.Series("breslow_day_df", bd_df, dtype=pl.Int64).replace(-1, None),
        ]
    )
    if not by:
        return values
    return pl.concat([strata.select(by)[first], values], how="horizontal")


def _hypergeometric_variance(n1, n0, m1, m0, n) -> np.ndarray:
    """n1 n0 m1 m0 / (n^2 (n - 1)) rounded once, as Python's int division does (exact integers in, where
    they fit a double; Python integers for the rest)."""
    out = np.zeros(n.size)
    small = n < 2**13
    with np.errstate(divide="ignore", invalid="ignore"):
        out[small] = (n1[small] * n0[small] * m1[small] * m0[small]) / (n[small] * n[small] * (n[small] - 1))
    for i in np.flatnonzero(~small):
        out[i] = int(n1[i]) * int(n0[i]) * int(m1[i]) * int(m0[i]) / (int(n[i]) * int(n[i]) * (int(n[i]) - 1))
    return out


def _cmh_vector(observed, expected, variance, correction: bool):
    diff = np.abs(observed - expected)
    if correction:
        diff = np.maximum(diff - 0.5, 0.0)
    ok = variance > 0
    statistic = np.where(ok, diff * diff / variance, np.nan)
    p = np.where(ok, stats.chi2.sf(np.where(ok, statistic, 0.0), 1), np.nan)
    return statistic, np.where(np.isfinite(p), p, np.nan)


def _breslow_day_vector(a, b, c, d, used, key, grid, groups, width, odds_ratio):
    """_breslow_day_tarone for every group: statistic, p, df (NaN / -1 where blank)."""
    strata_used = np.bincount(key, weights=used, minlength=groups).astype(np.int64)
    fine = np.isfinite(odds_ratio) & (odds_ratio > 0) & (strata_used >= 2)
    OR = np.where(fine, odds_ratio, 1.0)[key]
    n1, n0, m1 = a + b, c + d, a + c
    low, high = np.maximum(0, m1 - n0), np.minimum(n1, m1)
    qa = 1 - OR
    qb = (n0 - m1) + OR * (n1 + m1)
    qc = -OR * n1 * m1
    with np.errstate(divide="ignore", invalid="ignore"):
        disc = np.sqrt(np.maximum(qb * qb - 4 * qa * qc, 0.0))
        r1, r2 = (-qb + disc) / (2 * qa), (-qb - disc) / (2 * qa)
        linear = -qc / qb
    in1 = (low - 1e-9 <= r1) & (r1 <= high + 1e-9)
    in2 = (low - 1e-9 <= r2) & (r2 <= high + 1e-9)
    root = np.where(in1, r1, r2)
    fit = np.where(np.abs(qa) < 1e-12, linear, np.minimum(np.maximum(root, low), high))
    if (used & fine[key] & (np.abs(qa) >= 1e-12) & ~in1 & ~in2).any():
        raise ArithmeticError("no fitted cell inside the margins")  # cannot happen for OR > 0
    c1, c2, c3 = fit, n1 - fit, m1 - fit
    c4 = n0 - (m1 - fit)
    counted = used & fine[key] & (np.minimum(np.minimum(c1, c2), np.minimum(c3, c4)) > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = 1 / (((0 + 1 / c1) + 1 / c2) + 1 / c3 + 1 / c4)
        term = (a - fit) ** 2 / var
    ok = grid(counted.astype(float)) > 0
    statistic, sum_a, sum_fit, sum_var = (np.zeros(groups) for _ in range(4))
    t_, a_, f_, v_ = (
        grid(np.where(counted, term, 0.0)),
        grid(a.astype(float)),
        grid(np.where(counted, fit, 0.0)),
        grid(np.where(counted, var, 0.0)),
    )
    for j in range(width):
        statistic = statistic + np.where(ok[:, j], t_[:, j], 0.0)
        sum_a = sum_a + np.where(ok[:, j], a_[:, j], 0.0)
        sum_fit = sum_fit + np.where(ok[:, j], f_[:, j], 0.0)
        sum_var = sum_var + np.where(ok[:, j], v_[:, j], 0.0)
    present = fine & (sum_var > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = statistic - (sum_a - sum_fit) ** 2 / sum_var
    df = np.where(present, strata_used - 1, -1)
    p = np.where(present, stats.chi2.sf(np.where(present, statistic, 0.0), np.maximum(df, 1)), np.nan)
    return np.where(present, statistic, np.nan), np.where(np.isfinite(p), p, np.nan), df
