"""make bench: state-scale figures, each a ratio against raw DuckDB on the same data, in one run.

    python -m bench [--quick] [--sizes 25000,250000,1000000] [--runs 3] [--out bench/results]

For each size (students enrolled per year, 3 school years) the demo generator
writes a district; then, in one run so the figures compare: each entity's load
vs DuckDB's `create table as select * from read_csv(...)`, the validation share,
the load-time marts build (its own figure: the marts a load's tables feed, over the whole
warehouse, left out of the per-entity ratio; and every mart at once), the loader's peak
memory, all metrics, every page's queries (cold and warm, p50/p95) vs a plain grouped
count, and the board report.
Results go to OUT/bench.json and a markdown table on stdout (copied into
docs/PERFORMANCE.md by hand, with the machine it ran on).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from bench import loads, metrics_build, page_queries

REPO = Path(__file__).resolve().parent.parent
FULL_SIZES = (25_000, 250_000, 1_000_000)
QUICK_SIZES = (3_000,)


def generate(students: int, years: int, work: Path) -> tuple[Path, date]:
    folder = work / f"demo_{students}"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines",
            "demo",
            "--out",
            str(folder),
            "--students",
            str(students),
            "--years",
            str(years),
            "--seed",
            "2026",
        ],
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    truth = json.loads((folder / "ground_truth.json").read_text())
    return folder, date.fromisoformat(truth["as_of"])


def measure_size(students: int, years: int, runs: int, work: Path) -> dict:
    folder, as_of = generate(students, years, work)
    warm_up_s = loads.warm_up()
    entity_runs = [loads.pipeline_entity_loads(folder, as_of, work) for _ in range(runs)]
    entities = []
    for i, first in enumerate(entity_runs[0]):
        samples = [r[i] for r in entity_runs]
        raw = statistics.median(s.raw_s for s in samples)
        loader = statistics.median(s.loader_s for s in samples)
        validation = statistics.median(s.validation_s for s in samples)
        marts = statistics.median(s.marts_s for s in samples)
        entities.append(
            {
                "entity": first.entity,
                "rows": first.rows,
                "raw_duckdb_s": round(raw, 3),
                "loader_s": round(loader, 3),
                "building_marts_s": round(marts, 3),
                "ratio": round((loader - marts) / raw, 2) if raw else None,
                "ratio_with_marts": round(loader / raw, 2) if raw else None,
                "validation_share": round(validation / loader, 2) if loader else None,
            }
        )
    full_load_s, peak_mb = loads.peak_rss_of_full_load(folder, as_of, work)
    db = work / "bench_warehouse.duckdb"
    marts_full_s = statistics.median(loads.all_marts_seconds(db, work) for _ in range(runs))
    metrics_s = statistics.median(metrics_build.export_seconds(db, work / "export") for _ in range(max(1, runs - 1)))
    pages = page_queries.measure(db, runs=5)
    report_s = _report_seconds(db)
    return {
        "students_per_year": students,
        "years": years,
        "validation_warm_up_s": round(warm_up_s, 2),
        "entities": entities,
        "building_marts_full_s": round(marts_full_s, 3),
        "full_load_s": round(full_load_s, 2),
        "loader_peak_rss_mb": round(peak_mb),
        "metrics_all_s": round(metrics_s, 2),
        "pages": pages,
        "board_report_s": report_s,
    }


def _report_seconds(db: Path) -> float | str:
    """The board report's generation time (bench/report.py); a failure is a figure too, not a crash."""
    from bench import report

    try:
        return round(report.generation_seconds(db), 2)
    except Exception as exc:  # the benchmark records what failed and goes on to the next size
        return f"failed: {type(exc).__name__}: {str(exc)[:200]}"


def markdown(results: list[dict]) -> str:
    lines = [
        "| students/yr | entity | rows | raw DuckDB s | loader s | of which building marts s | ratio | "
        "ratio with marts | validation share |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for e in r["entities"]:
            lines.append(
                f"| {r['students_per_year']:,} | {e['entity']} | {e['rows']:,} | {e['raw_duckdb_s']} | "
                f"{e['loader_s']} | {e['building_marts_s']} | {e['ratio']} | {e['ratio_with_marts']} | "
                f"{e['validation_share']} |"
            )
    lines += [
        "",
        "ratio: the entity's load without its marts build over raw DuckDB; a load rebuilds the marts that "
        'read a table it loaded (stage "building marts"), over the whole warehouse, so they are shown on '
        "their own, and every mart rebuilt at once here:",
        "",
        "| students/yr | building every mart s (whole warehouse) |",
        "|---|---|",
    ]
    for r in results:
        lines.append(f"| {r['students_per_year']:,} | {r['building_marts_full_s']} |")
    lines += [
        "",
        "| students/yr | full load s | peak RSS MB | all metrics s | board report s |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['students_per_year']:,} | {r['full_load_s']} | {r['loader_peak_rss_mb']} | "
            f"{r['metrics_all_s']} | {r['board_report_s']} |"
        )
    lines += [
        "",
        "| students/yr | page | cold ms | warm p50 ms | warm p95 ms | plain count ms | p95 / count |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for p in r["pages"]:
            lines.append(
                f"| {r['students_per_year']:,} | {p['page']} | {p['cold_ms']} | {p['warm_p50_ms']} | "
                f"{p['warm_p95_ms']} | {p['plain_count_ms']} | {p['ratio_p95_to_count']} |"
            )
    return "\n".join(lines)


def _write(out: Path, results: list[dict]) -> None:
    machine = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "date": date.today().isoformat(),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps({"machine": machine, "results": results}, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small size, one run: checks the harness (CI)")
    parser.add_argument("--sizes", default=None, help="comma-separated students per year")
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--runs", type=int, default=None, help="runs per figure (median); default 3, quick 1")
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(QUICK_SIZES if args.quick else FULL_SIZES)
    runs = args.runs or (1 if args.quick else 3)
    years = 2 if args.quick else args.years
    results = []
    with tempfile.TemporaryDirectory(prefix="btam-bench-") as tmp:
        for students in sizes:
            work = Path(tmp) / str(students)
            work.mkdir()
            started = time.perf_counter()
            results.append(measure_size(students, years, runs, work))
            print(f"size {students:,}: measured in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            shutil.rmtree(work, ignore_errors=True)
            _write(Path(args.out), results)  # after every size, so a long run keeps what it measured
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
