"""Other sessions on the warehouse (issue 18 item 5): a stale WAL is folded in, a read-write session or an
orphan WAL makes the load refuse in words, a damaged file is named in words by status and load."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines import sessions
from pipelines.__main__ import main
from pipelines.loader import EXIT_WAREHOUSE, load_files
from tests.interchange_files import AS_OF, valid_rows, write_district, write_entity

REPO = Path(__file__).resolve().parent.parent
AS_OF_DATE = date.fromisoformat(AS_OF)

# A DuckDB session that writes and then dies without a checkpoint (os._exit), or holds the file open.
SESSION = r"""
import os, sys, time
import duckdb
con = duckdb.connect(sys.argv[1])
con.execute("pragma disable_checkpoint_on_shutdown")
con.execute("set wal_autocheckpoint = '10GB'")
con.execute("create table analyst_notes (note_id integer, note varchar)")
con.execute("insert into analyst_notes values (1, 'a'), (2, 'b'), (3, 'c')")
if sys.argv[2] == "hold":
    print("open", flush=True)
    time.sleep(120)
os._exit(0)
"""


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(
        p.name
        for p in folder.iterdir()
        if (p.name.startswith(".") and not p.name.endswith(".versions")) or p.name.endswith((".wal", ".tmp"))
    )


@pytest.fixture
def warehouse(tmp_path) -> Path:
    db = tmp_path / "w.duckdb"
    result = load_files(db, [write_district(tmp_path / "base")], as_of=AS_OF_DATE)
    assert result.published, result.error
    return db


def new_enrollment(tmp_path: Path) -> Path:
    row = dict(valid_rows()["enrollment"][0], student_key="late0001")
    return write_entity(tmp_path / "more", "enrollment", [row], name="enrollment_more.csv")


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_stale_wal_of_a_dead_session_is_folded_into_the_next_version(warehouse, tmp_path, capsys):
    subprocess.run([sys.executable, "-c", SESSION, str(warehouse), "die"], check=True)
    assert sessions.wal_of(warehouse).exists()
    code, out, err = run_cli(
        capsys, "load", str(new_enrollment(tmp_path)), "--db", str(warehouse), "--as-of", AS_OF, "--quiet"
    )
    assert code == 0, err
    assert "w.duckdb.wal: writes of a session that ended without a checkpoint were folded" in out
    assert "published" in out
    assert leftovers(tmp_path) == []  # no .wal, no build copy
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.sql("select count(*) from analyst_notes").fetchall() == [(3,)]
        assert con.sql("select count(*) from enrollment where student_key = 'late0001'").fetchall() == [(1,)]
    finally:
        con.close()
    code, out, err = run_cli(capsys, "status", "--db", str(warehouse))
    assert code == 0 and "enrollment_more.csv" in out, err


def test_a_load_refuses_while_a_read_write_session_holds_the_warehouse(warehouse, tmp_path, capsys):
    before = digest(warehouse)
    session = subprocess.Popen(
        [sys.executable, "-c", SESSION, str(warehouse), "hold"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert session.stdout.readline().strip() == "open"
        code, out, err = run_cli(
            capsys, "load", str(new_enrollment(tmp_path)), "--db", str(warehouse), "--as-of", AS_OF, "--quiet"
        )
        assert code == EXIT_WAREHOUSE
        assert f"is open read-write in another session: process {session.pid}" in err
        assert f"duckdb -readonly {warehouse}" in err and "the warehouse is unchanged" in err
        assert "Traceback" not in err and "published" not in out
    finally:
        session.kill()
        session.wait()
    assert digest(warehouse) == before
    assert [p for p in leftovers(tmp_path) if p != "w.duckdb.wal"] == []
    # the session is gone, its WAL stale: the next load keeps its writes
    result = load_files(warehouse, [new_enrollment(tmp_path)], as_of=AS_OF_DATE)
    assert result.published, result.error
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.sql("select count(*) from analyst_notes").fetchall() == [(3,)]
    finally:
        con.close()


def test_a_wal_written_while_the_load_built_stops_the_publish(warehouse):
    copied = sessions.wal_digest(warehouse)
    assert copied is None
    subprocess.run([sys.executable, "-c", SESSION, str(warehouse), "die"], check=True)
    with pytest.raises(sessions.SessionHoldsWarehouse, match="another session wrote to .* while this load"):
        sessions.check_before_publish(warehouse, copied)
    sessions.check_before_publish(warehouse, sessions.wal_digest(warehouse))  # the same WAL: nothing changed


def test_an_orphan_wal_is_named_with_what_to_do(warehouse, tmp_path, capsys):
    other = tmp_path / "other.duckdb"
    subprocess.run([sys.executable, "-c", SESSION, str(other), "die"], check=True)
    sessions.wal_of(other).rename(sessions.wal_of(warehouse))  # a log that belongs to another file
    before = digest(warehouse)
    for argv in (
        ("status", "--db", str(warehouse)),
        ("load", str(new_enrollment(tmp_path)), "--db", str(warehouse), "--as-of", AS_OF, "--quiet"),
    ):
        code, out, err = run_cli(capsys, *argv)
        assert code == EXIT_WAREHOUSE, argv
        assert "w.duckdb.wal does not belong to" in err and f"mv {warehouse}.wal {warehouse}.wal.orphan" in err
        assert "Traceback" not in err and "free disk space" not in err
    assert digest(warehouse) == before
    assert [p for p in leftovers(tmp_path) if p != "w.duckdb.wal"] == []
    # doing what the message says works
    sessions.wal_of(warehouse).rename(tmp_path / "w.duckdb.wal.orphan")
    code, out, err = run_cli(capsys, "status", "--db", str(warehouse))
    assert code == 0, err


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_warehouse_gets_words_not_a_traceback(warehouse, tmp_path, capsys, damage):
    if damage == "garbage":
        warehouse.write_bytes(b"not a warehouse " * 4096)
    else:
        data = warehouse.read_bytes()
        warehouse.write_bytes(data[: len(data) // 3])
    before = digest(warehouse)
    for argv in (
        ("status", "--db", str(warehouse)),
        ("load", str(new_enrollment(tmp_path)), "--db", str(warehouse), "--as-of", AS_OF, "--quiet"),
    ):
        code, out, err = run_cli(capsys, *argv)
        assert code == EXIT_WAREHOUSE, (argv, out, err)
        assert re.search(rf"{re.escape(str(warehouse))} is damaged \(.+\)\. Nothing was changed", err), err
        assert f"mv {warehouse} {warehouse}.damaged" in err
        assert "Traceback" not in err and "free disk space" not in err
    assert digest(warehouse) == before
    assert leftovers(tmp_path) == []


def test_the_state_reference_recipe_never_opens_the_warehouse_read_write(warehouse, tmp_path, capsys):
    text = (REPO / "docs" / "INTERCHANGE.md").read_text()
    section = text.split("## Extension: state_reference", 1)[1].split("\n## ", 1)[0]
    assert "duckdb -readonly" in section
    recipe = re.search(r"python - <<'PY'\n(.*?)\nPY\n", section, re.S).group(1)
    assert "duckdb.connect(" not in recipe
    (tmp_path / "state_reference.csv").write_text(
        "school_year,outcome,dimension,group,n,k\n2023-24,btam_referral,race_ethnicity,bl,1000,12\n"
    )
    # while a read-write session holds the warehouse, the recipe refuses and changes nothing
    session = subprocess.Popen(
        [sys.executable, "-c", SESSION, str(warehouse), "hold"], stdout=subprocess.PIPE, text=True
    )
    script = recipe.replace("data/warehouse.duckdb", str(warehouse)).replace(
        "sql/warehouse/state_reference.sql", str(REPO / "sql" / "warehouse" / "state_reference.sql")
    )
    try:
        assert session.stdout.readline().strip() == "open"
        held = subprocess.run(
            [sys.executable, "-c", script],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        )
        assert held.returncode != 0 and "is open read-write in another session" in held.stderr
    finally:
        session.kill()
        session.wait()
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.sql('select school_year, "group", n, k from state_reference').fetchall() == [
            ("2023-24", "bl", 1000, 12)
        ]
        assert con.sql("select count(*) from analyst_notes").fetchall() == [(3,)]
    finally:
        con.close()
    assert leftovers(tmp_path) == []
