"""Issue 18 item 3: snapshot or increment, stated; export dates order versions; absent columns keep values."""

from __future__ import annotations

import os
from datetime import date, datetime

import duckdb

from pipelines.__main__ import main
from pipelines.loader import EXIT_OLDER, load_files
from tests.interchange_files import AS_OF, valid_rows, write_district, write_entity

AS_OF_DATE = date.fromisoformat(AS_OF)


def load(db, *paths, **kwargs):
    return load_files(db, list(paths), as_of=AS_OF_DATE, **kwargs)


def query(db, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def _dated(path, day: str):
    stamp = datetime.fromisoformat(day + "T12:00:00").timestamp()
    os.utime(path, (stamp, stamp))
    return path


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and "versions" not in p.name)


def test_a_snapshot_deletes_the_rows_it_no_longer_holds_and_says_how_many(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    rows = valid_rows()
    load(db, write_district(tmp_path / "in", rows))
    actions = [r for r in rows["case_actions"] if r["action_id"] != "ACT3"]
    path = write_entity(tmp_path / "full", "case_actions", actions, "case_actions_full.csv")
    assert main(["load", str(path), "--db", str(db), "--as-of", AS_OF, "--snapshot", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "snapshot of 2024-25: deleted 1 stored row(s) absent from the file" in out
    assert query(db, "select action_id from case_actions order by 1") == [("ACT1",), ("ACT2",)]
    assert query(db, "select message from load_ledger where file_name = 'case_actions_full.csv'") == [
        ("snapshot of 2024-25: 1 stored row(s) absent from the file deleted",)
    ]
    assert _leftovers(tmp_path) == []


def test_an_increment_deletes_nothing(tmp_path):
    db = tmp_path / "w.duckdb"
    rows = valid_rows()
    load(db, write_district(tmp_path / "in", rows))
    actions = [r for r in rows["case_actions"] if r["action_id"] != "ACT3"]
    result = load(db, write_entity(tmp_path / "inc", "case_actions", actions, "case_actions_inc.csv"))
    assert result.exit_code == 0 and result.files[0].rows_deleted == 0
    assert query(db, "select count(*) from case_actions")[0][0] == 3


def test_a_snapshot_only_deletes_within_its_school_years(tmp_path):
    db = tmp_path / "w.duckdb"
    rows = valid_rows()
    old_year = [dict(r, school_year="2023-24") for r in rows["enrollment"][:2]]
    rows["enrollment"] = rows["enrollment"] + old_year
    load(db, write_district(tmp_path / "in", rows))
    # the 2024-25 snapshot drops stu0008 (no case names it); 2023-24 is outside its scope and stays
    current = [r for r in valid_rows()["enrollment"] if r["student_key"] != "stu0008"]
    result = load(db, write_entity(tmp_path / "snap", "enrollment", current, "enrollment_snap.csv"), mode="snapshot")
    assert result.exit_code == 0
    assert (result.files[0].rows_deleted, result.files[0].scope) == (1, ["2024-25"])
    assert query(db, "select school_year, count(*) from enrollment group by 1 order by 1") == [
        ("2023-24", 2),
        ("2024-25", 7),
    ]


def test_a_snapshot_that_drops_a_parent_moves_its_children_to_quarantine(tmp_path):
    """A snapshot of enrollment without stu0006: the student's case moves to quarantine (not_enrolled),
    and with it the case's actions and review, and the student's discipline row."""
    db = tmp_path / "w.duckdb"
    rows = valid_rows()
    load(db, write_district(tmp_path / "in", rows))
    enrollment = [r for r in rows["enrollment"] if r["student_key"] != "stu0006"]
    result = load(db, write_entity(tmp_path / "fix", "enrollment", enrollment, "enrollment_fix.csv"), mode="snapshot")
    assert result.exit_code == 0
    assert query(db, "select entity, rule, count(*) from load_quarantine group by all order by 1, 2") == [
        ("btam_cases", "not_enrolled", 1),
        ("case_actions", "unknown_case", 2),
        ("case_reviews", "unknown_case", 1),
        ("discipline_actions", "not_enrolled", 1),
    ]
    assert query(db, "select case_id from btam_cases order by 1") == [("CASE1",), ("CASE3",)]
    assert query(db, "select action_id from discipline_actions") == [("DIS2",)]


def test_a_profile_declares_snapshots(tmp_path):
    import json

    profile = tmp_path / "district.json"
    profile.write_text(json.dumps({"name": "district", "mode": {"case_actions": "snapshot"}}))
    db = tmp_path / "w.duckdb"
    rows = valid_rows()
    load(db, write_district(tmp_path / "in", rows))
    actions = rows["case_actions"][:1]
    result = load(db, write_entity(tmp_path / "p", "case_actions", actions, "case_actions_p.csv"), profile=str(profile))
    assert result.exit_code == 0 and result.files[0].mode == "snapshot" and result.files[0].rows_deleted == 2


def test_an_older_export_never_overwrites_a_newer_one_unless_forced(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    rows = valid_rows()
    load(db, write_district(tmp_path / "in", rows), exported_on=date(2024, 9, 1))
    newer = [dict(rows["case_actions"][0], action_type="restorative")]
    older = [dict(rows["case_actions"][0], action_type="supervision")]
    new_path = _dated(write_entity(tmp_path / "n", "case_actions", newer, "case_actions_03-31-2025.csv"), "2025-03-31")
    old_path = _dated(write_entity(tmp_path / "o", "case_actions", older, "case_actions_12-31-2024.csv"), "2024-12-31")
    assert load(db, new_path).exit_code == 0
    before = db.read_bytes()
    refused = load(db, old_path)
    assert refused.exit_code == EXIT_OLDER and not refused.published
    assert "case_actions_12-31-2024.csv (exported 2024-12-31 12:00) is older than case_actions_03-31-2025.csv" in (
        refused.error or ""
    )
    assert "--force" in refused.error
    assert db.read_bytes() == before
    assert query(db, "select action_type from case_actions where action_id = 'ACT1'") == [("restorative",)]
    forced = load(db, old_path, force=True)
    assert forced.exit_code == 0
    assert query(db, "select action_type from case_actions where action_id = 'ACT1'") == [("supervision",)]
    assert _leftovers(tmp_path) == []


def test_exported_on_orders_versions_too(tmp_path):
    db = tmp_path / "w.duckdb"
    rows = valid_rows()
    load(db, write_district(tmp_path / "in", rows), exported_on=date(2025, 5, 1))
    older = write_entity(tmp_path / "o", "case_actions", rows["case_actions"][:1], "case_actions_old.csv")
    result = load(db, older, exported_on=date(2025, 4, 1))
    assert result.exit_code == EXIT_OLDER and "case_actions.csv (exported 2025-05-01 00:00)" in (result.error or "")


def test_a_folder_takes_files_by_export_date_not_by_name(tmp_path):
    db = tmp_path / "w.duckdb"
    rows = valid_rows()
    load(db, write_district(tmp_path / "in", rows), exported_on=date(2024, 9, 1))
    folder = tmp_path / "drop"
    base = rows["case_actions"][0]
    # by name 12-31-2024 sorts after 03-31-2025 and v9 after v10; by export date the March file is newest
    _dated(
        write_entity(folder, "case_actions", [dict(base, action_type="supervision")], "case_actions_12-31-2024.csv"),
        "2024-12-31",
    )
    _dated(
        write_entity(folder, "case_actions", [dict(base, action_type="restorative")], "case_actions_03-31-2025.csv"),
        "2025-03-31",
    )
    result = load(db, folder)
    assert result.exit_code == 0
    assert [f.file_name for f in result.files] == ["case_actions_12-31-2024.csv", "case_actions_03-31-2025.csv"]
    assert query(db, "select action_type from case_actions where action_id = 'ACT1'") == [("restorative",)]
    versions = tmp_path / "v"
    for name, kind in (("case_actions_v10.csv", "parent_conference"), ("case_actions_v9.csv", "schedule_change")):
        _dated(write_entity(versions, "case_actions", [dict(base, action_type=kind)], name), "2025-04-01")
    load(db, versions)  # same export date: v9 before v10, so v10 wins
    assert query(db, "select action_type from case_actions where action_id = 'ACT1'") == [("parent_conference",)]


NAME_DATES = {"name": "dated", "export_date": {"file_name": r"_(?P<month>\d\d)-(?P<day>\d\d)-(?P<year>\d{4})"}}


def test_a_profile_reads_export_dates_from_file_names_over_modified_times(tmp_path):
    """Copied files all carry today's modified time: the profile's name pattern orders them instead, and an
    older export named so is refused however new its copy is. --exported-on wins over the name."""
    import json

    profile = tmp_path / "dated.json"
    profile.write_text(json.dumps(NAME_DATES))
    db = tmp_path / "w.duckdb"
    rows = valid_rows()
    load(db, write_district(tmp_path / "in", rows), exported_on=date(2024, 9, 1))
    base = rows["case_actions"][0]
    folder = tmp_path / "drop"
    # modified times the wrong way round: the December export copied last
    _dated(
        write_entity(folder, "case_actions", [dict(base, action_type="restorative")], "case_actions_03-31-2025.csv"),
        "2025-01-01",
    )
    _dated(
        write_entity(folder, "case_actions", [dict(base, action_type="supervision")], "case_actions_12-31-2024.csv"),
        "2025-06-01",
    )
    result = load(db, folder, profile=str(profile))
    assert result.exit_code == 0, result.error
    assert [f.file_name for f in result.files] == ["case_actions_12-31-2024.csv", "case_actions_03-31-2025.csv"]
    assert query(db, "select action_type from case_actions where action_id = 'ACT1'") == [("restorative",)]
    assert query(db, "select file_name, exported_at from load_exports where file_name like '%-20%' order by 2") == [
        ("case_actions_12-31-2024.csv", datetime(2024, 12, 31)),
        ("case_actions_03-31-2025.csv", datetime(2025, 3, 31)),
    ]
    resent = _dated(
        write_entity(
            tmp_path / "again",
            "case_actions",
            [dict(base, action_type="parent_conference")],
            "case_actions_12-30-2024.csv",
        ),
        "2026-01-01",
    )
    before = db.read_bytes()
    refused = load(db, resent, profile=str(profile))
    assert refused.exit_code == EXIT_OLDER and "exported 2024-12-30 00:00" in (refused.error or "")
    assert db.read_bytes() == before
    flagged = load(db, resent, profile=str(profile), exported_on=date(2025, 4, 2))  # the flag wins
    assert flagged.exit_code == 0, (flagged.error, flagged.files, flagged.notes)
    assert flagged.files[0].rows_loaded == 1
    assert query(db, "select action_type from case_actions where action_id = 'ACT1'") == [("parent_conference",)]


def _warehouse_with_dated_profile(tmp_path):
    """A warehouse loaded from the valid district (exported 2024-09-01) and a profile reading export dates from
    file names (NAME_DATES): (profile path, warehouse path, the rows loaded)."""
    import json

    profile = tmp_path / "dated.json"
    profile.write_text(json.dumps(NAME_DATES))
    db = tmp_path / "w.duckdb"
    rows = valid_rows()
    load(db, write_district(tmp_path / "in", rows), exported_on=date(2024, 9, 1))
    return profile, db, rows


def test_a_name_without_the_profiles_date_refuses_the_load_and_says_what_to_do(tmp_path):
    import json

    from pipelines.loader import EXIT_USAGE
    from pipelines.profiles import ProfileError, load_profile

    profile, db, rows = _warehouse_with_dated_profile(tmp_path)
    before = db.read_bytes()
    for name, words in (
        ("case_actions_latest.csv", "this name has none"),
        ("case_actions_13-31-2024.csv", "2024-13-31 in its name is not a date"),
    ):
        path = write_entity(tmp_path / name, "case_actions", rows["case_actions"][:1], name)
        result = load(db, path, profile=str(profile))
        assert result.exit_code == EXIT_USAGE and not result.published
        assert words in (result.error or "") and "--exported-on" in result.error and name in result.error
        assert db.read_bytes() == before
    for wrong in ({"file_name": "(?P<year>\\d{4})"}, {"file_name": "(unclosed"}, {"column": ""}):
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"name": "bad", "export_date": wrong}))
        try:
            load_profile(str(bad))
        except ProfileError as exc:
            assert "export_date" in str(exc)
        else:
            raise AssertionError(f"profile with export_date {wrong} was accepted")


def test_an_optional_date_group_that_matches_nothing_is_not_a_date(tmp_path):
    import re

    import pytest

    from pipelines.snapshots import UndatedExport, exported_at

    pattern = re.compile(r"_(?P<month>\d\d)?-(?P<day>\d\d)-(?P<year>\d{4})")
    assert exported_at(tmp_path / "cases_03-31-2025.csv", None, pattern) == datetime(2025, 3, 31)
    with pytest.raises(UndatedExport, match="2024--31 in its name is not a date"):
        exported_at(tmp_path / "cases_-31-2024.csv", None, pattern)


def test_a_column_absent_from_a_later_file_keeps_its_stored_values(tmp_path):
    db = tmp_path / "w.duckdb"
    rows = valid_rows()
    load(db, write_district(tmp_path / "in", rows))
    without = [
        {k: v for k, v in r.items() if k not in ("closed_date", "plan_written_date")} for r in rows["btam_cases"]
    ]
    without[0]["behavior"] = "weapon"
    result = load(db, write_entity(tmp_path / "later", "btam_cases", without, "btam_cases_later.csv"))
    assert result.exit_code == 0 and result.files[0].rows_quarantined == 0
    assert query(
        db,
        "select case_id, behavior, cast(closed_date as varchar), cast(plan_written_date as varchar) "
        "from btam_cases order by 1",
    ) == [
        ("CASE1", "weapon", "2024-10-30", None),
        ("CASE2", "verbal_threat", None, "2025-01-17"),
        ("CASE3", "verbal_threat", "2025-03-04", None),
    ]


def test_an_export_date_after_the_as_of_date_refuses_the_load(tmp_path, capsys):
    """A typo in a file's name (2052 for 2025) or in --exported-on would make that export the newest for ever,
    so no later correction could replace its rows: it is refused like a column's date after the as-of date.
    A modified time after it is the machine's clock, not a claim, and is taken (a copy made today)."""

    from pipelines.loader import EXIT_USAGE

    profile, db, rows = _warehouse_with_dated_profile(tmp_path)
    before = db.read_bytes()
    named = write_entity(tmp_path / "n", "case_actions", rows["case_actions"][:1], "case_actions_03-31-2052.csv")
    result = load(db, named, profile=str(profile))
    assert result.exit_code == EXIT_USAGE and not result.published
    assert "case_actions_03-31-2052.csv: the export date in its name is after the load's as-of date" in result.error
    assert f"as-of date {AS_OF}" in result.error and "--exported-on" in result.error
    later = AS_OF_DATE.replace(year=AS_OF_DATE.year + 1)
    plain = write_entity(tmp_path / "p", "case_actions", rows["case_actions"][:1], "case_actions.csv")
    flagged = load(db, plain, exported_on=later)
    assert flagged.exit_code == EXIT_USAGE and f"--exported-on {later:%Y-%m-%d} is after" in (flagged.error or "")
    assert db.read_bytes() == before and _leftovers(tmp_path) == []
    code = main(["load", str(plain), "--db", str(db), "--as-of", AS_OF, "--exported-on", f"{later:%Y-%m-%d}"])
    assert code == EXIT_USAGE and "an export cannot come from the future" in capsys.readouterr().err
    _dated(plain, (AS_OF_DATE.replace(year=AS_OF_DATE.year + 1)).isoformat())  # a modified time is taken
    assert load(db, plain).exit_code == 0
