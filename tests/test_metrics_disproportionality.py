"""Disproportionality rows (spec: disproportionality.csv). Oracle numbers come from the project's
shared worked examples (worked-examples.md, computed independently with scipy 1.17), copied here
literally because that folder does not ship with the project."""

import math

import polars as pl
import pytest
from scipy import stats
from scipy.stats.contingency import relative_risk

from metrics.config import MetricSettings
from metrics.disproportionality import (
    EXPORT_COLUMNS,
    benjamini_hochberg,
    disproportionality,
    disproportionality_table,
    flag_persistence,
)


def counts(**groups):
    return pl.DataFrame(
        {"group": list(groups), "n": [v[0] for v in groups.values()], "k": [v[1] for v in groups.values()]}
    )


def row(frame, group):
    return frame.filter(pl.col("group") == group).row(0, named=True)


def assert_no_nan(frame):
    for name, dtype in frame.schema.items():
        if dtype == pl.Float64:
            values = [v for v in frame[name].to_list() if v is not None]
            assert all(math.isfinite(v) for v in values), name


# worked-examples.md "Risk ratio at the threshold": 18/120 vs 44/880 -> 0.15 / 0.05 = 3.0, which floating
# point computes as 2.9999999999999996; 34 CFR 300.647 identifies a ratio that *exceeds* the threshold.
def test_ratio_equal_to_threshold_is_not_flagged():
    out = disproportionality(counts(a=(120, 18), b=(880, 44)), settings=MetricSettings(threshold=3.0))
    a = row(out, "a")
    assert a["ratio_method"] == "risk_ratio"
    assert a["risk_ratio"] == pytest.approx(3.0, rel=1e-12)
    assert a["flagged"] is False


def test_ratio_just_above_threshold_is_flagged():
    below = disproportionality(counts(a=(120, 18), b=(880, 44)), settings=MetricSettings(threshold=2.99))
    assert row(below, "a")["flagged"] is True
    one_more = disproportionality(counts(a=(120, 19), b=(880, 44)), settings=MetricSettings(threshold=3.0))
    assert row(one_more, "a")["flagged"] is True


def test_risk_comparison_and_difference_match_the_definition():
    a = row(disproportionality(counts(a=(120, 18), b=(880, 44))), "a")
    assert (a["comparison_n"], a["comparison_k"]) == (880, 44)
    assert a["risk"] == pytest.approx(0.15)
    assert a["comparison_risk"] == pytest.approx(0.05)
    assert a["risk_difference"] == pytest.approx(0.10)


# worked-examples.md "Katz confidence interval, Fisher's exact test": group 8 of 50, comparison 10 of 200:
# risk ratio 3.2, 95% CI (1.33193, 7.68810); Fisher two-sided p = 0.012896.
def test_katz_interval_and_fisher_p_match_the_worked_example():
    out = disproportionality(counts(g=(50, 8), rest=(200, 10)), settings=MetricSettings(min_cell=8))
    g = row(out, "g")
    assert g["ratio_method"] == "risk_ratio"
    assert g["risk_ratio"] == pytest.approx(3.2, rel=1e-12)
    assert g["rr_ci_low"] == pytest.approx(1.33193, abs=5e-6)
    assert g["rr_ci_high"] == pytest.approx(7.68810, abs=5e-6)
    assert g["p_value"] == pytest.approx(0.012896, abs=5e-7)


def test_fisher_p_is_given_even_when_sizes_are_too_small_for_a_ratio():
    g = row(disproportionality(counts(g=(50, 8), rest=(200, 10))), "g")
    assert g["ratio_method"] == "none"
    assert g["risk_ratio"] is None and g["rr_ci_low"] is None and g["rr_ci_high"] is None
    assert g["flagged"] is False
    assert g["p_value"] == pytest.approx(0.012896, abs=5e-7)


# worked-examples.md "Benjamini-Hochberg" (scipy.stats.false_discovery_control, method="bh").
BH_P = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216]
BH_Q = [0.01, 0.04, 0.084, 0.084, 0.084, 0.1, 0.10571, 0.216, 0.216, 0.216]


def test_benjamini_hochberg_matches_the_worked_example():
    assert benjamini_hochberg(BH_P) == pytest.approx(BH_Q, abs=5e-6)


def test_benjamini_hochberg_leaves_blank_p_values_out_of_the_family():
    with_blanks = BH_P[:5] + [None] + BH_P[5:] + [None]
    q = benjamini_hochberg(with_blanks)
    assert q[5] is None and q[-1] is None
    assert [x for x in q if x is not None] == pytest.approx(BH_Q, abs=5e-6)
    assert benjamini_hochberg([]) == [] and benjamini_hochberg([None]) == [None]


def test_comparison_below_sizes_uses_the_alternate_risk_ratio_with_state_rates():
    # 34 CFR 300.647(b)(5): group risk over the risk of all other groups in the state.
    local = counts(big=(40, 12), small=(20, 1))
    state = counts(big=(400, 20), small=(80_000, 6_000), other=(20_000, 2_000))
    big = row(disproportionality(local, state), "big")
    assert big["ratio_method"] == "alternate_risk_ratio"
    assert big["risk_ratio"] == pytest.approx(0.3 / 0.08)
    ci = relative_risk(12, 40, 8_000, 100_000).confidence_interval()
    assert (big["rr_ci_low"], big["rr_ci_high"]) == pytest.approx((ci.low, ci.high))
    assert big["flagged"] is True
    # the comparison columns and the p value still describe the local comparison
    assert (big["comparison_n"], big["comparison_k"]) == (20, 1)
    assert row(disproportionality(local), "big")["ratio_method"] == "none"


def test_an_alternate_ratio_row_gives_every_ratio_field_against_the_state_and_says_so():
    # Issue 15 item 4: the ratio is against the state's other students (8,000 of 100,000: 0.08), so its
    # comparison risk, difference and p value are too: 0.3 - 0.08 = 0.22 points, same sign as the ratio,
    # where the local comparison (1 of 20: 0.05) would give a different difference and p.
    local = counts(big=(40, 12), small=(20, 1))
    state = counts(big=(400, 20), small=(80_000, 6_000), other=(20_000, 2_000))
    big = row(disproportionality(local, state), "big")
    assert big["comparison_group"] == "others_in_state"
    assert (big["ratio_comparison_n"], big["ratio_comparison_k"]) == (100_000, 8_000)
    assert big["ratio_comparison_risk"] == pytest.approx(0.08)
    assert big["ratio_risk_difference"] == pytest.approx(0.22) and big["ratio_risk_difference"] > 0
    fisher = stats.fisher_exact([[12, 28], [8_000, 92_000]]).pvalue
    assert big["ratio_p_value"] == pytest.approx(fisher, rel=1e-9)
    assert big["p_value"] == pytest.approx(stats.fisher_exact([[12, 28], [1, 19]]).pvalue, rel=1e-9)
    # a local ratio's row: the ratio fields are the local comparison itself
    plain = row(disproportionality(counts(a=(100, 30), b=(300, 30))), "a")
    assert plain["comparison_group"] == "others_in_scope"
    assert (plain["ratio_comparison_n"], plain["ratio_comparison_k"]) == (plain["comparison_n"], plain["comparison_k"])
    assert plain["ratio_comparison_risk"] == plain["comparison_risk"]
    assert plain["ratio_risk_difference"] == plain["risk_difference"]
    assert plain["ratio_p_value"] == plain["p_value"]


def test_weighted_risk_ratio_weights_other_groups_by_state_shares():
    # hand computed: risk a = 0.3; others' risks b 0.05, c 0.2 weighted by state n 6000 and 3000:
    # (6000 * 0.05 + 3000 * 0.2) / 9000 = 0.1, so the weighted risk ratio is 0.3 / 0.1 = 3.0.
    local = counts(a=(100, 30), b=(200, 10), c=(100, 20))
    state = counts(a=(1_000, 100), b=(6_000, 300), c=(3_000, 300))
    out = disproportionality(local, state)
    assert row(out, "a")["weighted_risk_ratio"] == pytest.approx(3.0)
    assert disproportionality(local)["weighted_risk_ratio"].to_list() == [None, None, None]


def test_composition_compares_share_of_outcome_with_share_of_population():
    out = disproportionality(counts(a=(100, 30), b=(300, 10)))
    a = row(out, "a")
    assert a["outcome_share"] == pytest.approx(30 / 40)
    assert a["population_share"] == pytest.approx(100 / 400)


def test_single_group_has_no_comparison_and_no_ratio():
    out = disproportionality(counts(only=(500, 40)))
    only = row(out, "only")
    assert (only["comparison_n"], only["comparison_k"]) == (0, 0)
    assert only["comparison_risk"] is None and only["risk_difference"] is None
    assert only["p_value"] is None
    assert only["ratio_method"] == "none" and only["flagged"] is False
    assert_no_nan(out)


def test_single_group_with_state_reference_gets_the_alternate_ratio():
    state = counts(only=(10_000, 500), other=(10_000, 1_000))
    only = row(disproportionality(counts(only=(500, 40)), state), "only")
    assert only["ratio_method"] == "alternate_risk_ratio"
    assert only["risk_ratio"] == pytest.approx(0.08 / 0.1)


def test_comparison_with_zero_events_gives_no_ratio_and_no_nan():
    out = disproportionality(counts(a=(100, 20), b=(100, 0)))
    a = row(out, "a")
    assert a["comparison_risk"] == 0.0
    assert a["ratio_method"] == "none" and a["risk_ratio"] is None
    assert a["p_value"] == pytest.approx(0.0, abs=1e-5)
    assert_no_nan(out)


def test_no_events_at_all_gives_blanks_not_nan():
    out = disproportionality(counts(a=(100, 0), b=(200, 0)))
    assert out["ratio_method"].to_list() == ["none", "none"]
    assert out["outcome_share"].to_list() == [None, None]
    assert out["p_value"].to_list() == [1.0, 1.0]
    assert_no_nan(out)


def test_groups_with_no_students_are_left_out():
    out = disproportionality(counts(a=(100, 10), empty=(0, 0), b=(50, 5)))
    assert out["group"].to_list() == ["a", "b"]
    assert row(out, "a")["comparison_n"] == 50


def test_empty_input_gives_an_empty_frame_with_the_columns():
    out = disproportionality(pl.DataFrame(schema={"group": pl.String, "n": pl.Int64, "k": pl.Int64}))
    assert out.height == 0 and "risk_ratio" in out.columns


@pytest.mark.parametrize(
    "frame, message",
    [
        (counts(a=(10, 11)), "0 <= k <= n"),
        (counts(a=(10, -1)), "0 <= k <= n"),
        (pl.DataFrame({"group": ["a", "a"], "n": [5, 6], "k": [1, 1]}), "appears twice"),
        (pl.DataFrame({"group": ["a"], "n": [5]}), "lacks the columns"),
    ],
)
def test_bad_counts_are_refused_with_a_message(frame, message):
    with pytest.raises(ValueError, match=message):
        disproportionality(frame)


def slice_rows(year, outcome, dimension, groups, scope="district"):
    return [
        {"school_year": year, "scope": scope, "outcome": outcome, "dimension": dimension, "group": g, "n": n, "k": k}
        for g, (n, k) in groups.items()
    ]


def test_table_has_the_spec_columns_and_q_values_per_year_scope_outcome():
    rows = (
        slice_rows("2024-25", "iss", "sex", {"f": (500, 20), "m": (500, 45)})
        + slice_rows("2024-25", "iss", "english_learner", {"y": (100, 15), "n": (900, 50)})
        + slice_rows("2024-25", "oss_or_expulsion", "sex", {"f": (500, 10), "m": (500, 30)})
    )
    out = disproportionality_table(pl.DataFrame(rows))
    assert tuple(out.columns) == EXPORT_COLUMNS
    iss = out.filter(pl.col("outcome") == "iss")
    assert iss["q_value"].to_list() == pytest.approx(benjamini_hochberg(iss["p_value"].to_list()))
    oss = out.filter(pl.col("outcome") == "oss_or_expulsion")
    assert oss["q_value"].to_list() == pytest.approx(benjamini_hochberg(oss["p_value"].to_list()))
    assert iss["q_value"].to_list() != pytest.approx(iss["p_value"].to_list())


def test_table_uses_the_state_reference_of_the_same_year_outcome_and_dimension():
    rows = slice_rows("2024-25", "iss", "sex", {"m": (40, 12), "x": (20, 1)})
    state = pl.DataFrame(
        [
            {"school_year": "2024-25", "outcome": "iss", "dimension": "sex", "group": g, "n": n, "k": k}
            for g, (n, k) in {"m": (50_000, 5_000), "f": (50_000, 4_000)}.items()
        ]
    )
    out = disproportionality_table(pl.DataFrame(rows), state)
    assert row(out, "m")["ratio_method"] == "alternate_risk_ratio"
    other_year = state.with_columns(pl.lit("2023-24").alias("school_year"))
    assert row(disproportionality_table(pl.DataFrame(rows), other_year), "m")["ratio_method"] == "none"


def test_table_of_nothing_is_an_empty_frame_with_the_spec_columns():
    empty = pl.DataFrame(
        schema={
            "school_year": pl.String,
            "scope": pl.String,
            "outcome": pl.String,
            "dimension": pl.String,
            "group": pl.String,
            "n": pl.Int64,
            "k": pl.Int64,
        }
    )
    out = disproportionality_table(empty)
    assert out.height == 0 and tuple(out.columns) == EXPORT_COLUMNS


def flags(years_flagged):
    return pl.DataFrame(
        {
            "school_year": list(years_flagged),
            "scope": "district",
            "outcome": "iss",
            "dimension": "sex",
            "group": "m",
            "flagged": list(years_flagged.values()),
        }
    )


def test_persistent_after_three_consecutive_flagged_years():
    out = flag_persistence(flags({"2022-23": True, "2023-24": True, "2024-25": True}))
    assert out["persistent"].to_list() == [False, False, True]


def test_a_missing_or_unflagged_year_breaks_persistence():
    gap = flag_persistence(flags({"2021-22": True, "2022-23": True, "2024-25": True}))
    assert gap["persistent"].to_list() == [False, False, False]
    broken = flag_persistence(flags({"2022-23": True, "2023-24": False, "2024-25": True}))
    assert broken["persistent"].to_list() == [False, False, False]


def test_persistence_years_is_configurable():
    out = flag_persistence(flags({"2023-24": True, "2024-25": True}), MetricSettings(persistence_years=2))
    assert out["persistent"].to_list() == [False, True]


def test_vectorised_fisher_agrees_with_scipy_on_many_tables():
    import numpy as np
    from scipy import stats

    from metrics.disproportionality import _fisher

    rng = np.random.default_rng(7)
    tables = [(8, 50, 10, 200), (0, 10, 0, 10), (10, 10, 0, 10), (0, 1, 5, 9), (1, 1, 0, 1), (500, 14_500, 300, 14_700)]
    for _ in range(400):
        n, cn = int(rng.integers(1, 300)), int(rng.integers(1, 3000))
        tables.append((int(rng.integers(0, n + 1)), n, int(rng.binomial(cn, rng.random() * 0.3)), cn))
    for k, n, ck, cn in tables:
        expected = stats.fisher_exact([[k, n - k], [ck, cn - ck]]).pvalue
        assert _fisher(k, n, ck, cn) == pytest.approx(expected, rel=1e-9, abs=1e-300), (k, n, ck, cn)
