"""One rule for calling a group difference "unlikely to be chance": a false-discovery-controlled q value.

Many groups are compared at once; an interval above 1 in one of them is expected by chance alone. A
difference passes only when its Benjamini-Hochberg q value, within its family of tests, is at most
settings.alpha, and its interval lies above 1 (docs/METHODOLOGY.md "The significance rule").
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from metrics.config import DEFAULT_SETTINGS, MetricSettings
from metrics.disproportionality import benjamini_hochberg
from metrics.frames import require_columns

# A family: the groups of one dimension compared on one outcome in one school year and scope; each test
# (one group against everyone else) is counted once.
FAMILY = ("school_year", "scope", "outcome", "dimension")


def with_q_values(
    frame: pl.DataFrame, p_column: str, family: Sequence[str] = FAMILY, out: str = "q_value"
) -> pl.DataFrame:
    """`frame` with `out`: Benjamini-Hochberg q of `p_column` within each family; a blank p stays blank and
    is not counted among the family's tests. Row order is kept."""
    require_columns(frame, [p_column, *family], "with_q_values")
    if frame.height == 0:
        return frame.with_columns(pl.lit(None, pl.Float64).alias(out))
    indexed = frame.with_row_index("_row")
    parts = []
    for _, part in indexed.group_by(list(family), maintain_order=True):
        q = benjamini_hochberg(part[p_column].to_list())
        parts.append(part.select("_row").with_columns(pl.Series(out, q, dtype=pl.Float64)))
    q_frame = pl.concat(parts)
    return indexed.join(q_frame, on="_row", how="left", maintain_order="left").drop("_row")


def unlikely_to_be_chance(
    q_value: float | None, ci_low: float | None, settings: MetricSettings = DEFAULT_SETTINGS
) -> bool:
    """The rule: q at most settings.alpha and the ratio's interval entirely above 1."""
    return q_value is not None and ci_low is not None and q_value <= settings.alpha and ci_low > 1


# The Mantel-Haenszel rows' four cells: group with and without the outcome, other students with and without.
CONDITIONAL_CELLS = ("group_with_outcome", "group_without_outcome", "other_with_outcome", "other_without_outcome")


def conditional_significance(cond: pl.DataFrame, settings: MetricSettings = DEFAULT_SETTINGS) -> pl.DataFrame:
    """conditional_disparities rows with `q_value` (BH of cmh_p within FAMILY) and the rule's verdict
    `unlikely_to_be_chance` (q at most alpha, the interval excluding 1, every one of the four cells at least
    settings.min_cell). Those with the interval above 1 are what the Discipline outcomes page and the board
    report both flag."""
    require_columns(
        cond, ["cmh_p", "ci_low", "ci_high", "group_cases", "group_with_outcome", "other_cases"], "conditional"
    )
    cells = cond.with_columns(
        (pl.col("group_cases") - pl.col("group_with_outcome")).alias("group_without_outcome"),
        (pl.col("other_cases") - pl.col("other_with_outcome")).alias("other_without_outcome"),
    )
    table = with_q_values(cells, "cmh_p")
    big_enough = pl.min_horizontal(*CONDITIONAL_CELLS) >= settings.min_cell
    excludes_one = (pl.col("ci_low") > 1) | (pl.col("ci_high") < 1)
    passes = (pl.col("q_value") <= settings.alpha) & excludes_one & big_enough
    return table.with_columns(passes.fill_null(False).alias("unlikely_to_be_chance")).drop(
        "group_without_outcome", "other_without_outcome"
    )


def disparity_significance(disp: pl.DataFrame, settings: MetricSettings = DEFAULT_SETTINGS) -> pl.DataFrame:
    """disproportionality rows with `rule_q_value` (BH of ratio_p_value, the Fisher test against the ratio's
    own comparison group, within FAMILY) and the rule's verdict `unlikely_to_be_chance`: the row is flagged
    (risk ratio above settings.threshold at the minimum sizes: the minimum effect), q at most settings.alpha
    and the ratio's interval above 1. What the Overview's and the board report's "what needs attention"
    lists both name; the flag alone (the federal test, 34 CFR 300.647) stays the Equity page's.

    Every row of a family must be given (a q value counts the family's tests); rows without a p value
    (tests=False or no comparison) are not counted and never pass."""
    require_columns(disp, [*FAMILY, "ratio_p_value", "rr_ci_low", "flagged"], "disparity_significance")
    table = with_q_values(disp, "ratio_p_value", out="rule_q_value")
    passes = pl.col("flagged").fill_null(False) & (pl.col("rule_q_value") <= settings.alpha) & (pl.col("rr_ci_low") > 1)
    return table.with_columns(passes.fill_null(False).alias("unlikely_to_be_chance"))
