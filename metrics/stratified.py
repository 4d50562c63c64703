"""Mantel-Haenszel pooling of 2x2 tables across strata (e.g. levels of concern), which scipy lacks.

A difference that no single stratum can show may appear once strata are pooled, and a difference
that is only a mix of strata disappears: docs/METHODOLOGY.md has the formulas and sources.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from scipy import stats

from metrics.frames import finite_or_none

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
    breslow_day: float | None       # Breslow-Day statistic with Tarone's correction
    breslow_day_p: float | None
    breslow_day_df: int | None
    strata_used: tuple[str, ...]
    strata_skipped: tuple[str, ...]  # strata with a zero row or column total: they carry no information


def mantel_haenszel(strata: Sequence[Table], labels: Sequence[str] | None = None,
                    confidence_level: float = 0.95) -> MantelHaenszelResult:
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
    return MantelHaenszelResult(odds_ratio, ci_low, ci_high, cmh, cmh_p, cmh_c, cmh_c_p, bd, bd_p, bd_df,
                                tuple(label for label, *_ in used), tuple(skipped))


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
    var = (sum(p * r for p, r in zip(P, R)) / (2 * sum_r ** 2)
           + sum(p * s + q * r for p, q, r, s in zip(P, Q, R, S)) / (2 * sum_r * sum_s)
           + sum(q * s for q, s in zip(Q, S)) / (2 * sum_s ** 2))
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


def _breslow_day_tarone(tables: list[tuple[int, int, int, int]],
                        odds_ratio: float | None) -> tuple[float | None, float | None, int | None]:
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
