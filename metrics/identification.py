"""Would a state identify the district under 34 CFR 300.647? The risk ratio's flag over consecutive school
years (300.647(d)(1)), with the optional reasonable-progress exception (300.647(d)(2)), for the race and
ethnicity groups and the IDEA discipline categories of 300.647(b)(4). docs/METHODOLOGY.md
("Multi-year identification") gives the rule and what the interchange format cannot supply."""

from __future__ import annotations

import polars as pl

from metrics.config import DEFAULT_SETTINGS, MetricSettings
from metrics.frames import require_columns

# 300.647(b)(4): disciplinary removals of children with disabilities, as the discipline export gives them.
DISCIPLINE_CATEGORIES = (
    "idea_oss_exp_le10",
    "idea_oss_exp_gt10",
    "idea_iss_le10",
    "idea_iss_gt10",
    "idea_total_removals",
)
KEY = ("scope", "outcome", "dimension", "group")

IDENTIFICATION_COLUMNS: dict[str, type[pl.DataType]] = {
    "school_year": pl.String,
    "scope": pl.String,
    "outcome": pl.String,
    "dimension": pl.String,
    "group": pl.String,
    "risk_ratio": pl.Float64,
    "ratio_method": pl.String,
    "flagged": pl.Boolean,
    "consecutive_years_flagged": pl.Int64,
    "years_behind": pl.String,
    "reasonable_progress": pl.Boolean,
    "would_be_identified": pl.Boolean,
}


def identification(
    table: pl.DataFrame,
    settings: MetricSettings = DEFAULT_SETTINGS,
    categories: tuple[str, ...] = DISCIPLINE_CATEGORIES,
) -> pl.DataFrame:
    """One row per school year x scope x category x race/ethnicity group of `table` (rows of
    disproportionality.csv: school_year, scope, outcome, dimension, group, risk_ratio, ratio_method, flagged).

    consecutive_years_flagged: the run of flagged school years ending this year (a missing or unflagged
    year ends it); years_behind: the last `identification_years` years of that run, oldest first, when
    the run is long enough. reasonable_progress (only with settings.reasonable_progress set): the ratio
    fell by at least that amount from two years before to the year before, and from the year before to
    this year. would_be_identified: the run reaches identification_years and no reasonable progress.
    """
    require_columns(
        table, ["school_year", *KEY, "risk_ratio", "ratio_method", "flagged"], "identification disproportionality"
    )
    rows = table.filter(pl.col("outcome").is_in(list(categories)) & (pl.col("dimension") == "race_ethnicity"))
    bad = rows.filter(~pl.col("school_year").str.contains(r"^\d{4}-\d{2}$"))
    if bad.height:
        raise ValueError(f"identification: school_year {bad['school_year'][0]!r} is not of the form 2024-25")
    rows = rows.select("school_year", *KEY, "risk_ratio", "ratio_method", "flagged").with_columns(
        pl.col("school_year").str.slice(0, 4).cast(pl.Int32).alias("_start")
    )
    runs: list[int] = []
    progress: list[bool] = []
    years: list[str | None] = []
    need = settings.identification_years
    amount = settings.reasonable_progress
    rows = rows.sort([*KEY, "_start"], nulls_last=True, maintain_order=True)
    previous: dict = {}
    for r in rows.iter_rows(named=True):
        key = tuple(r[c] for c in KEY)
        before = previous.get(key)
        if before is not None and before["_start"] == r["_start"] - 1:  # the school year just before
            run_before, history = (before["_run"] if before["flagged"] else 0), before["_history"]
        else:
            run_before, history = 0, []
        run = run_before + 1 if r["flagged"] else 0
        history = history + [(r["school_year"], r["risk_ratio"])]
        made = False
        if amount is not None and len(history) >= 3:
            (_, two_back), (_, one_back), (_, now) = history[-3:]
            made = None not in (two_back, one_back, now) and two_back - one_back >= amount and one_back - now >= amount
        runs.append(run)
        progress.append(made)
        years.append(",".join(y for y, _ in history[-need:]) if run >= need else None)
        previous[key] = {"_start": r["_start"], "_run": run, "flagged": r["flagged"], "_history": history[-3:]}
    out = rows.with_columns(
        pl.Series("consecutive_years_flagged", runs, dtype=pl.Int64),
        pl.Series("years_behind", years, dtype=pl.String),
        pl.Series("reasonable_progress", progress, dtype=pl.Boolean),
    ).with_columns(
        ((pl.col("consecutive_years_flagged") >= need) & ~pl.col("reasonable_progress")).alias("would_be_identified")
    )
    return out.sort(["school_year", pl.col("scope") != "district", "scope", "outcome", "group"]).select(
        [pl.col(c).cast(t) for c, t in IDENTIFICATION_COLUMNS.items()]
    )
