"""The pages a suppressed viewer (the board) can open are one release: every count any of them prints for
a school year is suppressed together, so a cell hidden on one page cannot be worked out from another.

The attacker is tests/test_adversary.py's own (independent of the engine's audit); it is given every
table of the page set at once, as a viewer who visits every page and writes down what each prints.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pytest

from access.suppression import suppress_release
from pipelines.loader import load_files
from tests.interchange_files import AS_OF, YEAR, valid_rows, write_district
from tests.test_adversary import SETTINGS, disclosures
from ui import page_data


@pytest.fixture(scope="module")
def small_demo(demo_warehouse):
    """A district small enough that most case counts are under 10: the hard case for suppression."""
    return demo_warehouse(students=1500)


def _latest_year(con) -> str:
    return con.execute("select max(school_year) from enrollment").fetchone()[0]


def test_the_page_set_resists_the_attacker(small_demo):
    with duckdb.connect(str(small_demo), read_only=True) as con:
        tables = page_data._release_tables(con, _latest_year(con), None)
    names = {t.name for t in tables}
    # every page's tables are in the one release (what each suppressed page looks up)
    assert {
        "cases_by_month",
        "cases_by_school",
        "timeliness",
        "levels_by_race_ethnicity",
        "levels_by_school",
        "disp_btam_referral_race_ethnicity",
        "disp_btam_referral_race_x_disability",
        "outcome_case_exclusionary_race_ethnicity",
    } <= names
    assert any(n.startswith("levels_all_") for n in names) and any(n.startswith("audit_district_") for n in names)
    release = suppress_release(tables, SETTINGS)
    assert any(r in ("small_count", "complementary") for r in release.cell_reasons.values())
    for knows_rules in (False, True):
        found = disclosures(tables, release, knows_rules)
        assert not found, "; ".join(found[:5])


def test_a_cell_shared_by_two_pages_is_shown_the_same_on_both(small_demo):
    """The enrolled students of each race are the group sizes of every outcome on the Equity page; one
    release means one decision for each of them, whichever outcome the viewer picks."""
    with duckdb.connect(str(small_demo), read_only=True) as con:
        release = suppress_release(page_data._release_tables(con, _latest_year(con), None))
    shown = [
        release[n].display.select("race_ethnicity", "enrolled")
        for n in release.tables
        if n.startswith("disp_") and n.endswith("_race_ethnicity") and "enrolled" in release[n].display.columns
    ]
    assert len(shown) >= 3
    for other in shown[1:]:
        assert other.sort("race_ethnicity").equals(shown[0].sort("race_ethnicity"))


def test_only_tables_of_the_year_asked_for(small_demo):
    """A year is a release of its own; pages comparing years read the prior year's release."""
    with duckdb.connect(str(small_demo), read_only=True) as con:
        year = _latest_year(con)
        tables = page_data._release_tables(con, year, None)
    # the load-quality counts of the report's data-completeness section are of the loads, the same in every year
    assert {t.filters.get("school_year") for t in tables if t.name != "load_quality"} == {year}
    assert [t.filters for t in tables if t.name == "load_quality"] == [{"release": "loads"}]


def test_a_site_with_cases_but_no_students_enrolled(tmp_path):
    """A case about a member of staff recorded at the district office: cases and students are two counts
    of the same school, not a share, so the release builds (it used to refuse: 1 case out of 0 students)."""
    rows = valid_rows()
    rows["schools"].append({"school_id": "SCH9", "school_name": "District Office", "school_level": "other"})
    staff_case = {
        **next(c for c in rows["btam_cases"] if c["case_id"] == "CASE3"),
        "case_id": "CASE9",
        "school_id": "SCH9",
    }
    rows["btam_cases"].append(staff_case)
    db = tmp_path / "warehouse.duckdb"
    result = load_files(db, [write_district(tmp_path / "in", rows)], "interchange", as_of=date.fromisoformat(AS_OF))
    assert result.exit_code == 0 and not any(f.rows_quarantined for f in result.files)
    with duckdb.connect(str(db), read_only=True) as con:
        release = suppress_release(page_data._release_tables(con, YEAR, None))
    by_school = release["cases_by_school"]
    office = by_school.display.filter(pl.col("school") == "SCH9").row(0, named=True)
    assert office["enrolled"] == "0" and office["cases"] == "<10"
    assert "cases_rate" not in by_school.display.columns  # no share of students is claimed
