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
    when = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)
    append(
        "view_case_rows",
        user="ana",
        role="coordinator",
        scope="coordinator|a|exact",
        detail={"page": "cases", "n_rows": 12},
        now=when,
        path=log,
    )
    append("export", user="bo", role="district", scope="district|*|exact", detail={"file": "oss.csv"}, path=log)
    records = read(path=log)
    assert [r["event"] for r in records] == ["view_case_rows", "export"]
    assert {k: v for k, v in records[0].items() if k not in audit_log.CHAIN_FIELDS} == {
        "time": "2025-03-01T09:30:00+00:00",
        "event": "view_case_rows",
        "user": "ana",
        "role": "coordinator",
        "scope": "coordinator|a|exact",
        "detail": {"page": "cases", "n_rows": 12},
    }
    assert read(path=log, event="export")[0]["user"] == "bo"
    assert read_frame(path=log).height == 2
    assert oct(os.stat(log).st_mode & 0o777) == "0o600"


def test_student_level_detail_is_refused(tmp_path):
    with pytest.raises(AuditError, match="student-level"):
        append(
            "download",
            user="x",
            role="district",
            scope="s",
            detail={"student_key": "S123456"},
            path=tmp_path / "log.jsonl",
        )
    with pytest.raises(AuditError, match="single value"):
        append(
            "download", user="x", role="district", scope="s", detail={"keys": ["S1", "S2"]}, path=tmp_path / "log.jsonl"
        )
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
    os.replace(replacement, warehouse)  # what a load does
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
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, path, tag, "100"], cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)}
        )
        for tag in ("a", "b")
    ]
    for w in workers:
        assert w.wait(timeout=300) == 0
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    assert len(lines) == 200
    records = [json.loads(line) for line in lines]
    for tag in ("a", "b"):
        assert [r["detail"]["i"] for r in records if r["user"] == tag] == list(range(100))
    # each writer chained onto the event really before it, never onto the same predecessor as the other
    assert [r["seq"] for r in records] == list(range(1, 201))
    assert audit_log.verify(path=path).ok and audit_log.verify(path=path).events == 200


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


def _three_events(log: Path) -> list[str]:
    for user in ("ana", "bo", "cy"):
        append(
            "download", user=user, role="district", scope="district|*|exact", detail={"file": f"{user}.csv"}, path=log
        )
    return log.read_text().splitlines()


def test_events_form_a_hash_chain(tmp_path):
    import hashlib

    log = tmp_path / "audit_log.jsonl"
    assert audit_log.verify(path=log).ok  # no log yet: nothing to break
    lines = _three_events(log)
    records = [json.loads(line) for line in lines]
    assert [r["seq"] for r in records] == [1, 2, 3]
    assert records[0]["prev"] == "0" * 64
    assert [r["prev"] for r in records[1:]] == [r["hash"] for r in records[:-1]]
    body = {k: v for k, v in records[1].items() if k != "hash"}  # recomputed here, not by the module
    assert records[1]["hash"] == hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    result = audit_log.verify(path=log)
    assert (result.ok, result.events, result.head) == (True, 3, records[2]["hash"])


def _rewrite(log: Path, lines: list[str]) -> None:
    log.write_text("".join(line + "\n" for line in lines))


def _edit(line: str, rehash: bool) -> str:
    record = json.loads(line)
    record["user"] = "someone else"
    if rehash:
        record["hash"] = audit_log._digest(record)
    return json.dumps(record, sort_keys=True)


@pytest.mark.parametrize(
    "tamper, broken_line, words",
    [
        (lambda ls: [ls[0], _edit(ls[1], rehash=False), ls[2]], 2, "does not match its hash"),
        (lambda ls: [ls[0], _edit(ls[1], rehash=True), ls[2]], 3, "does not link"),
        (lambda ls: [ls[0], ls[2]], 2, "event number 3 where 2"),
        (lambda ls: [ls[0], ls[2], ls[1]], 2, "event number 3 where 2"),
        (lambda ls: [ls[0], '{"event": "login", "user": "x"}', ls[1], ls[2]], 2, "not a chained event"),
        (lambda ls: [_edit(ls[0], rehash=True), ls[1], ls[2]], 2, "does not link"),
    ],
)
def test_an_edit_anywhere_breaks_the_chain_at_that_line(tmp_path, tamper, broken_line, words):
    log = tmp_path / "audit_log.jsonl"
    _rewrite(log, tamper(_three_events(log)))
    result = audit_log.verify(path=log)
    assert not result.ok and result.line == broken_line and words in result.problem


def test_lines_from_before_the_chain_are_accepted_only_ahead_of_it(tmp_path):
    log = tmp_path / "audit_log.jsonl"
    old = [
        json.dumps(
            {
                "time": "2025-01-01T00:00:00+00:00",
                "event": "login",
                "user": u,
                "role": "admin",
                "scope": "admin|*|exact",
                "detail": {},
            },
            sort_keys=True,
        )
        for u in ("ana", "bo")
    ]
    _rewrite(log, old)
    append("load", user="ana", role="admin", scope="admin|*|exact", path=log)
    result = audit_log.verify(path=log)
    assert (result.ok, result.events, result.legacy_lines) == (True, 1, 2)
    lines = log.read_text().splitlines()
    _rewrite(log, [lines[0], lines[1].replace("bo", "eve"), lines[2]])  # the old lines are covered too
    assert audit_log.verify(path=log).line == 3


def _cli(*argv: str) -> int:
    import argparse

    from access import audit_cli

    parser = argparse.ArgumentParser()
    audit_cli.add_arguments(parser)
    return audit_cli.run(parser.parse_args(list(argv)))


def test_cli_verify_reports_intact_broken_and_cut_off_logs(tmp_path, capsys):
    log = tmp_path / "audit_log.jsonl"
    lines = _three_events(log)
    assert _cli("--audit-log", str(log), "--verify") == 0
    out = capsys.readouterr().out
    head = out.split("head ")[1].strip()
    assert "3 chained events" in out and head == f"3:{json.loads(lines[2])['hash']}"
    append("login", user="ana", role="admin", scope="admin|*|exact", path=log)
    assert _cli("--audit-log", str(log), "--verify", "--expect-head", head) == 0  # grew: still contains it
    capsys.readouterr()
    _rewrite(log, lines[:2])  # the tail cut off
    assert _cli("--audit-log", str(log), "--verify") == 0  # a shorter chain is valid...
    assert _cli("--audit-log", str(log), "--verify", "--expect-head", head) == 1  # ...but the head is gone
    assert "cut off" in capsys.readouterr().err
    _rewrite(log, [lines[0], _edit(lines[1], rehash=False)])
    assert _cli("--audit-log", str(log), "--verify") == 1
    err = capsys.readouterr().err
    assert "line 2" in err and "intact before it: 1 event(s)" in err
    assert _cli("--audit-log", str(log), "--verify", "--expect-head", "nonsense") == 1  # broken wins


def test_verify_through_the_pipelines_command(tmp_path):
    log = tmp_path / "audit_log.jsonl"
    _three_events(log)
    repo = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-m", "pipelines", "audit", "--verify", "--audit-log", str(log)],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "intact: 3 chained events" in done.stdout
