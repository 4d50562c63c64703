"""Mantel-Haenszel pooling. Oracle numbers: the project's shared worked example (worked-examples.md,
computed independently), strata low [[3,57],[5,235]], moderate [[6,24],[9,81]], high [[9,6],[12,18]];
plus hand computations below that share no code with metrics/stratified.py."""

import math
from fractions import Fraction

import pytest
from scipy import optimize, stats

from metrics.stratified import mantel_haenszel

STRATA = [[[3, 57], [5, 235]], [[6, 24], [9, 81]], [[9, 6], [12, 18]]]
LABELS = ["low", "moderate", "high"]


def test_common_odds_ratio_and_rbg_interval_match_the_worked_example():
    r = mantel_haenszel(STRATA, LABELS)
    assert r.odds_ratio == pytest.approx(2.29885, abs=5e-6)
    assert r.ci_low == pytest.approx(1.10525, abs=5e-6)
    assert r.ci_high == pytest.approx(4.78148, abs=5e-6)


def test_cmh_with_and_without_continuity_correction_match_the_worked_example():
    r = mantel_haenszel(STRATA, LABELS)
    assert r.cmh == pytest.approx(5.0855, abs=5e-5)
    assert r.cmh_p == pytest.approx(0.02413, abs=5e-6)
    assert r.cmh_corrected == pytest.approx(4.2253, abs=5e-5)
    assert r.cmh_corrected_p == pytest.approx(0.03983, abs=5e-6)


def test_pooling_shows_what_no_single_stratum_shows():
    # worked example: each stratum alone has Fisher p near 0.20.
    assert all(stats.fisher_exact(t).pvalue > 0.15 for t in STRATA)
    assert mantel_haenszel(STRATA).cmh_p < 0.05


def test_odds_ratio_and_cmh_agree_with_exact_hand_computation():
    # MH OR = sum(a d / n) / sum(b c / n); CMH = (sum a - sum n1 m1 / n)^2 / sum n1 n0 m1 m0 / (n^2 (n - 1)),
    # in exact fractions.
    num = den = obs = exp = var = Fraction(0)
    for (a, b), (c, d) in STRATA:
        n = a + b + c + d
        num += Fraction(a * d, n)
        den += Fraction(b * c, n)
        obs += a
        exp += Fraction((a + b) * (a + c), n)
        var += Fraction((a + b) * (c + d) * (a + c) * (b + d), n * n * (n - 1))
    r = mantel_haenszel(STRATA)
    assert r.odds_ratio == pytest.approx(float(num / den), rel=1e-12)
    assert r.cmh == pytest.approx(float((obs - exp) ** 2 / var), rel=1e-12)
    assert r.cmh_corrected == pytest.approx(float((abs(obs - exp) - Fraction(1, 2)) ** 2 / var), rel=1e-12)


def breslow_day_tarone_by_root_finding(strata, odds_ratio):
    """Fitted a by numerical root finding (not the closed-form quadratic the module uses)."""
    stat = sum_a = sum_fit = sum_var = 0.0
    for (a, b), (c, d) in strata:
        n1, n0, m1 = a + b, c + d, a + c
        lo, hi = max(0, m1 - n0), min(n1, m1)

        def f(x, n0=n0, n1=n1, m1=m1):
            return x * (n0 - m1 + x) - odds_ratio * (n1 - x) * (m1 - x)

        fit = optimize.brentq(f, lo + 1e-12, hi - 1e-12)
        v = 1 / (1 / fit + 1 / (n1 - fit) + 1 / (m1 - fit) + 1 / (n0 - m1 + fit))
        stat += (a - fit) ** 2 / v
        sum_a, sum_fit, sum_var = sum_a + a, sum_fit + fit, sum_var + v
    return stat - (sum_a - sum_fit) ** 2 / sum_var


def test_breslow_day_tarone_agrees_with_root_finding():
    r = mantel_haenszel(STRATA)
    expected = breslow_day_tarone_by_root_finding(STRATA, r.odds_ratio)
    assert r.breslow_day == pytest.approx(expected, rel=1e-9)
    assert r.breslow_day_df == 2
    assert r.breslow_day_p == pytest.approx(stats.chi2.sf(expected, 2))
    assert r.breslow_day_p > 0.9  # stratum odds ratios 2.47, 2.25, 2.25: homogeneous


def test_breslow_day_detects_opposite_effects():
    opposite = [[[20, 10], [10, 20]], [[10, 20], [20, 10]]]
    r = mantel_haenszel(opposite)
    assert r.odds_ratio == pytest.approx(1.0)
    assert r.breslow_day_p < 0.001
    assert r.cmh_p == pytest.approx(1.0)


def test_strata_with_a_zero_margin_are_skipped_and_named():
    with_empty = STRATA + [[[0, 0], [4, 7]], [[0, 5], [0, 9]]]
    r = mantel_haenszel(with_empty, LABELS + ["no_group", "no_outcome"])
    assert r.strata_skipped == ("no_group", "no_outcome")
    assert r.strata_used == tuple(LABELS)
    assert r.odds_ratio == pytest.approx(mantel_haenszel(STRATA).odds_ratio)


def test_nothing_to_pool_gives_blanks_not_errors():
    r = mantel_haenszel([])
    assert (r.odds_ratio, r.ci_low, r.cmh, r.cmh_p, r.breslow_day) == (None, None, None, None, None)
    only_empty = mantel_haenszel([[[0, 0], [1, 1]]])
    assert only_empty.strata_skipped == ("0",) and only_empty.cmh is None


def test_zero_off_diagonal_gives_no_odds_ratio_but_a_cmh():
    r = mantel_haenszel([[[5, 0], [0, 5]], [[4, 0], [0, 6]]])
    assert r.odds_ratio is None and r.ci_low is None and r.breslow_day is None
    assert r.cmh is not None and math.isfinite(r.cmh)


def test_one_stratum_has_no_homogeneity_test():
    r = mantel_haenszel(STRATA[:1])
    assert r.breslow_day is None and r.breslow_day_df is None
    assert r.odds_ratio == pytest.approx(3 * 235 / (57 * 5))


@pytest.mark.parametrize(
    "strata, message",
    [
        ([[[1, 2, 3], [4, 5, 6]]], "not a 2x2"),
        ([[[1, -2], [3, 4]]], "whole counts"),
        ([[[1.5, 2], [3, 4]]], "whole counts"),
    ],
)
def test_bad_strata_are_refused(strata, message):
    with pytest.raises(ValueError, match=message):
        mantel_haenszel(strata)


def test_labels_must_match_strata():
    with pytest.raises(ValueError, match="labels"):
        mantel_haenszel(STRATA, ["low"])
