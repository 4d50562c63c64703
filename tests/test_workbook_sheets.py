"""Workbooks: the sheet is chosen explicitly (--sheet, the profile, or the one sheet named after the entity),
never the first by accident, and the ledger records the sheet, the profile and the as-of date of each load."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.loader import EXIT_OK, EXIT_UNREADABLE, load_files
from pipelines.profiles import ProfileError, load_profile
from tests.test_bad_inputs import AS_OF_DATE, action, action_rows_table, xlsx_bytes
from tests.test_bad_inputs import base_warehouse as base_warehouse  # noqa: F401  (the shared fixture)

REPO = Path(__file__).resolve().parent.parent
TWO_TABLES = {
    "Summary": [["Exported by the case system"], ["Rows", 3]],
    "Actions 2024": action_rows_table([action("W1"), action("W2")]),
    "Actions 2023": action_rows_table([action("W3")]),
}


def _copy(base: Path, tmp_path: Path) -> Path:
    db = tmp_path / "w.duckdb"
    shutil.copyfile(base, db)
    return db


def _book(tmp_path: Path, name: str = "vendor_export.xlsx") -> Path:
    path = tmp_path / "in" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(xlsx_bytes(TWO_TABLES))
    return path


def _rows(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_several_sheets_with_data_and_no_choice_stop_the_load_naming_them(base_warehouse, tmp_path):  # noqa: F811
    db = _copy(base_warehouse, tmp_path)
    before = _digest(db)
    result = load_files(db, [_book(tmp_path)], as_of=AS_OF_DATE, entity="case_actions")
    assert result.exit_code == EXIT_UNREADABLE
    assert "'Summary', 'Actions 2024', 'Actions 2023'" in result.error
    assert "--sheet" in result.error and "entities.<entity>.sheet" in result.error
    assert _digest(db) == before


def test_the_sheet_given_is_read_and_recorded_with_profile_and_as_of(base_warehouse, tmp_path):  # noqa: F811
    db = _copy(base_warehouse, tmp_path)
    book = _book(tmp_path)
    result = load_files(db, [book], as_of=date(2025, 5, 30), entity="case_actions", sheet="actions 2023")
    assert result.exit_code == EXIT_OK, result.error
    assert _rows(db, "select action_id from case_actions where action_id like 'W%' order by 1") == [("W3",)]
    ledger = _rows(
        db, f"select file_name, sheet, profile, as_of_date from load_ledger where load_id = '{result.load_id}'"
    )
    assert ledger == [("vendor_export.xlsx", "Actions 2023", "interchange", date(2025, 5, 30))]
    # another sheet of the same workbook is another source, not "unchanged"
    again = load_files(db, [book], as_of=date(2025, 5, 30), entity="case_actions", sheet="Actions 2024")
    assert again.exit_code == EXIT_OK and again.files[0].status == "loaded", again.error
    assert _rows(db, "select count(*) from case_actions where action_id like 'W%'") == [(3,)]
    # the same sheet again is unchanged
    same = load_files(db, [book], as_of=date(2025, 5, 30), entity="case_actions", sheet="Actions 2024")
    assert same.files[0].status == "unchanged"


def test_a_sheet_that_does_not_exist_lists_the_real_ones(base_warehouse, tmp_path):  # noqa: F811
    db = _copy(base_warehouse, tmp_path)
    result = load_files(db, [_book(tmp_path)], as_of=AS_OF_DATE, entity="case_actions", sheet="Actions 2025")
    assert result.exit_code == EXIT_UNREADABLE
    assert "no sheet named 'Actions 2025'" in result.error and "'Actions 2024'" in result.error


def test_the_profile_names_the_sheet(base_warehouse, tmp_path):  # noqa: F811
    db = _copy(base_warehouse, tmp_path)
    profile = tmp_path / "vendor.json"
    profile.write_text(json.dumps({"name": "vendor", "entities": {"case_actions": {"sheet": "Actions 2024"}}}))
    result = load_files(db, [_book(tmp_path)], str(profile), as_of=AS_OF_DATE, entity="case_actions")
    assert result.exit_code == EXIT_OK, result.error
    assert _rows(db, f"select sheet, profile from load_ledger where load_id = '{result.load_id}'") == [
        ("Actions 2024", "vendor")
    ]
    assert _rows(db, "select count(*) from case_actions where action_id in ('W1', 'W2')") == [(2,)]


def test_a_profile_sheet_must_be_text(tmp_path):
    profile = tmp_path / "bad.json"
    profile.write_text(json.dumps({"entities": {"case_actions": {"sheet": 3}}}))
    with pytest.raises(ProfileError, match="case_actions.sheet"):
        load_profile(str(profile))


def test_csv_loads_record_no_sheet_and_the_profile(base_warehouse, tmp_path):  # noqa: F811
    db = _copy(base_warehouse, tmp_path)
    path = tmp_path / "case_actions.csv"
    path.write_text("action_id,case_id,action_date,action_type\nW9,CASE1,2024-10-03,counseling\n")
    result = load_files(db, [path], as_of=AS_OF_DATE)
    assert result.exit_code == EXIT_OK, result.error
    assert _rows(db, f"select sheet, profile, as_of_date from load_ledger where load_id = '{result.load_id}'") == [
        (None, "interchange", AS_OF_DATE)
    ]


def test_a_warehouse_from_before_the_sheet_column_gains_it_on_the_next_load(base_warehouse, tmp_path):  # noqa: F811
    db = _copy(base_warehouse, tmp_path)
    con = duckdb.connect(str(db))
    try:
        con.execute("alter table load_ledger drop column sheet")
        con.execute("checkpoint")
    finally:
        con.close()
    result = load_files(db, [_book(tmp_path)], as_of=AS_OF_DATE, entity="case_actions", sheet="Actions 2023")
    assert result.exit_code == EXIT_OK, result.error
    columns = [r[0] for r in _rows(db, "describe load_ledger")]
    assert columns[-1] == "sheet" and columns[:9] == [
        "load_id",
        "file_name",
        "sha256",
        "entity",
        "rows_read",
        "rows_loaded",
        "rows_quarantined",
        "status",
        "loaded_at",
    ]


def test_the_command_line_takes_sheet(base_warehouse, tmp_path):  # noqa: F811
    db = _copy(base_warehouse, tmp_path)
    book = _book(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "pipelines", "load", str(book), "--db", str(db), "--entity", "case_actions"]
        + ["--sheet", "Actions 2024", "--as-of", AS_OF_DATE.isoformat(), "--quiet"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "vendor_export.xlsx, sheet 'Actions 2024' (case_actions): read 2" in done.stdout
