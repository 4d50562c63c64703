"""Time from report to first intervention, with cases still waiting counted honestly (right censoring).

A median of only the cases that were served would hide the ones still waiting; Kaplan-Meier does not.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date
from typing import Sequence

import numpy as np
import polars as pl
from scipy import stats

from data_contracts.interchange import CONCERN_LEVELS
from metrics.config import DEFAULT_SETTINGS, MetricSettings
from metrics.frames import finite_or_none, require_columns

# Survival is a product of fractions: 0.5 may come out as 0.5000000000000001.
_TOLERANCE = 1e-12

CURVE_SCHEMA: dict[str, pl.DataType] = {
    "days": pl.Float64, "at_risk": pl.Int64, "events": pl.Int64, "censored": pl.Int64,
    "survival": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
}
SUMMARY_COLUMNS = ("n_cases", "n_events", "median_days", "median_ci_low", "median_ci_high", "p90_days")


@dataclass(frozen=True)
class KaplanMeier:
    """The curve (one row per distinct day with an event or a censoring) and the times read off it."""

    n_cases: int
    n_events: int
    median_days: float | None      # first day survival <= 0.5; None when not reached
    median_ci_low: float | None    # Brookmeyer-Crowley from the log-log Greenwood band
    median_ci_high: float | None
    p90_days: float | None         # first day survival <= 0.1; None when not reached
    curve: pl.DataFrame            # CURVE_SCHEMA


@dataclass(frozen=True)
class LogRankResult:
    """Whether time to first intervention differs between groups; method says which test ran."""

    method: str                # logrank_two_groups, logrank_k_groups, or not_applicable
    statistic: float | None    # chi-square (for two groups, the square of scipy's Z)
    df: int | None
    p_value: float | None
    groups: tuple[str, ...]


@dataclass(frozen=True)
class TimelinessResult:
    """Share of cases whose first action came within the target; open cases not yet due are left out."""

    target_days: int
    n_met: int
    n_missed: int
    n_not_yet_due: int
    share_met: float | None


def time_to_first_action(cases: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Add `duration_days` and `event` from reported_date, first_action_date and closed_date.

    A case with an action: event at the first action. Without one: censored at its closed_date, or at
    `as_of` while open (spec: time_to_intervention.csv).
    """
    require_columns(cases, ["reported_date", "first_action_date", "closed_date"], "time_to_first_action")
    censor_at = pl.when(pl.col("closed_date").is_not_null() & (pl.col("closed_date") <= pl.lit(as_of))) \
        .then(pl.col("closed_date")).otherwise(pl.lit(as_of))
    end = pl.coalesce(pl.col("first_action_date"), censor_at)
    out = cases.with_columns(
        (end - pl.col("reported_date")).dt.total_days().alias("duration_days"),
        pl.col("first_action_date").is_not_null().alias("event"),
    )
    bad = out.filter(pl.col("duration_days") < 0)
    if bad.height:
        raise ValueError(f"time_to_first_action: {bad.height} case(s) end before they were reported "
                         f"(first: {bad.row(0, named=True)}); check the dates or the as-of date")
    return out


def kaplan_meier(duration_days: Sequence[float], event: Sequence[bool],
                 confidence_level: float = 0.95) -> KaplanMeier:
    """Kaplan-Meier (1958) via scipy.stats.ecdf; on a tie the event counts before the censoring."""
    t, e = _arrays(duration_days, event)
    if t.size == 0:
        return KaplanMeier(0, 0, None, None, None, None, pl.DataFrame(schema=CURVE_SCHEMA))
    sf = stats.ecdf(stats.CensoredData(uncensored=t[e], right=t[~e])).sf
    days, survival = sf.quantiles, sf.probabilities
    with warnings.catch_warnings():  # scipy warns where the band is undefined (survival 0); we blank it
        warnings.simplefilter("ignore", RuntimeWarning)
        band = sf.confidence_interval(confidence_level=confidence_level, method="log-log")
    low, high = band.low.probabilities, band.high.probabilities
    at_risk = np.array([(t >= d).sum() for d in days])
    events = np.array([(e & (t == d)).sum() for d in days])
    censored = np.array([(~e & (t == d)).sum() for d in days])
    curve = pl.DataFrame({
        "days": days.astype(float), "at_risk": at_risk, "events": events, "censored": censored,
        "survival": survival, "ci_low": [finite_or_none(x) for x in low], "ci_high": [finite_or_none(x) for x in high],
    }, schema=CURVE_SCHEMA)
    return KaplanMeier(
        n_cases=int(t.size), n_events=int(e.sum()),
        median_days=_first_at_or_below(days, survival, 0.5),
        # Brookmeyer-Crowley: the days whose band holds 0.5; the lower band reaches it first.
        median_ci_low=_first_at_or_below(days, np.where(np.isnan(low), survival, low), 0.5),
        median_ci_high=_first_at_or_below(days, np.where(np.isnan(high), survival, high), 0.5),
        p90_days=_first_at_or_below(days, survival, 0.1),
        curve=curve,
    )


def time_to_intervention(cases: pl.DataFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """One row per group of `by`: the spec's time_to_intervention.csv numbers.

    `cases` has duration_days and event (see time_to_first_action) and the `by` columns.
    Output: the `by` columns, then n_cases, n_events, median_days, median_ci_low, median_ci_high, p90_days.
    """
    require_columns(cases, ["duration_days", "event", *by], "time_to_intervention")
    schema = {c: cases.schema[c] for c in by} | {
        "n_cases": pl.Int64, "n_events": pl.Int64, "median_days": pl.Float64, "median_ci_low": pl.Float64,
        "median_ci_high": pl.Float64, "p90_days": pl.Float64}
    groups = cases.partition_by(list(by), as_dict=True, maintain_order=True) if by else {(): cases}
    rows = []
    for key, part in groups.items():
        km = kaplan_meier(part["duration_days"].to_list(), part["event"].to_list())
        rows.append((*key, km.n_cases, km.n_events, km.median_days, km.median_ci_low, km.median_ci_high,
                     km.p90_days))
    return pl.DataFrame(rows, schema=schema, orient="row")


def logrank_test(cases: pl.DataFrame, group: str = "group") -> LogRankResult:
    """Log-rank test of equal time to first intervention across all groups at once (K-1 df).

    Two groups: scipy.stats.logrank. More: the K-group chi-square U' V^-1 U on the first K-1 groups.
    """
    require_columns(cases, ["duration_days", "event", group], "logrank_test")
    parts = {k[0]: _arrays(p["duration_days"].to_list(), p["event"].to_list())
             for k, p in cases.filter(pl.col(group).is_not_null()).partition_by(group, as_dict=True).items()}
    names = tuple(sorted(str(g) for g in parts))
    data = [parts[g] for g in sorted(parts, key=str)]
    if len(data) < 2 or not any(e.any() for _, e in data):
        return LogRankResult("not_applicable", None, None, None, names)
    if len(data) == 2:
        res = stats.logrank(*(stats.CensoredData(uncensored=t[e], right=t[~e]) for t, e in data))
        z = finite_or_none(res.statistic)
        return LogRankResult("logrank_two_groups", None if z is None else z * z, 1, finite_or_none(res.pvalue), names)
    statistic, df = _logrank_k_groups(data)
    p = finite_or_none(stats.chi2.sf(statistic, df)) if statistic is not None else None
    return LogRankResult("logrank_k_groups", statistic, df, p, names)


def timeliness_share(duration_days: Sequence[float], event: Sequence[bool], target_days: int) -> TimelinessResult:
    """Met: first action within target days. Missed: action later, or none by then. Not yet due: left out."""
    t, e = _arrays(duration_days, event)
    met = int((e & (t <= target_days)).sum())
    missed = int((t > target_days).sum())
    not_yet_due = int((~e & (t <= target_days)).sum())
    return TimelinessResult(target_days, met, missed, not_yet_due,
                            met / (met + missed) if met + missed > 0 else None)


def timeliness(cases: pl.DataFrame, by: Sequence[str] = (),
               settings: MetricSettings = DEFAULT_SETTINGS) -> pl.DataFrame:
    """timeliness_share per `by` x concern_level, each level against its own target (unassessed left out).

    Output: the `by` columns, concern_level, target_days, n_met, n_missed, n_not_yet_due, share_met.
    """
    require_columns(cases, ["duration_days", "event", "concern_level", *by], "timeliness")
    keys = [*by, "concern_level"]
    schema = {c: cases.schema[c] for c in keys} | {
        "target_days": pl.Int64, "n_met": pl.Int64, "n_missed": pl.Int64, "n_not_yet_due": pl.Int64,
        "share_met": pl.Float64}
    assessed = cases.filter(pl.col("concern_level").is_in(list(CONCERN_LEVELS)))
    rows = []
    for key, part in assessed.partition_by(keys, as_dict=True, maintain_order=True).items():
        r = timeliness_share(part["duration_days"].to_list(), part["event"].to_list(),
                             settings.timeliness_days[key[-1]])
        rows.append((*key, r.target_days, r.n_met, r.n_missed, r.n_not_yet_due, r.share_met))
    return pl.DataFrame(rows, schema=schema, orient="row")


def _logrank_k_groups(data: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float | None, int]:
    """Observed minus expected events per group and their hypergeometric covariance, summed over event days."""
    k = len(data)
    event_days = np.unique(np.concatenate([t[e] for t, e in data]))
    u = np.zeros(k)
    v = np.zeros((k, k))
    for day in event_days:
        at_risk = np.array([(t >= day).sum() for t, _ in data], dtype=float)
        deaths = np.array([(e & (t == day)).sum() for t, e in data], dtype=float)
        n, d = at_risk.sum(), deaths.sum()
        u += deaths - d * at_risk / n
        if n > 1:
            share = at_risk / n
            v += d * (n - d) / (n - 1) * (np.diag(share) - np.outer(share, share))
    u, v = u[:-1], v[:-1, :-1]
    df = int(np.linalg.matrix_rank(v)) if v.size else 0
    if df == 0:
        return None, 0
    return finite_or_none(float(u @ np.linalg.pinv(v) @ u)), df


def _first_at_or_below(days: np.ndarray, values: np.ndarray, level: float) -> float | None:
    hit = np.nonzero(values <= level + _TOLERANCE)[0]
    return float(days[hit[0]]) if hit.size else None


def _arrays(duration_days: Sequence[float], event: Sequence[bool]) -> tuple[np.ndarray, np.ndarray]:
    if any(x is None for x in event):
        raise ValueError("survival: every case needs an event flag (true: first action seen, false: censored)")
    t = np.asarray(list(duration_days), dtype=float)
    e = np.asarray(list(event), dtype=bool) if len(event) else np.zeros(0, dtype=bool)
    if t.shape != e.shape:
        raise ValueError(f"survival: {t.size} durations but {e.size} event flags")
    if np.isnan(t).any() or (t < 0).any():
        raise ValueError("survival: durations must be present and 0 or more days")
    return t, e
