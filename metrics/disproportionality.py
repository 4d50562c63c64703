"""Risk ratios by group against all other students, as 34 CFR 300.647 and the spec's
disproportionality.csv define them; docs/METHODOLOGY.md gives every formula and its source."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Sequence

import numpy as np
import polars as pl
from scipy import special, stats
from scipy.stats.contingency import relative_risk

from metrics.config import DEFAULT_SETTINGS, MetricSettings
from metrics.frames import finite_or_none, require_columns

SLICE_KEY = ("school_year", "scope", "outcome", "dimension")
STATE_KEY = ("school_year", "outcome", "dimension")
BH_FAMILY = ("school_year", "scope", "outcome")

# One slice's rows: the spec's columns from group to flagged, then the extras this project adds.
ROW_SCHEMA: dict[str, pl.DataType] = {
    "group": pl.String, "n": pl.Int64, "k": pl.Int64,
    "comparison_n": pl.Int64, "comparison_k": pl.Int64,
    "risk": pl.Float64, "comparison_risk": pl.Float64,
    "risk_ratio": pl.Float64, "ratio_method": pl.String,
    "rr_ci_low": pl.Float64, "rr_ci_high": pl.Float64,
    "risk_difference": pl.Float64, "p_value": pl.Float64, "flagged": pl.Boolean,
    "outcome_share": pl.Float64, "population_share": pl.Float64, "weighted_risk_ratio": pl.Float64,
}
# disproportionality.csv: the spec's columns in the spec's order, then the extras.
EXPORT_COLUMNS = (*SLICE_KEY, "group", "n", "k", "comparison_n", "comparison_k", "risk", "comparison_risk",
                  "risk_ratio", "ratio_method", "rr_ci_low", "rr_ci_high", "risk_difference", "p_value",
                  "q_value", "flagged", "outcome_share", "population_share", "weighted_risk_ratio", "persistent")


@dataclass(frozen=True)
class _Counts:
    group: str
    n: int
    k: int


def disproportionality(counts: pl.DataFrame, state_reference: pl.DataFrame | None = None,
                       settings: MetricSettings = DEFAULT_SETTINGS) -> pl.DataFrame:
    """Each group against all other students of one school_year x scope x outcome x dimension.

    `counts` and `state_reference` have columns group, n, k (students in the group, of them with the
    outcome); the state counts feed the alternate and weighted risk ratios. Rows with n = 0 are left out.
    """
    local = _read_counts(counts, "counts")
    state = _read_counts(state_reference, "state_reference") if state_reference is not None else None
    total_n = sum(c.n for c in local)
    total_k = sum(c.k for c in local)
    rows = [_row(c, total_n, total_k, local, state, settings) for c in local if c.n > 0]
    return pl.DataFrame(rows, schema=ROW_SCHEMA, orient="row")


def disproportionality_table(counts: pl.DataFrame, state_reference: pl.DataFrame | None = None,
                             settings: MetricSettings = DEFAULT_SETTINGS) -> pl.DataFrame:
    """The rows of disproportionality.csv for many slices at once, with q values and persistence.

    `counts`: school_year, scope, outcome, dimension, group, n, k. `state_reference` (optional):
    school_year, outcome, dimension, group, n, k. Output columns: EXPORT_COLUMNS.
    """
    require_columns(counts, [*SLICE_KEY, "group", "n", "k"], "disproportionality_table counts")
    states: dict[tuple, pl.DataFrame] = {}
    if state_reference is not None:
        require_columns(state_reference, [*STATE_KEY, "group", "n", "k"], "disproportionality_table state_reference")
        states = state_reference.partition_by(list(STATE_KEY), as_dict=True)
    parts = []
    for key, part in counts.partition_by(list(SLICE_KEY), as_dict=True, maintain_order=True).items():
        school_year, scope, outcome, dimension = key
        rows = disproportionality(part.select("group", "n", "k"), states.get((school_year, outcome, dimension)),
                                  settings)
        parts.append(rows.select(
            pl.lit(school_year, pl.String).alias("school_year"), pl.lit(scope, pl.String).alias("scope"),
            pl.lit(outcome, pl.String).alias("outcome"), pl.lit(dimension, pl.String).alias("dimension"),
            pl.all()))
    if not parts:
        empty = {c: pl.String for c in SLICE_KEY} | ROW_SCHEMA | {"q_value": pl.Float64, "persistent": pl.Boolean}
        return pl.DataFrame(schema=empty).select(EXPORT_COLUMNS)
    table = pl.concat(parts)
    q = pl.col("p_value").map_batches(
        lambda s: pl.Series(benjamini_hochberg(s.to_list()), dtype=pl.Float64), return_dtype=pl.Float64)
    table = table.with_columns(q.over(list(BH_FAMILY)).alias("q_value"))
    return flag_persistence(table, settings).select(EXPORT_COLUMNS)


def benjamini_hochberg(p_values: Sequence[float | None]) -> list[float | None]:
    """BH (1995) q values; a blank p stays blank and is not counted among the tests."""
    present = [i for i, p in enumerate(p_values) if p is not None]
    q: list[float | None] = [None] * len(p_values)
    if present:
        adjusted = stats.false_discovery_control(np.array([p_values[i] for i in present], dtype=float), method="bh")
        for i, value in zip(present, adjusted):
            q[i] = finite_or_none(value)
    return q


def flag_persistence(table: pl.DataFrame, settings: MetricSettings = DEFAULT_SETTINGS) -> pl.DataFrame:
    """Add `persistent`: flagged this year and in each of the years just before (persistence_years in all).

    34 CFR 300.647(d)(1) lets a state wait for up to three consecutive years above the threshold;
    a missing year breaks the run.
    """
    key = ["scope", "outcome", "dimension", "group"]
    require_columns(table, ["school_year", *key, "flagged"], "flag_persistence")
    start = pl.col("school_year").str.slice(0, 4).cast(pl.Int32)
    base = table.with_columns(start.alias("_start"))
    flags = base.select(*key, "_start", "flagged")
    persistent = pl.col("flagged")
    for back in range(1, settings.persistence_years):
        earlier = flags.select(*key, (pl.col("_start") + back).alias("_start"), pl.col("flagged").alias(f"_f{back}"))
        base = base.join(earlier, on=[*key, "_start"], how="left", nulls_equal=True)
        persistent = persistent & pl.col(f"_f{back}").fill_null(False)
    helpers = ["_start", *[f"_f{b}" for b in range(1, settings.persistence_years)]]
    return base.with_columns(persistent.alias("persistent")).drop(helpers)


def _row(c: _Counts, total_n: int, total_k: int, local: list[_Counts], state: list[_Counts] | None,
         settings: MetricSettings) -> tuple:
    cn, ck = total_n - c.n, total_k - c.k
    risk = c.k / c.n
    comparison_risk = ck / cn if cn > 0 else None
    method, ref_k, ref_n = _ratio_method(c, ck, cn, state, settings)
    ratio = low = high = None
    flagged = False
    if method != "none":
        ratio, low, high = _katz(c.k, c.n, ref_k, ref_n, 1 - settings.alpha)
        flagged = Fraction(c.k * ref_n) > Fraction(str(settings.threshold)) * c.n * ref_k
    return (
        c.group, c.n, c.k, cn, ck, risk, comparison_risk, ratio, method, low, high,
        None if comparison_risk is None else risk - comparison_risk,
        _fisher(c.k, c.n, ck, cn) if cn > 0 else None,
        flagged,
        c.k / total_k if total_k > 0 else None,
        c.n / total_n,
        _weighted_risk_ratio(c, local, state, settings),
    )


def _passes(k: int, n: int, settings: MetricSettings) -> bool:
    return k >= settings.min_cell and n >= settings.min_n


def _ratio_method(c: _Counts, ck: int, cn: int, state: list[_Counts] | None,
                  settings: MetricSettings) -> tuple[str, int, int]:
    """Which ratio the sizes allow, and the comparison counts it divides by (34 CFR 300.647(b)(5))."""
    if not _passes(c.k, c.n, settings) or c.k == 0:
        return "none", 0, 0
    if _passes(ck, cn, settings) and ck > 0:
        return "risk_ratio", ck, cn
    if state is not None:
        state_n = sum(s.n for s in state if s.group != c.group)
        state_k = sum(s.k for s in state if s.group != c.group)
        if state_n > 0 and state_k > 0:
            return "alternate_risk_ratio", state_k, state_n
    return "none", 0, 0


@lru_cache(maxsize=65_536)
def _katz(k: int, n: int, ref_k: int, ref_n: int, level: float) -> tuple[float | None, ...]:
    """Ratio (exact, then rounded once) and Katz log CI; scipy's relative_risk wants Python ints."""
    ci = relative_risk(int(k), int(n), int(ref_k), int(ref_n)).confidence_interval(confidence_level=level)
    return float(Fraction(k * ref_n, n * ref_k)), finite_or_none(ci.low), finite_or_none(ci.high)


@lru_cache(maxsize=65_536)
def _fisher(k: int, n: int, ck: int, cn: int) -> float | None:
    """Fisher's exact two-sided p for [[k, n-k], [ck, cn-ck]], as scipy.stats.fisher_exact defines it.

    Summed over the hypergeometric support in one vectorised pass: scipy's per-table search costs
    about 1.5 ms, too slow for a state's hundreds of thousands of rows.
    """
    total, events = n + cn, k + ck
    support = np.arange(max(0, n - (total - events)), min(n, events) + 1)
    log_pmf = _log_choose(events, support) + _log_choose(total - events, n - support) - _log_choose(total, n)
    observed = log_pmf[k - support[0]]
    p = np.exp(log_pmf[log_pmf <= observed + _FISHER_RELATIVE_TOLERANCE]).sum()
    return finite_or_none(min(1.0, p))


# scipy counts tables with a probability up to 1 + 1e-7 times the observed one as "as extreme".
_FISHER_RELATIVE_TOLERANCE = np.log1p(1e-7)


def _log_choose(a: int | np.ndarray, b: int | np.ndarray) -> np.ndarray:
    return special.gammaln(np.add(a, 1)) - special.gammaln(np.add(b, 1)) - special.gammaln(np.subtract(a, b) + 1)


def _weighted_risk_ratio(c: _Counts, local: list[_Counts], state: list[_Counts] | None,
                         settings: MetricSettings) -> float | None:
    """Group risk over the other groups' local risks weighted by their state population shares."""
    if state is None or not _passes(c.k, c.n, settings):
        return None
    state_n = {s.group: s.n for s in state}
    others = [(state_n.get(o.group, 0), o.k / o.n) for o in local if o.group != c.group and o.n > 0]
    weight = sum(w for w, _ in others)
    if weight <= 0:
        return None
    comparison = sum(w * r for w, r in others) / weight
    return finite_or_none(c.k / c.n / comparison) if comparison > 0 else None


def _read_counts(frame: pl.DataFrame, where: str) -> list[_Counts]:
    """Whole, non-negative counts with k <= n and each group once, or a message naming the group."""
    require_columns(frame, ["group", "n", "k"], f"disproportionality {where}")
    seen: set[str] = set()
    out = []
    for group, n, k in frame.select("group", "n", "k").iter_rows():
        if group is None or n is None or k is None:
            raise ValueError(f"disproportionality {where}: group {group!r} has a blank group, n or k")
        if group in seen:
            raise ValueError(f"disproportionality {where}: group {group!r} appears twice")
        seen.add(group)
        if n != int(n) or k != int(k) or not 0 <= k <= n:
            raise ValueError(f"disproportionality {where}: group {group!r} has n={n}, k={k}; "
                             "counts must be whole numbers with 0 <= k <= n")
        out.append(_Counts(str(group), int(n), int(k)))
    return out

