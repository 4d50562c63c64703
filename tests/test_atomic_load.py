"""All or nothing: a killed load leaves the previous version, readers never see half a load."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.interchange_files import AS_OF, write_district

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def write_big_enrollment(path: Path, students: int, year: str = "2023-24") -> Path:
    """A large, valid enrollment file for the schools of the small district."""
    with path.open("w") as fh:
        fh.write(
            "school_year,student_key,school_id,grade_level,sex,race_ethnicity,idea,idea_disability,"
            "section_504,english_learner,econ_disadvantaged\n"
        )
        races = ["hi", "am", "as", "bl", "pi", "wh", "mu"]
        for i in range(students):
            fh.write(f"{year},big{i:08d},SCH{1 + i % 2},0{1 + i % 9},{'fm'[i % 2]},{races[i % 7]},N,,N,N,Y\n")
    return path


def load_command(db: Path, *paths: Path) -> list[str]:
    return [sys.executable, "-m", "pipelines", "load", *map(str, paths), "--db", str(db), "--as-of", AS_OF, "--quiet"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sigkill_at_random_points_leaves_the_previous_or_the_new_version(tmp_path):
    db = tmp_path / "w.duckdb"
    subprocess.run(load_command(db, write_district(tmp_path / "base")), check=True, cwd=REPO)
    previous = digest(db)
    big = write_big_enrollment(tmp_path / "enrollment_big.csv", 200_000)
    rng = random.Random(20261128)
    outcomes = {"previous": 0, "new": 0}
    for _attempt in range(6):
        proc = subprocess.Popen(load_command(db, big), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 5.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        con = duckdb.connect(str(db), read_only=True)
        try:
            big_rows = con.sql("select count(*) from enrollment where student_key like 'big%'").fetchall()[0][0]
            ledger = con.sql(
                "select rows_read, rows_loaded, rows_quarantined from load_ledger "
                "where file_name = 'enrollment_big.csv'"
            ).fetchall()
        finally:
            con.close()
        if big_rows == 0:
            assert digest(db) == previous and ledger == []
            outcomes["previous"] += 1
        else:
            assert big_rows == 200_000 and ledger == [(200_000, 200_000, 0)]
            outcomes["new"] += 1
            break
    assert outcomes["previous"] >= 1
    # the next load cleans up after killed ones and still succeeds
    subprocess.run(load_command(db, big), check=True, cwd=REPO)
    assert not list(tmp_path.glob(".w.duckdb.building-*"))


READER = r"""
import sys, time
from access.warehouse_reader import WarehouseReader
reader = WarehouseReader(sys.argv[1])
seen, errors, deadline = set(), 0, time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        con = reader.connection()
        files, rows = con.sql("select (select count(*) from load_ledger), (select count(*) from enrollment)").fetchall()[0]
        seen.add((files, rows))
    except Exception as exc:
        errors += 1
        print("ERROR", type(exc).__name__, exc, file=sys.stderr)
    time.sleep(0.01)
print(errors)
for files, rows in sorted(seen):
    print(files, rows)
"""


def test_a_reader_keeps_reading_whole_versions_during_loads(tmp_path):
    db = tmp_path / "w.duckdb"
    subprocess.run(load_command(db, write_district(tmp_path / "base")), check=True, cwd=REPO)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(db), "25"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    expected = {(6, 8)}
    for i, size in enumerate((30_000, 60_000, 90_000)):
        year = f"20{20 + i}-{21 + i}"
        big = write_big_enrollment(tmp_path / f"enrollment_{year}.csv", size, year)
        subprocess.run(load_command(db, big), check=True, cwd=REPO)
        files, rows = max(expected)
        expected.add((files + 1, rows + size))
    out, err = reader.communicate(timeout=60)
    lines = out.split("\n")
    assert lines[0] == "0", err
    seen = {tuple(map(int, line.split())) for line in lines[1:] if line.strip()}
    assert seen <= expected, f"a reader saw a version that was never published: {seen - expected}"
    assert len(seen) >= 2, "the reader never saw a new version"
