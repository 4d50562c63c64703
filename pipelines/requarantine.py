"""python -m pipelines requarantine: re-run the quarantined rows that were waiting for a parent.

A row quarantined because its parent was missing or did not fit (a case action of a case not yet
loaded, a case of a student not yet enrolled, an action dated before its case after a correction)
stays in load_quarantine. Loading its file again does nothing (same sha256), so this command takes
those rows from the quarantine, as they were stored there, and runs them through the same guard,
mapping and contracts as a load, in one atomic build:

- rows that now pass are loaded, and leave the quarantine;
- rows that still fail are quarantined again under this run, with their file and row number;
- the ledger records each re-run group as status `retried` (rows_read = rows_loaded + rows_quarantined).

Rows of a file are read with the profile the ledger recorded for that file, else `--profile`
(default interchange); stored rows the re-check moved to quarantine (row_number 0) are in the
interchange form and always use the interchange profile.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from data_contracts.interchange import LOAD_ORDER
from data_contracts.marts import marts_current
from pipelines import atomic, crosschecks, loader, sessions
from pipelines.marts import build_marts
from pipelines.profiles import Profile, ProfileError, load_profile
from pipelines.readers import ReadResult
from pipelines.warehouse import create_schema

RETRIED = "retried"


@dataclass(frozen=True)
class Group:
    """Quarantined rows of one file of one load, waiting for a parent."""

    load_id: str
    file_name: str
    entity: str
    moved: bool  # stored rows moved by the re-check (row_number 0), in the interchange form
    rows: int


def retry_quarantined(
    db_path: str | Path,
    profile: Profile | str = "interchange",
    as_of: date | None = None,
    lock_wait_seconds: float = 30.0,
) -> loader.LoadResult:
    """Re-run every quarantined row whose rule looks at a parent; atomic like a load. Never raises for bad input."""
    db_path = Path(db_path)
    load_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8] + "-retry"
    result = loader.LoadResult(load_id, db_path, [])
    try:
        fallback = load_profile(profile) if isinstance(profile, str) else profile
        if not db_path.exists():
            raise loader.LoadRefused(f"no warehouse at {db_path}", loader.EXIT_UNREADABLE)
        with atomic.exclusive_lock(db_path, lock_wait_seconds):
            atomic.remove_stale_builds(db_path)
            sessions.check_readable(db_path)
            groups, stored_as_of = _waiting(db_path)
            if not groups:
                return result
            as_of = as_of or stored_as_of or date.today()
            with (
                atomic.private_files(),
                atomic.building(db_path, load_id, memory_limit=loader.LOAD_MEMORY_LIMIT) as con,
            ):
                create_schema(con)
                marts_were_current = marts_current(con)
                for group in groups:
                    result.files.append(_rerun(con, group, load_id, _profile_for(con, group, fallback), as_of))
                rechecked = crosschecks.recheck(con, load_id, as_of, shrunk=set())
                result.notes += rechecked.describe()
                con.execute(
                    "insert or replace into warehouse_info values ('updated_at', $v)",
                    {"v": datetime.now(UTC).isoformat(timespec="seconds")},
                )
                touched = {g.entity for g in groups} | set(rechecked.checked)
                build_marts(con, None, touched if marts_were_current else None)
            result.published = True
    except loader.LoadRefused as exc:
        result.error, result.exit_code = str(exc), exc.exit_code
    except ProfileError as exc:
        result.error, result.exit_code = str(exc), loader.EXIT_USAGE
    except sessions.WarehouseBusy as exc:
        result.error, result.exit_code = str(exc), loader.EXIT_WAREHOUSE
    except duckdb.Error as exc:
        if not (sessions.is_damage(exc) or sessions.is_session_lock(exc)):
            raise
        result.error, result.exit_code = sessions.explain(db_path, exc), loader.EXIT_WAREHOUSE
    return result


def _waiting(db_path: Path) -> tuple[list[Group], date | None]:
    """The groups of quarantined rows stuck on a parent rule, parents' entities first; the stored as-of."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        rows = con.execute(
            """select load_id, file_name, entity, row_number = $moved as moved, count(*)
               from load_quarantine where rule in (select unnest($rules))
               group by all order by load_id, file_name""",
            {"rules": sorted(crosschecks.PARENT_RULES), "moved": crosschecks.MOVED_ROW_NUMBER},
        ).fetchall()
        info = dict(con.sql("select key, value from warehouse_info").fetchall())
    finally:
        con.close()
    groups = [Group(*row) for row in rows]
    stored = info.get("last_load_as_of")
    return sorted(groups, key=lambda g: LOAD_ORDER.index(g.entity)), date.fromisoformat(stored) if stored else None


def _profile_for(con: duckdb.DuckDBPyConnection, group: Group, fallback: Profile) -> Profile:
    if group.moved:
        return load_profile("interchange")
    recorded = con.execute(
        "select max(profile) from load_ledger where load_id = $l and file_name = $f",
        {"l": group.load_id, "f": group.file_name},
    ).fetchall()[0][0]
    if not recorded:
        return fallback
    try:
        return load_profile(recorded)
    except ProfileError:  # a profile given as a JSON file records its name only: the one given here
        return fallback


def _rerun(
    con: duckdb.DuckDBPyConnection, group: Group, load_id: str, profile: Profile, as_of: date
) -> loader.FileResult:
    """Take the group's rows out of the quarantine into `raw` and load them as a file; the rows quarantined
    again get back their file name and row number."""
    selected = (
        "load_id = $l and file_name = $f and entity = $e and rule in (select unnest($rules)) "
        f"and (row_number = {crosschecks.MOVED_ROW_NUMBER}) = $moved"
    )
    params = {
        "l": group.load_id,
        "f": group.file_name,
        "e": group.entity,
        "rules": sorted(crosschecks.PARENT_RULES),
        "moved": group.moved,
    }
    headers: list[str] = []
    for (keys,) in con.execute(
        f"select distinct json_keys(raw_row::json) from load_quarantine where {selected}", params
    ).fetchall():
        headers += [k for k in keys if k not in headers]
    shape = json.dumps(dict.fromkeys(headers, "VARCHAR"))
    con.execute(
        f"""create or replace temp table retry as
            select row_number() over (order by row_number, rowid) as _row_id, row_number as original_row,
                   json_transform(raw_row::json, $shape) as row
            from load_quarantine where {selected}""",
        params | {"shape": shape},
    )
    con.execute(f"delete from load_quarantine where {selected}", params)
    con.execute("create or replace temp table raw as select unnest(row) from retry order by _row_id")
    # the group's rows go in under a name of their own, so their quarantine rows can be told from any other
    token = f"retry-{uuid.uuid4().hex}"
    sha = con.execute(
        "select coalesce(max(sha256), 'requarantine') from load_ledger where load_id = $l and file_name = $f",
        {"l": group.load_id, "f": group.file_name},
    ).fetchall()[0][0]
    file_result = loader.FileResult(group.file_name, group.entity, sha)
    rows = con.sql("select count(*) from raw").fetchall()[0][0]
    read = ReadResult("raw", headers, rows, "utf-8", None)
    loader.load_read(
        con, loader.InputFile(Path(token), group.entity), file_result, read, load_id, profile, as_of, lambda *_: None
    )
    con.execute(
        """update load_quarantine as q set file_name = $f, row_number = r.original_row
           from retry as r where q.file_name = $token and q.row_number = r._row_id""",
        {"f": group.file_name, "token": token},
    )
    con.execute(
        "update load_ledger set file_name = $f, status = $status, message = $message where file_name = $token",
        {
            "f": group.file_name,
            "token": token,
            "status": RETRIED,
            "message": f"re-run of {group.rows:,} quarantined row(s) of load {group.load_id}",
        },
    )
    con.execute("drop table if exists retry")
    file_result.status = RETRIED
    return file_result


def print_summary(result: loader.LoadResult) -> None:
    for f in result.files:
        print(
            f"{f.file_name} ({f.entity}): re-ran {f.rows_read:,} quarantined row(s): loaded {f.rows_loaded:,}, "
            f"still quarantined {f.rows_quarantined:,}"
            + (" - rules: " + ", ".join(f"{rule} {count:,}" for rule, count in f.top_rules) if f.top_rules else "")
        )
    loader.print_ending(result, "re-run", "no quarantined row is waiting for a parent; the warehouse is unchanged")


def run(args: argparse.Namespace) -> int:
    try:
        as_of = date.fromisoformat(args.as_of) if args.as_of else None
    except ValueError:
        print(f"error: --as-of {args.as_of!r} is not a date YYYY-MM-DD", file=sys.stderr)
        return loader.EXIT_USAGE
    result = retry_quarantined(args.db, args.profile, as_of)
    print_summary(result)
    return result.exit_code
