"""Running the great-expectations suites of data_contracts/suites/ over a mapped file.

Column rules depend on a value alone, so the suite runs over each column's
distinct values (padded to one frame) rather than over every row; the failing
values (read from the failing rows GX lists, _violations_of) are joined back to
their rows in DuckDB. Same verdicts, a fraction of the cost on millions of rows.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.values import ISO_DATE_PATTERN, NUMBER_PATTERN, PATTERNS

SUITES_DIR = Path(__file__).resolve().parent.parent / "data_contracts" / "suites"
NOT_NULL = "expect_column_values_to_not_be_null"
DERIVED_NUMBER_SUFFIX = "__number"


class ContractError(RuntimeError):
    """The contract machinery itself failed (not the data): an expectation raised inside GX."""


@dataclass(frozen=True)
class ColumnViolation:
    column: str
    value: str | None
    rule: str


def load_suite_json(entity: str) -> dict:
    suite = json.loads((SUITES_DIR / f"{entity}.json").read_text())
    if not entity.startswith("reference/"):  # reference suites (CRDC cells) have rules of their own: counts, states
        _check_patterns(suite)
    return suite


def _check_patterns(suite: dict) -> None:
    """The suite's regexes are the strict parser's (data_contracts/values.py): a suite written before a
    change of the parser would let through values the loader cannot type, so it is refused."""
    for expectation in suite["expectations"]:
        if expectation["type"] != "expect_column_values_to_match_regex":
            continue
        column, regex = expectation["kwargs"]["column"], expectation["kwargs"]["regex"]
        rule_kind = expectation["meta"]["rule"].split(":")[0]
        wanted = PATTERNS.get(column) or {"date": ISO_DATE_PATTERN, "number": NUMBER_PATTERN}.get(rule_kind)
        if regex != wanted:
            raise ContractError(
                f"suite {suite['name']}: the regex of {column} is not data_contracts/values.py's; "
                "run python -m data_contracts.build_suites"
            )


_CONTEXT_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _new_context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def _context():
    with _CONTEXT_LOCK:
        return _new_context()


def warm_up_in_background() -> threading.Thread:
    """Import great-expectations (2-4 s) while the files are read, instead of after."""
    thread = threading.Thread(target=_context, name="gx-warm-up", daemon=True)
    thread.start()
    return thread


@cache
def _batch_definition(entity: str):
    source = _context().data_sources.add_pandas(f"mapped_{entity}")
    return source.add_dataframe_asset(f"{entity}_values").add_batch_definition_whole_dataframe("distinct_values")


def load_suite(entity: str):
    """The entity's whole suite as a GX object."""
    raw = load_suite_json(entity)
    return _suite_object(raw["name"], raw["expectations"])


def _suite_object(name: str, expectations: list[dict]):
    """A GX suite; refuses one that GX silently shortened (it drops invalid expectations, see stack notes)."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=name, expectations=[dict(e) for e in expectations])
    if len(suite.expectations) != len(expectations):
        raise ContractError(
            f"suite {name}: {len(expectations)} expectations in the file, "
            f"{len(suite.expectations)} accepted by great-expectations"
        )
    return suite


def _representatives(con: duckdb.DuckDBPyConnection, table: str, column: str, only_not_null: bool) -> list:
    """The values of a column that decide its verdicts: all distinct values, or one null and one not when
    the column's only rule is not-null (a key column has millions of distinct values)."""
    if only_not_null:
        sql = f"select any_value({column}) from {table} group by {column} is null"
    else:
        sql = f"select distinct {column} from {table}"
    return [r[0] for r in con.sql(sql).fetchall()]


SMALL_COLUMN = 5_000  # columns with at most this many distinct values share one frame
Values = list | pa.ChunkedArray  # a column's values: a list, or Arrow for a column of more than SMALL_COLUMN


def _column_values(
    con: duckdb.DuckDBPyConnection,
    table: str,
    suite_json: dict,
    expressions: dict[str, tuple[str | None, str]] | None = None,
    distinct_tables: dict[str, str] | None = None,
) -> dict[str, Values]:
    kinds: dict[str, set[str]] = {}
    for expectation in suite_json["expectations"]:
        kinds.setdefault(expectation["kwargs"]["column"], set()).add(expectation["type"])
    kinds = {c: types for c, types in kinds.items() if not c.endswith(DERIVED_NUMBER_SUFFIX)}
    if expressions is None:
        return {column: _representatives(con, table, column, types == {NOT_NULL}) for column, types in kinds.items()}
    return _mapped_representatives(con, table, kinds, expressions, distinct_tables or {})


def _mapped_representatives(
    con: duckdb.DuckDBPyConnection,
    table: str,
    kinds: dict[str, set[str]],
    expressions: dict[str, tuple[str | None, str]],
    distinct_tables: dict[str, str],
) -> dict[str, Values]:
    """_representatives of the mapped columns, computed from the unmapped `table` in two queries.

    A column's mapped value is its expression of one source column, so its distinct mapped values
    are the expression over the source's distinct values: the mapping runs on those, not on every
    row. Columns whose only rule is not-null get one null and one non-null value, from one
    aggregate pass shared by all of them."""
    values: dict[str, Values] = {column: [] for column in kinds}
    only_not_null = [c for c in kinds if kinds[c] == {NOT_NULL}]
    if only_not_null:
        aggregates = ", ".join(
            f"any_value({expressions[c][1]}), bool_or({expressions[c][1]} is null)" for c in only_not_null
        )
        row = con.sql(f"select {aggregates} from {table}").fetchall()[0]
        for position, column in enumerate(only_not_null):
            some_value, has_null = row[2 * position], row[2 * position + 1]
            values[column] = ([some_value] if some_value is not None else []) + ([None] if has_null else [])
    parts = []
    names = list(kinds)
    for index, column in enumerate(names):
        source, expression = expressions[column]
        if column in only_not_null:
            continue
        if source is None:
            parts.append(f"select {index} as i, cast(null as varchar) as v from (select 1 from {table} limit 1)")
        else:
            # the expression over distinct source values: two may map to one value (trimmed, a crosswalk),
            # which great-expectations then sees twice, with the same verdict (the failing rows are read
            # from its uncapped index list, _violations_of); not worth another distinct
            values_of = distinct_tables.get(source, f"(select distinct {source} from {table})")
            parts.append(f"select {index} as i, {expression} as v from {values_of}")
    if parts:
        # Arrow, not Python tuples: a key-like column has a million distinct values, and a large column
        # goes to great-expectations as an Arrow-backed string column without becoming Python objects.
        found = con.sql(" union all ".join(parts)).to_arrow_table()
        for index in pc.unique(found["i"]).to_pylist():
            column = found.filter(pc.equal(found["i"], index))["v"]
            values[names[index]] = column if len(column) > SMALL_COLUMN else column.to_pylist()
    return values


BATCH_VALUES = 250_000  # values of a large column per great-expectations run: bounds GX's and pandas' memory


def _frames(values: dict[str, Values], suite_json: dict):
    """(frame, source) pairs: small columns together, each large column alone and in batches of
    BATCH_VALUES, so no column is padded to another's length and no run holds millions of values.
    Cycling a column's values to the frame length repeats values, never adds one. `source` is a large
    column's batch as Arrow (its failing values are taken from it), else None."""
    import pandas as pd

    small = [c for c, v in values.items() if len(v) <= SMALL_COLUMN]
    groups: list[tuple[list[str], pa.ChunkedArray | None]] = [(small, None)] if small else []
    for column in values:
        large = values[column]
        if column in small:
            continue
        if isinstance(large, pa.ChunkedArray):  # the loader's large columns (_mapped_representatives)
            groups.extend(([column], large.slice(start, BATCH_VALUES)) for start in range(0, len(large), BATCH_VALUES))
        else:
            groups.append(([column], None))
    for columns, source in groups:
        length = len(source) if source is not None else max(len(values[c]) for c in columns) or 1
        frame = pd.DataFrame({c: _padded(values[c] if source is None else source, length) for c in columns})
        for expectation in suite_json["expectations"]:
            column = expectation["kwargs"]["column"]
            base = column.removesuffix(DERIVED_NUMBER_SUFFIX)
            if base in columns and column != base and column not in frame:
                frame[column] = pd.to_numeric(frame[base], errors="coerce")
        yield frame, source


def _padded(values, length: int):
    """A frame column of `length` from a column's values, cycled (a large column, held as Arrow, is alone
    in its frame and already as long as it). Both give pandas' Arrow-backed string column for text."""
    import numpy as np
    import pandas as pd

    if isinstance(values, pa.ChunkedArray):
        return pd.array(values, dtype="str")
    return np.resize(np.array(values or [None], dtype=object), length)


def column_values(
    con: duckdb.DuckDBPyConnection,
    table: str,
    entity: str,
    expressions: dict[str, tuple[str | None, str]] | None = None,
    distinct_tables: dict[str, str] | None = None,
) -> dict[str, Values]:
    """The values that decide each column's verdicts (DuckDB work; see _representatives).

    With `expressions` (column -> (quoted source column, SQL expression of the mapped value), see
    mapping.mapped_expressions) `table` is the unmapped table and the mapping runs on distinct
    source values only; `distinct_tables` (quoted source column -> a table of its distinct values
    under its own name) saves computing those again."""
    return _column_values(con, table, load_suite_json(entity), expressions, distinct_tables)


def distinct_value_columns(entity: str) -> list[str]:
    """The entity's columns whose verdicts need every distinct value (a rule other than not-null)."""
    kinds: dict[str, set[str]] = {}
    for expectation in load_suite_json(entity)["expectations"]:
        column = expectation["kwargs"]["column"].removesuffix(DERIVED_NUMBER_SUFFIX)
        kinds.setdefault(column, set()).add(expectation["type"])
    return [column for column, types in kinds.items() if types != {NOT_NULL}]


def validate_values(entity: str, values: dict[str, Values]) -> list[ColumnViolation]:
    """Every (column, value, rule) that the entity's suite rejects (great-expectations work, no DuckDB)."""
    return [
        ColumnViolation(column, value, rule)
        for (column, rule), rejected in rejected_values(entity, values).items()
        for value in rejected.to_pylist()
    ]


def rejected_values(entity: str, values: dict[str, Values]) -> dict[tuple[str, str], pa.Array]:
    """(column, rule) -> the values the entity's suite rejects, as Arrow text (null for a missing value).

    Arrow, not Python objects: a key column of a few million rows can fail on every distinct value
    (the loader joins them back to their rows, registered as a table)."""
    suite_json = load_suite_json(entity)
    found: dict[tuple[str, str], list[pa.Array]] = {}
    for frame, source in _frames(values, suite_json):
        suite = _sub_suite(entity, tuple(sorted(frame.columns)))
        # What Batch.validate does, without first building a batch of its own (GX fingerprints the
        # frame by hashing every value each time it builds one).
        result = _validator(_batch_definition(entity), frame).validate_expectation_suite(suite)
        for key, rejected in _violations_of(result, frame, source, entity):
            found.setdefault(key, []).append(rejected)
        del result, frame
    return {key: pa.concat_arrays(parts) for key, parts in found.items()}


def _validator(batch_definition, frame):
    from great_expectations.validator.v1_validator import Validator

    return Validator(
        batch_definition=batch_definition,
        batch_parameters={"dataframe": frame},
        result_format={"result_format": "COMPLETE"},
    )


@cache
def _sub_suite(entity: str, columns: tuple[str, ...]):
    """The part of the entity's suite that checks `columns` (validated together in one frame)."""
    wanted = {c.removesuffix(DERIVED_NUMBER_SUFFIX) for c in columns}
    subset = [
        e
        for e in load_suite_json(entity)["expectations"]
        if e["kwargs"]["column"].removesuffix(DERIVED_NUMBER_SUFFIX) in wanted
    ]
    return _suite_object(f"{entity}:{','.join(columns)}", subset)


def _violations_of(
    result, frame, source: pa.ChunkedArray | None, entity: str
) -> list[tuple[tuple[str, str], pa.Array]]:
    """((column, rule), failing values) of each failed expectation; from `source` (a large column's batch)
    by position when given, else from the frame."""
    violations = []
    for outcome in result.results:
        exception = outcome.exception_info or {}
        if exception.get("raised_exception"):
            raise ContractError(
                f"suite {entity}: {outcome.expectation_config.type} on "
                f"{outcome.expectation_config.kwargs.get('column')} raised "
                f"{exception.get('exception_message')}"
            )
        if outcome.success:
            continue
        rule = outcome.expectation_config.meta["rule"]
        column = outcome.expectation_config.kwargs["column"]
        base = column.removesuffix(DERIVED_NUMBER_SUFFIX)
        # The failing rows, not the failing values: GX's unexpected_list stops at 200 values (its
        # MAX_RESULT_RECORDS, COMPLETE format included), the index list of a pandas batch does not. The
        # rows' text values are the ones rejected (for a numeric twin, the text that gave the number).
        rows = outcome.result.get("unexpected_index_list")
        count = outcome.result.get("unexpected_count")
        if rows is None or count is None or len(rows) != count:
            raise ContractError(
                f"suite {entity}: {outcome.expectation_config.type} on {column} reported "
                f"{count} failing values but listed {'no' if rows is None else len(rows)} rows"
            )
        if source is not None:
            rejected = pc.unique(source.take(pa.array(rows, type=pa.int64())).combine_chunks()).cast(pa.string())
        else:
            rejected = pa.array(list(dict.fromkeys(_plain(v) for v in frame[base].loc[rows])), type=pa.string())
        violations.append(((base, rule), rejected))
    return violations


def _plain(value):
    """GX reports nulls as NaN/None; the warehouse speaks None."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value)
