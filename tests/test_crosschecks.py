"""Issue 18 item 4: cross-table rules re-checked on every load for the children of changed parents, and
`pipelines requarantine` re-running the rows that waited for a parent."""

from __future__ import annotations

import json
from datetime import date

import duckdb

from pipelines.__main__ import main
from pipelines.export import write_exports
from pipelines.loader import load_files
from pipelines.requarantine import retry_quarantined
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


def _case2_reported(rows: dict, reported: str) -> list[dict]:
    """The btam_cases rows with CASE2 reported (and screened, assessed, planned) on `reported`."""
    cases = [dict(r) for r in rows["btam_cases"]]
    for case in cases:
        if case["case_id"] == "CASE2":
            case.update(reported_date=reported, screened_date=reported, assessed_date=reported)
            case["plan_written_date"] = reported
    return cases


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and "versions" not in p.name)


def test_a_case_moved_after_its_actions_moves_them_to_quarantine_and_export_still_runs(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    rows = valid_rows()
    assert load(db, write_district(tmp_path / "in", rows)).exit_code == 0
    # ACT2 (2025-01-16) now comes before its case; ACT3 (01-20) and REV1 (02-10) still fit
    fix = write_entity(tmp_path / "fix", "btam_cases", _case2_reported(rows, "2025-01-18"), "btam_cases_fix.csv")
    result = load(db, fix)
    assert result.exit_code == 0 and result.published
    assert query(db, "select action_id from case_actions order by 1") == [("ACT1",), ("ACT3",)]
    assert query(db, "select review_id from case_reviews") == [("REV1",)]
    assert query(db, "select cast(reported_date as varchar) from btam_cases where case_id = 'CASE2'") == [
        ("2025-01-18",)
    ]
    moved = query(db, "select load_id, file_name, entity, row_number, rule, detail, raw_row from load_quarantine")
    assert len(moved) == 1
    load_id, file_name, entity, row_number, rule, detail, raw_row = moved[0]
    assert (load_id, file_name, entity, row_number, rule) == (
        result.load_id,
        "case_actions.csv",
        "case_actions",
        0,
        "date_order:action_date",
    )
    assert "stored row moved by the re-check" in detail and "2025-01-18" in detail
    assert json.loads(raw_row) == {
        "action_id": "ACT2",
        "case_id": "CASE2",
        "action_date": "2025-01-16",
        "action_type": "safety_plan",
    }
    assert any("1 stored case_actions row(s)" in note and "newer parent was kept" in note for note in result.notes)
    con = duckdb.connect(str(db), read_only=True)
    try:  # the warehouse the load published is one the metrics accept
        written = write_exports(con, tmp_path / "out", AS_OF_DATE)
    finally:
        con.close()
    assert written["time_to_intervention.csv"] > 0
    assert _leftovers(tmp_path) == []


def test_a_case_moved_only_within_its_actions_moves_nothing(tmp_path):
    db = tmp_path / "w.duckdb"
    rows = valid_rows()
    load(db, write_district(tmp_path / "in", rows))
    fix = write_entity(tmp_path / "fix", "btam_cases", _case2_reported(rows, "2025-01-16"), "btam_cases_fix.csv")
    result = load(db, fix)
    assert result.exit_code == 0 and result.notes == []
    assert query(db, "select count(*) from case_actions")[0][0] == 3
    assert query(db, "select count(*) from load_quarantine")[0][0] == 0


def test_requarantine_reruns_rows_whose_parent_arrived(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    rows = valid_rows()
    cases = rows.pop("btam_cases")
    rows.pop("discipline_actions")
    first = load(db, write_district(tmp_path / "in", rows))
    assert first.exit_code == 0
    stuck = query(db, "select file_name, row_number, rule from load_quarantine order by 1, 2")
    assert stuck == [
        ("case_actions.csv", 1, "unknown_case"),
        ("case_actions.csv", 2, "unknown_case"),
        ("case_actions.csv", 3, "unknown_case"),
        ("case_reviews.csv", 1, "unknown_case"),
    ]
    # the cases arrive, but without CASE2: its rows stay quarantined, under their file and row number
    later = load(db, write_entity(tmp_path / "cases", "btam_cases", [c for c in cases if c["case_id"] != "CASE2"]))
    assert later.exit_code == 0
    assert main(["requarantine", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "case_actions.csv (case_actions): re-ran 3 quarantined row(s): loaded 1, still quarantined 2" in out
    assert query(db, "select action_id from case_actions") == [("ACT1",)]
    assert query(db, "select file_name, row_number, rule from load_quarantine order by 1, 2") == [
        ("case_actions.csv", 2, "unknown_case"),
        ("case_actions.csv", 3, "unknown_case"),
        ("case_reviews.csv", 1, "unknown_case"),
    ]
    ledger = query(db, "select file_name, status, rows_read, rows_loaded, rows_quarantined from load_ledger")
    assert ("case_actions.csv", "retried", 3, 1, 2) in ledger
    # CASE2 arrives: everything left loads, nothing stays in quarantine
    load(db, write_entity(tmp_path / "cases2", "btam_cases", cases, "btam_cases_all.csv"))
    again = retry_quarantined(db)
    assert again.exit_code == 0 and again.published
    assert query(db, "select count(*) from case_actions")[0][0] == 3
    assert query(db, "select count(*) from case_reviews")[0][0] == 1
    assert query(db, "select count(*) from load_quarantine")[0][0] == 0
    assert _leftovers(tmp_path) == []


def test_requarantine_puts_back_a_stored_row_moved_by_the_recheck(tmp_path):
    db = tmp_path / "w.duckdb"
    rows = valid_rows()
    load(db, write_district(tmp_path / "in", rows))
    load(db, write_entity(tmp_path / "fix", "btam_cases", _case2_reported(rows, "2025-01-18"), "btam_cases_a.csv"))
    assert query(db, "select count(*) from case_actions")[0][0] == 2
    # the correction is corrected back: ACT2 fits again once re-run
    load(db, write_entity(tmp_path / "fix2", "btam_cases", rows["btam_cases"], "btam_cases_b.csv"))
    result = retry_quarantined(db)
    assert result.exit_code == 0
    assert query(
        db,
        "select action_id, cast(action_date as varchar), action_type, action_category "
        "from case_actions where action_id = 'ACT2'",
    ) == [("ACT2", "2025-01-16", "safety_plan", "support")]
    assert query(db, "select count(*) from load_quarantine")[0][0] == 0


def test_requarantine_with_nothing_waiting_changes_nothing(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    load(db, write_district(tmp_path / "in"))
    before = db.read_bytes()
    assert main(["requarantine", "--db", str(db)]) == 0
    assert "no quarantined row is waiting for a parent" in capsys.readouterr().out
    assert db.read_bytes() == before
