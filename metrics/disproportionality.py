"""Risk ratios by group against all other students, as 34 CFR 300.647 and the spec's
disproportionality.csv define them; docs/METHODOLOGY.md gives every formula and its source."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import polars as pl
from scipy import special, stats

from metrics.config import DEFAULT_SETTINGS, MetricSettings
from metrics.frames import codes, finite_or_none, first_seen_ids, require_columns, segment_sums

SLICE_KEY = ("school_year", "scope", "outcome", "dimension")
STATE_KEY = ("school_year", "outcome", "dimension")
BH_FAMILY = ("school_year", "scope", "outcome")

# One slice's rows: the spec's columns from group to flagged, then the extras this project adds.
ROW_SCHEMA: dict[str, pl.DataType] = {
    "group": pl.String,
    "n": pl.Int64,
    "k": pl.Int64,
    "comparison_n": pl.Int64,
    "comparison_k": pl.Int64,
    "risk": pl.Float64,
    "comparison_risk": pl.Float64,
    "risk_ratio": pl.Float64,
    "ratio_method": pl.String,
    "rr_ci_low": pl.Float64,
    "rr_ci_high": pl.Float64,
    "risk_difference": pl.Float64,
    "p_value": pl.Float64,
    "flagged": pl.Boolean,
    "outcome_share": pl.Float64,
    "population_share": pl.Float64,
    "weighted_risk_ratio": pl.Float64,
    # The comparison the risk ratio and its interval are against, and every field of the row against it
    # (for an alternate ratio the spec's comparison_* fields stay local: these say what the ratio compares).
    "comparison_group": pl.String,
    "ratio_comparison_n": pl.Int64,
    "ratio_comparison_k": pl.Int64,
    "ratio_comparison_risk": pl.Float64,
    "ratio_risk_difference": pl.Float64,
    "ratio_p_value": pl.Float64,
}
# comparison_group values: all other students of the population in the scope, or, for an alternate risk
# ratio, the other groups' students in the state reference.
OTHERS_IN_SCOPE = "others_in_scope"
OTHERS_IN_STATE = "others_in_state"
# disproportionality.csv: the spec's columns in the spec's order, then the extras.
EXPORT_COLUMNS = (
    *SLICE_KEY,
    "group",
    "n",
    "k",
    "comparison_n",
    "comparison_k",
    "risk",
    "comparison_risk",
    "risk_ratio",
    "ratio_method",
    "rr_ci_low",
    "rr_ci_high",
    "risk_difference",
    "p_value",
    "q_value",
    "flagged",
    "outcome_share",
    "population_share",
    "weighted_risk_ratio",
    "persistent",
    "comparison_group",
    "ratio_comparison_n",
    "ratio_comparison_k",
    "ratio_comparison_risk",
    "ratio_risk_difference",
    "ratio_p_value",
)


def disproportionality(
    counts: pl.DataFrame, state_reference: pl.DataFrame | None = None, settings: MetricSettings = DEFAULT_SETTINGS
) -> pl.DataFrame:
    """Each group against all other students of one school_year x scope x outcome x dimension.

    `counts` and `state_reference` have columns group, n, k (students in the group, of them with the
    outcome); the state counts feed the alternate and weighted risk ratios. Rows with n = 0 are left out.
    """
    require_columns(counts, ["group", "n", "k"], "disproportionality counts")
    if state_reference is not None:
        require_columns(state_reference, ["group", "n", "k"], "disproportionality state_reference")
    key = {c: pl.lit("", pl.String).alias(c) for c in SLICE_KEY}
    local = counts.select(*key.values(), "group", "n", "k")
    state = None if state_reference is None else state_reference.select(*(key[c] for c in STATE_KEY), "group", "n", "k")
    return _slice_rows(local, state, settings).select(list(ROW_SCHEMA))


def disproportionality_table(
    counts: pl.DataFrame,
    state_reference: pl.DataFrame | None = None,
    settings: MetricSettings = DEFAULT_SETTINGS,
    tests: bool = True,
) -> pl.DataFrame:
    """The rows of disproportionality.csv for many slices at once, with q values and persistence.

    `counts`: school_year, scope, outcome, dimension, group, n, k. `state_reference` (optional):
    school_year, outcome, dimension, group, n, k. Output columns: EXPORT_COLUMNS.

    Every slice is computed at once over whole columns; the result is the same, row for row, as
    `disproportionality` run on each slice in the order the slices first appear (the regression test
    keeps that per-slice code as its reference). `tests=False` leaves p_value, q_value and ratio_p_value blank: Fisher's
    test is most of the cost, and flags and persistence do not use it.
    """
    require_columns(counts, [*SLICE_KEY, "group", "n", "k"], "disproportionality_table counts")
    if state_reference is not None:
        require_columns(state_reference, [*STATE_KEY, "group", "n", "k"], "disproportionality_table state_reference")
    table = _slice_rows(
        counts.select(*SLICE_KEY, "group", "n", "k"),
        None if state_reference is None else state_reference.select(*STATE_KEY, "group", "n", "k"),
        settings,
        tests,
    )
    if table.height == 0:
        empty = {c: pl.String for c in SLICE_KEY} | ROW_SCHEMA | {"q_value": pl.Float64, "persistent": pl.Boolean}
        return pl.DataFrame(schema=empty).select(EXPORT_COLUMNS)
    table = table.with_columns(_bh_by_family(table))
    persistent = _persistent(table, settings)
    if persistent is None:
        return flag_persistence(table, settings).select(EXPORT_COLUMNS)
    return table.with_columns(persistent).select(EXPORT_COLUMNS)


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
        base = base.join(earlier, on=[*key, "_start"], how="left", nulls_equal=True, maintain_order="left")
        persistent = persistent & pl.col(f"_f{back}").fill_null(False)
    helpers = ["_start", *[f"_f{b}" for b in range(1, settings.persistence_years)]]
    return base.with_columns(persistent.alias("persistent")).drop(helpers)


def _bh_by_family(table: pl.DataFrame) -> pl.Series:
    """q_value: benjamini_hochberg within each BH_FAMILY, for all families at once.

    scipy.stats.false_discovery_control: sort, p * (m / i), running minimum from the largest p down,
    clipped to [0, 1]; tied p values get the same q whatever their order, so a grouped rank does it.
    """
    p = table["p_value"].to_numpy(allow_copy=True).astype(np.float64)
    tested = np.flatnonzero(~np.isnan(p))
    q = np.full(table.height, np.nan)
    if tested.size:
        family = codes(table, list(BH_FAMILY))[tested]
        order = np.lexsort((p[tested], family))
        family, p_sorted = family[order], p[tested][order]
        starts = np.flatnonzero(np.diff(family, prepend=family[0] - 1))
        sizes = np.diff(starts, append=family.size)
        m = np.repeat(sizes, sizes).astype(np.float64)
        i = (np.arange(family.size) - np.repeat(starts, sizes) + 1).astype(np.float64)
        adjusted = (
            pl.DataFrame({"f": family, "a": p_sorted * (m / i)})
            .select(pl.col("a").cum_min(reverse=True).over("f"))
            .to_series()
            .to_numpy()
        )
        q[tested[order]] = np.clip(adjusted, 0.0, 1.0)
    return pl.Series("q_value", q, dtype=pl.Float64).fill_nan(None)


def _persistent(table: pl.DataFrame, settings: MetricSettings) -> pl.Series | None:
    """flag_persistence's column by one sort instead of joins; None (use flag_persistence) when a year
    is not of the form 2024-25 or a scope x outcome x dimension x group x year repeats."""
    start = table.select(pl.col("school_year").str.slice(0, 4).cast(pl.Int32, strict=False)).to_series()
    if start.null_count():
        return None
    key = codes(table, ["scope", "outcome", "dimension", "group"])
    start = start.to_numpy().astype(np.int64)
    flagged = table["flagged"].to_numpy().astype(bool)
    order = np.lexsort((start, key))
    key, start, flagged = key[order], start[order], flagged[order]
    if ((key[1:] == key[:-1]) & (start[1:] == start[:-1])).any():
        return None
    persistent = flagged.copy()
    for back in range(1, settings.persistence_years):
        earlier = np.zeros(key.size, dtype=bool)
        earlier[back:] = (key[back:] == key[:-back]) & (start[:-back] == start[back:] - back) & flagged[:-back]
        persistent &= earlier
    out = np.empty(key.size, dtype=bool)
    out[order] = persistent
    return pl.Series("persistent", out, dtype=pl.Boolean)


def _slice_rows(
    counts: pl.DataFrame, state: pl.DataFrame | None, settings: MetricSettings, tests: bool = True
) -> pl.DataFrame:
    """The ROW_SCHEMA columns, keyed by SLICE_KEY, of every slice of `counts` at once, and `_slice`.

    `counts`: SLICE_KEY, group, n, k; `state`: STATE_KEY, group, n, k (or None). Slices come out in the
    order they first appear (`_slice` numbers them so), each slice's groups in their order, groups with
    n = 0 left out.
    """
    keys = list(SLICE_KEY)
    local = _whole_counts(counts.with_columns(pl.col(keys).cast(pl.String)), keys, "counts")
    slice_id = first_seen_ids(codes(local, keys))
    order = np.argsort(slice_id, kind="stable")
    slice_id = slice_id[order]
    starts = np.flatnonzero(np.diff(slice_id, prepend=-1))
    local = local[order]
    n_all, k_all = local["n"].to_numpy(), local["k"].to_numpy()
    size = np.diff(starts, append=slice_id.size)
    total_n = np.repeat(np.add.reduceat(n_all, starts) if starts.size else n_all[:0], size)
    total_k = np.repeat(np.add.reduceat(k_all, starts) if starts.size else k_all[:0], size)
    present = n_all > 0
    rows = local.filter(pl.Series(present)).with_columns(
        pl.Series("_slice", slice_id[present], dtype=pl.Int64),
        pl.Series("_total_n", total_n[present]),
        pl.Series("_total_k", total_k[present]),
    )
    state_cols = []
    if state is not None:
        state = _whole_counts(
            state.with_columns(pl.col(list(STATE_KEY)).cast(pl.String)).join(
                rows.select(STATE_KEY).unique(), on=list(STATE_KEY), how="semi", nulls_equal=True
            ),
            list(STATE_KEY),
            "state_reference",
        )
        totals = state.group_by(list(STATE_KEY)).agg(
            pl.col("n").sum().alias("_state_n"), pl.col("k").sum().alias("_state_k"), pl.lit(True).alias("_has_state")
        )
        own = state.select(*STATE_KEY, "group", pl.col("n").alias("_own_state_n"), pl.col("k").alias("_own_state_k"))
        rows = (
            rows.join(totals, on=list(STATE_KEY), how="left", nulls_equal=True, maintain_order="left")
            .join(own, on=[*STATE_KEY, "group"], how="left", nulls_equal=True, maintain_order="left")
            .with_columns(pl.col("_has_state").fill_null(False), pl.col("^_own_state_.$").fill_null(0))
        )
        # weighted risk ratio: the other groups' local risks weighted by their state n, summed without
        # subtracting (an exclusive running sum from each side), so a dominant group loses no precision
        weight = pl.col("_own_state_n").cast(pl.Float64)
        term = weight * (pl.col("k") / pl.col("n"))
        rows = rows.with_columns(
            pl.col("_own_state_n").sum().over("_slice").alias("_weight_total"), term.alias("_term")
        )
        rows = rows.with_columns(
            pl.col("_term").shift(1).fill_null(0.0).cum_sum().over("_slice").alias("_before"),
            pl.col("_term").reverse().shift(1).fill_null(0.0).cum_sum().reverse().over("_slice").alias("_after"),
        )
        state_cols = [
            "_has_state",
            "_state_n",
            "_state_k",
            "_own_state_n",
            "_own_state_k",
            "_weight_total",
            "_before",
            "_after",
        ]
    a = {c: rows[c].to_numpy() for c in ["n", "k", "_total_n", "_total_k", *state_cols]}
    n, k, total_n, total_k = (a[c].astype(np.int64) for c in ("n", "k", "_total_n", "_total_k"))
    cn, ck = total_n - n, total_k - k
    nf, kf, cnf, ckf = (x.astype(np.float64) for x in (n, k, cn, ck))
    with np.errstate(divide="ignore", invalid="ignore"):
        risk = kf / nf
        comparison_risk = np.where(cn > 0, ckf / cnf, np.nan)
        passes = (k >= settings.min_cell) & (n >= settings.min_n)
        local_ratio = passes & (k > 0) & (ck >= settings.min_cell) & (cn >= settings.min_n) & (ck > 0)
        ref_n, ref_k = np.where(local_ratio, cn, 0), np.where(local_ratio, ck, 0)
        alternate = np.zeros(n.size, dtype=bool)
        weighted = np.full(n.size, np.nan)
        if state is not None:
            has_state = a["_has_state"].astype(bool)
            alt_n = a["_state_n"].astype(np.int64) - a["_own_state_n"].astype(np.int64)
            alt_k = a["_state_k"].astype(np.int64) - a["_own_state_k"].astype(np.int64)
            alternate = passes & (k > 0) & ~local_ratio & has_state & (alt_n > 0) & (alt_k > 0)
            ref_n, ref_k = np.where(alternate, alt_n, ref_n), np.where(alternate, alt_k, ref_k)
            weight = (a["_weight_total"].astype(np.int64) - a["_own_state_n"].astype(np.int64)).astype(np.float64)
            comparison = (a["_before"] + a["_after"]) / weight
            ok = has_state & passes & (weight > 0) & (comparison > 0)
            weighted = np.where(ok, risk / comparison, np.nan)
        has_ratio = local_ratio | alternate
        ratio, low, high = _katz(k, n, ref_k, ref_n, has_ratio, 1 - settings.alpha)
        flagged = _exceeds(k, n, ref_k, ref_n, has_ratio, settings.threshold)
        p_value = np.full(n.size, np.nan)
        tested = (cn > 0) & tests
        p_value[tested] = _fisher_p(k[tested], n[tested], ck[tested], cn[tested])
        rcn = np.where(alternate, ref_n, cn)
        rck = np.where(alternate, ref_k, ck)
        ratio_comparison_risk = np.where(rcn > 0, rck.astype(np.float64) / rcn.astype(np.float64), np.nan)
        ratio_p_value = p_value.copy()
        alt_tested = alternate & tests
        ratio_p_value[alt_tested] = _fisher_p(k[alt_tested], n[alt_tested], rck[alt_tested], rcn[alt_tested])
        outcome_share = np.where(total_k > 0, kf / total_k.astype(np.float64), np.nan)
        population_share = nf / total_n.astype(np.float64)
    method = pl.select(
        pl.when(pl.Series(local_ratio))
        .then(pl.lit("risk_ratio"))
        .when(pl.Series(alternate))
        .then(pl.lit("alternate_risk_ratio"))
        .otherwise(pl.lit("none"))
    ).to_series()
    floats = {
        "risk": risk,
        "comparison_risk": comparison_risk,
        "risk_ratio": ratio,
        "rr_ci_low": low,
        "rr_ci_high": high,
        "risk_difference": risk - comparison_risk,
        "p_value": p_value,
        "outcome_share": outcome_share,
        "population_share": population_share,
        "weighted_risk_ratio": weighted,
        "ratio_comparison_risk": ratio_comparison_risk,
        "ratio_risk_difference": risk - ratio_comparison_risk,
        "ratio_p_value": ratio_p_value,
    }
    out = rows.select(*SLICE_KEY, "group", "n", "k", "_slice").with_columns(
        pl.Series("comparison_n", cn, dtype=pl.Int64),
        pl.Series("comparison_k", ck, dtype=pl.Int64),
        pl.Series("ratio_method", method, dtype=pl.String),
        pl.Series("flagged", flagged, dtype=pl.Boolean),
        pl.Series("comparison_group", np.where(alternate, OTHERS_IN_STATE, OTHERS_IN_SCOPE), dtype=pl.String),
        pl.Series("ratio_comparison_n", rcn, dtype=pl.Int64),
        pl.Series("ratio_comparison_k", rck, dtype=pl.Int64),
        *(_finite_series(name, values) for name, values in floats.items()),
    )
    return out.select(*SLICE_KEY, *ROW_SCHEMA.keys(), "_slice")


def _finite_series(name: str, values: np.ndarray) -> pl.Series:
    """finite_or_none over a column: NaN and infinities become blanks."""
    return pl.Series(name, np.where(np.isfinite(values), values, np.nan), dtype=pl.Float64).fill_nan(None)


def _whole_counts(frame: pl.DataFrame, keys: list[str], where: str) -> pl.DataFrame:
    """Whole, non-negative counts with k <= n and each group once per slice, or a message naming the group."""
    blank = frame.filter(pl.any_horizontal(pl.col("group", "n", "k").is_null()))
    if blank.height:
        raise ValueError(f"disproportionality {where}: group {blank['group'][0]!r} has a blank group, n or k")
    code = codes(frame, [*keys, "group"])
    ordered = np.sort(code)
    if ordered.size and (ordered[1:] == ordered[:-1]).any():
        twice = ordered[1:][ordered[1:] == ordered[:-1]][0]
        group = frame["group"][int(np.flatnonzero(code == twice)[0])]
        raise ValueError(f"disproportionality {where}: group {str(group)!r} appears twice")
    n, k = pl.col("n"), pl.col("k")
    whole = (
        (n == n.floor()) & (k == k.floor())
        if frame.schema["n"].is_float() or frame.schema["k"].is_float()
        else pl.lit(True)
    )
    bad = frame.filter(~(whole & (k >= 0) & (k <= n)))
    if bad.height:
        group, bad_n, bad_k = bad.row(0)[len(keys) : len(keys) + 3]
        raise ValueError(
            f"disproportionality {where}: group {str(group)!r} has n={bad_n}, k={bad_k}; "
            "counts must be whole numbers with 0 <= k <= n"
        )
    return frame.with_columns(pl.col("group").cast(pl.String), n.cast(pl.Int64), k.cast(pl.Int64))


def _exact_quotient(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den rounded once, as float(Fraction(num, den)): one float division when both are exact."""
    limit = 2**53
    if num.size == 0 or (num.max() < limit and den.max() < limit):
        return num.astype(np.float64) / den.astype(np.float64)
    return np.array([float(Fraction(int(a), int(b))) for a, b in zip(num, den)], dtype=np.float64)


def _katz(
    k: np.ndarray, n: np.ndarray, ref_k: np.ndarray, ref_n: np.ndarray, has_ratio: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ratio (exact, then rounded once) and the Katz log CI of scipy.stats.contingency.relative_risk,
    with scipy's own arithmetic, where has_ratio (k > 0 and ref_k > 0 there); NaN elsewhere."""
    ratio, low, high = (np.full(k.size, np.nan) for _ in range(3))
    if not has_ratio.any():
        return ratio, low, high
    k, n, ref_k, ref_n = (x[has_ratio] for x in (k, n, ref_k, ref_n))
    ratio[has_ratio] = _exact_quotient(k * ref_n, n * ref_k)
    kf, nf, rkf, rnf = (x.astype(np.float64) for x in (k, n, ref_k, ref_n))
    rr = (kf / nf) / (rkf / rnf)
    z = special.ndtri(1 - (1 - level) / 2)
    delta = z * np.sqrt(1 / kf - 1 / nf + 1 / rkf - 1 / rnf)
    low[has_ratio] = rr * np.exp(-delta)
    high[has_ratio] = rr * np.exp(delta)
    return ratio, low, high


def _exceeds(
    k: np.ndarray, n: np.ndarray, ref_k: np.ndarray, ref_n: np.ndarray, has_ratio: np.ndarray, threshold: float
) -> np.ndarray:
    """Strictly above the threshold, compared exactly: k ref_n q > p n ref_k for threshold = p/q (its decimal)."""
    limit = Fraction(str(threshold))
    p, q = limit.numerator, limit.denominator
    flagged = np.zeros(k.size, dtype=bool)
    if not has_ratio.any():
        return flagged
    k, n, ref_k, ref_n = (x[has_ratio] for x in (k, n, ref_k, ref_n))
    bound = 2.0**62
    if float(k.max()) * float(ref_n.max()) * q < bound and float(n.max()) * float(ref_k.max()) * p < bound:
        flagged[has_ratio] = k * ref_n * q > p * n * ref_k
    else:
        flagged[has_ratio] = [int(a) * int(b) * q > p * int(c) * int(d) for a, b, c, d in zip(k, ref_n, n, ref_k)]
    return flagged


def _fisher(k: int, n: int, ck: int, cn: int) -> float | None:
    """Fisher's exact two-sided p for [[k, n-k], [ck, cn-ck]], as scipy.stats.fisher_exact defines it."""
    return finite_or_none(_fisher_p(*(np.array([x], dtype=np.int64) for x in (k, n, ck, cn)))[0])


# scipy counts tables with a probability up to 1 + 1e-7 times the observed one as "as extreme".
_FISHER_RELATIVE_TOLERANCE = np.log1p(1e-7)
# Supports longer than this are summed over a window around the mode whose cut tails are proven
# smaller than e**-_TAIL_LOG of the observed table's probability (so of p): far below 1e-12 of p.
_WINDOW_FROM = 512
_TAIL_LOG = 60.0
_CHUNK = 1 << 21


def _fisher_p(k: np.ndarray, n: np.ndarray, ck: np.ndarray, cn: np.ndarray) -> np.ndarray:
    """Fisher's exact two-sided p of many tables [[k, n-k], [ck, cn-ck]] (cn > 0), as scipy defines it.

    For each table, the hypergeometric log probabilities over its support (the same gammaln
    differences, in the same order, as one table at a time), then the sum of those not more probable
    than the observed table. gammaln of whole numbers comes from one table of values.
    """
    size = k.size
    if size == 0:
        return np.zeros(0)
    total, events = n + cn, k + ck
    lo = np.maximum(0, n - (total - events))
    hi = np.minimum(n, events)
    gl = special.gammaln(np.arange(int(total.max()) + 2, dtype=np.float64))
    log_all = (gl[total + 1] - gl[n + 1]) - gl[total - n + 1]

    def log_pmf(rows: np.ndarray, x: np.ndarray) -> np.ndarray:
        e, f, m = events[rows], total[rows] - events[rows], n[rows]
        first = (gl[e + 1] - gl[x + 1]) - gl[e - x + 1]
        second = (gl[f + 1] - gl[m - x + 1]) - gl[f - (m - x) + 1]
        return first + second - log_all[rows]

    observed = log_pmf(np.arange(size), k)
    left, right = lo.copy(), hi.copy()
    wide = np.nonzero(hi - lo + 1 > _WINDOW_FROM)[0]
    if wide.size:
        left[wide], right[wide] = _window(k[wide], n[wide], events[wide], total[wide], lo[wide], hi[wide])
        bad = _tails_too_big(
            wide,
            left[wide],
            right[wide],
            lo[wide],
            hi[wide],
            n[wide],
            events[wide],
            total[wide],
            observed[wide],
            log_pmf,
        )
        left[wide[bad]], right[wide[bad]] = lo[wide[bad]], hi[wide[bad]]
    # per table: the terms of log_pmf that do not depend on x, and the cut-off
    const_e, const_f, limit = gl[events + 1], gl[total - events + 1], observed + _FISHER_RELATIVE_TOLERANCE
    index = np.int32 if total.max() < 2**31 - 2 else np.int64
    e1, m1, fm1 = (events + 1).astype(index), (n + 1).astype(index), (total - events - n + 1).astype(index)
    lengths = right - left + 1
    ends = np.cumsum(lengths)
    p = np.empty(size)
    start = 0
    while start < size:  # chunks of about _CHUNK support points
        stop = max(start + 1, int(np.searchsorted(ends, ends[start] - lengths[start] + _CHUNK, side="right")))
        counts = lengths[start:stop]
        first_of = np.cumsum(counts) - counts
        # x runs from left to right for each table: gl[x+1], gl[e-x+1], gl[n-x+1], gl[f-(n-x)+1]
        x = np.repeat((left[start:stop] - first_of).astype(index), counts) + np.arange(counts.sum(), dtype=index)
        one = np.repeat(const_e[start:stop], counts) - gl[x + 1]
        one -= gl[np.repeat(e1[start:stop], counts) - x]
        two = np.repeat(const_f[start:stop], counts) - gl[np.repeat(m1[start:stop], counts) - x]
        two -= gl[np.repeat(fm1[start:stop], counts) + x]
        one += two
        one -= np.repeat(log_all[start:stop], counts)
        keep = one <= np.repeat(limit[start:stop], counts)
        kept = np.cumsum(keep)[first_of + counts - 1]
        p[start:stop] = segment_sums(np.exp(one[keep]), np.diff(kept, prepend=0))
        start = stop
    return np.minimum(1.0, p)


def _window(k, n, events, total, lo, hi) -> tuple[np.ndarray, np.ndarray]:
    """Mode +- (distance of the observed table from it + 12 standard deviations), inside the support."""
    mode = (n + 1) * (events + 1) // (total + 2)
    tf, nf, ef = (x.astype(np.float64) for x in (total, n, events))
    sd = np.sqrt(nf * (ef / tf) * ((tf - ef) / tf) * ((tf - nf) / np.maximum(tf - 1, 1)))
    half = np.abs(k - mode) + np.ceil(12 * sd).astype(np.int64) + 32
    return np.maximum(lo, mode - half), np.minimum(hi, mode + half)


def _tails_too_big(rows, left, right, lo, hi, n, events, total, observed, log_pmf) -> np.ndarray:
    """Where a cut tail might matter: the hypergeometric is log-concave, so beyond a window edge below
    (above) the mode the terms fall at least geometrically with the edge's ratio r < 1, and the cut
    tail is at most pmf(edge) r / (1 - r). True where that bound is not below e**-_TAIL_LOG pmf(observed)."""
    f = total - events
    bad = np.zeros(rows.size, dtype=bool)
    cut = left > lo  # ratio pmf(L-1) / pmf(L)
    r = np.where(cut, left * (f - n + left) / np.maximum((n - left + 1) * (events - left + 1), 1), 0.0)
    edge = log_pmf(rows, left)
    bad |= cut & ((r >= 1) | (edge + np.log(r / np.where(r < 1, 1 - r, 1)) > observed - _TAIL_LOG))
    cut = right < hi  # ratio pmf(R+1) / pmf(R)
    r = np.where(cut, (n - right) * (events - right) / np.maximum((right + 1) * (f - n + right + 1), 1), 0.0)
    edge = log_pmf(rows, right)
    bad |= cut & ((r >= 1) | (edge + np.log(r / np.where(r < 1, 1 - r, 1)) > observed - _TAIL_LOG))
    return bad
