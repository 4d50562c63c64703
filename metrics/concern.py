"""Levels of concern by group: the ordered distribution, and whether it depends on the group.

BTAM levels drive supports; a group rated high more often than others is a question for the team's
own bias check (NASP), and the test below says whether the difference is more than chance.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import polars as pl
from scipy import stats

from data_contracts.interchange import CONCERN_LEVELS
from metrics.config import DEFAULT_SETTINGS, MetricSettings
from metrics.frames import finite_or_none, require_columns, require_unique

MIN_EXPECTED = 5  # the usual rule for trusting the chi-square approximation (Cochran 1954)


@dataclass(frozen=True)
class IndependenceTest:
    """statistic is always Pearson's chi-square without correction; p_value comes from `method`."""

    method: str             # chi_square, fisher_exact, monte_carlo, or not_applicable
    statistic: float | None
    df: int | None
    p_value: float | None
    n: int
    groups: tuple[str, ...]  # rows kept (empty rows dropped)
    levels: tuple[str, ...]  # levels kept (empty columns dropped)
    min_expected: float | None


def concern_distribution(counts: pl.DataFrame, by: Sequence[str] = ("group",)) -> pl.DataFrame:
    """All four levels, lowest first, for every group, with zeros filled in and shares of the group.

    `counts`: the `by` columns, concern_level, n (assessed cases). Rows with a blank concern_level
    (not assessed) are not part of a distribution of levels and are left out.
    Output: the `by` columns, concern_level, n, share, cumulative_share (share of this level or lower).
    """
    levels = _level_counts(counts, by, "concern_distribution")
    grid = levels.select(*by).unique(maintain_order=True).join(
        pl.DataFrame({"concern_level": list(CONCERN_LEVELS), "_rank": list(range(len(CONCERN_LEVELS)))}),
        how="cross")
    out = grid.join(levels, on=[*by, "concern_level"], how="left", nulls_equal=True) \
        .with_columns(pl.col("n").fill_null(0)).sort([*by, "_rank"], maintain_order=True)
    total = pl.col("n").sum().over(list(by))
    return out.with_columns(
        pl.when(total > 0).then(pl.col("n") / total).otherwise(None).alias("share"),
        pl.when(total > 0).then(pl.col("n").cum_sum().over(list(by)) / total).otherwise(None)
        .alias("cumulative_share"),
    ).drop("_rank")


def concern_independence(counts: pl.DataFrame, by: str = "group",
                         settings: MetricSettings = DEFAULT_SETTINGS) -> IndependenceTest:
    """Group x level independence: chi-square when every expected count is >= 5, else Fisher (2x2)
    or a Monte Carlo p over tables with the same margins (settings.permutations, settings.seed)."""
    levels = _level_counts(counts, [by], "concern_independence")
    wide = levels.pivot(on="concern_level", index=by, values="n", aggregate_function="sum").fill_null(0)
    cols = [lvl for lvl in CONCERN_LEVELS if lvl in wide.columns]
    table = wide.select(cols).to_numpy().astype(np.int64) if cols else np.zeros((wide.height, 0), np.int64)
    keep_rows = table.sum(axis=1) > 0
    keep_cols = table.sum(axis=0) > 0
    table = table[keep_rows][:, keep_cols]
    groups = tuple(str(g) for g, keep in zip(wide[by].to_list(), keep_rows) if keep)
    kept_levels = tuple(c for c, keep in zip(cols, keep_cols) if keep)
    n = int(table.sum())
    if table.shape[0] < 2 or table.shape[1] < 2:
        return IndependenceTest("not_applicable", None, None, None, n, groups, kept_levels, None)
    pearson = stats.chi2_contingency(table, correction=False)
    expected_min = float(pearson.expected_freq.min())
    df = int(pearson.dof)
    if expected_min >= MIN_EXPECTED:
        method, p = "chi_square", pearson.pvalue
    elif table.shape == (2, 2):
        method, p = "fisher_exact", stats.fisher_exact(table).pvalue
    else:
        mc = stats.MonteCarloMethod(n_resamples=settings.permutations, rng=np.random.default_rng(settings.seed))
        method, p = "monte_carlo", stats.chi2_contingency(table, correction=False, method=mc).pvalue
    return IndependenceTest(method, finite_or_none(pearson.statistic), df, finite_or_none(p), n, groups,
                            kept_levels, expected_min)


def _level_counts(counts: pl.DataFrame, by: Sequence[str], where: str) -> pl.DataFrame:
    require_columns(counts, [*by, "concern_level", "n"], where)
    assessed = counts.filter(pl.col("concern_level").is_not_null())
    unknown = assessed.filter(~pl.col("concern_level").is_in(list(CONCERN_LEVELS)))
    if unknown.height:
        raise ValueError(f"{where}: concern_level {unknown['concern_level'][0]!r} is not one of {CONCERN_LEVELS}")
    if assessed.filter(pl.col("n").is_null() | (pl.col("n") < 0)).height:
        raise ValueError(f"{where}: n must be a count of cases, 0 or more")
    require_unique(assessed, [*by, "concern_level"], where)
    return assessed.select(*by, pl.col("concern_level").cast(pl.String), pl.col("n").cast(pl.Int64))
