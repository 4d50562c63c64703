"""Issue 18 item 3: an export's own date from a column of the file, and export-date rules per entity."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime

import pytest

from pipelines.loader import EXIT_OLDER, EXIT_USAGE, load_files
from pipelines.profiles import ProfileError, load_profile
from tests.interchange_files import valid_rows, write_district, write_entity
from tests.test_snapshots import _dated, load, query

COLUMN = "Extract Date"
NAME_PATTERN = r"_(?P<month>\d\d)-(?P<day>\d\d)-(?P<year>\d{4})"


def _profile(tmp_path, export_date: dict) -> str:
    path = tmp_path / "district.json"
    path.write_text(json.dumps({"name": "district", "date_formats": ["%m/%d/%Y"], "export_date": export_date}))
    return str(path)


def _district(tmp_path):
    """A warehouse holding the valid district, exported 2024-09-01 (--exported-on wins over any profile)."""
    db = tmp_path / "w.duckdb"
    rows = valid_rows()
    assert load(db, write_district(tmp_path / "in", rows), exported_on=date(2024, 9, 1)).exit_code == 0
    return db, rows


def _actions(folder, name: str, rows: list[dict], dates: list[str], column: str = COLUMN):
    """case_actions rows with the export-date column beside them, one value per row."""
    return write_entity(folder, "case_actions", [dict(r, **{column: d}) for r, d in zip(rows, dates)], name)


def _cells(path) -> set[str]:
    with path.open(newline="", encoding="utf-8") as fh:
        return {value.strip() for row in list(csv.reader(fh))[1:] for value in row if value.strip()}


def test_a_column_date_orders_exports_over_modified_times_and_names(tmp_path):
    db, rows = _district(tmp_path)
    profile = _profile(tmp_path, {"case_actions": {"column": COLUMN}})
    base = rows["case_actions"][0]
    # modified times and names the wrong way round: the December export looks newest by both
    newer = _dated(
        _actions(tmp_path / "n", "case_actions_a.csv", [dict(base, action_type="restorative")], ["03/31/2025"]),
        "2025-01-01",
    )
    older = _dated(
        _actions(
            tmp_path / "o",
            "case_actions_b.csv",
            [dict(base, action_type="supervision"), rows["case_actions"][1]],
            ["12/31/2024", "2024-12-31"],  # one date, in two of the profile's formats
        ),
        "2025-05-01",
    )
    assert load(db, newer, profile=profile).exit_code == 0
    assert query(db, "select exported_at from load_exports where file_name = 'case_actions_a.csv'") == [
        (datetime(2025, 3, 31),)
    ]
    before = db.read_bytes()
    refused = load(db, older, profile=profile)
    assert refused.exit_code == EXIT_OLDER and not refused.published
    assert "case_actions_b.csv (exported 2024-12-31 00:00) is older than case_actions_a.csv" in (refused.error or "")
    assert db.read_bytes() == before
    forced = load(db, older, profile=profile, force=True)
    assert forced.exit_code == 0 and forced.files[0].rows_loaded == 2
    assert query(db, "select action_type from case_actions where action_id = 'ACT1'") == [("supervision",)]

    # in one load an entity's files are taken oldest export first, whatever their names and modified times
    folder = tmp_path / "both"
    _dated(
        _actions(folder, "case_actions_a.csv", [dict(base, action_type="parent_conference")], ["03/31/2025"]),
        "2025-01-01",
    )
    _dated(
        _actions(folder, "case_actions_b.csv", [dict(base, action_type="schedule_change")], ["12/31/2024"]),
        "2025-05-01",
    )
    together = load(db, folder, profile=profile)
    assert together.exit_code == 0, together.error
    assert [f.file_name for f in together.files] == ["case_actions_b.csv", "case_actions_a.csv"]
    assert query(db, "select action_type from case_actions where action_id = 'ACT1'") == [("parent_conference",)]


UNDATED = [
    (["03/31/2025", "04/01/2025"], "it holds 2 different dates where an export has one"),
    (
        ["03/31/2025", "Q3-batch-17", "02/30/2025"],
        "2 of its distinct values are not dates in the profile's date formats",
    ),
    (["", "  "], "every value of it is blank"),
    (None, "the file has no such column"),
    (["06/02/2025", "2025-06-02"], "its date is after the load's as-of date 2025-06-01"),
]


@pytest.mark.parametrize(("dates", "words"), UNDATED, ids=["mixed", "not_dates", "blank", "missing", "future"])
def test_a_column_that_does_not_give_one_past_date_refuses_the_load_without_showing_a_value(tmp_path, dates, words):
    db, rows = _district(tmp_path)
    profile = _profile(tmp_path, {"column": COLUMN})
    actions = rows["case_actions"][:2] + [dict(rows["case_actions"][2], action_id="ACT-77Q")]
    if dates is None:
        path = _actions(tmp_path / "f", "case_actions_x.csv", actions, ["03/31/2025"] * 3, column="Exported")
    else:
        path = _actions(tmp_path / "f", "case_actions_x.csv", actions, (dates * 3)[:3])
    before = db.read_bytes()
    result = load(db, path, profile=profile)
    assert result.exit_code == EXIT_USAGE and not result.published
    message = result.error or ""
    assert words in message
    assert "case_actions_x.csv" in message and f"column {COLUMN!r}" in message and "--exported-on" in message
    assert [value for value in _cells(path) if value in message] == []
    assert db.read_bytes() == before
    given = load(db, path, profile=profile, exported_on=date(2025, 5, 1))  # --exported-on wins over the column
    assert given.exit_code == 0, given.error
    assert query(db, "select exported_at from load_exports where file_name = 'case_actions_x.csv'") == [
        (datetime(2025, 5, 1),)
    ]


def test_the_export_date_column_is_stored_nowhere_and_not_judged_by_its_name(tmp_path):
    """A column "Summary Date" would be refused by its name (free text) were it not the export-date column;
    it is listed as not stored, and neither the table nor a quarantined row's raw_row holds it."""
    db, rows = _district(tmp_path)
    column = "Summary Date"
    profile = _profile(tmp_path, {"case_actions": {"column": column}})
    actions = [dict(rows["case_actions"][0], action_type="teleport"), rows["case_actions"][1]]  # one quarantined
    path = _actions(tmp_path / "f", "case_actions_s.csv", actions, ["03/31/2025", "03/31/2025"], column=column)
    result = load(db, path, profile=profile)
    assert result.exit_code == 0, result.error
    assert (result.files[0].rows_loaded, result.files[0].rows_quarantined) == (1, 1)
    assert query(db, "select ignored_columns from load_ledger where file_name = 'case_actions_s.csv'") == [
        ("Summary Date (the export date)",)
    ]
    assert query(db, "select exported_at from load_exports where file_name = 'case_actions_s.csv'") == [
        (datetime(2025, 3, 31),)
    ]
    raw_row = json.loads(query(db, "select raw_row from load_quarantine where file_name = 'case_actions_s.csv'")[0][0])
    assert set(raw_row) == {"action_id", "case_id", "action_date", "action_type"}
    text_columns = query(
        db, "select table_schema, table_name, column_name from information_schema.columns where data_type = 'VARCHAR'"
    )
    assert len(text_columns) > 20
    holding = [
        (table, name)
        for schema, table, name in text_columns
        if query(db, f'select count(*) from "{schema}"."{table}" where "{name}" like \'%03/31/2025%\'')[0][0]
    ]
    assert holding == []


def test_a_column_date_is_read_from_workbooks_parquet_and_windows_1252_text(tmp_path):
    import openpyxl
    import pyarrow as pa
    import pyarrow.parquet as pq

    db, rows = _district(tmp_path)
    profile = _profile(tmp_path, {"case_actions": {"column": COLUMN}})
    action = rows["case_actions"][0]
    folder = tmp_path / "kinds"
    folder.mkdir()
    book = openpyxl.Workbook()
    book.active.append([*action, f" {COLUMN.upper()} "])  # headers compare trimmed, case-insensitively
    book.active.append([*action.values(), datetime(2025, 2, 3)])
    book.save(folder / "case_actions_1.xlsx")
    pq.write_table(
        pa.table({**{k: [v] for k, v in action.items()}, COLUMN: pa.array([date(2025, 2, 4)])}),
        folder / "case_actions_2.parquet",
    )
    header = ",".join([*action, "Équipe", COLUMN])
    (folder / "case_actions_3.csv").write_bytes(
        f"{header}\n{','.join(action.values())},Nord-Est à l'école,02/05/2025\n".encode("cp1252")
    )
    result = load(db, folder, profile=profile)
    assert result.exit_code == 0, result.error
    assert query(
        db, f"select file_name, exported_at from load_exports where load_id = '{result.load_id}' order by 2"
    ) == [
        ("case_actions_1.xlsx", datetime(2025, 2, 3)),
        ("case_actions_2.parquet", datetime(2025, 2, 4)),
        ("case_actions_3.csv", datetime(2025, 2, 5)),
    ]


def test_a_pattern_given_for_one_entity_leaves_the_others_to_their_modified_times(tmp_path):
    db, rows = _district(tmp_path)
    schools = [dict(rows["schools"][0], school_name="Maple Elementary School"), rows["schools"][1]]
    cases = [dict(rows["btam_cases"][0], behavior="weapon"), *rows["btam_cases"][1:]]
    folder = tmp_path / "drop"
    _dated(write_entity(folder, "schools", schools), "2025-05-05")
    write_entity(folder, "btam_cases", cases, "btam_cases_03-31-2025.csv")
    flat = load(db, folder, profile=_profile(tmp_path, {"file_name": NAME_PATTERN}))
    assert flat.exit_code == EXIT_USAGE and "schools.csv" in (flat.error or "")  # every entity's names must be dated

    profile = _profile(tmp_path, {"btam_cases": {"file_name": NAME_PATTERN}})
    result = load(db, folder, profile=profile)
    assert result.exit_code == 0, result.error
    assert query(
        db, f"select file_name, exported_at from load_exports where load_id = '{result.load_id}' order by 1"
    ) == [
        ("btam_cases_03-31-2025.csv", datetime(2025, 3, 31)),
        ("schools.csv", datetime(2025, 5, 5, 12)),
    ]
    undated = write_entity(tmp_path / "late", "btam_cases", rows["btam_cases"], "btam_cases_latest.csv")
    refused = load(db, undated, profile=profile)
    assert refused.exit_code == EXIT_USAGE and "btam_cases_latest.csv" in (refused.error or "")
    assert "this name has none" in refused.error


@pytest.mark.parametrize(
    ("export_date", "words"),
    [
        ({"file_name": NAME_PATTERN, "column": COLUMN}, "one of the two"),
        ({"btam_cases": {"file_name": NAME_PATTERN, "column": COLUMN}}, "export_date.btam_cases must be"),
        ({"btam_case": {"column": COLUMN}}, "unknown key(s) 'btam_case'"),
        ({"columns": COLUMN}, "unknown key(s) 'columns'"),
        ({"column": COLUMN, "schools": {"column": COLUMN}}, "mixes the form for every entity (column)"),
        ({"schools": {}}, "export_date.schools must be"),
        ({"column": " "}, "export_date.column must be the header"),
        ({"case_actions": {"column": "Action Type"}}, "'Action Type' is a column case_actions stores"),
        ({"btam_cases": {"file_name": "(?P<year>\\d{4})"}}, "export_date.btam_cases.file_name must be"),
    ],
)
def test_a_wrong_export_date_is_a_profile_error_naming_it(tmp_path, export_date, words):
    profile = _profile(tmp_path, export_date)
    with pytest.raises(ProfileError) as raised:
        load_profile(profile)
    assert words in str(raised.value)
    result = load_files(tmp_path / "w.duckdb", [write_district(tmp_path / "in")], profile=profile)
    assert result.exit_code == EXIT_USAGE and words in (result.error or "")
