"""Time to first intervention as cumulative incidence, with closing unserved as a competing event.

A case closed without any action can never be served. Kaplan-Meier with such cases censored treats them
as if they would still be served later, and overstates how soon (and how many) cases are served. The
Aalen-Johansen estimator counts them as a competing event instead (spec: time_to_intervention_ci.csv,
extension 1.1; docs/METHODOLOGY.md "Cumulative incidence of a first intervention").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from metrics.frames import require_columns

SERVED = "served"  # first action on or before closed_date (or while open)
CLOSED_UNSERVED = "closed_unserved"  # closed with no action on or before closed_date: the competing event
OPEN = "open"  # no action, open at the as-of date: censored there
OUTCOMES = (SERVED, CLOSED_UNSERVED, OPEN)

# Estimates are left blank (counts kept) for fewer cases than this (spec extension 1.1).
MIN_CASES = 10
HORIZON_DAYS = (10, 30, 60)
# The cumulative incidence is a sum of fractions: 0.5 may come out as 0.49999999999999994.
_TOLERANCE = 1e-12

CURVE_SCHEMA: dict[str, pl.DataType] = {
    "days": pl.Float64(),
    "at_risk": pl.Int64(),
    "served": pl.Int64(),
    "closed_unserved": pl.Int64(),
    "censored": pl.Int64(),
    "event_free": pl.Float64(),
    "cumulative_incidence": pl.Float64(),
}
ESTIMATE_COLUMNS = ("served_by_10", "served_by_30", "served_by_60", "ever_served", "days_to_50", "days_to_90")
SUMMARY_COLUMNS = ("n_cases", "n_served", "n_closed_unserved", "n_open", *ESTIMATE_COLUMNS)


@dataclass(frozen=True)
class CumulativeIncidence:
    """One group's Aalen-Johansen curve and the numbers of time_to_intervention_ci.csv read off it."""

    n_cases: int
    n_served: int
    n_closed_unserved: int
    n_open: int
    served_by: dict[int, float | None]  # day -> cumulative incidence by that day (None under MIN_CASES)
    ever_served: float | None
    days_to_50: float | None  # first day the cumulative incidence is >= 0.5; None: never reached
    days_to_90: float | None
    curve: pl.DataFrame  # CURVE_SCHEMA, one row per distinct day


def first_action_outcomes(cases: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Add `duration_days` and `outcome` (SERVED, CLOSED_UNSERVED, OPEN) from the case's dates.

    Served: a first action on or before the closed_date (or with the case open), at the action.
    Closed unserved: closed on or before `as_of` with no action on or before closed_date, at closed_date.
    Open: neither, censored at `as_of`. Dates after `as_of` have not happened yet.
    """
    require_columns(cases, ["reported_date", "first_action_date", "closed_date"], "first_action_outcomes")
    closed = pl.col("closed_date").is_not_null() & (pl.col("closed_date") <= pl.lit(as_of))
    acted = pl.col("first_action_date").is_not_null() & (pl.col("first_action_date") <= pl.lit(as_of))
    served = acted & (~closed | (pl.col("first_action_date") <= pl.col("closed_date")))
    outcome = pl.when(served).then(pl.lit(SERVED)).when(closed).then(pl.lit(CLOSED_UNSERVED)).otherwise(pl.lit(OPEN))
    end = (
        pl.when(served)
        .then(pl.col("first_action_date"))
        .when(closed)
        .then(pl.col("closed_date"))
        .otherwise(pl.lit(as_of))
    )
    out = cases.with_columns(
        (end - pl.col("reported_date")).dt.total_days().alias("duration_days"), outcome.alias("outcome")
    )
    bad = out.filter(pl.col("duration_days") < 0)
    if bad.height:
        first = f" (first: case {bad['case_id'][0]})" if "case_id" in bad.columns else ""
        raise ValueError(
            f"first_action_outcomes: {bad.height} case(s) end before they were reported{first}; "
            "check the dates or the as-of date"
        )
    return out


def cumulative_incidence_curves(cases: pl.DataFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """The Aalen-Johansen curve of every group of `by` at once: the `by` columns, then CURVE_SCHEMA.

    At each distinct day t with n cases still at risk (duration >= t), d1 served and d2 closed unserved:
    event_free(t) = event_free(t-) * (1 - (d1 + d2) / n) and
    cumulative_incidence(t) = cumulative_incidence(t-) + event_free(t-) * d1 / n.
    Events of both kinds at a tied day are taken together; cases censored that day are still at risk.
    """
    require_columns(cases, ["duration_days", "outcome", *by], "cumulative_incidence_curves")
    _check(cases)
    keys = list(by)
    t = pl.col("duration_days").cast(pl.Float64)
    grouped = (
        cases.group_by([*keys, t.alias("days")])
        .agg(
            pl.len().cast(pl.Int64).alias("_count"),
            (pl.col("outcome") == SERVED).sum().cast(pl.Int64).alias("served"),
            (pl.col("outcome") == CLOSED_UNSERVED).sum().cast(pl.Int64).alias("closed_unserved"),
            (pl.col("outcome") == OPEN).sum().cast(pl.Int64).alias("censored"),
        )
        .sort([*keys, "days"])
    )
    over = keys if keys else None

    def window(expr: pl.Expr) -> pl.Expr:
        return expr.over(over) if over else expr

    at_risk = window(pl.col("_count").sum()) - window(pl.col("_count").cum_sum()) + pl.col("_count")
    grouped = grouped.with_columns(at_risk.cast(pl.Int64).alias("at_risk"))
    step = 1 - (pl.col("served") + pl.col("closed_unserved")) / pl.col("at_risk")
    grouped = grouped.with_columns(window(step.cum_prod()).alias("event_free"))
    before = window(pl.col("event_free").shift(1, fill_value=1.0))
    grouped = grouped.with_columns(
        window((before * pl.col("served") / pl.col("at_risk")).cum_sum()).alias("cumulative_incidence")
    )
    return grouped.select([*keys, *[pl.col(c).cast(d) for c, d in CURVE_SCHEMA.items()]])


def cumulative_incidence_table(cases: pl.DataFrame, by: Sequence[str] = (), min_cases: int = MIN_CASES) -> pl.DataFrame:
    """One row per group of `by`: the `by` columns, then SUMMARY_COLUMNS (time_to_intervention_ci.csv).

    served_by_N: the cumulative incidence at the last day <= N (0 before the first day); ever_served: at
    the last observed day; days_to_50 / days_to_90: the first day it is >= 0.5 / 0.9, blank when never
    reached. Groups with fewer than `min_cases` cases keep their counts and leave every estimate blank.
    Groups come in the order they first appear.
    """
    require_columns(cases, ["duration_days", "outcome", *by], "cumulative_incidence_table")
    keys = list(by)
    counts_schema: dict[str, pl.DataType] = {c: pl.Int64() for c in SUMMARY_COLUMNS[:4]}
    estimates_schema: dict[str, pl.DataType] = {c: pl.Float64() for c in ESTIMATE_COLUMNS}
    if not keys:
        if cases.height == 0:
            return pl.DataFrame(
                [(0, 0, 0, 0, *[None] * len(ESTIMATE_COLUMNS))], schema=counts_schema | estimates_schema, orient="row"
            )
        cases = cases.with_columns(pl.lit(0).alias("_all"))
        return cumulative_incidence_table(cases, ["_all"], min_cases).drop("_all")
    counts = cases.group_by(keys, maintain_order=True).agg(
        pl.len().cast(pl.Int64).alias("n_cases"),
        (pl.col("outcome") == SERVED).sum().cast(pl.Int64).alias("n_served"),
        (pl.col("outcome") == CLOSED_UNSERVED).sum().cast(pl.Int64).alias("n_closed_unserved"),
        (pl.col("outcome") == OPEN).sum().cast(pl.Int64).alias("n_open"),
    )
    curves = cumulative_incidence_curves(cases, keys)
    ci, days = pl.col("cumulative_incidence"), pl.col("days")
    estimates = curves.group_by(keys).agg(
        *[ci.filter(days <= n).last().fill_null(0.0).alias(f"served_by_{n}") for n in HORIZON_DAYS],
        ci.last().alias("ever_served"),
        days.filter(ci >= 0.5 - _TOLERANCE).first().alias("days_to_50"),
        days.filter(ci >= 0.9 - _TOLERANCE).first().alias("days_to_90"),
    )
    out = counts.join(estimates, on=keys, how="left", maintain_order="left", nulls_equal=True)
    small = pl.col("n_cases") < min_cases
    out = out.with_columns(
        [pl.when(small).then(None).otherwise(pl.col(c)).cast(pl.Float64).alias(c) for c in ESTIMATE_COLUMNS]
    )
    return out.select([*keys, *[pl.col(c).cast(d) for c, d in (counts_schema | estimates_schema).items()]])


def aalen_johansen(
    duration_days: Sequence[float], outcome: Sequence[str], min_cases: int = MIN_CASES
) -> CumulativeIncidence:
    """One group's curve and summary (the same arithmetic as cumulative_incidence_table)."""
    if len(duration_days) != len(outcome):
        raise ValueError(f"aalen_johansen: {len(duration_days)} durations but {len(outcome)} outcomes")
    cases = pl.DataFrame(
        {"duration_days": list(duration_days), "outcome": list(outcome)},
        schema={"duration_days": pl.Float64, "outcome": pl.String},
    )
    row = cumulative_incidence_table(cases, (), min_cases).row(0, named=True)
    return CumulativeIncidence(
        n_cases=row["n_cases"],
        n_served=row["n_served"],
        n_closed_unserved=row["n_closed_unserved"],
        n_open=row["n_open"],
        served_by={n: row[f"served_by_{n}"] for n in HORIZON_DAYS},
        ever_served=row["ever_served"],
        days_to_50=row["days_to_50"],
        days_to_90=row["days_to_90"],
        curve=cumulative_incidence_curves(cases),
    )


def _check(cases: pl.DataFrame) -> None:
    unknown = cases.filter(~pl.col("outcome").is_in(list(OUTCOMES)) | pl.col("outcome").is_null())
    if unknown.height:
        raise ValueError(
            f"cumulative incidence: outcome must be one of {OUTCOMES}; "
            f"{unknown.height} case(s) have {unknown['outcome'][0]!r}"
        )
    t = cases["duration_days"]
    if t.null_count() or (t.cast(pl.Float64) < 0).any() or t.cast(pl.Float64).is_nan().any():
        raise ValueError("cumulative incidence: durations must be present and 0 or more days")
