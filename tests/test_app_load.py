"""Load on the app (issue 8): concurrent dashboard sessions against `streamlit run app.py`.

Each session is a real client of Streamlit's protocol: an HTTP GET of the page,
then the websocket /_stcore/stream, asking for each page of the app in turn
(rerun_script with the page's url path) and waiting for script_finished. A
page time is rerun request -> script_finished. An exception element in any
delta, a failed script run, or a lost connection counts as an error.

Bounded by work, not by a clock: SESSIONS sessions (default 25) each ask for every
page ROUNDS times (default 1), on the suite's demo warehouse of DEMO_STUDENTS
students a year (default 5,000); a run still unfinished after 600 s is an error. Server memory (RSS of the
streamlit process tree) is sampled every second. The figures are written to
$BTAM_LOAD_REPORT (default /tmp/btam_app_load.json) for docs/RELIABILITY.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SESSIONS = int(os.environ.get("BTAM_LOAD_SESSIONS", "25"))
ROUNDS = int(os.environ.get("BTAM_LOAD_ROUNDS", "1"))
DEADLINE = 600.0  # seconds: a run that has not finished its rounds by then is an error
DEMO_STUDENTS = int(os.environ.get("BTAM_LOAD_STUDENTS", "5000"))
PAGES = (
    "overview",  # the default page ("/" sends the browser here)
    "case_volumes",
    "concern_levels",
    "time_to_intervention",
    "equity",
    "discipline_outcomes",
    "process_audit",
    "data_quality",
    "warehouse",
)  # url paths
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tree_rss_mb(pid: int) -> float:
    """RSS of a process and its children, from /proc."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
            todo.extend(int(c) for c in children)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 1024


@pytest.fixture(scope="module")
def warehouse(demo_warehouse) -> Path:
    """The suite's shared demo warehouse of DEMO_STUDENTS students a year (tests/conftest.py)."""
    return demo_warehouse(students=DEMO_STUDENTS)


@pytest.fixture(scope="module")
def server(warehouse, tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("app-log") / "streamlit.log"
    env = {**os.environ, "BTAM_WAREHOUSE": str(warehouse), "PYTHONPATH": str(REPO)}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.headless",
                "true",
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(port),
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("streamlit did not come up: " + log.read_text()[-2000:])
    yield port, proc, log
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


async def _session(port: int, pages: int, deadline: float, times: list[float], errors: list[str]) -> int:
    """Ask for `pages` pages in turn (PAGES, cycling); the number of page runs that finished."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    runs = 0
    await asyncio.to_thread(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30).read())
    async with websockets.connect(
        f"ws://127.0.0.1:{port}/_stcore/stream",
        subprotocols=["streamlit"],
        max_size=None,
        open_timeout=30,
        ping_interval=None,
    ) as ws:
        page = 0
        while page < pages:
            if time.monotonic() > deadline:
                errors.append(f"a session had {pages - page} page(s) left at the {DEADLINE:.0f} s deadline")
                return runs
            message = BackMsg()
            message.rerun_script.query_string = ""
            message.rerun_script.page_name = PAGES[page % len(PAGES)]
            started = time.monotonic()
            await ws.send(message.SerializeToString())
            while True:
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=120)
                except TimeoutError:
                    errors.append(f"page {PAGES[page % len(PAGES)]!r}: no script_finished within 120 s")
                    return runs
                forward = ForwardMsg()
                forward.ParseFromString(raw)
                kind = forward.WhichOneof("type")
                if (
                    kind == "delta"
                    and forward.delta.WhichOneof("type") == "new_element"
                    and forward.delta.new_element.WhichOneof("type") == "exception"
                ):
                    exc = forward.delta.new_element.exception
                    errors.append(f"page {PAGES[page % len(PAGES)]!r}: {exc.type}: {exc.message[:200]}")
                if kind == "page_not_found":
                    errors.append(f"page {PAGES[page % len(PAGES)]!r} not found")
                if kind == "script_finished":
                    status = forward.script_finished
                    if status == ForwardMsg.FINISHED_SUCCESSFULLY:
                        times.append(time.monotonic() - started)
                        runs += 1
                        break
                    if status in (ForwardMsg.FINISHED_WITH_COMPILE_ERROR,):
                        errors.append(f"page {PAGES[page % len(PAGES)]!r}: compile error")
                        break
                    # FINISHED_EARLY_FOR_RERUN / FRAGMENT: a navigation rerun follows; keep waiting
            page += 1
    return runs


async def _run_sessions(port: int, pages: int) -> tuple[list[float], list[str], int]:
    times: list[float] = []
    errors: list[str] = []
    deadline = time.monotonic() + DEADLINE
    results = await asyncio.gather(
        *[_session(port, pages, deadline, times, errors) for _ in range(SESSIONS)], return_exceptions=True
    )
    runs = 0
    for result in results:
        if isinstance(result, BaseException):
            errors.append(f"session failed: {type(result).__name__}: {result}")
        else:
            runs += result
    return times, errors, runs


def test_concurrent_sessions_have_no_errors_bounded_memory_and_a_recorded_p95(server):
    port, proc, log = server
    warm_up_errors: list[str] = []  # one session through every page: caches filled once, as after a deploy
    asyncio.run(_session(port, len(PAGES), time.monotonic() + DEADLINE, [], warm_up_errors))
    assert not warm_up_errors, warm_up_errors
    samples: list[float] = []
    stop = False

    async def sample() -> None:
        while not stop:
            samples.append(_tree_rss_mb(proc.pid))
            await asyncio.sleep(1)

    async def main():
        nonlocal stop
        sampler = asyncio.create_task(sample())
        try:
            return await _run_sessions(port, ROUNDS * len(PAGES))
        finally:
            stop = True
            await sampler

    started = time.monotonic()
    times, errors, runs = asyncio.run(main())
    elapsed = time.monotonic() - started
    assert proc.poll() is None, "the server died: " + log.read_text()[-2000:]
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) >= 20 else max(times, default=0)
    report = {
        "sessions": SESSIONS,
        "rounds": ROUNDS,
        "pages_per_session": ROUNDS * len(PAGES),
        "seconds": round(elapsed, 1),
        "demo_students": DEMO_STUDENTS,
        "page_runs": runs,
        "errors": len(errors),
        "p50_s": round(statistics.median(times), 3) if times else None,
        "p95_s": round(p95, 3),
        "max_s": round(max(times, default=0), 3),
        "rss_first_mb": round(samples[0], 1) if samples else None,
        "rss_max_mb": round(max(samples), 1) if samples else None,
        "rss_last_mb": round(samples[-1], 1) if samples else None,
    }
    out = Path(os.environ.get("BTAM_LOAD_REPORT", "/tmp/btam_app_load.json"))
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))
    assert not errors, errors[:10]
    assert runs == SESSIONS * ROUNDS * len(PAGES), "some sessions did not get every page"
    # bounded: the last third of the run does not keep growing past the first third by more than 50%
    third = max(1, len(samples) // 3)
    assert max(samples[-third:]) <= 1.5 * max(samples[:third]) + 200, samples
