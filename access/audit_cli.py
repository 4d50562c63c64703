"""`python -m pipelines audit [--event E] [--user U] [--since YYYY-MM-DD] [--limit N]`: read the audit log.

`python -m pipelines audit --verify [--expect-head N:HASH]` checks its hash chain: exit 0 when every line
links to the one before it, 1 at the first line that does not (edited, inserted, removed or moved), and 1
when the log no longer reaches a head noted earlier (events cut off the end).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from access import audit_log


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--audit-log",
        dest="audit_log",
        default=None,
        help=f"audit log (default ${audit_log.ENV_VAR} or {audit_log.DEFAULT_LOG})",
    )
    parser.add_argument("--event", choices=audit_log.EVENTS, default=None)
    parser.add_argument("--user", default=None)
    parser.add_argument(
        "--failed-name",
        dest="failed_name",
        default=None,
        metavar="NAME",
        help="failed logins where this name was typed (they record only a keyed hash of it)",
    )
    parser.add_argument("--accounts", default=None, help="accounts file holding that key (default as for users)")
    parser.add_argument("--since", default=None, help="YYYY-MM-DD (UTC)")
    parser.add_argument("--limit", type=int, default=50, help="newest N events (default 50; 0 for all)")
    parser.add_argument("--json", action="store_true", help="one JSON object a line")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="check the hash chain; prints the head (events:hash) to keep somewhere else",
    )
    parser.add_argument(
        "--expect-head",
        dest="expect_head",
        default=None,
        metavar="N:HASH",
        help="with --verify: a head printed earlier, which the log must still contain",
    )


def verify(args: argparse.Namespace) -> int:
    result = audit_log.verify(path=args.audit_log)
    where = audit_log.log_path(args.audit_log)
    if not result.ok:
        print(
            f"audit: {where} is broken at {result.problem}; intact before it: {result.events} event(s). "
            "Keep this copy for investigation and restore the log from a backup.",
            file=sys.stderr,
        )
        return 1
    head = f"{result.events}:{result.head}"
    if args.expect_head:
        count, _, digest = args.expect_head.partition(":")
        if not (count.isdigit() and len(digest) == 64):
            print(f"audit: --expect-head {args.expect_head!r} is not N:HASH as printed by --verify", file=sys.stderr)
            return 2
        if not _contains(args.audit_log, int(count), digest):
            print(
                f"audit: {where} does not contain the noted head {args.expect_head} (now {head}): "
                "events were cut off the end or the log was replaced",
                file=sys.stderr,
            )
            return 1
    legacy = f" (after {result.legacy_lines} lines written before the chain)" if result.legacy_lines else ""
    print(f"audit log intact: {result.events} chained events{legacy}; head {head}")
    return 0


def _contains(path: str | None, count: int, digest: str) -> bool:
    """True when chained event number `count` is still in the log with that hash (GENESIS for 0)."""
    if count == 0:
        return digest == audit_log.GENESIS
    return any(r.get("seq") == count and r.get("hash") == digest for r in audit_log.read(path=path))


def run(args: argparse.Namespace) -> int:
    if args.verify:
        return verify(args)
    try:
        since = dt.datetime.fromisoformat(args.since).replace(tzinfo=dt.UTC) if args.since else None
    except ValueError:
        print(f"audit: --since {args.since!r} is not a date YYYY-MM-DD", file=sys.stderr)
        return 2
    records = audit_log.read(path=args.audit_log, event=args.event, user=args.user, since=since)
    if args.failed_name:
        from access import accounts

        token = accounts.name_token(args.failed_name.strip().lower(), path=args.accounts)
        records = [
            r for r in records if r.get("event") == "login_failed" and r.get("detail", {}).get("name_token") == token
        ]
    records = records[-args.limit :] if args.limit else records
    for r in records:
        if args.json:
            print(json.dumps(r, sort_keys=True))
        else:
            detail = " ".join(f"{k}={v}" for k, v in sorted(r.get("detail", {}).items()))
            print(
                f"{r.get('time')}  {r.get('event'):<15} {r.get('user'):<20} {r.get('role'):<12} "
                f"{r.get('scope')}  {detail}"
            )
    return 0
