"""What a file says about the rows it does not hold, and which of two exports is the newer.

Snapshot or increment. A file is an increment unless declared a snapshot (the profile's "mode", or
`load --snapshot`): an increment adds and replaces rows by key and never removes one. A snapshot is the
whole of its scope, so stored rows of that scope whose key is absent from the file are deleted, and
the count is reported. The scope is the school years the file holds for its entity (enrollment,
btam_cases, discipline_actions); for case_actions and case_reviews, the school years of the cases
their rows name; for schools, every school. A row of the file that is quarantined still counts as
present: its stored version is kept, never deleted for a bad value.

Export dates. Each file has the date it was exported: `load --exported-on`, else where the profile says
its entity's files carry it (`"export_date"`, for every entity or per entity): the date in the file's name
(`{"file_name": REGEX}`, groups year, month and day: `cases_03-31-2025.csv`) or the one date of a column
of the file (`{"column": HEADER}`, read with the profile's date formats, never stored), else the file's
modified time (a copy made today would otherwise look newest). A name that the pattern does not match or
that gives no real date or a date after the load's as-of date, an `--exported-on` after it, and a column
that is missing, blank, not dates, more than one date or a date after the as-of date, refuse the load:
guessing would let an old export pass as new. Files of one entity in one load are taken oldest export first (then by name, v9 before v10), so the newest wins. An older export
never overwrites (or, as a snapshot, deletes) rows a newer export stored: the load is refused, naming both
files, unless `--force`. Export dates are kept in the table load_exports (load_id, file_name, entity,
exported_at).

A column absent from a file leaves the stored values of that column alone (keep_absent_columns).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from data_contracts.interchange import ENTITIES

SNAPSHOT, INCREMENT = "snapshot", "increment"
MODES = (SNAPSHOT, INCREMENT)
YEAR_SCOPED = ("enrollment", "btam_cases", "discipline_actions")
CASE_SCOPED = ("case_actions", "case_reviews")


class OlderExport(Exception):
    """A file exported before the rows it would replace; the message names both exports."""


class UndatedExport(ValueError):
    """A file whose name or column should carry its export date (the profile says so) and does not."""


DATE_GROUPS = ("year", "month", "day")


@dataclass(frozen=True)
class ExportDateRule:
    """Where a profile says an entity's files carry their export date: in the file's name (a pattern with
    the DATE_GROUPS) or in a column of the file (its header as in the file, before any rename)."""

    file_name: re.Pattern[str] | None = None
    column: str | None = None


def exported_at(
    path: Path, exported_on: date | None, name_pattern: re.Pattern[str] | None = None, as_of: date | None = None
) -> datetime:
    """The export's own date: the one given, else the date in the file's name (`name_pattern`), else the
    file's modified time (UTC, naive, as DuckDB stores it). A date given or named after `as_of` is refused
    (a typo would make the export newest for ever); a modified time is the machine's, not a claim, and is
    taken as it is (a file copied today for a load as of last June)."""
    if exported_on is not None:
        return _not_after(
            datetime(exported_on.year, exported_on.month, exported_on.day),
            as_of,
            f"{path.name}: --exported-on {exported_on:%Y-%m-%d}",
            "give the date the file was exported",
        )
    if name_pattern is not None:
        return _not_after(
            _date_in_name(path.name, name_pattern),
            as_of,
            f"{path.name}: the export date in its name",
            "rename the file with its real export date, or give it with --exported-on YYYY-MM-DD",
        )
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None)


def _not_after(when: datetime, as_of: date | None, what: str, remedy: str) -> datetime:
    if as_of is not None and when.date() > as_of:
        raise UndatedExport(
            f"{what} is after the load's as-of date {as_of:%Y-%m-%d}: an export cannot come from the future "
            f"(a typo?); {remedy}"
        )
    return when


def _date_in_name(name: str, pattern: re.Pattern[str]) -> datetime:
    found = pattern.search(name)
    remedy = "rename the file as the profile says, or give its export date with --exported-on YYYY-MM-DD"
    if found is None:
        raise UndatedExport(
            f"{name}: the profile reads each file's export date from its name (pattern {pattern.pattern!r}), "
            f"and this name has none; {remedy}"
        )
    year, month, day = (found.group(g) or "" for g in DATE_GROUPS)  # an optional group may match nothing
    try:
        return datetime(int(year) + (2000 if len(year) == 2 else 0), int(month), int(day))
    except ValueError:
        raise UndatedExport(f"{name}: {year}-{month}-{day} in its name is not a date; {remedy}") from None


ColumnDates = tuple[int, int, int, date | None]  # non-blank values, values not a date, distinct dates, latest


def date_in_column(file_name: str, column: str, found: ColumnDates | None, as_of: date) -> datetime:
    """The one date every non-blank value of the file's `column` gives (`found`: mapping.date_summary of
    its values, None when the file has no such column), not after `as_of`. The messages never show a
    value of the file: a column that is not the export date may hold anything."""
    where = f"{file_name}: the profile reads the export date from its column {column!r}"
    remedy = "correct the export, or give its export date with --exported-on YYYY-MM-DD"
    if found is None:
        raise UndatedExport(f"{where}, and the file has no such column; {remedy}")
    values, not_dates, dates, latest = found
    if not values:
        raise UndatedExport(f"{where}, and every value of it is blank; {remedy}")
    if not_dates:
        raise UndatedExport(
            f"{where}, and {not_dates:,} of its distinct values are not dates in the profile's date formats; {remedy}"
        )
    if dates > 1 or latest is None:
        raise UndatedExport(f"{where}, and it holds {dates:,} different dates where an export has one; {remedy}")
    if latest > as_of:
        raise UndatedExport(
            f"{where}, and its date is after the load's as-of date {as_of:%Y-%m-%d}: an export cannot come "
            f"from the future (a typo?); {remedy}"
        )
    return datetime(latest.year, latest.month, latest.day)


def natural_key(name: str) -> tuple:
    """File names with their numbers compared as numbers: v9 before v10."""
    return tuple(int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name))


def create_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """create table if not exists load_exports (
               load_id varchar not null, file_name varchar not null, entity varchar not null,
               exported_at timestamp not null, mode varchar not null)"""
    )


def record(
    con: duckdb.DuckDBPyConnection, load_id: str, file_name: str, entity: str, when: datetime, mode: str
) -> None:
    con.execute(
        "insert into load_exports values ($l, $f, $e, $t, $m)",
        {"l": load_id, "f": file_name, "e": entity, "t": when, "m": mode},
    )


def _stored_newer(con: duckdb.DuckDBPyConnection, entity: str, rows_sql: str, when: datetime, load_id: str):
    """(count, newest export date, its file) of the stored rows in `rows_sql` (rows of `entity`) that a
    newer export than `when` stored."""
    return con.execute(
        f"""select count(*), max(x.exported_at), arg_max(x.file_name, x.exported_at)
            from ({rows_sql}) as s
            join (select load_id, max(exported_at) as exported_at, arg_max(file_name, exported_at) as file_name
                  from load_exports where entity = $entity group by load_id) as x using (load_id)
            where x.exported_at > $when and s.load_id <> $load_id""",
        {"entity": entity, "when": when, "load_id": load_id},
    ).fetchall()[0]


def check_not_older(
    con: duckdb.DuckDBPyConnection, entity: str, file_name: str, when: datetime, mode: str, load_id: str
) -> None:
    """Refuse (OlderExport) a file older than the export that stored rows it would replace or delete.
    Reads the temp table `candidate` (every row of the file, quarantined ones too)."""
    newer_exists = con.execute(
        "select count(*) from load_exports where entity = $e and exported_at > $t and load_id <> $l",
        {"e": entity, "t": when, "l": load_id},
    ).fetchall()[0][0]
    if not newer_exists:  # the usual case: no stored row can be newer, and no scan of the rows is needed
        return
    key = ", ".join(ENTITIES[entity].key)
    replaced = f"select load_id from {entity} where ({key}) in (select ({key}) from candidate)"
    count, newest, newer_file = _stored_newer(con, entity, replaced, when, load_id)
    verb = "replace"
    if not count and mode == SNAPSHOT:
        count, newest, newer_file = _stored_newer(con, entity, _absent_sql(entity, "load_id"), when, load_id)
        verb = "delete"
    if count:
        raise OlderExport(
            f"{file_name} (exported {when:%Y-%m-%d %H:%M}) is older than {newer_file} (exported "
            f"{newest:%Y-%m-%d %H:%M}), and would {verb} {count:,} of the {entity} rows that newer export "
            "stored; an older export never overwrites a newer one. Load the newer export again, or pass "
            "--force to load this one over it"
        )


def _absent_sql(entity: str, columns: str) -> str:
    """SQL selecting `columns` of the stored rows of the file's scope whose key the file does not hold."""
    key = ", ".join(ENTITIES[entity].key)
    absent = f"({key}) not in (select ({key}) from candidate where {' and '.join(f'{k} is not null' for k in ENTITIES[entity].key)})"
    if entity in YEAR_SCOPED:
        scope = "school_year in (select distinct school_year from candidate where school_year is not null)"
    elif entity in CASE_SCOPED:
        scope = (
            "case_id in (select case_id from btam_cases where school_year in "
            "(select distinct k.school_year from candidate as c join btam_cases as k using (case_id)))"
        )
    else:
        scope = "true"
    return f"select {columns} from {entity} where {scope} and {absent}"


def delete_absent(con: duckdb.DuckDBPyConnection, entity: str) -> tuple[int, list[str]]:
    """A snapshot's deletions: the stored rows of its scope absent from the file (temp table `candidate`).
    Returns the rows deleted and the scope in words."""
    if entity in YEAR_SCOPED:
        years = [
            r[0]
            for r in con.sql(
                "select distinct school_year from candidate where school_year is not null order by 1"
            ).fetchall()
        ]
    elif entity in CASE_SCOPED:
        years = [
            r[0]
            for r in con.sql(
                "select distinct k.school_year from candidate as c join btam_cases as k using (case_id) order by 1"
            ).fetchall()
        ]
    else:
        years = []
    key = ", ".join(ENTITIES[entity].key)
    deleted = con.execute(f"delete from {entity} where ({key}) in ({_absent_sql(entity, f'({key})')})").fetchall()[0][0]
    return deleted, years


def keep_absent_columns(con: duckdb.DuckDBPyConnection, entity: str, absent: list[str]) -> None:
    """Columns the file does not have take their stored values (temp table `candidate`, matched by key),
    so a later file without an optional column never blanks it. Before the rules run, so they judge the
    row as it will be stored."""
    if not absent:
        return
    keys = " and ".join(f"c.{k} = s.{k}" for k in ENTITIES[entity].key)
    sets = ", ".join(f"{column} = s.{column}" for column in absent)
    con.execute(f"update candidate as c set {sets} from {entity} as s where {keys}")
