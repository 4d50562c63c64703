"""`python -m pipelines report --db FILE --year 2024-25 [--format pdf|html] [--out FILE] [--district-name NAME]`.

Wiring in pipelines/__main__.py (two lines, owned by the CLI's maintainer):
    COMMANDS["report"] = ("reports.cli", "run", "write the board summary report (PDF or HTML, suppressed)")
    report_cli.add_arguments(sub.add_parser("report", help=COMMANDS["report"][2]))
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import duckdb

from data_contracts import number_format as nf
from pipelines.warehouse import DEFAULT_DB
from reports.options import DEFAULT_DISTRICT, FORMATS


def seconds(value: float) -> str:
    """A duration on the command line: 1.234 -> '1.2 s'."""
    return nf.fmt_decimal(value, decimals=1) + " s"


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--db", default=str(DEFAULT_DB), help=f"warehouse file (default {DEFAULT_DB})")
    parser.add_argument("--year", required=True, help="school year of the report, e.g. 2024-25")
    parser.add_argument("--format", dest="fmt", choices=FORMATS, default="pdf", help="pdf (default) or html")
    parser.add_argument("--out", default=None, help="output file (default btam-board-report-YEAR.pdf|html)")
    parser.add_argument(
        "--district-name",
        dest="district_name",
        default=DEFAULT_DISTRICT,
        help=f"district name printed on every page (default {DEFAULT_DISTRICT!r})",
    )
    parser.add_argument(
        "--as-of", dest="as_of", default=None, help="as-of date YYYY-MM-DD (default: the latest date in the warehouse)"
    )
    parser.add_argument(
        "--methodology-url",
        dest="methodology_url",
        default=None,
        help="web address of the methodology document, printed in the appendix",
    )
    parser.add_argument(
        "--no-browser",
        dest="no_browser",
        action="store_true",
        help="draw charts with the built-in SVG renderer instead of Chromium (kaleido)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """CLI entry: exit 0 on success, 2 for a problem the user can fix."""
    from reports.build import generate  # the charts and metrics: imported only when a report is written
    from reports.data import ReportDataError

    db = Path(args.db)
    out = Path(args.out or f"btam-board-report-{args.year}.{args.fmt}")
    try:
        as_of = date.fromisoformat(args.as_of) if args.as_of else None
        if not db.exists():
            raise ReportDataError(f"no warehouse at {db}: load data first (python -m pipelines load ...) or give --db")
        result = generate(
            db,
            args.year,
            args.fmt,
            args.district_name,
            as_of,
            use_kaleido=False if args.no_browser else None,
            methodology_url=args.methodology_url,
        )
    except (ReportDataError, ValueError) as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 2
    except duckdb.IOException as exc:
        print(
            f"report: cannot open the warehouse {db} read-only: {exc}. If a load is running, wait for it and try again",
            file=sys.stderr,
        )
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(result.data)
    t = result.timings
    print(
        f"report: wrote {out} ({nf.fmt_int(len(result.data))} bytes, {args.fmt}, charts by {result.renderer}) for "
        f"{args.year} as of {result.report_data.as_of.isoformat()} in {seconds(t['total'])} "
        f"(data {seconds(t['data'])}, charts {seconds(t['charts'])}, layout {seconds(t['render'])})"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = add_arguments(argparse.ArgumentParser(prog="python -m reports.cli", description=__doc__.splitlines()[0]))
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
