"""The Time to intervention page's figures as a suppressed viewer (the board) may see them, and the board
report's sentence on how soon cases were served.

The cumulative incidence, its curves, the days until half or 90% were served, the group tests and the
Kaplan-Meier medians are computed from every case's dates: none of them is a count of the release, and a share
with a published group size gives back the cases not served, a count no release protects. So a suppressed
viewer sees what the release's served tables (figures/release.py, `served_30d_by_*`) publish: of the cases
followed for SERVED_HORIZON days (reported at least that long before the as-of date), those served within it,
and the share only when both counts are published. Over that cohort no case is censored before the horizon, so
the share is the Aalen-Johansen cumulative incidence at the horizon of the same cases. The rule per statistic is
in docs/PRIVACY.md ("Derived statistics"). No Streamlit here: the page and the report call these functions.
"""

from __future__ import annotations

import polars as pl

from access.suppression import SuppressedRelease, SuppressedTable
from data_contracts.number_format import fmt_pct
from figures.derived import TOTAL
from figures.release import SERVED_DIMENSIONS, SERVED_HORIZON, served_measures, served_table

HIDDEN_SHARE = "withheld: a count it depends on is hidden for this role"
TESTS_WITHHELD = (
    "The group comparison (Gray's test and the log-rank beside it) is not shown for this role: it is computed "
    "from every case's dates, and its statistic would narrow the counts hidden here."
)
MEDIANS_WITHHELD = (
    "Medians by group are not shown for this role: they are computed from every case's dates, not from the "
    "published counts. The board report gives the median by level of concern where its count is published."
)
COHORT = (
    f"cases reported at least {SERVED_HORIZON} days before the as-of date (so each one's first "
    f"{SERVED_HORIZON} days are known)"
)


def served_dimensions() -> tuple[str, ...]:
    """The groupings a suppressed viewer may choose: those the release publishes served counts for."""
    return SERVED_DIMENSIONS


def released_served(release: SuppressedRelease, dimension: str) -> pl.DataFrame | None:
    """One row per group of `dimension` and a last row `total`: `group`, `followed_shown` and `served_shown`
    (the printed counts), `followed` and `served` (published counts, null when hidden), `share` (served /
    followed, null unless both are published and followed > 0) and `withheld` (why `share` is null).
    None when the release has no served table for `dimension` (no case followed that long)."""
    name = served_table(dimension)
    if name not in release.tables:
        return None
    table: SuppressedTable = release[name]
    followed, served = served_measures(dimension)
    frame = table.display.select(
        pl.col(dimension).alias("group"),
        pl.col(followed).alias("followed_shown"),
        pl.col(served).alias("served_shown"),
    ).with_columns(table.published[followed].alias("followed"), table.published[served].alias("served"))
    ok = pl.col("followed").is_not_null() & pl.col("served").is_not_null() & (pl.col("followed") > 0)
    frame = frame.with_columns(
        pl.when(ok).then(pl.col("served") / pl.col("followed")).alias("share"),
        pl.when(ok)
        .then(None)
        .when(pl.col("followed") == 0)
        .then(pl.lit("no case followed that long"))
        .otherwise(pl.lit(HIDDEN_SHARE))
        .alias("withheld"),
    )
    return pl.concat([frame.filter(pl.col("group") != TOTAL), frame.filter(pl.col("group") == TOTAL)])


def served_headline(rows: pl.DataFrame | None) -> str:
    """The page's sentence for a suppressed viewer, from the total row of the served-by-level table."""
    if rows is None:
        return f"No assessed case was reported at least {SERVED_HORIZON} days before the as-of date."
    total = rows.filter(pl.col("group") == TOTAL).row(0, named=True)
    if total["share"] is None:
        return (
            f"The share of {COHORT} with a first intervention within {SERVED_HORIZON} days is hidden for this "
            "role: a count it depends on is hidden."
        )
    return (
        f"**{fmt_pct(total['share'], decimals=0)} of the {total['followed_shown']} assessed {COHORT} had a first "
        f"intervention within {SERVED_HORIZON} days** ({total['served_shown']} cases). Cases closed without any "
        "intervention count as never served."
    )


def report_served(release: SuppressedRelease) -> tuple[int, int, float] | None:
    """(followed, served, share) of all assessed cases for the board report, when both counts are published."""
    rows = released_served(release, "concern_level")
    if rows is None:
        return None
    total = rows.filter(pl.col("group") == TOTAL).row(0, named=True)
    if total["share"] is None:
        return None
    return int(total["followed"]), int(total["served"]), float(total["share"])
