"""`python -m pipelines users add|list|disable|enable|set-role|passwd` for local accounts.

Passwords are never taken from the command line (it lands in shell history
and the process list): they are typed at a getpass prompt, or read from the
environment variable named by --password-env for scripts, or piped in on
standard input (one line: `pass show btam/lead | python -m pipelines users add lead ...`).
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
from pathlib import Path

import duckdb

from access import accounts, audit_log, web_sessions
from access.roles import COORDINATOR, ROLES
from pipelines.warehouse import DEFAULT_DB

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--accounts", default=None, help=f"accounts file (default ${accounts.ENV_VAR} or {accounts.DEFAULT_ACCOUNTS})"
    )
    parser.add_argument(
        "--audit-log",
        dest="audit_log",
        default=None,
        help=f"audit log (default ${audit_log.ENV_VAR} or {audit_log.DEFAULT_LOG})",
    )
    parser.add_argument(
        "--db",
        default=str(DEFAULT_DB),
        help=f"warehouse whose schools a coordinator's --school ids must be (default {DEFAULT_DB})",
    )
    sub = parser.add_subparsers(dest="users_command", required=True)

    add = sub.add_parser("add", help="create a local account", allow_abbrev=False)
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument(
        "--school",
        dest="schools",
        action="append",
        default=[],
        help="school_id a coordinator works for (repeat for several)",
    )
    add.add_argument(
        "--password-env",
        dest="password_env",
        default=None,
        help="read the password from this environment variable instead of a prompt",
    )

    sub.add_parser("list", help="list accounts (never shows hashes)", allow_abbrev=False)

    for command, text in (
        ("disable", "stop an account from logging in"),
        ("enable", "allow a disabled or locked account again"),
    ):
        p = sub.add_parser(command, help=text, allow_abbrev=False)
        p.add_argument("name")

    set_role = sub.add_parser("set-role", help="change an account's role and schools", allow_abbrev=False)
    set_role.add_argument("name")
    set_role.add_argument("--role", required=True, choices=ROLES)
    set_role.add_argument("--school", dest="schools", action="append", default=[])

    passwd = sub.add_parser("passwd", help="set a new password", allow_abbrev=False)
    passwd.add_argument("name")
    passwd.add_argument("--password-env", dest="password_env", default=None)


def _password(args: argparse.Namespace) -> str:
    if args.password_env:
        if not ENV_NAME.match(args.password_env):
            raise accounts.AccountError(
                "--password-env takes the NAME of an environment variable "
                "(letters, digits, _), never the password itself"
            )
        value = os.environ.get(args.password_env)
        if not value:
            raise accounts.AccountError(f"environment variable {args.password_env} is not set")
        return value
    if not sys.stdin.isatty():  # piped: the first line is the password, asked once
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise accounts.AccountError("no password on standard input (pipe one line, or run in a terminal)")
        return value
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise accounts.AccountError("the two passwords differ")
    return first


def _check_schools(args: argparse.Namespace) -> None:
    """A coordinator's school ids must be schools of the warehouse: a typo would give an empty, silent view."""
    if args.role != COORDINATOR or not args.schools:
        return
    db = Path(args.db)
    if not db.exists():
        raise accounts.AccountError(
            f"no warehouse at {db} to check the school ids against; load the schools file first or pass --db"
        )
    with duckdb.connect(str(db), read_only=True) as con:
        known = {row[0] for row in con.sql("select school_id from schools").fetchall()}
    unknown = sorted({s.strip() for s in args.schools} - known)
    if unknown:
        raise accounts.AccountError(
            f"unknown school id {', '.join(unknown)} (not in the schools of {db}); "
            "`python -m pipelines status` lists the loaded schools"
        )


def _sessions(args: argparse.Namespace) -> Path:
    """The browser sessions file beside the accounts file in use."""
    return web_sessions.sessions_path(
        None
        if os.environ.get(web_sessions.ENV_VAR)
        else accounts.accounts_path(args.accounts).with_name("web_sessions.json")
    )


def _audit(args: argparse.Namespace, action: str, name: str, role: str = "", schools=()) -> None:
    audit_log.append(
        "user_admin",
        user=os.environ.get("USER", "cli"),
        role="admin",
        scope="cli",
        detail={"action": action, "account": name, "new_role": role, "schools": ",".join(schools)},
        path=args.audit_log,
    )


def run(args: argparse.Namespace) -> int:
    path = args.accounts
    try:
        if args.users_command in ("add", "set-role"):
            _check_schools(args)
        if args.users_command in ("disable", "set-role", "passwd"):
            # an account change ends the account's open browser sessions (they resume with the old role)
            web_sessions.end_user(args.name, path=_sessions(args))
        if args.users_command == "add":
            account = accounts.add_user(args.name, _password(args), args.role, args.schools or None, path=path)
            _audit(args, "add", account.name, account.role, account.school_ids or ())
            print(f"added {account.name} ({account.role})")
        elif args.users_command == "list":
            print(f"{'user':<24} {'role':<12} {'schools':<24} status")
            for a in accounts.list_users(path=path):
                status = "disabled" if a.disabled else ("locked" if a.locked_until else "active")
                print(f"{a.name:<24} {a.role:<12} {','.join(a.school_ids or ('all',)):<24} {status}")
        elif args.users_command == "disable":
            accounts.disable_user(args.name, path=path)
            _audit(args, "disable", args.name)
            print(f"disabled {args.name}")
        elif args.users_command == "enable":
            accounts.enable_user(args.name, path=path)
            _audit(args, "enable", args.name)
            print(f"enabled {args.name}")
        elif args.users_command == "set-role":
            account = accounts.set_role(args.name, args.role, args.schools or None, path=path)
            _audit(args, "set-role", account.name, account.role, account.school_ids or ())
            print(
                f"{account.name} is now {account.role}"
                + (f" for {', '.join(account.school_ids)}" if account.school_ids else "")
            )
        elif args.users_command == "passwd":
            accounts.set_password(args.name, _password(args), path=path)
            _audit(args, "passwd", args.name)
            print(f"password changed for {args.name}")
    except accounts.AccountError as error:
        print(f"users {args.users_command}: {error}", file=sys.stderr)
        return 2
    return 0
