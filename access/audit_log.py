"""Append-only audit log, kept outside the warehouse file.

Loads replace the warehouse file with an atomic rename, so the log lives in
its own JSON-lines file next to it (default data/audit_log.jsonl). Each event
is one line written with a single write() on a file opened O_APPEND under an
exclusive lock, so appends from several processes never interleave. There is
no update or delete function: the app can only add and read.

The lines form a hash chain: each event carries its number (seq), the hash
of the event before it (prev) and its own SHA-256 over both and its content
(hash). Editing, inserting, reordering or deleting a line breaks the chain
at that line, which `verify` (`pipelines audit --verify`) reports. Lines
written before the chain existed are accepted only ahead of the first
chained event. Cutting events off the end leaves a shorter valid chain:
`verify` prints the head (count and last hash) so it can be kept elsewhere
and compared (`--expect-head`).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import functools
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LOG = REPO_ROOT / "data" / "audit_log.jsonl"
ENV_VAR = "BTAM_AUDIT_LOG"

EVENTS = (
    "login",
    "login_failed",
    "lockout",
    "logout",
    "view_case_rows",
    "export",
    "download",
    "load",
    "user_admin",
    "marts",
    "report",
    "rollback",
)
# detail keys that would carry student-level values; refused whatever their value
FORBIDDEN_DETAIL = frozenset(
    {
        "student_key",
        "student_id",
        "student",
        "name",
        "first_name",
        "last_name",
        "birth_date",
        "dob",
        "ssn",
        "address",
        "phone",
        "case_id",
        "case_ids",
        "rows",
        "values",
        "password",
    }
)
MAX_DETAIL_TEXT = 200
COLUMNS = ("time", "event", "user", "role", "scope", "detail")
CHAIN_FIELDS = ("seq", "prev", "hash")
GENESIS = "0" * 64


class AuditError(ValueError):
    """An event that may not be written as given."""


@dataclass(frozen=True)
class AuditLog:
    path: Path

    def append(
        self,
        event: str,
        *,
        user: str,
        role: str,
        scope: str,
        detail: Mapping[str, object] | None = None,
        now: dt.datetime | None = None,
    ) -> dict:
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


def append(
    event: str,
    *,
    user: str,
    role: str,
    scope: str,
    detail: Mapping[str, object] | None = None,
    now: dt.datetime | None = None,
    path: str | os.PathLike | None = None,
) -> dict:
    """Add one event; returns the record written."""
    if event not in EVENTS:
        raise AuditError(f"unknown audit event {event!r}; events are {', '.join(EVENTS)}")
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    record: dict[str, object] = {
        "time": moment.isoformat(timespec="seconds"),
        "event": event,
        "user": str(user),
        "role": str(role),
        "scope": str(scope),
        "detail": _clean_detail(detail),
    }
    target = log_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        # under the lock, so the next writer chains onto this event and not onto the same predecessor
        seq, prev = _chain_link(_last_line(target))
        record = {**record, "seq": seq, "prev": prev}
        record["hash"] = _digest(record)
        line = (json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
        written = os.write(fd, line)
        if written != len(line):
            raise OSError(f"audit log {target}: short write ({written} of {len(line)} bytes)")
        os.fsync(fd)
    finally:
        os.close(fd)
    return record


def _digest(record: Mapping[str, object]) -> str:
    """SHA-256 of an event's canonical JSON without its own hash (seq and prev included)."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def _line_digest(raw: bytes) -> str:
    return hashlib.sha256(raw.rstrip(b"\n")).hexdigest()


def _last_line(target: Path) -> bytes | None:
    """The last non-empty line of the file, read backwards from the end (the log only grows)."""
    with open(target, "rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        tail, position = b"", end
        while position > 0:
            step = min(4096, position)
            position -= step
            handle.seek(position)
            tail = handle.read(step) + tail
            lines = [x for x in tail.split(b"\n") if x.strip()]
            if len(lines) > 1 or (lines and position == 0):
                return lines[-1]
    return None


def _chain_link(last: bytes | None) -> tuple[int, str]:
    """(seq, prev) for the event after `last`: a chained event links to its hash, an older line to its digest."""
    if last is None:
        return 1, GENESIS
    try:
        record = json.loads(last)
    except json.JSONDecodeError:
        record = {}
    if isinstance(record, dict) and isinstance(record.get("seq"), int) and isinstance(record.get("hash"), str):
        return record["seq"] + 1, record["hash"]
    return 1, _line_digest(last)


@dataclass(frozen=True)
class Verification:
    ok: bool
    events: int  # chained events checked
    legacy_lines: int  # lines written before the chain, ahead of it
    head: str  # hash of the last event (GENESIS for an empty log)
    problem: str = ""  # where and how the chain breaks
    line: int | None = None


def _broken(events: int, legacy: int, head: str, number: int, why: str) -> Verification:
    return Verification(False, events, legacy, head, f"line {number}: {why}", number)


def verify(*, path: str | os.PathLike | None = None) -> Verification:
    """Walk the chain from the first line; the first line that does not fit is the problem."""
    target = log_path(path)
    events = legacy = 0
    expected_seq, expected_prev = 1, GENESIS
    if not target.exists():
        return Verification(True, 0, 0, GENESIS)
    with open(target, "rb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            broken = functools.partial(_broken, events, legacy, expected_prev, number)
            try:
                record = json.loads(raw)
            except json.JSONDecodeError:
                record = None
            chained = isinstance(record, dict) and all(k in record for k in CHAIN_FIELDS)
            if not chained:
                if events:
                    return broken("not a chained event (edited, inserted or damaged)")
                legacy += 1
                expected_prev = _line_digest(raw)
                continue
            if record["seq"] != expected_seq:
                return broken(
                    f"event number {record['seq']} where {expected_seq} was expected "
                    "(an event was removed, inserted or moved)"
                )
            if record["prev"] != expected_prev:
                return broken("does not link to the line before it (that line was edited, or one removed)")
            if _digest(record) != record["hash"]:
                return broken("its content does not match its hash (the event was edited)")
            events += 1
            expected_seq, expected_prev = record["seq"] + 1, record["hash"]
    return Verification(True, events, legacy, expected_prev)


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
                yield {
                    "time": None,
                    "event": "unreadable",
                    "user": "",
                    "role": "",
                    "scope": "",
                    "detail": {"line": number},
                }


def read(
    *,
    path: str | os.PathLike | None = None,
    event: str | None = None,
    user: str | None = None,
    since: dt.datetime | None = None,
    limit: int | None = None,
) -> list[dict]:
    """Events oldest first (the newest `limit` of them when a limit is given)."""
    cutoff = since.astimezone(dt.UTC).isoformat(timespec="seconds") if since else None
    out = [
        r
        for r in _records(log_path(path))
        if (event is None or r.get("event") == event)
        and (user is None or r.get("user") == user)
        and (cutoff is None or (r.get("time") or "") >= cutoff)
    ]
    return out[-limit:] if limit else out


def read_frame(**filters) -> pl.DataFrame:
    """The events as a table for the admin page (detail as compact JSON text)."""
    rows = [
        {**{c: r.get(c) for c in COLUMNS[:-1]}, "detail": json.dumps(r.get("detail", {}), sort_keys=True)}
        for r in read(**filters)
    ]
    return pl.DataFrame(rows, schema={c: pl.String for c in COLUMNS})
