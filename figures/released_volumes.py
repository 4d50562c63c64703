"""The Case volumes page's statistics as a suppressed viewer (the board) may see them: a rate per 1,000 only
when its count and the enrolled count are both published, a change from the year before only between two
published totals (each from its own year's release). The rule per statistic is in docs/PRIVACY.md ("Derived
statistics"). No Streamlit here: the page and the report call these functions."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from access.suppression import SuppressedRelease, SuppressedTable
from figures.derived import TOTAL, released_count


@dataclass(frozen=True)
class ReleasedTotal:
    """A year's case total as the release prints it (`shown`) and its number (None when hidden or absent)."""

    shown: str
    cases: int | None


def released_total(release: SuppressedRelease | None, year: str) -> ReleasedTotal:
    """The year's total cases from that year's release ('*' when the release has no such table)."""
    table = None if release is None else release.tables.get(f"cases_total_{year}")
    if table is None:
        return ReleasedTotal("*", None)
    return ReleasedTotal(str(table.display["cases"][0]), released_count(table, {"breakdown": TOTAL}, "cases"))


def released_enrolled(release: SuppressedRelease | None) -> int | None:
    """All enrolled students of the release's scope (the referral table's total row), None when hidden."""
    table = None if release is None else release.tables.get("disp_btam_referral_race_ethnicity")
    return released_count(table, {"race_ethnicity": TOTAL}, "enrolled")


def rate_per_1000(count: int | None, enrolled: int | None) -> float | None:
    """Cases per 1,000 enrolled students, only from two published counts (and some students)."""
    return None if count is None or not enrolled else 1000 * count / enrolled


def percent_change(now: int | float | None, before: int | float | None) -> float | None:
    """The change from the year before in percent (metrics.rates.year_over_year's rule: none from 0), only
    between two published figures."""
    return None if now is None or before is None or before == 0 else 100 * (now - before) / before


def released_school_rates(table: SuppressedTable) -> pl.DataFrame:
    """Per school (the total row left out): `shown` and `enrolled_shown` as printed, and `cases_per_1000` from
    the published counts, null when either is hidden."""
    cases, enrolled = pl.col("_cases"), pl.col("_enrolled")
    return (
        table.display.select("school", pl.col("cases").alias("shown"), pl.col("enrolled").alias("enrolled_shown"))
        .with_columns(table.published["cases"].alias("_cases"), table.published["enrolled"].alias("_enrolled"))
        .with_columns(
            pl.when(cases.is_not_null() & (enrolled > 0)).then(1000 * cases / enrolled).alias("cases_per_1000")
        )
        .filter(pl.col("school") != TOTAL)
        .drop("_cases", "_enrolled")
    )


def released_breakdown(table: SuppressedTable, breakdown: str, enrolled: int | None) -> pl.DataFrame:
    """Cases by one breakdown (the total row left out): `category`, `shown`, `value` (null when hidden) and
    `cases_per_1000` of all enrolled students, null unless the count and `enrolled` are published."""
    frame = table.display.select(pl.col(breakdown).alias("category"), pl.col("cases").alias("shown")).with_columns(
        table.published["cases"].alias("value")
    )
    rate = (1000 * pl.col("value") / enrolled) if enrolled else pl.lit(None, pl.Float64)
    return frame.filter(pl.col("category") != TOTAL).with_columns(rate.cast(pl.Float64).alias("cases_per_1000"))
