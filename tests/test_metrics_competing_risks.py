"""Aalen-Johansen cumulative incidence of a first intervention, closing unserved the competing event.

Checked against numbers computed by hand (exact fractions), an independent exact-arithmetic
implementation on random tables with ties of every kind, Kaplan-Meier where nothing competes, and the
toy case of issue 15.
"""

from __future__ import annotations

import random
from datetime import date
from fractions import Fraction

import numpy as np
import polars as pl
import pytest
from scipy import stats

from metrics.competing_risks import (
    CLOSED_UNSERVED,
    OPEN,
    SERVED,
    aalen_johansen,
    cumulative_incidence_table,
    first_action_outcomes,
)
from metrics.survival import kaplan_meier

S, C, W = SERVED, CLOSED_UNSERVED, OPEN  # served, closed unserved, still waiting


def test_the_toy_case_of_issue_15():
    """4 closed without action (day 2), 3 served by day 5, 3 more by day 20: 30% served by day 5."""
    days = [2] * 4 + [5] * 3 + [20] * 3
    outcome = [C] * 4 + [S] * 6
    ci = aalen_johansen(days, outcome)
    assert ci.served_by[10] == pytest.approx(0.3, abs=1e-15)
    assert ci.served_by[30] == pytest.approx(0.6, abs=1e-15)
    assert ci.ever_served == pytest.approx(0.6, abs=1e-15)
    assert ci.days_to_50 == 20.0 and ci.days_to_90 is None  # 90% is never reached
    # Kaplan-Meier with the closures censored says half were served by day 5: the bias the issue names
    assert kaplan_meier(days, [o == S for o in outcome]).median_days == 5.0


# day: (served, closed unserved, open); worked out by hand in exact fractions below
HAND = {0: (1, 0, 0), 3: (2, 1, 1), 7: (0, 1, 0), 12: (2, 0, 0), 40: (0, 0, 1), 45: (1, 1, 0), 70: (1, 0, 0)}


def _expand(table):
    days, outcome = [], []
    for day, counts in table.items():
        for kind, count in zip((S, C, W), counts):
            days += [day] * count
            outcome += [kind] * count
    return days, outcome


def test_hand_computed_with_ties_and_competing_events():
    # day 0:  n 12, 1 served            CIF 1/12                 event-free 11/12
    # day 3:  n 11, 2 served, 1 closed  CIF 1/12 + 11/12*2/11    event-free 8/12 (the censored case leaves after)
    # day 7:  n 7, 1 closed             CIF 3/12                 event-free 8/12*6/7 = 4/7
    # day 12: n 6, 2 served             CIF 3/12 + 4/7*2/6 = 37/84, event-free 8/21
    # day 40: n 4, 1 censored           unchanged
    # day 45: n 3, 1 served, 1 closed   CIF 37/84 + 8/21*1/3 = 143/252, event-free 8/63
    # day 70: n 1, 1 served             CIF 143/252 + 8/63 = 175/252 = 25/36
    ci = aalen_johansen(*_expand(HAND))
    assert (ci.n_cases, ci.n_served, ci.n_closed_unserved, ci.n_open) == (12, 7, 3, 2)
    assert ci.served_by[10] == pytest.approx(3 / 12, abs=1e-15)
    assert ci.served_by[30] == pytest.approx(37 / 84, abs=1e-15)
    assert ci.served_by[60] == pytest.approx(143 / 252, abs=1e-15)
    assert ci.ever_served == pytest.approx(25 / 36, abs=1e-15)
    assert ci.days_to_50 == 45.0 and ci.days_to_90 is None
    curve = ci.curve
    assert curve["days"].to_list() == [0.0, 3.0, 7.0, 12.0, 40.0, 45.0, 70.0]
    assert curve["at_risk"].to_list() == [12, 11, 7, 6, 4, 3, 1]
    assert curve["event_free"].to_list() == pytest.approx([11 / 12, 8 / 12, 4 / 7, 8 / 21, 8 / 21, 8 / 63, 0.0])
    # served + closed unserved + still waiting = 1 on every day
    before = np.r_[1.0, curve["event_free"].to_numpy()[:-1]]
    closed = np.cumsum(before * curve["closed_unserved"].to_numpy() / curve["at_risk"].to_numpy())
    np.testing.assert_allclose(
        curve["cumulative_incidence"].to_numpy() + closed + curve["event_free"].to_numpy(), 1.0, atol=1e-15
    )
    assert closed[-1] == pytest.approx(77 / 252, abs=1e-15)


def _exact(days, outcome, horizon):
    """Aalen-Johansen in exact fractions, one day at a time, written independently of the module."""
    cif, free = Fraction(0), Fraction(1)
    by_horizon = {h: Fraction(0) for h in horizon}
    first = {}
    for day in sorted(set(days)):
        n = sum(1 for d in days if d >= day)
        d1 = sum(1 for d, o in zip(days, outcome) if d == day and o == S)
        d2 = sum(1 for d, o in zip(days, outcome) if d == day and o == C)
        cif += free * Fraction(d1, n)
        free *= 1 - Fraction(d1 + d2, n)
        for h in horizon:
            if day <= h:
                by_horizon[h] = cif
        for level in (Fraction(1, 2), Fraction(9, 10)):
            if cif >= level and level not in first:
                first[level] = float(day)
    return by_horizon, cif, first.get(Fraction(1, 2)), first.get(Fraction(9, 10))


@pytest.mark.parametrize("seed", range(6))
def test_grouped_table_matches_exact_arithmetic_on_random_tables(seed):
    rng = random.Random(seed)
    rows = []
    for group in range(rng.randint(2, 6)):
        for _ in range(rng.choice([3, 9, 10, 25, 60])):
            rows.append((f"g{group}", rng.randint(0, 40), rng.choice([S, S, S, C, W])))
    frame = pl.DataFrame(rows, schema=["group", "duration_days", "outcome"], orient="row")
    table = cumulative_incidence_table(frame, by=("group",))
    assert table["group"].to_list() == list(dict.fromkeys(frame["group"]))  # first-seen order
    for row in table.iter_rows(named=True):
        part = frame.filter(pl.col("group") == row["group"])
        days, outcome = part["duration_days"].to_list(), part["outcome"].to_list()
        assert (row["n_cases"], row["n_served"], row["n_closed_unserved"], row["n_open"]) == (
            len(days),
            outcome.count(S),
            outcome.count(C),
            outcome.count(W),
        )
        if len(days) < 10:
            assert all(
                row[c] is None
                for c in ("served_by_10", "served_by_30", "served_by_60", "ever_served", "days_to_50", "days_to_90")
            )
            continue
        by_horizon, ever, d50, d90 = _exact(days, outcome, (10, 30, 60))
        for h in (10, 30, 60):
            assert row[f"served_by_{h}"] == pytest.approx(float(by_horizon[h]), abs=1e-12)
        assert row["ever_served"] == pytest.approx(float(ever), abs=1e-12)
        assert (row["days_to_50"], row["days_to_90"]) == (d50, d90)


def test_without_competing_events_it_is_one_minus_kaplan_meier():
    rng = np.random.default_rng(4)
    days = rng.integers(0, 30, 80).astype(float)
    served = rng.random(80) < 0.7
    ci = aalen_johansen(days.tolist(), [S if e else W for e in served])
    sf = stats.ecdf(stats.CensoredData(uncensored=days[served], right=days[~served])).sf
    np.testing.assert_allclose(ci.curve["cumulative_incidence"].to_numpy(), 1 - sf.probabilities, atol=1e-12)


def test_fewer_than_ten_cases_keep_counts_and_blank_estimates():
    ci = aalen_johansen([1, 2, 3], [S, C, W])
    assert (ci.n_cases, ci.n_served, ci.n_closed_unserved, ci.n_open) == (3, 1, 1, 1)
    assert ci.ever_served is None and ci.served_by == {10: None, 30: None, 60: None} and ci.days_to_50 is None


def test_outcomes_from_dates():
    as_of = date(2025, 6, 1)
    d = date.fromisoformat
    cases = pl.DataFrame(
        {
            "case_id": ["served", "same_day", "after_close", "unserved", "open", "late_action", "closes_later"],
            "reported_date": [d("2025-01-01")] * 7,
            "first_action_date": [d("2025-01-04"), d("2025-01-01"), d("2025-01-09"), None, None, d("2025-06-05"), None],
            "closed_date": [d("2025-02-01"), None, d("2025-01-06"), d("2025-01-20"), None, None, d("2025-07-01")],
        }
    )
    out = {
        r["case_id"]: (r["outcome"], r["duration_days"])
        for r in first_action_outcomes(cases, as_of).iter_rows(named=True)
    }
    assert out == {
        "served": (S, 3),
        "same_day": (S, 0),
        "after_close": (C, 5),  # an action after closing does not serve the case: closed at day 5
        "unserved": (C, 19),
        "open": (W, 151),
        "late_action": (W, 151),  # the action after the as-of date has not happened yet
        "closes_later": (W, 151),
    }  # nor has the closing


def test_bad_input_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="outcome must be one of"):
        aalen_johansen([1], ["censored"])
    with pytest.raises(ValueError, match="0 or more days"):
        aalen_johansen([-1], [S])
    cases = pl.DataFrame(
        {
            "case_id": ["x"],
            "reported_date": [date(2025, 2, 1)],
            "first_action_date": [date(2025, 1, 1)],
            "closed_date": [None],
        },
        schema_overrides={"closed_date": pl.Date},
    )
    with pytest.raises(ValueError, match="case x"):
        first_action_outcomes(cases, date(2025, 6, 1))


def test_the_board_sentence_reads_the_cumulative_incidence_and_the_released_share():
    from reports.content import served_sentence

    toy = aalen_johansen([2] * 4 + [5] * 3 + [20] * 3, [C] * 4 + [S] * 6)
    text = served_sentence((toy.days_to_50,), (40, 26, 0.65))
    assert text.startswith("Half of all cases had a first intervention within 20 days of the report.")
    assert "Of the 40 assessed cases reported at least 30 days before the end of the period, 26 (65%) had" in text
    short = aalen_johansen([2] * 6 + [5] * 3 + [20] * 1, [C] * 6 + [S] * 4)  # 40% ever: half never reached
    text = served_sentence((short.days_to_50,), None)
    assert text.startswith("Fewer than half of all cases had a first intervention by the end of the period.")
    assert "30 days" not in text  # the share is hidden: not said
    assert served_sentence(None, None) == ""


# -- Gray's test ----------------------------------------------------------------------------------------------


def _oe_logrank(t, served, g, which):
    """Observed minus expected served in group `which` (the log-rank score), one day at a time."""
    oe = 0.0
    for d in sorted({x for x, s in zip(t, served) if s}):
        at_risk = [i for i, x in enumerate(t) if x >= d]
        n_all = len(at_risk)
        n_g = sum(g[i] == which for i in at_risk)
        d_all = sum(1 for i in at_risk if t[i] == d and served[i])
        d_g = sum(1 for i in at_risk if t[i] == d and served[i] and g[i] == which)
        oe += d_g - d_all * n_g / n_all
    return oe


def test_gray_without_competing_events_has_the_log_rank_score_and_nearly_its_statistic():
    """With nothing competing, 1 - F is the Kaplan-Meier survival, R_k the risk set, and Gray's score is the
    log-rank O - E exactly (Gray 1988, section 2); the variances differ only in how ties are counted."""
    import scipy.stats as st

    from metrics.competing_risks import gray_test

    rng = np.random.default_rng(3)
    t = rng.exponential(10, 300).round(6).tolist()
    g = rng.choice(["a", "b"], 300).tolist()
    o = rng.choice([SERVED, OPEN], 300, p=[0.7, 0.3]).tolist()
    r = gray_test(t, o, g)
    assert r.method == "gray" and r.df == 1 and r.groups == ("a", "b")
    assert r.score[0] == pytest.approx(_oe_logrank(t, [x == SERVED for x in o], g, "a"), abs=1e-9)
    assert sum(r.score) == pytest.approx(0, abs=1e-9)
    a = [i for i in range(300) if g[i] == "a"]
    b = [i for i in range(300) if g[i] == "b"]
    ref = st.logrank(
        st.CensoredData.right_censored([t[i] for i in a], [o[i] == OPEN for i in a]),
        st.CensoredData.right_censored([t[i] for i in b], [o[i] == OPEN for i in b]),
    )
    assert r.statistic == pytest.approx(ref.statistic**2, rel=0.05)


def test_gray_does_not_depend_on_which_group_is_left_out_or_on_the_labels():
    """The statistic uses K-1 of the K scores; a proper covariance of all K gives the same number whichever
    is dropped (a wrong variance term would not)."""
    from metrics.competing_risks import gray_test

    rng = np.random.default_rng(5)
    t = rng.integers(0, 25, 90).astype(float).tolist()  # many ties
    g = rng.choice(["a", "b", "c"], 90).tolist()
    o = rng.choice([SERVED, CLOSED_UNSERVED, OPEN], 90, p=[0.5, 0.3, 0.2]).tolist()
    base = gray_test(t, o, g)
    assert base.method == "gray" and base.df == 2
    for rename in ({"a": "z"}, {"c": "0"}, {"b": "00"}):
        again = gray_test(t, o, [rename.get(x, x) for x in g])
        assert again.statistic == pytest.approx(base.statistic, rel=1e-12)
        assert sorted(again.score) == pytest.approx(sorted(base.score), abs=1e-12)


def test_gray_on_a_hand_computed_table():
    """Two groups of two, Gray (1988) by hand. A: served day 1, closed unserved day 2. B: served day 2, open
    day 3. Day 1: n = (2, 2), E = F = 0, R = (2, 2), one served in A: score_A += 1 - 1 * 2/4 = 1/2; F_A = 1/2,
    E_A = 1/2. Day 2: n = (1, 2), R_A = 1 (1 - 1/2) / (1/2) = 1, R_B = 2: B's serving adds to A's score
    0 - 1 * 1/3, so score_A = 1/2 - 1/3 = 1/6 (and score_B = -1/6)."""
    from metrics.competing_risks import gray_test

    r = gray_test([1, 2, 2, 3], [SERVED, CLOSED_UNSERVED, SERVED, OPEN], ["A", "A", "B", "B"])
    assert r.score == pytest.approx((1 / 6, -1 / 6), abs=1e-15)
    assert r.method == "gray" and r.statistic is not None and r.statistic > 0


def test_gray_is_calibrated_under_the_null():
    """Groups drawn from one distribution with a competing event: about 5% of tests reject at 0.05."""
    from metrics.competing_risks import gray_test

    rng = np.random.default_rng(11)
    p = []
    for _ in range(300):
        t = rng.integers(0, 40, 80).astype(float).tolist()
        o = rng.choice([SERVED, CLOSED_UNSERVED, OPEN], 80, p=[0.6, 0.25, 0.15]).tolist()
        g = rng.choice(["a", "b"], 80).tolist()
        p.append(gray_test(t, o, g).p_value)
    rejected = np.mean(np.array(p) < 0.05)
    assert 0.02 <= rejected <= 0.09


def test_gray_sees_a_difference_in_how_many_are_ever_served():
    """Same speed of serving among those served, but one group closes half its cases unserved: its cumulative
    incidence is lower throughout, and Gray's test says so."""
    from metrics.competing_risks import gray_test

    rng = np.random.default_rng(2)
    t = rng.integers(0, 30, 200).astype(float).tolist()
    g = ["a"] * 100 + ["b"] * 100
    o = [SERVED] * 100 + [SERVED if i % 2 else CLOSED_UNSERVED for i in range(100)]
    r = gray_test(t, o, g)
    assert r.method == "gray" and r.p_value < 1e-6 and r.score[0] > 0


def test_gray_not_run_is_labelled():
    from metrics.competing_risks import gray_test

    one = gray_test([1, 2, 3], [SERVED, OPEN, SERVED], ["a", "a", "a"])
    assert (one.method, one.statistic, one.df, one.p_value) == ("not_applicable", None, None, None)
    none_served = gray_test([1, 2, 3, 4], [OPEN, CLOSED_UNSERVED, OPEN, OPEN], ["a", "b", "a", "b"])
    assert none_served.method == "not_applicable"


def test_gray_table_runs_each_slice():
    from metrics.competing_risks import gray_table

    cases = pl.DataFrame(
        {
            "school_year": ["y1"] * 6 + ["y2"] * 3,
            "group": ["a", "a", "b", "b", "a", "b", "a", "a", "a"],
            "duration_days": [1.0, 2, 2, 3, 4, 5, 1, 2, 3],
            "outcome": [SERVED, CLOSED_UNSERVED, SERVED, OPEN, SERVED, SERVED, SERVED, OPEN, SERVED],
        }
    )
    table = gray_table(cases, ["school_year"])
    assert table["school_year"].to_list() == ["y1", "y2"]
    assert table["method"].to_list() == ["gray", "not_applicable"]
    assert table["groups"].to_list() == [["a", "b"], ["a"]]
