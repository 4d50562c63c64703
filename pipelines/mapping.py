"""Mapping a raw file table to the interchange columns, as normalised text, in SQL.

Renames, code crosswalks, boolean words and date formats come from the
profile. Values that cannot be mapped are kept as read, so the contracts see
them and quarantine the row under the right rule instead of losing it.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from data_contracts.interchange import ENTITIES, Column
from data_contracts.values import ISO_DATE_BODY, NUMBER_BODY, NUMBER_SQL_TYPE, sql_full_match
from pipelines.profiles import Profile
from pipelines.snapshots import ColumnDates


class MappingError(Exception):
    """A file whose columns cannot be mapped to its entity; the message says what to do."""


@dataclass(frozen=True)
class ColumnMap:
    sources: dict[str, str]  # interchange column -> source header
    ignored: list[str]  # source headers not stored


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def header_row_problem(file_name: str, headers: list[str], entity: str, profile: Profile) -> str | None:
    """A first row of which no field is a column of `entity` (nor renamed to one): no header row, or the
    wrong profile. The message never repeats that row: in a file without a header row it is data."""
    spec, renames = ENTITIES[entity], profile.renames(entity)
    keys = [h.strip().lower() for h in headers]
    if any(k in renames or k.replace(" ", "_") in spec.column_names for k in keys):
        return None
    return (
        f"{file_name}: none of the {len(headers)} fields of the first row is a column of {entity} "
        f"(nor renamed to one by profile {profile.name!r}). The file must start with a header row naming the "
        "columns (docs/INTERCHANGE.md); if it has one, map its names with a profile (--profile). The first "
        "row's values are not shown, as they may be data"
    )


def resolve_columns(file_name: str, headers: list[str], entity: str, profile: Profile) -> ColumnMap:
    """Which source header feeds which interchange column; refuse when required columns are missing."""
    spec = ENTITIES[entity]
    renames = profile.renames(entity)
    sources: dict[str, str] = {}
    ignored = []
    for header in headers:
        key = header.strip().lower()
        target = renames.get(key) or (key.replace(" ", "_") if key.replace(" ", "_") in spec.column_names else None)
        if target is None:
            ignored.append(header)
        elif target in sources:
            raise MappingError(
                f"{file_name}: columns {sources[target]!r} and {header!r} both map to {target}; "
                "keep one, or fix the profile's rename"
            )
        else:
            sources[target] = header
    missing = [c.name for c in spec.columns if c.required and c.name not in sources]
    if missing:
        found = ", ".join(repr(h) for h in headers[:12])
        raise MappingError(
            f"{file_name}: required column(s) {', '.join(missing)} of {entity} are missing (found {found}). "
            "Add them to the export, or map them with a profile's 'rename' (data_contracts/profiles/README.md)"
        )
    return ColumnMap(sources, ignored)


def _text(source: str) -> str:
    """nullif(trim(value), ''), with trim skipped where it cannot change the value: DuckDB's trim
    removes Unicode space separators only, so a non-empty all-ASCII value (as many bytes as
    characters) that neither starts nor ends with a space is its own trim (a third cheaper on ids)."""
    q = _quote(source)
    return (
        f"case when {q} <> '' and not starts_with({q}, ' ') and not ends_with({q}, ' ') "
        f"and strlen({q}) = length({q}) then {q} else nullif(trim({q}), '') end"
    )


def _code(source: str, crosswalk: dict[str, str]) -> str:
    value = f"lower(trim({_quote(source)}))"
    if not crosswalk:
        return f"nullif({value}, '')"
    cases = " ".join(f"when {_literal(label)} then {_literal(code)}" for label, code in crosswalk.items())
    return f"nullif(case {value} {cases} else {value} end, '')"


def _bool(source: str, profile: Profile) -> str:
    value = f"lower(trim({_quote(source)}))"
    true_words = ", ".join(_literal(w) for w in profile.true_words)
    false_words = ", ".join(_literal(w) for w in profile.false_words)
    return f"case when {value} in ({true_words}) then 'Y' when {value} in ({false_words}) then 'N' else {_text(source)} end"


ISO_FORMAT = "%Y-%m-%d"


def _parsed_date(source: str, profile: Profile) -> str:
    """The value as a timestamp read with the profile's date formats, or null. One format is passed as a
    string: DuckDB parses that about twice as fast as a one-element list."""
    formats = profile.date_formats
    value = f"trim({_quote(source)})"
    others = [f for f in formats if f != ISO_FORMAT]
    parsed = []
    if len(others) < len(formats):
        # DuckDB's %Y-%m-%d also reads '2024-1-3' and '2024-10-03\n': ISO dates are the strict form only
        parsed.append(
            f"case when {sql_full_match(value, ISO_DATE_BODY)} then try_strptime({value}, {_literal(ISO_FORMAT)}) end"
        )
    if others:
        pattern = _literal(others[0]) if len(others) == 1 else "[" + ", ".join(_literal(f) for f in others) + "]"
        parsed.append(f"try_strptime({value}, {pattern})")
    return parsed[0] if len(parsed) == 1 else f"coalesce({', '.join(parsed)})"


def _date(source: str, profile: Profile) -> str:
    return f"coalesce(strftime({_parsed_date(source, profile)}, '%Y-%m-%d'), {_text(source)})"


def _typed_date(source: str, profile: Profile) -> str:
    """The date _date's text stands for, computed without the round trip through text (same value)."""
    text = _text(source)
    return (
        f"coalesce(cast({_parsed_date(source, profile)} as date), "
        f"case when {sql_full_match(text, ISO_DATE_BODY)} then try_cast({text} as date) end)"
    )


def date_summary(con: duckdb.DuckDBPyConnection, table: str, source: str, profile: Profile) -> ColumnDates:
    """(non-blank values, of them not a date, distinct dates, the latest date) of column `source` of
    `table`, each value read as the load reads a date column."""
    text, typed = _text(source), _typed_date(source, profile)
    return con.sql(
        f"select count({text}), count({text}) - count({typed}), count(distinct {typed}), max({typed}) from {table}"
    ).fetchall()[0]


def _expression(column: Column, source: str | None, entity: str, profile: Profile) -> str:
    if source is None:
        return "cast(null as varchar)"
    if column.type == "code":
        return _code(source, profile.crosswalk(entity, column.name))
    if column.type == "bool":
        return _bool(source, profile)
    if column.type == "date":
        return _date(source, profile)
    return _text(source)


def mapped_expressions(entity: str, column_map: ColumnMap, profile: Profile) -> dict[str, tuple[str | None, str]]:
    """Interchange column -> (quoted source column or None, SQL expression of its normalised text).

    Each expression reads its one source column only, so the mapped values of a column are the
    expression applied to the source column's distinct values."""
    out = {}
    for column in ENTITIES[entity].columns:
        source = column_map.sources.get(column.name)
        out[column.name] = (
            _quote(source) if source is not None else None,
            _expression(column, source, entity, profile),
        )
    return out


def create_mapped(
    con: duckdb.DuckDBPyConnection,
    raw_table: str,
    entity: str,
    column_map: ColumnMap,
    profile: Profile,
    out_table: str = "mapped",
) -> None:
    """View `out_table`: _row_id plus every interchange column of the entity, as normalised text.

    A view, not a table: only the rows of rejected values are looked up through it (the typed
    candidate is mapped from the raw table directly, and the contracts map each source column's
    distinct values with mapped_expressions)."""
    selects = ["rowid + 1 as _row_id"]
    for name, (_, expression) in mapped_expressions(entity, column_map, profile).items():
        selects.append(f"{expression} as {name}")
    con.execute(f"create or replace temp view {out_table} as select {', '.join(selects)} from {raw_table}")


def create_candidate(
    con: duckdb.DuckDBPyConnection,
    raw_table: str,
    entity: str,
    column_map: ColumnMap,
    profile: Profile,
    out_table: str = "candidate",
) -> None:
    """Table `out_table`: _row_id and the rows typed as the warehouse stores them (unreadable values become
    null), mapped from `raw_table` in one pass. Each value is the view create_mapped's value, typed; dates
    are parsed straight to dates rather than through their text."""
    selects = ["rowid + 1 as _row_id"]
    for column, (source, expression) in zip(
        ENTITIES[entity].columns, mapped_expressions(entity, column_map, profile).values()
    ):
        name = column.name
        if column.type == "bool":
            selects.append(f"case {expression} when 'Y' then true when 'N' then false end as {name}")
        elif column.type == "date":
            typed = _typed_date(column_map.sources[name], profile) if source is not None else "cast(null as date)"
            selects.append(f"{typed} as {name}")
        elif column.type == "decimal":
            selects.append(
                f"case when {sql_full_match(expression, NUMBER_BODY)} "
                f"then cast({expression} as {NUMBER_SQL_TYPE}) end as {name}"
            )
        else:
            selects.append(f"{expression} as {name}")
    con.execute(f"drop table if exists {out_table}")
    con.execute(f"create temp table {out_table} as select {', '.join(selects)} from {raw_table}")
