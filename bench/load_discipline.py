"""Loader vs raw DuckDB on one large discipline_actions CSV (issue 2's target: at most 2.5x).

    python -m bench.load_discipline [--rows 5000000] [--runs 3] [--out bench/results]

Writes a valid district (schools, enrollment, discipline) with DuckDB itself,
loads schools and enrollment once, then times, each in a fresh process and as
the median of --runs: (a) `create table t as select * from read_csv(...)` of
the discipline file into a new DuckDB file, and (b) `python -m pipelines load`
of the same file into a copy of the warehouse. Peak resident memory of (b) is
read from the child's rusage.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent
AS_OF = "2025-06-30"


def write_inputs(folder: Path, rows: int) -> tuple[Path, Path]:
    """Schools and enrollment (one file) and discipline_actions (the measured file), generated in SQL."""
    students = max(1000, rows // 5)
    base = folder / "base"
    base.mkdir(parents=True)
    con = duckdb.connect()
    con.execute(f"""copy (select 'SCH' || i as school_id, 'School ' || i as school_name, 'high' as school_level
                          from range(100) t(i)) to '{base}/schools.csv' (header)""")
    con.execute(f"""copy (
        select '2024-25' as school_year, 'stu' || lpad(i::varchar, 9, '0') as student_key,
               'SCH' || (i % 100) as school_id, lpad((9 + i % 4)::varchar, 2, '0') as grade_level,
               ['f', 'm'][1 + i % 2] as sex, ['hi', 'am', 'as', 'bl', 'pi', 'wh', 'mu'][1 + i % 7] as race_ethnicity,
               case when i % 7 = 0 then 'Y' else 'N' end as idea,
               case when i % 7 = 0 then 'sld' else '' end as idea_disability,
               case when i % 31 = 0 then 'Y' else 'N' end as section_504, 'N' as english_learner,
               case when i % 2 = 0 then 'Y' else 'N' end as econ_disadvantaged
        from range({students}) t(i)) to '{base}/enrollment.csv' (header)""")
    discipline = folder / "discipline_actions.csv"
    con.execute(f"""copy (
        select 'D' || i as action_id, 'I' || (i // 2) as incident_id, '2024-25' as school_year,
               'SCH' || ((i % {students}) % 100) as school_id,
               'stu' || lpad((i % {students})::varchar, 9, '0') as student_key,
               (date '2024-09-01' + (i % 250)::integer)::varchar as incident_date,
               ['fighting', 'defiance', 'disruption', 'tobacco', 'other'][1 + i % 5] as behavior,
               ['iss', 'oss', 'removal_from_class', 'other'][1 + i % 4] as action_type,
               case when i % 4 < 2 then (1 + i % 5)::varchar else '0' end as days_removed,
               '' as related_case_id
        from range({rows}) t(i)) to '{discipline}' (header)""")
    con.close()
    return base, discipline


def _child_seconds(command: list[str]) -> float:
    """Wall seconds of one child process (peak memory is measured apart, in _peak_of_load)."""
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


RAW = (
    "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
    'con.execute("create table t as select * from read_csv(\'" + sys.argv[2] + "\')"); '
    "con.execute('checkpoint'); con.close()"
)


def measure(rows: int, runs: int, work: Path) -> dict:
    base, discipline = write_inputs(work, rows)
    warehouse = work / "base.duckdb"
    subprocess.run(
        [sys.executable, "-m", "pipelines", "load", str(base), "--db", str(warehouse), "--as-of", AS_OF, "--quiet"],
        check=True,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
    )
    raw_times, load_times, peaks = [], [], []
    for run in range(runs):
        raw_db = work / f"raw{run}.duckdb"
        seconds = _child_seconds([sys.executable, "-c", RAW, str(raw_db), str(discipline)])
        raw_times.append(seconds)
        target = work / f"load{run}.duckdb"
        shutil.copyfile(warehouse, target)
        seconds = _child_seconds(
            [
                sys.executable,
                "-m",
                "pipelines",
                "load",
                str(discipline),
                "--db",
                str(target),
                "--as-of",
                AS_OF,
                "--quiet",
            ]
        )
        load_times.append(seconds)
        peaks.append(_peak_of_load(discipline, warehouse, work / f"peak{run}.duckdb"))
        for f in (raw_db, target):
            f.unlink(missing_ok=True)
    raw, load = statistics.median(raw_times), statistics.median(load_times)
    return {
        "rows": rows,
        "runs": runs,
        "raw_duckdb_s": round(raw, 3),
        "loader_s": round(load, 3),
        "ratio": round(load / raw, 2),
        "loader_peak_rss_mb": round(max(peaks) / 1024, 1),
        "file_mb": round(discipline.stat().st_size / 1e6, 1),
    }


def _peak_of_load(discipline: Path, warehouse: Path, target: Path) -> int:
    """Peak RSS (KiB) of one load alone, via /usr/bin/time-free rusage of a fresh child."""
    shutil.copyfile(warehouse, target)
    code = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
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
            str(discipline),
            "--db",
            str(target),
            "--as-of",
            AS_OF,
            "--quiet",
        ],
        check=True,
        cwd=REPO,
        capture_output=True,
        text=True,
    ).stdout
    target.unlink(missing_ok=True)
    return int(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=REPO / "data" if (REPO / "data").exists() else None) as tmp:
        figures = measure(args.rows, args.runs, Path(tmp))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "load_discipline.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
