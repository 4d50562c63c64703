"""Every page of the navigation, opened in headless Chromium against a served demo warehouse.

Pages are found from the sidebar navigation, so pages added later are covered
without changing this file. Screenshots go to a temporary folder, or to
docs/screenshots/ when UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.browser import (
    DEMO_STUDENTS,
    REPO,
    browser,
    chromium_path,
    exceptions,
    nav_links,
    screenshot,
    serve,
    slug,
    wait_until_rendered,
)

pytestmark = pytest.mark.browser

SCREENSHOTS = REPO / "docs" / "screenshots"
VIEWPORT = {"width": 1440, "height": 1000}


@pytest.fixture(scope="module")
def served(tmp_path_factory, demo_warehouse):
    executable = chromium_path()
    if executable is None:
        pytest.skip("Debian chromium is not installed (/usr/bin/chromium); `make browser` installs it as root")
    folder = tmp_path_factory.mktemp("browser")
    warehouse = demo_warehouse(students=DEMO_STUDENTS, messy=True)
    with serve(warehouse, folder) as server:
        yield server, executable


@pytest.fixture
def shots(tmp_path) -> Path:
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path


# The board's first analytic view builds the year's page-set release (every page's counts suppressed and
# audited together, docs/PRIVACY.md) behind a spinner: seconds alone, longer beside other tests.
BOARD_FIRST_VIEW_MS = 240_000


def choose(page, label: str, option: str, attempts: int = 3) -> None:
    """Pick an option of a Streamlit selectbox by its label, and see that the app's own rerun kept it.

    A click that lands while a rerun is redrawing the sidebar can be lost (the next run draws the old
    value), so the choice is read back from the selectbox once the app has settled, and made again if lost.
    """
    chosen = """([label, option]) => [...document.querySelectorAll('[data-testid="stSelectbox"]')].some(box =>
        box.innerText.includes(label) && [...box.querySelectorAll('input')].some(i => i.value.includes(option)))"""
    for _ in range(attempts):
        page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first.click()
        page.get_by_role("option").filter(has_text=option).first.click()
        page.wait_for_function(chosen, arg=[label, option])
        wait_until_rendered(page, timeout_ms=BOARD_FIRST_VIEW_MS)
        if page.evaluate(chosen, [label, option]):
            return
    raise AssertionError(f"the selectbox {label!r} did not keep {option!r} after {attempts} attempts")


def test_every_page_renders_without_exception(served, shots):
    server, executable = served
    with browser(executable) as chrome:
        page = chrome.new_page(viewport=VIEWPORT)
        page.goto(server.url)
        wait_until_rendered(page)
        links = nav_links(page)
        assert {"What is loaded", "Data quality", "Load data"} <= {title for title, _ in links}
        for title, href in links:
            page.goto(href)
            # the Board report is the board's release for every year it prints, built on first view of a demo
            # warehouse (a command-line load stores them; the test demo does not)
            wait_until_rendered(page, timeout_ms=BOARD_FIRST_VIEW_MS if title == "Board report" else 30_000)
            assert exceptions(page) == [], f"{title}: {exceptions(page)}"
            assert page.get_by_text("Synthetic demo data").first.is_visible(), f"{title}: no synthetic banner"
            screenshot(page, shots / f"{slug(title)}.png")


def test_filters_are_kept_in_the_link(served):
    server, executable = served
    with browser(executable) as chrome:
        page = chrome.new_page(viewport=VIEWPORT)
        page.goto(f"{server.url}/?year=2023-24&level=high&schools=nonsense%27%3Bdrop%20table%20schools")
        wait_until_rendered(page)
        assert exceptions(page) == []
        assert "year=2023-24" in page.url and "level=high" in page.url
        assert urlparse(page.url).path == "/overview"  # the root is the Overview, at its own address
        assert "nonsense" not in page.url and "drop" not in page.url


def test_board_view_of_every_page_has_no_quarantined_rows(served, shots):
    server, executable = served
    with browser(executable) as chrome:
        page = chrome.new_page(viewport=VIEWPORT)
        page.goto(server.url)
        wait_until_rendered(page)
        choose(page, "Role", "School board")
        wait_until_rendered(page)
        for title, href in nav_links(page):
            page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first.click()
            path = urlparse(href).path
            page.wait_for_url(lambda url, path=path: urlparse(url).path == path)
            wait_until_rendered(page, timeout_ms=BOARD_FIRST_VIEW_MS)
            assert exceptions(page) == [], f"{title} (board): {exceptions(page)}"
            assert page.get_by_text("Quarantined rows as read").count() == 0
            if title == "Data quality":
                screenshot(page, shots / "data_quality_board.png")
            if title == "Load data":
                assert page.get_by_text("Only an administrator may load data").is_visible()
