"""Command-line loads, mart rebuilds, exports and reports are audit events like the dashboard's (issue 16)."""

from __future__ import annotations

import shutil

from access import audit_log
from pipelines.__main__ import main


def test_cli_export_and_marts_are_in_the_chained_audit_log(demo_warehouse, tmp_path, monkeypatch):
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse(students=1000), db)  # its own copy: marts rewrites the file
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv(audit_log.ENV_VAR, str(log))
    monkeypatch.setenv("USER", "data-office")
    assert main(["export", "--db", str(db), "--out", str(tmp_path / "out")]) == 0
    assert main(["marts", "--db", str(db)]) == 0
    events = audit_log.read(path=log)
    assert [e["event"] for e in events] == ["export", "marts"]
    assert all(e["user"] == "data-office" and e["scope"] == "cli" for e in events)
    assert events[0]["detail"]["exit_code"] == 0 and events[0]["detail"]["out"] == str(tmp_path / "out")
    assert audit_log.verify(path=log).ok


def test_a_failed_cli_load_is_audited_with_its_exit_code_beside_its_warehouse(tmp_path, monkeypatch):
    monkeypatch.delenv(audit_log.ENV_VAR, raising=False)
    db = tmp_path / "w" / "warehouse.duckdb"
    db.parent.mkdir()
    missing = tmp_path / "no-such-folder"
    code = main(["load", str(missing), "--db", str(db), "--quiet"])
    assert code != 0
    [event] = audit_log.read(path=db.parent / "audit_log.jsonl")
    assert event["event"] == "load" and event["detail"]["exit_code"] == code and event["detail"]["files"] == 1
