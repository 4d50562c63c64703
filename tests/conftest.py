"""Fixtures shared by the whole suite: demo warehouses built once per test session (per xdist worker).

Building a demo warehouse runs the generator, the contracts and the marts (10-40 s each); test modules
used to build their own copy of the same district. Here each size is built once and handed out by path.
The files are shared: a test opens them read-only, and a test that writes (a load, a reference import)
copies the file first, as tests/test_benchmark_views.py's crdc_db does.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.browser import build_demo_warehouse

DemoFactory = Callable[..., Path]


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory) -> DemoFactory:
    """`demo_warehouse(students=N, messy=bool)`: the path of the demo warehouse of that size, built on first use.

    Every build uses tests.browser's seed and as-of date, so two modules asking for the same size see the
    same district."""
    built: dict[tuple[int, bool], Path] = {}

    def get(*, students: int, messy: bool = False) -> Path:
        key = (students, messy)
        if key not in built:
            folder = tmp_path_factory.mktemp(f"demo_{students}{'_messy' if messy else ''}")
            built[key] = build_demo_warehouse(folder, students=students, messy=messy)
        return built[key]

    return get
