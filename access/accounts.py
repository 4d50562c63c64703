"""Local accounts for districts without single sign-on.

Passwords are stored only as argon2id hashes (argon2-cffi) in a small JSON
file outside the warehouse (default data/accounts.json, mode 0600), so loads
that replace the warehouse never touch them. After `max_failures`
consecutive wrong passwords an account is locked for `lockout_minutes`;
sessions expire after `idle_hours` without activity.

Every failed login gets the same answer (FAILED_LOGIN_MESSAGE) after the
same time, whether the name is unknown, the password wrong, or the account
locked or disabled, so the form tells an outsider nothing about which names
exist. The audit log records a failed attempt by a keyed hash of the typed
name (name_token), never the text itself: people type passwords into the
name field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from access import audit_log
from access.private_files import locked_json
from access.roles import COORDINATOR, ROLES, Viewer, viewer

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ACCOUNTS = REPO_ROOT / "data" / "accounts.json"
ENV_VAR = "BTAM_ACCOUNTS"
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
MIN_PASSWORD = 12
MIN_DISTINCT = 5
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")

_hasher = PasswordHasher()


class AccountError(ValueError):
    """An account operation that cannot be done as asked; the message says why."""


@dataclass(frozen=True)
class AccountSettings:
    max_failures: int = 5
    lockout_minutes: int = 15
    idle_hours: float = 8.0
    # every login answers after at least this long (an argon2 check and two small fsyncs take 0.1-0.3 s,
    # over 1 s on a busy 2-core host), so the time of the answer does not tell unknown, wrong, locked and
    # disabled apart
    min_login_seconds: float = 1.0


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    school_ids: tuple[str, ...] | None
    disabled: bool
    failed: int
    locked_until: dt.datetime | None
    created: dt.datetime

    def viewer(self) -> Viewer:
        return viewer(self.role, self.school_ids)


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    reason: str  # ok, unknown, disabled, locked, wrong_password
    account: Account | None = None
    locked_until: dt.datetime | None = None
    new_lock: bool = False  # this failure started the lock (audited once as a lockout)

    @property
    def message(self) -> str:
        """What the login form may say: nothing that tells the failure reasons apart."""
        return "" if self.ok else FAILED_LOGIN_MESSAGE


FAILED_LOGIN_MESSAGE = (
    "Login failed: the user name or password is wrong, or the account cannot log in now "
    "(after 5 wrong passwords an account waits 15 minutes). An administrator can help."
)


def accounts_path(path: str | os.PathLike | None = None) -> Path:
    return Path(path or os.environ.get(ENV_VAR) or DEFAULT_ACCOUNTS)


def _now(now: dt.datetime | None) -> dt.datetime:
    return (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)


def _store(path: str | os.PathLike | None, write: bool = True) -> AbstractContextManager[dict]:
    """The accounts file under an exclusive lock; written back atomically (0600) when `write`."""
    return locked_json(accounts_path(path), {"version": 1, "users": {}}, write=write)


def _account(name: str, entry: dict) -> Account:
    """The account; failed and locked_until are the worst over its clients."""
    slots = list(entry.get("clients", {}).values())
    locks = [s["locked_until"] for s in slots if s.get("locked_until")]
    return Account(
        name,
        entry["role"],
        tuple(entry["school_ids"]) if entry.get("school_ids") is not None else None,
        bool(entry.get("disabled")),
        max((int(s.get("failed", 0)) for s in slots), default=0),
        dt.datetime.fromisoformat(max(locks)) if locks else None,
        dt.datetime.fromisoformat(entry["created"]),
    )


def _client_key(client: str) -> str:
    """Where a login came from (the browser's address), stored only as a short hash."""
    return hashlib.sha256(client.encode("utf-8")).hexdigest()[:16] if client else "-"


def _check_scope(role: str, school_ids: Iterable[str] | None) -> list[str] | None:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    ids = sorted({str(s).strip() for s in school_ids if str(s).strip()}) if school_ids else []
    if role == COORDINATOR and not ids:
        raise AccountError("a coordinator needs at least one school (--school SCHOOL_ID)")
    if role != COORDINATOR and ids:
        raise AccountError(f"only coordinators are limited to schools; a {role} sees every school")
    return ids if role == COORDINATOR else None


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of passwords and stems tried first by attackers (access/common_passwords.txt)."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(x.strip().lower() for x in lines if x.strip() and not x.startswith("#"))


def _check_password(password: str, name: str) -> None:
    """Length, variety, not a common password or stem, not the account name (the rules of NIST SP 800-63B)."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    lowered = password.lower()
    if len(set(lowered)) < MIN_DISTINCT:
        raise AccountError(f"the password must use at least {MIN_DISTINCT} different characters")
    stem = re.sub(r"[^a-z]", "", lowered)
    common = common_passwords()
    if lowered in common or stem in common or lowered.replace(" ", "") in common:
        raise AccountError(
            "the password is on the list of common passwords (access/common_passwords.txt); "
            "a few unrelated words make a good one"
        )
    parts = {name.lower(), name.lower().split("@")[0]}
    if any(len(part) >= 3 and part in lowered for part in parts):
        raise AccountError("the password must not contain the user name")


def add_user(
    name: str,
    password: str,
    role: str,
    school_ids: Iterable[str] | None = None,
    *,
    path: str | os.PathLike | None = None,
    now: dt.datetime | None = None,
) -> Account:
    if not USERNAME.match(name):
        raise AccountError("a user name is 1-64 characters of a-z 0-9 . _ @ -, starting with a letter or digit")
    scope = _check_scope(role, school_ids)
    _check_password(password, name)
    with _store(path) as data:
        if name in data["users"]:
            raise AccountError(f"user {name!r} exists; use set-role or passwd to change it")
        data["users"][name] = {
            "hash": _hasher.hash(password),
            "role": role,
            "school_ids": scope,
            "disabled": False,
            "clients": {},
            "created": _now(now).isoformat(timespec="seconds"),
        }
        return _account(name, data["users"][name])


def list_users(*, path: str | os.PathLike | None = None) -> list[Account]:
    with _store(path, write=False) as data:
        return [_account(n, e) for n, e in sorted(data["users"].items())]


def get_user(name: str, *, path: str | os.PathLike | None = None) -> Account | None:
    with _store(path, write=False) as data:
        entry = data["users"].get(name)
        return _account(name, entry) if entry else None


def _update(name: str, path: str | os.PathLike | None, **changes) -> Account:
    with _store(path) as data:
        if name not in data["users"]:
            raise AccountError(f"no user {name!r}; `users list` shows who exists")
        data["users"][name].update(changes)
        return _account(name, data["users"][name])


def disable_user(name: str, *, path: str | os.PathLike | None = None) -> Account:
    return _update(name, path, disabled=True)


def enable_user(name: str, *, path: str | os.PathLike | None = None) -> Account:
    return _update(name, path, disabled=False, clients={})


def set_role(
    name: str, role: str, school_ids: Iterable[str] | None = None, *, path: str | os.PathLike | None = None
) -> Account:
    return _update(name, path, role=role, school_ids=_check_scope(role, school_ids))


def set_password(name: str, password: str, *, path: str | os.PathLike | None = None) -> Account:
    _check_password(password, name)
    return _update(name, path, hash=_hasher.hash(password), clients={})


def verify_password(
    name: str,
    password: str,
    *,
    client: str = "",
    path: str | os.PathLike | None = None,
    settings: AccountSettings = AccountSettings(),
    now: dt.datetime | None = None,
) -> LoginResult:
    """Check a password, counting consecutive failures and locking after too many.

    Failures are counted per account AND client (the address the login came
    from), so an outsider who types wrong passwords for the admin locks only
    the admin's logins from the outsider's own address."""
    moment = _now(now)
    dummy = _dummy_hash()  # made by the first check of any name, so no first check stands out by its timing
    with _store(path) as data:
        entry = data["users"].get(name)
        if entry is None:
            _verify(dummy, password)  # same work as a real check: no user-name probing by timing
            return LoginResult(False, "unknown")
        for legacy in ("failed", "locked_until"):  # counters from before they were kept per client
            entry.pop(legacy, None)
        slot = entry.setdefault("clients", {}).setdefault(_client_key(client), {"failed": 0, "locked_until": None})
        locked = dt.datetime.fromisoformat(slot["locked_until"]) if slot.get("locked_until") else None
        if locked and locked > moment:
            _verify(dummy, password)
            return LoginResult(False, "locked", _account(name, entry), locked)
        if entry.get("disabled"):
            _verify(dummy, password)
            return LoginResult(False, "disabled", _account(name, entry))
        if _verify(entry["hash"], password):
            if _hasher.check_needs_rehash(entry["hash"]):
                entry["hash"] = _hasher.hash(password)
            entry["clients"].pop(_client_key(client), None)
            return LoginResult(True, "ok", _account(name, entry))
        slot["failed"] = int(slot.get("failed", 0)) + 1
        if slot["failed"] >= settings.max_failures:
            until = moment + dt.timedelta(minutes=settings.lockout_minutes)
            slot.update(failed=0, locked_until=until.isoformat(timespec="seconds"))
            return LoginResult(False, "locked", _account(name, entry), until, new_lock=True)
        return LoginResult(False, "wrong_password", _account(name, entry))


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to verify against for unknown or disabled names (made on first use: hashing is slow on purpose)."""
    return _hasher.hash("timing-equaliser-not-a-password")


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def name_token(name: str, *, path: str | os.PathLike | None = None) -> str:
    """A keyed hash of a typed user name, for the audit log of failed logins.

    The key is made on first use and kept in the accounts file (0600), so the
    token can be matched to a name only by someone who can read that file
    (`pipelines audit --failed-name NAME`), and cannot be reversed by hashing
    guesses without it."""
    with _store(path, write=False) as data:
        key = data.get("name_key")
    if key is None:
        with _store(path) as data:
            key = data.setdefault("name_key", secrets.token_hex(32))
    return hmac.new(bytes.fromhex(key), name.encode("utf-8"), hashlib.sha256).hexdigest()[:20]


def login(
    name: str,
    password: str,
    *,
    client: str = "",
    path: str | os.PathLike | None = None,
    audit_path: str | os.PathLike | None = None,
    settings: AccountSettings = AccountSettings(),
    now: dt.datetime | None = None,
) -> LoginResult:
    """verify_password, with the outcome written to the audit log (login, login_failed, lockout),
    answered no sooner than `min_login_seconds` after the call whatever the outcome."""
    deadline = time.monotonic() + settings.min_login_seconds
    try:
        return _login(name, password, client=client, path=path, audit_path=audit_path, settings=settings, now=now)
    finally:
        time.sleep(max(0.0, deadline - time.monotonic()))


def _login(
    name: str,
    password: str,
    *,
    client: str,
    path: str | os.PathLike | None,
    audit_path: str | os.PathLike | None,
    settings: AccountSettings,
    now: dt.datetime | None,
) -> LoginResult:
    result = verify_password(name, password, client=client, path=path, settings=settings, now=now)
    account = result.account
    role = account.role if account else ""
    scope = account.viewer().cache_key() if account and not account.disabled else ""
    if result.ok:
        audit_log.append("login", user=name, role=role, scope=scope, now=now, path=audit_path)
    else:
        # the typed name is withheld (it may be a password typed in the wrong field): a keyed hash only
        audit_log.append(
            "login_failed",
            user="",
            role=role,
            scope=scope,
            detail={"reason": result.reason, "name_token": name_token(name, path=path), "client": _client_key(client)},
            now=now,
            path=audit_path,
        )
        if result.new_lock:
            # a lockout happens only to an existing account, so its name is an account name, not typed text
            audit_log.append(
                "lockout",
                user=name,
                role=role,
                scope=scope,
                detail={"until": result.locked_until.isoformat(timespec="seconds"), "client": _client_key(client)},
                now=now,
                path=audit_path,
            )
    return result


def session_expired(
    last_seen: dt.datetime, *, now: dt.datetime | None = None, settings: AccountSettings = AccountSettings()
) -> bool:
    """True when a session has been idle longer than `idle_hours`."""
    return _now(now) - last_seen.astimezone(dt.UTC) > dt.timedelta(hours=settings.idle_hours)
