"""Peak resident memory of `python -m pipelines load` on one large discipline_actions file (issue 18 item 7).

    python -m bench.load_memory [--rows 5000000] [--kind valid|quarantined|both] [--stages] [--out docs/performance]

Writes a district with DuckDB itself (bench.load_discipline.write_inputs: schools, enrollment, and the
measured discipline file; no student data), loads schools and enrollment once, then loads the discipline
file in a fresh child process and reads the child's peak RSS from rusage (RUSAGE_CHILDREN of a wrapper
process, so nothing else is counted). Two files: `valid` (every row loads) and `quarantined` (every row
breaks several rules at once: a student key of the wrong form, unique to the row, a school not in
schools, a date in the wrong format, so every row carries three violations and the key column has as many
distinct failing values as rows). The target is a peak under 2.5 GB at 5M rows for both.

With --stages, the load runs in-process in the child instead and prints its RSS and peak at each stage
of the load (where memory goes); the figures written are those of the plain child run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from bench.load_discipline import AS_OF, REPO, write_inputs

TARGET_MB = 2500
KINDS = ("valid", "quarantined")

WRAPPER = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, text=True); "
    "print(r.stdout, file=sys.stderr); "
    "print(r.returncode, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)

STAGES = """
import sys
from datetime import date
from pipelines.loader import load_files, print_summary

def kib(field):
    for line in open('/proc/self/status'):
        if line.startswith(field):
            return int(line.split()[1])
    return 0

def progress(stage, fraction):
    print(f"{stage:<60} rss {kib('VmRSS') // 1024:>6} MB  peak {kib('VmHWM') // 1024:>6} MB", file=sys.stderr)

result = load_files(sys.argv[1], [sys.argv[2]], as_of=date.fromisoformat(sys.argv[3]), progress=progress)
progress("end", 1.0)
print_summary(result)
"""


def write_quarantined(folder: Path, rows: int, students: int) -> Path:
    """A discipline file every row of which breaks three rules (see module doc), generated in SQL."""
    path = folder / "discipline_actions_bad.csv"
    con = duckdb.connect()
    con.execute(f"""copy (
        select 'D' || i as action_id, 'I' || (i // 2) as incident_id, '2024-25' as school_year,
               'NOSCH' || (i % 100) as school_id,
               'stu.' || lpad(i::varchar, 9, '0') as student_key,
               strftime(date '2024-09-01' + (i % 250)::integer, '%m/%d/%Y') as incident_date,
               ['fighting', 'defiance', 'disruption', 'tobacco', 'other'][1 + i % 5] as behavior,
               ['iss', 'oss', 'removal_from_class', 'other'][1 + i % 4] as action_type,
               case when i % 4 < 2 then (1 + i % 5)::varchar else '0' end as days_removed,
               '' as related_case_id
        from range({rows}) t(i)) to '{path}' (header)""")
    con.close()
    return path


def peak_of_load(discipline: Path, warehouse: Path, target: Path) -> dict:
    """One load of `discipline` into a copy of `warehouse`, in a fresh process: exit code, seconds, peak MB."""
    shutil.copyfile(warehouse, target)
    command = [sys.executable, "-m", "pipelines", "load", str(discipline), "--db", str(target), "--as-of", AS_OF]
    out = subprocess.run(
        [sys.executable, "-c", WRAPPER, *command], check=True, cwd=REPO, capture_output=True, text=True
    )
    code, seconds, peak_kib = out.stdout.split()
    summary = [line for line in out.stderr.splitlines() if line.startswith(discipline.name)]
    target.unlink(missing_ok=True)
    return {
        "exit_code": int(code),
        "seconds": round(float(seconds), 2),
        "peak_rss_mb": round(int(peak_kib) / 1024, 1),
        "summary": summary[0] if summary else out.stderr.strip()[-300:],
    }


def stages_of_load(discipline: Path, warehouse: Path, target: Path) -> None:
    shutil.copyfile(warehouse, target)
    subprocess.run([sys.executable, "-c", STAGES, str(target), str(discipline), AS_OF], check=True, cwd=REPO)
    target.unlink(missing_ok=True)


def _load_average() -> float | None:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return None


def measure(rows: int, kinds: tuple[str, ...], work: Path, stages: bool) -> dict:
    base, valid = write_inputs(work, rows)
    files = {"valid": valid}
    if "quarantined" in kinds:
        files["quarantined"] = write_quarantined(work, rows, max(1000, rows // 5))
    warehouse = work / "base.duckdb"
    subprocess.run(
        [sys.executable, "-m", "pipelines", "load", str(base), "--db", str(warehouse), "--as-of", AS_OF, "--quiet"],
        check=True,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
    )
    figures: dict = {
        "rows": rows,
        "target_peak_rss_mb": TARGET_MB,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpu, Python {platform.python_version()}, "
        f"DuckDB {duckdb.__version__}",
        "loads": {},
    }
    for kind in kinds:
        if stages:
            print(f"-- {kind}: stages", file=sys.stderr)
            stages_of_load(files[kind], warehouse, work / f"stages_{kind}.duckdb")
        load: dict = {
            "file_mb": round(files[kind].stat().st_size / 1e6, 1),
            "load_average_before": _load_average(),
        }
        load.update(peak_of_load(files[kind], warehouse, work / f"load_{kind}.duckdb"))
        load["under_target"] = load["peak_rss_mb"] < TARGET_MB and load["exit_code"] == 0
        figures["loads"][kind] = load
        time.sleep(1)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--kind", choices=(*KINDS, "both"), default="both")
    parser.add_argument("--stages", action="store_true", help="also print RSS at each stage of each load")
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args(argv)
    kinds = KINDS if args.kind == "both" else (args.kind,)
    with tempfile.TemporaryDirectory(dir=REPO / "data" if (REPO / "data").exists() else None) as tmp:
        figures = measure(args.rows, kinds, Path(tmp), args.stages)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = f"load_memory-{datetime.now(UTC):%Y-%m-%d}-{args.rows // 1000}k.json"
    (out / name).write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return 0 if all(load["under_target"] for load in figures["loads"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
