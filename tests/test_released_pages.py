"""Statistics of the Concern levels, Discipline outcomes, Case volumes and Process audit pages as the board sees
them (figures/released_*.py): beside a hidden count no share, ratio, interval, change or test statistic is
given, and beside published counts the figure is still shown and equals the exact one."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import polars as pl
import pytest

from access import metric_tables as mt
from access.suppression import CountTable, suppress_release
from figures.released_audit import released_status
from figures.released_levels import HIDDEN_TEST_CELL, released_level_shares, released_level_test
from figures.released_outcomes import CONDITIONAL_STATISTICS, released_conditional, released_outcome_shares
from figures.released_volumes import (
    percent_change,
    rate_per_1000,
    released_enrolled,
    released_school_rates,
    released_total,
)
from ui import page_data

HIDDEN_MARK = re.compile(r"<10|\*")
EMPTY = {"None", "nan", "<NA>", "–"}  # how a page's table prints a withheld value


@pytest.fixture(scope="module")
def demo_db(demo_warehouse) -> Path:
    """A small demo district: most of a year's case counts by level and group are under 10."""
    return demo_warehouse(students=1500)


@pytest.fixture(scope="module")
def board(demo_db):
    """The latest year's release as the board sees it, and the exact frames behind it."""
    with duckdb.connect(str(demo_db), read_only=True) as con:
        year = con.execute("select max(school_year) from enrollment").fetchone()[0]
        release = suppress_release(page_data._release_tables(con, year, None))
        levels = mt.concern_levels(con, [year], None, include_district=True)
        strata = mt.conditional_disparity_strata(con, [year], None, include_district=True, include_schools=False)
        cond = mt.conditional_disparities(
            con, [year], None, include_district=True, include_schools=False, pool_years=False
        )
    return year, release, levels, strata, cond


def _hidden(table, key: dict, measure: str) -> bool:
    """Independently of figures/: is this cell printed as anything but its exact number?"""
    row = table.hidden
    for dim in table.dimensions:
        row = row.filter(pl.col(dim) == key.get(dim, "total"))
    assert row.height == 1, (table.name, key)
    return bool(row[measure][0])


def _board_text(at) -> str:
    return "\n".join(
        str(e.value) for kind in ("markdown", "caption", "info", "text", "subheader") for e in getattr(at, kind)
    )


# -- Concern levels ---------------------------------------------------------------------------------------------


def test_a_level_share_needs_its_count_and_its_rows_total(board):
    year, release, levels, *_ = board
    checked = {"withheld": 0, "shown": 0}
    cases = [
        (f"levels_all_{year}", None, "all", "assessed_cases"),
        ("levels_by_school", "school", "all", "assessed_cases"),
        ("levels_by_race_ethnicity", "race_ethnicity", "race_ethnicity", "assessed_student_cases"),
    ]
    for name, by, dimension, measure in cases:
        table = release.tables[name]
        exact = levels.filter((pl.col("dimension") == dimension) & (pl.col("school_year") == year))
        exact = exact.filter(pl.col("scope") == "district") if by != "school" else exact
        for r in released_level_shares(table, by).iter_rows(named=True):
            row = {by: r[by]} if by else {}
            if _hidden(table, {**row, "concern_level": r["concern_level"]}, measure) or _hidden(table, row, measure):
                checked["withheld"] += 1
                assert r["share"] is None and r["withheld"], (name, r)
                continue
            if by == "school":
                cell = exact.filter((pl.col("scope") == r["school"]) & (pl.col("concern_level") == r["concern_level"]))
                group = exact.filter(pl.col("scope") == r["school"])
            elif by:
                cell = exact.filter((pl.col("group") == r[by]) & (pl.col("concern_level") == r["concern_level"]))
                group = exact.filter(pl.col("group") == r[by])
            else:
                cell, group = exact.filter(pl.col("concern_level") == r["concern_level"]), exact
            n = int(cell["n"].sum())
            total = int(group["n"].sum())
            if not total:
                continue
            checked["shown"] += 1
            assert r["share"] == pytest.approx(n / total), (name, r)
    assert checked["withheld"]  # the small demo hides most level counts; the synthetic test shows the rest


def test_a_level_share_over_published_counts_is_shown():
    levels = ["low", "moderate", "high", "imminent", "total"]
    frame = pl.DataFrame(
        {
            "school": [s for s in ("a", "b", "total") for _ in levels],
            "concern_level": levels * 3,
            "assessed_cases": [60, 40, 30, 0, 130, 80, 70, 3, 12, 165, 140, 110, 33, 12, 295],
        }
    )
    t = CountTable("levels_by_school", frame, ("school", "concern_level"), ("assessed_cases",))
    table = suppress_release([t])["levels_by_school"]
    shares = {(r["school"], r["concern_level"]): r["share"] for r in released_level_shares(table, "school").to_dicts()}
    assert shares[("a", "low")] == pytest.approx(60 / 130) and shares[("a", "imminent")] == 0
    assert shares[("b", "high")] is None  # 3 is '<10'
    assert all(shares[(s, "high")] is None for s in ("a", "b"))  # hidden beside it so 3 cannot be subtracted out


def test_the_chi_square_needs_every_cell_of_its_table():
    levels = ["low", "moderate", "high", "imminent", "total"]
    this = {"school_year": "2024-25"}

    def table(counts: dict[str, list[int]]):
        frame = pl.DataFrame(
            {
                "school": [s for s in counts for _ in levels],
                "concern_level": levels * len(counts),
                "assessed_cases": [v for vs in counts.values() for v in vs],
            }
        )
        t = CountTable("levels_by_school", frame, ("school", "concern_level"), ("assessed_cases",), filters=this)
        return suppress_release([t])["levels_by_school"]

    row = {"method": "chi_square", "statistic": 3.2, "df": 3, "p_value": 0.36, "n": 400}
    full = table({"a": [60, 40, 30, 20, 150], "b": [80, 70, 60, 40, 250], "total": [140, 110, 90, 60, 400]})
    assert released_level_test(row, full).row == row
    small = table({"a": [60, 40, 30, 5, 135], "b": [80, 70, 60, 40, 250], "total": [140, 110, 90, 45, 385]})
    test = released_level_test(row, small)
    assert test.row is None and test.reason == HIDDEN_TEST_CELL
    assert released_level_test(row, None).row is None


def test_the_boards_concern_levels_page(start, board):
    year, release, *_ = board
    at = start("concern_levels", demo_role="board")
    assert not at.exception, at.exception
    words = _board_text(at)
    school_cells_hidden = not all(
        release["levels_by_school"].published[c].null_count() == 0 for c in ("assessed_cases",)
    )
    if school_cells_hidden:
        assert "χ²" not in words and "withheld" in words
    levels_all = release.tables[f"levels_all_{year}"]
    if any(_hidden(levels_all, {"concern_level": lv}, "assessed_cases") for lv in ("high", "imminent", "total")):
        assert "high or imminent is withheld" in words
    else:
        assert re.search(r"\d+% were rated high or imminent", words)
    shares, tables = 0, 0
    for frame in at.dataframe:
        t = pl.from_pandas(frame.value.astype(str))
        if {"Assessed cases", "Share of the group's assessed cases"} <= set(t.columns):
            tables += 1
            hidden = t.filter(pl.col("Assessed cases").str.contains(HIDDEN_MARK.pattern))
            assert set(hidden["Share of the group's assessed cases"].to_list()) <= EMPTY
            shares += t.filter(~pl.col("Share of the group's assessed cases").is_in(list(EMPTY))).height
    assert tables == 2  # all cases, and by school
    published = sum(
        released_level_shares(release[name], by)["share"].is_not_null().sum()
        for name, by in ((f"levels_all_{year}", None), ("levels_by_school", "school"))
    )
    assert shares == published  # every share the release allows is still shown


# -- Discipline outcomes ----------------------------------------------------------------------------------------


def test_an_outcome_share_needs_both_counts(board):
    _year, release, _levels, strata, _cond = board
    checked = {"withheld": 0, "shown": 0}
    for dimension in page_data.PUBLIC_OUTCOME_DIMENSIONS:
        for outcome in ("case_exclusionary", "case_law_enforcement", "case_placement_change"):
            table = release.tables[f"outcome_{outcome}_{dimension}"]
            part = strata.filter((pl.col("outcome") == outcome) & (pl.col("dimension") == dimension)).select(
                "group", "concern_level", (pl.col("a") + pl.col("b")).alias("cases"), pl.col("a").alias("with_outcome")
            )
            for r in released_outcome_shares(part, table, outcome, dimension).iter_rows(named=True):
                key = {dimension: r["group"], "concern_level": r["concern_level"]}
                if any(_hidden(table, key, m) for m in ("assessed_student_cases", f"{outcome}_cases")):
                    checked["withheld"] += 1
                    assert r["share"] is None
                    assert HIDDEN_MARK.search(r["cases_shown"]) or HIDDEN_MARK.search(r["with_shown"])
                elif r["cases"]:
                    checked["shown"] += 1
                    assert r["share"] == pytest.approx(r["with_outcome"] / r["cases"])
    assert checked["withheld"]  # the small demo hides most; the synthetic test below has published shares


def _outcome_table(cells: dict[tuple[str, str], tuple[int, int]]):
    """A release of one group x level table of (assessed cases, with the outcome), totals added."""
    frame = pl.DataFrame(
        [
            {"race_ethnicity": g, "concern_level": lv, "assessed_student_cases": n, "case_exclusionary_cases": k}
            for (g, lv), (n, k) in cells.items()
        ]
    )
    full = page_data.with_total(
        frame, ("race_ethnicity", "concern_level"), ("assessed_student_cases", "case_exclusionary_cases")
    )
    t = CountTable(
        "outcome_case_exclusionary_race_ethnicity",
        full,
        ("race_ethnicity", "concern_level"),
        ("case_exclusionary_cases",),
        "assessed_student_cases",
        filters={"school_year": "2024-25"},
    )
    return suppress_release([t])[t.name], frame


def test_an_outcome_share_over_published_counts_is_shown():
    cells = {
        ("bl", "low"): (120, 20),
        ("bl", "high"): (60, 15),
        ("wh", "low"): (300, 30),
        ("wh", "high"): (90, 12),
    }
    table, frame = _outcome_table(cells)
    part = frame.select(
        pl.col("race_ethnicity").alias("group"),
        "concern_level",
        pl.col("assessed_student_cases").alias("cases"),
        pl.col("case_exclusionary_cases").alias("with_outcome"),
    )
    out = released_outcome_shares(part, table, "case_exclusionary", "race_ethnicity")
    assert out["share"].to_list() == pytest.approx([n and k / n for n, k in cells.values()])
    assert out["cases_shown"].to_list() == ["120", "60", "300", "90"]
    rows = pl.DataFrame({"group": ["bl"], "odds_ratio": [1.8], "ci_low": [1.1], "ci_high": [2.9]})
    assert released_conditional(rows, table, "case_exclusionary", "race_ethnicity")["odds_ratio"][0] == 1.8
    cells[("bl", "high")] = (60, 4)  # a '<10' at one level withholds the pooled odds ratio
    table, _ = _outcome_table(cells)
    out = released_conditional(rows, table, "case_exclusionary", "race_ethnicity")
    assert out["odds_ratio"][0] is None and out["withheld"][0]


def test_an_odds_ratio_needs_every_stratum_published(board):
    _year, release, _levels, _strata, cond = board
    withheld = shown = 0
    for dimension in page_data.PUBLIC_OUTCOME_DIMENSIONS:
        for outcome in ("case_exclusionary", "case_law_enforcement", "case_placement_change"):
            table = release.tables[f"outcome_{outcome}_{dimension}"]
            rows = cond.filter((pl.col("outcome") == outcome) & (pl.col("dimension") == dimension))
            levels = [lv for lv in table.display["concern_level"].to_list() if lv != "total"]
            for r, e in zip(
                released_conditional(rows, table, outcome, dimension).iter_rows(named=True), rows.iter_rows(named=True)
            ):
                hidden = any(
                    _hidden(table, {dimension: who, "concern_level": lv}, m)
                    for who in (r["group"], "total")
                    for lv in levels
                    for m in ("assessed_student_cases", f"{outcome}_cases")
                )
                if hidden:
                    withheld += 1
                    assert r["withheld"] and all(r[c] is None for c in CONDITIONAL_STATISTICS if c in r)
                else:
                    shown += 1
                    assert r["withheld"] is None and r["odds_ratio"] == e["odds_ratio"]
    assert withheld
    assert (
        released_conditional(cond.head(2), None, "case_exclusionary", "race_ethnicity")["odds_ratio"].null_count() == 2
    )


def test_the_boards_discipline_page(start, board):
    """The default view: case_exclusionary by race."""
    at = start("discipline_outcomes", demo_role="board")
    assert not at.exception, at.exception
    words = _board_text(at)
    tables = [pl.from_pandas(d.value.astype(str)) for d in at.dataframe]
    tables = [t for t in tables if {"Assessed cases", "With the outcome", "Share"} <= set(t.columns)]
    assert tables
    for t in tables:
        hidden = t.filter(
            pl.col("Assessed cases").str.contains(HIDDEN_MARK.pattern)
            | pl.col("With the outcome").str.contains(HIDDEN_MARK.pattern)
        )
        assert set(hidden["Share"].to_list()) <= EMPTY
        if t.filter(~pl.col("Share").is_in(list(EMPTY))).is_empty():
            assert not at.get("plotly_chart") and "No share can be drawn here" in words
    bullets = [m.value for m in at.markdown if m.value.startswith("- ") and "odds ratio" in m.value]
    _year, release, _levels, _strata, cond = board
    rows = cond.filter((pl.col("outcome") == "case_exclusionary") & (pl.col("dimension") == "race_ethnicity"))
    released = released_conditional(
        rows, release["outcome_case_exclusionary_race_ethnicity"], "case_exclusionary", "race_ethnicity"
    )
    if released["withheld"].null_count() == 0:  # every group's comparison pools a hidden count
        assert not bullets and "the comparison is withheld" in words
    assert len(bullets) <= released["withheld"].null_count()


# -- Case volumes -----------------------------------------------------------------------------------------------


def test_rates_and_changes_only_between_published_figures():
    this = {"school_year": "2024-25"}
    frame = pl.DataFrame(
        {
            "school": ["a", "b", "c", "d", "total"],
            "cases": [300, 4, 120, 200, 624],
            "enrolled": [9000, 4000, 3000, 5000, 21000],
        }
    )
    t = CountTable("cases_by_school", frame, ("school",), ("cases", "enrolled"), filters=this)
    rates = {r["school"]: r["cases_per_1000"] for r in released_school_rates(suppress_release([t])[t.name]).to_dicts()}
    assert rates["b"] is None and rates["c"] is None  # 4 is '<10', 120 hidden beside it so 4 cannot be subtracted
    assert rates["a"] == pytest.approx(1000 * 300 / 9000) and rates["d"] == pytest.approx(1000 * 200 / 5000)
    assert "total" not in rates
    assert percent_change(46, 40) == pytest.approx(15.0)
    assert percent_change(46, None) is None and percent_change(None, 40) is None and percent_change(46, 0) is None
    assert rate_per_1000(46, 1600) == pytest.approx(28.75) and rate_per_1000(None, 1600) is None
    assert rate_per_1000(46, None) is None and rate_per_1000(0, 0) is None


def test_the_boards_case_volumes_page(start, board):
    year, release, *_ = board
    at = start("case_volumes", demo_role="board")
    assert not at.exception, at.exception
    headline = next(m.value for m in at.markdown if "were reported in" in m.value)
    total = released_total(release, year)
    assert f"**{total.shown} cases**" in headline
    if total.cases is None:
        assert "per 1,000" not in headline and "%" not in headline and "no change" in headline
    elif released_enrolled(release):
        assert "per 1,000 students" in headline  # a published total and enrolment still give the rate
    checked = 0
    for frame in at.dataframe:
        t = pl.from_pandas(frame.value.astype(str))
        rate = next((c for c in t.columns if c.startswith("Cases per 1,000")), None)
        if rate is None or "Cases" not in t.columns:
            continue
        checked += 1
        hidden = t.filter(pl.col("Cases").str.contains(HIDDEN_MARK.pattern))
        assert set(hidden[rate].to_list()) <= EMPTY, rate
        if "Students enrolled" in t.columns:  # by school: a published count over a published enrolment has its rate
            ok = t.filter(
                ~pl.col("Cases").str.contains(HIDDEN_MARK.pattern)
                & ~pl.col("Students enrolled").str.contains(HIDDEN_MARK.pattern)
            )
            assert not set(ok[rate].to_list()) & EMPTY
    assert checked == 2  # by school and by the chosen breakdown


# -- Process audit ----------------------------------------------------------------------------------------------


def test_a_status_mark_needs_released_figures():
    assert released_status("off_target", 40, 0.2) == "off_target"
    assert released_status("off_target", None, None) == "withheld"  # '<10' denominator
    assert released_status("on_target", 40, None) == "withheld"  # hidden numerator
    assert (
        released_status("too_few", 0, None) == "too_few"
        and released_status("not_applicable", 0, None) == "not_applicable"
    )
    assert released_status("too_few", None, None) == "withheld"


def test_the_boards_process_audit_page(start):
    at = start("process_audit", demo_role="board")
    assert not at.exception, at.exception
    tables = [pl.from_pandas(d.value.astype(str)) for d in at.dataframe]
    table = next(t for t in tables if {"Numerator", "Denominator", "Share", "Status"} <= set(t.columns))
    hidden = table.filter(
        pl.col("Numerator").str.contains(HIDDEN_MARK.pattern) | pl.col("Denominator").str.contains(HIDDEN_MARK.pattern)
    )
    assert hidden.height
    assert set(hidden["Share"].to_list()) <= EMPTY
    assert not hidden["Status"].str.contains("on target|off target").any()
    shown = table.filter(~pl.col("Share").is_in(list(EMPTY)))
    assert shown["Status"].str.contains("on target|off target|too few").all()
