"""Fixtures shared by the whole suite: demo warehouses built once per test run, shared by the xdist workers.

Building a demo warehouse runs the generator, the contracts, the marts and the published figures of every
year (10-70 s each); test modules used to build their own copy of the same district, and each worker its own
copy again. Here each size is built once per run, under a file lock in the run's shared temporary folder,
and handed out by path. The files are shared: a test opens them read-only, and a test that writes (a load, a
reference import) copies the file first, as tests/test_benchmark_views.py's crdc_db does.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.browser import AS_OF, DEMO_SEED, build_demo_warehouse

DemoFactory = Callable[..., Path]


def _run_folder(tmp_path_factory) -> Path:
    """The folder every worker of this run sees: the parent of the workers' base temp folders under xdist,
    the run's own base temp folder without it (never one a later run reuses)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory) -> DemoFactory:
    """`demo_warehouse(students=N, messy=bool)`: the path of the demo warehouse of that size, built on first use
    by whichever worker asks first (the others wait on its lock and reuse it).

    Every build uses tests.browser's seed and as-of date unless `seed` or `as_of` is given, so two modules
    asking for the same size see the same district."""
    shared = _run_folder(tmp_path_factory) / "demo_warehouses"
    shared.mkdir(exist_ok=True)

    def get(*, students: int, messy: bool = False, seed: int = DEMO_SEED, as_of: str = AS_OF) -> Path:
        variant = "" if (seed, as_of) == (DEMO_SEED, AS_OF) else f"_s{seed}_{as_of}"
        folder = shared / f"demo_{students}{'_messy' if messy else ''}{variant}"
        done = folder / "built"  # written last: a build killed halfway is built again, not reused
        with (shared / f"{folder.name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not done.exists():
                shutil.rmtree(folder, ignore_errors=True)
                build_demo_warehouse(folder, students=students, messy=messy, seed=seed, as_of=as_of)
                done.touch()
        return folder / "warehouse.duckdb"

    return get


@pytest.fixture
def start(monkeypatch, tmp_path, demo_db):
    """Open a page of the app in AppTest on the module's `demo_db` warehouse, with a private audit log and
    accounts file: start("overview", params={...}, **session_state)."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("BTAM_AUDIT_LOG", str(tmp_path / "audit_log.jsonl"))
    monkeypatch.setenv("BTAM_ACCOUNTS", str(tmp_path / "accounts.json"))
    monkeypatch.setenv("BTAM_WAREHOUSE", str(demo_db))
    app = str(Path(__file__).resolve().parent.parent / "app.py")

    def run(page: str, *, params: dict | None = None, **state) -> AppTest:
        at = AppTest.from_file(app, default_timeout=300)
        for key, value in state.items():
            at.session_state[key] = value
        if params:
            at.query_params.update(params)
        at.run()
        at.switch_page(f"pages/{page}.py").run()
        return at

    return run


def pytest_collection_modifyitems(config, items):
    """A test marked known_leak(reason=...) is a privacy check that still fails on main: it is skipped with its
    reason printed (never xfailed silently) unless BTAM_RUN_KNOWN_LEAKS=1 asks to see the leaks."""
    import os

    if os.environ.get("BTAM_RUN_KNOWN_LEAKS") == "1":
        return
    for item in items:
        marker = item.get_closest_marker("known_leak")
        if marker is not None:
            item.add_marker(pytest.mark.skip(reason=f"known leak: {marker.kwargs.get('reason', '')}"))
