"""CRDC import: hand-computed state sums of a small CRDC-layout file (tests/crdc_files.py), reserve
codes counted and kept missing, the consistency report, and a district's alternate risk ratio."""

from __future__ import annotations

import argparse
import json
from fractions import Fraction
from pathlib import Path

import duckdb
import polars as pl
import pytest

from data_contracts.crdc_profile import load_crdc_profile
from metrics.disproportionality import disproportionality_table
from pipelines.reference import cli
from pipelines.reference.crdc import CrdcError, import_crdc
from tests.crdc_files import write_crdc_file, write_per_topic_files

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crdc")
    db = folder / "w.duckdb"
    result = import_crdc(db, [write_crdc_file(folder / "CRDC_2021-22_school.csv")], state="NV")
    con = duckdb.connect(str(db), read_only=True)
    yield result, con, db
    con.close()


def state_rows(con, outcome: str, dimension: str) -> dict[str, tuple[int, int]]:
    rows = con.execute(
        """select "group", n, k from state_reference where school_year = '2021-22'
                          and outcome = $o and dimension = $d""",
        {"o": outcome, "d": dimension},
    ).fetchall()
    return {g: (n, k) for g, n, k in rows}


def test_state_counts_by_race_for_oss_or_expulsion_are_the_hand_computed_sums(imported):
    _, con, _ = imported
    rows = state_rows(con, "oss_or_expulsion", "race_ethnicity")
    # bl: enrolled A 30+20, B 10+10; with an action: A SINGOOS 4 + MULTOOS 2 + IDEA SINGOOS 1, B SINGOOS 3 + EXPWE 1
    assert rows["bl"] == (70, 11)
    # hi: A 40+50, B 100+100; A SINGOOS f 1; B SINGOOS 8 + MULTOOS 2 + IDEA SINGOOS 2
    assert rows["hi"] == (290, 13)
    # wh: A 100+90, B 50+40; A SINGOOS 3 + EXPWOE 1; B SINGOOS f 2
    assert rows["wh"] == (280, 6)
    assert rows["as"] == (20, 0) and rows["mu"] == (10, 0)
    assert sum(n for n, _ in rows.values()) == 670  # both schools of NV, not the OR school


def test_state_counts_by_sex_add_race_cells_of_each_sex(imported):
    _, con, _ = imported
    rows = state_rows(con, "oss_or_expulsion", "sex")
    # m: A 185 + B 160; f: A 175 + B 150. k m: A 4+3+2+1+1, B 8+3+2+1+2; k f: A 1, B 2
    assert rows == {"m": (345, 27), "f": (325, 3)}


def test_reserve_code_leaves_the_school_out_of_every_slice_of_that_outcome(imported):
    _, con, _ = imported
    # school B reported -9 in SCH_DISCWODIS_ISS_AS_F: only school A counts for iss
    assert state_rows(con, "iss", "race_ethnicity") == {
        "hi": (90, 4),
        "am": (0, 0),
        "as": (20, 0),
        "pi": (0, 0),
        "bl": (50, 11),
        "wh": (190, 8),
        "mu": (10, 0),
    }
    sources = con.execute("""select schools_used, schools_excluded from state_reference_sources
                             where outcome = 'iss' and dimension = 'race_ethnicity'""").fetchall()
    assert sources == [(1, 1)]


def test_disability_groups_split_the_without_disabilities_table_into_504_only_and_none(imported):
    _, con, _ = imported
    # A: IDEA 20+10, 504 5+5, all 360; iss IDEA 2+1, 504 breakout 1, WODIS race cells 6+3+5+2+4 = 20
    assert state_rows(con, "iss", "disability_status") == {
        "idea": (30, 3),
        "section_504_only": (10, 1),
        "none": (320, 19),
    }


def test_english_learner_groups_use_the_lep_breakouts_of_both_tables(imported):
    _, con, _ = imported
    # A: LEP 15+12; iss LEP WODIS 2, WDIS 0; everyone 360 with 23
    assert state_rows(con, "iss", "english_learner") == {"y": (27, 2), "n": (333, 21)}
    # both schools: LEP 27 + 55; oss LEP: B SINGOOS LEP m 4
    assert state_rows(con, "oss_or_expulsion", "english_learner") == {"y": (82, 4), "n": (588, 26)}


def test_law_enforcement_adds_referrals_and_arrests_and_drops_the_action_plan_school(imported):
    _, con, _ = imported
    rows = state_rows(con, "law_enforcement", "race_ethnicity")
    assert rows["bl"] == (50, 3) and rows["wh"] == (190, 1)  # school A only (B: -5 and a broken cell)
    exact = dict(con.sql("select outcome, bool_and(exact) from state_reference_sources group by 1").fetchall())
    assert exact == {"iss": True, "oss_or_expulsion": False, "law_enforcement": False, "any_exclusionary": False}


def test_reserve_codes_are_counted_by_code_and_stored_as_missing(imported):
    result, con, _ = imported
    assert [(code, n) for code, _, n in result.reserve_counts] == [(-5, 1), (-9, 1)]
    stored = con.sql("""select source_column, value, reserve_code from crdc_school_counts
                        where reserve_code is not null order by 1""").fetchall()
    assert stored == [("SCH_DISCWODIS_ISS_AS_F", None, -9), ("SCH_DISCWODIS_REF_HI_M", None, -5)]
    assert result.quarantine_counts == [("number:value", 1)]
    assert con.sql("select count(*) from crdc_school_counts where value < 0").fetchall()[0][0] == 0
    assert "reserve code -9 (not applicable" in result.summary()


def test_parts_that_do_not_add_to_their_total_are_reported(imported):
    _, con, _ = imported
    findings = con.sql("select scope, check_name, expected, observed from reference_consistency").fetchall()
    assert findings == [("320000100001", "parts_vs_total", 16, 15)]  # TOT_DISCWODIS_ISS_M says 16


def test_other_states_rows_are_not_kept(imported):
    _, con, _ = imported
    assert con.sql("select distinct state from crdc_school_counts").fetchall() == [("NV",)]
    assert con.sql("select count(distinct school_id) from crdc_school_counts").fetchall()[0][0] == 2


def test_alternate_risk_ratio_of_a_district_uses_the_hand_computed_state_rate(imported):
    _, con, _ = imported
    state = con.sql("""select school_year, outcome, dimension, "group", n, k from state_reference
                       where outcome = 'iss' and dimension = 'race_ethnicity'""").pl()
    district = pl.DataFrame(
        {
            "school_year": ["2021-22"] * 3,
            "scope": ["district"] * 3,
            "outcome": ["iss"] * 3,
            "dimension": ["race_ethnicity"] * 3,
            "group": ["bl", "wh", "hi"],
            "n": [40, 20, 5],
            "k": [12, 2, 0],
        }
    )
    row = disproportionality_table(district, state).filter(pl.col("group") == "bl").row(0, named=True)
    # the district's comparison (25 students, 2 with ISS) is below the cell size of 10, so 34 CFR
    # 300.647(b)(5): state risk of all other groups = (hi 4 + wh 8 + as 0 + mu 0) / (90 + 190 + 20 + 10) = 12/310
    assert row["ratio_method"] == "alternate_risk_ratio"
    assert row["risk_ratio"] == pytest.approx(float(Fraction(12, 40) / Fraction(12, 310)))  # 7.75
    assert row["risk_ratio"] == pytest.approx(7.75)


def test_per_topic_files_give_the_same_state_reference_as_a_combined_extract(imported, tmp_path):
    _, con, _ = imported
    db = tmp_path / "topics.duckdb"
    import_crdc(db, write_per_topic_files(tmp_path / "2021-22"), state="NV")
    other = duckdb.connect(str(db), read_only=True)
    query = 'select school_year, outcome, dimension, "group", n, k from state_reference order by all'
    assert other.sql(query).fetchall() == con.sql(query).fetchall()
    other.close()


def test_the_same_files_again_change_nothing(imported):
    result, _, db = imported
    again = import_crdc(db, [Path(db).parent / "CRDC_2021-22_school.csv"], state="NV")
    assert again.unchanged


def test_several_states_without_state_option_are_refused(tmp_path):
    path = write_crdc_file(tmp_path / "crdc.csv")
    with pytest.raises(CrdcError, match="--state"):
        import_crdc(tmp_path / "w.duckdb", [path], school_year="2021-22")
    assert not (tmp_path / "w.duckdb").exists()


def test_cli_reports_a_missing_year_with_usage_exit_code(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    path = write_crdc_file(tmp_path / "crdc.csv")
    args = parser.parse_args(["crdc", str(path), "--db", str(tmp_path / "w.duckdb"), "--state", "NV"])
    assert cli.run(args) == cli.EXIT_UNREADABLE
    assert "--year" in capsys.readouterr().err
    args = parser.parse_args(
        ["crdc", str(path), "--db", str(tmp_path / "w.duckdb"), "--state", "NV", "--year", "2021-22"]
    )
    assert cli.run(args) == cli.EXIT_OK
    assert "state_reference rows written" in capsys.readouterr().out


def test_profile_reserve_codes_are_those_the_contract_suite_accepts():
    suite = json.loads((REPO / "data_contracts" / "suites" / "reference" / "crdc_cells.json").read_text())
    accepted = next(e["kwargs"]["value_set"] for e in suite["expectations"] if e["meta"]["rule"] == "code:reserve_code")
    assert sorted(int(c) for c in accepted) == sorted(load_crdc_profile().reserve_codes)


def test_column_names_map_to_the_cells_the_methodology_describes():
    profile = load_crdc_profile()
    assert profile.parse("SCH_DISCWODIS_ISS_HP_F").key == "iss|non_idea|race|pi|f"
    assert profile.parse("sch_discwdis_multoos_idea_tr_m").key == "oss_multiple|idea|race|mu|m"
    assert profile.parse("SCH_DISCWODIS_REF_504_M").key == "law_enforcement_referral|non_idea|section_504_only|y|m"
    assert profile.parse("SCH_ENR_504_F").key == "enrollment|all|section_504_only|y|f"
    assert profile.parse("SCH_DISCWDIS_ISS_BL_M") is None  # the IDEA table always says _IDEA_
    assert profile.parse("SCH_DISCWDIS_ISS_IDEA_504_M") is None  # 504-only students are not in the IDEA table
    assert profile.parse("SCH_NAME") is None
