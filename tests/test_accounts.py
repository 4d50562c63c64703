"""Local accounts: argon2 hashes, lockout, roles with school scope, session expiry, the users CLI."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from access import accounts, accounts_cli
from access.accounts import (
    AccountError,
    AccountSettings,
    add_user,
    disable_user,
    enable_user,
    list_users,
    login,
    session_expired,
    set_role,
    verify_password,
)
from access.audit_log import read

T0 = dt.datetime(2025, 1, 6, 8, 0, tzinfo=dt.UTC)
GOOD = "correct horse battery"


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "accounts.json"
    add_user("ana", GOOD, "coordinator", ["a"], path=path, now=T0)
    return path


def test_passwords_are_stored_only_as_argon2_hashes_in_a_private_file(store):
    text = store.read_text()
    assert GOOD not in text
    assert json.loads(text)["users"]["ana"]["hash"].startswith("$argon2id$")
    assert oct(os.stat(store).st_mode & 0o777) == "0o600"


def test_right_password_logs_in_with_role_and_schools(store):
    result = verify_password("ana", GOOD, path=store, now=T0)
    assert result.ok and result.reason == "ok"
    assert result.account.viewer().cache_key() == "coordinator|a|exact"


def test_wrong_and_unknown(store):
    assert verify_password("ana", "wrong password!", path=store, now=T0).reason == "wrong_password"
    assert verify_password("nobody", GOOD, path=store, now=T0).reason == "unknown"


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(store):
    for _ in range(4):
        assert verify_password("ana", "nope nope nope", path=store, now=T0).reason == "wrong_password"
    locked = verify_password("ana", "nope nope nope", path=store, now=T0)
    assert locked.reason == "locked" and locked.locked_until == T0 + dt.timedelta(minutes=15)
    assert verify_password("ana", GOOD, path=store, now=T0 + dt.timedelta(minutes=14)).reason == "locked"
    assert verify_password("ana", GOOD, path=store, now=T0 + dt.timedelta(minutes=16)).ok


def test_a_success_resets_the_failure_count(store):
    for _ in range(4):
        verify_password("ana", "nope nope nope", path=store, now=T0)
    assert verify_password("ana", GOOD, path=store, now=T0).ok
    for _ in range(4):
        assert verify_password("ana", "nope nope nope", path=store, now=T0).reason == "wrong_password"


def test_lockout_settings(store):
    settings = AccountSettings(max_failures=2, lockout_minutes=1)
    verify_password("ana", "nope nope nope", path=store, now=T0, settings=settings)
    assert verify_password("ana", "nope nope nope", path=store, now=T0, settings=settings).reason == "locked"


def test_disabled_accounts_cannot_log_in(store):
    disable_user("ana", path=store)
    assert verify_password("ana", GOOD, path=store, now=T0).reason == "disabled"
    enable_user("ana", path=store)
    assert verify_password("ana", GOOD, path=store, now=T0).ok


def test_roles_and_school_scope(store):
    with pytest.raises(AccountError, match="at least one school"):
        set_role("ana", "coordinator", [], path=store)
    with pytest.raises(AccountError, match="only coordinators"):
        set_role("ana", "district", ["a"], path=store)
    assert set_role("ana", "board", path=store).viewer().suppressed
    assert [(a.name, a.role, a.school_ids) for a in list_users(path=store)] == [("ana", "board", None)]


def test_bad_names_short_passwords_and_duplicates_are_refused(store):
    with pytest.raises(AccountError, match="user name"):
        add_user("../root", GOOD, "admin", path=store)
    with pytest.raises(AccountError, match="at least 12"):
        add_user("bo", "short", "admin", path=store)
    with pytest.raises(AccountError, match="exists"):
        add_user("ana", GOOD, "admin", path=store)


FAST = AccountSettings(min_login_seconds=0.0)


def test_logins_failures_and_lockouts_are_audited(store, tmp_path):
    log = tmp_path / "audit_log.jsonl"
    login("ana", GOOD, path=store, audit_path=log, now=T0, settings=FAST)
    for _ in range(6):
        login("ana", "nope nope nope", path=store, audit_path=log, now=T0, settings=FAST)
    events = [r["event"] for r in read(path=log)]
    assert events == ["login"] + ["login_failed"] * 5 + ["lockout"] + ["login_failed"]
    assert all(GOOD not in json.dumps(r) and "nope" not in json.dumps(r) for r in read(path=log))


@pytest.fixture
def four_ways_to_fail(store):
    """An unknown name, a wrong password, a locked account and a disabled one (each with its password)."""
    add_user("bo", GOOD, "district", path=store, now=T0)
    add_user("cy", GOOD, "district", path=store, now=T0)
    disable_user("cy", path=store)
    for _ in range(5):
        verify_password("bo", "nope nope nope", path=store, now=T0)
    assert verify_password("bo", GOOD, path=store, now=T0).reason == "locked"
    return {
        "unknown": ("nobody", GOOD),
        "wrong_password": ("ana", "nope nope nope"),
        "locked": ("bo", GOOD),
        "disabled": ("cy", GOOD),
    }


def test_every_failure_gets_the_same_answer(store, tmp_path, four_ways_to_fail):
    results = {
        why: login(name, password, path=store, audit_path=tmp_path / "log.jsonl", now=T0, settings=FAST)
        for why, (name, password) in four_ways_to_fail.items()
    }
    assert {why: r.reason for why, r in results.items()} == {why: why for why in results}  # the log knows why
    assert {r.message for r in results.values()} == {accounts.FAILED_LOGIN_MESSAGE}  # the form does not
    assert not any(r.ok for r in results.values())
    assert login("ana", GOOD, path=store, audit_path=tmp_path / "log.jsonl", now=T0, settings=FAST).message == ""


def test_every_failure_does_one_password_hash_check(store, four_ways_to_fail, monkeypatch):
    # the same argon2 work whatever the reason, so no path answers faster than another
    real, calls = accounts._verify, []
    monkeypatch.setattr(accounts, "_verify", lambda hashed, password: calls.append(hashed) or real(hashed, password))
    for why, (name, password) in four_ways_to_fail.items():
        calls.clear()
        assert verify_password(name, password, path=store, now=T0).reason == why
        assert len(calls) == 1, why


def test_every_failure_takes_the_same_time(store, tmp_path, four_ways_to_fail):
    import time

    settings = AccountSettings(min_login_seconds=2.5)
    elapsed = {}
    for why, (name, password) in four_ways_to_fail.items():
        start = time.monotonic()
        login(name, password, path=store, audit_path=tmp_path / "log.jsonl", now=T0, settings=settings)
        elapsed[why] = time.monotonic() - start
    assert min(elapsed.values()) >= 2.5, elapsed
    # the floor is above the work's time (even on a busy machine), so only the sleep's overshoot is left
    assert max(elapsed.values()) - min(elapsed.values()) < 0.3, elapsed


def test_failed_logins_never_record_the_typed_name(store, tmp_path):
    log = tmp_path / "audit_log.jsonl"
    typed = "correct horse battery staple"  # a password typed into the name field
    login(typed, "x", path=store, audit_path=log, now=T0, settings=FAST)
    login("ana", "nope nope nope", path=store, audit_path=log, now=T0, settings=FAST)
    first, second = read(path=log)
    assert typed not in log.read_text() and '"ana"' not in log.read_text()
    assert first["user"] == second["user"] == ""
    assert first["detail"]["reason"] == "unknown" and second["detail"]["reason"] == "wrong_password"
    # a keyed hash: the same name gives the same token, so an administrator can follow one name's failures
    assert second["detail"]["name_token"] == accounts.name_token("ana", path=store)
    assert first["detail"]["name_token"] == accounts.name_token(typed, path=store) != second["detail"]["name_token"]
    key = json.loads(store.read_text())["name_key"]
    assert len(key) == 64 and key not in log.read_text()
    import hashlib

    assert hashlib.sha256(b"ana").hexdigest()[:20] != second["detail"]["name_token"]  # not a bare hash


def test_sessions_expire_after_eight_idle_hours():
    assert not session_expired(T0, now=T0 + dt.timedelta(hours=7, minutes=59))
    assert session_expired(T0, now=T0 + dt.timedelta(hours=8, minutes=1))


def cli(tmp_path, *argv):
    parser = argparse.ArgumentParser()
    accounts_cli.add_arguments(parser)
    args = parser.parse_args(
        ["--accounts", str(tmp_path / "accounts.json"), "--audit-log", str(tmp_path / "audit.jsonl"), *argv]
    )
    return accounts_cli.run(args)


def test_cli_reads_passwords_from_the_environment_never_argv(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NEW_PASSWORD", GOOD)
    _schools_warehouse(tmp_path, "a", "b")
    assert (
        cli(
            tmp_path,
            "--db",
            str(tmp_path / "warehouse.duckdb"),
            "add",
            "bo",
            "--role",
            "coordinator",
            "--school",
            "a",
            "--school",
            "b",
            "--password-env",
            "NEW_PASSWORD",
        )
        == 0
    )
    assert cli(tmp_path, "set-role", "bo", "--role", "district") == 0
    assert cli(tmp_path, "disable", "bo") == 0
    assert cli(tmp_path, "list") == 0
    out = capsys.readouterr().out
    assert "bo" in out and "disabled" in out and "$argon2" not in out
    assert [r["detail"]["action"] for r in read(path=tmp_path / "audit.jsonl")] == ["add", "set-role", "disable"]
    with pytest.raises(SystemExit):
        cli(tmp_path, "add", "cy", "--role", "admin", "--password", GOOD)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_cli_prompts_with_getpass(tmp_path, monkeypatch):
    monkeypatch.setattr(accounts_cli.sys, "stdin", _Terminal())
    answers = iter([GOOD, GOOD])
    monkeypatch.setattr(accounts_cli.getpass, "getpass", lambda prompt="": next(answers))
    assert cli(tmp_path, "add", "cy", "--role", "admin") == 0
    assert accounts.verify_password("cy", GOOD, path=tmp_path / "accounts.json").ok


def test_cli_reports_errors_without_a_traceback(tmp_path, capsys):
    assert cli(tmp_path, "disable", "ghost") == 2
    assert "no user 'ghost'" in capsys.readouterr().err


def test_a_password_given_as_the_env_name_is_not_echoed(tmp_path, capsys):
    assert cli(tmp_path, "add", "dee", "--role", "admin", "--password-env", GOOD) == 2
    assert GOOD not in capsys.readouterr().err


@pytest.mark.parametrize(
    "password, words",
    [
        ("Password2024!", "common passwords"),  # a common stem with digits and a symbol
        ("Summer2024!!", "common passwords"),
        ("123456789012", "common passwords"),
        ("qwertyuiop12", "common passwords"),
        ("Correct Horse Battery Staple", "common passwords"),  # the famous example is the first one tried
        ("abababababab", "different characters"),
        ("short1!", "at least 12"),
    ],
)
def test_weak_passwords_are_refused(store, password, words):
    with pytest.raises(AccountError, match=words):
        add_user("ana.lopez", password, "district", path=store)
    with pytest.raises(AccountError, match=words):
        accounts.set_password("ana", password, path=store)


def test_a_password_may_not_contain_the_user_name(store):
    with pytest.raises(AccountError, match="user name"):
        accounts.set_password("ana", "Ana-runs-the-reports", path=store)
    with pytest.raises(AccountError, match="user name"):
        add_user("ana.lopez", "ana.lopez runs reports", "district", path=store)
    with pytest.raises(AccountError, match="user name"):
        add_user("mara@district.org", "mara likes long walks", "district", path=store)
    assert add_user("mara2@district.org", "four unrelated words here", "district", path=store).name


def test_the_common_password_list_ships_with_the_repo():
    listed = accounts.common_passwords()
    assert accounts.COMMON_PASSWORDS.is_file() and len(listed) >= 100
    assert "password" in listed and not any(x.startswith("#") for x in listed)


def _users_add_piped(tmp_path, stdin: str, name: str) -> subprocess.CompletedProcess:
    repo = Path(__file__).resolve().parent.parent
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines",
            "users",
            "--accounts",
            str(tmp_path / "accounts.json"),
            "--audit-log",
            str(tmp_path / "audit.jsonl"),
            "add",
            name,
            "--role",
            "district",
        ],
        cwd=repo,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_piped_password_works_in_users_add(tmp_path):
    done = _users_add_piped(tmp_path, GOOD + "\n", "pip")
    assert done.returncode == 0, done.stderr
    assert GOOD not in done.stdout + done.stderr
    assert verify_password("pip", GOOD, path=tmp_path / "accounts.json").ok
    empty = _users_add_piped(tmp_path, "", "pip2")
    assert empty.returncode == 2 and "no password on standard input" in empty.stderr


def test_an_outsider_cannot_lock_the_admin_out(store, tmp_path):
    add_user("root1", GOOD, "admin", path=store, now=T0)
    log = tmp_path / "audit_log.jsonl"
    outsider, office = "203.0.113.9", "10.20.0.5"
    for _ in range(6):
        login("root1", "guessing guessing", client=outsider, path=store, audit_path=log, now=T0, settings=FAST)
    assert verify_password("root1", GOOD, client=outsider, path=store, now=T0).reason == "locked"
    assert login("root1", GOOD, client=office, path=store, audit_path=log, now=T0, settings=FAST).ok
    # the office's success does not lift the outsider's lock, and the lock was audited once, without the address
    assert verify_password("root1", GOOD, client=outsider, path=store, now=T0).reason == "locked"
    assert [r["event"] for r in read(path=log)].count("lockout") == 1
    assert outsider not in log.read_text() and outsider not in store.read_text()
    assert accounts.enable_user("root1", path=store).locked_until is None  # an admin can lift it
    assert verify_password("root1", GOOD, client=outsider, path=store, now=T0).ok


def test_an_administrator_finds_the_failures_of_one_typed_name(store, tmp_path, capsys):
    from access import audit_cli

    log = tmp_path / "audit_log.jsonl"
    for name in ("ana", "Ana ", "nobody", "ana"):
        login(name.strip().lower(), "nope nope nope", path=store, audit_path=log, now=T0, settings=FAST)
    parser = argparse.ArgumentParser()
    audit_cli.add_arguments(parser)
    assert (
        audit_cli.run(
            parser.parse_args(["--audit-log", str(log), "--accounts", str(store), "--failed-name", "ana", "--json"])
        )
        == 0
    )
    found = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(found) == 3 and {r["detail"]["reason"] for r in found} == {"wrong_password"}


def _schools_warehouse(folder, *ids: str) -> None:
    """A real DuckDB file with a schools table, as a load leaves it (only the column the check reads)."""
    import duckdb

    with duckdb.connect(str(folder / "warehouse.duckdb")) as con:
        con.execute("create table schools (school_id varchar)")
        con.executemany("insert into schools values (?)", [[i] for i in ids])


def test_cli_refuses_a_coordinator_for_an_unknown_school(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NEW_PASSWORD", GOOD)
    db = str(tmp_path / "warehouse.duckdb")
    base = ["add", "bo", "--role", "coordinator", "--password-env", "NEW_PASSWORD"]
    assert cli(tmp_path, "--db", db, *base, "--school", "a") == 2  # no warehouse yet
    assert "no warehouse" in capsys.readouterr().err
    _schools_warehouse(tmp_path, "a", "b")
    assert cli(tmp_path, "--db", db, *base, "--school", "a", "--school", "zz") == 2
    assert "unknown school id zz" in capsys.readouterr().err
    assert list_users(path=tmp_path / "accounts.json") == []
    assert cli(tmp_path, "--db", db, *base, "--school", "b") == 0
    assert cli(tmp_path, "--db", db, "set-role", "bo", "--role", "coordinator", "--school", "c") == 2


def test_disabling_an_account_ends_its_browser_sessions(tmp_path, monkeypatch):
    from access import web_sessions

    monkeypatch.setenv("NEW_PASSWORD", GOOD)
    assert cli(tmp_path, "add", "cy", "--role", "district", "--password-env", "NEW_PASSWORD") == 0
    store = tmp_path / "web_sessions.json"
    session = web_sessions.start("cy", "local", path=store)
    assert web_sessions.resume_id(session.id, path=store) is not None
    assert cli(tmp_path, "disable", "cy") == 0
    assert web_sessions.resume_id(session.id, path=store) is None
