"""Audit log: append-only, outside the warehouse, no interleaving, no student values."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from access import audit_log
from access.audit_log import AuditError, append, log_path_for_warehouse, read, read_frame


def test_events_are_recorded_with_who_and_scope(tmp_path):
    log = tmp_path / "audit_log.jsonl"
    when = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.timezone.utc)
    append("view_case_rows", user="ana", role="coordinator", scope="coordinator|a|exact",
           detail={"page": "cases", "n_rows": 12},
           now=when, path=log)
    append("export", user="bo", role="district", scope="district|*|exact", detail={"file": "oss.csv"}, path=log)
    records = read(path=log)
    assert [r["event"] for r in records] == ["view_case_rows", "export"]
    assert records[0] == {"time": "2025-03-01T09:30:00+00:00", "event": "view_case_rows", "user": "ana",
                          "role": "coordinator", "scope": "coordinator|a|exact",
                          "detail": {"page": "cases", "n_rows": 12}}
    assert read(path=log, event="export")[0]["user"] == "bo"
    assert read_frame(path=log).height == 2
    assert oct(os.stat(log).st_mode & 0o777) == "0o600"


def test_student_level_detail_is_refused(tmp_path):
    with pytest.raises(AuditError, match="student-level"):
        append("download", user="x", role="district", scope="s", detail={"student_key": "S123456"},
               path=tmp_path / "log.jsonl")
    with pytest.raises(AuditError, match="single value"):
        append("download", user="x", role="district", scope="s", detail={"keys": ["S1", "S2"]},
               path=tmp_path / "log.jsonl")
    with pytest.raises(AuditError, match="unknown audit event"):
        append("delete_everything", user="x", role="admin", scope="s", path=tmp_path / "log.jsonl")


def test_no_function_changes_or_removes_events():
    public = {n for n in dir(audit_log) if not n.startswith("_")}
    assert not {n for n in public if any(w in n for w in ("update", "delete", "remove", "clear", "truncate"))}


def test_log_survives_a_warehouse_replacement(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    log = log_path_for_warehouse(warehouse)
    append("load", user="admin", role="admin", scope="admin|*|exact", detail={"files": 3}, path=log)
    replacement = tmp_path / "warehouse.next.duckdb"
    con = duckdb.connect(str(replacement))
    con.execute("create table t as select 1 as x")
    con.close()
    os.replace(replacement, warehouse)                      # what a load does
    append("login", user="ana", role="district", scope="district|*|exact", path=log)
    assert [r["event"] for r in read(path=log)] == ["load", "login"]
    assert log.parent == warehouse.parent and log != warehouse


WRITER = """
import sys
from access.audit_log import append
path, tag, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(count):
    append("download", user=tag, role="district", scope="district|*|exact", detail={"i": i, "pad": tag * 150},
           path=path)
"""


def test_concurrent_appends_from_two_processes_do_not_interleave(tmp_path):
    # Plain subprocesses, not multiprocessing: a spawned child re-imports whatever module ran as
    # __main__ in this worker (after an AppTest run, that is app.py).
    path = str(tmp_path / "audit_log.jsonl")
    repo = Path(__file__).resolve().parent.parent
    workers = [subprocess.Popen([sys.executable, "-c", WRITER, path, tag, "100"], cwd=repo,
                                env={**os.environ, "PYTHONPATH": str(repo)}) for tag in ("a", "b")]
    for w in workers:
        assert w.wait(timeout=300) == 0
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    assert len(lines) == 200
    records = [json.loads(line) for line in lines]
    for tag in ("a", "b"):
        assert [r["detail"]["i"] for r in records if r["user"] == tag] == list(range(100))


def test_cli_reads_the_log(tmp_path, capsys):
    import argparse

    from access import audit_cli
    log = tmp_path / "audit_log.jsonl"
    append("export", user="bo", role="district", scope="district|*|exact", detail={"file": "oss.csv"}, path=log)
    append("login", user="ana", role="admin", scope="admin|*|exact", path=log)
    parser = argparse.ArgumentParser()
    audit_cli.add_arguments(parser)
    assert audit_cli.run(parser.parse_args(["--audit-log", str(log), "--event", "export"])) == 0
    out = capsys.readouterr().out
    assert "bo" in out and "file=oss.csv" in out and "ana" not in out
