"""Levels of concern by group: the ordered distribution, and whether it depends on the group.

BTAM levels drive supports; a group rated high more often than others is a question for the team's
own bias check (NASP), and the test below says whether the difference is more than chance.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl
from scipy import special, stats

from data_contracts.interchange import CONCERN_LEVELS
from metrics import _montecarlo
from metrics._montecarlo import count_at_least
from metrics.config import DEFAULT_SETTINGS, MetricSettings
from metrics.frames import codes, finite_or_none, first_seen_ids, require_columns, require_unique

MIN_EXPECTED = 5  # the usual rule for trusting the chi-square approximation (Cochran 1954)


@dataclass(frozen=True)
class IndependenceTest:
    """statistic is always Pearson's chi-square without correction; p_value comes from `method`."""

    method: str  # chi_square, fisher_exact, monte_carlo, or not_applicable
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
    grid = (
        levels.select(*by)
        .unique(maintain_order=True)
        .join(
            pl.DataFrame({"concern_level": list(CONCERN_LEVELS), "_rank": list(range(len(CONCERN_LEVELS)))}),
            how="cross",
        )
    )
    out = (
        grid.join(levels, on=[*by, "concern_level"], how="left", nulls_equal=True)
        .with_columns(pl.col("n").fill_null(0))
        .sort([*by, "_rank"], maintain_order=True)
    )
    total = pl.col("n").sum().over(list(by))
    return out.with_columns(
        pl.when(total > 0).then(pl.col("n") / total).otherwise(None).alias("share"),
        pl.when(total > 0).then(pl.col("n").cum_sum().over(list(by)) / total).otherwise(None).alias("cumulative_share"),
    ).drop("_rank")


def concern_independence(
    counts: pl.DataFrame, by: str = "group", settings: MetricSettings = DEFAULT_SETTINGS
) -> IndependenceTest:
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
    return IndependenceTest(
        method, finite_or_none(pearson.statistic), df, finite_or_none(p), n, groups, kept_levels, expected_min
    )


def concern_independence_table(
    counts: pl.DataFrame, by: Sequence[str], group: str = "group", settings: MetricSettings = DEFAULT_SETTINGS
) -> pl.DataFrame:
    """concern_independence of `group` within each group of `by`, every table at once.

    Output: the `by` columns, method, statistic, df, p_value, n, groups and levels (lists, those kept),
    min_expected; one row per group of `by`, in the order they first appear. The numbers are
    concern_independence's: scipy's chi-square arithmetic, batched over tables of one shape; Fisher's
    exact test once per distinct 2 x 2 table; and the Monte Carlo null distribution once per distinct pair
    of margins, since every test draws from a generator seeded alike and the draws depend on the margins
    only (scipy.stats.random_table), so tables with the same margins share it exactly.
    """
    levels = _level_counts(counts, [*by, group], "concern_independence")
    schema = {c: counts.schema[c] for c in by} | {
        "method": pl.String,
        "statistic": pl.Float64,
        "df": pl.Int64,
        "p_value": pl.Float64,
        "n": pl.Int64,
        "groups": pl.List(pl.String),
        "levels": pl.List(pl.String),
        "min_expected": pl.Float64,
    }
    if counts.height == 0:
        return pl.DataFrame(schema=schema)
    # tests are the groups of `by` among all rows, those with no assessed case included
    every = first_seen_ids(codes(counts, list(by))) if by else np.zeros(counts.height, dtype=np.int64)
    tests = int(every.max()) + 1
    tid = every[counts["concern_level"].is_not_null().to_numpy()]
    # rows of each test: its groups in the order they first appear within it
    pair = first_seen_ids(tid * (levels.height + 1) + first_seen_ids(codes(levels, [group])))
    pair_test = np.zeros(int(pair.max()) + 1 if pair.size else 0, dtype=np.int64)
    pair_test[pair] = tid
    pair_label = [None] * pair_test.size
    for i, value in zip(pair.tolist(), levels[group].to_list()):
        if pair_label[i] is None:
            pair_label[i] = str(value)
    rank = {lvl: i for i, lvl in enumerate(CONCERN_LEVELS)}
    level_ix = levels["concern_level"].replace_strict(rank, return_dtype=pl.Int64).to_numpy()
    cells = np.zeros((pair_test.size, len(CONCERN_LEVELS)), dtype=np.int64)
    np.add.at(cells, (pair, level_ix), levels["n"].to_numpy())
    out = {
        "method": ["not_applicable"] * tests,
        "statistic": [None] * tests,
        "df": [None] * tests,
        "p_value": [None] * tests,
        "n": [0] * tests,
        "groups": [[] for _ in range(tests)],
        "levels": [[] for _ in range(tests)],
        "min_expected": [None] * tests,
    }
    by_shape: dict[tuple[int, int], list[tuple[int, np.ndarray]]] = {}
    pair_order = np.argsort(pair_test, kind="stable")
    starts = np.searchsorted(pair_test[pair_order], np.arange(tests + 1))
    for t_ in range(tests):
        rows = pair_order[starts[t_] : starts[t_ + 1]]
        table = cells[rows]
        keep_rows, keep_cols = table.sum(axis=1) > 0, table.sum(axis=0) > 0
        table = table[keep_rows][:, keep_cols]
        out["groups"][t_] = [pair_label[r] for r, keep in zip(rows.tolist(), keep_rows) if keep]
        out["levels"][t_] = [lvl for lvl, keep in zip(CONCERN_LEVELS, keep_cols) if keep]
        out["n"][t_] = int(table.sum())
        if table.shape[0] >= 2 and table.shape[1] >= 2:
            by_shape.setdefault(table.shape, []).append((t_, table))
    monte_carlo: dict[tuple, list] = {}  # tables by margins: one null distribution each
    for (r, c), items in by_shape.items():
        observed = np.stack([tab for _, tab in items]).astype(np.float64)
        total = observed.sum(axis=(1, 2))
        expected = observed.sum(axis=2)[:, :, None] * observed.sum(axis=1)[:, None, :] / total[:, None, None]
        statistic = ((observed - expected) ** 2 / expected).reshape(len(items), r * c).sum(axis=-1)
        dof = r * c - r - c + 1
        pearson_p = special.chdtrc(float(dof), statistic)
        min_expected = expected.reshape(len(items), r * c).min(axis=1)
        for i, (t_, tab) in enumerate(items):
            if min_expected[i] >= MIN_EXPECTED:
                method, p = "chi_square", pearson_p[i]
            elif (r, c) == (2, 2):
                method, p = "fisher_exact", _fisher_2x2(tuple(tab.ravel().tolist()))
            else:
                method, p = "monte_carlo", None
                margins = (tuple(tab.sum(axis=1).tolist()), tuple(tab.sum(axis=0).tolist()))
                monte_carlo.setdefault(margins, []).append((t_, tab, expected[i]))
            out["method"][t_], out["statistic"][t_], out["df"][t_] = method, finite_or_none(statistic[i]), dof
            out["p_value"][t_], out["min_expected"][t_] = finite_or_none(p), float(min_expected[i])
    jobs = [
        (rows_, cols_, [_observed_statistic(tab, expected_) for _, tab, expected_ in tables])
        for (rows_, cols_), tables in monte_carlo.items()
    ]
    reached = _monte_carlo_counts(jobs, settings.permutations, settings.seed)
    for tables, at_least in zip(monte_carlo.values(), reached):
        for (t_, _, _), count in zip(tables, at_least):
            p = np.clip((count + 1.0) / (settings.permutations + 1.0), 0.0, 1.0)
            out["p_value"][t_] = finite_or_none(p)
    first = np.full(tests, every.size, dtype=np.int64)
    np.minimum.at(first, every, np.arange(every.size))
    values = pl.DataFrame(out, schema={k: v for k, v in schema.items() if k not in by})
    if not by:
        return values
    return pl.concat([counts.select(by)[first], values], how="horizontal").select(list(schema))


@lru_cache(maxsize=65_536)
def _fisher_2x2(cells: tuple[int, int, int, int]) -> float:
    a, b, c, d = cells
    return stats.fisher_exact([[a, b], [c, d]]).pvalue


def _observed_statistic(table: np.ndarray, expected: np.ndarray) -> float:
    """The statistic scipy's monte_carlo_test computes for the observed table (flattened)."""
    return np.sum((table.ravel() - expected.ravel()) ** 2 / expected.ravel(), axis=-1)


# Above this many distinct margins, a second process draws half of the null distributions.
_PARALLEL_FROM = 400

# Counts already drawn in this process, by (rowsums, colsums, permutations, seed, observed statistic): the
# draws depend on nothing else, so a repeated request (another page view, another scope holding the same
# table) gives the very same p-value without drawing 10,000 tables again. Bounded; cleared when full.
_MEMO: dict[tuple, float] = {}
_MEMO_MAX = 200_000  # entries of ~200 bytes: at most ~40 MB; a state-size export needs ~10,000
_MEMO_LOCK = threading.Lock()


def clear_monte_carlo_memo() -> None:
    """Forget the counts drawn so far (tests use it to exercise the drawing paths)."""
    with _MEMO_LOCK:
        _MEMO.clear()


def _monte_carlo_counts(jobs: list, permutations: int, seed: int) -> list[list[float]]:
    """_drawn_counts of the jobs, each (margins, observed statistic) drawn at most once per process."""
    keys = [[(rows, cols, permutations, seed, float(value)) for value in observed] for rows, cols, observed in jobs]
    out: list = [None] * len(jobs)
    with _MEMO_LOCK:
        for i, job_keys in enumerate(keys):
            if all(k in _MEMO for k in job_keys):
                out[i] = [_MEMO[k] for k in job_keys]
    todo = [i for i, counts in enumerate(out) if counts is None]
    if not todo:
        return out
    drawn = _drawn_counts([jobs[i] for i in todo], permutations, seed)
    with _MEMO_LOCK:
        if len(_MEMO) + sum(len(keys[i]) for i in todo) > _MEMO_MAX:
            _MEMO.clear()
        for i, counts in zip(todo, drawn):
            out[i] = counts
            _MEMO.update(zip(keys[i], counts))
    return out


def _drawn_counts(jobs: list, permutations: int, seed: int) -> list[list[float]]:
    """For each (rowsums, colsums, observed statistics): how many of the null statistics reach each observed
    one, with monte_carlo_test's tolerance (p = (count + 1) / (permutations + 1)).

    With many margins, a helper process (metrics/_montecarlo.py, started by path) draws every other one
    while this process draws the rest: the draws are the same wherever they run."""
    if len(jobs) < _PARALLEL_FROM or (os.cpu_count() or 1) < 2:
        return count_at_least(jobs, permutations, seed)
    order = sorted(range(len(jobs)), key=lambda i: -sum(jobs[i][0]) * len(jobs[i][0]) * len(jobs[i][1]))
    theirs, ours = order[0::2], order[1::2]
    out: list = [None] * len(jobs)
    try:
        helper = subprocess.Popen(
            [sys.executable, str(Path(_montecarlo.__file__))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return count_at_least(jobs, permutations, seed)
    try:
        pickle.dump(([jobs[i] for i in theirs], permutations, seed), helper.stdin)
        helper.stdin.close()
        for i, counts in zip(ours, count_at_least([jobs[i] for i in ours], permutations, seed)):
            out[i] = counts
        answer = pickle.load(helper.stdout)
        helper.wait()
    except (OSError, EOFError, pickle.UnpicklingError):
        helper.kill()
        helper.wait()
        answer = count_at_least([jobs[i] for i in theirs], permutations, seed)
    for i, counts in zip(theirs, answer):
        out[i] = counts
    return out


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


# Scores of the ordered levels for the ordinal test: equally spaced, low = 1 ... imminent = 4.
LEVEL_SCORES: dict[str, float] = {level: float(i + 1) for i, level in enumerate(CONCERN_LEVELS)}


@dataclass(frozen=True)
class OrdinalTest:
    """Row-mean-scores test of whether groups differ in the mean score of the ordered levels."""

    statistic: float | None
    df: int | None
    p_value: float | None
    n: int


def row_mean_scores(table: np.ndarray, scores: Sequence[float]) -> OrdinalTest:
    """Do the groups (rows, unordered) differ in their mean level score (columns, ordered)?

    Q = (N - 1) / (N v) x sum_i n_i (f_i - a)^2, chi-square on K - 1 df, where f_i is row i's mean score,
    a the overall mean score and v = sum_j n_+j (s_j - a)^2 / N (Mantel 1963; Landis, Heyman & Koch 1978;
    SAS PROC FREQ's "row mean scores differ"). Two rows: the linear-by-linear association test
    M^2 = (N - 1) r^2 (Agresti 2013, section 3.4), the Cochran-Armitage trend test up to (N - 1) / N.
    With midrank scores it is the Kruskal-Wallis test corrected for ties.
    """
    table = np.asarray(table, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    if table.ndim != 2 or table.shape[1] != s.size:
        raise ValueError(f"row_mean_scores: {table.shape} table for {s.size} scores")
    table = table[table.sum(axis=1) > 0]
    n_total = table.sum()
    rows, columns = table.sum(axis=1), table.sum(axis=0)
    if table.shape[0] < 2 or n_total < 2:
        return OrdinalTest(None, None, None, int(n_total))
    mean = float(columns @ s / n_total)
    variance = float(columns @ (s - mean) ** 2 / n_total)
    if variance <= 0:  # every case at one level (or levels scored alike): nothing to compare
        return OrdinalTest(None, None, None, int(n_total))
    row_means = table @ s / rows
    statistic = (n_total - 1) / (n_total * variance) * float(rows @ (row_means - mean) ** 2)
    df = table.shape[0] - 1
    return OrdinalTest(finite_or_none(statistic), df, finite_or_none(special.chdtrc(df, statistic)), int(n_total))


def concern_ordinal_table(counts: pl.DataFrame, by: Sequence[str], group: str = "group") -> pl.DataFrame:
    """row_mean_scores of `group` x level (LEVEL_SCORES) within each group of `by`, every table at once: the
    `by` columns, ordinal_statistic, ordinal_df, ordinal_p_value; one row per group of `by` with an assessed
    case, in the order they first appear. Blank where row_mean_scores is (one group, or one level)."""
    levels = _level_counts(counts, [*by, group], "concern_ordinal_table")
    keys = list(by) or ["_all"]
    if not by:
        levels = levels.with_columns(pl.lit(0).alias("_all"))
    score = pl.col("concern_level").replace_strict(LEVEL_SCORES, return_dtype=pl.Float64)
    rows = (
        levels.filter(pl.col("n") > 0)
        .group_by([*keys, group], maintain_order=True)
        .agg(pl.col("n").sum().cast(pl.Float64).alias("n_i"), (score * pl.col("n")).sum().alias("s_i"))
    )
    tests = (
        levels.group_by(keys, maintain_order=True)
        .agg(
            pl.col("n").sum().cast(pl.Float64).alias("N"),
            (score * pl.col("n")).sum().alias("S"),
            (score * score * pl.col("n")).sum().alias("SS"),
        )
        .join(
            rows.group_by(keys).agg(pl.len().alias("k"), (pl.col("s_i") ** 2 / pl.col("n_i")).sum().alias("between")),
            on=keys,
            how="left",
            nulls_equal=True,
            maintain_order="left",
        )
    )
    a = tests.with_columns((pl.col("S") / pl.col("N")).alias("a"))
    # N v = sum n_+j (s_j - a)^2 = SS - N a^2; sum_i n_i (f_i - a)^2 = sum s_i^2 / n_i - N a^2
    a = a.with_columns(
        (pl.col("SS") - pl.col("N") * pl.col("a") ** 2).alias("nv"),
        (pl.col("between") - pl.col("N") * pl.col("a") ** 2).clip(lower_bound=0.0).alias("b"),
    )
    ok = (pl.col("k") >= 2) & (pl.col("N") >= 2) & (pl.col("nv") > 1e-12 * pl.col("N"))
    a = a.with_columns(
        pl.when(ok).then((pl.col("N") - 1) * pl.col("b") / pl.col("nv")).alias("ordinal_statistic"),
        pl.when(ok).then(pl.col("k") - 1).cast(pl.Int64).alias("ordinal_df"),
    )
    p = special.chdtrc(
        a["ordinal_df"].fill_null(1).cast(pl.Float64).to_numpy(),
        a["ordinal_statistic"].fill_null(0.0).to_numpy(),
    )
    out = a.with_columns(
        pl.when(ok).then(pl.Series("p", p, dtype=pl.Float64)).alias("ordinal_p_value"),
    ).select(*keys, "ordinal_statistic", "ordinal_df", "ordinal_p_value")
    return out.drop("_all") if not by else out
