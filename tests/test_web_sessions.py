"""Sessions that survive a refresh (access/web_sessions.py): signature, one-time handoff, idle and absolute time-outs."""

from __future__ import annotations

import datetime as dt

import pytest

from access import web_sessions as ws

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(tmp_path):
    return tmp_path / "web_sessions.json"


def _cookie(store, now=T0):
    session = ws.start("lead", "local", path=store, now=now)
    cookie = ws.redeem_handoff(ws.handoff_token(session, path=store, now=now), path=store, now=now)
    assert cookie is not None
    return session, cookie


def test_a_cookie_resumes_its_session_until_the_idle_time_out(store):
    session, cookie = _cookie(store)
    long_day = ws.SessionSettings(idle_hours=8, absolute_hours=48)
    resumed, why = ws.resume(cookie, path=store, now=T0 + dt.timedelta(hours=7, minutes=59), settings=long_day)
    assert why == "ok" and resumed is not None and resumed.user == "lead" and resumed.id == session.id
    # that use counted as activity: 8 hours idle are counted from it
    assert ws.resume(cookie, path=store, now=T0 + dt.timedelta(hours=15), settings=long_day)[1] == "ok"
    late = T0 + dt.timedelta(hours=23, minutes=1)
    assert ws.resume(cookie, path=store, now=late, settings=long_day) == (None, "idle")


def test_the_absolute_time_out_holds_however_active(store):
    _, cookie = _cookie(store)
    for hour in range(1, 12):
        assert ws.resume(cookie, path=store, now=T0 + dt.timedelta(hours=hour))[1] == "ok"
    assert ws.resume(cookie, path=store, now=T0 + dt.timedelta(hours=12, minutes=1)) == (None, "absolute")


def test_logout_ends_the_session_for_every_copy_of_the_cookie(store):
    session, cookie = _cookie(store)
    ws.end(session.id, "user", path=store, now=T0)
    assert ws.resume(cookie, path=store, now=T0) == (None, "ended")
    assert ws.resume_id(session.id, path=store, now=T0) is None


def test_forged_and_tampered_cookies_are_refused(store):
    session, cookie = _cookie(store)
    sid, signature = cookie.split(".")
    assert ws.resume(f"{sid}.{'0' * len(signature)}", path=store, now=T0) == (None, "forged")
    assert ws.resume(session.id, path=store, now=T0) == (None, "forged")
    assert ws.resume("", path=store, now=T0) == (None, "none")


def test_a_handoff_token_works_once_and_for_a_minute_only(store):
    session = ws.start("lead", "local", path=store, now=T0)
    token = ws.handoff_token(session, path=store, now=T0)
    late = ws.handoff_token(session, path=store, now=T0)
    assert ws.redeem_handoff(late, path=store, now=T0 + dt.timedelta(seconds=61)) is None
    assert ws.redeem_handoff(token, path=store, now=T0 + dt.timedelta(seconds=30)) is not None
    assert ws.redeem_handoff(token, path=store, now=T0 + dt.timedelta(seconds=31)) is None  # used
    assert ws.redeem_handoff(token.replace(".", "x", 1), path=store, now=T0) is None


def test_an_account_change_ends_every_session_of_that_user(store):
    first, one = _cookie(store)
    _, two = _cookie(store)
    other = ws.start("someone", "local", path=store, now=T0)
    assert ws.end_user("lead", path=store, now=T0) == 2
    assert ws.resume(one, path=store, now=T0)[1] == ws.resume(two, path=store, now=T0)[1] == "ended"
    assert ws.resume_id(other.id, path=store, now=T0) is not None


def test_the_files_are_private(store):
    _cookie(store)
    assert store.stat().st_mode & 0o777 == 0o600
    assert store.with_name("session_key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/equity?year=2023-24", "/equity?year=2023-24"),
        ("https://elsewhere.example/", "/"),
        ("//elsewhere.example/x", "/"),
        ("/\\elsewhere", "/"),
        ("javascript:alert(1)", "/"),
        (None, "/"),
    ],
)
def test_the_browser_is_sent_on_only_to_a_page_of_this_server(target, expected):
    assert ws.safe_next(target) == expected
