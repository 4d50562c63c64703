"""The releases stored in the warehouse when a load or a mart rebuild finishes, so a suppressed viewer's first
view reads them instead of waiting for the disclosure audit, and never sees numbers of another load meanwhile.

Table `published_release` (written in the load's own build, before the atomic swap, by `store_releases`, which
the command-line entry point hands to the write path: pipelines may not import figures): one row per school
year and school scope with the load it was built from (`warehouse_info.last_load_id`), a fingerprint of the
rules and code that decide its cells (suppression and metric settings, the source of the release's modules)
and the serialised release. `release_for` returns the stored release when its load and fingerprint match the
warehouse it is read from and its rows are still those of the load (rows changed outside the loader make the
marts stale, data_contracts/marts.py, and the stored releases with them), else builds it, and logs which
(never a count, only year, scope and reason).
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from access import metric_tables as mt
from access.release_cells import CountTable, Relation
from access.suppression import SuppressedRelease, SuppressedTable, SuppressionSettings, suppress_release
from data_contracts.marts import marts_current
from figures.release import Schools, build_release
from metrics.config import DEFAULT_SETTINGS, MetricSettings

log = logging.getLogger(__name__)

TABLE = "published_release"
ALL_SCHOOLS = "all"
_ROOT = Path(__file__).resolve().parent.parent
# The release is decided by the code of figures.release and of every project module it imports, directly or not
# (the metric tables, the statistics, the suppression and its audit), and by the SQL those modules run.
_RELEASE_MODULE = "figures.release"
_DTYPES: dict[str, Any] = {"String": pl.String, "Int64": pl.Int64, "Float64": pl.Float64, "Boolean": pl.Boolean}

CREATE = f"""
create table if not exists {TABLE} (
    school_year varchar not null,
    scope varchar not null,
    fingerprint varchar not null,
    load_id varchar not null,
    built_at varchar not null,
    build_seconds double not null,
    cells varchar not null,
    primary key (school_year, scope)
)
"""


def scope_key(school_ids: Schools) -> str:
    return ALL_SCHOOLS if school_ids is None else ",".join(sorted(school_ids))


def release_sources() -> list[Path]:
    """The files whose text decides a release's cells: the release module's import closure within the project
    (followed through the source with `ast`, not by importing) and every SQL file under sql/."""
    found: dict[str, Path] = {}
    pending = [_RELEASE_MODULE]
    while pending:
        module = pending.pop()
        if module in found or (path := _module_path(module)) is None:
            continue
        found[module] = path
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                pending.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                pending.append(node.module)
                pending.extend(f"{node.module}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return sorted(set(found.values())) + sorted((_ROOT / "sql").rglob("*.sql"))


def _module_path(module: str) -> Path | None:
    """The project file of a dotted module name, None for a module outside the project (a library, the stdlib)."""
    base = _ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@cache
def _code_digest() -> str:
    """One digest of the release's sources per process: the code does not change under a running process."""
    digest = hashlib.sha256()
    for source in release_sources():
        digest.update(source.relative_to(_ROOT).as_posix().encode() + b"\0")
        digest.update(source.read_bytes())
    return digest.hexdigest()


def fingerprint(settings: MetricSettings = DEFAULT_SETTINGS, suppression: SuppressionSettings | None = None) -> str:
    """What decides a release's cells besides the data: the rules and the code that applies them."""
    digest = hashlib.sha256()
    digest.update(repr(settings).encode())
    digest.update(repr(suppression or SuppressionSettings()).encode())
    digest.update(_code_digest().encode())
    return digest.hexdigest()[:20]


def current_load(con: duckdb.DuckDBPyConnection) -> str:
    """The load the warehouse's tables are of (warehouse_info.last_load_id), '' before the first load."""
    row = con.execute("select value from warehouse_info where key = 'last_load_id'").fetchone()
    return str(row[0]) if row else ""


# -- serialising a release --------------------------------------------------------------------------------------


def _frame_json(frame: pl.DataFrame) -> dict:
    return {"schema": {c: str(t) for c, t in frame.schema.items()}, "data": frame.to_dict(as_series=False)}


def _frame_back(value: dict) -> pl.DataFrame:
    schema = {c: _DTYPES[t] for c, t in value["schema"].items()}
    return pl.DataFrame(value["data"], schema=schema)


def _cell_json(cell) -> list:
    population, measure = cell
    return [[list(pair) for pair in population], measure]


def _cell_back(value: list) -> tuple:
    population, measure = value
    return (tuple(tuple(pair) for pair in population), measure)


def dumps(release: SuppressedRelease) -> str:
    tables = {
        name: {
            "dimensions": list(t.dimensions),
            "display": _frame_json(t.display),
            "published": _frame_json(t.published),
            "hidden": _frame_json(t.hidden),
            "reason": _frame_json(t.reason),
            "footnotes": t.footnotes,
        }
        for name, t in release.tables.items()
    }
    return json.dumps(
        {
            "tables": tables,
            "relations": [[_cell_json(r.total), [_cell_json(p) for p in r.parts]] for r in release.relations],
            "settings": asdict(release.settings),
            "cell_reasons": [[_cell_json(c), reason] for c, reason in release.cell_reasons.items()],
        }
    )


def loads(text: str) -> SuppressedRelease:
    value = json.loads(text)
    tables = {
        name: SuppressedTable(
            name,
            tuple(t["dimensions"]),
            _frame_back(t["display"]),
            _frame_back(t["published"]),
            _frame_back(t["hidden"]),
            _frame_back(t["reason"]),
            dict(t["footnotes"]),
        )
        for name, t in value["tables"].items()
    }
    relations = tuple(
        Relation(_cell_back(total), tuple(_cell_back(p) for p in parts)) for total, parts in value["relations"]
    )
    reasons = {_cell_back(c): reason for c, reason in value["cell_reasons"]}
    return SuppressedRelease(tables, relations, SuppressionSettings(**value["settings"]), reasons)


# -- writing (inside a build, before the swap) -------------------------------------------------------------------


def store_releases(con: duckdb.DuckDBPyConnection, progress: Callable[[str, float], None] | None = None) -> list[str]:
    """Build and store the whole district's release of every school year on `con` (a writable build copy),
    replacing any of an earlier load. Returns the years stored."""
    con.execute(CREATE)
    con.execute(f"delete from {TABLE}")
    years = mt.school_years(con)
    load_id, mark = current_load(con), fingerprint()
    for i, year in enumerate(years):
        if progress:
            progress(f"published figures {year}", i / max(len(years), 1))
        start = datetime.now(UTC)
        release = build_release(con, year, None)
        seconds = (datetime.now(UTC) - start).total_seconds()
        con.execute(
            f"insert into {TABLE} values (?, ?, ?, ?, ?, ?, ?)",
            [year, ALL_SCHOOLS, mark, load_id, start.isoformat(timespec="seconds"), seconds, dumps(release)],
        )
        log.info("stored the published figures of %s (all schools) in %.1f s", year, seconds)
    return years


# -- reading -----------------------------------------------------------------------------------------------------


def stored_release(
    con: duckdb.DuckDBPyConnection,
    year: str,
    school_ids: Schools = None,
    settings: MetricSettings = DEFAULT_SETTINGS,
    suppression: SuppressionSettings | None = None,
) -> tuple[SuppressedRelease | None, str]:
    """(the stored release, '') when one matches this warehouse's load and the rules asked for, else
    (None, why not)."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_name = ? and table_schema = 'main'", [TABLE]
    ).fetchone()
    if not exists or not exists[0]:
        return None, "no release is stored in this warehouse"
    row = con.execute(
        f"select fingerprint, load_id, cells from {TABLE} where school_year = ? and scope = ?",
        [year, scope_key(school_ids)],
    ).fetchone()
    if row is None:
        return None, "no stored release of this year and scope"
    if row[1] != current_load(con):
        return None, "the stored release is of another load"
    if not marts_current(con):  # the marts' own test of rows changed outside the loader since its build
        return None, "the warehouse's rows changed since the release was stored"
    if row[0] != fingerprint(settings, suppression):
        return None, "the stored release was built under other rules or code"
    return loads(row[2]), ""


def release_for(
    con: duckdb.DuckDBPyConnection,
    year: str,
    school_ids: Schools = None,
    as_of: date | None = None,
    settings: MetricSettings = DEFAULT_SETTINGS,
    suppression: SuppressionSettings | None = None,
    tables: list[CountTable] | None = None,
) -> SuppressedRelease:
    """The release of (`year`, `school_ids`): the stored one when it is this load's and these rules', else
    built now (`tables`: its count tables when the caller has them). A release at another as-of date than
    the warehouse's is always built."""
    key = _memo_key(con, year, school_ids, as_of, settings, suppression)
    if key is not None and key in _built:
        return _built[key]
    if as_of is None:
        release, why = stored_release(con, year, school_ids, settings, suppression)
        if release is not None:
            return release
    else:
        why = "an as-of date other than the warehouse's was asked for"
    log.info("building the published figures of %s (%s schools): %s", year, scope_key(school_ids)[:40], why)
    if tables is None:
        release = build_release(con, year, school_ids, as_of, settings, suppression)
    else:
        release = suppress_release(tables, suppression)
    if key is not None:
        while len(_built) >= _MEMO_SIZE:
            _built.pop(next(iter(_built)))
        _built[key] = release
    return release


# Releases built in this process (a report and its pages, a command run twice), by warehouse file version:
# a new load is a new file (atomic swap), so its releases are never taken for an older one's.
_MEMO_SIZE = 16
_built: dict[tuple, SuppressedRelease] = {}


def forget_built() -> None:
    """Drop the releases built in this process (the next call builds or reads the stored one again)."""
    _built.clear()


def _memo_key(con, year, school_ids, as_of, settings, suppression) -> tuple | None:
    row = con.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()
    if not row or not row[0] or not Path(row[0]).exists():
        return None  # an in-memory database: no file version to tell two of them apart
    file = Path(row[0]).stat()
    return (
        row[0],
        file.st_ino,
        file.st_mtime_ns,
        file.st_size,
        current_load(con),
        year,
        scope_key(school_ids),
        as_of,
        fingerprint(settings, suppression),
    )
