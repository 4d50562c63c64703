"""Cross-table rules re-checked after every load, for the stored rows whose parents changed.

A file is checked against the warehouse as it stands when the file loads. A later file can change
or remove a parent under rows already stored: a `btam_cases` correction moves a case's reported_date
after its actions, a full snapshot of schools drops a school that cases name. Left alone, such a
load publishes a warehouse that metrics, export, report and the pages reject.

So after the files of a load are in (and before the marts are built), every stored child of a
parent this load replaced or removed is checked again by the same contract SQL (sql/contracts/) as a
loading row, restricted to the rules that look at a parent. The newer parent wins: it is the newer
export. A child that no longer fits moves to load_quarantine under this load, with the rule it now
breaks, `row_number` 0 (a stored row, not a row of a file) and the row in the interchange form;
`python -m pipelines requarantine` re-runs it once the parent is fixed. Moving a child can orphan its
own children (a case of a school removed), so entities are checked in load order until nothing moves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb

from data_contracts.interchange import ENTITIES, LOAD_ORDER
from data_contracts.sql_files import read_sql
from pipelines.warehouse import REPO_ROOT

CONTRACT_SQL = REPO_ROOT / "sql" / "contracts"
MOVED_ROW_NUMBER = 0  # load_quarantine.row_number of a stored row moved by the re-check


@dataclass(frozen=True)
class Reference:
    """A child's columns naming a parent row: child columns -> parent key columns, and the rules that
    break when that parent changes (rule names as the contract SQL emits them)."""

    parent: str
    child_columns: tuple[str, ...]
    parent_columns: tuple[str, ...]
    rules: tuple[str, ...]
    condition: str = "true"  # which child rows carry the reference


REFERENCES: dict[str, tuple[Reference, ...]] = {
    "enrollment": (Reference("schools", ("school_id",), ("school_id",), ("unknown_school",)),),
    "btam_cases": (
        Reference("schools", ("school_id",), ("school_id",), ("unknown_school",)),
        Reference(
            "enrollment",
            ("student_key", "school_year"),
            ("student_key", "school_year"),
            ("not_enrolled",),
            "subject_type = 'student'",
        ),
    ),
    "case_actions": (Reference("btam_cases", ("case_id",), ("case_id",), ("unknown_case", "date_order:action_date")),),
    "case_reviews": (Reference("btam_cases", ("case_id",), ("case_id",), ("unknown_case", "date_order:review_date")),),
    "discipline_actions": (
        Reference("schools", ("school_id",), ("school_id",), ("unknown_school",)),
        Reference("enrollment", ("student_key", "school_year"), ("student_key", "school_year"), ("not_enrolled",)),
        Reference("btam_cases", ("related_case_id",), ("case_id",), ("unknown_case",)),
    ),
}

# Rules a quarantined row can stop breaking once its parent arrives or is corrected (requarantine).
PARENT_RULES = frozenset(rule for refs in REFERENCES.values() for ref in refs for rule in ref.rules)


@dataclass
class Recheck:
    """What the re-check did: rows moved to quarantine per (entity, rule), and the entities checked."""

    moved: dict[tuple[str, str], int] = field(default_factory=dict)
    checked: list[str] = field(default_factory=list)

    def describe(self) -> list[str]:
        lines = []
        for (entity, rule), count in sorted(self.moved.items()):
            lines.append(
                f"re-check: {count:,} stored {entity} row(s) no longer fit their changed parent ({rule}); the "
                "newer parent was kept and these rows moved to quarantine (python -m pipelines requarantine "
                "re-runs them once the parent is fixed)"
            )
        return lines


def recheck(con: duckdb.DuckDBPyConnection, load_id: str, as_of: date, shrunk: set[str]) -> Recheck:
    """Re-check the stored children of the parents this load replaced (rows with its load_id) or removed
    (entities in `shrunk`, which lost rows to a snapshot); move the children that break a parent rule to
    quarantine. Runs inside the build, so a failure publishes nothing."""
    result = Recheck()
    changed = {e for e in LOAD_ORDER if _has_rows_of(con, e, load_id)} | set(shrunk)
    for child in LOAD_ORDER:
        references = [ref for ref in REFERENCES.get(child, ()) if ref.parent in changed]
        if not references:
            continue
        result.checked.append(child)
        moved = _recheck_entity(con, child, references, load_id, as_of, shrunk)
        for rule, count in moved.items():
            result.moved[(child, rule)] = count
        if moved:
            changed.add(child)
            shrunk = shrunk | {child}
    return result


def _has_rows_of(con: duckdb.DuckDBPyConnection, entity: str, load_id: str) -> bool:
    return bool(
        con.execute(
            f"select count(*) from (select 1 from {entity} where load_id = $id limit 1)", {"id": load_id}
        ).fetchall()[0][0]
    )


def _recheck_entity(
    con: duckdb.DuckDBPyConnection,
    child: str,
    references: list[Reference],
    load_id: str,
    as_of: date,
    shrunk: set[str],
) -> dict[str, int]:
    conditions = []
    for ref in references:
        pairs = " and ".join(f"p.{p} = c.{c}" for c, p in zip(ref.child_columns, ref.parent_columns))
        not_null = " and ".join(f"c.{c} is not null" for c in ref.child_columns)
        touched = f"exists (select 1 from {ref.parent} as p where {pairs} and p.load_id = $load_id)"
        if ref.parent in shrunk:  # a removed parent leaves no row to find: look for the missing ones
            touched += f" or not exists (select 1 from {ref.parent} as p where {pairs})"
        conditions.append(f"(({ref.condition}) and {not_null} and ({touched}))")
    con.execute(
        f"""create or replace temp table candidate as
            select rowid as _row_id, * from {child} as c
            where c.load_id <> $load_id and ({" or ".join(conditions)})""",
        {"load_id": load_id},
    )
    try:
        if not con.sql("select count(*) from candidate").fetchall()[0][0]:
            return {}
        rules = sorted({rule for ref in references for rule in ref.rules})
        rules_sql = read_sql(CONTRACT_SQL / f"{child}.sql")
        con.execute(
            f"""create or replace temp table broken as
                select _row_id, arg_min(rule, rule) as rule, {details_in_order("rule")} as detail
                from ({rules_sql}) as r
                where rule in (select unnest($rules))
                group by _row_id""",
            {"rules": rules, **({"as_of": as_of.isoformat()} if "$as_of" in rules_sql else {})},
        )
        moved = dict(con.sql("select rule, count(*) from broken group by rule").fetchall())
        if moved:
            _move_to_quarantine(con, child, load_id)
        return moved
    finally:
        con.execute("drop table if exists candidate")
        con.execute("drop table if exists broken")


def details_in_order(order_by: str) -> str:
    """SQL aggregate joining a row's violation details with '; ' in the order of `order_by`. A list sorted
    after grouping, not string_agg(... order by ...): DuckDB's ordered aggregate does not spill, so 5M
    quarantined rows ran out of memory at a 1.5 GB limit (docs/PERFORMANCE.md, "Memory of one large file")."""
    return f"array_to_string(list_transform(list_sort(list(({order_by}, detail))), lambda x: x[2]), '; ')"


def _interchange_text(column: str, kind: str) -> str:
    """SQL of a stored value in the interchange file form (what the interchange profile reads back)."""
    if kind == "bool":
        return f"case when {column} then 'Y' when not {column} then 'N' end"
    if kind == "date":
        return f"strftime({column}, '%Y-%m-%d')"
    return f"cast({column} as varchar)"


def _move_to_quarantine(con: duckdb.DuckDBPyConnection, child: str, load_id: str) -> None:
    entity = ENTITIES[child]
    pairs = ", ".join(f"'{col.name}', {_interchange_text('c.' + col.name, col.type)}" for col in entity.columns)
    con.execute(
        f"""insert into load_quarantine
            select $load_id,
                   coalesce((select min(l.file_name) from load_ledger as l
                             where l.load_id = c.load_id and l.entity = $entity), 'stored rows'),
                   $entity, {MOVED_ROW_NUMBER}, b.rule,
                   'stored row moved by the re-check of this load: ' || b.detail,
                   json_object({pairs})::varchar
            from candidate as c join broken as b using (_row_id)""",
        {"load_id": load_id, "entity": child},
    )
    key = ", ".join(entity.key)
    con.execute(f"delete from {child} where ({key}) in (select ({key}) from candidate join broken using (_row_id))")


def stored_violations(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], int]:
    """Every stored row that breaks a parent rule, counted per (entity, rule): what `pipelines check` reports.
    Uses only temp tables, so it runs on a read-only connection."""
    found: dict[tuple[str, str], int] = {}
    for child, references in REFERENCES.items():
        con.execute(f"create or replace temp table candidate as select rowid as _row_id, * from {child}")
        try:
            rules = sorted({rule for ref in references for rule in ref.rules})
            rules_sql = read_sql(CONTRACT_SQL / f"{child}.sql")
            params = {"rules": rules, **({"as_of": "9999-12-31"} if "$as_of" in rules_sql else {})}
            counts = con.execute(
                f"""select rule, count(distinct _row_id) from ({rules_sql}) as r
                    where rule in (select unnest($rules)) group by rule""",
                params,
            ).fetchall()
        finally:
            con.execute("drop table if exists candidate")
        for rule, count in counts:
            found[(child, rule)] = count
    return found
