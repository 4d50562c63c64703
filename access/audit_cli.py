"""`python -m pipelines audit [--event E] [--user U] [--since YYYY-MM-DD] [--limit N]`: read the audit log."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from access import audit_log


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--audit-log", dest="audit_log", default=None,
                        help=f"audit log (default ${audit_log.ENV_VAR} or {audit_log.DEFAULT_LOG})")
    parser.add_argument("--event", choices=audit_log.EVENTS, default=None)
    parser.add_argument("--user", default=None)
    parser.add_argument("--since", default=None, help="YYYY-MM-DD (UTC)")
    parser.add_argument("--limit", type=int, default=50, help="newest N events (default 50; 0 for all)")
    parser.add_argument("--json", action="store_true", help="one JSON object a line")


def run(args: argparse.Namespace) -> int:
    try:
        since = dt.datetime.fromisoformat(args.since).replace(tzinfo=dt.timezone.utc) if args.since else None
    except ValueError:
        print(f"audit: --since {args.since!r} is not a date YYYY-MM-DD", file=sys.stderr)
        return 2
    records = audit_log.read(path=args.audit_log, event=args.event, user=args.user, since=since,
                             limit=args.limit or None)
    for r in records:
        if args.json:
            print(json.dumps(r, sort_keys=True))
        else:
            detail = " ".join(f"{k}={v}" for k, v in sorted(r.get("detail", {}).items()))
            print(f"{r.get('time')}  {r.get('event'):<15} {r.get('user'):<20} {r.get('role'):<12} "
                  f"{r.get('scope')}  {detail}")
    return 0
