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

import numpy as np
import polars as pl
from scipy import stats

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


@dataclass(frozen=True)
class GrayTest:
    """Gray's (1988) K-sample test of equal cumulative incidence of being served across groups.

    method: 'gray', or 'not_applicable' (fewer than two groups, no case served, or a statistic without
    variance) with statistic, df and p_value None. score: each group's observed minus expected number served
    under equal cumulative incidence (all groups, summing to 0)."""

    method: str
    statistic: float | None
    df: int | None
    p_value: float | None
    groups: tuple[str, ...]
    score: tuple[float, ...]


def gray_test(duration_days: Sequence[float], outcome: Sequence[str], group: Sequence[object]) -> GrayTest:
    """Gray's test (rho = 0, one stratum) of equal cumulative incidence of SERVED across the groups, with
    CLOSED_UNSERVED competing and OPEN censored (docs/METHODOLOGY.md "Gray's test").

    At each distinct day, with n_k cases at risk in group k, E_k the group's event-free share and F_k its
    cumulative incidence just before the day, R_k = n_k (1 - F_k) / E_k is the group's subdistribution risk
    set; the score adds d1_k - d1 R_k / sum R for the d1 cases served that day. The variance is Gray's
    (1988, section 2) martingale estimate, the sum over days and groups of the squared contributions of each
    kind of event, as in R cmprsk::cuminc. Statistic: score' V^-1 score on the first K-1 groups, chi-square
    with K-1 df."""
    n = len(duration_days)
    if len(outcome) != n or len(group) != n:
        raise ValueError(f"gray_test: {n} durations, {len(outcome)} outcomes and {len(group)} groups")
    frame = pl.DataFrame(
        {"duration_days": list(duration_days), "outcome": list(outcome)},
        schema={"duration_days": pl.Float64, "outcome": pl.String},
    )
    _check(frame)
    labels = [str(g) for g in group]
    names = tuple(sorted(set(labels)))
    k = len(names)
    index = {name: i for i, name in enumerate(names)}
    g = np.array([index[x] for x in labels], dtype=np.int64)
    t = frame["duration_days"].to_numpy()
    kind = frame["outcome"].replace_strict({SERVED: 1, CLOSED_UNSERVED: 2, OPEN: 0}, return_dtype=pl.Int64).to_numpy()
    not_run = GrayTest("not_applicable", None, None, None, names, tuple([0.0] * k))
    if k < 2 or not (kind == 1).any():
        return not_run
    days, day = np.unique(t, return_inverse=True)
    # counts[kind, day, group]
    counts = np.zeros((3, days.size, k))
    np.add.at(counts, (kind, day.reshape(-1), g), 1.0)
    leaving = counts.sum(axis=0)
    at_risk_all = leaving[::-1].cumsum(axis=0)[::-1]  # n_k at each day: duration >= day
    score, var = _gray_sums(counts[1], counts[2], at_risk_all)
    u, v = score[: k - 1], var[: k - 1, : k - 1]
    scores = tuple(float(x) for x in score)
    if not np.isfinite(v).all() or np.linalg.matrix_rank(v) < k - 1:
        return GrayTest("not_applicable", None, None, None, names, scores)
    statistic = float(u @ np.linalg.solve(v, u))
    if not np.isfinite(statistic):
        return GrayTest("not_applicable", None, None, None, names, scores)
    p = float(stats.chi2.sf(statistic, k - 1))
    return GrayTest("gray", statistic, k - 1, p, names, scores)


def _gray_sums(served: np.ndarray, closed: np.ndarray, at_risk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gray's score (K) and its variance matrix (K x K) from per-day, per-group counts (days x K)."""
    k = served.shape[1]
    event_free = np.ones(k)  # E_k just before the day
    incidence = np.zeros(k)  # F_k just before the day
    pooled = 0.0  # pooled cumulative incidence F just before the day
    score = np.zeros(k)
    c = np.zeros((k, k))  # running sum of a(t) dF(t) / (1 - F(t-)): the weight of the earlier served days
    v_direct = np.zeros((k, k))  # the sum of (a - E c)(a - E c)' terms of served days and c c' of closed days
    v3 = np.zeros(k)  # per group: sum of the squared weights of its events (for c c' v3 at the end)
    v2 = np.zeros((k, k))  # cross terms between a day's own weight and the weight carried by c
    for i in range(served.shape[0]):
        n, d1, d2 = at_risk[i], served[i], closed[i]
        total1, total2 = d1.sum(), d2.sum()
        live = n > 0
        if total1 + total2 == 0:
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            after = np.where(live, event_free * (n - d1 - d2) / n, event_free)
            inc_after = np.where(live, incidence + event_free * d1 / n, incidence)
            h = np.where(live, n / event_free, 0.0)  # n_k / E_k
        tr = h.sum()
        risk = h * (1 - incidence)  # R_k
        tq = risk.sum()
        pooled_after = pooled + total1 / tr
        a = -np.outer(h, h) / tr
        a[np.diag_indices(k)] = h * (1 - h / tr)
        a[~live, :] = 0.0
        a[:, ~live] = 0.0
        # As cmprsk's crstm: the pooled estimate F(t-) + d1 / sum h is not bounded by 1, and where it is exactly 1
        # the term is 0/0 or infinite there too; gray_test then reports the test not applicable (finite check).
        with np.errstate(divide="ignore", invalid="ignore"):
            c += a * total1 / (tr * (1 - pooled))
        score += np.where(live, d1 - total1 * risk / tq, 0.0)
        if total1 > 0:
            with np.errstate(divide="ignore", invalid="ignore"):
                w = np.where(after > 0, 1 - (1 - pooled_after) / after, 1.0)
                ties = 1 - (total1 - 1) / (tr * event_free - 1) if total1 > 1 else np.ones(k)
                weight = np.nan_to_num(np.where(live, ties * event_free * total1 / (tr * n), 0.0))
            v3 += w * w * weight
            own = a - c * w  # column j: group j's contribution to each score
            v2 += own * (w * weight)
            v_direct += (own * weight) @ own.T
        if total2 > 0:
            has = live & (after > 0) & (d2 > 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                w = np.where(has, (1 - pooled_after) / after, 0.0)
                ties = np.where(has & (d2 > 1), 1 - (d2 - 1) / (n - 1), 1.0)
                weight = np.where(has, ties * event_free**2 * d2 / n**2, 0.0)
            v3 += w * w * weight
            carried = c * w
            v2 -= carried * (w * weight)
            v_direct += (carried * weight) @ carried.T
        event_free, incidence, pooled = after, inc_after, pooled_after
    var = v_direct + (c * v3) @ c.T + c @ v2.T + v2 @ c.T
    return score, var


def gray_table(cases: pl.DataFrame, by: Sequence[str], group: str = "group") -> pl.DataFrame:
    """gray_test within each group of `by`: the `by` columns, method, statistic, df, p_value, groups (sorted
    labels), one row per group of `by` in the order they first appear (logrank_table's columns)."""
    require_columns(cases, ["duration_days", "outcome", group, *by], "gray_table")
    frame = cases.filter(pl.col(group).is_not_null())
    schema: dict[str, pl.DataType] = {
        "method": pl.String(),
        "statistic": pl.Float64(),
        "df": pl.Int64(),
        "p_value": pl.Float64(),
        "groups": pl.List(pl.String),
    }
    keys = list(by)
    rows = []
    parts = frame.partition_by(keys, as_dict=True, maintain_order=True) if keys else {(): frame}
    for key, part in parts.items():
        r = gray_test(part["duration_days"].to_list(), part["outcome"].to_list(), part[group].to_list())
        rows.append((*key, r.method, r.statistic, r.df, r.p_value, list(r.groups)))
    full: dict[str, pl.DataType] = {c: frame.schema[c] for c in keys} | schema
    return pl.DataFrame(rows, schema=full, orient="row") if rows else pl.DataFrame(schema=full)


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
