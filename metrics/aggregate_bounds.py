"""Risk ratios from published aggregate tables whose small cells are suppressed (blank).

Leaving a group with a blank count out of the comparison group silently changes every other group's ratio
(in the Washington 2013-14 table it moves many ratios by more than 5% and flips flags). A blank cell is a
count we do not know, not a zero and not an absent group: it is counted in the comparison group as an
interval, from 0 up to what the scope's published total leaves over, and the ratio becomes an interval.
Where the totals cannot bound it, the row is marked (docs/METHODOLOGY.md "Aggregate tables with
suppressed cells").
"""

from __future__ import annotations

from fractions import Fraction

import polars as pl

from metrics.config import DEFAULT_SETTINGS, MetricSettings
from metrics.frames import require_columns

COMPLETE = "complete"  # no blank cell among the other groups: the exact ratio
INTERVAL = "interval"  # blank cells bounded by the scope's totals: the ratio lies between the bounds
MARKED = "marked"  # blank cells the totals cannot bound (no total, or the parts exceed it): no ratio

BOUNDS_SCHEMA: dict[str, pl.DataType] = {
    "scope": pl.String(),
    "dimension": pl.String(),
    "group": pl.String(),
    "n": pl.Int64(),
    "k": pl.Int64(),
    "risk": pl.Float64(),
    "blank_groups": pl.String(),
    "comparison_n_low": pl.Int64(),
    "comparison_n_high": pl.Int64(),
    "comparison_k_low": pl.Int64(),
    "comparison_k_high": pl.Int64(),
    "risk_ratio": pl.Float64(),
    "risk_ratio_low": pl.Float64(),
    "risk_ratio_high": pl.Float64(),
    "flag": pl.String(),
    "status": pl.String(),
    "note": pl.String(),
}


def comparison_bounds(
    cells: pl.DataFrame, totals: pl.DataFrame | None, settings: MetricSettings = DEFAULT_SETTINGS
) -> pl.DataFrame:
    """One row per group with both counts published (BOUNDS_SCHEMA), its comparison group every other group
    of the scope and dimension, a blank one included as an interval.

    `cells`: scope, dimension, group, n, k (null = suppressed). `totals` (optional): scope, n_total, k_total,
    the scope's published all-students counts. The blank cells of the other groups together hold at least 0
    and at most the total minus every published part (the total may also hold students in no listed group,
    so it is an upper bound only). With the comparison n in [n_low, n_high] and k in [k_low, k_high],
    risk_ratio_low = risk / (k_high / n_low) and risk_ratio_high = risk / (k_low / n_high) (blank when
    k_low is 0: no upper bound). flag: 'flagged' when even risk_ratio_low exceeds the threshold, 'not
    flagged' when risk_ratio_high does not, 'undetermined' between; blank when the group or the comparison
    (at its smallest) is under the minimum sizes.
    """
    require_columns(cells, ["scope", "dimension", "group", "n", "k"], "comparison_bounds")
    rows = []
    total_of = {}
    if totals is not None:
        require_columns(totals, ["scope", "n_total", "k_total"], "comparison_bounds totals")
        total_of = {r["scope"]: (r["n_total"], r["k_total"]) for r in totals.iter_rows(named=True)}
    for (scope, dimension), part in cells.partition_by(
        ["scope", "dimension"], as_dict=True, maintain_order=True
    ).items():
        groups = part.select("group", "n", "k").rows()
        n_total, k_total = total_of.get(scope, (None, None))
        n_left = None if n_total is None else n_total - sum(n for _, n, _ in groups if n is not None)
        k_left = None if k_total is None else k_total - sum(k for _, _, k in groups if k is not None)
        for group, n, k in groups:
            if n is None or k is None or n == 0:
                continue
            rows.append(_bounded_row(str(scope), str(dimension), str(group), n, k, groups, n_left, k_left, settings))
    return pl.DataFrame(rows, schema=BOUNDS_SCHEMA, orient="row")


def _bounded_row(scope, dimension, group, n, k, groups, n_left, k_left, settings: MetricSettings) -> tuple:
    others = [(g, gn, gk) for g, gn, gk in groups if g != group]
    blank = [g for g, gn, gk in others if gn is None or gk is None]
    n_known = sum(gn for _, gn, _ in others if gn is not None)
    k_known = sum(gk for _, _, gk in others if gk is not None)
    blank_n = any(gn is None for _, gn, _ in others)
    blank_k = any(gk is None for _, _, gk in others)
    risk = k / n
    note = ""
    if not blank:
        status, n_lo, n_hi, k_lo, k_hi = COMPLETE, n_known, n_known, k_known, k_known
    elif (blank_n and (n_left is None or n_left < 0)) or (blank_k and (k_left is None or k_left < 0)):
        status, n_lo, n_hi, k_lo, k_hi = MARKED, n_known, None, k_known, None
        note = f"comparison group has suppressed counts ({', '.join(blank)}) that the published totals " + (
            "do not give" if (n_left is None or k_left is None) else "cannot bound: the parts exceed the total"
        )
    else:
        status = INTERVAL
        n_lo, n_hi = n_known, n_known + (n_left if blank_n else 0)
        k_lo, k_hi = k_known, k_known + (k_left if blank_k else 0)
        note = f"comparison group includes suppressed counts ({', '.join(blank)}), counted as an interval"
    ratio = low = high = None
    flag = None
    passes = k >= settings.min_cell and n >= settings.min_n and k > 0
    if status != MARKED and passes and n_lo >= settings.min_n and k_lo >= settings.min_cell and k_lo > 0:
        low = risk / (k_hi / n_lo)
        high = risk / (k_lo / n_hi)
        if status == COMPLETE:
            ratio = low
        # decided on exact fractions, as the flag of metrics.disproportionality (3.0 is not above 3.0)
        threshold = Fraction(str(settings.threshold))
        if Fraction(k * n_lo, n * k_hi) > threshold:
            flag = "flagged"
        elif Fraction(k * n_hi, n * k_lo) <= threshold:
            flag = "not flagged"
        else:
            flag = "undetermined"
    elif status != MARKED and passes:
        note = (note + "; " if note else "") + "comparison group too small for a ratio at its smallest"
    return (
        scope,
        dimension,
        group,
        n,
        k,
        risk,
        ",".join(blank),
        n_lo,
        n_hi,
        k_lo,
        k_hi,
        ratio,
        low,
        high,
        flag,
        status,
        note,
    )
