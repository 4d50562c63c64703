"""The Concern levels page's statistics as a suppressed viewer (the board) may see them: each level's share of
a row (a school, a group, all cases) only when the level's count and the row's total are both published, and
the test of independence only when every cell of its table is published (one table fits a chi-square, so the
statistic of a table with hidden cells gives them back). The rule per statistic is in docs/PRIVACY.md
("Derived statistics"). No Streamlit here: the page and the report call these functions."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from access.suppression import SuppressedTable
from figures.derived import NOT_RELEASED, TOTAL

HIDDEN_SHARE = "withheld: the count or its row's total is hidden for this role"
HIDDEN_TEST_CELL = "withheld: a count of its table is hidden for this role, and the test statistic would give it back"
MEASURES = ("assessed_cases", "assessed_student_cases")


def _measure(table: SuppressedTable) -> str:
    return next(m for m in MEASURES if m in table.published.columns)


def released_level_shares(table: SuppressedTable, by: str | None = None) -> pl.DataFrame:
    """One row per `by` x concern level of the table (totals left out): `shown` (the printed count), `value`
    (the published count, null when hidden), `share` (of the row's total, null unless both are published)
    and `withheld` (why `share` is null). `by` None: the table of all cases (concern level only)."""
    measure = _measure(table)
    dims = [d for d in (by, "concern_level") if d]
    frame = table.display.select(*dims, pl.col(measure).alias("shown")).with_columns(
        table.published[measure].alias("value")
    )
    totals = frame.filter(pl.col("concern_level") == TOTAL).select(
        *([by] if by else []), pl.col("value").alias("_row_total")
    )
    cells = frame.filter(pl.col("concern_level") != TOTAL)
    if by:
        cells = cells.filter(pl.col(by) != TOTAL).join(totals, on=by, how="left")
    else:
        cells = cells.with_columns(pl.lit(totals["_row_total"][0] if totals.height else None).alias("_row_total"))
    ok = pl.col("value").is_not_null() & pl.col("_row_total").is_not_null() & (pl.col("_row_total") > 0)
    return cells.with_columns(
        pl.when(ok).then(pl.col("value") / pl.col("_row_total")).alias("share"),
        pl.when(ok).then(None).otherwise(pl.lit(HIDDEN_SHARE)).alias("withheld"),
    ).drop("_row_total")


def all_cells_published(table: SuppressedTable) -> bool:
    """Every count of the table (its totals too) is published exactly."""
    counts = [c for c in table.published.columns if c not in table.dimensions and not c.endswith("_rate")]
    return all(table.published[c].null_count() == 0 for c in counts)


@dataclass(frozen=True)
class LevelTest:
    """The test of independence as a suppressed viewer may see it: `row` (method, statistic, df, p value, n)
    or None with the reason."""

    row: dict | None
    reason: str | None


def released_level_test(row: dict | None, table: SuppressedTable | None) -> LevelTest:
    """The test's row when every cell of the group x level table it was computed from is published."""
    if row is None:
        return LevelTest(None, None)
    if table is None:
        return LevelTest(None, NOT_RELEASED)
    if not all_cells_published(table):
        return LevelTest(None, HIDDEN_TEST_CELL)
    return LevelTest(row, None)
