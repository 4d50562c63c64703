"""Time from report to first intervention, with cases still waiting counted honestly (right censoring).

A median of only the cases that were served would hide the ones still waiting; Kaplan-Meier does not.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
from scipy import linalg, special, stats

from data_contracts.interchange import CONCERN_LEVELS
from metrics.config import DEFAULT_SETTINGS, MetricSettings
from metrics.frames import codes, finite_or_none, first_seen_ids, require_columns, segment_sums

# Survival is a product of fractions: 0.5 may come out as 0.5000000000000001.
_TOLERANCE = 1e-12

CURVE_SCHEMA: dict[str, pl.DataType] = {
    "days": pl.Float64,
    "at_risk": pl.Int64,
    "events": pl.Int64,
    "censored": pl.Int64,
    "survival": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
}
SUMMARY_COLUMNS = ("n_cases", "n_events", "median_days", "median_ci_low", "median_ci_high", "p90_days")


@dataclass(frozen=True)
class KaplanMeier:
    """The curve (one row per distinct day with an event or a censoring) and the times read off it."""

    n_cases: int
    n_events: int
    median_days: float | None  # first day survival <= 0.5; None when not reached
    median_ci_low: float | None  # Brookmeyer-Crowley from the log-log Greenwood band
    median_ci_high: float | None
    p90_days: float | None  # first day survival <= 0.1; None when not reached
    curve: pl.DataFrame  # CURVE_SCHEMA


@dataclass(frozen=True)
class LogRankResult:
    """Whether time to first intervention differs between groups; method says which test ran."""

    method: str  # logrank_two_groups, logrank_k_groups, or not_applicable
    statistic: float | None  # chi-square (for two groups, the square of scipy's Z)
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
    censor_at = (
        pl.when(pl.col("closed_date").is_not_null() & (pl.col("closed_date") <= pl.lit(as_of)))
        .then(pl.col("closed_date"))
        .otherwise(pl.lit(as_of))
    )
    end = pl.coalesce(pl.col("first_action_date"), censor_at)
    out = cases.with_columns(
        (end - pl.col("reported_date")).dt.total_days().alias("duration_days"),
        pl.col("first_action_date").is_not_null().alias("event"),
    )
    bad = out.filter(pl.col("duration_days") < 0)
    if bad.height:
        raise ValueError(
            f"time_to_first_action: {bad.height} case(s) end before they were reported "
            f"(first: {bad.row(0, named=True)}); check the dates or the as-of date"
        )
    return out


def kaplan_meier(duration_days: Sequence[float], event: Sequence[bool], confidence_level: float = 0.95) -> KaplanMeier:
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
    curve = pl.DataFrame(
        {
            "days": days.astype(float),
            "at_risk": at_risk,
            "events": events,
            "censored": censored,
            "survival": survival,
            "ci_low": [finite_or_none(x) for x in low],
            "ci_high": [finite_or_none(x) for x in high],
        },
        schema=CURVE_SCHEMA,
    )
    return KaplanMeier(
        n_cases=int(t.size),
        n_events=int(e.sum()),
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
    Groups come in the order they first appear. Every group at once: the numbers are kaplan_meier's
    (scipy.stats.ecdf's arithmetic, step by step) without one scipy call per group.
    """
    require_columns(cases, ["duration_days", "event", *by], "time_to_intervention")
    schema = {c: cases.schema[c] for c in by} | {
        "n_cases": pl.Int64,
        "n_events": pl.Int64,
        "median_days": pl.Float64,
        "median_ci_low": pl.Float64,
        "median_ci_high": pl.Float64,
        "p90_days": pl.Float64,
    }
    t, e = _columns(cases)
    if not by and t.size == 0:
        return pl.DataFrame([(0, 0, None, None, None, None)], schema=schema, orient="row")
    gid = first_seen_ids(codes(cases, list(by))) if by else np.zeros(t.size, dtype=np.int64)
    groups = int(gid.max()) + 1 if gid.size else 0
    summary = _km_summaries(gid, t, e, groups)
    first = np.full(groups, gid.size, dtype=np.int64)
    np.minimum.at(first, gid, np.arange(gid.size))
    values = pl.DataFrame(
        [
            pl.Series("n_cases", summary["n_cases"], dtype=pl.Int64),
            pl.Series("n_events", summary["n_events"], dtype=pl.Int64),
            *(
                pl.Series(c, summary[c], dtype=pl.Float64).fill_nan(None)
                for c in ("median_days", "median_ci_low", "median_ci_high", "p90_days")
            ),
        ]
    )
    return _beside(cases, by, first, values)


def _beside(frame: pl.DataFrame, by: Sequence[str], first: np.ndarray, values: pl.DataFrame) -> pl.DataFrame:
    """The `by` columns of each group's first row, then `values` (one row per group)."""
    if not by:
        return values
    return pl.concat([frame.select(by)[first], values], how="horizontal")


def _columns(cases: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """duration_days and event as arrays, refused as _arrays refuses them."""
    if cases["event"].null_count():
        raise ValueError("survival: every case needs an event flag (true: first action seen, false: censored)")
    t = cases["duration_days"].cast(pl.Float64).fill_null(np.nan).to_numpy().astype(np.float64)
    e = cases["event"].to_numpy().astype(bool)
    if np.isnan(t).any() or (t < 0).any():
        raise ValueError("survival: durations must be present and 0 or more days")
    return t, e


def _km_summaries(
    gid: np.ndarray, t: np.ndarray, e: np.ndarray, groups: int, confidence_level: float = 0.95
) -> dict[str, np.ndarray]:
    """kaplan_meier's n_cases, n_events, median, median CI and p90 for groups 0..groups-1 (NaN: none).

    Per group and distinct day: at risk, events; survival as scipy.stats.ecdf computes it (1 - share
    served when no case is censored, else the product of (n - d) / n); the log-log Greenwood band as
    its confidence_interval computes it. Running sums and products go group by group, in day order.
    """
    out = {
        "n_cases": np.bincount(gid, minlength=groups).astype(np.int64),
        "n_events": np.bincount(gid, weights=e, minlength=groups).astype(np.int64),
    }
    for c in ("median_days", "median_ci_low", "median_ci_high", "p90_days"):
        out[c] = np.full(groups, np.nan)
    if t.size == 0:
        return out
    order = np.lexsort((t, gid))
    g, ts, es = gid[order], t[order], e[order]
    run = np.flatnonzero(np.r_[True, (g[1:] != g[:-1]) | (ts[1:] != ts[:-1])])
    run_g, run_t = g[run], ts[run]
    count = np.diff(run, append=g.size)
    deaths = np.add.reduceat(es.astype(np.int64), run)
    size = out["n_cases"]
    before_group = np.cumsum(size) - size
    seen = np.cumsum(count) - count - before_group[run_g]  # cases of the group on earlier days
    at_risk = size[run_g] - seen
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        product = pl.DataFrame(
            {"g": run_g, "x": (at_risk - deaths) / at_risk, "v": deaths / (at_risk * (at_risk - deaths))}
        ).select(pl.col("x").cum_prod().over("g"), pl.col("v").cum_sum().over("g"))
        sf = product["x"].to_numpy()
        uncensored = (out["n_events"] == size)[run_g]
        sf = np.where(uncensored, 1 - (seen + count) / size[run_g], sf)
        greenwood = product["v"].to_numpy()
        var = 1 / np.log(sf) ** 2 * greenwood
        se = np.sqrt(var)
        level = np.asarray(confidence_level)[()]
        z = special.ndtri(1 / 2 + level / 2)
        lnl_points = np.log(-np.log(sf))
        z_se = z * se
        low = np.clip(np.exp(-np.exp(lnl_points + z_se)), 0, 1)
        high = np.clip(np.exp(-np.exp(lnl_points - z_se)), 0, 1)
    first_run = np.flatnonzero(np.r_[True, run_g[1:] != run_g[:-1]])
    present = run_g[first_run]

    def first_day(values: np.ndarray, level_: float) -> np.ndarray:
        hit = np.where(values <= level_ + _TOLERANCE, run_t, np.inf)
        day = np.minimum.reduceat(hit, first_run)
        return np.where(np.isinf(day), np.nan, day)

    out["median_days"][present] = first_day(sf, 0.5)
    out["median_ci_low"][present] = first_day(np.where(np.isnan(low), sf, low), 0.5)
    out["median_ci_high"][present] = first_day(np.where(np.isnan(high), sf, high), 0.5)
    out["p90_days"][present] = first_day(sf, 0.1)
    return out


def logrank_test(cases: pl.DataFrame, group: str = "group") -> LogRankResult:
    """Log-rank test of equal time to first intervention across all groups at once (K-1 df).

    Two groups: scipy.stats.logrank. More: the K-group chi-square U' V^-1 U on the first K-1 groups.
    """
    require_columns(cases, ["duration_days", "event", group], "logrank_test")
    row = logrank_table(cases, (), group).row(0, named=True)
    return LogRankResult(row["method"], row["statistic"], row["df"], row["p_value"], tuple(row["groups"]))


def logrank_table(cases: pl.DataFrame, by: Sequence[str], group: str = "group") -> pl.DataFrame:
    """logrank_test within each group of `by`, every test at once.

    Output: the `by` columns, method, statistic, df, p_value, groups (the group labels, sorted), one row
    per group of `by` in the order they first appear (with no `by`: one row). Two groups: scipy.stats.logrank's
    arithmetic; K groups: _logrank_k_groups's, day by day, for up to _EXACT_K_MAX groups, and above that the
    same statistic through a Cholesky solve once the matrix is shown to be of full rank (see _logrank_large).
    """
    require_columns(cases, ["duration_days", "event", group, *by], "logrank_test")
    frame = cases.filter(pl.col(group).is_not_null())
    t, e = _columns(frame)
    tid = first_seen_ids(codes(frame, list(by))) if by else np.zeros(t.size, dtype=np.int64)
    tests = (int(tid.max()) + 1 if tid.size else 0) if by else 1
    label = (
        frame[group]
        if frame.schema[group] == pl.String
        else pl.Series([str(v) for v in frame[group].to_list()], dtype=pl.String)
    )
    names = sorted(set(label.unique().to_list()))
    rank = (
        label.replace_strict(names, list(range(len(names))), return_dtype=pl.Int64).to_numpy()
        if names
        else np.zeros(0, dtype=np.int64)
    )
    # groups of each test: (test, label rank) pairs in sorted order, j = position within the test
    pair = np.unique(tid * max(len(names), 1) + rank, return_inverse=True)
    pair_test = pair[0] // max(len(names), 1)
    pair_first = np.searchsorted(pair_test, np.arange(tests))
    k_of = np.bincount(pair_test, minlength=tests)
    j = (np.arange(pair[0].size) - pair_first[pair_test])[pair[1].reshape(-1)] if t.size else rank
    any_event = np.bincount(tid, weights=e, minlength=tests) > 0
    method = np.where(
        (k_of < 2) | ~any_event, "not_applicable", np.where(k_of == 2, "logrank_two_groups", "logrank_k_groups")
    )
    statistic, df, p = np.full(tests, np.nan), np.full(tests, -1, dtype=np.int64), np.full(tests, np.nan)
    two = method[tid] == "logrank_two_groups"
    if two.any():
        which = np.flatnonzero(method == "logrank_two_groups")
        statistic[which], p[which] = _logrank_two(tid[two], j[two], t[two], e[two], which)
        df[which] = 1
    many = method[tid] == "logrank_k_groups"
    if many.any():
        which = np.flatnonzero(method == "logrank_k_groups")
        statistic[which], df[which], p[which] = _logrank_many(tid[many], j[many], t[many], e[many], which, k_of[which])
    # A test whose statistic has no variance (every event at a day only one group was at risk) was not run:
    # it is labelled so, never as a 1-df test with a blank result.
    no_result = (method != "not_applicable") & ~np.isfinite(p)
    method = np.where(no_result, "not_applicable", method)
    df = np.where(no_result, -1, df)
    statistic = np.where(no_result, np.nan, statistic)
    named = pl.DataFrame({"t": pair_test, "r": pair[0] % max(len(names), 1)}).with_columns(
        pl.col("r").replace_strict(list(range(len(names))), names, return_dtype=pl.String).alias("name")
    )
    name_list = (
        pl.DataFrame({"t": np.arange(tests)})
        .join(named.group_by("t", maintain_order=True).agg("name"), on="t", how="left", maintain_order="left")["name"]
        .fill_null([])
        .cast(pl.List(pl.String))
    )
    first = np.full(tests, tid.size, dtype=np.int64)
    np.minimum.at(first, tid, np.arange(tid.size))
    values = pl.DataFrame(
        [
            pl.Series("method", method.tolist(), dtype=pl.String),
            pl.Series("statistic", statistic, dtype=pl.Float64).fill_nan(None),
            pl.Series("df", df, dtype=pl.Int64).replace(-1, None),
            pl.Series("p_value", p, dtype=pl.Float64).fill_nan(None),
            name_list.alias("groups"),
        ]
    )
    return _beside(frame, by, first, values)


def logrank_not_run_reason(groups: Sequence[str], n_events: int) -> str:
    """Why a log-rank test was not run (method 'not_applicable'), in words for a page or report."""
    if len(groups) < 2:
        return "not run: fewer than two groups have cases"
    if n_events == 0:
        return "not run: no case had the event in any group"
    return "not run: the groups were never at risk on the same days, so there is nothing to compare"


# K-group tests with more groups than this skip the SVDs (see _logrank_large)
_EXACT_K_MAX = 64


def _runs(tid: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order by test then day; start of each (test, day) run; a whole-number rank of each day."""
    day = np.unique(t, return_inverse=True)[1].reshape(-1).astype(np.int64)
    order = np.lexsort((day, tid))
    ts, ds = tid[order], day[order]
    run = np.flatnonzero(np.r_[True, (ts[1:] != ts[:-1]) | (ds[1:] != ds[:-1])]) if ts.size else ts
    return order, run, day


def _logrank_two(tid, j, t, e, which) -> tuple[np.ndarray, np.ndarray]:
    """scipy.stats.logrank(first group, second group) for many tests: Z squared and the two-sided p.

    At each day with an event: at risk in both groups and in the first, events; sums over those days
    as numpy sums one array (segment_sums), so the numbers are scipy's own."""
    order, run, _ = _runs(tid, t)
    ts, es, xs = tid[order], e[order].astype(np.int64), (j[order] == 0).astype(np.int64)
    run_test = ts[run]
    count = np.diff(run, append=ts.size)
    deaths = np.add.reduceat(es, run)
    in_x = np.add.reduceat(xs, run)
    tests = which.size
    local = np.searchsorted(which, run_test)  # 0..tests-1
    size = np.bincount(local, weights=count, minlength=tests).astype(np.int64)
    size_x = np.bincount(local, weights=in_x, minlength=tests).astype(np.int64)
    before = np.cumsum(size) - size
    before_x = np.cumsum(size_x) - size_x
    at_risk = size[local] - (np.cumsum(count) - count - before[local])
    at_risk_x = size_x[local] - (np.cumsum(in_x) - in_x - before_x[local])
    died_x = np.bincount(local, weights=np.add.reduceat(es * xs, run), minlength=tests)
    ev = deaths > 0
    a_xy, a_x, d_xy, where = at_risk[ev], at_risk_x[ev], deaths[ev], local[ev]
    a_y = a_xy - a_x
    num = a_x * a_y * d_xy * (a_xy - d_xy)
    den = a_xy**2 * (a_xy - 1)
    big = a_xy > 1
    with np.errstate(divide="ignore", invalid="ignore"):
        sum_var = segment_sums(num[big] / den[big], np.bincount(where[big], minlength=tests))
        sum_exp = segment_sums(a_x * (d_xy / a_xy), np.bincount(where, minlength=tests))
        z = (died_x - sum_exp) / np.sqrt(sum_var)
        p = 2 * special.ndtr(-np.abs(z))
        chi2 = np.where(np.isfinite(z), z * z, np.nan)
    return chi2, np.where(np.isfinite(p), p, np.nan)


def _logrank_many(tid, j, t, e, which, k_of) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """_logrank_k_groups for many tests: statistic, df, p (NaN / -1 where blank)."""
    tests = which.size
    local = np.searchsorted(which, tid)
    day = np.unique(t, return_inverse=True)[1].reshape(-1).astype(np.int64)
    span = int(day.max()) + 1 if day.size else 1
    # event days of each test, in order
    ev_key = np.unique(local[e] * span + day[e])
    ev_test = ev_key // span
    ev_first = np.searchsorted(ev_test, np.arange(tests))
    n_days = np.bincount(ev_test, minlength=tests)
    key = local * span + day
    at_risk_upto = np.searchsorted(ev_key, key, side="right") - ev_first[local]  # event days <= own day
    death_day = np.searchsorted(ev_key, key, side="left") - ev_first[local]
    statistic, df, p = np.full(tests, np.nan), np.full(tests, -1, dtype=np.int64), np.full(tests, np.nan)
    buckets = k_of.astype(np.int64) * 4096 + np.minimum(np.ceil(np.log2(np.maximum(n_days, 1))), 4095)
    for bucket in np.unique(buckets):
        members = np.flatnonzero(buckets == bucket)
        k = int(k_of[members[0]])
        rows = np.flatnonzero(np.isin(local, members))
        batch = np.searchsorted(members, local[rows])
        days = int(n_days[members].max())
        risk = np.zeros((members.size, days + 1, k), dtype=np.int64)
        np.add.at(risk, (batch, at_risk_upto[rows], j[rows]), 1)
        risk = np.cumsum(risk[:, ::-1, :], axis=1)[:, ::-1, :][:, 1:, :].astype(float)
        died = np.zeros((members.size, days, k))
        ev_rows = rows[e[rows]]
        np.add.at(died, (np.searchsorted(members, local[ev_rows]), death_day[ev_rows], j[ev_rows]), 1.0)
        valid = np.arange(days)[None, :] < n_days[members][:, None]
        if k - 1 > _EXACT_K_MAX:
            for m in range(members.size):
                statistic[members[m]], df[members[m]], p[members[m]] = _logrank_large(
                    risk[m, : n_days[members[m]]], died[m, : n_days[members[m]]]
                )
            continue
        u, v = _uv(risk, died, valid)
        u, v = u[:, :-1], v[:, :-1, :-1]
        rank = np.linalg.matrix_rank(v)
        inverse = np.linalg.pinv(v)
        for m in range(members.size):
            if rank[m] == 0:
                df[members[m]] = 0
                continue
            value = finite_or_none(float(u[m] @ inverse[m] @ u[m]))
            df[members[m]] = int(rank[m])
            if value is not None:
                statistic[members[m]] = value
                p[members[m]] = _finite(stats.chi2.sf(value, int(rank[m])))
    return statistic, df, p


def _uv(risk: np.ndarray, died: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """U and V of _logrank_k_groups for a batch of tests (tests x days x groups), summed day by day in
    the same order and with the same arithmetic; days past a test's last add exactly nothing."""
    tests, days, k = risk.shape
    u = np.zeros((tests, k))
    v = np.zeros((tests, k, k))
    diag = np.arange(k)
    for d in range(days):
        at_risk, deaths, ok = risk[:, d, :], died[:, d, :], valid[:, d]
        with np.errstate(divide="ignore", invalid="ignore"):
            n, total = at_risk.sum(axis=1), deaths.sum(axis=1)
            u += np.where(ok[:, None], deaths - total[:, None] * at_risk / n[:, None], 0.0)
            share = at_risk / n[:, None]
            matrix = np.zeros((tests, k, k))
            matrix[:, diag, diag] = share
            matrix = matrix - share[:, :, None] * share[:, None, :]
            coef = total * (n - total) / (n - 1)
            v += np.where((ok & (n > 1))[:, None, None], coef[:, None, None] * matrix, 0.0)
    return u, v


def _logrank_large(risk: np.ndarray, died: np.ndarray) -> tuple[float, int, float]:
    """The K-group statistic for many groups (one district's schools), without two SVDs of a K x K matrix.

    U is summed day by day exactly as _logrank_k_groups does. V is the same sum formed as one matrix
    product (the same terms, summed in another order). Groups never at risk on an event day have a zero
    row and column and U = 0: they drop out of U' V^+ U and of the rank. If the rest, less
    ||V||_1 (K-1) eps times the identity, has a Cholesky factor, every eigenvalue is above
    numpy.linalg.matrix_rank's tolerance: the rank is full, V^+ = V^-1 and U' V^-1 U comes from the
    factor. Otherwise the SVDs of _logrank_k_groups decide, as before.
    """
    k = risk.shape[1]
    n, total = risk.sum(axis=1), died.sum(axis=1)
    u = np.zeros(k)
    for d in range(risk.shape[0]):
        u += died[d] - total[d] * risk[d] / n[d]
    keep = n > 1
    share = risk[keep] / n[keep][:, None]
    coef = total[keep] * (n[keep] - total[keep]) / (n[keep] - 1)
    v = -((share * coef[:, None]).T @ share)
    v[np.arange(k), np.arange(k)] = (coef[:, None] * (share - share * share)).sum(axis=0)
    u, v = u[:-1], v[:-1, :-1]
    live = np.flatnonzero(np.abs(v).sum(axis=1) > 0)
    if live.size == 0:
        return np.nan, 0, np.nan
    sub = v[np.ix_(live, live)]
    tolerance = np.abs(sub).sum(axis=0).max() * (k - 1) * np.finfo(float).eps
    try:
        linalg.cholesky(sub - 4 * tolerance * np.eye(live.size), lower=True, check_finite=False)
        factor = linalg.cho_factor(sub, lower=True, check_finite=False)
        value = float(u[live] @ linalg.cho_solve(factor, u[live], check_finite=False))
        rank = live.size
    except linalg.LinAlgError:
        rank = int(np.linalg.matrix_rank(v))
        if rank == 0:
            return np.nan, 0, np.nan
        value = float(u @ np.linalg.pinv(v) @ u)
    if not np.isfinite(value):
        return np.nan, rank, np.nan
    return value, rank, _finite(stats.chi2.sf(value, rank))


def _finite(x: float) -> float:
    x = finite_or_none(x)
    return np.nan if x is None else x


def timeliness_share(duration_days: Sequence[float], event: Sequence[bool], target_days: int) -> TimelinessResult:
    """Met: first action within target days. Missed: action later, or none by then. Not yet due: left out."""
    t, e = _arrays(duration_days, event)
    met = int((e & (t <= target_days)).sum())
    missed = int((t > target_days).sum())
    not_yet_due = int((~e & (t <= target_days)).sum())
    return TimelinessResult(target_days, met, missed, not_yet_due, met / (met + missed) if met + missed > 0 else None)


def timeliness(
    cases: pl.DataFrame, by: Sequence[str] = (), settings: MetricSettings = DEFAULT_SETTINGS
) -> pl.DataFrame:
    """timeliness_share per `by` x concern_level, each level against its own target (unassessed left out).
    With reported_date and closed_date among the columns, a case closed with no action counts as missed.

    Output: the `by` columns, concern_level, target_days, n_met, n_missed, n_not_yet_due, share_met.
    """
    require_columns(cases, ["duration_days", "event", "concern_level", *by], "timeliness")
    keys = [*by, "concern_level"]
    schema = {c: cases.schema[c] for c in keys} | {
        "target_days": pl.Int64,
        "n_met": pl.Int64,
        "n_missed": pl.Int64,
        "n_not_yet_due": pl.Int64,
        "share_met": pl.Float64,
    }
    assessed = cases.filter(pl.col("concern_level").is_in(list(CONCERN_LEVELS)))
    _columns(assessed)
    target = (
        pl.col("concern_level").cast(pl.String).replace_strict(dict(settings.timeliness_days), return_dtype=pl.Int64)
    )
    t, e = pl.col("duration_days").cast(pl.Float64), pl.col("event")
    within = t <= target.cast(pl.Float64)
    # A case closed with no action can never be served: it missed its target, even if it closed inside it
    # (it is never "not yet due"). Known when the rows carry the dates the duration was taken from.
    if {"reported_date", "closed_date"} <= set(assessed.columns):
        end = pl.col("reported_date") + pl.duration(days=pl.col("duration_days"))
        closed_unserved = (~e & pl.col("closed_date").is_not_null() & (end == pl.col("closed_date"))).fill_null(False)
    else:
        closed_unserved = pl.lit(False)
    out = (
        assessed.with_columns(target.alias("target_days"))
        .group_by(keys, maintain_order=True)
        .agg(
            pl.col("target_days").first(),
            (e & within).sum().cast(pl.Int64).alias("n_met"),
            (~within | closed_unserved).sum().cast(pl.Int64).alias("n_missed"),
            (~e & within & ~closed_unserved).sum().cast(pl.Int64).alias("n_not_yet_due"),
        )
    )
    share = (
        pl.when(pl.col("n_met") + pl.col("n_missed") > 0)
        .then(pl.col("n_met") / (pl.col("n_met") + pl.col("n_missed")))
        .otherwise(None)
    )
    return out.with_columns(share.alias("share_met")).select([pl.col(c).cast(dtype) for c, dtype in schema.items()])


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
