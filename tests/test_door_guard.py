"""The door guard beyond the interchange columns (issue 18 item 1): identifier headers however they are
spelled, unmapped columns of names or narratives, keys shaped like an SSN, a date or a name, a file without a
header row, and no working copy of a file left behind on success, refusal or SIGTERM. Every value below is
made up for the test."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from access import audit_log
from pipelines.loader import EXIT_OK, EXIT_REFUSED, EXIT_UNREADABLE, load_files
from pipelines.profiles import ProfileError, load_profile
from tests.interchange_files import AS_OF, valid_rows, write_district, write_entity

REPO = Path(__file__).resolve().parent.parent
MADE_UP_NAMES = [
    "Alex Example",
    "Robin Sample",
    "Casey Placeholder",
    "Jordan Testcase",
    "Morgan Fixture",
    "Riley Dummy",
    "Taylor Mock",
    "Lopez, Jamie",
]


def _load(db: Path, *paths: Path, **kwargs):
    from datetime import date

    return load_files(db, list(paths), as_of=date.fromisoformat(AS_OF), **kwargs)


def _rows(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


@pytest.fixture()
def district(tmp_path) -> Path:
    db = tmp_path / "w.duckdb"
    assert _load(db, write_district(tmp_path / "first")).exit_code == EXIT_OK
    return db


def _enrollment_with(tmp_path: Path, column: str, values: list[str], name: str = "enrollment_2025.csv") -> Path:
    rows = valid_rows()["enrollment"]
    for row, value in zip(rows, values * len(rows)):
        row[column] = value
    return write_entity(tmp_path / "in", "enrollment", rows, name)


@pytest.mark.parametrize(
    "header",
    [
        "fname",
        "lname",
        "studentname",
        "bday",
        "soc_sec_no",
        "guardian",
        "Stu\u200bdent Na\u200bme",
        "school_student_name",
    ],
)
def test_identifier_headers_however_spelled_refuse_the_file(district, tmp_path, header):
    result = _load(district, _enrollment_with(tmp_path, header, ["x"]))
    assert result.exit_code == EXIT_REFUSED, result.error
    assert repr(header) in result.error and "drop" in result.error


@pytest.mark.parametrize("header", ["school name", "team notes", "Record Status", "filename"])
def test_organisation_and_ordinary_headers_pass(district, tmp_path, header):
    result = _load(district, _enrollment_with(tmp_path, header, ["Open", "Closed"]))
    assert result.exit_code == EXIT_OK, result.error


def test_an_unmapped_column_of_names_refuses_the_file_naming_rows_not_values(district, tmp_path):
    result = _load(district, _enrollment_with(tmp_path, "Student", MADE_UP_NAMES))
    assert result.exit_code == EXIT_REFUSED
    assert "column 'Student' holds what look like people's names in row(s) 1, 2" in result.error
    assert "entities.enrollment.drop" in result.error
    assert not any(name.split(",")[0].split()[0] in result.error for name in MADE_UP_NAMES)


def test_a_repeated_category_in_an_unmapped_column_is_not_a_name(district, tmp_path):
    result = _load(district, _enrollment_with(tmp_path, "Referral Source", ["Teacher Report", "Parent Call"]))
    assert result.exit_code == EXIT_OK, result.error


def test_an_unmapped_narrative_column_refuses_the_file(district, tmp_path):
    stories = [f"argument at lunch with a peer number {i} then sent home early" for i in range(8)]
    result = _load(district, _enrollment_with(tmp_path, "incident_text", stories))
    assert result.exit_code == EXIT_REFUSED
    assert "column 'incident_text' holds free text" in result.error


def test_the_profile_drops_a_column_explicitly_and_the_ledger_says_so(district, tmp_path):
    profile = tmp_path / "district.json"
    profile.write_text(json.dumps({"name": "district", "entities": {"enrollment": {"drop": ["Student"]}}}))
    result = _load(district, _enrollment_with(tmp_path, "Student", MADE_UP_NAMES), profile=str(profile))
    assert result.exit_code == EXIT_OK, result.error
    ledger = _rows(district, f"select ignored_columns from load_ledger where load_id = '{result.load_id}'")
    assert ledger == [("Student (dropped by the profile)",)]
    assert _rows(district, "select count(*) from load_quarantine where raw_row like '%Example%'") == [(0,)]


def test_a_profile_may_not_drop_an_interchange_column(tmp_path):
    profile = tmp_path / "bad.json"
    profile.write_text(json.dumps({"entities": {"enrollment": {"drop": ["student_key"]}}}))
    with pytest.raises(ProfileError, match="interchange column"):
        load_profile(str(profile))


@pytest.mark.parametrize(
    "key, kind",
    [
        ("987654321", "SSN"),
        ("20100314", "date"),
        ("03142010", "date"),
        ("jamie_lopez", "name"),
        ("Lopez.Jamie", "name"),
    ],
)
def test_keys_shaped_like_a_person_are_refused(tmp_path, key, kind):
    rows = valid_rows()
    old = rows["enrollment"][2]["student_key"]
    for entity in ("enrollment", "btam_cases", "discipline_actions"):
        for row in rows[entity]:
            if row.get("student_key") == old:
                row["student_key"] = key
    db = tmp_path / "w.duckdb"
    result = _load(db, write_district(tmp_path / "in", rows))
    assert result.exit_code == EXIT_REFUSED
    assert "'student_key' holds values shaped like" in result.error and kind in result.error
    assert key not in result.error
    assert not db.exists()


@pytest.mark.parametrize("key", ["SAbcdEfghJkL", "VqRstUvwXyZa", "stu0003", "a1b2c3d4e5f6a7b8c9d0"])
def test_pseudonyms_of_letters_or_digits_pass(tmp_path, key):
    rows = valid_rows()
    old = rows["enrollment"][2]["student_key"]
    for entity in ("enrollment", "btam_cases", "discipline_actions"):
        for row in rows[entity]:
            if row.get("student_key") == old:
                row["student_key"] = key
    result = _load(tmp_path / "w.duckdb", write_district(tmp_path / "in", rows))
    assert result.exit_code == EXIT_OK, result.error


@pytest.mark.parametrize(
    "first_rows",
    [
        "2024-25,stu0001,SCH1,03,bl,f\n2024-25,stu0002,SCH1,03,wh,m\n",
        "2024-25,stu0001,SCH1,03,bl,f,N,,N,N,N\n",  # a blank field
        "2024-25,stu0001,SCH1,03,bl,f,N,N\n",  # a repeated value
    ],
)
def test_a_file_without_a_header_row_is_refused_without_echoing_its_first_row(district, tmp_path, first_rows):
    path = tmp_path / "headerless" / "enrollment.csv"
    path.parent.mkdir()
    path.write_text(first_rows)
    result = _load(district, path)
    assert result.exit_code == EXIT_UNREADABLE
    assert "header row" in result.error
    assert "stu0001" not in result.error and "SCH1" not in result.error and "2024-25" not in result.error


def _leftovers(db: Path) -> list[str]:
    """Files beside the warehouse that are not the warehouse, its lock or its kept versions."""
    kept = {db.name, f".{db.name}.versions", f"{db.name}.lock", f".{db.name}.lock"}
    kept.add(audit_log.log_path_for_warehouse(db).name)  # the command line's audit events, not a copy
    return sorted(p.name for p in db.parent.iterdir() if p.name not in kept and p.is_file() or ".building-" in p.name)


def test_a_refused_windows_1252_file_and_a_ragged_file_leave_no_copy(district, tmp_path):
    rows = valid_rows()["enrollment"]
    for row, name in zip(rows, MADE_UP_NAMES):
        row["Student Name"] = name + " Núñez"
    path = write_entity(tmp_path / "in", "enrollment", rows, "enrollment_2025.csv")
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp1252"))
    assert _load(district, path).exit_code == EXIT_REFUSED
    ragged = tmp_path / "ragged" / "case_actions.csv"
    ragged.parent.mkdir()
    ragged.write_text("action_id,case_id,action_date,action_type\nA1,CASE1,2024-10-03,counseling,extra\n")
    assert _load(district, ragged).exit_code == EXIT_OK
    assert _leftovers(district) == []
    assert not list(district.parent.glob("*.rows.csv")) and not list(district.parent.glob("*.malformed.csv"))


def test_sigterm_during_a_load_leaves_no_build_or_work_file(district, tmp_path):
    rows = valid_rows()["enrollment"]
    big = tmp_path / "big" / "enrollment.csv"
    big.parent.mkdir()
    header = ",".join(rows[0]) + "\n"
    line = ",".join(rows[0].values()) + "\n"
    with big.open("w", encoding="cp1252") as fh:  # cp1252: the load writes a transcoded copy first
        fh.write(header)
        for i in range(400_000):
            fh.write(line.replace(rows[0]["student_key"], f"st{i:07d}"))
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines", "load", str(big), "--db", str(district), "--as-of", AS_OF, "--quiet"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(district.parent.glob(".w.duckdb.building-*.work")):
        time.sleep(0.05)
    assert list(district.parent.glob(".w.duckdb.building-*.work")), "the load never started its build"
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(timeout=120) == 128 + signal.SIGTERM
    assert _leftovers(district) == []
