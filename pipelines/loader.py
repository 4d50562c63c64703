"""The load: read -> identifier guard -> map -> contracts -> quarantine -> upsert, all or nothing.

Every data row read ends in exactly one place, its entity's table or
load_quarantine under the first rule it broke, and the ledger records
rows_read = rows_loaded + rows_quarantined per file. Files are processed
parents first whatever order they are given in, so cross-table rules see the
warehouse as it will stand after the load.

Exit codes (python -m pipelines load): 0 loaded (quarantined rows are shown in
the summary), 2 bad options or profile, 3 a file refused for direct
identifiers, 4 a file unreadable or not mappable, 5 the warehouse is busy or
cannot be written, 6 a file exported before rows a newer export stored (--force loads it). For codes
3-6 the warehouse is unchanged.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from data_contracts.interchange import ENTITIES, LOAD_ORDER, SPEC_VERSION
from data_contracts.marts import marts_current
from data_contracts.sql_files import read_sql
from pipelines import atomic, crosschecks, finish_steps, sessions, snapshots
from pipelines.contracts import (
    column_values,
    distinct_value_columns,
    load_suite_json,
    rejected_values,
    warm_up_in_background,
)
from pipelines.identifiers import (
    header_findings,
    key_findings,
    person_columns,
    unmapped_findings,
    value_findings,
    visible,
)
from pipelines.mapping import (
    ColumnMap,
    MappingError,
    create_candidate,
    create_mapped,
    date_summary,
    header_row_problem,
    mapped_expressions,
    resolve_columns,
)
from pipelines.marts import build_marts
from pipelines.profiles import Profile, ProfileError, load_profile
from pipelines.readers import (
    MALFORMED_COLUMN,
    ReadError,
    ReadResult,
    file_kind,
    read_column_values,
    read_into,
    workbook_sheet,
)
from pipelines.warehouse import REPO_ROOT, create_schema

CONTRACT_SQL = REPO_ROOT / "sql" / "contracts"
DATA_SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx", ".parquet"}
EXIT_OK, EXIT_USAGE, EXIT_REFUSED, EXIT_UNREADABLE, EXIT_WAREHOUSE, EXIT_OLDER = 0, 2, 3, 4, 5, 6
ROW_RULE_PRIORITY, KEY_RULE_PRIORITY = 1000, 2000
MAX_VALUE_SHOWN = 60
# DuckDB spills to disk past this, so a state-size or 2 GB file loads in bounded memory. The process peaks
# about 0.6 GB above it (great-expectations' frames are outside DuckDB): 1.5 GB keeps a 5M-row file, valid
# or all quarantined, under the 2.5 GB target (docs/PERFORMANCE.md, "Memory of one large file").
LOAD_MEMORY_LIMIT = os.environ.get("BTAM_LOAD_MEMORY_LIMIT", "1.5GB")

Progress = Callable[[str, float], None]


class LoadRefused(Exception):
    """A file that stops the whole load; the warehouse stays as it was."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class FileResult:
    file_name: str
    entity: str
    sha256: str
    status: str = "pending"  # loaded, unchanged
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    top_rules: list[tuple[str, int]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    mode: str = snapshots.INCREMENT
    rows_deleted: int = 0  # a snapshot's stored rows absent from the file
    scope: list[str] = field(default_factory=list)  # a snapshot's school years
    sheet: str | None = None  # the workbook sheet read, for .xlsx files


@dataclass
class LoadResult:
    load_id: str
    db_path: Path
    files: list[FileResult]
    published: bool = False
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    exit_code: int = EXIT_OK


@dataclass(frozen=True)
class InputFile:
    path: Path
    entity: str
    sheet: str | None = None  # for a workbook: the sheet to read, chosen before anything is loaded
    exported_at: datetime | None = None  # None: rows not from an export (requarantine); never compared
    mode: str = snapshots.INCREMENT


def discover(
    paths: Sequence[str | Path],
    profile: Profile,
    entity: str | None = None,
    sheet: str | None = None,
    mode: str | None = None,
    exported_on: date | None = None,
    as_of: date | None = None,
) -> list[InputFile]:
    """The files of one load in dependency order, each entity's files oldest export first (snapshots), so
    the newest export wins; folders contribute their data files. A workbook's sheet (`sheet`, else the
    profile's for the entity, else the rule of `readers.read_into`) and each file's export date are
    settled here, so an ambiguous workbook or an undated export stops the load before anything is read."""
    files: list[Path] = []
    for given in map(Path, paths):
        if given.is_dir():
            files.extend(sorted(p for p in given.iterdir() if p.is_file() and p.suffix.lower() in DATA_SUFFIXES))
        elif given.exists():
            files.append(given)
        else:
            raise LoadRefused(f"{given}: no such file or folder", EXIT_UNREADABLE)
    if not files:
        raise LoadRefused(f"no .csv, .xlsx or .parquet files in {', '.join(map(str, paths))}", EXIT_UNREADABLE)
    inputs = []
    for path in files:
        if entity and entity not in ENTITIES:
            raise LoadRefused(f"--entity {entity!r} is not one of {', '.join(ENTITIES)}", EXIT_USAGE)
        found = entity or profile.entity_for(path.name)
        if found is None:
            raise LoadRefused(
                f"{path.name}: cannot tell which entity this file holds. Name it after the entity "
                f"({', '.join(ENTITIES)}), pass --entity, or add its name to the profile's 'files'",
                EXIT_UNREADABLE,
            )
        found_sheet = _sheet_of(path, found, sheet or profile.sheet_for(found))
        inputs.append(
            InputFile(
                path,
                found,
                found_sheet,
                exported_at=_export_date(path, found, found_sheet, exported_on, profile, as_of or date.today()),
                mode=mode or profile.mode_for(found),
            )
        )
    return sorted(inputs, key=lambda f: (LOAD_ORDER.index(f.entity), f.exported_at, snapshots.natural_key(f.path.name)))


def _export_date(
    path: Path, entity: str, sheet: str | None, exported_on: date | None, profile: Profile, as_of: date
) -> datetime:
    rule = profile.export_date_for(entity)
    try:
        if exported_on is None and rule is not None and rule.column is not None:
            found = _column_dates(path, entity, sheet, rule.column, profile)
            return snapshots.date_in_column(path.name, rule.column, found, as_of)
        return snapshots.exported_at(path, exported_on, rule.file_name if rule is not None else None, as_of)
    except snapshots.UndatedExport as exc:
        raise LoadRefused(str(exc), EXIT_USAGE) from exc
    except ReadError as exc:
        raise LoadRefused(str(exc), EXIT_UNREADABLE) from exc


def _column_dates(
    path: Path, entity: str, sheet: str | None, column: str, profile: Profile
) -> snapshots.ColumnDates | None:
    """The dates of a file's export-date column, from one pass over that column before the load: the
    files of an entity are ordered by them before the first is read."""
    con = duckdb.connect()
    try:
        header = read_column_values(con, path, "export_date_values", column, entity, sheet)
        return None if header is None else date_summary(con, "export_date_values", header, profile)
    finally:
        con.close()


def _sheet_of(path: Path, entity: str, wanted: str | None) -> str | None:
    try:
        if path.suffix.lower() != ".xlsx" or file_kind(path) != "xlsx":
            return None  # a misnamed file is refused by the reader, with its own message
        return workbook_sheet(path, entity, wanted)
    except ReadError as exc:
        raise LoadRefused(str(exc), EXIT_UNREADABLE) from exc


HASH_CHUNK = 16 << 20  # few, large reads: each one waits for the GIL, which the great-expectations import holds


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            digest.update(chunk)  # releases the GIL while it hashes
    return digest.hexdigest()


def _loaded_sources(db_path: Path) -> set[tuple[str, str | None]]:
    """(sha256, sheet) of every file loaded: each sheet of a workbook is a source of its own. Ledgers from
    before the sheet was recorded give None, which stands for any sheet of that file."""
    if not db_path.exists():
        return set()
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        columns = {row[0] for row in con.sql("describe load_ledger").fetchall()}
        sheet = "sheet" if "sheet" in columns else "null"
        return set(con.sql(f"select sha256, {sheet} from load_ledger where status = 'loaded'").fetchall())
    finally:
        con.close()


def load_files(
    db_path: str | Path,
    paths: Sequence[str | Path],
    profile: Profile | str = "interchange",
    as_of: date | None = None,
    entity: str | None = None,
    synthetic: bool = False,
    progress: Progress | None = None,
    lock_wait_seconds: float = 30.0,
    sheet: str | None = None,
    mode: str | None = None,
    exported_on: date | None = None,
    force: bool = False,
) -> LoadResult:
    """Load the files of one load into the warehouse at `db_path`, atomically. Never raises for bad input.

    `mode` (snapshot or increment) overrides the profile's for every file; `exported_on` is every file's
    export date (default: its modified time); `force` loads an export older than stored rows (snapshots)."""
    db_path = Path(db_path)
    load_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    result = LoadResult(load_id, db_path, [])
    try:
        profile = load_profile(profile) if isinstance(profile, str) else profile
        if mode is not None and mode not in snapshots.MODES:
            raise LoadRefused(f"mode {mode!r} is not one of {', '.join(snapshots.MODES)}", EXIT_USAGE)
        as_of = as_of or date.today()
        inputs = discover(paths, profile, entity, sheet, mode, exported_on, as_of)
        with atomic.exclusive_lock(db_path, lock_wait_seconds):
            atomic.remove_stale_builds(db_path)
            sessions.check_readable(db_path)
            known = _loaded_sources(db_path)
            todo = []
            for item in inputs:
                digest = sha256_of(item.path)
                file_result = FileResult(item.path.name, item.entity, digest, sheet=item.sheet)
                result.files.append(file_result)
                if (digest, item.sheet) in known or (digest, None) in known:
                    file_result.status = "unchanged"
                else:
                    if not todo:  # something to load: great-expectations imports while the rest is hashed and read
                        warm_up_in_background()
                    known.add((digest, item.sheet))
                    todo.append((item, file_result))
            if todo:
                stale_wal = sessions.wal_of(db_path)
                if stale_wal.exists():
                    result.notes.append(
                        f"{stale_wal.name}: writes of a session that ended without a checkpoint "
                        "were folded into this version"
                    )
                result.notes += _build_and_publish(db_path, load_id, todo, profile, as_of, synthetic, progress, force)
                result.published = True
    except LoadRefused as exc:
        result.error, result.exit_code = str(exc), exc.exit_code
    except ProfileError as exc:
        result.error, result.exit_code = str(exc), EXIT_USAGE
    except atomic.WarehouseBusy as exc:
        result.error, result.exit_code = str(exc), EXIT_WAREHOUSE
    except OSError as exc:
        result.error = (
            f"cannot write the warehouse next to {db_path}: {exc.strerror or exc}. "
            "The warehouse is unchanged; free space or fix permissions and load again"
        )
        result.exit_code = EXIT_WAREHOUSE
    except duckdb.Error as exc:
        # DuckDB's own write failures (a full disk at commit or checkpoint, no memory left): the build is
        # discarded. Anything else is a bug and keeps its traceback.
        if sessions.is_damage(exc) or sessions.is_session_lock(exc):
            result.error, result.exit_code = sessions.explain(db_path, exc), EXIT_WAREHOUSE
            return result
        reason = str(exc).strip().splitlines()[0][:300]
        if not (
            isinstance(exc, (duckdb.IOException, duckdb.FatalException, duckdb.OutOfMemoryException))
            or "No space left on device" in reason
            or "Could not write file" in reason
        ):
            raise
        result.error = (
            f"cannot write the warehouse next to {db_path}: {reason}. The warehouse is unchanged; "
            "free disk space (or memory) and load again"
        )
        result.exit_code = EXIT_WAREHOUSE
    return result


def _build_and_publish(
    db_path: Path,
    load_id: str,
    todo: list[tuple[InputFile, FileResult]],
    profile: Profile,
    as_of: date,
    synthetic: bool,
    progress: Progress | None,
    force: bool = False,
) -> list[str]:
    """Build the next version and publish it; the notes to print (what the re-check moved)."""
    # umask 077: the build, its WAL, spill and the readers' work files are the owner's alone (PRIVACY.md)
    with atomic.private_files(), atomic.building(db_path, load_id, memory_limit=LOAD_MEMORY_LIMIT) as con:
        create_schema(con)
        snapshots.create_table(con)
        _check_synthetic_policy(con, synthetic, db_path)
        marts_were_current = marts_current(con)
        work = atomic.work_dir(db_path, load_id)  # removed with the build's leftovers, however the build ends
        for index, (item, file_result) in enumerate(todo):

            def step(stage: str, fraction: float, _i=index, _name=item.path.name) -> None:
                if progress:
                    progress(f"{_name}: {stage}", (_i + fraction) / len(todo))

            _load_one(con, item, file_result, load_id, profile, as_of, work, step, force)
        shrunk = {file_result.entity for _, file_result in todo if file_result.rows_deleted}
        rechecked = crosschecks.recheck(con, load_id, as_of, shrunk)
        _record_info(con, load_id, as_of, synthetic)
        # stage "building marts": after the tables and info, before the swap; only the marts this load's
        # tables feed, when the others still describe the warehouse
        touched = {item.entity for item, _ in todo} | set(rechecked.checked)
        build_marts(con, progress, touched if marts_were_current else None)
        finish_steps.run_all(con, progress)  # e.g. the published figures (registered by pipelines/__main__.py)
    return rechecked.describe()


def _check_synthetic_policy(con: duckdb.DuckDBPyConnection, synthetic: bool, db_path: Path) -> None:
    """Synthetic and real data never share a warehouse: the synthetic banner must mean what it says."""
    has_data = con.sql("select count(*) from load_ledger where status = 'loaded'").fetchall()[0][0] > 0
    if not has_data:
        return
    flag = dict(con.sql("select key, value from warehouse_info").fetchall()).get("synthetic") == "true"
    if flag != synthetic:
        what = "the synthetic demo" if flag else "real data"
        raise LoadRefused(
            f"{db_path} holds {what}; load {'real' if flag else 'synthetic'} files into a new "
            "warehouse (--db OTHER_FILE) instead of mixing them",
            EXIT_USAGE,
        )


def _record_info(con: duckdb.DuckDBPyConnection, load_id: str, as_of: date, synthetic: bool) -> None:
    values = {
        "synthetic": "true" if synthetic else "false",
        "spec_version": str(SPEC_VERSION),
        "last_load_id": load_id,
        "last_load_as_of": as_of.isoformat(),
        "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    for key, value in values.items():
        con.execute("insert or replace into warehouse_info values ($k, $v)", {"k": key, "v": value})


def _load_one(
    con: duckdb.DuckDBPyConnection,
    item: InputFile,
    result: FileResult,
    load_id: str,
    profile: Profile,
    as_of: date,
    work_dir: Path,
    step: Callable[[str, float], None],
    force: bool = False,
) -> None:
    step("reading", 0.0)
    try:
        read = read_into(con, item.path, "raw", work_dir, item.entity, item.sheet)
    except ReadError as exc:
        raise LoadRefused(str(exc), EXIT_UNREADABLE) from exc
    load_read(con, item, result, read, load_id, profile, as_of, step, force)


def load_read(
    con: duckdb.DuckDBPyConnection,
    item: InputFile,
    result: FileResult,
    read: ReadResult,
    load_id: str,
    profile: Profile,
    as_of: date,
    step: Callable[[str, float], None],
    force: bool = False,
) -> None:
    """The rows of one file already in the temp table `raw` (read_into's form): identifier guard, mapping,
    contracts, quarantine and upsert. Shared by the load and requarantine's re-run of quarantined rows."""
    entity = ENTITIES[item.entity]
    result.rows_read = read.rows_read
    read, dropped = _drop_profile_columns(con, read, profile.drops(item.entity))
    problem = header_row_problem(item.path.name, read.columns, item.entity, profile)
    if problem:
        raise LoadRefused(problem, EXIT_UNREADABLE)
    step("checking for identifiers", 0.3)
    # Columns the profile says what they hold are not judged by their names: renamed ones and the export date.
    export_date_column = profile.export_date_column(item.entity)
    declared = set(profile.renames(item.entity)) | set(entity.column_names)
    if export_date_column:
        declared.add(export_date_column)
    findings = header_findings(read.columns, {h for h in read.columns if h.strip().lower() in declared})
    try:
        column_map = resolve_columns(item.path.name, read.columns, item.entity, profile)
    except MappingError as exc:
        if not findings:
            raise LoadRefused(str(exc), EXIT_UNREADABLE) from exc
        column_map = None
    if column_map:
        findings += unmapped_findings(con, "raw", column_map.ignored)
        if "student_key" in column_map.sources:
            findings += key_findings(con, "raw", column_map.sources["student_key"])
    coded = (
        {source for target, source in column_map.sources.items() if entity.column(target).type != "text"}
        if column_map
        else set()
    )
    # The distinct values of the columns whose rules need them, computed once: the identifier guard
    # tests these instead of every row, and great-expectations gets them mapped.
    distinct_tables = _create_distinct_tables(con, item.entity, column_map) if column_map else {}
    findings += value_findings(con, "raw", read.columns, few_values=coded, distinct_tables=distinct_tables)
    if read.malformed_rows:  # every field of a row that did not fit the header, overflow included
        findings += value_findings(con, read.malformed_table, [MALFORMED_COLUMN], row_id="_row_id")
    if findings:
        con.execute("drop table if exists raw")
        for table in distinct_tables.values():
            con.execute(f"drop table if exists {table}")
        outside = person_columns(findings, column_map.ignored if column_map else list(read.columns))
        drop_hint = (
            f" Columns outside the interchange ({', '.join(map(repr, outside))}) would not be stored, but the file "
            f"still carries them: if they are safe to discard, list them in the profile's "
            f"entities.{item.entity}.drop to drop them at the door."
            if outside
            else ""
        )
        raise LoadRefused(
            f"{item.path.name} refused: it carries direct identifiers, and nothing of it was stored. "
            + "; ".join(f.describe() for f in findings)
            + "."
            + drop_hint
            + " Remove these columns or values from the export (the warehouse takes de-identified data only) "
            "and load it again",
            EXIT_REFUSED,
        )
    result.ignored_columns = [
        f"{c} (the export date)" if c.strip().lower() == export_date_column else c for c in column_map.ignored
    ] + [f"{c} (dropped by the profile)" for c in dropped]
    step("mapping", 0.4)
    create_mapped(con, "raw", item.entity, column_map, profile)
    step("validating", 0.5)
    expressions = mapped_expressions(item.entity, column_map, profile)
    _collect_violations(
        con,
        item.entity,
        column_map,
        profile,
        as_of,
        expressions,
        {
            expressions[target][0]: distinct_tables[source]
            for target, source in column_map.sources.items()
            if source in distinct_tables
        },
    )
    if read.malformed_rows:  # first of all rules: the row's fields could not be told apart
        con.execute(
            f"insert into violations select distinct _row_id, 'malformed_row', detail, -1 from {read.malformed_table}"
        )
    if item.exported_at is not None and not force:
        try:
            snapshots.check_not_older(con, item.entity, item.path.name, item.exported_at, item.mode, load_id)
        except snapshots.OlderExport as exc:
            raise LoadRefused(str(exc), EXIT_OLDER) from exc
    step("writing", 0.8)
    mapped_headers = [h for h in read.columns if h in set(column_map.sources.values())]
    _write(con, item, result, load_id, mapped_headers, profile.name, as_of)
    _apply_snapshot(con, item, result, load_id)
    con.execute("drop view if exists mapped")
    for table in ("raw", "raw_malformed", "candidate", "violations", "first_violation", *distinct_tables.values()):
        con.execute(f"drop table if exists {table}")
    step("done", 1.0)


def _drop_profile_columns(
    con: duckdb.DuckDBPyConnection, read: ReadResult, drops: set[str]
) -> tuple[ReadResult, list[str]]:
    """Remove the columns the profile drops from the table as read, before any check looks at them."""
    dropped = [c for c in read.columns if visible(c).strip().lower() in drops]
    for column in dropped:
        con.execute('alter table raw drop column "' + column.replace('"', '""') + '"')
    kept = [c for c in read.columns if c not in set(dropped)]
    return (replace(read, columns=kept) if dropped else read), dropped


def _create_distinct_tables(con: duckdb.DuckDBPyConnection, entity: str, column_map: ColumnMap) -> dict[str, str]:
    """Temp tables of the distinct raw values of each source column feeding a rule that needs them
    (source header -> table, the column under its own name)."""
    tables = {}
    for index, target in enumerate(distinct_value_columns(entity)):
        source = column_map.sources.get(target)
        if source is None:
            continue
        tables[source] = f"raw_distinct_{index}"
        quoted = '"' + source.replace('"', '""') + '"'
        con.execute(f"create or replace temp table {tables[source]} as select distinct {quoted} from raw")
    return tables


def _collect_violations(
    con: duckdb.DuckDBPyConnection,
    entity: str,
    column_map: ColumnMap,
    profile: Profile,
    as_of: date,
    expressions: dict[str, tuple[str | None, str]],
    distinct_tables: dict[str, str],
) -> None:
    """Temp table violations(_row_id, rule, detail, priority): every rule every row breaks.

    `expressions` are the mapping's (mapping.mapped_expressions): the distinct values handed to
    great-expectations are mapped from the raw table's distinct values (`distinct_tables`, by
    quoted source column, where already computed)."""
    con.execute(
        "create or replace temp table violations (_row_id bigint, rule varchar, detail varchar, priority integer)"
    )
    suite = load_suite_json(entity)
    priority = {e["meta"]["rule"]: i for i, e in enumerate(suite["expectations"])}
    # great-expectations judges the distinct values in a second thread while DuckDB (which releases
    # the GIL) types the rows and runs the row and cross-table rules.
    with ThreadPoolExecutor(max_workers=1) as pool:
        verdicts = pool.submit(rejected_values, entity, column_values(con, "raw", entity, expressions, distinct_tables))
        _row_and_key_violations(con, entity, column_map, profile, as_of)
        by_rule = verdicts.result()
    for (column, rule), values in by_rule.items():
        _insert_column_violations(con, column, rule, values, priority[rule])


def _row_and_key_violations(
    con: duckdb.DuckDBPyConnection, entity: str, column_map: ColumnMap, profile: Profile, as_of: date
) -> None:
    create_candidate(con, "raw", entity, column_map, profile)
    snapshots.keep_absent_columns(
        con, entity, [c for c in ENTITIES[entity].column_names if c not in column_map.sources]
    )
    rules_sql = read_sql(CONTRACT_SQL / f"{entity}.sql")
    with _parents_as_build_side(con, rules_sql):
        con.execute(
            f"insert into violations select _row_id, rule, detail, {ROW_RULE_PRIORITY} from ({rules_sql}) as broken",
            {"as_of": as_of.isoformat()} if "$as_of" in rules_sql else None,
        )
    key = ", ".join(ENTITIES[entity].key)
    # A grouped count finds whether any key repeats; only then are the repeating rows numbered.
    if not con.sql(f"select count(*) from (select 1 from candidate group by {key} having count(*) > 1)").fetchall()[0][
        0
    ]:
        return
    con.execute(f"""
        insert into violations
        select _row_id, 'duplicate_key', 'key ({key}) appears ' || copies || ' times in this file', {KEY_RULE_PRIORITY}
        from (select _row_id, count(*) over (partition by {key}) as copies from candidate)
        where copies > 1""")


@contextmanager
def _parents_as_build_side(con: duckdb.DuckDBPyConnection, rules_sql: str):
    """Keep the joins of the rules as written (candidate rows probe a hash table of the parent table)
    when the file has more rows than every parent it joins: DuckDB's estimate of the rules' shared
    CTE is poor and otherwise builds its hash table on millions of candidate rows instead."""
    parents = set(re.findall(r"\bjoin\s+(\w+)", rules_sql, flags=re.IGNORECASE)) & set(ENTITIES)
    rows = con.sql("select count(*) from candidate").fetchall()[0][0]
    largest = max((con.sql(f"select count(*) from {p}").fetchall()[0][0] for p in parents), default=None)
    if largest is None or rows <= largest:
        yield
        return
    before = con.sql("select current_setting('disabled_optimizers')").fetchall()[0][0]
    con.execute("set disabled_optimizers = " + _sql_literal(",".join(filter(None, [before, "build_side_probe_side"]))))
    try:
        yield
    finally:
        con.execute("set disabled_optimizers = " + _sql_literal(before))


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _insert_column_violations(
    con: duckdb.DuckDBPyConnection, column: str, rule: str, values: pa.Array, priority: int
) -> None:
    """One scan per (column, rule): every row whose mapped value is among the rejected values, joined
    against them as a registered Arrow table (millions of values when a key column fails throughout)."""
    conditions = []
    if len(values) > values.null_count:
        conditions.append(f"{column} in (select v from _rejected_values where v is not null)")
    if values.null_count:
        conditions.append(f"{column} is null")
    detail = (
        f"'{column} is ' || coalesce('\"' || left({column}, {MAX_VALUE_SHOWN}) || '\"', 'blank') "
        f"|| ': {_rule_text(rule).replace(chr(39), chr(39) * 2)}'"
    )
    con.register("_rejected_values", pa.table({"v": values}))
    try:
        con.execute(
            f"insert into violations select _row_id, $rule, {detail}, $priority from mapped "
            f"where {' or '.join(conditions)}",
            {"rule": rule, "priority": priority},
        )
    finally:
        con.unregister("_rejected_values")


RULE_TEXT = {
    "required": "a value is required",
    "code": "not a code of the interchange list (or of the profile's crosswalk)",
    "format": "does not have the required form",
    "date": "not a date in the profile's date formats",
    "bool": "not a yes/no word of the profile",
    "number": "not a number",
    "range": "outside 0 to 365",
}


def _rule_text(rule: str) -> str:
    return RULE_TEXT.get(rule.split(":")[0], rule)


def _quarantine_row_json(mapped_headers: list[str]) -> str:
    """SQL of load_quarantine.raw_row: the row as read, of the mapped columns only. A column the profile does
    not map (ignored_columns) is never stored, not even in quarantine."""
    pairs = ", ".join(f'{_sql_literal(h)}, raw."{h.replace(chr(34), chr(34) * 2)}"' for h in mapped_headers)
    return f"json_object({pairs})::varchar"


def _write(
    con: duckdb.DuckDBPyConnection,
    item: InputFile,
    result: FileResult,
    load_id: str,
    mapped_headers: list[str],
    profile_name: str,
    as_of: date,
) -> None:
    entity = ENTITIES[item.entity]
    con.execute(f"""
        create or replace temp table first_violation as
        select _row_id,
               arg_min(rule, priority * 1000000 + length(rule)) as rule,
               {crosschecks.details_in_order("priority")} as detail
        from violations group by _row_id""")
    result.rows_quarantined = con.sql("select count(*) from first_violation").fetchall()[0][0]
    if result.rows_quarantined:  # else: no pass over the rows as read
        con.execute(
            f"""
            insert into load_quarantine
            select $load_id, $file, $entity, f._row_id, f.rule, f.detail, {_quarantine_row_json(mapped_headers)}
            from first_violation as f
            join raw on raw.rowid + 1 = f._row_id""",
            {"load_id": load_id, "file": item.path.name, "entity": item.entity},
        )
    # The rows as read are no longer needed: their memory goes to the insert below (DuckDB would
    # otherwise spill them past the memory limit while it writes).
    con.execute("drop view if exists mapped")
    con.execute("drop table raw")
    con.execute("drop table violations")
    key = ", ".join(entity.key)
    columns = ", ".join(entity.column_names)
    derived_names, derived_values = _derived(item.entity)
    con.execute("create or replace temp view good as select * from candidate anti join first_violation using (_row_id)")
    if con.sql(f"select count(*) from (select 1 from {item.entity} limit 1)").fetchall()[0][0]:  # else: no scan
        con.execute(f"delete from {item.entity} where ({key}) in (select ({key}) from good)")
    result.rows_loaded = con.execute(
        f"insert into {item.entity} ({columns}{derived_names}, load_id) "
        f"select {columns}{derived_values}, $load_id from good",
        {"load_id": load_id},
    ).fetchall()[0][0]
    result.top_rules = con.sql(
        "select rule, count(*) as n from first_violation group by rule order by n desc, rule limit 5"
    ).fetchall()
    result.status = "loaded"
    con.execute("drop view good")
    if result.rows_read != result.rows_loaded + result.rows_quarantined:
        raise RuntimeError(
            f"{item.path.name}: reconciliation failed ({result.rows_read} read, "
            f"{result.rows_loaded} loaded, {result.rows_quarantined} quarantined)"
        )
    con.execute(
        """insert into load_ledger (load_id, file_name, sha256, entity, rows_read, rows_loaded, rows_quarantined,
                                    status, loaded_at, profile, as_of_date, ignored_columns, message, sheet)
           values ($load_id, $file, $sha, $entity, $read, $loaded, $quarantined, 'loaded', now()::timestamp,
                   $profile, $as_of, $ignored, null, $sheet)""",
        {
            "profile": profile_name,
            "as_of": as_of,
            "sheet": item.sheet,
            "load_id": load_id,
            "file": item.path.name,
            "sha": result.sha256,
            "entity": item.entity,
            "read": result.rows_read,
            "loaded": result.rows_loaded,
            "quarantined": result.rows_quarantined,
            "ignored": ", ".join(result.ignored_columns) or None,
        },
    )


def _apply_snapshot(con: duckdb.DuckDBPyConnection, item: InputFile, result: FileResult, load_id: str) -> None:
    """A snapshot deletes the stored rows of its scope that it does not hold; the export date is recorded."""
    result.mode = item.mode
    if item.mode == snapshots.SNAPSHOT:
        result.rows_deleted, result.scope = snapshots.delete_absent(con, item.entity)
        scope = ", ".join(result.scope) if result.scope else "all years"
        con.execute(
            "update load_ledger set message = $m where load_id = $l and file_name = $f",
            {
                "m": f"snapshot of {scope}: {result.rows_deleted:,} stored row(s) absent from the file deleted",
                "l": load_id,
                "f": item.path.name,
            },
        )
    if item.exported_at is not None:
        snapshots.record(con, load_id, item.path.name, item.entity, item.exported_at, item.mode)


def _derived(entity: str) -> tuple[str, str]:
    """Derived columns stored with an entity: (column list, select expressions), each with a leading comma."""
    if entity == "enrollment":
        return (
            ", disability_status",
            ", case when idea then 'idea' when section_504 then 'section_504_only' else 'none' end",
        )
    if entity == "case_actions":
        from data_contracts.interchange import EXCLUSIONARY_ACTIONS, LAW_ENFORCEMENT_ACTIONS, PLACEMENT_ACTIONS

        def in_list(codes: tuple[str, ...]) -> str:
            return ", ".join(f"'{c}'" for c in codes)

        return (
            ", action_category",
            f", case when action_type in ({in_list(EXCLUSIONARY_ACTIONS)}) then 'exclusionary' "
            f"when action_type in ({in_list(PLACEMENT_ACTIONS)}) then 'placement' "
            f"when action_type in ({in_list(LAW_ENFORCEMENT_ACTIONS)}) then 'law_enforcement' "
            f"else 'support' end",
        )
    return "", ""


def _source(f: FileResult) -> str:
    return f"{f.file_name}, sheet {f.sheet!r}" if f.sheet else f.file_name


def print_summary(result: LoadResult) -> None:
    for f in result.files:
        if f.status == "unchanged":
            print(f"{_source(f)} ({f.entity}): unchanged (already loaded, same sha256), nothing done")
            continue
        if f.status != "loaded":
            continue
        line = (
            f"{_source(f)} ({f.entity}): read {f.rows_read:,}, loaded {f.rows_loaded:,}, "
            f"quarantined {f.rows_quarantined:,}"
        )
        if f.top_rules:
            line += " - top rules: " + ", ".join(f"{rule} {count:,}" for rule, count in f.top_rules)
        if f.ignored_columns:
            line += f" - columns not stored: {', '.join(f.ignored_columns)}"
        if f.mode == snapshots.SNAPSHOT:
            line += (
                f" - snapshot of {', '.join(f.scope) if f.scope else 'all years'}: deleted {f.rows_deleted:,} "
                "stored row(s) absent from the file"
            )
        print(line)
    print_ending(result, "load", "nothing new to load; the warehouse is unchanged")


def print_ending(result: LoadResult, what: str, nothing: str) -> None:
    """The last lines of a load's (or a re-run's) summary: the error, or the notes and what was published."""
    if result.error:
        print(f"error: {result.error}", file=sys.stderr)
        print("the warehouse is unchanged", file=sys.stderr)
    elif result.published:
        for note in result.notes:
            print(note)
        print(f"{what} {result.load_id} published to {result.db_path}")
    else:
        print(nothing)


def _progress_bar(quiet: bool) -> tuple[Progress | None, Callable[[], None]]:
    if quiet or not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=100, unit="%", file=sys.stderr, leave=False, bar_format="{desc} {bar} {percentage:3.0f}%")

    def update(stage: str, fraction: float) -> None:
        bar.set_description_str(stage[:60])
        bar.n = round(fraction * 100)
        bar.refresh()

    return update, bar.close


def run(args) -> int:
    try:
        as_of = date.fromisoformat(args.as_of) if args.as_of else None
    except ValueError:
        print(f"error: --as-of {args.as_of!r} is not a date YYYY-MM-DD", file=sys.stderr)
        return EXIT_USAGE
    if args.synthetic:
        from pipelines.synthetic import not_generated

        foreign = not_generated(args.paths)
        if foreign:
            print(
                f"error: --synthetic is only for files made by `python -m pipelines demo`; {foreign[0]} "
                f"{'and ' + str(len(foreign) - 1) + ' more ' if len(foreign) > 1 else ''}is not one of them "
                "(a synthetic warehouse runs without login). Load real exports without --synthetic.",
                file=sys.stderr,
            )
            return EXIT_USAGE
    try:
        exported_on = date.fromisoformat(args.exported_on) if args.exported_on else None
    except ValueError:
        print(f"error: --exported-on {args.exported_on!r} is not a date YYYY-MM-DD", file=sys.stderr)
        return EXIT_USAGE
    progress, close = _progress_bar(args.quiet)
    try:
        with atomic.signals_as_exit():
            result = load_files(
                args.db,
                args.paths,
                args.profile,
                as_of,
                args.entity,
                args.synthetic,
                progress,
                sheet=args.sheet,
                mode=args.mode,
                exported_on=exported_on,
                force=args.force,
            )
    finally:
        close()
    print_summary(result)
    return result.exit_code
