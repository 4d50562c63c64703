"""Property tests (issue 8): random tables, inside and outside the contract, go read -> map -> validate -> load.

Whatever the table, the load never raises, rows_read = rows_loaded + rows_quarantined
for the file, and every loaded row satisfies the spec's rules -- re-checked here in
plain Python from spec/interchange.md, independently of the loader's suites and SQL.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_contracts.interchange import (
    CASE_ACTION_TYPES,
    DISCIPLINE_ACTION_TYPES,
    DISCIPLINE_BEHAVIORS,
    REMOVAL_ACTIONS_NEEDING_DAYS,
)
from pipelines.loader import EXIT_OK, EXIT_REFUSED, EXIT_UNREADABLE, load_files
from tests.interchange_files import AS_OF, write_district

AS_OF_DATE = date.fromisoformat(AS_OF)
KNOWN_CASES = {"CASE1": date(2024, 10, 1), "CASE2": date(2025, 1, 15), "CASE3": date(2025, 3, 3)}
ENROLLED = {f"stu{i:04d}" for i in range(1, 9)}
SCHOOLS = {"SCH1", "SCH2"}

SETTINGS = settings(
    max_examples=int(__import__("os").environ.get("BTAM_PROPERTY_EXAMPLES", "20")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def base_warehouse(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("prop-base")
    db = folder / "base.duckdb"
    assert load_files(db, [write_district(folder / "in")], as_of=AS_OF_DATE).exit_code == 0
    return db


# ------------------------------------------------------------------------------------ value strategies
# Each mixes values that obey the contract with values that break it, so examples land on both sides.


def dates() -> st.SearchStrategy[str]:
    real = st.dates(date(2023, 6, 1), date(2026, 1, 1)).map(date.isoformat)
    other = st.sampled_from(
        ["", " ", "2025-02-30", "2024-13-01", "10/03/2024", "2024-1-3", "yesterday", "2024-10-03T00:00", " 2024-10-03 "]
    )
    return st.one_of(real, real, other)


def ids(prefix: str) -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(1, 12).map(lambda i: f"{prefix}{i}"),
        st.sampled_from(["", " ", "=cmd|' /C calc'!A0", "x" * 300, "a,b", 'q"uote', "é-ü", "\t"]),
    )


def codes(valid: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(valid),
        st.sampled_from(valid).map(lambda c: f"  {c.upper()} "),
        st.sampled_from(["", "unknown", "n/a", "0", "other_thing"]),
        st.text(alphabet="abcxyz_ ", max_size=8),
    )


def days() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(-5, 400).map(str),
        st.decimals(-1, 370, places=2).map(str),
        st.sampled_from(["", "ten", "1e2", " 3 ", "NaN", "inf", "3,5"]),
    )


def action_rows() -> st.SearchStrategy[list[dict[str, str]]]:
    row = st.fixed_dictionaries(
        {
            "action_id": ids("A"),
            "case_id": st.one_of(st.sampled_from(sorted(KNOWN_CASES)), ids("CASE")),
            "action_date": dates(),
            "action_type": codes(CASE_ACTION_TYPES),
        }
    )
    return st.lists(row, max_size=25)


def discipline_rows() -> st.SearchStrategy[list[dict[str, str]]]:
    row = st.fixed_dictionaries(
        {
            "action_id": ids("D"),
            "incident_id": ids("INC"),
            "school_year": st.sampled_from(["2024-25", "2024-25", "2023-24", "2024", "", "24-25"]),
            "school_id": st.sampled_from(["SCH1", "SCH2", "SCH9", ""]),
            "student_key": st.one_of(
                st.sampled_from(sorted(ENROLLED)), st.sampled_from(["stu9999", "ab", "", "x y z w"])
            ),
            "incident_date": dates(),
            "behavior": codes(DISCIPLINE_BEHAVIORS),
            "action_type": codes(DISCIPLINE_ACTION_TYPES),
            "days_removed": days(),
            "related_case_id": st.sampled_from(["", "CASE2", "CASE404"]),
        }
    )
    return st.lists(row, max_size=25)


def render(rows: list[dict[str, str]], columns: list[str], delimiter: str, shuffle: list[int]) -> str:
    order = [columns[i] for i in shuffle]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(order)
    writer.writerows([[r[c] for c in order] for r in rows])
    return buffer.getvalue()


# ------------------------------------------------------------------------------------ the independent oracle


def _date(text: str | None) -> date | None:
    if text is None or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def check_loaded_action(row: dict) -> list[str]:
    problems = []
    if not row["action_id"] or not row["case_id"]:
        problems.append("a required id is blank")
    if row["action_type"] not in CASE_ACTION_TYPES:
        problems.append(f"action_type {row['action_type']!r}")
    reported = KNOWN_CASES.get(row["case_id"])
    if reported is None:
        problems.append("unknown case")
    if row["action_date"] is None or (reported and row["action_date"] < reported) or row["action_date"] > AS_OF_DATE:
        problems.append(f"action_date {row['action_date']}")
    return problems


def check_loaded_discipline(row: dict) -> list[str]:
    problems = []
    if not all(row[c] for c in ("action_id", "incident_id", "school_year", "school_id", "student_key")):
        problems.append("a required value is blank")
    if not re.fullmatch(r"\d{4}-\d{2}", row["school_year"] or ""):
        problems.append("school_year")
    if row["school_id"] not in SCHOOLS:
        problems.append("school")
    if row["student_key"] not in ENROLLED or row["school_year"] != "2024-25":
        problems.append("not enrolled")
    if row["behavior"] not in DISCIPLINE_BEHAVIORS or row["action_type"] not in DISCIPLINE_ACTION_TYPES:
        problems.append("code")
    first = int(row["school_year"][:4]) if re.fullmatch(r"\d{4}-\d{2}", row["school_year"] or "") else None
    d = row["incident_date"]
    if d is None or first is None or not date(first, 7, 1) <= d <= date(first + 1, 6, 30) or d > AS_OF_DATE:
        problems.append(f"incident_date {d}")
    n = row["days_removed"]
    if n is not None and not 0 <= n <= 365:
        problems.append(f"days_removed {n}")
    if row["action_type"] in REMOVAL_ACTIONS_NEEDING_DAYS and not (n and n > 0):
        problems.append("removal without days")
    if row["related_case_id"] not in (None, *KNOWN_CASES):
        problems.append("related case")
    return problems


def load_and_check(base: Path, folder: Path, file_name: str, text: str, entity: str, oracle, data_rows: int) -> None:
    db = folder / "w.duckdb"
    shutil.copyfile(base, db)
    path = folder / file_name
    path.write_text(text, encoding="utf-8", newline="")
    result = load_files(db, [path], as_of=AS_OF_DATE)
    if result.exit_code != EXIT_OK:
        # the only refusals random values may earn: identifier-shaped values, unparseable text
        assert result.exit_code in (EXIT_REFUSED, EXIT_UNREADABLE), result.error
        assert file_name in result.error
        assert db.read_bytes() == base.read_bytes()
        return
    con = duckdb.connect(str(db), read_only=True)
    try:
        ledger = con.sql(
            "select rows_read, rows_loaded, rows_quarantined from load_ledger where load_id = $l",
            params={"l": result.load_id},
        ).fetchall()
        held = con.sql(
            "select count(*), count(distinct row_number) from load_quarantine where load_id = $l",
            params={"l": result.load_id},
        ).fetchall()[0]
        loaded = con.sql(f"select * from {entity} where load_id = $l", params={"l": result.load_id})
        columns = loaded.columns
        loaded_rows = [dict(zip(columns, r)) for r in loaded.fetchall()]
    finally:
        con.close()
    assert len(ledger) == 1
    read, n_loaded, n_held = ledger[0]
    assert read == n_loaded + n_held
    assert read == data_rows
    assert held == (n_held, n_held), "a row was quarantined twice"
    assert len(loaded_rows) == n_loaded
    for row in loaded_rows:
        assert oracle(row) == [], row
    keys = [r["action_id"] for r in loaded_rows]
    assert len(keys) == len(set(keys)), "a key was loaded twice"


@SETTINGS
@given(rows=action_rows(), delimiter=st.sampled_from([",", ";", "\t"]), shuffle=st.permutations(range(4)))
def test_random_case_actions_reconcile_and_loaded_rows_obey_the_spec(
    base_warehouse, tmp_path_factory, rows, delimiter, shuffle
):
    folder = tmp_path_factory.mktemp("prop")
    columns = ["action_id", "case_id", "action_date", "action_type"]
    load_and_check(
        base_warehouse,
        folder,
        "case_actions.csv",
        render(rows, columns, delimiter, shuffle),
        "case_actions",
        check_loaded_action,
        len(rows),
    )


@SETTINGS
@given(rows=discipline_rows(), shuffle=st.permutations(range(10)))
def test_random_discipline_actions_reconcile_and_loaded_rows_obey_the_spec(
    base_warehouse, tmp_path_factory, rows, shuffle
):
    folder = tmp_path_factory.mktemp("prop")
    columns = [
        "action_id",
        "incident_id",
        "school_year",
        "school_id",
        "student_key",
        "incident_date",
        "behavior",
        "action_type",
        "days_removed",
        "related_case_id",
    ]
    load_and_check(
        base_warehouse,
        folder,
        "discipline_actions.csv",
        render(rows, columns, ",", shuffle),
        "discipline_actions",
        check_loaded_discipline,
        len(rows),
    )


@SETTINGS
@given(
    lines=st.lists(
        st.lists(st.sampled_from(["A1", "CASE1", "2024-10-03", "counseling", "", "x"]), min_size=1, max_size=7),
        max_size=15,
    )
)
def test_ragged_rows_are_quarantined_with_their_row_numbers(base_warehouse, tmp_path_factory, lines):
    """Rows with too few or too many fields: each one read is loaded or quarantined, never lost or merged."""
    folder = tmp_path_factory.mktemp("prop")
    text = "action_id,case_id,action_date,action_type\n" + "".join(",".join(fields) + "\n" for fields in lines)
    db = folder / "w.duckdb"
    shutil.copyfile(base_warehouse, db)
    path = folder / "case_actions.csv"
    path.write_text(text)
    result = load_files(db, [path], as_of=AS_OF_DATE)
    assert result.exit_code == EXIT_OK, result.error
    con = duckdb.connect(str(db), read_only=True)
    try:
        ledger = con.sql(
            "select rows_read, rows_loaded, rows_quarantined from load_ledger where load_id = $l",
            params={"l": result.load_id},
        ).fetchall()[0]
        malformed = {
            r[0]
            for r in con.sql(
                "select row_number from load_quarantine where load_id = $l and rule = 'malformed_row'",
                params={"l": result.load_id},
            ).fetchall()
        }
    finally:
        con.close()
    non_blank = [fields for fields in lines if fields != [""]]  # a line with one empty field is a blank line
    assert ledger[0] == len(non_blank) and ledger[0] == ledger[1] + ledger[2]
    assert malformed == {i + 1 for i, fields in enumerate(non_blank) if len(fields) != 4}
