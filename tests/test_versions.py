"""The previous versions of the warehouse and `pipelines rollback` (issue 18 item 5)."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import duckdb

from pipelines import versions
from pipelines.__main__ import main
from pipelines.loader import EXIT_WAREHOUSE, load_files
from tests.interchange_files import AS_OF, valid_rows, write_district, write_entity
from tests.test_sessions import SESSION, digest

AS_OF_DATE = date.fromisoformat(AS_OF)


def ledger_files(db) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql("select count(*) from load_ledger").fetchall()[0][0]
    finally:
        con.close()


def load_more(db, tmp_path, i: int) -> None:
    row = dict(valid_rows()["enrollment"][0], student_key=f"more{i:04d}")
    path = write_entity(tmp_path / f"more{i}", "enrollment", [row], name=f"enrollment_more{i}.csv")
    assert load_files(db, [path], as_of=AS_OF_DATE).published


def test_the_last_three_versions_are_kept_and_rollback_puts_one_back(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    assert load_files(db, [write_district(tmp_path / "base")], as_of=AS_OF_DATE).published
    base_files = ledger_files(db)
    for i in range(4):
        load_more(db, tmp_path, i)
    kept = versions.kept(db)
    assert len(kept) == 3
    assert [ledger_files(p) for p in kept] == [base_files + 3, base_files + 2, base_files + 1]
    assert ledger_files(db) == base_files + 4

    assert main(["rollback", "--list", "--db", str(db)]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in listing] == [p.stem for p in kept]
    assert f"{base_files + 3:,} files loaded" in listing[0]

    assert main(["rollback", "--db", str(db)]) == 0
    assert "rolled back to " + kept[0].stem in capsys.readouterr().out
    assert ledger_files(db) == base_files + 3
    after = versions.kept(db)
    assert len(after) == 3 and after[0].stem.endswith("before-rollback")
    assert ledger_files(after[0]) == base_files + 4  # the rollback can itself be undone

    assert after[1:] == kept[:2]  # the oldest was dropped to keep three
    assert main(["rollback", "--db", str(db), "--to", after[2].stem]) == 0
    assert ledger_files(db) == base_files + 2
    assert main(["rollback", "--db", str(db), "--to", "no-such-version"]) == 2
    assert "not a kept version" in capsys.readouterr().err
    assert not list(tmp_path.glob(".w.duckdb.building-*"))


def test_a_damaged_warehouse_is_rolled_back_and_a_session_blocks_a_rollback(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    assert load_files(db, [write_district(tmp_path / "base")], as_of=AS_OF_DATE).published
    assert main(["rollback", "--db", str(db)]) == 2
    assert "no previous version" in capsys.readouterr().err
    load_more(db, tmp_path, 0)
    good = ledger_files(db)
    load_more(db, tmp_path, 1)
    session = subprocess.Popen([sys.executable, "-c", SESSION, str(db), "hold"], stdout=subprocess.PIPE, text=True)
    try:
        assert session.stdout.readline().strip() == "open"
        before = digest(db)
        assert main(["rollback", "--db", str(db)]) == EXIT_WAREHOUSE
        assert "is open read-write in another session" in capsys.readouterr().err
        assert digest(db) == before
    finally:
        session.kill()
        session.wait()
    db.write_bytes(b"damaged " * 8192)
    assert main(["status", "--db", str(db)]) == EXIT_WAREHOUSE
    assert "is damaged" in capsys.readouterr().err
    assert main(["rollback", "--db", str(db)]) == 0
    assert ledger_files(db) == good
    assert main(["status", "--db", str(db)]) == 0
    # the damaged file and the dead session's WAL were kept as a version, not thrown away
    newest = versions.kept(db)[0]
    assert (
        newest.read_bytes().startswith(b"damaged ")
        and (tmp_path / ".w.duckdb.versions" / (newest.name + ".wal")).exists()
    )
