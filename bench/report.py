"""Board report generation time on a warehouse (the harness in bench/__main__.py calls
`generation_seconds`); standalone: python -m bench.report [--db FILE] [--students N] [--out DIR].

Recorded per phase (data and suppression, charts, layout) for PDF and HTML, with the chart renderer
used, because the chart step depends on whether Chromium is present (kaleido) or not (SVG fallback).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from access import metric_tables as mt

REPO = Path(__file__).resolve().parent.parent


def latest_year(db: Path) -> str:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return mt.school_years(con)[-1]
    finally:
        con.close()


def measure(db: Path, school_year: str | None = None, use_kaleido: bool | None = None) -> dict:
    """Seconds per phase of one PDF and one HTML report of `school_year` (default: the latest year)."""
    from reports.build import generate

    year = school_year or latest_year(db)
    figures: dict = {"school_year": year}
    for fmt in ("pdf", "html"):
        start = time.perf_counter()
        result = generate(db, year, fmt, "Benchmark district", use_kaleido=use_kaleido)
        figures[fmt] = {
            "total_s": round(time.perf_counter() - start, 3),
            **{f"{k}_s": round(v, 3) for k, v in result.timings.items() if k != "total"},
            "bytes": len(result.data),
            "renderer": result.renderer,
        }
    return figures


def generation_seconds(db: Path, school_year: str | None = None, use_kaleido: bool | None = None) -> float:
    """Wall-clock seconds for the PDF report: the figure bench/__main__.py records as board_report_s."""
    return measure(db, school_year, use_kaleido)["pdf"]["total_s"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, help="warehouse file (default: build a synthetic demo)")
    parser.add_argument("--students", type=int, default=25_000, help="demo students per year (default 25000)")
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(args.db) if args.db else Path(tmp) / "report_bench.duckdb"
        if not args.db:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pipelines",
                    "demo",
                    "--out",
                    str(Path(tmp) / "demo"),
                    "--students",
                    str(args.students),
                    "--db",
                    str(db),
                ],
                cwd=REPO,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        figures = {"students_per_year": None if args.db else args.students, **measure(db)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
