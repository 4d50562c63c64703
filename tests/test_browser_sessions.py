"""Deep links, logins and refreshes as a district's users meet them, in headless Chromium (issue 16).

A warehouse of real data (the demo's files loaded without --synthetic) asks for a login. For each role:
a deep link on a server no one has opened yet shows the login form at that address; after the login the
user is on the linked page; a refresh, and a refresh after a server restart, keep the session; logging out
drops the cookie and the link asks for a login again; the page made no request to any other host and shows no
error or traceback text.

These once timed out waiting for the login's redirect to /auth/session: ui/login.py followed the redirect with
st.rerun(), whose start clears the messages not yet sent to the browser, so about half the logins never got
their cookie (and a refresh logged the user out). The login's run now ends with the redirect instead.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import duckdb
import pytest

from tests.browser import AS_OF, DEMO_SEED, _run, browser, chromium_path, exceptions, serve, wait_until_rendered

pytestmark = pytest.mark.browser
PASSWORD = "plum orbit velvet canyon"
# (role, deep link, the page's title)
ROLES = [
    ("admin", "/audit_log", "Audit log"),
    ("district", "/equity?year=2023-24", "Equity"),
    ("coordinator", "/overview", "Overview"),  # the default page's own address (the root sends the browser there)
    ("board", "/board_report", "Board report"),
]
# A page's first draw on the shared 2-core machine (another test worker may drive a browser too)
PAGE_MS = 90_000


@pytest.fixture(scope="module")
def real_site(tmp_path_factory) -> tuple[Path, Path, str]:
    executable = chromium_path()
    if executable is None:
        pytest.skip("Debian chromium is not installed (/usr/bin/chromium); `make browser` installs it as root")
    folder = tmp_path_factory.mktemp("real_site")
    demo_files, db = folder / "demo", folder / "warehouse.duckdb"
    # the demo's files only (no demo warehouse: it would be built and thrown away), loaded as real data
    _run(["demo", "--out", str(demo_files), "--students", "1000", "--seed", str(DEMO_SEED), "--as-of", AS_OF])
    _run(["load", str(demo_files), "--db", str(db), "--as-of", AS_OF, "--quiet"])
    with duckdb.connect(str(db), read_only=True) as con:
        school = con.sql("select min(school_id) from schools").fetchall()[0][0]
    from access import accounts

    for role, _, _ in ROLES:
        accounts.add_user(
            f"{role}1", PASSWORD, role, [school] if role == "coordinator" else None, path=folder / "accounts.json"
        )
    return db, folder, executable


def _check_clean(page, requests: list[str]) -> None:
    assert exceptions(page) == []
    body = page.inner_text("body")
    assert "Traceback" not in body and "Page not found" not in body
    # this machine only (a page of the stopped server may still poll it); data:, blob: and about: are local too
    outside = [
        u
        for u in requests
        if urlparse(u).scheme in ("http", "https", "ws", "wss") and urlparse(u).hostname != "127.0.0.1"
    ]
    assert outside == [], f"requests to other hosts: {outside}"


@pytest.fixture(scope="module")
def chrome(real_site):
    with browser(real_site[2]) as launched:
        yield launched


def _cookie(context) -> dict | None:
    return {c["name"]: c for c in context.cookies()}.get("btam_session")


@pytest.mark.parametrize(("role", "link", "title"), ROLES, ids=[r[0] for r in ROLES])
def test_deep_link_login_refresh_restart_and_logout(real_site, chrome, role, link, title):
    db, folder, _ = real_site
    context = chrome.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    with serve(db, folder) as server:  # a cold server: no session has opened "/" first
        page.goto(server.url + link)
        wait_until_rendered(page)
        assert page.locator("h1").first.inner_text() == "Log in"
        assert page.url == server.url + link  # the address survives the login form
        page.get_by_label("User name").fill(f"{role}1")
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        # the login's run ends with the redirect that sets the cookie (a rerun after it used to drop it)
        with page.expect_request(lambda r: "/auth/session" in r.url, timeout=PAGE_MS):
            page.get_by_role("button", name="Log in").click()
        page.wait_for_url(server.url + link, timeout=PAGE_MS)
        page.get_by_role("heading", name=title).first.wait_for(timeout=PAGE_MS)
        wait_until_rendered(page, timeout_ms=PAGE_MS)
        cookie = _cookie(context)
        assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        _check_clean(page, requests)
        page.reload()
        page.get_by_role("heading", name=title).first.wait_for(timeout=PAGE_MS)
        assert page.get_by_label("User name").count() == 0
        _check_clean(page, requests)
        port_before = server.url
    with serve(db, folder) as restarted:  # a restart (new port here, same cookie host)
        requests.clear()
        page.goto(restarted.url + link)
        page.get_by_role("heading", name=title).first.wait_for(timeout=PAGE_MS)
        wait_until_rendered(page, timeout_ms=PAGE_MS)
        assert page.get_by_label("User name").count() == 0, f"logged out by the restart ({port_before})"
        _check_clean(page, requests)
        # logging out sends the browser through the route that drops the cookie, back to the login form
        with page.expect_request(lambda r: "/auth/end" in r.url, timeout=PAGE_MS):
            page.get_by_role("button", name="Log out").click()
        page.get_by_label("User name").wait_for(timeout=PAGE_MS)
        assert _cookie(context) is None
        page.goto(restarted.url + link)
        page.get_by_label("User name").wait_for(timeout=PAGE_MS)
        _check_clean(page, requests)
    context.close()
