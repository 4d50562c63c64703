"""The bad-input catalogue (issue 8): broken exports as an operator meets them.

Every case ends one of two ways, and never in a traceback:
- refused: exit code 3 or 4, an error naming the file (and the line, row or
  column where there is one) and saying what to do; the warehouse file is
  byte-identical to what it was;
- loaded: every row read is loaded or quarantined under a named rule, and the
  ledger says rows_read = rows_loaded + rows_quarantined.

Each case loads one file on top of the small valid district of
tests/interchange_files.py (built once per module, copied per case).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from access.safe_export import to_csv_bytes
from data_contracts.interchange import ENTITIES
from pipelines.loader import EXIT_OK, EXIT_REFUSED, EXIT_UNREADABLE, load_files
from tests.interchange_files import AS_OF, valid_rows, write_district

AS_OF_DATE = date.fromisoformat(AS_OF)
REPO = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------------------------- helpers


def csv_text(entity: str, rows: list[dict[str, str]], delimiter: str = ",", header: list[str] | None = None) -> str:
    header = header or ENTITIES[entity].column_names
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(c, "") for c in header])
    return buffer.getvalue()


def action(
    action_id: str, case_id: str = "CASE1", action_date: str = "2024-10-03", action_type: str = "counseling"
) -> dict[str, str]:
    return {"action_id": action_id, "case_id": case_id, "action_date": action_date, "action_type": action_type}


def discipline(action_id: str, **changes: str) -> dict[str, str]:
    row = {
        "action_id": action_id,
        "incident_id": "INC9",
        "school_year": "2024-25",
        "school_id": "SCH1",
        "student_key": "stu0003",
        "incident_date": "2024-11-06",
        "behavior": "defiance",
        "action_type": "iss",
        "days_removed": "1",
        "related_case_id": "",
    }
    return row | changes


def case(case_id: str, **changes: str) -> dict[str, str]:
    base = next(r for r in valid_rows()["btam_cases"] if r["case_id"] == "CASE3")
    return base | {"case_id": case_id} | changes


ACTIONS_HEADER = "action_id,case_id,action_date,action_type\n"


def xlsx_bytes(sheets: dict[str, list[list[object]]], merge: str | None = None) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
        if merge and title == next(iter(sheets)):
            sheet.merge_cells(merge)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def action_rows_table(rows: list[dict[str, str]]) -> list[list[object]]:
    header = ENTITIES["case_actions"].column_names
    return [header] + [[r[c] for c in header] for r in rows]


@dataclass
class Case:
    id: str
    file_name: str
    content: bytes | str
    exit_code: int = EXIT_OK
    message: tuple[str, ...] = ()  # substrings of the error (refusals)
    not_in_message: tuple[str, ...] = ()  # values that must never be echoed
    counts: tuple[int, int, int] | None = None  # rows_read, rows_loaded, rows_quarantined
    rules: dict[int, str] = field(default_factory=dict)  # row_number -> rule in load_quarantine
    check: str | None = None  # SQL returning one row of True values after the load


# ----------------------------------------------------------------------------------------------- the catalogue

OK_ROW = "A9,CASE1,2024-10-03,counseling\n"
CASES: list[Case] = [
    # --- the shape of the file
    Case("empty-file", "case_actions.csv", "", EXIT_UNREADABLE, ("case_actions.csv", "empty", "header row")),
    Case(
        "blank-first-line",
        "case_actions.csv",
        "\n" + ACTIONS_HEADER + OK_ROW,
        EXIT_UNREADABLE,
        ("case_actions.csv", "first line is blank"),
    ),
    Case("header-only", "case_actions.csv", ACTIONS_HEADER, counts=(0, 0, 0)),
    Case("header-only-no-newline", "case_actions.csv", ACTIONS_HEADER.strip(), counts=(0, 0, 0)),
    Case(
        "pipe-delimiter",
        "case_actions.csv",
        (ACTIONS_HEADER + OK_ROW).replace(",", "|"),
        EXIT_UNREADABLE,
        ("case_actions.csv", "'|'", "comma", "semicolon", "tab"),
    ),
    Case(
        "colon-delimiter",
        "case_actions.csv",
        (ACTIONS_HEADER + OK_ROW).replace(",", ":"),
        EXIT_UNREADABLE,
        ("case_actions.csv", "accepted delimiters"),
    ),
    Case("semicolon-delimiter", "case_actions.csv", (ACTIONS_HEADER + OK_ROW).replace(",", ";"), counts=(1, 1, 0)),
    Case("tab-delimiter", "case_actions.csv", (ACTIONS_HEADER + OK_ROW).replace(",", "\t"), counts=(1, 1, 0)),
    Case("crlf-line-ends", "case_actions.csv", (ACTIONS_HEADER + OK_ROW).replace("\n", "\r\n"), counts=(1, 1, 0)),
    Case(
        "blank-lines-between-rows",
        "case_actions.csv",
        ACTIONS_HEADER + OK_ROW + "\n\n" + "A10,CASE1,2024-10-04,bogus\n\n",
        counts=(2, 1, 1),
        rules={2: "code:action_type"},
    ),
    Case("byte-order-mark", "case_actions.csv", "\ufeff" + ACTIONS_HEADER + OK_ROW, counts=(1, 1, 0)),
    Case(
        "cp1252-file",
        "schools.csv",
        ("school_id,school_name,school_level\nSCH7,Ecole Fran\u00e7ois,middle\n").encode("cp1252"),
        counts=(1, 1, 0),
        check="select school_name = 'Ecole Fran\u00e7ois' from schools where school_id = 'SCH7'",
    ),
    Case(
        "mixed-encodings",
        "schools.csv",
        "school_id,school_name,school_level\nSCH7,Ecole Fran\u00e7ois,middle\n".encode("utf-8")
        + "SCH8,Ecole Ren\u00e9e,middle\n".encode("cp1252"),
        EXIT_UNREADABLE,
        ("schools.csv", "mixes text encodings", "line 2", "line 3", "UTF-8"),
    ),
    Case(
        "utf16-file",
        "case_actions.csv",
        (ACTIONS_HEADER + OK_ROW).encode("utf-16"),
        EXIT_UNREADABLE,
        ("case_actions.csv", "UTF-16", "CSV UTF-8"),
    ),
    Case(
        "old-xls-named-csv",
        "case_actions.csv",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600),
        EXIT_UNREADABLE,
        ("case_actions.csv", ".xls", ".xlsx"),
    ),
    Case(
        "ragged-rows-quarantined",
        "case_actions.csv",
        ACTIONS_HEADER
        + OK_ROW
        + "A10,CASE1,2024-10-03,counseling,extra\nA11,CASE1\n"
        + "A12,CASE1,2024-10-05,counseling\n",
        counts=(4, 2, 2),
        rules={2: "malformed_row", 3: "malformed_row"},
        check="select count(*) = 2 from load_quarantine where rule = 'malformed_row' and detail like '%header has 4%' "
        "and raw_row like '%counseling,extra%' or raw_row like '%\"A11\"%'",
    ),
    Case(
        "ragged-row-after-quoted-newline-keeps-row-numbers",
        "case_actions.csv",
        ACTIONS_HEADER + 'A9,"CASE\n1",2024-10-03,counseling\nA10,CASE1\nA11,CASE1,2024-10-05,counseling\n',
        counts=(3, 1, 2),
        rules={1: "unknown_case", 2: "malformed_row"},
        check="select detail like '%line 4 of the file%' from load_quarantine where rule = 'malformed_row'",
    ),
    Case(
        "identifier-in-a-ragged-rows-overflow",
        "case_actions.csv",
        ACTIONS_HEADER + OK_ROW + "A10,CASE1,2024-10-03,counseling,123-45-6789\n",
        EXIT_REFUSED,
        ("case_actions.csv", "SSN", "row(s) 2"),
        ("123-45-6789",),
    ),
    Case(
        "quoted-newlines",
        "schools.csv",
        'school_id,school_name,school_level\nSCH7,"North\nCampus",middle\nSCH8,South,high\n',
        counts=(2, 2, 0),
        check="select count(*) = 1 from schools where school_name = 'North\nCampus'",
    ),
    Case(
        "unclosed-quote",
        "case_actions.csv",
        ACTIONS_HEADER + OK_ROW + 'A10,"CASE1,2024-10-03,counseling\n' + OK_ROW,
        EXIT_UNREADABLE,
        ("case_actions.csv", "line 3", "quote"),
    ),
    Case(
        "nul-bytes-near-the-top",
        "case_actions.csv",
        (ACTIONS_HEADER + OK_ROW).encode() + b"\x00" * 40 + b"\nA10,CASE1,2024-10-04,counseling\n",
        EXIT_UNREADABLE,
        ("case_actions.csv", "BINARY"),
    ),
    Case(
        "nul-bytes-line-deep-in-the-file",
        "case_actions.csv",
        (ACTIONS_HEADER + "".join(f"B{i:04d},CASE1,2024-10-03,counseling\n" for i in range(300))).encode()
        + b"\x00" * 40
        + b"\nA10,CASE1,2024-10-04,counseling\n",
        counts=(302, 301, 1),
        rules={301: "malformed_row"},
    ),
    # --- the header
    Case(
        "duplicate-header-names",
        "case_actions.csv",
        "action_id,case_id,action_date,action_type,Case_ID\nA9,CASE1,2024-10-03,counseling,CASE1\n",
        EXIT_UNREADABLE,
        ("case_actions.csv", "twice", "keep one"),
    ),
    Case(
        "blank-header-name",
        "case_actions.csv",
        "action_id,,case_id,action_date,action_type\nA9,x,CASE1,2024-10-03,counseling\n",
        EXIT_UNREADABLE,
        ("case_actions.csv", "no name"),
    ),
    Case(
        "missing-required-column",
        "case_actions.csv",
        "action_id,case_id,action_type\nA9,CASE1,counseling\n",
        EXIT_UNREADABLE,
        ("case_actions.csv", "action_date", "missing", "rename"),
    ),
    Case(
        "unknown-columns-not-stored",
        "case_actions.csv",
        "action_id,case_id,action_date,action_type,staff_code,room\nA9,CASE1,2024-10-03,counseling,77,B12\n",
        counts=(1, 1, 0),
        check="select ignored_columns = 'staff_code, room' from load_ledger where load_id = $load",
    ),
    Case(
        "columns-in-another-order-and-case",
        "case_actions.csv",
        "Action_Type,ACTION_DATE,case_id,Action ID\ncounseling,2024-10-03,CASE1,A9\n",
        counts=(1, 1, 0),
        check="select action_type = 'counseling' and action_date = date '2024-10-03' from case_actions "
        "where action_id = 'A9'",
    ),
    Case(
        "identifier-column",
        "enrollment_2025.csv",
        csv_text(
            "enrollment",
            [r | {"Student Name": "Alex Example"} for r in valid_rows()["enrollment"]],
            header=ENTITIES["enrollment"].column_names + ["Student Name"],
        ),
        EXIT_REFUSED,
        ("enrollment_2025.csv", "'Student Name'", "name"),
        ("Alex",),
    ),
    Case(
        "birth-date-column",
        "enrollment_2025.csv",
        csv_text(
            "enrollment",
            [r | {"DOB": "2012-03-04"} for r in valid_rows()["enrollment"]],
            header=ENTITIES["enrollment"].column_names + ["DOB"],
        ),
        EXIT_REFUSED,
        ("'DOB'", "birth date"),
        ("2012-03-04",),
    ),
    Case(
        "email-in-a-code-column",
        "case_actions.csv",
        ACTIONS_HEADER + "A9,CASE1,2024-10-03,jo.doe@example.org\n",
        EXIT_REFUSED,
        ("case_actions.csv", "'action_type'", "e-mail", "row(s) 1"),
        ("jo.doe",),
    ),
    Case(
        "ssn-in-a-code-column",
        "case_actions.csv",
        ACTIONS_HEADER + OK_ROW + "A10,CASE1,2024-10-03,078-05-1120\n",
        EXIT_REFUSED,
        ("'action_type'", "SSN", "row(s) 2"),
        ("078-05-1120",),
    ),
    Case(
        "phone-in-a-code-column",
        "case_reviews.csv",
        "review_id,case_id,review_date,review_outcome\nR9,CASE2,2025-02-11,(555) 201-3344\n",
        EXIT_REFUSED,
        ("'review_outcome'", "phone"),
        ("201-3344",),
    ),
    Case(
        "street-address-in-unknown-column",
        "schools.csv",
        "school_id,school_name,school_level,site\nSCH7,North,middle,12 Elm Street\n",
        EXIT_REFUSED,
        ("'site'", "street address"),
        ("Elm",),
    ),
    Case(
        "shortest-street-address-in-a-text-column",
        "schools.csv",
        "school_id,school_name,school_level\nSCH7,1 Elm St,middle\nSCH8,South,high\n",
        EXIT_REFUSED,
        ("'school_name'", "street address", "row(s) 1"),
        ("Elm",),
    ),
    # --- values
    Case(
        "dates-in-five-formats",
        "case_actions.csv",
        ACTIONS_HEADER
        + "".join(
            f"A{i},CASE1,{d},counseling\n"
            for i, d in enumerate(
                ["2024-10-03", "10/03/2024", "03.10.2024", "2024/10/03", "Oct 3 2024", "20241003"], start=1
            )
        ),
        counts=(6, 1, 5),
        rules={i: "date:action_date" for i in range(2, 7)},
    ),
    Case(
        "impossible-dates",
        "case_actions.csv",
        ACTIONS_HEADER + "A1,CASE1,2025-02-30,counseling\nA2,CASE1,2024-13-01,counseling\n"
        "A3,CASE1,2025-02-29,counseling\nA4,CASE1,0000-01-01,counseling\n",
        counts=(4, 0, 4),
        rules={1: "date:action_date", 2: "date:action_date", 3: "date:action_date", 4: "date:action_date"},
    ),
    Case(
        "date-after-as-of",
        "case_actions.csv",
        ACTIONS_HEADER + "A1,CASE1,2031-01-01,counseling\n",
        counts=(1, 0, 1),
        rules={1: "after_as_of:action_date"},
    ),
    Case(
        "date-outside-school-year",
        "discipline_actions.csv",
        csv_text(
            "discipline_actions",
            [discipline("D1", incident_date="2023-09-01"), discipline("D2", incident_date="2024-07-01")],
        ),
        counts=(2, 1, 1),
        rules={1: "in_school_year:incident_date"},
    ),
    Case(
        "negative-and-absurd-day-counts",
        "discipline_actions.csv",
        csv_text(
            "discipline_actions",
            [
                discipline("D1", days_removed="-2"),
                discipline("D2", days_removed="9999"),
                discipline("D3", days_removed="1e3"),
                discipline("D4", days_removed="ten"),
                discipline("D5", days_removed="2.5"),
            ],
        ),
        counts=(5, 1, 4),
        rules={1: "range:days_removed", 2: "range:days_removed", 3: "number:days_removed", 4: "number:days_removed"},
    ),
    Case(
        "unknown-codes",
        "case_actions.csv",
        ACTIONS_HEADER + "A1,CASE1,2024-10-03,detention\n",
        counts=(1, 0, 1),
        rules={1: "code:action_type"},
    ),
    # great-expectations lists at most 200 failing values; every failing row must still be caught
    Case(
        "three-hundred-distinct-unknown-codes",
        "case_actions.csv",
        ACTIONS_HEADER + "".join(f"X{i},CASE1,2024-10-03,made_up_{i}\n" for i in range(300)) + OK_ROW,
        counts=(301, 1, 300),
        rules={row: "code:action_type" for row in range(1, 301)},
    ),
    Case(
        "unknown-codes-in-three-spellings-each",
        "case_actions.csv",
        ACTIONS_HEADER
        + "".join(
            f"A{i}{s},CASE1,2024-10-03,{spelled}\n"
            for i in range(150)
            for s, spelled in (("a", f"made_up_{i}"), ("b", f" Made_Up_{i}"), ("c", f"MADE_UP_{i} "))
        ),
        counts=(450, 0, 450),
        rules={row: "code:action_type" for row in range(1, 451)},
    ),
    Case(
        "codes-in-other-cases-and-spaces",
        "case_actions.csv",
        ACTIONS_HEADER + "A1,CASE1,2024-10-03,  Counseling \nA2,CASE1,2024-10-03,SAFETY_PLAN\n",
        counts=(2, 2, 0),
        check="select list(action_type order by action_id) = ['counseling', 'safety_plan'] from case_actions "
        "where action_id in ('A1', 'A2')",
    ),
    Case(
        "boolean-words-and-blank-required",
        "schools.csv",
        "school_id,school_name,school_level\nSCH7,,middle\n ,North,middle\n",
        counts=(2, 0, 2),
        rules={1: "required:school_name", 2: "required:school_id"},
    ),
    Case(
        "duplicate-keys-within-a-file",
        "case_actions.csv",
        ACTIONS_HEADER
        + "A1,CASE1,2024-10-03,counseling\nA1,CASE1,2024-10-04,restorative\nA2,CASE1,2024-10-03,counseling\n",
        counts=(3, 1, 2),
        rules={1: "duplicate_key", 2: "duplicate_key"},
    ),
    Case(
        "key-of-an-existing-row-replaces-it",
        "case_actions.csv",
        ACTIONS_HEADER + "ACT1,CASE1,2024-10-09,restorative\n",
        counts=(1, 1, 0),
        check="select count(*) = 1 and min(action_type) = 'restorative' from case_actions where action_id = 'ACT1'",
    ),
    Case(
        "orphan-actions",
        "case_actions.csv",
        ACTIONS_HEADER + "A1,CASE404,2024-10-03,counseling\n",
        counts=(1, 0, 1),
        rules={1: "unknown_case"},
    ),
    Case(
        "case-of-a-student-not-enrolled",
        "btam_cases.csv",
        csv_text("btam_cases", [case("CASE9", subject_type="student", student_key="stu9999")]),
        counts=(1, 0, 1),
        rules={1: "not_enrolled"},
    ),
    Case(
        "bad-student-key-format",
        "enrollment.csv",
        csv_text(
            "enrollment",
            [
                valid_rows()["enrollment"][0] | {"student_key": "ab"},
                valid_rows()["enrollment"][0] | {"student_key": "Jane Doe 2011"},
            ],
        ),
        counts=(2, 0, 2),
        rules={1: "format:student_key", 2: "format:student_key"},
    ),
    Case(
        "formula-injection-stored-as-inert-text",
        "case_actions.csv",
        ACTIONS_HEADER + "\"=cmd|' /C calc'!A0\",CASE1,2024-10-03,counseling\n"
        '+A2,CASE1,2024-10-03,"=HYPERLINK(""http://x.test"")"\n',
        counts=(2, 1, 1),
        rules={2: "code:action_type"},
        check="select count(*) = 1 from case_actions where action_id = '=cmd|'' /C calc''!A0'",
    ),
    Case(
        "very-long-field-in-a-code-column",
        "case_actions.csv",
        ACTIONS_HEADER + "A1,CASE1,2024-10-03," + "x" * 200_000 + "\n",
        counts=(1, 0, 1),
        rules={1: "code:action_type"},
        check="select length(detail) < 400 from load_quarantine where file_name = 'case_actions.csv'",
    ),
    Case(
        "row-longer-than-the-line-limit",
        "case_actions.csv",
        ACTIONS_HEADER + OK_ROW + "A10,CASE1,2024-10-03," + "y" * 2_100_000 + "\n",
        counts=(2, 1, 1),
        rules={2: "malformed_row"},
        check="select max(length(raw_row)) < 20000 from load_quarantine where file_name = 'case_actions.csv'",
    ),
    Case(
        "long-free-text-value",
        "case_actions.csv",
        "action_id,case_id,action_date,action_type,remark\nA1,CASE1,2024-10-03,counseling,"
        + " ".join(["student said something worrying in class today"] * 4)
        + "\n",
        EXIT_REFUSED,
        ("'remark'", "free text"),
        ("worrying",),
    ),
    # --- what the file really is
    Case(
        "text-named-xlsx",
        "case_actions.xlsx",
        ACTIONS_HEADER + OK_ROW,
        EXIT_UNREADABLE,
        ("case_actions.xlsx", "XLSX", "text"),
    ),
    Case(
        "xlsx-named-csv",
        "case_actions.csv",
        xlsx_bytes({"case_actions": action_rows_table([action("A1")])}),
        EXIT_UNREADABLE,
        ("case_actions.csv", "CSV", "XLSX"),
    ),
    Case(
        "parquet-named-csv",
        "case_actions.csv",
        parquet_bytes(pa.table({c: ["x"] for c in ENTITIES["case_actions"].column_names})),
        EXIT_UNREADABLE,
        ("case_actions.csv", "PARQUET"),
    ),
    Case(
        "binary-named-csv",
        "case_actions.csv",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200),
        EXIT_UNREADABLE,
        ("case_actions.csv", "BINARY"),
    ),
    Case(
        "parquet-timestamp-dates-as-pandas-writes-them",
        "case_actions.parquet",
        parquet_bytes(
            pa.table(
                {
                    "action_id": ["A1", "A2"],
                    "case_id": ["CASE1", "CASE1"],
                    "action_date": pa.array(
                        [datetime(2024, 10, 3), datetime(2024, 10, 4, 13, 30)], type=pa.timestamp("ns")
                    ),
                    "action_type": ["counseling", "counseling"],
                }
            )
        ),
        counts=(2, 1, 1),
        rules={2: "date:action_date"},
        check="select count(*) = 1 from case_actions where action_id = 'A1' and action_date = date '2024-10-03'",
    ),
    Case(
        "truncated-parquet",
        "case_actions.parquet",
        parquet_bytes(pa.table({c: ["A1"] * 100 for c in ENTITIES["case_actions"].column_names}))[:-37],
        EXIT_UNREADABLE,
        ("case_actions.parquet", "truncated"),
    ),
    Case(
        "corrupt-parquet-middle",
        "case_actions.parquet",
        (lambda b: b[:4] + bytes(len(b) - 8) + b[-4:])(
            parquet_bytes(pa.table({c: ["A1"] * 100 for c in ENTITIES["case_actions"].column_names}))
        ),
        EXIT_UNREADABLE,
        ("case_actions.parquet", "cannot be read"),
    ),
    Case(
        "valid-parquet",
        "case_actions.parquet",
        parquet_bytes(
            pa.table(
                {
                    "action_id": ["A1", "A2"],
                    "case_id": ["CASE1", "CASE1"],
                    "action_date": pa.array([date(2024, 10, 3), date(2024, 10, 4)]),
                    "action_type": ["counseling", "nonsense"],
                }
            )
        ),
        counts=(2, 1, 1),
        rules={2: "code:action_type"},
    ),
    Case(
        "corrupt-xlsx",
        "case_actions.xlsx",
        b"PK\x03\x04" + bytes(300),
        EXIT_UNREADABLE,
        ("case_actions.xlsx", "cannot be opened"),
    ),
    Case(
        "zip-that-is-not-a-workbook",
        "case_actions.xlsx",
        (
            lambda: (lambda buf: (zipfile.ZipFile(buf, "w").writestr("a.txt", "hello") or buf).getvalue())(io.BytesIO())
        )(),
        EXIT_UNREADABLE,
        ("case_actions.xlsx",),
    ),
    # --- Excel
    Case(
        "xlsx-the-only-sheet-with-data",
        "case_actions.xlsx",
        xlsx_bytes({"Export": action_rows_table([action("A1"), action("A2", action_type="bogus")]), "Notes": []}),
        counts=(2, 1, 1),
        rules={2: "code:action_type"},
        check="select sheet = 'Export' from load_ledger where load_id = $load",
    ),
    Case(
        "xlsx-several-sheets-and-no-choice",
        "case_actions.xlsx",
        xlsx_bytes({"Export": action_rows_table([action("A1")]), "Notes": [["anything"]]}),
        EXIT_UNREADABLE,
        ("case_actions.xlsx", "2 sheets hold data", "'Export', 'Notes'", "--sheet"),
    ),
    Case(
        "xlsx-sheet-named-after-the-entity",
        "btam_export.xlsx",
        xlsx_bytes(
            {
                "README": [["exported by the vendor tool"]],
                "Case Actions": action_rows_table([action("A1"), action("A2")]),
            }
        ),
        counts=(2, 2, 0),
    ),
    Case(
        "xlsx-merged-cells",
        "case_actions.xlsx",
        xlsx_bytes({"case_actions": action_rows_table([action("A1"), action("A2")])}, merge="B2:B3"),
        EXIT_UNREADABLE,
        ("case_actions.xlsx", "merged cells", "B2:B3", "Unmerge"),
    ),
    Case(
        "xlsx-values-right-of-the-header",
        "case_actions.xlsx",
        xlsx_bytes(
            {"case_actions": action_rows_table([action("A1")]) + [["A2", "CASE1", "2024-10-03", "counseling", "stray"]]}
        ),
        counts=(2, 1, 1),
        rules={2: "malformed_row"},
    ),
    Case(
        "xlsx-empty-sheet",
        "case_actions.xlsx",
        xlsx_bytes({"case_actions": []}),
        EXIT_UNREADABLE,
        ("case_actions.xlsx", "empty"),
    ),
    Case(
        "file-whose-entity-cannot-be-told",
        "export_2025.csv",
        ACTIONS_HEADER + OK_ROW,
        EXIT_UNREADABLE,
        ("export_2025.csv", "entity", "--entity"),
    ),
]


def _with_formula(formula_cached: bool) -> bytes:
    """A workbook whose C2 holds a formula, with or without a saved result (openpyxl never saves one)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "case_actions"
    for row in action_rows_table([action("A1"), action("A2")]):
        sheet.append(row)
    sheet["C3"] = '=TEXT(DATE(2024,10,4),"yyyy-mm-dd")'
    buffer = io.BytesIO()
    book.save(buffer)
    if not formula_cached:
        return buffer.getvalue()
    # add the cached value Excel would have written: <f>..</f><v>2024-10-04</v> as a string result
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                start = text.index('<c r="C3"')
                end = text.index("</c>", start) + len("</c>")
                formula = text[text.index("<f>", start) : text.index("</f>", start) + 4]
                text = text[:start] + f'<c r="C3" t="str">{formula}<v>2024-10-04</v></c>' + text[end:]
                data = text.encode()
            target.writestr(item, data)
    return out.getvalue()


CASES += [
    Case(
        "xlsx-formula-without-saved-result",
        "case_actions.xlsx",
        _with_formula(False),
        EXIT_UNREADABLE,
        ("case_actions.xlsx", "formulas with no saved result", "C3"),
    ),
    Case(
        "xlsx-formula-with-saved-result",
        "case_actions.xlsx",
        _with_formula(True),
        counts=(2, 2, 0),
        check="select action_date = date '2024-10-04' from case_actions where action_id = 'A2'",
    ),
]


# ----------------------------------------------------------------------------------------------- running them


@pytest.fixture(scope="module")
def base_warehouse(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("base")
    db = folder / "base.duckdb"
    result = load_files(db, [write_district(folder / "in")], as_of=AS_OF_DATE)
    assert result.exit_code == 0, result.error
    return db


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def query(db: Path, sql: str, params: dict | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql(sql, params=params).fetchall()
    finally:
        con.close()


def test_the_catalogue_has_at_least_40_cases():
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, base_warehouse: Path, tmp_path: Path):
    db = tmp_path / "w.duckdb"
    shutil.copyfile(base_warehouse, db)
    before = digest(db)
    path = tmp_path / "in" / case.file_name
    path.parent.mkdir()
    if isinstance(case.content, str):
        path.write_text(case.content, encoding="utf-8", newline="")
    else:
        path.write_bytes(case.content)
    entity = "case_actions" if case.id == "xlsx-sheet-named-after-the-entity" else None
    result = load_files(db, [path], as_of=AS_OF_DATE, entity=entity)  # never raises
    assert result.exit_code == case.exit_code, result.error
    if case.exit_code != EXIT_OK:
        assert result.error and case.file_name in result.error
        for text in case.message:
            assert text in result.error, f"{text!r} not in {result.error!r}"
        for value in case.not_in_message:
            assert value not in result.error
        assert "Traceback" not in result.error
        assert digest(db) == before, "a refused file changed the warehouse"
        assert not list(db.parent.glob(".w.duckdb.building-*")), "a refused load left its build behind"
        return
    ledger = query(
        db, "select rows_read, rows_loaded, rows_quarantined from load_ledger where load_id = $l", {"l": result.load_id}
    )
    assert len(ledger) == 1
    read, loaded, held = ledger[0]
    assert read == loaded + held
    if case.counts is not None:
        assert (read, loaded, held) == case.counts
    quarantined = dict(
        query(db, "select row_number, rule from load_quarantine where load_id = $l", {"l": result.load_id})
    )
    for row_number, rule in case.rules.items():
        assert quarantined.get(row_number) == rule, quarantined
    if case.rules:
        assert set(quarantined) == set(case.rules), quarantined
    if case.check:
        params = {"load": result.load_id} if "$load" in case.check else None
        assert query(db, case.check, params) == [(True,)], case.check


def test_formula_injection_is_neutralised_on_download(base_warehouse, tmp_path):
    """Stored as the text it is; a download written through access/safe_export puts an apostrophe before it."""

    db = tmp_path / "w.duckdb"
    shutil.copyfile(base_warehouse, db)
    path = tmp_path / "case_actions.csv"
    path.write_text(
        ACTIONS_HEADER + "\"=cmd|' /C calc'!A0\",CASE1,2024-10-03,counseling\n@SUM(1+1),CASE1,2024-10-03,counseling\n"
    )
    assert load_files(db, [path], as_of=AS_OF_DATE).exit_code == 0
    con = duckdb.connect(str(db), read_only=True)
    try:
        frame = con.sql("select action_id from case_actions where action_id not like 'ACT%' order by 1").pl()
    finally:
        con.close()
    assert frame["action_id"].to_list() == ["=cmd|' /C calc'!A0", "@SUM(1+1)"]
    exported = to_csv_bytes(frame).decode("utf-8-sig")
    assert "'=cmd|" in exported and "'@SUM" in exported
    assert all(not line.startswith(("=", "@", "+", "-")) for line in exported.splitlines())


def test_the_same_key_in_two_files_of_one_load_ends_with_the_later_file(base_warehouse, tmp_path):
    """Across files, a later file replaces rows by key (files of one entity are taken in name order)."""
    db = tmp_path / "w.duckdb"
    shutil.copyfile(base_warehouse, db)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "case_actions_1.csv").write_text(ACTIONS_HEADER + "A1,CASE1,2024-10-03,counseling\n")
    (folder / "case_actions_2.csv").write_text(ACTIONS_HEADER + "A1,CASE1,2024-10-04,restorative\n")
    result = load_files(db, [folder], as_of=AS_OF_DATE)
    assert result.exit_code == 0, result.error
    assert query(db, "select action_type from case_actions where action_id = 'A1'") == [("restorative",)]
    assert query(db, "select sum(rows_read) = sum(rows_loaded + rows_quarantined) from load_ledger") == [(True,)]


def test_a_refused_file_in_a_folder_stops_the_whole_load(base_warehouse, tmp_path):
    """All or nothing: good files of the same load are not stored when one file is refused."""
    db = tmp_path / "w.duckdb"
    shutil.copyfile(base_warehouse, db)
    before = digest(db)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "case_actions.csv").write_text(ACTIONS_HEADER + "A1,CASE1,2024-10-03,counseling\n")
    (folder / "case_reviews.csv").write_text("review_id|case_id|review_date|review_outcome\nR|CASE2|2025-02-11|close\n")
    result = load_files(db, [folder], as_of=AS_OF_DATE)
    assert result.exit_code == EXIT_UNREADABLE and "case_reviews.csv" in result.error
    assert digest(db) == before


def test_cli_never_prints_a_traceback_for_bad_input(base_warehouse, tmp_path):
    db = tmp_path / "w.duckdb"
    shutil.copyfile(base_warehouse, db)
    bad = tmp_path / "case_actions.parquet"
    bad.write_bytes(b"PAR1" + bytes(64))
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines", "load", str(bad), "--db", str(db), "--as-of", AS_OF, "--quiet"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == EXIT_UNREADABLE
    assert "Traceback" not in proc.stderr and "case_actions.parquet" in proc.stderr
    assert "the warehouse is unchanged" in proc.stderr


# ----------------------------------------------------------------------------------------------- a 2 GB file

HUGE_BYTES = 2 * 1024**3
HUGE_ROW_WIDTH = 2_000  # bytes per row: one long value in a column the entity does not store


def _write_huge_enrollment(path: Path, target_bytes: int) -> int:
    """A valid enrollment file of `target_bytes`, streamed; rows carry a long, ignored, identifier-free column."""
    header = (
        "school_year,student_key,school_id,grade_level,sex,race_ethnicity,idea,idea_disability,"
        "section_504,english_learner,econ_disadvantaged,filler\n"
    )
    races = ["hi", "am", "as", "bl", "pi", "wh", "mu"]
    rows = 0
    with path.open("w", buffering=1 << 22) as fh:
        fh.write(header)
        written = len(header)
        block = []
        while written < target_bytes:
            prefix = f"2023-24,huge{rows:010d},SCH{1 + rows % 2},0{1 + rows % 9},{'fm'[rows % 2]},{races[rows % 7]},N,,N,N,Y,"
            line = prefix + "z" * (HUGE_ROW_WIDTH - len(prefix) - 1) + "\n"
            block.append(line)
            written += len(line)
            rows += 1
            if len(block) == 10_000:
                fh.write("".join(block))
                block.clear()
        fh.write("".join(block))
    return rows


PEAK_RSS = r"""
import resource, sys, json
from datetime import date
from pipelines.loader import load_files
result = load_files(sys.argv[1], [sys.argv[2]], as_of=date(2025, 6, 1))
ledger = [(f.rows_read, f.rows_loaded, f.rows_quarantined) for f in result.files]
print(json.dumps({"exit": result.exit_code, "error": result.error, "ledger": ledger,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("BTAM_HUGE_FILE") != "1",
    reason="the 2 GB file takes minutes and 6 GB of disk: run with BTAM_HUGE_FILE=1",
)
def test_a_2gb_file_loads_with_bounded_memory(base_warehouse, tmp_path):
    free = shutil.disk_usage(tmp_path).free
    if free < 3 * HUGE_BYTES + (1 << 30):
        pytest.skip(f"needs about {3 * HUGE_BYTES / 2**30:.0f} GB free in {tmp_path}, {free / 2**30:.1f} GB there")
    db = tmp_path / "w.duckdb"
    shutil.copyfile(base_warehouse, db)
    path = tmp_path / "enrollment_huge.csv"
    rows = _write_huge_enrollment(path, HUGE_BYTES)
    proc = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, str(db), str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["exit"] == 0, report["error"]
    assert report["ledger"] == [[rows, rows, 0]]
    (tmp_path.parent / "huge_file_report.json").write_text(
        json.dumps(report | {"rows": rows, "bytes": path.stat().st_size})
    )
    print(f"2 GB load: {rows:,} rows, peak RSS {report['peak_rss_mb']:.0f} MB")
    assert report["peak_rss_mb"] < 6 * 1024, "the loader's memory grew with the file"
