"""Load-time marts: additive aggregates of the 3M-row tables, built once per publish into schema `mart`.

Pages would otherwise regroup every enrollment row on every call. The marts live in a private schema
(docs/INTERCHANGE.md, "Extension: load-time marts", not part of the contract) and are rebuilt inside
the build copy before the atomic swap (each one whose tables the load changed), so readers never see
marts of another version.
access/marts.py reads them only while mart.build_info still matches the warehouse (data_contracts/marts.py).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import duckdb

from data_contracts.interchange import ENTITIES
from data_contracts.marts import MART_VERSION, marts_current
from data_contracts.sql_files import read_sql
from pipelines import atomic, finish_steps
from pipelines.warehouse import REPO_ROOT

BUILD_DIR = REPO_ROOT / "sql" / "marts" / "build"
# One file per mart, in build order; build_info last, so it only ever describes a complete set.
MARTS = ("enrollment_counts", "outcome_group_cells", "case_volume_counts", "case_subjects", "case_student_removals")
STAGE, STAGE_DONE = "building marts", "marts built"  # progress marks around the build (bench/loads.py)


def build_marts(
    con: duckdb.DuckDBPyConnection,
    progress: Callable[[str, float], None] | None = None,
    changed: Collection[str] | None = None,
) -> tuple[str, ...]:
    """(Re)build the marts from the tables on `con` (a writable build copy) and record what they describe.

    `changed`: the tables this publish changed, when the marts were current before it; only the marts
    reading one of them are rebuilt (a load of case reviews alone rebuilds none, at state size a second
    saved). None rebuilds every mart. Returns the marts built."""
    if progress:
        progress(STAGE, 1.0)
    con.execute(read_sql(BUILD_DIR / "schema.sql"))
    built = tuple(name for name in MARTS if changed is None or mart_sources(name) & set(changed))
    for name in built:
        con.execute(read_sql(BUILD_DIR / f"{name}.sql"))
    con.execute(read_sql(BUILD_DIR / "build_info.sql"), {"mart_version": MART_VERSION})
    if progress:
        progress(STAGE_DONE, 1.0)
    return built


@cache
def mart_sources(name: str) -> frozenset[str]:
    """The interchange tables a mart's build reads: every `from`/`join` of an entity table in its SQL that
    is not one of the file's own CTEs (read from the SQL, so a new join cannot be forgotten here)."""
    text = "\n".join(line.partition("--")[0] for line in read_sql(BUILD_DIR / f"{name}.sql").splitlines())
    ctes = set(re.findall(r"\b(\w+)\s+as\s*\(", text, flags=re.IGNORECASE))
    tables = set(re.findall(r"\b(?:from|join)\s+(\w+)\b(?!\s*\.)", text, flags=re.IGNORECASE))
    return frozenset((tables - ctes) & set(ENTITIES))


def ensure_marts(con: duckdb.DuckDBPyConnection, progress: Callable[[str, float], None] | None = None) -> bool:
    """Build the marts when missing or stale (a publish that does not change the tables, e.g. a reference
    import, brings an older warehouse up to date). Returns whether it built them."""
    if marts_current(con):
        return False
    build_marts(con, progress)
    return True


def rebuild(db_path: str | Path, lock_wait_seconds: float = 30.0) -> None:
    """Rebuild the marts of an existing warehouse with the loader's build-and-swap (one writer at a time)."""
    db_path = Path(db_path)
    with atomic.exclusive_lock(db_path, lock_wait_seconds):
        atomic.remove_stale_builds(db_path)
        with atomic.building(db_path, "marts-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S")) as con:
            build_marts(con)
            finish_steps.run_all(con)  # e.g. the published figures (registered by pipelines/__main__.py)


def run(args) -> int:
    """python -m pipelines marts --db FILE: bring an older warehouse's marts up to date without a load."""
    path = Path(args.db)
    if not path.exists():
        print(f"no warehouse at {path}", file=sys.stderr)
        return 4
    try:
        rebuild(path)
    except atomic.WarehouseBusy as exc:
        print(str(exc), file=sys.stderr)
        return 5
    print(f"marts rebuilt in {path}")
    return 0
