"""Command line: python -m pipelines {demo,load,status,export,users,audit,report,reference,rollback,requarantine,check} ...

Each command's module is imported only when that command runs, so `status`
does not pay for great-expectations' import.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from pipelines.warehouse import DEFAULT_DB

# command -> (module, function, help)
COMMANDS = {
    "demo": ("pipelines.demo_warehouse", "run", "write a synthetic demo district in the interchange format"),
    "load": ("pipelines.loader", "run", "load exports into the warehouse through the data contracts"),
    "status": ("pipelines.status", "run", "what the warehouse holds: loads, files, quarantine"),
    "export": ("pipelines.export", "run", "write the metric exports (CSV) of spec/interchange.md"),
    "users": ("access.accounts_cli", "run", "manage local accounts (argon2 hashes, roles, school scopes)"),
    "audit": ("access.audit_cli", "run", "read the audit log (logins, case-row views, exports, loads)"),
    "report": ("reports.cli", "run", "write the board summary report (PDF or HTML, suppressed)"),
    "marts": ("pipelines.marts", "run", "rebuild the load-time marts of a warehouse (each load does this itself)"),
    "rollback": ("pipelines.versions", "run", "put a previous version of the warehouse back (the last 3 are kept)"),
    "check": ("pipelines.check", "run", "verify the warehouse file and say in words what is wrong with it"),
    "requarantine": (
        "pipelines.requarantine",
        "run",
        "re-run the quarantined rows that were waiting for a parent (after the parent's file is loaded)",
    ),
    "reference": (
        "pipelines.reference.cli",
        "run",
        "reference data: CRDC school files, published aggregate tables, Ed-Fi exports",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipelines", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help=COMMANDS["demo"][2])
    demo.add_argument("--out", required=True, help="folder to write the demo files into")
    demo.add_argument("--students", type=int, default=25_000, help="students enrolled per year (default 25000)")
    demo.add_argument("--years", type=int, default=3, help="school years (default 3)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    demo.add_argument(
        "--as-of",
        dest="as_of",
        default=None,
        help="as-of date YYYY-MM-DD; the last school year is the one holding it (default 2025-05-30)",
    )
    demo.add_argument(
        "--messy", action="store_true", help="also write a vendor-style export with broken rows under OUT/vendor"
    )
    demo.add_argument("--db", default=None, help="also load the demo into this warehouse file, marked synthetic")

    load = sub.add_parser("load", help=COMMANDS["load"][2])
    load.add_argument("paths", nargs="+", help="files or folders of one load, in any order")
    load.add_argument("--db", default=str(DEFAULT_DB), help=f"warehouse file (default {DEFAULT_DB})")
    load.add_argument(
        "--profile",
        default="interchange",
        help="mapping profile: a name in data_contracts/profiles/ or a JSON file (default interchange)",
    )
    load.add_argument("--as-of", dest="as_of", default=None, help="as-of date YYYY-MM-DD (default today)")
    load.add_argument("--entity", default=None, help="entity of every file given, when names do not say")
    load.add_argument(
        "--sheet",
        default=None,
        help="the sheet of every .xlsx file given (default: the sheet named after the entity, else the only "
        "sheet holding data)",
    )
    load.add_argument(
        "--synthetic",
        action="store_true",
        help="mark the warehouse as synthetic demo data (refused on a warehouse holding real data)",
    )
    load.add_argument("--quiet", action="store_true", help="no progress bar")
    kind = load.add_mutually_exclusive_group()
    kind.add_argument(
        "--snapshot",
        dest="mode",
        action="store_const",
        const="snapshot",
        help="each file is the whole of its school years: stored rows absent from it are deleted (counts shown)",
    )
    kind.add_argument(
        "--increment",
        dest="mode",
        action="store_const",
        const="increment",
        help="each file adds and replaces rows by key, deleting none (the default unless the profile says)",
    )
    load.add_argument(
        "--exported-on",
        dest="exported_on",
        default=None,
        help="the date the files were exported YYYY-MM-DD (default: each file's modified time)",
    )
    load.add_argument("--force", action="store_true", help="load an export older than the one that stored its rows")

    status = sub.add_parser("status", help=COMMANDS["status"][2])
    status.add_argument("--db", default=str(DEFAULT_DB), help=f"warehouse file (default {DEFAULT_DB})")

    export = sub.add_parser("export", help=COMMANDS["export"][2])
    export.add_argument("--db", default=str(DEFAULT_DB), help=f"warehouse file (default {DEFAULT_DB})")
    export.add_argument("--out", required=True, help="folder for the CSV files")
    export.add_argument(
        "--as-of", dest="as_of", default=None, help="as-of date YYYY-MM-DD (default: the latest date in the warehouse)"
    )
    export.add_argument(
        "--audience",
        choices=("district", "board"),
        default="district",
        help="district: the exact metric exports (district office only); board: one school year's published "
        "figures, suppressed as the board's pages and report show them (default district)",
    )
    export.add_argument(
        "--year", default=None, help="school year YYYY-YY of a --audience board export (default: the latest)"
    )
    marts = sub.add_parser("marts", help=COMMANDS["marts"][2])
    marts.add_argument("--db", default=str(DEFAULT_DB), help=f"warehouse file (default {DEFAULT_DB})")
    from access import accounts_cli, audit_cli
    from pipelines import versions
    from pipelines.reference import cli as reference_cli
    from reports import cli as report_cli

    # allow_abbrev=False: a mistyped --password must not be taken for --password-env
    accounts_cli.add_arguments(sub.add_parser("users", help=COMMANDS["users"][2], allow_abbrev=False))
    audit_cli.add_arguments(sub.add_parser("audit", help=COMMANDS["audit"][2], allow_abbrev=False))
    report_cli.add_arguments(sub.add_parser("report", help=COMMANDS["report"][2]))
    reference_cli.add_arguments(sub.add_parser("reference", help=COMMANDS["reference"][2]))
    versions.add_arguments(sub.add_parser("rollback", help=COMMANDS["rollback"][2]))
    check = sub.add_parser("check", help=COMMANDS["check"][2])
    check.add_argument("--db", default=str(DEFAULT_DB), help=f"warehouse file (default {DEFAULT_DB})")
    retry = sub.add_parser("requarantine", help=COMMANDS["requarantine"][2])
    retry.add_argument("--db", default=str(DEFAULT_DB), help=f"warehouse file (default {DEFAULT_DB})")
    retry.add_argument(
        "--profile",
        default="interchange",
        help="profile of the quarantined rows' files when the ledger names none (default interchange)",
    )
    retry.add_argument(
        "--as-of", dest="as_of", default=None, help="as-of date YYYY-MM-DD (default: the last load's as-of date)"
    )
    return parser


# commands that change or release data: each run is an audit event, whether it succeeds or not
AUDITED = {"load": "load", "marts": "marts", "export": "export", "report": "report", "rollback": "rollback"}


def _audit(args: argparse.Namespace, code: int) -> None:
    """One audit event per data-changing command (the UI writes its own for uploads and downloads)."""
    from access import audit_log

    detail: dict[str, object] = {"via": "cli", "exit_code": code}
    for key in ("db", "out", "profile", "as_of", "entity", "synthetic", "format", "year", "audience"):
        value = getattr(args, key, None)
        if isinstance(value, (str, bool, int)) and value is not None:
            detail[key] = str(value)[: audit_log.MAX_DETAIL_TEXT]
    if getattr(args, "paths", None):
        detail["files"] = len(args.paths)
    user = os.environ.get("USER") or os.environ.get("LOGNAME") or "cli"
    db = getattr(args, "db", None)
    # the dashboard's log ($BTAM_AUDIT_LOG), else the one beside the warehouse the command worked on
    path = None if os.environ.get(audit_log.ENV_VAR) or not db else audit_log.log_path_for_warehouse(db)
    audit_log.append(AUDITED[args.command], user=user, role="admin", scope="cli", detail=detail, path=path)


# Commands whose build also stores the published figures of every school year (figures/stored.py), so a
# suppressed viewer's first view after them reads the release instead of waiting for the disclosure audit
# (`demo --db` too: `make run`'s board sees the demo's figures at once).
STORES_RELEASES = ("load", "marts", "demo")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module_name, function_name, _ = COMMANDS[args.command]
    handler = getattr(importlib.import_module(module_name), function_name)
    code = 1
    try:
        with _build_steps(args.command):
            code = int(handler(args) or 0)
    finally:
        if args.command in AUDITED:
            _audit(args, code)
    return code


@contextmanager
def _build_steps(command: str) -> Iterator[None]:
    """The steps this command's builds run at their end, registered for the command only (main() called in
    a process that goes on, a test's, leaves none behind)."""
    if command not in STORES_RELEASES:
        yield
        return
    from figures.stored import store_releases
    from pipelines import finish_steps

    with finish_steps.registered(store_releases):
        yield


if __name__ == "__main__":
    sys.exit(main())
