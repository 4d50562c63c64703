"""The independent attacker (tests/attacker/) on small hand-built releases: it must find a planted cell, and
must not narrow a cell that a release protects. Without these the end-to-end attack could pass by being blind."""

from __future__ import annotations

import pytest

from tests.attacker.numbers import numbers_in, parse_count, parse_decimal, parse_interval, parse_share
from tests.attacker.program import Infeasible, Program, findings


def test_shown_strings_become_intervals():
    assert parse_count("1,234") == parse_count("1234")
    assert (parse_count("1,234").low, parse_count("1,234").high) == (1234, 1234)
    assert (parse_count("<10").low, parse_count("<10").high) == (1, 9)
    assert parse_count("*") is None and parse_count("–") is None
    share = parse_share("12%")
    assert share is not None and share.low == pytest.approx(0.115) and share.high == pytest.approx(0.125)
    coded = parse_share("<=5%")
    assert coded is not None and (coded.low, coded.high) == (0.0, 0.05)
    ratio = parse_decimal("2.0")
    assert (ratio.low, ratio.high) == pytest.approx((1.95, 2.05))
    assert parse_decimal("\u22120.4").high == pytest.approx(-0.35)
    ends = parse_interval("95% CI 1.3\u20133.3")
    assert ends is not None and ends[0].value == pytest.approx(1.3) and ends[1].value == pytest.approx(3.3)
    assert [n.value for n in numbers_in("77% within target, Met 10 of 1,300 (2.0 times)")] == [77, 10, 1300, 2.0]


def one_way(parts: dict[str, str], total: str) -> Program:
    """A one-way table: parts add to the total, each part shown as `parts[name]`."""
    program = Program()
    for name, shown in parts.items():
        program.shown_count({name: 1}, parse_count(shown), f"table: {name}")
    program.shown_count(dict.fromkeys(parts, 1.0), parse_count(total), "table: total")
    return program


def test_a_lone_hidden_cell_of_a_published_total_is_recovered():
    program = one_way({"a": "<10", "b": "20", "c": "31"}, "55")
    [found] = findings(program, {"a": 4, "b": 20, "c": 31}, ["a"], explained=True)
    assert found.range.low == found.range.high == 4
    assert "table: total" in found.sources
    assert set(found.leaks) == {"table: total", "table: b", "table: c"}


def test_two_hidden_cells_of_a_relation_keep_their_label_range():
    program = one_way({"a": "<10", "b": "<10", "c": "31"}, "41")
    assert findings(program, {"a": 4, "b": 6, "c": 31}, ["a", "b"]) == []
    got = program.ranges(["a", "b"])
    assert (got["a"].low, got["a"].high) == (1, 9) and (got["b"].low, got["b"].high) == (1, 9)


def test_a_share_over_a_published_denominator_recovers_its_hidden_count():
    # "12% against a target of 10%" over a published 16 gives 2 (issue 14).
    program = Program()
    program.shown_count({"late": 1}, parse_count("<10"), "cell")
    program.shown_count({"all": 1}, parse_count("16"), "denominator")
    program.shown_share({"late": 1}, {"all": 1}, parse_share("12%"), "bullet: 12% against a target of 10%")
    [found] = findings(program, {"late": 2, "all": 16}, ["late"], explained=True)
    assert found.leaks == ("bullet: 12% against a target of 10%", "denominator")
    assert found.range.low == found.range.high == 2


def test_a_share_over_a_hidden_denominator_still_narrows_both():
    # 19% high or imminent over a hidden total: high/total in [18.5%, 19.5%] with total 11-25 leaves 3 or 4.
    program = Program()
    program.count("high", 1, 9)
    program.count("total", 11, 25)
    program.shown_share({"high": 1}, {"total": 1}, parse_share("19%"), "metric")
    [found] = findings(program, {"high": 4, "total": 21}, ["high"])
    assert (found.range.low, found.range.high) == (3, 4)
    # With the total anywhere in 11-40, 3 to 7 fit (16, 21, 26, 31, 36): not narrower than the rule.
    wide = Program()
    wide.count("high", 1, 9)
    wide.count("total", 11, 40)
    wide.shown_share({"high": 1}, {"total": 1}, parse_share("19%"), "metric")
    got = wide.ranges(["high"])["high"]
    assert (got.low, got.high) == (3, 7)
    assert findings(wide, {"high": 5, "total": 26}, ["high"]) == []


def test_a_risk_ratio_with_published_sizes_recovers_the_hidden_count():
    # Group of 40 with a hidden count; everyone else 960 of whom 48 had the outcome; ratio 3.5 shown.
    program = Program()
    program.shown_count({"g": 1}, parse_count("<10"), "table: group count")
    program.shown_count({"rest": 1}, parse_count("48"), "table: rest")
    program.shown_ratio({"g": 1}, 40, {"rest": 1}, 960, parse_decimal("3.5"), "forest plot: ratio")
    [found] = findings(program, {"g": 7, "rest": 48}, ["g"])
    assert found.range.low == found.range.high == 7


def test_a_rounded_ratio_that_many_counts_fit_recovers_nothing():
    program = Program()
    program.shown_count({"g": 1}, parse_count("<10"), "table: group count")
    program.shown_count({"rest": 1}, parse_count("<10"), "table: rest")
    program.shown_ratio({"g": 1}, 100, {"rest": 1}, 100, parse_decimal("1"), "ratio to the nearest whole")
    # Equal sizes: g / rest in [0.5, 1.5] fits g = 1 (rest 1) to g = 9 (rest 6-9).
    got = program.ranges(["g", "rest"])
    assert (got["g"].low, got["g"].high) == (1, 9)
    assert findings(program, {"g": 5, "rest": 4}, ["g", "rest"]) == []


def test_a_difference_of_risks_with_known_sizes_recovers_the_count():
    program = Program()
    program.shown_count({"g": 1}, parse_count("<10"), "table")
    program.shown_count({"rest": 1}, parse_count("100"), "table")
    program.shown_difference({"g": 1}, 20, {"rest": 1}, 1000, parse_decimal("0.25"), "risk difference")
    [found] = findings(program, {"g": 7, "rest": 100}, ["g"])
    assert found.range.low == found.range.high == 7


def test_contradicting_figures_are_an_error_not_a_pass():
    program = one_way({"a": "<10", "b": "20"}, "50")  # a would be 30: not a count of 1-9
    with pytest.raises(Infeasible):
        program.ranges(["a"])
    assert program.violated_by({"a": 4, "b": 20}) == ["table: total: 24 not in [50, 50]"]


def test_a_solve_that_runs_out_of_time_falls_back_on_its_relaxation():
    # A knapsack-like program HiGHS cannot close in a millisecond; the relaxation bound is still reported.
    program = Program()
    weights = [37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97]
    for i in range(len(weights)):
        program.count(f"x{i}", 0, 9)
    program.add({f"x{i}": w for i, w in enumerate(weights)}, 3001, 3001, "sum")
    got = program.ranges(["x0"], time_limit=1e-4)["x0"]
    assert got.low <= 0 + 1e-6 and got.high >= 9 - 1e-6


def test_a_download_may_repeat_its_page_but_not_add_to_it():
    from tests.attacker.board import unexplained_numbers

    csv_text = 'School,Cases,Students enrolled,"Cases per 1,000"\r\nLakeside Middle School,14,"1,120",12.5\r\n'
    assert unexplained_numbers(csv_text, ["Lakeside Middle School | 14 | 1,120 | 12.5"]) == []
    assert unexplained_numbers("School,Cases\r\nLakeside,15\r\n", ["Lakeside | <10"]) == ["15 in 'Lakeside,15'"]


def test_the_report_reader_finds_tables_and_counts_with_shares():
    from tests.attacker.board import count_and_share, report_tables

    html = (
        "<table><caption>Rated cases by level of concern, 2024-25</caption><thead><tr><th>Level of concern</th>"
        "<th>Cases</th></tr></thead><tbody><tr><td>Low</td><td>24</td></tr><tr><td>High</td><td>*</td></tr>"
        "</tbody></table>"
    )
    assert report_tables(html) == {
        "Rated cases by level of concern, 2024-25": [
            {"Level of concern": "Low", "Cases": "24"},
            {"Level of concern": "High", "Cases": "*"},
        ]
    }
    shown, share = count_and_share("10 (23.3%)")
    assert shown == "10" and share is not None and share.low == pytest.approx(0.2325)
    assert count_and_share("<10") == ("<10", None)
