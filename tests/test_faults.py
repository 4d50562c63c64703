"""Faults (issue 8): killed loads, a full disk, two loads at once, readers through many swaps.

The warehouse must always open and be exactly the previous version or exactly
the new one; a reader must never see an error or a version that was never
published.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines import atomic
from pipelines.loader import EXIT_OK, EXIT_WAREHOUSE, load_files
from tests.interchange_files import AS_OF, write_district
from tests.test_atomic_load import load_command, write_big_enrollment

REPO = Path(__file__).resolve().parent.parent
AS_OF_DATE = date.fromisoformat(AS_OF)
KILLS = int(os.environ.get("BTAM_KILLS", "20"))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def state(db: Path, file_name: str) -> tuple[int, list[tuple]]:
    """(enrollment rows of the big file, its ledger rows); opening the file is part of the check."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.sql("select count(*) from enrollment where student_key like 'big%'").fetchall()[0][0]
        ledger = con.sql(
            "select rows_read, rows_loaded, rows_quarantined from load_ledger where file_name = $f",
            params={"f": file_name},
        ).fetchall()
        con.sql("select count(*) from schools, load_quarantine").fetchall()
        return rows, ledger
    finally:
        con.close()


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("faults-base")
    db = folder / "base.duckdb"
    assert load_files(db, [write_district(folder / "in")], as_of=AS_OF_DATE).exit_code == 0
    return db


@pytest.mark.slow
def test_sigkill_at_random_points_always_leaves_the_previous_or_the_new_version(base, tmp_path):
    """KILLS (default 20) loads of a 40,000-row file, each SIGKILLed at a random moment of its own slice of the
    run: the slices cover the whole load, from start-up to the swap and past it, so every stage is cut at least
    once however many kills are asked for (BTAM_KILLS=200 for a long sweep)."""
    db = tmp_path / "w.duckdb"
    shutil.copyfile(base, db)
    previous = digest(db)
    size = 40_000
    big = write_big_enrollment(tmp_path / "enrollment_big.csv", size)
    started = time.monotonic()  # one uncut run measures how long a load takes here
    subprocess.run(load_command(db, big), check=True, cwd=REPO, capture_output=True)
    full_run = time.monotonic() - started
    assert state(db, big.name) == (size, [(size, size, 0)])
    rng = random.Random(8)
    outcomes = {"previous": 0, "new": 0}
    for attempt in range(KILLS):
        shutil.copyfile(base, db)
        proc = subprocess.Popen(load_command(db, big), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        slice_start, slice_end = (0.05 + (full_run * 1.1 - 0.05) * k / KILLS for k in (attempt, attempt + 1))
        time.sleep(rng.uniform(slice_start, slice_end))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        rows, ledger = state(db, big.name)  # must open, whatever the moment of the kill
        if rows == 0:
            assert digest(db) == previous and ledger == [], f"attempt {attempt}: neither version"
            outcomes["previous"] += 1
        else:
            assert (rows, ledger) == (size, [(size, size, 0)]), f"attempt {attempt}: a half load"
            outcomes["new"] += 1
    print(f"{KILLS} kills: {outcomes}, an uncut load takes {full_run:.1f} s")
    assert outcomes["previous"] >= 1
    # the next load removes what killed loads left and succeeds
    shutil.copyfile(base, db)
    subprocess.run(load_command(db, big), check=True, cwd=REPO, capture_output=True)
    assert state(db, big.name) == (size, [(size, size, 0)])
    assert not list(tmp_path.glob(".w.duckdb.building-*"))


@pytest.fixture
def small_disk(tmp_path):
    """A 12 MB tmpfs (root), else a 12 MB loop-mounted ext2 file; skipped when neither can be mounted."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    attempts = [["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(mount_point)]]
    image = tmp_path / "disk.img"
    reasons = []
    for command in attempts:
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode == 0:
            break
        reasons.append(f"{' '.join(command[:3])}: {proc.stderr.strip() or proc.returncode}")
    else:
        with image.open("wb") as fh:
            fh.truncate(12 * 1024 * 1024)
        made = subprocess.run(["mkfs.ext2", "-q", "-F", str(image)], capture_output=True, text=True)
        loop = subprocess.run(["mount", "-o", "loop", str(image), str(mount_point)], capture_output=True, text=True)
        if made.returncode or loop.returncode:
            reasons.append(f"loop file: {(made.stderr or loop.stderr).strip()}")
            pytest.skip("cannot mount a small disk to fill (needs root): " + "; ".join(reasons))
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def test_a_full_disk_gives_a_clear_error_and_keeps_the_old_version(base, small_disk, tmp_path):
    db = small_disk / "w.duckdb"
    shutil.copyfile(base, db)
    before = digest(db)
    # leave room for the build's copy of the warehouse and 1 MB more: the load itself runs out of space
    filler = small_disk / "filler.bin"
    room = shutil.disk_usage(small_disk).free - (db.stat().st_size + (1 << 20))
    if room > 0:
        with filler.open("wb") as fh:
            fh.write(b"\0" * room)
    big = write_big_enrollment(tmp_path / "enrollment_big.csv", 100_000)  # input lives off the small disk
    result = load_files(db, [big], as_of=AS_OF_DATE)
    assert result.exit_code == EXIT_WAREHOUSE, result.error
    assert "No space left on device" in result.error and "unchanged" in result.error and "free" in result.error
    assert digest(db) == before
    assert sorted(p.name for p in small_disk.iterdir() if p.name not in ("lost+found", "filler.bin")) == [
        "w.duckdb",
        "w.duckdb.lock",
    ], "the failed build was left on the disk"
    # once there is room again, the same load succeeds
    shutil.copyfile(db, tmp_path / "w.duckdb")
    assert load_files(tmp_path / "w.duckdb", [big], as_of=AS_OF_DATE).exit_code == EXIT_OK


def test_two_loads_started_at_once_both_land_whole(base, tmp_path):
    """Two processes: the second waits for the lock, then builds on the first's version (nothing lost)."""
    db = tmp_path / "w.duckdb"
    shutil.copyfile(base, db)
    first = write_big_enrollment(tmp_path / "enrollment_a.csv", 20_000, "2022-23")
    second = write_big_enrollment(tmp_path / "enrollment_b.csv", 20_000, "2021-22")
    procs = [
        subprocess.Popen(load_command(db, path), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for path in (first, second)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.sql("select count(*) from enrollment where student_key like 'big%'").fetchall() == [(40_000,)]
        assert sorted(
            r[0]
            for r in con.sql(
                "select file_name from load_ledger where file_name in ('enrollment_a.csv', 'enrollment_b.csv')"
            ).fetchall()
        ) == ["enrollment_a.csv", "enrollment_b.csv"]
    finally:
        con.close()


def test_a_load_that_cannot_get_the_lock_is_refused_clearly(base, tmp_path):
    db = tmp_path / "w.duckdb"
    shutil.copyfile(base, db)
    before = digest(db)
    path = tmp_path / "case_actions.csv"
    path.write_text("action_id,case_id,action_date,action_type\nA9,CASE1,2024-10-03,counseling\n")
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with atomic.exclusive_lock(db, 1):
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        result = load_files(db, [path], as_of=AS_OF_DATE, lock_wait_seconds=0.5)
    finally:
        release.set()
        holder.join()
    assert result.exit_code == EXIT_WAREHOUSE
    assert "another load is writing" in result.error and "run this load again" in result.error
    assert digest(db) == before
    assert load_files(db, [path], as_of=AS_OF_DATE).exit_code == EXIT_OK


READER = r"""
import sys, time
from access.warehouse_reader import WarehouseReader
reader = WarehouseReader(sys.argv[1])
seen, errors, reads, deadline = set(), 0, 0, time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        con = reader.connection()
        seen.add(con.sql("select (select count(*) from load_ledger), (select count(*) from case_actions), "
                         "(select coalesce(max(action_id), '') from case_actions where action_id like 'S%')").fetchall()[0])
        reads += 1
    except Exception as exc:
        errors += 1
        print("ERROR", type(exc).__name__, exc, file=sys.stderr)
    time.sleep(0.005)
print(errors, reads)
for files, rows, last in sorted(seen):
    print(files, rows, last)
"""


@pytest.mark.slow
def test_readers_keep_reading_whole_versions_through_many_swaps(base, tmp_path):
    """Two reader processes poll while 20 loads swap the file; every version they see was published."""
    db = tmp_path / "w.duckdb"
    shutil.copyfile(base, db)
    swaps = int(os.environ.get("BTAM_SWAPS", "20"))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(db), str(8 + swaps * 2.5)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    con = duckdb.connect(str(db), read_only=True)
    files, rows = con.sql("select (select count(*) from load_ledger), (select count(*) from case_actions)").fetchall()[
        0
    ]
    con.close()
    published = {(files, rows, "")}
    for i in range(swaps):
        path = tmp_path / f"case_actions_{i:03d}.csv"
        path.write_text(
            "action_id,case_id,action_date,action_type\n"
            + "".join(f"S{i:03d}{j:04d},CASE1,2024-10-03,counseling\n" for j in range(50))
        )
        result = load_files(db, [path], as_of=AS_OF_DATE)
        assert result.exit_code == EXIT_OK, result.error
        files, rows = files + 1, rows + 50
        published.add((files, rows, f"S{i:03d}0049"))
    for reader in readers:
        out, err = reader.communicate(timeout=120)
        lines = out.strip().split("\n")
        errors, reads = map(int, lines[0].split())
        assert errors == 0, err
        seen = {
            (int(f), int(r), last)
            for f, r, *rest in (line.split(" ") for line in lines[1:])
            for last in [rest[0] if rest else ""]
        }
        assert seen <= published, f"a reader saw a version that was never published: {seen - published}"
        assert len(seen) >= 3, "the reader did not follow the swaps"
        print(f"reader: {reads} reads, {len(seen)} versions seen, no error")
