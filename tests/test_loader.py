"""The loader's guarantees (spec: "What a load guarantees"), on a small district built by code."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from data_contracts.interchange import ENTITIES
from pipelines.contracts import SUITES_DIR
from pipelines.loader import EXIT_REFUSED, EXIT_UNREADABLE, load_files
from tests.interchange_files import AS_OF, valid_rows, write_district, write_entity

AS_OF_DATE = date.fromisoformat(AS_OF)


def load(db: Path, *paths: Path, **kwargs):
    return load_files(db, list(paths), as_of=AS_OF_DATE, **kwargs)


def query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_valid_district_loads_every_row(tmp_path):
    db = tmp_path / "w.duckdb"
    result = load(db, write_district(tmp_path / "in"))
    assert result.exit_code == 0, result.error
    rows = valid_rows()
    for entity in ENTITIES:
        assert query(db, f"select count(*) from {entity}")[0][0] == len(rows[entity]), entity
    assert query(db, "select count(*) from load_quarantine")[0][0] == 0
    ledger = query(db, "select entity, rows_read, rows_loaded, rows_quarantined from load_ledger")
    assert {r[0] for r in ledger} == set(ENTITIES)
    assert all(read == loaded + quarantined for _, read, loaded, quarantined in ledger)


def test_derived_columns_are_stored(tmp_path):
    db = tmp_path / "w.duckdb"
    load(db, write_district(tmp_path / "in"))
    status = dict(query(db, "select student_key, disability_status from enrollment"))
    assert status["stu0001"] == "idea" and status["stu0002"] == "section_504_only" and status["stu0003"] == "none"
    categories = dict(query(db, "select action_id, action_category from case_actions"))
    assert categories == {"ACT1": "support", "ACT2": "support", "ACT3": "exclusionary"}


def _suite_cases() -> list[tuple[str, str, str, str]]:
    """(entity, column, bad value, rule) for every expectation of every suite."""
    bad_value = {"required": "", "code": "zzz", "bool": "maybe", "date": "2025-02-30", "number": "ten", "range": "400"}
    cases = []
    for path in sorted(SUITES_DIR.glob("*.json")):
        for expectation in json.loads(path.read_text())["expectations"]:
            rule = expectation["meta"]["rule"]
            kind, column = rule.split(":")
            value = {"format:student_key": "ab", "format:school_year": "2024"}.get(rule, bad_value.get(kind))
            cases.append((path.stem, column, value, rule))
    return cases


def _break_one(rows: dict, entity: str, column: str, value: str) -> int:
    """Put `value` into the last row of the entity (a row no other row depends on); its 1-based row number."""
    target = rows[entity][-1]
    if entity == "btam_cases":  # CASE3 (staff subject) has no children
        target = next(r for r in rows[entity] if r["case_id"] == "CASE3")
    if entity == "discipline_actions" and column == "days_removed":
        target = rows[entity][0]  # an oss row, which needs days
    if entity == "enrollment":
        target = next(r for r in rows[entity] if r["student_key"] == "stu0008")  # no case or discipline
    if entity == "schools":
        rows[entity].append({"school_id": "SCH9", "school_name": "Spare", "school_level": "other"})
        target = rows[entity][-1]
    target[column] = value
    return rows[entity].index(target) + 1


@pytest.mark.parametrize("entity, column, value, rule", _suite_cases(), ids=[f"{c[0]}-{c[3]}" for c in _suite_cases()])
def test_every_column_rule_quarantines_its_violating_row(tmp_path, entity, column, value, rule):
    rows = valid_rows()
    row_number = _break_one(rows, entity, column, value)
    db = tmp_path / "w.duckdb"
    result = load(db, write_district(tmp_path / "in", rows))
    assert result.exit_code == 0, result.error
    quarantined = query(db, f"select row_number, rule from load_quarantine where entity = '{entity}'")
    assert quarantined == [(row_number, rule)]


ROW_RULES = [
    # (entity, match column, match value, {column: new value}, rule)
    ("enrollment", "student_key", "stu0008", {"idea": "Y", "idea_disability": ""}, "required_if:idea_disability"),
    ("enrollment", "student_key", "stu0008", {"idea_disability": "sld"}, "blank_unless:idea_disability"),
    ("enrollment", "student_key", "stu0008", {"school_id": "NOPE"}, "unknown_school"),
    ("btam_cases", "case_id", "CASE3", {"subject_type": "student"}, "required_if:student_key"),
    ("btam_cases", "case_id", "CASE3", {"assessed_date": "2025-03-04"}, "required_if:concern_level"),
    ("btam_cases", "case_id", "CASE3", {"screened_date": "2025-03-01"}, "date_order:screened_date"),
    (
        "btam_cases",
        "case_id",
        "CASE3",
        {"screened_date": "2025-03-04", "assessed_date": "2025-03-03", "concern_level": "low"},
        "date_order:assessed_date",
    ),
    ("btam_cases", "case_id", "CASE3", {"plan_written_date": "2025-03-01"}, "date_order:plan_written_date"),
    ("btam_cases", "case_id", "CASE3", {"closed_date": "2025-03-01"}, "date_order:closed_date"),
    (
        "btam_cases",
        "case_id",
        "CASE3",
        {"reported_date": "2024-05-01", "closed_date": ""},
        "in_school_year:reported_date",
    ),
    ("btam_cases", "case_id", "CASE3", {"reported_date": "2025-06-10", "closed_date": ""}, "after_as_of:reported_date"),
    ("btam_cases", "case_id", "CASE3", {"school_id": "NOPE"}, "unknown_school"),
    ("btam_cases", "case_id", "CASE3", {"subject_type": "student", "student_key": "stu0999"}, "not_enrolled"),
    ("btam_cases", "case_id", "CASE3", {"screened_date": "2099-03-04"}, "after_as_of:screened_date"),
    ("btam_cases", "case_id", "CASE3", {"closed_date": "2099-01-01"}, "after_as_of:closed_date"),
    ("btam_cases", "case_id", "CASE3", {"plan_written_date": "9999-12-31"}, "after_as_of:plan_written_date"),
    (
        "btam_cases",
        "case_id",
        "CASE3",
        {"screened_date": "2025-03-04", "assessed_date": "2031-03-03", "concern_level": "low"},
        "after_as_of:assessed_date",
    ),
    ("case_reviews", "review_id", "REV1", {"review_date": "9999-12-31"}, "after_as_of:review_date"),
    ("case_actions", "action_id", "ACT1", {"action_date": "2024-09-30"}, "date_order:action_date"),
    ("case_actions", "action_id", "ACT1", {"action_date": "2025-06-02"}, "after_as_of:action_date"),
    ("case_actions", "action_id", "ACT1", {"case_id": "CASE404"}, "unknown_case"),
    ("case_reviews", "review_id", "REV1", {"review_date": "2025-01-01"}, "date_order:review_date"),
    ("case_reviews", "review_id", "REV1", {"case_id": "CASE404"}, "unknown_case"),
    ("discipline_actions", "action_id", "DIS1", {"days_removed": "0"}, "positive:days_removed"),
    ("discipline_actions", "action_id", "DIS2", {"incident_date": "2024-06-15"}, "in_school_year:incident_date"),
    ("discipline_actions", "action_id", "DIS2", {"incident_date": "2025-06-02"}, "after_as_of:incident_date"),
    ("discipline_actions", "action_id", "DIS2", {"school_id": "NOPE"}, "unknown_school"),
    ("discipline_actions", "action_id", "DIS2", {"student_key": "stu0999"}, "not_enrolled"),
    ("discipline_actions", "action_id", "DIS2", {"related_case_id": "CASE404"}, "unknown_case"),
    ("case_actions", "action_id", "ACT2", {"action_id": "ACT1"}, "duplicate_key"),
]


@pytest.mark.parametrize("entity, key, key_value, changes, rule", ROW_RULES, ids=[f"{r[0]}-{r[4]}" for r in ROW_RULES])
def test_every_row_and_cross_table_rule_quarantines_its_violating_row(tmp_path, entity, key, key_value, changes, rule):
    rows = valid_rows()
    target = next(r for r in rows[entity] if r[key] == key_value)
    target.update(changes)
    db = tmp_path / "w.duckdb"
    result = load(db, write_district(tmp_path / "in", rows))
    assert result.exit_code == 0, result.error
    quarantined = query(db, f"select row_number, rule from load_quarantine where entity = '{entity}'")
    expected_rows = [i + 1 for i, r in enumerate(rows[entity]) if r[key] == target[key]]
    assert sorted(quarantined) == [(n, rule) for n in expected_rows]


def test_row_rules_cover_every_rule_in_the_sql_contracts():
    sql_rules = set()
    for path in (Path(__file__).parent.parent / "sql" / "contracts").glob("*.sql"):
        import re

        sql_rules |= set(
            re.findall(
                r"'((?:required_if|blank_unless|date_order|in_school_year|after_as_of|"
                r"positive|unknown_school|not_enrolled|unknown_case)[a-z_:]*)'",
                path.read_text(),
            )
        )
    assert sql_rules == {r[4] for r in ROW_RULES} - {"duplicate_key"}


def test_file_with_an_identifier_column_is_refused_and_nothing_is_stored(tmp_path):
    db = tmp_path / "w.duckdb"
    load(db, write_district(tmp_path / "first"))
    before = file_digest(db)
    rows = valid_rows()["enrollment"]
    for r in rows:
        r["Student Name"] = "Alex Example"
    path = write_entity(tmp_path / "pii", "enrollment", rows, "enrollment_2025.csv")
    result = load(db, path)
    assert result.exit_code == EXIT_REFUSED
    assert "Student Name" in result.error and "Alex" not in result.error
    assert file_digest(db) == before
    assert query(db, "select count(*) from load_ledger where file_name = 'enrollment_2025.csv'")[0][0] == 0
    assert query(db, "select count(*) from load_quarantine where raw_row like '%Alex%'")[0][0] == 0


@pytest.mark.parametrize(
    "column, value, kind",
    [
        ("behavior", "jo.doe@example.org", "e-mail"),
        ("report_channel", "555-201-3344", "phone"),
        ("student_key", "123-45-6789", "SSN"),
    ],
)
def test_identifier_shaped_values_refuse_the_file_naming_column_and_row_only(tmp_path, column, value, kind):
    db = tmp_path / "w.duckdb"
    rows = valid_rows()
    rows["btam_cases"][1][column] = value
    result = load(db, write_district(tmp_path / "in", rows))
    assert result.exit_code == EXIT_REFUSED
    assert f"'{column}'" in result.error and "row(s) 2" in result.error and kind in result.error
    assert value not in result.error
    assert not db.exists()


def test_reloading_the_same_file_changes_nothing(tmp_path):
    db = tmp_path / "w.duckdb"
    folder = write_district(tmp_path / "in")
    load(db, folder)
    before = file_digest(db)
    again = load(db, folder)
    assert again.exit_code == 0 and not again.published
    assert {f.status for f in again.files} == {"unchanged"}
    assert file_digest(db) == before


def test_a_later_file_replaces_rows_by_key(tmp_path):
    db = tmp_path / "w.duckdb"
    load(db, write_district(tmp_path / "in"))
    update = [
        {"action_id": "ACT1", "case_id": "CASE1", "action_date": "2024-10-05", "action_type": "restorative"},
        {"action_id": "ACT9", "case_id": "CASE1", "action_date": "2024-10-06", "action_type": "counseling"},
    ]
    result = load(db, write_entity(tmp_path / "upd", "case_actions", update, "case_actions_update.csv"))
    assert result.exit_code == 0
    assert query(db, "select action_id, action_type, cast(action_date as varchar) from case_actions order by 1") == [
        ("ACT1", "restorative", "2024-10-05"),
        ("ACT2", "safety_plan", "2025-01-16"),
        ("ACT3", "out_of_school_suspension", "2025-01-20"),
        ("ACT9", "counseling", "2024-10-06"),
    ]


def test_files_are_processed_parents_first_whatever_the_order_given(tmp_path):
    folder = write_district(tmp_path / "in")
    db = tmp_path / "w.duckdb"
    order = ["discipline_actions", "case_reviews", "case_actions", "btam_cases", "enrollment", "schools"]
    result = load(db, *[folder / f"{e}.csv" for e in order])
    assert result.exit_code == 0
    assert query(db, "select count(*) from load_quarantine")[0][0] == 0


def test_unreadable_file_leaves_the_warehouse_unchanged(tmp_path):
    db = tmp_path / "w.duckdb"
    load(db, write_district(tmp_path / "in"))
    before = file_digest(db)
    bad = tmp_path / "bad" / "case_actions.csv"
    bad.parent.mkdir()
    bad.write_text('action_id,case_id,action_date,action_type\nA,"CASE1,2024-10-03,counseling\n')
    result = load(db, bad)
    assert result.exit_code == EXIT_UNREADABLE
    assert "case_actions.csv" in result.error and "line 2 of the file" in result.error
    assert file_digest(db) == before


def test_missing_required_column_is_named(tmp_path):
    bad = tmp_path / "schools.csv"
    bad.write_text("school_id,school_name\nS1,North\n")
    result = load(tmp_path / "w.duckdb", bad)
    assert result.exit_code == EXIT_UNREADABLE
    assert "school_level" in result.error and "schools.csv" in result.error


def test_columns_outside_the_entity_are_not_stored_but_noted(tmp_path):
    rows = valid_rows()
    for r in rows["schools"]:
        r["building_code"] = "12"
        r["region"] = "north"
    db = tmp_path / "w.duckdb"
    result = load(db, write_district(tmp_path / "in", rows))
    assert result.exit_code == 0, result.error
    ignored = query(db, "select ignored_columns from load_ledger where entity = 'schools'")[0][0]
    assert ignored == "building_code, region"
    columns = {
        r[0] for r in query(db, "select column_name from information_schema.columns where table_name = 'schools'")
    }
    assert "region" not in columns


def test_synthetic_and_real_data_never_share_a_warehouse(tmp_path):
    db = tmp_path / "w.duckdb"
    load(db, write_district(tmp_path / "in"), synthetic=True)
    rows = valid_rows()
    rows["schools"][0]["school_name"] = "Renamed"
    result = load(db, write_entity(tmp_path / "real", "schools", rows["schools"]))
    assert result.exit_code != 0 and "synthetic" in result.error
