"""Steps that run at the end of every warehouse build (a load or a mart rebuild), inside the build copy and
before the atomic swap, so what they write is published with the tables it was computed from.

The write path may not import the layers above it (docs/ARCHITECTURE.md); the command-line entry point
registers their steps here (pipelines/__main__.py: the published figures of figures/stored.py). A build
started elsewhere (a test, a library call) runs no step unless one is registered.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

Progress = Callable[[str, float], None]
FinishStep = Callable[[duckdb.DuckDBPyConnection, Progress | None], object]

_steps: list[FinishStep] = []


def register(step: FinishStep) -> None:
    """Run `step(con, progress)` at the end of every later build of this process (once, however often
    registered)."""
    if step not in _steps:
        _steps.append(step)


def unregister(step: FinishStep) -> None:
    if step in _steps:
        _steps.remove(step)


def run_all(con: duckdb.DuckDBPyConnection, progress: Progress | None = None) -> None:
    for step in list(_steps):
        step(con, progress)
