"""Published aggregate tables (counts by group, one row per district or state) -> aggregate_counts.

A profile (data_contracts/profiles/reference/*.json) maps each source column to a measure, dimension
and group; blank cells are suppressed small counts and stay blank. Rows whose parts do not add up to
their totals are reported in reference_consistency, never corrected. When the profile says so, the
statewide row also becomes state_reference counts.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from pipelines.contracts import column_values, validate_values
from pipelines.readers import ReadError, read_into
from pipelines.reference import store
from pipelines.reference.consistency import aggregate_consistency, run_named
from pipelines.warehouse import REPO_ROOT

PROFILES_DIR = REPO_ROOT / "data_contracts" / "profiles" / "reference"
SUITE = "reference/aggregate_cells"
STATE_SCOPE = "state"


class AggregateError(Exception):
    """Input that stops the import; the message says what to do. The warehouse is unchanged."""


@dataclass
class AggregateImport:
    load_id: str
    source: str
    school_year: str
    file_name: str = ""
    rows_read: int = 0
    cells: int = 0
    suppressed: int = 0
    quarantined: list[tuple[str, int]] = field(default_factory=list)
    findings: list[tuple[str, str, str]] = field(default_factory=list)  # check, scope, detail
    state_reference_rows: int = 0
    unchanged: bool = False

    def summary(self) -> str:
        if self.unchanged:
            return f"{self.file_name} ({self.source}): unchanged (already loaded), nothing done"
        lines = [
            f"{self.file_name} ({self.source}, {self.school_year}): {self.rows_read:,} rows, {self.cells:,} cells, "
            f"{self.suppressed:,} blank (suppressed by the publisher), load {self.load_id}"
        ]
        lines += [f"  quarantined {rule}: {n:,} cells, kept blank" for rule, n in self.quarantined]
        lines += [f"  does not add up ({check}) {scope}: {detail}" for check, scope, detail in self.findings[:20]]
        if len(self.findings) > 20:
            lines.append(f"  ... {len(self.findings) - 20:,} more findings in reference_consistency")
        lines.append(f"  {self.state_reference_rows:,} state_reference rows written")
        return "\n".join(lines)


def load_aggregate_profile(name_or_path: str) -> dict:
    path = Path(name_or_path)
    if path.suffix != ".json":
        path = PROFILES_DIR / f"{name_or_path}.json"
    if not path.exists():
        known = sorted(p.stem for p in PROFILES_DIR.glob("aggregate_*.json"))
        raise AggregateError(
            f"aggregate profile {name_or_path!r} not found; known: {', '.join(known)}, or give the path of a .json file"
        )
    profile = json.loads(path.read_text(encoding="utf-8"))
    for key in ("name", "school_year", "scope", "columns"):
        if key not in profile:
            raise AggregateError(f"aggregate profile {path}: the key {key!r} is missing")
    return profile


def import_aggregate(
    db_path: str | Path, path: str | Path, profile: dict | str, school_year: str | None = None
) -> AggregateImport:
    """Import one published table into the warehouse at `db_path`, atomically."""
    profile = load_aggregate_profile(profile) if isinstance(profile, str) else profile
    path = Path(path)
    if not path.exists():
        raise AggregateError(f"{path}: no such file")
    year = school_year or profile["school_year"]
    digest = store.sha256_of(path)
    result = AggregateImport(store.new_load_id(), profile["name"], year, path.name)
    if store.already_loaded(Path(db_path), "aggregate", [digest], year, profile.get("state")):
        result.unchanged = True
        return result

    def write(con: duckdb.DuckDBPyConnection) -> None:
        _import_into(con, path, digest, profile, year, result)

    try:
        store.write_atomically(db_path, result.load_id, write)
    except ReadError as exc:
        raise AggregateError(str(exc)) from exc
    return result


def _import_into(
    con: duckdb.DuckDBPyConnection, path: Path, digest: str, profile: dict, year: str, result: AggregateImport
) -> None:
    with tempfile.TemporaryDirectory() as work:
        read = read_into(con, path, "aggregate_raw", Path(work))
    result.rows_read = read.rows_read
    by_name = {h.strip().lower(): h for h in read.columns}
    scope = profile["scope"]
    needed = [scope["id_column"], scope["name_column"], scope["state_row"]["column"], *profile["columns"]]
    absent = [c for c in needed if c.lower() not in by_name]
    if absent:
        raise AggregateError(
            f"{path.name}: the profile {profile['name']} needs the columns {', '.join(absent)}, "
            f"which the file does not have (it has {', '.join(read.columns[:12])} ...)"
        )

    def q(column: str) -> str:
        return '"' + by_name[column.lower()].replace('"', '""') + '"'

    spec = pl.DataFrame([{"source_column": by_name[c.lower()], **m} for c, m in profile["columns"].items()])
    con.register("_spec", spec.to_arrow())
    con.execute("create or replace temp table aggregate_spec as select * from _spec")
    con.unregister("_spec")
    state_row = scope["state_row"]
    con.execute(
        f"""
        create or replace temp table aggregate_cells as
        with scoped as (
            select
                case when lower(trim({q(state_row["column"])})) = lower($state_value) then 'state'
                     else 'district' end as scope,
                trim({q(scope["id_column"])}) as scope_id,
                trim({q(scope["name_column"])}) as scope_name,
                {", ".join(q(c) for c in profile["columns"])}
            from aggregate_raw
        )
        select scope, scope_id, scope_name, source_column, nullif(trim(value), '') as value
        from scoped unpivot include nulls (value for source_column in ({", ".join(q(c) for c in profile["columns"])}))
        """,
        {"state_value": state_row["value"]},
    )
    violations = validate_values(SUITE, column_values(con, "aggregate_cells", SUITE))
    con.execute("create or replace temp table aggregate_violations (column_name varchar, value varchar, rule varchar)")
    for v in violations:
        con.execute("insert into aggregate_violations values ($c, $v, $r)", {"c": v.column, "v": v.value, "r": v.rule})
    con.execute(
        "delete from aggregate_counts where source = $s and school_year = $y", {"s": profile["name"], "y": year}
    )
    con.execute(
        """
        insert into aggregate_counts
        select $year, $source, $state, c.scope, coalesce(c.scope_id, ''), c.scope_name, s.measure, s.dimension,
               s."group",
               case when r.rule is null then c.value::bigint end,
               c.value is null and r.rule is null,
               r.rule,
               $load_id
        from aggregate_cells as c
        join aggregate_spec as s using (source_column)
        left join (select column_name, value, min(rule) as rule from aggregate_violations group by all) as r
          on (r.column_name = 'value' and r.value = c.value)
          or (r.column_name = 'scope_id' and c.scope_id is null)""",
        {"year": year, "source": profile["name"], "state": profile.get("state"), "load_id": result.load_id},
    )
    counts = con.execute(
        """select count(*), count(*) filter (where suppressed) from aggregate_counts
                            where load_id = $l""",
        {"l": result.load_id},
    ).fetchall()[0]
    result.cells, result.suppressed = counts
    result.quarantined = con.execute(
        """select rule, count(*) from aggregate_counts where load_id = $l
                                        and rule is not null group by 1 order by 2 desc""",
        {"l": result.load_id},
    ).fetchall()
    aggregate_consistency(con, result.load_id, profile["name"], year, profile)
    result.findings = con.execute(
        """select check_name, scope, detail from reference_consistency where load_id = $l
                                     order by scope = 'state' desc, check_name, scope""",
        {"l": result.load_id},
    ).fetchall()
    if "state_reference" in profile:
        result.state_reference_rows = _state_reference(con, profile, year, result.load_id)
    con.execute(
        """insert into reference_loads values ($l, 'aggregate', $f, $sha, $y, $st, $p, $read, $read, $cells,
                   $loaded, 0, $quarantined, null, now()::timestamp)""",
        {
            "l": result.load_id,
            "f": path.name,
            "sha": digest,
            "y": year,
            "st": profile.get("state"),
            "p": profile["name"],
            "read": result.rows_read,
            "cells": result.cells,
            "loaded": result.cells - result.suppressed - sum(n for _, n in result.quarantined),
            "quarantined": sum(n for _, n in result.quarantined),
        },
    )


def aggregate_group_counts(
    con: duckdb.DuckDBPyConnection, source: str, school_year: str, n_measure: str, k_measure: str, dimensions: list[str]
) -> pl.DataFrame:
    """school_year, scope, outcome (k_measure), dimension, group, n, k of every scope where both counts were
    published: what metrics.disproportionality_table consumes. Suppressed groups are left out."""
    return run_named(
        con,
        "reference/aggregate_group_counts",
        source=source,
        school_year=school_year,
        n_measure=n_measure,
        k_measure=k_measure,
        dimensions=dimensions,
    )


def _state_reference(con: duckdb.DuckDBPyConnection, profile: dict, year: str, load_id: str) -> int:
    spec = profile["state_reference"]
    counts = aggregate_group_counts(
        con, profile["name"], year, profile["risk"]["n"], profile["risk"]["k"], spec["dimensions"]
    ).filter(pl.col("scope") == STATE_SCOPE)
    rows = counts.select("school_year", pl.lit(spec["outcome"]).alias("outcome"), "dimension", "group", "n", "k")
    con.register("_rows", rows.to_arrow())
    con.execute("create or replace temp table aggregate_state_rows as select * from _rows")
    con.unregister("_rows")
    written = store.replace_state_reference(con, "aggregate_state_rows")
    for dimension in spec["dimensions"]:
        con.execute(
            "delete from state_reference_sources where school_year = $y and outcome = $o and dimension = $d",
            {"y": year, "o": spec["outcome"], "d": dimension},
        )
        con.execute(
            "insert into state_reference_sources values ($y, $o, $d, $s, $st, true, null, null, $l, $note)",
            {
                "y": year,
                "o": spec["outcome"],
                "d": dimension,
                "s": profile["name"],
                "st": profile.get("state"),
                "l": load_id,
                "note": spec.get("note"),
            },
        )
    return written
