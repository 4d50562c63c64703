"""Statistics derived from the board's release (figures/derived.py): beside a hidden count, no ratio,
interval, difference, flag, share or rate is given, and beside published counts they equal the exact ones."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from access import metric_tables as mt
from access.suppression import CountTable, suppress_release
from figures.derived import (
    DISPARITY_STATISTICS,
    HIDDEN_COMPARISON,
    HIDDEN_GROUP,
    released_audit,
    released_count,
    released_disparities,
    released_flags,
    released_headline,
    released_high_share,
    released_timeliness,
)
from ui import page_data


@pytest.fixture(scope="module")
def board_view(demo_warehouse):
    """The latest year of a small demo district (most case counts under 10) as the board sees it."""
    with duckdb.connect(str(demo_warehouse(students=1500)), read_only=True) as con:
        year = con.execute("select max(school_year) from enrollment").fetchone()[0]
        release = suppress_release(page_data._release_tables(con, year, None))
        disp = mt.disproportionality(con, [year], None, include_district=True, include_schools=False)
        volumes = mt.case_volumes(con, [year], None, include_district=True, include_schools=False)
        audit = mt.process_audit(con, None, [year], None, include_district=True, include_schools=False)
        cases = mt.case_timeline(con, None, [year], None)
    timely = mt.timeliness_of(cases, include_district=True, include_schools=False)
    return year, release, disp, volumes, audit, timely


def _hidden(table, key: dict, measure: str) -> bool:
    """Independently of figures.derived: is this cell shown as anything but its exact number?"""
    row = table.hidden
    for dim in table.dimensions:
        row = row.filter(pl.col(dim) == key.get(dim, "total"))
    return bool(row[measure][0])


def _key(dimension: str, group: str) -> dict:
    if dimension == "race_x_disability":
        race, dis = group.split(":", 1)
        return {"race_ethnicity": race, "disability_status": dis}
    return {dimension: group}


def test_no_ratio_interval_or_difference_beside_a_hidden_count(board_view):
    _year, release, disp, *_ = board_view
    withheld = shown = 0
    for (outcome, dimension), rows in disp.partition_by(["outcome", "dimension"], as_dict=True).items():
        table = release.tables[f"disp_{outcome}_{dimension}"]
        den = page_data.population_measure(outcome)
        out = released_disparities(rows, table, outcome, den, dimension).sort("group")
        exact = rows.sort("group")
        total_hidden = any(_hidden(table, {}, m) for m in (den, outcome))
        for r, e in zip(out.iter_rows(named=True), exact.iter_rows(named=True)):
            key = _key(dimension, r["group"])
            if total_hidden or any(_hidden(table, key, m) for m in (den, outcome)):
                withheld += 1
                assert r["withheld"] in (HIDDEN_GROUP, HIDDEN_COMPARISON), (outcome, dimension, r["group"])
                assert all(r[c] is None for c in DISPARITY_STATISTICS), (outcome, dimension, r["group"])
                assert r["flagged"] is None and r["persistent"] is None and r["ratio_method"] == "none"
            else:
                shown += 1
                assert r["withheld"] is None
                assert all(
                    r[c] == e[c] for c in ("risk_ratio", "rr_ci_low", "rr_ci_high", "risk_difference", "flagged")
                )
    assert withheld and shown  # the demo has both kinds, so both branches were checked


def test_against_a_hidden_reference_group_nothing_is_compared(board_view):
    _year, release, disp, *_ = board_view
    table = release.tables["disp_btam_referral_race_ethnicity"]
    rows = disp.filter((pl.col("outcome") == "btam_referral") & (pl.col("dimension") == "race_ethnicity"))
    hidden = [g for g in rows["group"].to_list() if _hidden(table, {"race_ethnicity": g}, "btam_referral")]
    assert hidden
    others = rows.filter(pl.col("group") != hidden[0])
    out = released_disparities(others, table, "btam_referral", "enrolled", "race_ethnicity", reference=hidden[0])
    assert out["risk_ratio"].null_count() == out.height and out["withheld"].null_count() == 0


def test_flags_counted_only_on_published_counts(board_view):
    _year, release, disp, *_ = board_view
    flags = released_flags(disp.filter(pl.col("flagged")), release, page_data.population_measure)
    for r in flags.iter_rows(named=True):
        table = release.tables[f"disp_{r['outcome']}_{r['dimension']}"]
        den = page_data.population_measure(r["outcome"])
        assert not any(_hidden(table, _key(r["dimension"], r["group"]), m) for m in (den, r["outcome"]))
        assert not any(_hidden(table, {}, m) for m in (den, r["outcome"]))


def test_the_overview_headline_is_the_released_total(board_view):
    year, release, _, volumes, *_ = board_view
    total = volumes.filter(pl.col("breakdown") == "total")
    head = released_headline(release, year, int(total["enrolled"][0]))
    table = release.tables[f"cases_total_{year}"]
    if _hidden(table, {}, "cases"):
        assert head.cases is None and head.rate is None and head.reason and head.shown in ("<10", "*")
    else:
        assert head.cases == int(total["cases"][0])
        assert head.rate == pytest.approx(total["cases_per_1000"][0], abs=0.05)


def test_a_hidden_year_total_withholds_the_count_its_change_and_its_rate():
    """A year with 7 cases: the total is '<10', and neither it nor its rate nor a change is given."""
    this = {"school_year": "2024-25"}
    tables = [
        CountTable(
            "cases_total_2024-25",
            pl.DataFrame({"breakdown": ["total"], "cases": [7]}),
            ("breakdown",),
            ("cases",),
            filters=this,
        ),
        CountTable(
            "cases_by_school",
            pl.DataFrame({"school": ["a", "b", "total"], "cases": [3, 4, 7], "enrolled": [400, 500, 900]}),
            ("school",),
            ("cases", "enrolled"),
            filters=this,
        ),
    ]
    head = released_headline(suppress_release(tables), "2024-25", 900)
    assert (head.cases, head.rate, head.shown) == (None, None, "<10")
    assert "hidden" in head.reason


def test_shares_of_the_attention_bullets_use_published_counts_only(board_view):
    year, release, _, _, audit, timely = board_view
    shown_audit = released_audit(audit.filter(pl.col("scope") == "district"), release)
    for r in shown_audit.iter_rows(named=True):
        key = r["indicator"] + (f"_{r['concern_level']}" if r["concern_level"] else "")
        table = release.tables[f"audit_district_{key}"]
        hidden = any(_hidden(table, {}, m) for m in (f"{key}_num", f"{key}_den"))
        assert (r["status"] == "withheld" and r["value"] is None) if hidden else r["status"] != "withheld"
    assert (shown_audit["status"] == "withheld").any()
    table = release.tables["timeliness"]
    for r in released_timeliness(timely, release).iter_rows(named=True):
        if any(_hidden(table, {"concern_level": r["concern_level"]}, m) for m in ("timely_met", "timely_missed")):
            assert r["share_met"] is None
    levels = release.tables[f"levels_all_{year}"]
    share = released_high_share(release, year)
    cells = [released_count(levels, {"concern_level": lv}, "assessed_cases") for lv in ("high", "imminent", "total")]
    if any(_hidden(levels, {"concern_level": lv}, "assessed_cases") for lv in ("high", "imminent", "total")):
        assert share is None
    else:
        assert share == pytest.approx((cells[0] + cells[1]) / cells[2])


@pytest.fixture
def board_page(monkeypatch, tmp_path, demo_warehouse):
    """Run one page of the app as the board on the small demo (Streamlit's AppTest)."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("BTAM_AUDIT_LOG", str(tmp_path / "audit_log.jsonl"))
    monkeypatch.setenv("BTAM_ACCOUNTS", str(tmp_path / "accounts.json"))
    monkeypatch.setenv("BTAM_WAREHOUSE", str(demo_warehouse(students=1500)))

    def run(page: str) -> AppTest:
        at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=600)
        at.session_state["demo_role"] = "board"
        at.run()
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, at.exception
        return at

    return run


def test_the_boards_equity_table_has_no_ratio_beside_a_hidden_count(board_page):
    at = board_page("equity")
    tables = [pl.from_pandas(d.value.astype(str)) for d in at.dataframe]
    tables = [t for t in tables if {"Students", "With the outcome", "Risk ratio"} <= set(t.columns)]
    words = "\n".join(str(e.value) for kind in ("markdown", "caption", "info") for e in getattr(at, kind))
    if not tables:  # no group has a published ratio: the page says why for each, in the release's words
        assert "withheld" in words
    hidden_rows = 0
    for table in tables:
        hidden = table.filter(
            pl.any_horizontal(pl.col(c).str.contains(r"[<*]") for c in ("Students", "With the outcome"))
        )
        hidden_rows += hidden.height
        for column in ("Risk ratio", "CI low", "CI high", "Risk difference (points)", "Risk", "Comparison risk"):
            assert set(hidden[column].to_list()) <= {"None", "nan", "<NA>"}, column
        assert set(hidden["Flagged"].to_list()) <= {"–"}
        assert all(w.startswith("withheld") for w in hidden["Why no ratio"].to_list())
    assert hidden_rows or not tables


def test_the_boards_overview_gives_no_rate_or_change_of_a_hidden_total(board_page, board_view):
    year, release, *_ = board_view
    at = board_page("overview")
    metrics = {m.label: m for m in at.metric}
    shown = release.tables[f"cases_total_{year}"].display["cases"][0]
    assert metrics["BTAM cases"].value == shown
    if shown in ("<10", "*"):
        assert metrics["Cases per 1,000 students"].value == "–"
        assert not metrics["BTAM cases"].delta and not metrics["Cases per 1,000 students"].delta
        assert "hidden for this role" in "\n".join(c.value for c in at.caption)


def test_the_high_share_needs_both_levels_and_the_total_published():
    this = {"school_year": "2024-25"}
    levels = ["low", "moderate", "high", "imminent", "total"]

    def share(counts: list[int]) -> float | None:
        table = CountTable(
            "levels_all_2024-25",
            pl.DataFrame({"concern_level": levels, "assessed_cases": counts}),
            ("concern_level",),
            ("assessed_cases",),
            filters=this,
        )
        return released_high_share(suppress_release([table]), "2024-25")

    assert share([40, 30, 20, 12, 102]) == pytest.approx(32 / 102)
    assert share([40, 30, 20, 5, 95]) is None  # imminent '<10' (and high hidden beside it)
