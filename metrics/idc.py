"""The other disproportionality measures districts know from the IDC calculator, the Westat/IDC technical
assistance guide and DisImpact, beside the risk ratio: composition, relative difference in composition,
the E-formula (district and state), risk difference with its interval, the 80% index and the
percentage point gap with its margin of error. docs/METHODOLOGY.md ("IDC measures") gives each formula
and its source."""
from __future__ import annotations

import polars as pl
from scipy import special

from metrics.config import DEFAULT_SETTINGS, MetricSettings
from metrics.frames import require_columns

SLICE_KEY = ("school_year", "scope", "outcome", "dimension")
STATE_KEY = ("school_year", "outcome", "dimension")
# The California Community Colleges' PPG method and DisImpact fix the multiplier at 1.96, whatever alpha.
PPG_Z = 1.96

IDC_COLUMNS: dict[str, type[pl.DataType]] = {
    "school_year": pl.String, "scope": pl.String, "outcome": pl.String, "dimension": pl.String,
    "group": pl.String, "n": pl.Int64, "k": pl.Int64, "total_n": pl.Int64, "total_k": pl.Int64,
    "meets_sizes": pl.Boolean,
    "risk": pl.Float64, "comparison_risk": pl.Float64,
    "outcome_composition": pl.Float64, "population_composition": pl.Float64,
    "relative_difference_in_composition": pl.Float64,
    "e_formula_limit": pl.Float64, "e_formula_exceeded": pl.Boolean,
    "state_population_composition": pl.Float64, "e_formula_state_limit": pl.Float64,
    "e_formula_state_exceeded": pl.Boolean,
    "risk_difference": pl.Float64, "rd_ci_low": pl.Float64, "rd_ci_high": pl.Float64,
    "index_80": pl.Float64, "index_80_flagged": pl.Boolean,
    "overall_risk": pl.Float64, "percentage_point_gap": pl.Float64, "ppg_moe": pl.Float64,
    "ppg_flagged": pl.Boolean,
}


def idc_measures(counts: pl.DataFrame, state_reference: pl.DataFrame | None = None,
                 settings: MetricSettings = DEFAULT_SETTINGS) -> pl.DataFrame:
    """One row per school_year x scope x outcome x dimension x group with n > 0 (IDC_COLUMNS).

    `counts`: SLICE_KEY, group, n, k (students in the group, of them with the outcome), as for
    metrics.disproportionality.disproportionality_table. `state_reference` (optional): STATE_KEY, group,
    n, k; it gives the state's population composition for the E-formula's state comparison. A measure
    whose denominator is 0 is blank and its flag false: a blank is never a finding.
    `meets_sizes` says whether the group passes the risk ratio's cell and n sizes; the measures are
    computed either way, and a page or report releases them under its own minimum sizes.
    """
    require_columns(counts, [*SLICE_KEY, "group", "n", "k"], "idc_measures counts")
    local = _checked(counts.select(*SLICE_KEY, "group", "n", "k"), list(SLICE_KEY), "counts")
    local = local.filter(pl.col("n") > 0)
    if local.height == 0:
        return pl.DataFrame(schema=IDC_COLUMNS)
    n, k = pl.col("n").cast(pl.Float64), pl.col("k").cast(pl.Float64)
    by = list(SLICE_KEY)
    rows = local.with_columns(pl.col("n").sum().over(by).alias("total_n"), pl.col("k").sum().over(by).alias("total_k"))
    big_n, big_k = pl.col("total_n").cast(pl.Float64), pl.col("total_k").cast(pl.Float64)
    cn, ck = big_n - n, big_k - k
    risk = k / n
    comparison = pl.when(cn > 0).then(ck / cn)
    rows = rows.with_columns(
        ((pl.col("k") >= settings.min_cell) & (pl.col("n") >= settings.min_n)).alias("meets_sizes"),
        risk.alias("risk"), comparison.alias("comparison_risk"),
        pl.when(big_k > 0).then(k / big_k).alias("outcome_composition"),
        (n / big_n).alias("population_composition"),
        (big_k / big_n).alias("overall_risk"))
    # E-formula (Westat/IDC guide), as fractions: E = A + sqrt(A (1 - A) / N), N = students with the outcome
    a, out = pl.col("population_composition"), pl.col("outcome_composition")
    e_limit = pl.when(big_k > 0).then(a + (a * (1 - a) / big_k).sqrt())
    z = _z(settings.alpha)
    p1, p0 = pl.col("risk"), pl.col("comparison_risk")
    rd = p1 - p0
    rd_se = (p1 * (1 - p1) / n + p0 * (1 - p0) / cn).sqrt()
    success = 1 - pl.col("risk")
    best_success = success.max().over(by)
    moe = pl.max_horizontal(PPG_Z * (0.25 / n).sqrt(), pl.lit(settings.ppg_min_moe))
    rows = rows.with_columns(
        pl.when(a > 0).then((out - a) / a).alias("relative_difference_in_composition"),
        e_limit.alias("e_formula_limit"),
        rd.alias("risk_difference"), (rd - z * rd_se).alias("rd_ci_low"), (rd + z * rd_se).alias("rd_ci_high"),
        pl.when(best_success > 0).then(success / best_success).alias("index_80"),
        (p1 - pl.col("overall_risk")).alias("percentage_point_gap"), moe.alias("ppg_moe"))
    rows = rows.with_columns(
        (out > pl.col("e_formula_limit")).fill_null(False).alias("e_formula_exceeded"),
        (pl.col("index_80") < settings.index_80_cutoff).fill_null(False).alias("index_80_flagged"),
        (pl.col("percentage_point_gap") >= pl.col("ppg_moe")).alias("ppg_flagged"))
    rows = _with_state(rows, state_reference)
    return rows.select([pl.col(c).cast(t) for c, t in IDC_COLUMNS.items()]).with_columns(
        pl.col(pl.Float64).fill_nan(None))


def _with_state(rows: pl.DataFrame, state_reference: pl.DataFrame | None) -> pl.DataFrame:
    """The E-formula against the state's enrollment composition: A = the group's share of the state's n
    (the whole dimension of the same year and outcome), N = the district's students with the outcome."""
    if state_reference is None:
        return rows.with_columns(pl.lit(None, pl.Float64).alias("state_population_composition"),
                                 pl.lit(None, pl.Float64).alias("e_formula_state_limit"),
                                 pl.lit(False).alias("e_formula_state_exceeded"))
    require_columns(state_reference, [*STATE_KEY, "group", "n", "k"], "idc_measures state_reference")
    state = _checked(state_reference.select(*STATE_KEY, "group", "n", "k"), list(STATE_KEY), "state_reference")
    state = state.with_columns(pl.col("n").sum().over(list(STATE_KEY)).alias("_state_total")).select(
        *STATE_KEY, "group",
        pl.when(pl.col("_state_total") > 0).then(pl.col("n") / pl.col("_state_total"))
        .alias("state_population_composition"))
    rows = rows.join(state, on=[*STATE_KEY, "group"], how="left", nulls_equal=True, maintain_order="left")
    a, big_k = pl.col("state_population_composition"), pl.col("total_k").cast(pl.Float64)
    rows = rows.with_columns(pl.when(big_k > 0).then(a + (a * (1 - a) / big_k).sqrt()).alias("e_formula_state_limit"))
    return rows.with_columns((pl.col("outcome_composition") > pl.col("e_formula_state_limit")).fill_null(False)
                             .alias("e_formula_state_exceeded"))


def _checked(frame: pl.DataFrame, keys: list[str], where: str) -> pl.DataFrame:
    """Whole counts 0 <= k <= n, each group once per slice, or a message naming the group."""
    frame = frame.with_columns(pl.col([*keys, "group"]).cast(pl.String))
    blank = frame.filter(pl.any_horizontal(pl.col("group", "n", "k").is_null()))
    if blank.height:
        raise ValueError(f"idc_measures {where}: group {blank['group'][0]!r} has a blank group, n or k")
    twice = frame.filter(pl.len().over([*keys, "group"]) > 1)
    if twice.height:
        raise ValueError(f"idc_measures {where}: group {twice['group'][0]!r} appears twice in one slice")
    n, k = pl.col("n"), pl.col("k")
    bad = frame.filter(~((n == n.floor()) & (k == k.floor()) & (k >= 0) & (k <= n)))
    if bad.height:
        group, bad_n, bad_k = bad.select("group", "n", "k").row(0)
        raise ValueError(f"idc_measures {where}: group {group!r} has n={bad_n}, k={bad_k}; "
                         "counts must be whole numbers with 0 <= k <= n")
    return frame.with_columns(n.cast(pl.Int64), k.cast(pl.Int64))


def _z(alpha: float) -> float:
    """The two-sided normal quantile for 1 - alpha (1.959964 for 0.05), as the Katz interval uses."""
    return float(special.ndtri(1 - alpha / 2))
