"""Browser sessions that survive a refresh, a new tab and a server restart.

A Streamlit session lives as long as one websocket: a refresh starts a new
one. So a login also starts a record here, and the browser keeps only a
signed cookie naming it (HttpOnly, set by the server's /auth/session route,
ui/serve.py). Every new Streamlit session resumes from that record after
checking the signature, that the session was not ended (logout), and the
idle and absolute time-outs against the record, never against the cookie:
a copied cookie dies with its logout, and no reload lives past the idle
rule, for local accounts and single sign-on alike.

Records sit in a small JSON file next to the accounts (default
data/web_sessions.json, mode 0600); the signing key in data/session_key
(0600), made on first use. The cookie is set through a one-time handoff
token that expires in a minute, so a link with it in the address is no
standing credential.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from access import accounts
from access.private_files import file_lock, locked_json, write_private

ENV_VAR = "BTAM_WEB_SESSIONS"
COOKIE_NAME = "btam_session"
SESSION_ROUTE = "/auth/session"  # served by ui/serve.py
END_ROUTE = "/auth/end"
HANDOFF_SECONDS = 60
TOUCH_SECONDS = 60  # last_seen is written at most once a minute per session


@dataclass(frozen=True)
class SessionSettings:
    idle_hours: float = accounts.AccountSettings().idle_hours
    absolute_hours: float = 12.0


@dataclass(frozen=True)
class WebSession:
    id: str
    user: str
    method: str  # local or oidc
    created: dt.datetime
    last_seen: dt.datetime


def sessions_path(path: str | os.PathLike | None = None) -> Path:
    """The sessions file: the argument, else $BTAM_WEB_SESSIONS, else beside the accounts file."""
    if path or os.environ.get(ENV_VAR):
        return Path(path or os.environ[ENV_VAR])
    return accounts.accounts_path().with_name("web_sessions.json")


def _now(now: dt.datetime | None) -> dt.datetime:
    return (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)


def _store(path: str | os.PathLike | None, write: bool = True) -> AbstractContextManager[dict]:
    return locked_json(sessions_path(path), {"version": 1, "sessions": {}}, write=write)


def _key(path: str | os.PathLike | None) -> bytes:
    """The signing key, made once per deployment (a new key ends every session)."""
    target = sessions_path(path).with_name("session_key")
    with file_lock(target):  # its own lock: signing happens while the sessions file is locked
        if not target.exists():
            write_private(target, secrets.token_hex(32))
        return bytes.fromhex(target.read_text().strip())


def _sign(purpose: str, body: str, path: str | os.PathLike | None) -> str:
    return hmac.new(_key(path), f"{purpose}|{body}".encode(), hashlib.sha256).hexdigest()


def _session(sid: str, record: dict) -> WebSession:
    return WebSession(
        sid,
        record["user"],
        record["method"],
        dt.datetime.fromisoformat(record["created"]),
        dt.datetime.fromisoformat(record["last_seen"]),
    )


def _expired(record: dict, moment: dt.datetime, settings: SessionSettings) -> str | None:
    """Why the record may no longer be used, or None."""
    if record.get("ended"):
        return "ended"
    if moment - dt.datetime.fromisoformat(record["last_seen"]) > dt.timedelta(hours=settings.idle_hours):
        return "idle"
    if moment - dt.datetime.fromisoformat(record["created"]) > dt.timedelta(hours=settings.absolute_hours):
        return "absolute"
    return None


def start(
    user: str,
    method: str,
    *,
    path: str | os.PathLike | None = None,
    now: dt.datetime | None = None,
    settings: SessionSettings = SessionSettings(),
) -> WebSession:
    """A new session record; records past their time-outs are dropped on the way."""
    moment = _now(now)
    sid = secrets.token_urlsafe(24)
    stamp = moment.isoformat(timespec="seconds")
    with _store(path) as data:
        kept = {k: v for k, v in data["sessions"].items() if _expired(v, moment, settings) is None}
        kept[sid] = {"user": user, "method": method, "created": stamp, "last_seen": stamp}
        data["sessions"] = kept
        return _session(sid, kept[sid])


def cookie_value(session: WebSession, *, path: str | os.PathLike | None = None) -> str:
    return f"{session.id}.{_sign('cookie', session.id, path)}"


def handoff_token(session: WebSession, *, path: str | os.PathLike | None = None, now: dt.datetime | None = None) -> str:
    """A one-time token for /auth/session, good for HANDOFF_SECONDS."""
    expires = int(_now(now).timestamp()) + HANDOFF_SECONDS
    body = f"{session.id}.{expires}"
    return f"{body}.{_sign('handoff', body, path)}"


def redeem_handoff(token: str, *, path: str | os.PathLike | None = None, now: dt.datetime | None = None) -> str | None:
    """The cookie value for a valid, unexpired, unused handoff token; None otherwise."""
    sid, _, rest = token.partition(".")
    expires, _, signature = rest.partition(".")
    if not (sid and expires.isdigit() and signature):
        return None
    if not hmac.compare_digest(signature, _sign("handoff", f"{sid}.{expires}", path)):
        return None
    if int(expires) < _now(now).timestamp():
        return None
    with _store(path) as data:
        record = data["sessions"].get(sid)
        if record is None or record.get("ended") or record.get("handed_off"):
            return None
        record["handed_off"] = True
        return cookie_value(_session(sid, record), path=path)


def resume(
    cookie: str | None,
    *,
    path: str | os.PathLike | None = None,
    now: dt.datetime | None = None,
    settings: SessionSettings = SessionSettings(),
) -> tuple[WebSession | None, str]:
    """(session, "ok") for a valid cookie of a live session, touched; else (None, why)."""
    if not cookie:
        return None, "none"
    sid, _, signature = cookie.partition(".")
    if not (sid and signature) or not hmac.compare_digest(signature, _sign("cookie", sid, path)):
        return None, "forged"
    return _live(sid, path, _now(now), settings)


def resume_id(
    sid: str,
    *,
    path: str | os.PathLike | None = None,
    now: dt.datetime | None = None,
    settings: SessionSettings = SessionSettings(),
) -> WebSession | None:
    """The live session of a signed-in Streamlit session (each run checks it was not ended elsewhere)."""
    return _live(sid, path, _now(now), settings)[0]


def _live(
    sid: str, path: str | os.PathLike | None, moment: dt.datetime, settings: SessionSettings
) -> tuple[WebSession | None, str]:
    with _store(path, write=False) as data:
        record = data["sessions"].get(sid)
    if record is None:
        return None, "unknown"
    why = _expired(record, moment, settings)
    if why:
        return None, why
    if (moment - dt.datetime.fromisoformat(record["last_seen"])).total_seconds() >= TOUCH_SECONDS:
        return touch(sid, path=path, now=moment), "ok"
    return _session(sid, record), "ok"


def touch(sid: str, *, path: str | os.PathLike | None = None, now: dt.datetime | None = None) -> WebSession | None:
    """Record activity: the idle time-out counts from here."""
    with _store(path) as data:
        record = data["sessions"].get(sid)
        if record is None:
            return None
        record["last_seen"] = _now(now).isoformat(timespec="seconds")
        return _session(sid, record)


def end(sid: str, reason: str, *, path: str | os.PathLike | None = None, now: dt.datetime | None = None) -> None:
    """Logout or expiry: the cookie naming this session no longer resumes it."""
    with _store(path) as data:
        record = data["sessions"].get(sid)
        if record is not None:
            record["ended"] = f"{_now(now).isoformat(timespec='seconds')} {reason}"


def end_user(user: str, *, path: str | os.PathLike | None = None, now: dt.datetime | None = None) -> int:
    """End every session of a user (account disabled, role or password changed); returns how many."""
    stamp = _now(now).isoformat(timespec="seconds")
    count = 0
    with _store(path) as data:
        for record in data["sessions"].values():
            if record["user"] == user and not record.get("ended"):
                record["ended"] = f"{stamp} account change"
                count += 1
    return count


def session_url(token: str, next_path: str) -> str:
    """Where the browser goes after a login to get its cookie, then on to next_path."""
    from urllib.parse import urlencode

    return f"{SESSION_ROUTE}?{urlencode({'t': token, 'next': safe_next(next_path)})}"


def safe_next(target: str | None) -> str:
    """A local path to send the browser on to (no other host, no scheme), else "/"."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(c in target for c in "\r\n") or ":" in target.split("?", 1)[0]:
        return "/"
    return target
