"""Load of each entity by the pipeline vs DuckDB's own `create table as select * from read_csv(...)`.

Both run in this process on the same files, the pipeline's great-expectations
context warmed first (its import is a fixed cost reported separately), so the
ratio compares the work done per row.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from data_contracts.interchange import LOAD_ORDER
from pipelines.marts import STAGE as MARTS_STAGE

REPO = Path(__file__).resolve().parent.parent


@dataclass
class EntityLoad:
    entity: str
    rows: int
    raw_s: float
    loader_s: float
    validation_s: float
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def marts_s(self) -> float:
        """The load's "building marts" stage: once per load, over the whole warehouse, not this entity's rows."""
        return self.stages.get(MARTS_STAGE, 0.0)

    @property
    def ratio(self) -> float:
        """The entity's own work against raw DuckDB: the load without its marts build (reported on its own)."""
        return (self.loader_s - self.marts_s) / self.raw_s if self.raw_s else float("nan")


def raw_duckdb_seconds(csv: Path, work: Path) -> float:
    """DuckDB alone: a new file, one CTAS from read_csv, checkpoint."""
    target = work / f"raw_{csv.stem}.duckdb"
    target.unlink(missing_ok=True)
    start = time.perf_counter()
    con = duckdb.connect(str(target))
    con.execute("create table t as select * from read_csv($p)", {"p": str(csv)})
    con.execute("checkpoint")
    con.close()
    seconds = time.perf_counter() - start
    target.unlink(missing_ok=True)
    return seconds


def warm_up() -> float:
    """Import and build the great-expectations context once; returns the seconds it took."""
    start = time.perf_counter()
    from pipelines import contracts

    contracts._context()
    for entity in LOAD_ORDER:
        contracts.load_suite(entity)
        contracts._batch_definition(entity)
    return time.perf_counter() - start


def pipeline_entity_loads(folder: Path, as_of: date, work: Path) -> list[EntityLoad]:
    """Each entity's file loaded alone, parents first, into one growing warehouse."""
    from pipelines.loader import load_files

    db = work / "bench_warehouse.duckdb"
    db.unlink(missing_ok=True)
    results = []
    for entity in LOAD_ORDER:
        csv = folder / f"{entity}.csv"
        marks: list[tuple[str, float]] = []

        def progress(stage: str, fraction: float) -> None:
            marks.append((stage.split(": ", 1)[-1], time.perf_counter()))

        raw = raw_duckdb_seconds(csv, work)
        start = time.perf_counter()
        result = load_files(db, [csv], "interchange", as_of=as_of, synthetic=True, progress=progress)
        end = time.perf_counter()
        seconds = end - start
        if result.exit_code:
            raise RuntimeError(f"benchmark load of {csv.name} failed: {result.error}")
        stages: dict[str, float] = {}
        for (name, at), (_, following) in zip(marks, [*marks[1:], ("end", end)]):
            stages[name] = stages.get(name, 0.0) + following - at
        results.append(
            EntityLoad(entity, result.files[0].rows_read, raw, seconds, stages.get("validating", 0.0), stages)
        )
    return results


def all_marts_seconds(db: Path, work: Path) -> float:
    """Every mart rebuilt over the whole warehouse (a load rebuilds only those its tables feed), on a copy."""
    from pipelines.marts import build_marts

    copy = work / "bench_marts.duckdb"
    shutil.copyfile(db, copy)
    try:
        con = duckdb.connect(str(copy))
        try:
            start = time.perf_counter()
            build_marts(con)
            return time.perf_counter() - start
        finally:
            con.close()
    finally:
        copy.unlink(missing_ok=True)


def peak_rss_of_full_load(folder: Path, as_of: date, work: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of `python -m pipelines load FOLDER` in a fresh process."""
    db = work / "bench_rss.duckdb"
    db.unlink(missing_ok=True)
    code = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            sys.executable,
            "-m",
            "pipelines",
            "load",
            str(folder),
            "--db",
            str(db),
            "--as-of",
            as_of.isoformat(),
            "--synthetic",
            "--quiet",
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    db.unlink(missing_ok=True)
    return float(out[0]), int(out[1]) / 1024


def self_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
