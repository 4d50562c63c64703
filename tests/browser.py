"""Test harness: a demo warehouse built by code, the app served by `streamlit run`,
and headless Debian Chromium driven by Playwright.

Used by tests/test_browser.py (and the warehouse builder by tests/test_app.py).
Playwright never downloads a browser here: it launches /usr/bin/chromium.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DEMO_STUDENTS = 3000
DEMO_SEED = 7
AS_OF = "2025-05-30"


def _run(args: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "pipelines", *args], cwd=REPO, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(
            f"python -m pipelines {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )


def build_demo_warehouse(
    folder: Path, *, students: int = DEMO_STUDENTS, messy: bool = True, seed: int = DEMO_SEED, as_of: str = AS_OF
) -> Path:
    """The synthetic demo district loaded into folder/warehouse.duckdb by `python -m pipelines demo`, with the
    published figures of every year stored as a load stores them; with `messy`, also the demo's vendor-style
    export, so the quarantine holds rows of every kind of rule."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "warehouse.duckdb"
    demo = folder / "demo"
    args = ["demo", "--out", str(demo), "--db", str(db), "--students", str(students), "--seed", str(seed)]
    _run([*args, "--as-of", as_of] + (["--messy"] if messy else []))
    return db


def chromium_path() -> str | None:
    """Debian's chromium, or None (the browser tests then skip and say why)."""
    for candidate in CHROMIUM_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path


def app_env(warehouse: Path, folder: Path) -> dict[str, str]:
    """The environment of a served app: its own warehouse, audit log and accounts, no telemetry."""
    return {
        **os.environ,
        "BTAM_WAREHOUSE": str(warehouse),
        "BTAM_AUDIT_LOG": str(folder / "audit_log.jsonl"),
        "BTAM_ACCOUNTS": str(folder / "accounts.json"),
        "GX_ANALYTICS_ENABLED": "false",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }


@contextmanager
def serve(warehouse: Path, folder: Path, *, timeout: float = 60.0) -> Iterator[Server]:
    """`streamlit run ui/serve.py` (as `make run` and the container) on a free local port, stopped
    (its own process group only) afterwards."""
    port = free_port()
    log = folder / "streamlit.log"
    handle = log.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "ui/serve.py",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
            "--client.toolbarMode",
            "viewer",
        ],
        cwd=REPO,
        env=app_env(warehouse, folder),
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not answer on {url} within {timeout:.0f} s:\n{log.read_text()}")
            time.sleep(0.3)
        yield Server(url, process, log)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        handle.close()


@contextmanager
def browser(executable: str) -> Iterator[object]:
    """A headless Chromium (Playwright, the system binary, never a downloaded one)."""
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chrome = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chrome
        finally:
            chrome.close()


def wait_until_rendered(page, *, timeout_ms: int = 30_000) -> None:
    """The app has connected, run the script to the end (no stale element left), and drawn its charts.

    The state must hold for three checks in a row, so a rerun that is about to
    start after a click is not mistaken for the end of the previous one.
    """
    page.wait_for_selector('[data-testid="stAppViewContainer"]', timeout=timeout_ms)
    page.wait_for_function(
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            const settled = app && app.getAttribute('data-test-script-state') === 'notRunning'
                && !document.querySelector('[data-testid="stSpinner"], [data-testid="stSkeleton"]')
                && !document.querySelector('[data-stale="true"]');
            window.__btamSettled = settled ? (window.__btamSettled || 0) + 1 : 0;
            return window.__btamSettled >= 3;
        }""",
        polling=200,
        timeout=timeout_ms,
    )
    charts = page.locator('[data-testid="stPlotlyChart"]')
    for index in range(charts.count()):
        charts.nth(index).locator(".js-plotly-plot .main-svg").first.wait_for(timeout=timeout_ms)


def screenshot(page, path: Path, *, max_height: int = 4000) -> None:
    """The whole page: the app scrolls inside its main block, so the viewport is grown to fit it."""
    size = page.viewport_size
    height = page.evaluate("""() => {
        const main = document.querySelector('[data-testid="stMain"]');
        return main ? main.scrollHeight : document.body.scrollHeight;
    }""")
    page.set_viewport_size({"width": size["width"], "height": min(max(size["height"], int(height)), max_height)})
    page.wait_for_timeout(400)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


def nav_links(page) -> list[tuple[str, str]]:
    """(title, href) of every page in the sidebar navigation, in order."""
    links = page.locator('[data-testid="stSidebarNav"] a[data-testid="stSidebarNavLink"]')
    found = []
    for index in range(links.count()):
        link = links.nth(index)
        title = link.inner_text().strip().splitlines()[-1].strip()  # the first lines are the icon's ligature
        found.append((title, link.get_attribute("href") or ""))
    return found


def exceptions(page) -> list[str]:
    """The text of every Streamlit exception element on the page."""
    boxes = page.locator('[data-testid="stException"]')
    return [boxes.nth(i).inner_text()[:2000] for i in range(boxes.count())]


def slug(title: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in title.lower()).strip("_")
