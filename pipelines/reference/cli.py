"""python -m pipelines reference {crdc,aggregate} ...: reference data into the warehouse.

Exit codes: 0 imported (findings of the consistency report are printed, not errors), 2 bad options
or profile, 4 a file unreadable or not in the expected layout, 5 the warehouse is busy or cannot be
written. For 2-5 the warehouse is unchanged.
"""
from __future__ import annotations

import argparse
import sys

from pipelines.warehouse import DEFAULT_DB

EXIT_OK, EXIT_USAGE, EXIT_UNREADABLE, EXIT_WAREHOUSE = 0, 2, 4, 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `reference` command's sub-commands, on the parser __main__ gives it."""
    sub = parser.add_subparsers(dest="reference_command", required=True)
    crdc = sub.add_parser("crdc", help="CRDC school-level public files -> crdc_school_counts and state_reference")
    crdc.add_argument("paths", nargs="+", help="CRDC CSV/XLSX files or folders (per-topic files or a combined extract)")
    crdc.add_argument("--db", default=str(DEFAULT_DB), help=f"warehouse file (default {DEFAULT_DB})")
    crdc.add_argument("--state", default=None, help="two-letter state code (LEA_STATE) to keep, e.g. WA")
    crdc.add_argument("--year", default=None, help="school year of the files, e.g. 2021-22 (default: from the path)")

    aggregate = sub.add_parser("aggregate", help="a published table of counts by group, through a profile")
    aggregate.add_argument("path", help="the CSV/XLSX file")
    aggregate.add_argument("--profile", required=True,
                           help="a profile in data_contracts/profiles/reference/ (e.g. aggregate_wa_2013_14) or a JSON file")
    aggregate.add_argument("--db", default=str(DEFAULT_DB), help=f"warehouse file (default {DEFAULT_DB})")
    aggregate.add_argument("--year", default=None, help="school year (default: the profile's)")


def run(args: argparse.Namespace) -> int:
    from pipelines import atomic

    try:
        if args.reference_command == "crdc":
            from pipelines.reference.crdc import import_crdc

            print(import_crdc(args.db, args.paths, args.year, args.state).summary())
        elif args.reference_command == "aggregate":
            from pipelines.reference.aggregates import import_aggregate

            print(import_aggregate(args.db, args.path, args.profile, args.year).summary())
        return EXIT_OK
    except atomic.WarehouseBusy as exc:
        return _fail(str(exc), EXIT_WAREHOUSE)
    except OSError as exc:
        return _fail(f"cannot write the warehouse next to {args.db}: {exc.strerror or exc}", EXIT_WAREHOUSE)
    except Exception as exc:  # the importers' own errors carry a message a user can act on
        from pipelines.reference.aggregates import AggregateError
        from pipelines.reference.crdc import CrdcError

        if isinstance(exc, (CrdcError, AggregateError)):
            usage = str(exc).startswith(("--", "aggregate profile"))
            return _fail(str(exc), EXIT_USAGE if usage else EXIT_UNREADABLE)
        raise


def _fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    print("the warehouse is unchanged", file=sys.stderr)
    return code
