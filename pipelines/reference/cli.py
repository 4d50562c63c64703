"""python -m pipelines reference {crdc,district,aggregate,edfi} ...: reference data into the warehouse, and
Ed-Fi ODS/API exports into interchange CSVs (edfi writes files for `python -m pipelines load`; it
never touches the warehouse).

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
    crdc.add_argument(
        "--district-lea",
        dest="district_lea",
        default=None,
        metavar="LEAID",
        help="also record the district's NCES LEA id (7 digits), for the peer benchmarks",
    )

    district = sub.add_parser("district", help="record the district's NCES LEA id (CRDC LEAID) for the peer benchmarks")
    district.add_argument("--lea-id", dest="lea_id", required=True, help="7 digits, e.g. 5300300 (keep leading zeros)")
    district.add_argument("--db", default=str(DEFAULT_DB), help=f"warehouse file (default {DEFAULT_DB})")

    aggregate = sub.add_parser("aggregate", help="a published table of counts by group, through a profile")
    aggregate.add_argument("path", help="the CSV/XLSX file")
    aggregate.add_argument(
        "--profile",
        required=True,
        help="a profile in data_contracts/profiles/reference/ (e.g. aggregate_wa_2013_14) or a JSON file",
    )
    aggregate.add_argument("--db", default=str(DEFAULT_DB), help=f"warehouse file (default {DEFAULT_DB})")
    aggregate.add_argument("--year", default=None, help="school year (default: the profile's)")

    edfi = sub.add_parser(
        "edfi", help="Ed-Fi ODS/API JSON exports -> interchange CSVs (then: python -m pipelines load OUT)"
    )
    edfi.add_argument(
        "folder", help="folder of <resource>.json files (schools.json, studentSchoolAssociations.json, ...)"
    )
    edfi.add_argument(
        "--out", required=True, help="folder to write schools.csv, enrollment.csv, discipline_actions.csv"
    )
    edfi.add_argument(
        "--school-year",
        dest="school_year",
        default=None,
        help="only this school year, e.g. 2024-25 (default: every year in the export)",
    )
    edfi.add_argument(
        "--key-file",
        dest="key_file",
        default=None,
        help="file holding the district's pseudonym key (default: the BTAM_PSEUDONYM_KEY variable)",
    )
    edfi.add_argument(
        "--profile",
        default="edfi",
        help="descriptor crosswalk: a name in data_contracts/profiles/reference/ or a JSON file (default edfi)",
    )


def run(args: argparse.Namespace) -> int:
    from pipelines import atomic

    try:
        if args.reference_command == "crdc":
            from pipelines.reference.crdc import import_crdc

            print(import_crdc(args.db, args.paths, args.year, args.state, district_lea=args.district_lea).summary())
        elif args.reference_command == "district":
            from pipelines.reference.district import DistrictLeaError, check_lea_id, set_district_lea

            try:
                lea_id = check_lea_id(args.lea_id)
            except DistrictLeaError as exc:
                return _fail(f"--lea-id {exc}", EXIT_USAGE)
            print(set_district_lea(args.db, lea_id).summary())
        elif args.reference_command == "aggregate":
            from pipelines.reference.aggregates import import_aggregate

            print(import_aggregate(args.db, args.path, args.profile, args.year).summary())
        elif args.reference_command == "edfi":
            return _edfi(args)
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


def _edfi(args: argparse.Namespace) -> int:
    from pipelines.reference.edfi import EdfiError, convert_edfi, load_edfi_profile, load_secret

    try:
        secret = load_secret(args.key_file)
        report = convert_edfi(args.folder, args.out, secret, args.school_year, load_edfi_profile(args.profile))
    except EdfiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("nothing was written", file=sys.stderr)
        return EXIT_USAGE if exc.usage else EXIT_UNREADABLE
    print(report.summary())
    return EXIT_OK


def _fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    print("the warehouse is unchanged", file=sys.stderr)
    return code
