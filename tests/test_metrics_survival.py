"""Time to first intervention. The Kaplan-Meier oracle is the project's shared worked example
(worked-examples.md, scipy 1.17): events at 2, 3, 5, 10, 12 days, censored at 3, 8, 15."""

import math
from datetime import date

import numpy as np
import polars as pl
import pytest
from scipy import stats

from metrics.config import MetricSettings
from metrics.survival import (
    _logrank_k_groups,
    kaplan_meier,
    logrank_test,
    time_to_first_action,
    time_to_intervention,
    timeliness,
    timeliness_share,
)

DAYS = [2, 3, 5, 10, 12, 3, 8, 15]
EVENTS = [True] * 5 + [False] * 3


def test_kaplan_meier_matches_the_worked_example():
    km = kaplan_meier(DAYS, EVENTS)
    assert km.curve["days"].to_list() == [2, 3, 5, 8, 10, 12, 15]
    assert km.curve["survival"].to_list() == pytest.approx([0.875, 0.75, 0.6, 0.6, 0.4, 0.2, 0.2])
    assert (km.n_cases, km.n_events) == (8, 5)


def test_median_counts_censored_cases_unlike_the_naive_median():
    # worked example: median 10 days (first time survival <= 0.5); the five event times alone say 5.
    assert kaplan_meier(DAYS, EVENTS).median_days == 10
    assert np.median([2, 3, 5, 10, 12]) == 5


def test_event_counts_before_censoring_on_the_same_day():
    # day 3 has an event and a censoring: 7 at risk when the event happens, so 0.875 * 6/7 = 0.75.
    curve = kaplan_meier(DAYS, EVENTS).curve.filter(pl.col("days") == 3).row(0, named=True)
    assert (curve["at_risk"], curve["events"], curve["censored"]) == (7, 1, 1)
    assert curve["survival"] == pytest.approx(0.75)


def test_log_log_band_matches_greenwood_by_hand():
    # Greenwood at day 2: sum d/(n(n-d)) = 1/56; log-log se = sqrt(1/56) / |ln 0.875|;
    # band S^exp(+-1.96 se) (Kalbfleisch & Prentice), computed here independently of scipy.
    se = math.sqrt(1 / 56) / abs(math.log(0.875))
    z = stats.norm.ppf(0.975)
    low, high = 0.875 ** math.exp(z * se), 0.875 ** math.exp(-z * se)
    first = kaplan_meier(DAYS, EVENTS).curve.row(0, named=True)
    assert (first["ci_low"], first["ci_high"]) == pytest.approx((low, high))
    assert low == pytest.approx(0.387, abs=1e-3)


def test_median_interval_is_where_the_band_holds_one_half():
    # Brookmeyer-Crowley by band inversion: the lower band is 0.387 <= 0.5 from day 2; the upper band never
    # falls to 0.5 (its lowest value is 0.5727 at day 12), so the upper limit is not reached.
    km = kaplan_meier(DAYS, EVENTS)
    assert km.median_ci_low == 2
    assert km.median_ci_high is None
    assert min(km.curve["ci_high"].to_list()) > 0.5


def test_p90_is_blank_when_survival_never_falls_to_a_tenth():
    assert kaplan_meier(DAYS, EVENTS).p90_days is None
    assert kaplan_meier([1, 2, 3, 4], [True] * 4).p90_days == 4


def test_survival_of_exactly_one_half_reaches_the_median():
    km = kaplan_meier([1, 2], [True, True])
    assert km.median_days == 1
    assert km.curve["ci_low"].to_list()[-1] is None  # the band is undefined at survival 0: blank, not NaN


def test_no_cases_and_no_events_give_blanks():
    empty = kaplan_meier([], [])
    assert (empty.n_cases, empty.median_days, empty.p90_days, empty.curve.height) == (0, None, None, 0)
    waiting = kaplan_meier([3, 4], [False, False])
    assert (waiting.n_events, waiting.median_days, waiting.median_ci_low, waiting.median_ci_high) == (
        0,
        None,
        None,
        None,
    )
    assert waiting.curve["survival"].to_list() == [1.0, 1.0]


def test_same_day_action_is_day_zero():
    km = kaplan_meier([0, 0, 0, 5], [True, True, True, False])
    assert km.median_days == 0


def test_bad_durations_are_refused():
    with pytest.raises(ValueError, match="0 or more"):
        kaplan_meier([-1, 2], [True, True])
    with pytest.raises(ValueError, match="event flags"):
        kaplan_meier([1, 2], [True])
    with pytest.raises(ValueError, match="event flag"):
        kaplan_meier([1, 2], [True, None])


def cases_with_dates():
    return pl.DataFrame(
        {
            "reported_date": [date(2025, 3, 1), date(2025, 3, 1), date(2025, 3, 1), date(2025, 3, 1)],
            "first_action_date": [date(2025, 3, 4), None, None, date(2025, 3, 1)],
            "closed_date": [None, date(2025, 3, 11), None, date(2025, 3, 20)],
        }
    )


def test_censoring_rule_of_the_spec():
    # spec time_to_intervention.csv: no action -> censored at closed_date, or at the as-of date while open.
    out = time_to_first_action(cases_with_dates(), as_of=date(2025, 3, 31))
    assert out["duration_days"].to_list() == [3, 10, 30, 0]
    assert out["event"].to_list() == [True, False, False, True]


def test_a_case_ending_before_it_was_reported_is_refused():
    with pytest.raises(ValueError, match="before they were reported"):
        time_to_first_action(cases_with_dates(), as_of=date(2025, 2, 1))


def test_time_to_intervention_gives_the_export_columns_per_group():
    frame = pl.DataFrame(
        {"concern_level": ["low"] * 8 + ["high"] * 2, "duration_days": DAYS + [0, 1], "event": EVENTS + [True, True]}
    )
    out = time_to_intervention(frame, ["concern_level"])
    assert out.columns == [
        "concern_level",
        "n_cases",
        "n_events",
        "median_days",
        "median_ci_low",
        "median_ci_high",
        "p90_days",
    ]
    low = out.filter(pl.col("concern_level") == "low").row(0, named=True)
    assert (low["n_cases"], low["n_events"], low["median_days"], low["p90_days"]) == (8, 5, 10, None)
    overall = time_to_intervention(frame).row(0, named=True)
    assert overall["n_cases"] == 10


def test_two_group_logrank_is_scipys_and_k_group_formula_agrees():
    a = (np.array(DAYS, float), np.array(EVENTS))
    b = (np.array([1, 1, 2, 4, 6, 9], float), np.array([True] * 6))
    frame = pl.DataFrame(
        {
            "group": ["a"] * 8 + ["b"] * 6,
            "duration_days": np.concatenate([a[0], b[0]]),
            "event": np.concatenate([a[1], b[1]]),
        }
    )
    res = logrank_test(frame)
    scipy_res = stats.logrank(
        stats.CensoredData(uncensored=a[0][a[1]], right=a[0][~a[1]]),
        stats.CensoredData(uncensored=b[0][b[1]], right=b[0][~b[1]]),
    )
    assert res.method == "logrank_two_groups" and res.df == 1
    assert res.statistic == pytest.approx(scipy_res.statistic**2)
    assert res.p_value == pytest.approx(scipy_res.pvalue)
    statistic, df = _logrank_k_groups([a, b])
    assert (statistic, df) == (pytest.approx(res.statistic), 1)


def test_k_group_logrank_has_k_minus_one_df():
    frame = pl.DataFrame(
        {
            "group": ["a"] * 8 + ["b"] * 6 + ["c"] * 5,
            "duration_days": DAYS + [1, 1, 2, 4, 6, 9] + [20, 22, 30, 5, 40],
            "event": EVENTS + [True] * 6 + [True, True, False, True, False],
        }
    )
    res = logrank_test(frame)
    assert res.method == "logrank_k_groups" and res.df == 2 and res.groups == ("a", "b", "c")
    assert res.p_value == pytest.approx(stats.chi2.sf(res.statistic, 2))
    assert res.p_value < 0.05


def test_logrank_needs_two_groups_and_an_event():
    one = pl.DataFrame({"group": ["a", "a"], "duration_days": [1, 2], "event": [True, True]})
    assert logrank_test(one).method == "not_applicable"
    no_events = pl.DataFrame({"group": ["a", "b"], "duration_days": [1, 2], "event": [False, False]})
    assert logrank_test(no_events).p_value is None


def test_timeliness_counts_open_cases_past_target_as_missed_and_leaves_out_those_not_yet_due():
    # target 2 days: met 0 and 1 (actions), missed 3 (late action) and 12 (still waiting), not yet due: 2.
    r = timeliness_share([0, 1, 2, 3, 12], [True, True, False, True, False], 2)
    assert (r.n_met, r.n_missed, r.n_not_yet_due) == (2, 2, 1)
    assert r.share_met == 0.5
    assert timeliness_share([1], [False], 5).share_met is None


def test_timeliness_uses_each_levels_target_and_leaves_unassessed_cases_out():
    frame = pl.DataFrame(
        {
            "concern_level": ["imminent", "imminent", "low", None],
            "duration_days": [0, 1, 9, 50],
            "event": [True, True, True, False],
        }
    )
    out = timeliness(frame, settings=MetricSettings()).sort("concern_level")
    assert out["concern_level"].to_list() == ["imminent", "low"]
    assert out["target_days"].to_list() == [0, 10]
    assert out["share_met"].to_list() == [0.5, 1.0]


def test_a_log_rank_test_without_variance_is_labelled_not_run():
    # Group a's only event falls on a day when no case of b is at risk (b's case left on day 0): the
    # statistic has no variance. It is 'not_applicable' with blank df and p, never a 1-df test with a blank p.
    from metrics.survival import logrank_not_run_reason, logrank_table

    cases = pl.DataFrame({"duration_days": [1.0, 0.0], "event": [True, False], "group": ["a", "b"]})
    row = logrank_table(cases, ()).row(0, named=True)
    assert row["method"] == "not_applicable" and row["df"] is None and row["p_value"] is None
    assert logrank_not_run_reason(row["groups"], 1).startswith("not run: the groups were never at risk")
    one = logrank_table(cases.filter(pl.col("group") == "a"), ()).row(0, named=True)
    assert one["method"] == "not_applicable" and logrank_not_run_reason(one["groups"], 1).startswith(
        "not run: fewer than two groups"
    )


def test_a_case_closed_without_action_inside_its_target_missed_it():
    # Issue 15 item 6: low concern, target 10 days. Case 1 served on day 3 (met); case 2 closed unserved on
    # day 4 (missed: it can never be served, it is not 'not yet due'); case 3 open, waiting 4 days at the
    # as-of date (not yet due); case 4 served on day 12 (missed). Share met = 1 / 3.
    reported = date(2024, 9, 2)
    frame = pl.DataFrame(
        {
            "concern_level": ["low"] * 4,
            "duration_days": [3, 4, 4, 12],
            "event": [True, False, False, True],
            "reported_date": [reported] * 4,
            "closed_date": [date(2024, 9, 20), date(2024, 9, 6), None, None],
        }
    )
    row = timeliness(frame, settings=MetricSettings()).row(0, named=True)
    assert (row["n_met"], row["n_missed"], row["n_not_yet_due"]) == (1, 2, 1)
    assert row["share_met"] == pytest.approx(1 / 3)
    # without the dates the closing cannot be told from waiting: the old reading (not yet due)
    old = timeliness(frame.drop("reported_date", "closed_date"), settings=MetricSettings()).row(0, named=True)
    assert (old["n_met"], old["n_missed"], old["n_not_yet_due"]) == (1, 1, 2)
