"""Append-only audit log, kept outside the warehouse file.

Loads replace the warehouse file with an atomic rename, so the log lives in
its own JSON-lines file next to it (default data/audit_log.jsonl). Each event
is one line written with a single write() on a file opened O_APPEND under an
exclusive lock, so appends from several processes never interleave. There is
no update or delete function: the app can only add and read.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

import polars as pl

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LOG = REPO_ROOT / "data" / "audit_log.jsonl"
ENV_VAR = "BTAM_AUDIT_LOG"

EVENTS = ("login", "login_failed", "lockout", "logout", "view_case_rows", "export", "download", "load",
          "user_admin")
# detail keys that would carry student-level values; refused whatever their value
FORBIDDEN_DETAIL = frozenset({"student_key", "student_id", "student", "name", "first_name", "last_name",
                              "birth_date", "dob", "ssn", "address", "phone", "case_id", "case_ids",
                              "rows", "values", "password"})
MAX_DETAIL_TEXT = 200
COLUMNS = ("time", "event", "user", "role", "scope", "detail")


class AuditError(ValueError):
    """An event that may not be written as given."""


@dataclass(frozen=True)
class AuditLog:
    path: Path

    def append(self, event: str, *, user: str, role: str, scope: str,
               detail: Mapping[str, object] | None = None, now: dt.datetime | None = None) -> dict:
        return append(event, user=user, role=role, scope=scope, detail=detail, now=now, path=self.path)

    def read(self, **filters) -> list[dict]:
        return read(path=self.path, **filters)


def log_path(path: str | os.PathLike | None = None) -> Path:
    """The log file: the argument, else $BTAM_AUDIT_LOG, else data/audit_log.jsonl."""
    return Path(path or os.environ.get(ENV_VAR) or DEFAULT_LOG)


def log_path_for_warehouse(warehouse: str | os.PathLike) -> Path:
    """The log that sits next to a warehouse file (never inside it)."""
    return Path(warehouse).resolve().parent / "audit_log.jsonl"


def _clean_detail(detail: Mapping[str, object] | None) -> dict:
    out = {}
    for key, value in (detail or {}).items():
        key = str(key)
        if key.lower() in FORBIDDEN_DETAIL:
            raise AuditError(f"audit detail {key!r} would record student-level values; log counts and filters")
        if not (value is None or isinstance(value, (bool, int, float, str))):
            raise AuditError(f"audit detail {key!r} must be a single value (text, number, true/false)")
        if isinstance(value, str) and len(value) > MAX_DETAIL_TEXT:
            raise AuditError(f"audit detail {key!r} is longer than {MAX_DETAIL_TEXT} characters")
        out[key] = value
    return out


def append(event: str, *, user: str, role: str, scope: str, detail: Mapping[str, object] | None = None,
           now: dt.datetime | None = None, path: str | os.PathLike | None = None) -> dict:
    """Add one event; returns the record written."""
    if event not in EVENTS:
        raise AuditError(f"unknown audit event {event!r}; events are {', '.join(EVENTS)}")
    moment = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    record = {"time": moment.isoformat(timespec="seconds"), "event": event, "user": str(user),
              "role": str(role), "scope": str(scope), "detail": _clean_detail(detail)}
    line = (json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
    target = log_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        written = os.write(fd, line)
        if written != len(line):
            raise OSError(f"audit log {target}: short write ({written} of {len(line)} bytes)")
        os.fsync(fd)
    finally:
        os.close(fd)
    return record


def _records(target: Path) -> Iterator[dict]:
    if not target.exists():
        return
    with open(target, encoding="utf-8") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                yield {"time": None, "event": "unreadable", "user": "", "role": "", "scope": "",
                       "detail": {"line": number}}


def read(*, path: str | os.PathLike | None = None, event: str | None = None, user: str | None = None,
         since: dt.datetime | None = None, limit: int | None = None) -> list[dict]:
    """Events oldest first (the newest `limit` of them when a limit is given)."""
    cutoff = since.astimezone(dt.timezone.utc).isoformat(timespec="seconds") if since else None
    out = [r for r in _records(log_path(path))
           if (event is None or r.get("event") == event) and (user is None or r.get("user") == user)
           and (cutoff is None or (r.get("time") or "") >= cutoff)]
    return out[-limit:] if limit else out


def read_frame(**filters) -> pl.DataFrame:
    """The events as a table for the admin page (detail as compact JSON text)."""
    rows = [{**{c: r.get(c) for c in COLUMNS[:-1]}, "detail": json.dumps(r.get("detail", {}), sort_keys=True)}
            for r in read(**filters)]
    return pl.DataFrame(rows, schema={c: pl.String for c in COLUMNS})
