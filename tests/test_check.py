"""Issue 18 item 5: `pipelines check` verifies the warehouse file and says in words what is wrong."""

from __future__ import annotations

import os
import shutil
from datetime import date

import duckdb
import pytest

from pipelines.__main__ import main
from pipelines.loader import load_files
from tests.interchange_files import AS_OF, write_district


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("check")
    db = folder / "w.duckdb"
    assert load_files(db, [write_district(folder / "in")], as_of=date.fromisoformat(AS_OF)).exit_code == 0
    return db


def _copy(loaded, tmp_path):
    db = tmp_path / "w.duckdb"
    shutil.copyfile(loaded, db)
    os.chmod(db, 0o600)
    return db


def test_a_sound_warehouse_passes_every_check(loaded, tmp_path, capsys):
    db = _copy(loaded, tmp_path)
    assert main(["check", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "case_actions: 3 rows read back" in out and f"{db}: every check passed" in out


def test_a_stored_row_breaking_a_cross_table_rule_is_named(loaded, tmp_path, capsys):
    db = _copy(loaded, tmp_path)
    con = duckdb.connect(str(db))
    con.execute("update case_actions set action_date = date '2024-09-01' where action_id = 'ACT1'")
    con.close()
    assert main(["check", "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert "case_actions: 1 stored row(s) break date_order:action_date" in err
    assert "1 problem(s) found" in err


def test_a_damaged_file_is_told_in_words_without_a_traceback(loaded, tmp_path, capsys):
    db = _copy(loaded, tmp_path)
    data = bytearray(db.read_bytes())
    data[: 4096 * 3] = b"\x00" * (4096 * 3)  # the headers: DuckDB can no longer tell what the file is
    db.write_bytes(bytes(data))
    assert main(["check", "--db", str(db)]) == 5
    err = capsys.readouterr().err
    assert f"{db}" in err and ("damaged" in err or "cannot be read" in err)
    assert "Traceback" not in err


def test_a_file_that_is_not_a_warehouse_and_a_world_readable_one(tmp_path, capsys):
    db = tmp_path / "other.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create table t (x integer)")
    con.close()
    os.chmod(db, 0o644)
    assert main(["check", "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert "table schools is missing: this is not a warehouse written by `pipelines load`" in err
    assert "can be read by other users (mode 644)" in err and f"chmod 600 {db}" in err


def test_no_file(tmp_path, capsys):
    assert main(["check", "--db", str(tmp_path / "none.duckdb")]) == 4
    assert "there is no warehouse at" in capsys.readouterr().err
