"""One strict parser (data_contracts/values.py) for the contract and the typed load (issue 18 item 2), and
nothing identifying kept or readable by others (issue 18 item 1: quarantined rows keep mapped columns only,
the warehouse file is the owner's alone).

Each load case loads one file built by code on top of the small valid district of tests/interchange_files.py
and asserts the rows stored or quarantined, the rule, and that no file is left behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from datetime import date
from pathlib import Path

import duckdb
import pytest

from data_contracts import values
from data_contracts.build_suites import suite_for
from data_contracts.interchange import ENTITIES, SCHOOL_YEAR_PATTERN, STUDENT_KEY_PATTERN
from pipelines import contracts
from pipelines.loader import EXIT_OK, load_files
from tests.interchange_files import AS_OF, valid_rows, write_district, write_entity

AS_OF_DATE = date.fromisoformat(AS_OF)


# ----------------------------------------------------------------------------------------------- the parser


@pytest.mark.parametrize(
    "text, parsed",
    [
        ("2024-25", "2024-25"),
        ("1999-00", "1999-00"),
        ("2099-00", "2099-00"),
        ("2024-26", None),
        ("2024-24", None),
        ("2024-99", None),
        ("2024-25\n", None),
        (" 2024-25", None),
        ("2024-2025", None),
        ("24-25", None),
        (None, None),
    ],
)
def test_school_years_are_checked_with_their_arithmetic(text, parsed):
    assert values.parse_school_year(text) == parsed
    matches = text is not None and re.search(values.SCHOOL_YEAR_PATTERN, text) is not None
    assert matches == (parsed is not None)


@pytest.mark.parametrize(
    "text, parsed",
    [
        ("2024-10-03", date(2024, 10, 3)),
        ("2024-02-29", date(2024, 2, 29)),
        ("2024-10- 3", None),
        ("2024-1-3", None),
        ("2024-10-03\n", None),
        ("2024-02-30", None),
        ("20241003", None),
        ("2024-10-03T00:00", None),
        ("+2024-10-03", None),
    ],
)
def test_dates_are_strictly_iso(text, parsed):
    assert values.parse_iso_date(text) == parsed


@pytest.mark.parametrize(
    "text, ok",
    [
        ("stu0001", True),
        ("A" * 64, True),
        ("stu0001\n", False),
        ("stu\u200b0001", False),
        ("stu01", False),
        ("stu 0001", False),
        ("A" * 65, False),
    ],
)
def test_student_keys_are_matched_whole(text, ok):
    assert (values.parse_student_key(text) is not None) == ok
    assert (re.search(values.STUDENT_KEY_PATTERN, text) is not None) == ok


@pytest.mark.parametrize(
    "text, parsed",
    [("3", 3.0), ("-0.5", -0.5), ("365.25", 365.25), ("1.234", None), ("12345", None), ("1e3", None), ("3\n", None)],
)
def test_numbers_are_what_decimal_6_2_stores_unchanged(text, parsed):
    assert values.parse_number(text) == parsed


def test_the_re2_and_rust_form_is_as_strict_for_duckdb_and_polars():
    """interchange's patterns (for DuckDB and polars, where $ is the end of the text) agree with the parser."""
    import polars as pl

    texts = ["2024-25", "2024-26", "2024-25\n", "stu0001", "stu0001\n"]
    year = pl.Series(texts).str.contains(SCHOOL_YEAR_PATTERN).to_list()
    key = pl.Series(texts).str.contains(STUDENT_KEY_PATTERN).to_list()
    assert year == [values.parse_school_year(t) is not None for t in texts] == [True, False, False, False, False]
    assert key == [values.parse_student_key(t) is not None for t in texts] == [True, True, False, True, False]
    con = duckdb.connect()
    assert [
        con.execute(f"select {values.sql_full_match('?', values.ISO_DATE_BODY)}", [t]).fetchone()[0]
        for t in ("2024-10-03", "2024-10- 3", "2024-10-03\n")
    ] == [True, False, False]


def test_the_suites_regexes_are_the_parsers_strings():
    for entity in ENTITIES.values():
        for expectation in suite_for(entity)["expectations"]:
            if expectation["type"] != "expect_column_values_to_match_regex":
                continue
            column, rule = expectation["kwargs"]["column"], expectation["meta"]["rule"]
            wanted = (
                values.PATTERNS.get(column)
                or {"date": values.ISO_DATE_PATTERN, "number": values.NUMBER_PATTERN}[rule.split(":")[0]]
            )
            assert expectation["kwargs"]["regex"] == wanted, (entity.name, column)
    dates = [
        e
        for e in suite_for(ENTITIES["case_actions"])["expectations"]
        if e["kwargs"]["column"] == "action_date" and e["type"] == "expect_column_values_to_match_regex"
    ]
    assert len(dates) == 1


def test_a_suite_whose_regex_differs_from_the_parser_is_refused(monkeypatch, tmp_path):
    suite = suite_for(ENTITIES["enrollment"])
    for expectation in suite["expectations"]:
        if expectation["kwargs"]["column"] == "school_year" and "regex" in expectation["kwargs"]:
            expectation["kwargs"]["regex"] = r"^[0-9]{4}-[0-9]{2}$"
    (tmp_path / "enrollment.json").write_text(json.dumps(suite))
    monkeypatch.setattr(contracts, "SUITES_DIR", tmp_path)
    with pytest.raises(contracts.ContractError, match="school_year.*build_suites"):
        contracts.load_suite_json("enrollment")


def test_great_expectations_rejects_a_value_followed_by_a_newline():
    found = contracts.validate_values(
        "enrollment",
        {"school_year": ["2024-25", "2024-25\n", "2024-26"], "student_key": ["stu0001", "stu0001\n", "stu0002"]},
    )
    assert sorted((v.rule, v.value) for v in found) == [
        ("format:school_year", "2024-25\n"),
        ("format:school_year", "2024-26"),
        ("format:student_key", "stu0001\n"),
    ]


# ----------------------------------------------------------------------------------------------- the load


@pytest.fixture(scope="module")
def base_warehouse(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("strict-base")
    write_district(folder / "district")
    result = load_files(folder / "base.duckdb", [folder / "district"], as_of=AS_OF_DATE)
    assert result.exit_code == EXIT_OK, result.error
    return folder / "base.duckdb"


@pytest.fixture
def warehouse(base_warehouse, tmp_path, monkeypatch) -> Path:
    """A copy of the base warehouse alone in its folder, and a temp dir of its own (both checked empty after)."""
    folder = tmp_path / "warehouse"
    folder.mkdir()
    shutil.copyfile(base_warehouse, folder / "btam.duckdb")
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return folder / "btam.duckdb"


def _load_one(warehouse: Path, entity: str, rows: list[dict[str, str]], tmp_path: Path):
    path = write_entity(tmp_path / "in", entity, rows)
    result = load_files(warehouse, [path], as_of=AS_OF_DATE)
    # the versions folder holds the previous versions the loader keeps for rollback (pipelines/versions.py)
    versions = f".{warehouse.name}.versions"
    leftovers = sorted(p.name for p in warehouse.parent.iterdir() if p.name != versions)
    leftovers += sorted(os.listdir(tempfile.gettempdir()))
    assert leftovers == [warehouse.name, warehouse.name + ".lock"]
    return result


def _query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def _student(key: str, **changes: str) -> dict[str, str]:
    row = next(r for r in valid_rows()["enrollment"] if r["student_key"] == "stu0001")
    return row | {"student_key": key} | changes


def test_school_years_off_by_their_arithmetic_or_with_a_newline_are_quarantined(warehouse, tmp_path):
    rows = [
        _student("stu0101"),
        _student("stu0102", school_year="2024-26"),
        _student("stu0103", school_year="2024-24"),
        _student("stu0104", school_year="2024-99"),
        _student("stu0105", school_year="2024-25\n"),
    ]
    result = _load_one(warehouse, "enrollment", rows, tmp_path)
    assert result.exit_code == EXIT_OK, result.error
    assert (result.files[0].rows_read, result.files[0].rows_loaded, result.files[0].rows_quarantined) == (5, 1, 4)
    assert _query(warehouse, "select row_number, rule from load_quarantine order by row_number") == [
        (2, "format:school_year"),
        (3, "format:school_year"),
        (4, "format:school_year"),
        (5, "format:school_year"),
    ]
    assert _query(warehouse, "select student_key, school_year from enrollment where student_key like 'stu01%'") == [
        ("stu0101", "2024-25")
    ]


def test_student_keys_with_a_newline_or_a_zero_width_character_are_not_new_keys(warehouse, tmp_path):
    rows = [_student("stu0001\n"), _student("stu\u200b0001"), _student("stu0201")]
    result = _load_one(warehouse, "enrollment", rows, tmp_path)
    assert result.files[0].rows_quarantined == 2
    assert _query(warehouse, "select row_number, rule from load_quarantine order by row_number") == [
        (1, "format:student_key"),
        (2, "format:student_key"),
    ]
    assert _query(warehouse, "select count(*) from enrollment where student_key like 'stu%0001%'") == [(1,)]


def test_dates_not_strictly_iso_are_quarantined_in_required_and_optional_columns(warehouse, tmp_path):
    actions = [
        {"action_id": f"ACT9{i}", "case_id": "CASE1", "action_date": d, "action_type": "counseling"}
        for i, d in enumerate(["2024-10-03", "2024-10- 3", "2024-1-3", "2024-10-03\n"])
    ]
    result = _load_one(warehouse, "case_actions", actions, tmp_path)
    assert (result.files[0].rows_loaded, result.files[0].rows_quarantined) == (1, 3)
    assert _query(warehouse, "select rule, count(*) from load_quarantine group by rule") == [("date:action_date", 3)]
    assert _query(warehouse, "select action_date from case_actions where action_id = 'ACT90'") == [(date(2024, 10, 3),)]


def test_an_optional_value_the_warehouse_cannot_store_is_quarantined_never_stored_as_null(warehouse, tmp_path):
    base = next(r for r in valid_rows()["btam_cases"] if r["case_id"] == "CASE1")
    cases = [
        base | {"case_id": "CASE91", "screened_date": "2024-10- 1"},
        base | {"case_id": "CASE92", "closed_date": "2024-1-30"},
    ]
    result = _load_one(warehouse, "btam_cases", cases, tmp_path)
    assert result.files[0].rows_quarantined == 2
    assert sorted(r[0] for r in _query(warehouse, "select rule from load_quarantine")) == [
        "date:closed_date",
        "date:screened_date",
    ]
    assert _query(warehouse, "select count(*) from btam_cases where case_id like 'CASE9%'") == [(0,)]


def test_a_number_decimal_6_2_would_round_is_quarantined_not_rounded(warehouse, tmp_path):
    row = {
        "action_id": "DIS9",
        "incident_id": "INC9",
        "school_year": "2024-25",
        "school_id": "SCH1",
        "student_key": "stu0003",
        "incident_date": "2024-11-06",
        "behavior": "defiance",
        "action_type": "iss",
        "related_case_id": "",
    }
    result = _load_one(
        warehouse,
        "discipline_actions",
        [row | {"days_removed": "1.234"}, row | {"action_id": "DIS8", "days_removed": "1.5"}],
        tmp_path,
    )
    assert result.files[0].rows_quarantined == 1
    assert _query(warehouse, "select rule from load_quarantine") == [("number:days_removed",)]
    assert _query(
        warehouse,
        "select action_id, days_removed::varchar from discipline_actions "
        "where action_id like 'DIS_' and action_id > 'DIS7'",
    ) == [("DIS8", "1.50")]


def test_a_quarantined_row_keeps_only_its_mapped_columns(warehouse, tmp_path):
    actions = [
        {
            "action_id": "ACT99",
            "case_id": "CASE1",
            "action_date": "2024-10- 3",
            "action_type": "counseling",
            "batch_code": "B7731QQ",
        }
    ]
    result = _load_one(warehouse, "case_actions", actions, tmp_path)
    assert result.exit_code == EXIT_OK, result.error
    assert result.files[0].ignored_columns == ["batch_code"]
    [(raw_row,)] = _query(warehouse, "select raw_row from load_quarantine")
    assert json.loads(raw_row) == {
        "action_id": "ACT99",
        "case_id": "CASE1",
        "action_date": "2024-10- 3",
        "action_type": "counseling",
    }
    with open(warehouse, "rb") as fh:
        assert b"B7731QQ" not in fh.read()


def test_the_warehouse_file_is_the_owners_alone(warehouse, tmp_path):
    os.chmod(warehouse, 0o644)  # a version written before this rule
    before = os.umask(0o022)
    try:
        result = _load_one(
            warehouse,
            "case_actions",
            [{"action_id": "ACT98", "case_id": "CASE1", "action_date": "2024-10-04", "action_type": "counseling"}],
            tmp_path,
        )
        assert os.umask(0o022) == 0o022  # the load put the process's umask back
    finally:
        os.umask(before)
    assert result.published
    assert oct(os.stat(warehouse).st_mode & 0o777) == "0o600"
