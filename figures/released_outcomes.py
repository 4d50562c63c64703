"""The Discipline outcomes page's statistics as a suppressed viewer (the board) may see them: a group's share of
cases with an outcome at a level only when both its counts are published, and the same-level (Mantel-Haenszel)
odds ratio with its interval only when every count it pools is published: the group's cases and cases with the
outcome at every level, and the level's totals (all other students are total minus group). The rule per
statistic is in docs/PRIVACY.md ("Derived statistics"). No Streamlit here: the page and the report call these."""

from __future__ import annotations

import polars as pl

from access.suppression import SuppressedTable
from figures.derived import NOT_RELEASED, TOTAL, released_count

CASES = "assessed_student_cases"
HIDDEN_SHARE = "withheld: the group's count at this level is hidden for this role"
HIDDEN_STRATUM = "withheld: a count of the group or of all cases at some level of concern is hidden for this role"
# Every column of a conditional-disparity row computed from its strata (metrics/stratified.py).
CONDITIONAL_STATISTICS = (
    "odds_ratio",
    "ci_low",
    "ci_high",
    "cmh",
    "cmh_p",
    "cmh_corrected",
    "cmh_corrected_p",
    "breslow_day",
    "breslow_day_p",
    "q_value",
    "group_cases",
    "group_with_outcome",
    "other_cases",
    "other_with_outcome",
)


def released_outcome_shares(part: pl.DataFrame, table: SuppressedTable, outcome: str, dimension: str) -> pl.DataFrame:
    """`part` (group, concern_level, cases, with_outcome of one outcome and dimension) with the printed counts
    `cases_shown` and `with_shown` from the release and `share` null unless both counts are published."""
    counts = table.display.select(
        pl.col(dimension).alias("group"),
        "concern_level",
        pl.col(CASES).alias("cases_shown"),
        pl.col(f"{outcome}_cases").alias("with_shown"),
    ).with_columns(table.published[CASES].alias("_n"), table.published[f"{outcome}_cases"].alias("_k"))
    ok = pl.col("_n").is_not_null() & pl.col("_k").is_not_null() & (pl.col("_n") > 0)
    return (
        part.drop("cases_shown", "with_shown", "share", strict=False)
        .join(counts, on=["group", "concern_level"], how="left")
        .with_columns(pl.when(ok).then(pl.col("_k") / pl.col("_n")).alias("share"))
        .drop("_n", "_k")
    )


def strata_published(table: SuppressedTable | None, dimension: str, group: str, outcome: str) -> bool:
    """The group's and the total's two counts at every level of the table are published."""
    if table is None:
        return False
    levels = [lv for lv in table.display["concern_level"].unique().to_list() if lv != TOTAL]
    return all(
        released_count(table, {dimension: who, "concern_level": lv}, m) is not None
        for who in (group, TOTAL)
        for lv in levels
        for m in (CASES, f"{outcome}_cases")
    )


def released_conditional(
    rows: pl.DataFrame, table: SuppressedTable | None, outcome: str, dimension: str
) -> pl.DataFrame:
    """Conditional-disparity rows of one outcome and dimension with every statistic null where a count it
    pools is not published; `withheld` says why (null where nothing is withheld)."""
    reasons = [
        NOT_RELEASED
        if table is None
        else None
        if strata_published(table, dimension, str(g), outcome)
        else HIDDEN_STRATUM
        for g in rows["group"].to_list()
    ]
    out = rows.with_columns(pl.Series("withheld", reasons, dtype=pl.String))
    ok = pl.col("withheld").is_null()
    return out.with_columns(pl.when(ok).then(pl.col(c)).alias(c) for c in CONDITIONAL_STATISTICS if c in out.columns)
