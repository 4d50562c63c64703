"""Running the great-expectations suites of data_contracts/suites/ over a mapped file.

Column rules depend on a value alone, so the suite runs over each column's
distinct values (padded to one frame) rather than over every row; the failing
values are joined back to their rows in DuckDB. Same verdicts, a fraction of
the cost on millions of rows.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import duckdb

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
    return json.loads((SUITES_DIR / f"{entity}.json").read_text())


@lru_cache(maxsize=1)
def _context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


@lru_cache(maxsize=None)
def _batch_definition(entity: str):
    source = _context().data_sources.add_pandas(f"mapped_{entity}")
    return source.add_dataframe_asset(f"{entity}_values").add_batch_definition_whole_dataframe("distinct_values")


def load_suite(entity: str):
    """The entity's suite as a GX object; refuses a suite GX silently shortened (see stack notes)."""
    import great_expectations as gx

    raw = load_suite_json(entity)
    suite = gx.ExpectationSuite(name=raw["name"], expectations=raw["expectations"], meta=raw.get("meta", {}))
    if len(suite.expectations) != len(raw["expectations"]):
        raise ContractError(f"suite {entity}: {len(raw['expectations'])} expectations in the file, "
                            f"{len(suite.expectations)} accepted by great-expectations")
    return suite


def _representatives(con: duckdb.DuckDBPyConnection, table: str, column: str, only_not_null: bool) -> list:
    """The values of a column that decide its verdicts: all distinct values, or one null and one not when
    the column's only rule is not-null (a key column has millions of distinct values)."""
    if only_not_null:
        sql = f"select any_value({column}) from {table} group by {column} is null"
    else:
        sql = f"select distinct {column} from {table}"
    return [r[0] for r in con.sql(sql).fetchall()]


def _value_frame(con: duckdb.DuckDBPyConnection, table: str, suite_json: dict):
    import numpy as np
    import pandas as pd

    kinds: dict[str, set[str]] = {}
    for expectation in suite_json["expectations"]:
        kinds.setdefault(expectation["kwargs"]["column"], set()).add(expectation["type"])
    values = {}
    for column, types in kinds.items():
        if column.endswith(DERIVED_NUMBER_SUFFIX):
            continue
        values[column] = _representatives(con, table, column, types == {NOT_NULL})
    length = max((len(v) for v in values.values()), default=1) or 1
    # Cycling a column's values to the common length repeats values, never adds one.
    frame = pd.DataFrame({c: np.resize(np.array(v or [None], dtype=object), length) for c, v in values.items()})
    for column in kinds:
        if column.endswith(DERIVED_NUMBER_SUFFIX):
            base = column[: -len(DERIVED_NUMBER_SUFFIX)]
            frame[column] = pd.to_numeric(frame[base], errors="coerce")
    return frame


def column_violations(con: duckdb.DuckDBPyConnection, table: str, entity: str) -> list[ColumnViolation]:
    """Every (column, value, rule) that the entity's suite rejects among the values of `table`."""
    suite_json = load_suite_json(entity)
    suite = load_suite(entity)
    frame = _value_frame(con, table, suite_json)
    result = _batch_definition(entity).get_batch(batch_parameters={"dataframe": frame}).validate(
        suite, result_format={"result_format": "COMPLETE"})
    violations = []
    for outcome in result.results:
        exception = outcome.exception_info or {}
        if exception.get("raised_exception"):
            raise ContractError(f"suite {entity}: {outcome.expectation_config.type} on "
                                f"{outcome.expectation_config.kwargs.get('column')} raised "
                                f"{exception.get('exception_message')}")
        if outcome.success:
            continue
        rule = outcome.expectation_config.meta["rule"]
        column = outcome.expectation_config.kwargs["column"]
        base = column.removesuffix(DERIVED_NUMBER_SUFFIX)
        bad = outcome.result.get("unexpected_list") or []
        if column != base:  # map numeric readings back to the text values that produced them
            bad_numbers = set(bad)
            texts = frame[base][frame[column].isin(bad_numbers)]
            bad = list(texts)
        for value in dict.fromkeys(_plain(v) for v in bad):
            violations.append(ColumnViolation(base, value, rule))
    return violations


def _plain(value):
    """GX reports nulls as NaN/None; the warehouse speaks None."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value)
