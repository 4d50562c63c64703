"""Steps that run at the end of every warehouse build (a load or a mart rebuild), inside the build copy and
before the atomic swap, so what they write is published with the tables it was computed from.

The write path may not import the layers above it (docs/ARCHITECTURE.md); the command-line entry point
registers their steps here (pipelines/__main__.py: the published figures of figures/stored.py). A build
started elsewhere (a test, a library call) runs no step unless one is registered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

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


@contextmanager
def registered(step: FinishStep) -> Iterator[None]:
    """`step` runs at the end of every build started inside the block, and of none after it (a test or a
    page that ran a command in this process does not leave its step behind for later builds)."""
    already = step in _steps
    register(step)
    try:
        yield
    finally:
        if not already:
            unregister(step)


@contextmanager
def suspended() -> Iterator[None]:
    """No step runs in a build started inside the block: for a build that another, right after it, replaces
    (the demo's first of two loads publishes no figures the second recomputes)."""
    saved = _steps[:]
    _steps.clear()
    try:
        yield
    finally:
        _steps[:] = saved


def run_all(con: duckdb.DuckDBPyConnection, progress: Progress | None = None) -> None:
    for step in list(_steps):
        step(con, progress)
