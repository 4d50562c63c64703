"""The marts of sql/marts/ on a tiny hand-built warehouse; every expected count is worked out by hand below."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pytest

from access import metric_tables as mt
from access.queries import run_query
from pipelines.warehouse import create_empty

AS_OF = date(2025, 6, 1)
Y = "2024-25"

# school A (elementary), school B (high); six students, enrolled in 2024-25
#   s1 A bl idea f      s2 A wh none m (EL)   s3 A bl 504-only m
#   s4 B wh none f      s5 B hi idea f        s6 B wh none m
ENROLLMENT = [
    ("stu001", "A", "f", "bl", True, "sld", False, False, True),
    ("stu002", "A", "m", "wh", False, None, False, True, False),
    ("stu003", "A", "m", "bl", False, None, True, False, False),
    ("stu004", "B", "f", "wh", False, None, False, False, False),
    ("stu005", "B", "f", "hi", True, "aut", False, False, True),
    ("stu006", "B", "m", "wh", False, None, False, False, False),
]
# case_id, school, subject, student, reported, assessed, level, admin, mh, le_involved, dfc, plan, monitoring, closed
CASES = [
    (
        "C1",
        "A",
        "student",
        "stu001",
        "2024-10-01",
        "2024-10-02",
        "high",
        True,
        True,
        False,
        "y",
        "2024-10-03",
        "formal",
        "2024-10-20",
    ),
    # s2 is enrolled at A; the case is recorded at B: it still counts for s2 in school A's scope
    ("C2", "B", "student", "stu002", "2024-11-01", "2024-11-01", "low", True, False, True, "na", None, "none", None),
    (
        "C3",
        "B",
        "student",
        "stu005",
        "2025-01-10",
        "2025-01-11",
        "moderate",
        True,
        True,
        False,
        "y",
        None,
        "formal",
        "2025-02-01",
    ),
    ("C4", "B", "staff", None, "2025-02-01", None, None, None, None, None, None, None, None, "2025-02-03"),
    (
        "C5",
        "B",
        "student",
        "stu001",
        "2025-03-01",
        "2025-03-02",
        "low",
        True,
        True,
        False,
        "n",
        None,
        "informal",
        "2025-03-20",
    ),
]
ACTIONS = [  # action_id, case_id, date, type, category
    ("A1", "C1", "2024-10-03", "counseling", "support"),
    ("A2", "C1", "2024-10-05", "out_of_school_suspension", "exclusionary"),
    ("A3", "C3", "2025-01-15", "change_of_placement", "placement"),
    ("A4", "C5", "2025-03-04", "counseling", "support"),
]
REVIEWS = [("R1", "C1", "2024-10-15", "continue"), ("R2", "C3", "2025-03-01", "continue")]
DISCIPLINE = [  # action_id, school, student, date, type, days
    ("D1", "A", "stu001", "2024-10-05", "iss", 2),
    ("D2", "A", "stu001", "2024-12-01", "oss", 9),
    ("D3", "A", "stu001", "2025-01-05", "oss", 3),
    ("D4", "B", "stu005", "2025-01-12", "iss", 4),
    ("D5", "B", "stu004", "2025-02-10", "law_enforcement_referral", 0),
    ("D6", "B", "stu006", "2025-04-01", "expulsion_without_services", 20),
]


def build_warehouse(
    path,
    enrollment=ENROLLMENT,
    cases=CASES,
    actions=ACTIONS,
    reviews=REVIEWS,
    discipline=DISCIPLINE,
    schools=(("A", "elementary"), ("B", "high")),
) -> duckdb.DuckDBPyConnection:
    create_empty(path)
    con = duckdb.connect(str(path))
    for sid, level in schools:
        con.execute("insert into schools values (?, ?, ?, 't')", [sid, f"School {sid}", level])
    for key, sid, sex, race, idea, cat, s504, el, econ in enrollment:
        status = "idea" if idea else "section_504_only" if s504 else "none"
        con.execute(
            "insert into enrollment values (?, ?, ?, '05', ?, ?, ?, ?, ?, ?, ?, ?, 't')",
            [Y, key, sid, sex, race, idea, cat, s504, el, econ, status],
        )
    for cid, sid, subj, key, rep, ass, lvl, adm, mh, le, dfc, plan, mon, closed in cases:
        con.execute(
            "insert into btam_cases values (?, ?, ?, ?, ?, ?, 'staff', 'in_person', 'harm_to_others', "
            "'verbal_threat', ?, ?, ?, ?, ?, false, ?, ?, ?, ?, ?, 't')",
            [cid, Y, sid, subj, key, rep, ass, ass, lvl, adm, mh, le, dfc, plan, mon, closed],
        )
    for row in actions:
        con.execute("insert into case_actions values (?, ?, ?, ?, ?, 't')", list(row))
    for row in reviews:
        con.execute("insert into case_reviews values (?, ?, ?, ?, 't')", list(row))
    for aid, sid, key, day, typ, days in discipline:
        con.execute(
            "insert into discipline_actions values (?, ?, ?, ?, ?, ?, 'other', ?, ?, null, 't')",
            [aid, "I" + aid, Y, sid, key, day, typ, days],
        )
    return con


@pytest.fixture()
def con(tmp_path):
    c = build_warehouse(tmp_path / "w.duckdb")
    yield c
    c.close()


def _counts(con, **kw) -> dict[tuple, tuple[int, int]]:
    frame = mt.outcome_group_counts(con, **kw)
    return {
        (r["scope"], r["outcome"], r["dimension"], r["group"]): (r["n"], r["k"]) for r in frame.iter_rows(named=True)
    }


def test_student_outcomes_count_students_and_events_from_any_school(con):
    rows = {r["student_key"]: r for r in mt.student_year_outcomes(con).iter_rows(named=True)}
    s1, s2, s5 = rows["stu001"], rows["stu002"], rows["stu005"]
    assert s1["btam_referral"] and s1["oss_or_expulsion"] and s1["iss"] and s1["any_exclusionary"]
    assert s1["case_high_or_imminent"] and s1["case_exclusionary"] and not s1["case_placement_change"]
    # oss 9 + 3 = 12 days: more than 10, so gt10 and not le10; iss 2 days: le10
    assert (s1["idea_oss_exp_le10"], s1["idea_oss_exp_gt10"], s1["idea_iss_le10"]) == (False, True, True)
    assert s2["btam_referral"] and s2["case_law_enforcement"] and s2["school_id"] == "A"
    assert s2["idea_total_removals"] is None and s2["case_exclusionary"] is False
    assert s5["case_placement_change"] and s5["idea_iss_le10"] and not s5["case_high_or_imminent"]
    assert rows["stu003"]["case_high_or_imminent"] is None
    assert rows["stu004"]["law_enforcement"] and rows["stu006"]["oss_or_expulsion"]
    assert s1["race_x_disability"] == "bl:idea" and rows["stu003"]["disability_status"] == "section_504_only"


def test_group_counts_by_scope_outcome_and_group(con):
    c = _counts(con)
    assert c[("district", "btam_referral", "race_ethnicity", "bl")] == (2, 1)
    assert c[("district", "btam_referral", "race_ethnicity", "wh")] == (3, 1)
    assert c[("district", "btam_referral", "race_ethnicity", "hi")] == (1, 1)
    # school A's students; s2's case was recorded at B and still counts here
    assert c[("A", "btam_referral", "race_ethnicity", "wh")] == (1, 1)
    assert ("A", "btam_referral", "race_ethnicity", "hi") not in c  # n = 0: no row
    assert c[("district", "case_high_or_imminent", "race_ethnicity", "bl")] == (1, 1)
    assert c[("district", "case_high_or_imminent", "race_ethnicity", "wh")] == (1, 0)
    assert c[("district", "idea_iss_le10", "race_ethnicity", "hi")] == (1, 1)
    assert c[("district", "idea_oss_exp_gt10", "sex", "f")] == (2, 1)
    assert c[("district", "btam_referral", "race_x_disability", "bl:section_504_only")] == (1, 0)
    assert c[("district", "btam_referral", "english_learner", "y")] == (1, 1)
    assert c[("district", "any_exclusionary", "disability_status", "none")] == (3, 1)  # s2, s4, s6; s6 expelled
    assert not [k for k in c if k[1].startswith("idea_") and k[2] in ("disability_status", "race_x_disability")]


def test_group_counts_equal_the_student_rows(con):
    students = mt.student_year_outcomes(con)
    for outcome in ("btam_referral", "case_exclusionary", "idea_total_removals", "law_enforcement"):
        pop = students.filter(pl.col(outcome).is_not_null())
        expect = pop.group_by("race_ethnicity").agg(n=pl.len(), k=pl.col(outcome).sum())
        got = mt.outcome_group_counts(con).filter(scope="district", outcome=outcome, dimension="race_ethnicity")
        assert dict(zip(expect["race_ethnicity"], zip(expect["n"], expect["k"]))) == dict(
            zip(got["group"], zip(got["n"], got["k"]))
        )


def test_school_filter_leaves_out_the_district_unless_asked(con):
    only_b = mt.outcome_group_counts(con, school_ids=["B"])
    assert set(only_b["scope"]) == {"B"}
    both = mt.outcome_group_counts(con, school_ids=["B"], include_district=True)
    # the "district" of a school filter is that school's students only
    assert both.filter(scope="district", outcome="btam_referral", dimension="sex")["n"].sum() == 3
    district = mt.outcome_group_counts(con, include_schools=False)
    assert set(district["scope"]) == {"district"}


def test_case_timeline_first_action_and_censoring(con):
    t = {r["case_id"]: r for r in mt.case_timeline(con, AS_OF).iter_rows(named=True)}
    assert (t["C1"]["duration_days"], t["C1"]["event"]) == (2, True)
    assert (t["C2"]["duration_days"], t["C2"]["event"]) == (212, False)  # open: censored at the as-of date
    assert (t["C4"]["duration_days"], t["C4"]["event"]) == (2, False)  # closed without an action
    assert t["C4"]["race_ethnicity"] is None and t["C3"]["race_ethnicity"] == "hi"
    # as of 2024-11-15: C3..C5 not reported yet, C1's closing already happened, C2 open for 14 days
    early = {r["case_id"]: r for r in mt.case_timeline(con, date(2024, 11, 15)).iter_rows(named=True)}
    assert set(early) == {"C1", "C2"} and early["C2"]["duration_days"] == 14


def test_case_volumes_and_rates(con):
    v = mt.case_volumes(con)
    total = v.filter(scope="district", breakdown="total").row(0, named=True)
    assert (total["cases"], total["student_subjects"], total["enrolled"]) == (5, 3, 6)
    assert total["cases_per_1000"] == pytest.approx(1000 * 5 / 6)
    b = v.filter(scope="B", breakdown="total").row(0, named=True)
    assert (b["cases"], b["enrolled"]) == (4, 3)
    level = v.filter(scope="district", breakdown="school_level", category="high").row(0, named=True)
    assert (level["cases"], level["enrolled"]) == (4, 3)
    months = dict(v.filter(scope="district", breakdown="month").select("category", "cases").iter_rows())
    assert months == {"2024-10": 1, "2024-11": 1, "2025-01": 1, "2025-02": 1, "2025-03": 1}
    assert total["previous_cases"] is None  # no 2023-24 in the warehouse


def test_concern_level_counts(con):
    c = mt.concern_level_counts(con)
    assert dict(c.filter(scope="district", dimension="all").select("concern_level", "n").iter_rows()) == {
        "low": 2,
        "moderate": 1,
        "high": 1,
    }
    assert dict(
        c.filter(scope="district", dimension="school")
        .select("group", "n")
        .group_by("group")
        .agg(pl.col("n").sum())
        .iter_rows()
    ) == {"A": 1, "B": 3}
    assert c.filter(scope="district", dimension="race_ethnicity", group="bl")["n"].sum() == 2


def test_conditional_strata_are_group_against_all_others_within_level(con):
    s = mt.conditional_disparity_strata(con).filter(
        scope="district", outcome="case_exclusionary", dimension="race_ethnicity"
    )
    cells = {(r["group"], r["concern_level"]): (r["a"], r["b"], r["c"], r["d"]) for r in s.iter_rows(named=True)}
    assert cells[("bl", "high")] == (1, 0, 0, 0)
    assert cells[("bl", "low")] == (0, 1, 0, 1)  # C5 (s1, bl) against C2 (s2, wh)
    assert cells[("wh", "low")] == (0, 1, 0, 1)
    assert ("hi", "low") not in cells


def test_process_audit_numerators_and_denominators(con):
    a = run_query(
        con,
        "marts/fallback/process_audit_counts",
        as_of=AS_OF,
        review_within_days=30,
        school_years=None,
        school_ids=None,
        include_district=True,
        include_schools=True,
    )
    d = {
        (r["indicator"], r["concern_level"]): (r["numerator"], r["denominator"])
        for r in a.filter(scope="district").iter_rows(named=True)
    }
    assert d[("team_composition", None)] == (3, 4)
    assert d[("concern_level_recorded", None)] == (4, 4)
    assert d[("disability_factors_considered", None)] == (2, 3)
    assert d[("written_plan_moderate_plus", None)] == (1, 2)
    assert d[("formal_monitoring_moderate_plus", None)] == (2, 2)
    assert d[("review_within_window_moderate_plus", None)] == (1, 2)
    assert d[("law_enforcement_low_moderate", None)] == (1, 3)
    assert d[("exclusion_or_placement_change", "high")] == (1, 1)
    assert d[("exclusion_or_placement_change", "low")] == (0, 2)
    assert d[("exclusion_or_placement_change", "imminent")] == (0, 0)
    assert d[("suspended_while_case_open", None)] == (2, 3)
    b = {
        (r["indicator"], r["concern_level"]): (r["numerator"], r["denominator"])
        for r in a.filter(scope="B").iter_rows(named=True)
    }
    assert b[("suspended_while_case_open", None)] == (1, 3)  # s1's case at B had no suspension while open


def test_audit_indicator_names_match_metrics(con):
    from metrics.audit import AUDIT_INDICATORS

    audit = mt.process_audit(con, AS_OF)
    assert set(audit["indicator"]) == {i.key for i in AUDIT_INDICATORS}


def test_latest_activity_date_and_school_years(con):
    assert mt.latest_activity_date(con) == date(2025, 4, 1)  # D6, the last discipline incident
    assert mt.school_years(con) == [Y]


def test_empty_warehouse_gives_empty_tables(tmp_path):
    c = build_warehouse(
        tmp_path / "e.duckdb", enrollment=[], cases=[], actions=[], reviews=[], discipline=[], schools=[]
    )
    assert mt.latest_activity_date(c) is None
    assert mt.outcome_group_counts(c).height == 0
    assert mt.disproportionality(c).height == 0
    assert mt.time_to_intervention(c).height == 0
    assert mt.process_audit(c).height == 0
    c.close()
