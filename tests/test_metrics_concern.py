"""Levels of concern by group. The 2x2 oracle is the project's shared worked example
(worked-examples.md): 8 of 50 vs 10 of 200, Pearson chi-square 7.2438, Fisher p 0.012896."""

import numpy as np
import polars as pl
import pytest
from scipy import stats

from metrics.concern import concern_distribution, concern_independence
from metrics.config import MetricSettings


def long(table):
    return pl.DataFrame(
        [{"group": g, "concern_level": lvl, "n": n} for g, levels in table.items() for lvl, n in levels.items()]
    )


def test_distribution_is_ordered_low_to_imminent_with_zeros_filled():
    out = concern_distribution(long({"a": {"high": 3, "low": 5}, "b": {"imminent": 1}}))
    a = out.filter(pl.col("group") == "a")
    assert a["concern_level"].to_list() == ["low", "moderate", "high", "imminent"]
    assert a["n"].to_list() == [5, 0, 3, 0]
    assert a["share"].to_list() == pytest.approx([5 / 8, 0, 3 / 8, 0])
    assert a["cumulative_share"].to_list() == pytest.approx([5 / 8, 5 / 8, 1, 1])


def test_unassessed_cases_are_not_part_of_the_distribution():
    frame = pl.DataFrame({"group": ["a", "a"], "concern_level": ["low", None], "n": [4, 9]})
    out = concern_distribution(frame)
    assert out["n"].sum() == 4 and out["share"].to_list()[0] == 1.0


def test_a_group_of_zero_cases_gets_blank_shares():
    out = concern_distribution(long({"a": {"low": 0}}))
    assert out["share"].to_list() == [None] * 4


def test_unknown_level_is_refused():
    with pytest.raises(ValueError, match="severe"):
        concern_distribution(long({"a": {"severe": 1}}))


def test_large_expected_counts_use_chi_square():
    r = concern_independence(
        long({"a": {"low": 40, "moderate": 30, "high": 20}, "b": {"low": 60, "moderate": 20, "high": 10}})
    )
    assert r.method == "chi_square" and r.df == 2 and r.min_expected >= 5
    table = [[40, 30, 20], [60, 20, 10]]
    assert r.p_value == pytest.approx(stats.chi2_contingency(table, correction=False).pvalue)


def test_small_two_by_two_uses_fisher_and_matches_the_worked_example():
    r = concern_independence(long({"g": {"high": 8, "low": 42}, "rest": {"high": 10, "low": 190}}))
    assert r.method == "fisher_exact"
    assert r.statistic == pytest.approx(7.2438, abs=5e-5)  # Pearson, no Yates
    assert r.p_value == pytest.approx(0.012896, abs=5e-7)


def test_small_larger_table_uses_a_seeded_monte_carlo_p():
    counts = long(
        {
            "a": {"low": 3, "moderate": 1, "high": 2},
            "b": {"low": 1, "moderate": 4, "high": 0},
            "c": {"low": 0, "moderate": 1, "high": 5},
        }
    )
    r = concern_independence(counts)
    again = concern_independence(counts)
    assert r.method == "monte_carlo" and r.p_value == again.p_value
    exact_ish = stats.chi2_contingency([[3, 1, 2], [1, 4, 0], [0, 1, 5]], correction=False).pvalue
    assert r.p_value == pytest.approx(exact_ish, abs=0.05)  # same question, the asymptotic answer is close
    other_seed = concern_independence(counts, settings=MetricSettings(seed=1))
    assert other_seed.p_value == pytest.approx(r.p_value, abs=0.02)


def test_empty_rows_and_columns_are_dropped_first():
    r = concern_independence(
        long({"a": {"low": 8, "high": 42, "imminent": 0}, "b": {"low": 10, "high": 190}, "none": {"low": 0, "high": 0}})
    )
    assert r.groups == ("a", "b") and r.levels == ("low", "high")
    assert r.method == "fisher_exact"


def test_one_group_or_one_level_is_not_applicable():
    assert concern_independence(long({"a": {"low": 3, "high": 4}})).method == "not_applicable"
    one_level = concern_independence(long({"a": {"low": 3}, "b": {"low": 5}}))
    assert (one_level.method, one_level.p_value, one_level.n) == ("not_applicable", None, 8)
    empty = concern_independence(pl.DataFrame(schema={"group": pl.String, "concern_level": pl.String, "n": pl.Int64}))
    assert empty.method == "not_applicable" and empty.n == 0


def test_the_ordinal_test_against_agrestis_published_linear_by_linear_example():
    # Agresti (2007), An Introduction to Categorical Data Analysis, 2nd ed., section 2.5.1 and Table 2.7:
    # infant malformation by maternal alcohol consumption, scores 0, 0.5, 1.5, 4.0, 7.0: M^2 = 6.57, p = 0.01;
    # with midrank scores M^2 = 0.35.
    from metrics.concern import row_mean_scores

    table = np.array([[17066, 14464, 788, 126, 37], [48, 38, 5, 1, 1]])
    test = row_mean_scores(table, [0, 0.5, 1.5, 4.0, 7.0])
    assert test.df == 1 and round(test.statistic, 2) == 6.57 and round(test.p_value, 2) == 0.01
    column = table.sum(axis=0)
    midranks = np.cumsum(column) - (column - 1) / 2
    assert round(row_mean_scores(table, midranks).statistic, 2) == 0.35


def test_the_ordinal_test_with_midranks_is_kruskal_wallis_for_many_groups():
    # Independent computation: scipy's Kruskal-Wallis (tie-corrected) on the cases' midranks equals the
    # row-mean-scores statistic with midrank scores, K - 1 df.
    from metrics.concern import row_mean_scores

    table = np.array([[30, 12, 6, 1], [18, 15, 9, 3], [25, 5, 2, 0], [8, 9, 10, 4]])
    column = table.sum(axis=0)
    midranks = np.cumsum(column) - (column - 1) / 2
    expected = stats.kruskal(*[np.repeat(midranks, row) for row in table])
    got = row_mean_scores(table, midranks)
    assert got.df == 3
    assert got.statistic == pytest.approx(expected.statistic, rel=1e-10)
    assert got.p_value == pytest.approx(expected.pvalue, rel=1e-8)


def test_the_ordinal_table_equals_the_one_table_test_and_is_blank_when_nothing_to_order():
    from metrics.concern import LEVEL_SCORES, concern_ordinal_table, row_mean_scores

    levels = ["low", "moderate", "high", "imminent"]
    cells = {("x", "a"): [10, 5, 3, 1], ("x", "b"): [4, 6, 8, 2], ("x", "c"): [7, 7, 0, 0], ("y", "a"): [5, 0, 0, 0]}
    cells[("y", "b")] = [9, 0, 0, 0]  # every case of y is low: nothing to order
    counts = pl.DataFrame(
        [(d, g, lvl, n) for (d, g), ns in cells.items() for lvl, n in zip(levels, ns)],
        schema=["dimension", "group", "concern_level", "n"],
        orient="row",
    )
    out = concern_ordinal_table(counts, ["dimension"])
    x = out.filter(pl.col("dimension") == "x").row(0, named=True)
    one = row_mean_scores(np.array([cells[("x", g)] for g in "abc"]), list(LEVEL_SCORES.values()))
    assert x["ordinal_df"] == 2 and x["ordinal_statistic"] == pytest.approx(one.statistic, rel=1e-12)
    assert x["ordinal_p_value"] == pytest.approx(one.p_value, rel=1e-10)
    y = out.filter(pl.col("dimension") == "y").row(0, named=True)
    assert y["ordinal_statistic"] is None and y["ordinal_df"] is None and y["ordinal_p_value"] is None
