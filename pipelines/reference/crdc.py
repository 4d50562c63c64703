"""CRDC school-level public files -> crdc_school_counts, a consistency report and state_reference.

The profile (data_contracts/profiles/reference/crdc.json, read by data_contracts/crdc_profile.py) says
which columns mean what; this module reads the files, unpivots the profile's columns into one cell per
school x column, runs the cells through the great-expectations suite
data_contracts/suites/reference/crdc_cells.json, keeps reserve codes as missing (counted by code), and
sums the state's students per outcome, dimension and group.
docs/METHODOLOGY.md ("Reference data (CRDC)") gives the meaning of every column family and rule.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from access.queries import query_text
from data_contracts.crdc_profile import Cell, CrdcProfile, load_crdc_profile
from pipelines.contracts import column_values, validate_values
from pipelines.readers import ReadError, read_into
from pipelines.reference import store
from pipelines.reference.consistency import crdc_consistency, run_named

SUITE = "reference/crdc_cells"
SCHOOL_YEAR = re.compile(r"(20\d\d)[-_](\d\d)(?!\d)")
DIMENSION_GROUPS = {
    "disability_status": ("idea", "section_504_only", "none"),
    "english_learner": ("y", "n"),
}


class CrdcError(Exception):
    """Input that stops the import; the message says what to do. The warehouse is unchanged."""


@dataclass
class CrdcImport:
    """What an import did; `summary()` is what the CLI prints."""

    load_id: str
    school_year: str
    state: str | None
    files: list[dict] = field(default_factory=list)
    reserve_counts: list[tuple[int, str, int]] = field(default_factory=list)  # code, meaning, cells
    quarantine_counts: list[tuple[str, int]] = field(default_factory=list)  # rule, cells
    consistency_counts: list[tuple[str, int]] = field(default_factory=list)  # check, findings
    slices: list[dict] = field(default_factory=list)
    not_collected: list[dict] = field(default_factory=list)  # outcome, dimension, group, effect, columns
    state_reference_rows: int = 0
    unchanged: bool = False
    schools_with_grades: int = 0
    district: object | None = None  # pipelines.reference.district.DistrictLea, when --district-lea was given

    def summary(self) -> str:
        if self.unchanged:
            return (
                f"CRDC {self.school_year} {self.state or ''}: unchanged (these files were loaded before for "
                "this year and state), nothing done"
                + (f"\n{self.district.summary()}" if self.district is not None else "")
            )
        lines = [f"CRDC {self.school_year}, state {self.state or '(one state in the files)'}, load {self.load_id}"]
        for f in self.files:
            lines.append(
                f"  {f['file_name']}: {f['rows_kept']:,} of {f['rows_read']:,} schools kept, "
                f"{f['cells_read']:,} cells: {f['cells_loaded']:,} counts, {f['cells_reserved']:,} "
                f"reserve codes, {f['cells_quarantined']:,} quarantined"
            )
        for code, meaning, n in self.reserve_counts:
            lines.append(f"  reserve code {code} ({meaning}): {n:,} cells, treated as missing")
        for rule, n in self.quarantine_counts:
            lines.append(f"  quarantined {rule}: {n:,} cells, treated as missing")
        for check, n in self.consistency_counts:
            lines.append(f"  consistency {check}: {n:,} findings (table reference_consistency)")
        for s in self.slices:
            lines.append(
                f"  state_reference {s['outcome']} x {s['dimension']}: {s['schools_used']:,} schools used, "
                f"{s['schools_excluded']:,} left out (reserve code or broken cell)"
                + ("" if s["exact"] else "; k is an upper bound (sum over actions)")
            )
        for nc in self.not_collected:
            where = f"{nc['outcome']} x {nc['dimension']}" + ("" if nc["group"] is None else f" {nc['group']}")
            lines.append(f"  not collected, {where}: {nc['effect']} {nc['columns']}")
        lines.append(f"  {self.state_reference_rows:,} state_reference rows written")
        lines.append(
            f"  grades offered (SCH_GRADE_*) read for {self.schools_with_grades:,} schools"
            if self.schools_with_grades
            else "  no grade columns (SCH_GRADE_*) in the files: peer benchmarks of this year cannot compare "
            "school levels (add the School Characteristics file)"
        )
        if self.district is not None:
            lines.append(self.district.summary())
        return "\n".join(lines)


def school_year_of(paths: list[Path], given: str | None) -> str:
    if given:
        if not re.fullmatch(r"20\d\d-\d\d", given) or (int(given[:4]) + 1) % 100 != int(given[5:]):
            raise CrdcError(f"--year {given!r} is not a school year like 2021-22")
        return given
    for path in paths:
        if m := SCHOOL_YEAR.search(str(path)):
            return f"{m[1]}-{m[2]}"
    raise CrdcError("the CRDC files do not name their school year; pass --year (e.g. --year 2021-22)")


def expand_paths(paths: list[str | Path]) -> list[Path]:
    out: list[Path] = []
    for given in map(Path, paths):
        if given.is_dir():
            out.extend(sorted(p for p in given.iterdir() if p.suffix.lower() in (".csv", ".xlsx", ".txt")))
        elif given.exists():
            out.append(given)
        else:
            raise CrdcError(f"{given}: no such file or folder")
    if not out:
        raise CrdcError("no CRDC .csv or .xlsx files in " + ", ".join(map(str, paths)))
    return out


def import_crdc(
    db_path: str | Path,
    paths: list[str | Path],
    school_year: str | None = None,
    state: str | None = None,
    profile: CrdcProfile | None = None,
    district_lea: str | None = None,
) -> CrdcImport:
    """Import CRDC school files into the warehouse at `db_path`, atomically. Raises CrdcError for bad input.

    `district_lea`: also record the district's NCES LEA id (pipelines.reference.district), in the same swap."""
    from pipelines.reference import district

    profile = profile or load_crdc_profile()
    if district_lea is not None:
        try:
            district_lea = district.check_lea_id(district_lea)
        except district.DistrictLeaError as exc:
            raise CrdcError(f"--district-lea: {exc}") from exc
    files = expand_paths(paths)
    year = school_year_of(files, school_year)
    state = state.upper() if state else None
    if state is not None and not re.fullmatch(r"[A-Z]{2}", state):
        raise CrdcError(f"--state {state!r} is not a two-letter state code such as WA")
    digests = [store.sha256_of(p) for p in files]
    result = CrdcImport(store.new_load_id(), year, state)
    if store.already_loaded(Path(db_path), "crdc", digests, year, state):
        result.unchanged = True
        if district_lea is not None:
            result.district = district.set_district_lea(db_path, district_lea)
        return result

    def write(con: duckdb.DuckDBPyConnection) -> None:
        _import_into(con, files, digests, year, state, profile, result)
        if district_lea is not None:
            result.district = district.record_district_lea(con, district_lea, result.load_id)

    try:
        store.write_atomically(db_path, result.load_id, write)
    except ReadError as exc:
        raise CrdcError(str(exc)) from exc
    return result


def _import_into(
    con: duckdb.DuckDBPyConnection,
    files: list[Path],
    digests: list[str],
    year: str,
    state: str | None,
    profile: CrdcProfile,
    result: CrdcImport,
) -> None:
    con.execute("""create or replace temp table crdc_raw_cells (file_name varchar, row_number bigint,
                   school_id varchar, state varchar, lea_id varchar, lea_name varchar, school_name varchar,
                   source_column varchar, value varchar)""")
    con.execute("""create or replace temp table crdc_raw_grades (school_id varchar, state varchar, lea_id varchar,
                   source_column varchar, value varchar)""")
    with tempfile.TemporaryDirectory() as work:
        for path, digest in zip(files, digests):
            result.files.append(_read_file(con, path, digest, state, profile, Path(work)))
    states = [r[0] for r in con.sql("select distinct state from crdc_raw_cells where state is not null").fetchall()]
    if state is None and len(states) > 1:
        raise CrdcError(
            f"the files hold schools of {len(states)} states ({', '.join(sorted(states)[:8])}...); "
            "pass --state XX to import one state's reference counts"
        )
    result.state = state or (states[0] if states else None)
    if result.state is None:
        raise CrdcError("no school rows with a state code (LEA_STATE) in the files; pass --state XX or check the files")
    _validate(con, profile)
    _store_cells(con, year, result)
    _store_grades(con, year, profile, result)
    crdc_consistency(con, result.load_id, year)
    _state_reference(con, year, profile, result)
    _summaries(con, profile, result)
    for f, digest in zip(result.files, digests):
        counts = con.execute(
            """select count(*), count(value), count(reserve_code), count(rule)
                                from crdc_cells where file_name = $f""",
            {"f": f["file_name"]},
        ).fetchall()[0]
        f.update(cells_read=counts[0], cells_loaded=counts[1], cells_reserved=counts[2], cells_quarantined=counts[3])
        con.execute(
            """insert into reference_loads values ($load_id, 'crdc', $file, $sha, $year, $state, $profile,
                       $read, $kept, $cells, $loaded, $reserved, $quarantined, $ignored, now()::timestamp)""",
            {
                "load_id": result.load_id,
                "file": f["file_name"],
                "sha": digest,
                "year": year,
                "state": result.state,
                "profile": profile.name,
                "read": f["rows_read"],
                "kept": f["rows_kept"],
                "cells": counts[0],
                "loaded": counts[1],
                "reserved": counts[2],
                "quarantined": counts[3],
                "ignored": f["columns_not_stored"] or None,
            },
        )


def _read_file(
    con: duckdb.DuckDBPyConnection, path: Path, digest: str, state: str | None, profile: CrdcProfile, work: Path
) -> dict:
    read = read_into(con, path, "crdc_raw", work)
    header = read.columns
    roles = {role: profile.key_column(role, header) for role in profile.keys}
    if roles["school_id"] is None:
        raise CrdcError(
            f"{path.name}: no school key column ({', '.join(profile.keys['school_id'])}); "
            "is this a CRDC school-level file?"
        )
    if roles["state"] is None and state is None:
        raise CrdcError(f"{path.name}: no state column ({', '.join(profile.keys['state'])}); pass --state XX")
    cells = {h: profile.parse(h) for h in header}
    used = [h for h, c in cells.items() if c is not None]
    grade_names = {g.upper() for g in profile.grades}
    grades = [h for h in header if h.strip().upper() in grade_names]
    if not used and not grades:
        raise CrdcError(
            f"{path.name}: none of its columns is a CRDC enrollment or discipline count the profile "
            "knows (SCH_ENR_*, SCH_DISCWODIS_*, ..., SCH_GRADE_*); is this a CRDC school-level file?"
        )
    ignored = [h for h in header if cells[h] is None and h not in roles.values() and h not in grades]

    def q(name: str | None) -> str:
        return "null" if name is None else '"' + name.replace('"', '""') + '"'

    state_expr = f"upper(trim({q(roles['state'])}))" if roles["state"] else "$state"
    keep = "true" if state is None else f"{state_expr} = $state"
    if getattr(read, "malformed_rows", 0):  # rows the reader could not split: not counts of a school
        keep += f' and "_row_id" not in (select "_row_id" from {read.malformed_table})'
    con.execute(
        f"""
        create or replace temp table crdc_kept as
        select rowid + 1 as row_number, trim({q(roles["school_id"])}) as school_id, {state_expr} as state,
               trim({q(roles["lea_id"])}) as lea_id, trim({q(roles["lea_name"])}) as lea_name,
               trim({q(roles["school_name"])}) as school_name, {", ".join(q(h) for h in [*used, *grades])}
        from crdc_raw where {keep}""",
        {"state": state} if state else None,
    )
    if used:
        con.execute(
            f"""
            insert into crdc_raw_cells
            select $file, row_number, school_id, state, lea_id, lea_name, school_name, source_column, trim(value)
            from crdc_kept unpivot include nulls (value for source_column in ({", ".join(q(h) for h in used)}))""",
            {"file": path.name},
        )
    if grades:
        con.execute(f"""
            insert into crdc_raw_grades
            select school_id, state, lea_id, upper(trim(source_column)), trim(value)
            from crdc_kept unpivot include nulls (value for source_column in ({", ".join(q(h) for h in grades)}))""")
    rows_kept = con.sql("select count(*) from crdc_kept").fetchall()[0][0]
    con.execute("drop table crdc_kept")
    con.execute("drop table crdc_raw")
    spec = pl.DataFrame(
        [{"source_column": h, **cells[h].__dict__} for h in used],
        schema={"source_column": pl.String, **{k: pl.String for k in Cell.__dataclass_fields__}},
    )
    con.register("_spec", spec.to_arrow())
    con.execute("create temp table if not exists crdc_spec as select * from _spec where false")
    con.execute(
        "insert into crdc_spec select * from _spec where source_column not in (select source_column from crdc_spec)"
    )
    con.unregister("_spec")
    if getattr(read, "malformed_rows", 0):
        ignored.append(f"({read.malformed_rows} malformed rows not read)")
    return {
        "file_name": path.name,
        "sha256": digest,
        "rows_read": read.rows_read,
        "rows_kept": rows_kept,
        "columns_not_stored": ", ".join(ignored),
    }


def _validate(con: duckdb.DuckDBPyConnection, profile: CrdcProfile) -> None:
    """Every cell through the GX suite (on distinct values); the first rule a cell breaks is kept."""
    con.execute("""
        create or replace temp table crdc_checked as
        select *, case when value like '-%' then value end as reserve_code
        from crdc_raw_cells""")
    values = column_values(con, "crdc_checked", SUITE)
    violations = validate_values(SUITE, values)
    con.execute(
        "create or replace temp table crdc_violations (column_name varchar, value varchar, rule varchar, "
        "priority integer)"
    )
    order = {"required:school_id": 0, "format:state": 1, "required:value": 2, "number:value": 3, "code:reserve_code": 4}
    for v in violations:
        con.execute(
            "insert into crdc_violations values ($c, $v, $r, $p)",
            {"c": v.column, "v": v.value, "r": v.rule, "p": order.get(v.rule, 9)},
        )
    con.execute("""
        create or replace temp table crdc_cell_rules as
        select c.file_name, c.row_number, c.source_column, arg_min(v.rule, v.priority) as rule
        from crdc_checked c
        join crdc_violations v
          on (v.column_name = 'school_id' and c.school_id is not distinct from v.value)
          or (v.column_name = 'state' and c.state is not distinct from v.value)
          or (v.column_name = 'value' and c.value is not distinct from v.value)
          or (v.column_name = 'reserve_code' and c.reserve_code is not distinct from v.value)
        group by all""")


def _store_cells(con: duckdb.DuckDBPyConnection, year: str, result: CrdcImport) -> None:
    con.execute("""
        create or replace temp table crdc_cells as
        select c.file_name, c.row_number, c.school_id, c.state, c.lea_id, c.lea_name, c.school_name,
               c.source_column, s.measure, s.subset, s.breakout, s."group", s.sex,
               case when r.rule is null and c.reserve_code is null then c.value::bigint end as value,
               case when r.rule is null and c.reserve_code is not null then c.reserve_code::integer end as reserve_code,
               r.rule,
               s.measure || '|' || s.subset || '|' || s.breakout || '|' || s."group" || '|' || s.sex as cell_key
        from crdc_checked c
        join crdc_spec s using (source_column)
        left join crdc_cell_rules r using (file_name, row_number, source_column)""")
    duplicated = con.sql("""select school_id, source_column, count(distinct coalesce(value::varchar, '?'))
                            from crdc_cells group by all having count(*) > 1 limit 1""").fetchall()
    if duplicated and duplicated[0][2] > 1:
        school, column, _ = duplicated[0]
        raise CrdcError(
            f"school {school} has two different values of {column} in the files given; give each "
            "CRDC column once (one combined extract, or per-topic files that do not overlap)"
        )
    con.execute("delete from crdc_school_counts where school_year = $y and state = $s", {"y": year, "s": result.state})
    con.execute(
        """
        insert into crdc_school_counts
        select any_value($year), any_value(state), any_value(lea_id), any_value(lea_name), school_id,
               any_value(school_name), source_column, any_value(measure), any_value(subset), any_value(breakout),
               any_value("group"), any_value(sex), any_value(value), any_value(reserve_code), any_value(rule),
               $load_id
        from crdc_cells group by school_id, source_column""",
        {"year": year, "load_id": result.load_id},
    )


def _store_grades(con: duckdb.DuckDBPyConnection, year: str, profile: CrdcProfile, result: CrdcImport) -> None:
    """Grades offered per school (Yes/No, case-insensitive; anything else kept as reported, offered blank)."""
    grade_of = pl.DataFrame(
        {"source_column": [c.upper() for c in profile.grades], "grade": list(profile.grades.values())}
    )
    con.register("_grade_of", grade_of.to_arrow())
    con.execute("create or replace temp table crdc_grade_of as select * from _grade_of")
    con.unregister("_grade_of")
    present = con.sql("select count(*) from crdc_raw_grades").fetchall()[0][0]
    con.execute("delete from crdc_school_grades where school_year = $y and state = $s", {"y": year, "s": result.state})
    if not present:
        return
    con.execute(
        """
        insert into crdc_school_grades
        select $year, any_value(r.state), any_value(r.lea_id), r.school_id, g.grade,
               case lower(any_value(r.value)) when 'yes' then true when 'no' then false end,
               case when lower(coalesce(any_value(r.value), '')) not in ('yes', 'no') then any_value(r.value) end,
               $load_id
        from crdc_raw_grades as r
        join crdc_grade_of as g using (source_column)
        where r.school_id is not null and r.school_id <> '' and coalesce(r.state, $state) = $state
        group by r.school_id, g.grade""",
        {"year": year, "load_id": result.load_id, "state": result.state},
    )
    result.schools_with_grades = con.execute(
        "select count(distinct school_id) from crdc_school_grades where school_year = $y and state = $s "
        "and offered is not null",
        {"y": year, "s": result.state},
    ).fetchall()[0][0]


def _recipe(profile: CrdcProfile, sexes: list[str]) -> pl.DataFrame:
    """(outcome, dimension, group, part, sign, cell_key): which cells add up to each state n and k.

    CRDC's "without disabilities" tables count every student not served under IDEA, so Section
    504-only students are inside them (and broken out by sex); "none" is that table minus its 504 cells.
    """
    races = list(profile.races.values())
    rows: list[tuple] = []

    def add(
        outcome: str,
        dimension: str,
        group: str,
        part: str,
        sign: int,
        measure: str,
        subset: str,
        breakout: str,
        cell_group: str,
        sex: str,
    ) -> None:
        rows.append((outcome, dimension, group, part, sign, Cell(measure, subset, breakout, cell_group, sex).key))

    for outcome, spec in profile.outcomes.items():
        measures = spec["measures"]
        for s in sexes:
            for r in races:
                for dim, group in (
                    ("race_ethnicity", r),
                    ("sex", s),
                    ("disability_status", "none"),
                    ("english_learner", "n"),
                ):
                    add(outcome, dim, group, "n", 1, "enrollment", "all", "race", r, s)
                for m in measures:
                    for dim, group in (("race_ethnicity", r), ("sex", s), ("english_learner", "n")):
                        add(outcome, dim, group, "k", 1, m, "non_idea", "race", r, s)
                        add(outcome, dim, group, "k", 1, m, "idea", "race", r, s)
                    add(outcome, "disability_status", "none", "k", 1, m, "non_idea", "race", r, s)
                    add(outcome, "disability_status", "idea", "k", 1, m, "idea", "race", r, s)
            for group, sign in (("idea", 1), ("none", -1)):
                add(outcome, "disability_status", group, "n", sign, "enrollment", "all", "idea", "y", s)
            for group, sign in (("section_504_only", 1), ("none", -1)):
                add(outcome, "disability_status", group, "n", sign, "enrollment", "all", "section_504_only", "y", s)
                for m in measures:
                    add(outcome, "disability_status", group, "k", sign, m, "non_idea", "section_504_only", "y", s)
            for group, sign in (("y", 1), ("n", -1)):
                add(outcome, "english_learner", group, "n", sign, "enrollment", "all", "english_learner", "y", s)
                for m in measures:
                    for subset in ("non_idea", "idea"):
                        add(outcome, "english_learner", group, "k", sign, m, subset, "english_learner", "y", s)
    recipe = pl.DataFrame(rows, schema=["outcome", "dimension", "group", "part", "sign", "cell_key"], orient="row")
    return recipe.filter(pl.col("dimension").is_in(list(profile.dimensions)))


def _families(profile: CrdcProfile, keys: set[str], limit: int = 12) -> str:
    """Absent cell keys as CRDC column names, a whole race family written once as {race}."""
    by_pattern: dict[str, list[str]] = {}
    for key in keys:
        by_pattern.setdefault(profile.column_family(key, any_race=True), []).append(key)
    names: list[str] = []
    for pattern, members in sorted(by_pattern.items()):
        if "{race}" not in pattern or len(members) == len(profile.races):
            names.append(pattern)
        else:
            names.extend(sorted(profile.column_family(k) for k in members))
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def not_collected_terms(
    recipe: pl.DataFrame, present: set[str], profile: CrdcProfile
) -> tuple[pl.DataFrame, list[dict]]:
    """The recipe cut to the columns the files have, and what was not collected (docs/METHODOLOGY.md,
    "Breakouts a collection did not have").

    A breakout absent from the files (nonbinary _X before 2021-22, a topic a file set lacks) is "not
    collected", not missing data: each group is summed from the columns present. A sex whose columns
    are in the enrollment but in none of an outcome's discipline columns (or the reverse) is left out
    of that outcome's n and k alike, so both count the same students. A group is skipped only when
    every column of one of its parts (n, k, or what either subtracts) is absent.
    Returns the recipe (outcome, dimension, group, part, sign, cell_key) and rows of outcome,
    dimension, group (None = every group of the slice), effect, columns.
    """
    notes: list[dict] = []
    split = {k: k.split("|") for k in set(recipe["cell_key"])}
    enrolled = {split[k][4] for k in present & split.keys() if split[k][:3] == ["enrollment", "all", "race"]}
    code_of = {v: c for c, v in profile.sexes.items()}
    keep = []
    for outcome, spec in profile.outcomes.items():
        measures = set(spec["measures"])
        counted = {split[k][4] for k in present & split.keys() if split[k][0] in measures}
        if not counted:  # a topic the files lack altogether (e.g. no Referrals and Arrests file)
            actions = "/".join(c for c, v in profile.discipline_actions.items() if v in measures)
            notes.extend(
                {
                    "outcome": outcome,
                    "dimension": d,
                    "group": None,
                    "effect": "skipped, every column of a part absent:",
                    "columns": f"students with the outcome (k): every {actions} column (SCH_DISCWODIS_*, "
                    "SCH_DISCWDIS_*)",
                }
                for d in profile.dimensions
            )
            continue
        sexes = enrolled & counted
        for s in sorted(set(profile.sexes.values()) - sexes, key=list(profile.sexes.values()).index):
            code = code_of[s]
            if s not in enrolled and s not in counted:
                why = f"every column of sex {code} (*_{code}): the collection has no such breakout"
            elif s in enrolled:
                why = (
                    f"{outcome}'s discipline columns of sex {code} (SCH_DISCW*_{code}), though the enrollment "
                    f"has SCH_ENR_{{race}}_{code}: n and k count students of sex {', '.join(sorted(sexes))}"
                )
            else:
                why = (
                    f"the enrollment columns of sex {code} (SCH_ENR_{{race}}_{code}), though {outcome}'s "
                    f"discipline has them: n and k count students of sex {', '.join(sorted(sexes))}"
                )
            if "sex" in profile.dimensions:
                notes.append(
                    {"outcome": outcome, "dimension": "sex", "group": s, "effect": "skipped, absent:", "columns": why}
                )
            if s in enrolled or s in counted:
                notes.extend(
                    {"outcome": outcome, "dimension": d, "group": None, "effect": "not counted:", "columns": why}
                    for d in profile.dimensions
                    if d != "sex"
                )
        rows = recipe.filter(pl.col("outcome") == outcome)
        keep.append(
            rows.filter(pl.col("cell_key").map_elements(lambda k: split[k][4] in sexes, return_dtype=pl.Boolean))
        )
    recipe = pl.concat(keep) if keep else recipe.clear()
    kept_groups, written_without = [], {}
    for (outcome, dimension, group), terms in recipe.group_by(["outcome", "dimension", "group"], maintain_order=True):
        absent_parts = []
        for (part, sign), cls in terms.group_by(["part", "sign"], maintain_order=True):
            keys = set(cls["cell_key"])
            if not keys & present:
                what = {"n": "students (n)", "k": "students with the outcome (k)"}[part]
                absent_parts.append(f"{what}{' subtracted' if sign < 0 else ''}: {_families(profile, keys)}")
        if absent_parts:
            notes.append(
                {
                    "outcome": outcome,
                    "dimension": dimension,
                    "group": group,
                    "effect": "skipped, every column of a part absent:",
                    "columns": "; ".join(absent_parts),
                }
            )
            continue
        kept_groups.append((outcome, dimension, group))
        missing = set(terms["cell_key"]) - present
        if missing:
            written_without.setdefault((outcome, dimension), set()).update(missing)
    for (outcome, dimension), keys in written_without.items():
        notes.append(
            {
                "outcome": outcome,
                "dimension": dimension,
                "group": None,
                "effect": "written without:",
                "columns": _families(profile, keys),
            }
        )
    groups = pl.DataFrame(kept_groups, schema=["outcome", "dimension", "group"], orient="row")
    recipe = recipe.join(groups, on=["outcome", "dimension", "group"], how="semi").filter(
        pl.col("cell_key").is_in(list(present))
    )
    return recipe, notes


def _state_reference(con: duckdb.DuckDBPyConnection, year: str, profile: CrdcProfile, result: CrdcImport) -> None:
    present = {r[0] for r in con.sql("select distinct cell_key from crdc_cells").fetchall()}
    recipe, not_collected = not_collected_terms(_recipe(profile, list(profile.sexes.values())), present, profile)
    result.not_collected = not_collected
    con.register("_recipe", recipe.to_arrow())
    con.execute("create or replace temp table crdc_recipe as select * from _recipe")
    con.unregister("_recipe")
    con.execute(query_text("reference/crdc_not_collected_table"))
    con.execute("delete from crdc_not_collected where school_year = $y and state = $s", {"y": year, "s": result.state})
    if not_collected:
        rows = pl.DataFrame(
            not_collected,
            schema={
                "outcome": pl.String,
                "dimension": pl.String,
                "group": pl.String,
                "effect": pl.String,
                "columns": pl.String,
            },
        )
        con.register("_nc", rows.to_arrow())
        con.execute(
            """insert into crdc_not_collected select $y, $s, outcome, dimension, "group", effect, columns, $l
                       from _nc""",
            {"y": year, "s": result.state, "l": result.load_id},
        )
        con.unregister("_nc")
    slices = run_named(con, "reference/crdc_state_slices")
    groups = slices.filter(pl.col("schools_used") > 0)
    bad = groups.filter((pl.col("n") < 0) | (pl.col("k") < 0) | (pl.col("k") > pl.col("n")))
    for row in bad.iter_rows(named=True):
        con.execute(
            """insert into reference_consistency values ($l, 'crdc', $y, 'state', 'state_k_exceeds_n', $s,
                       $n, $k, 'state students with the outcome exceed the students enrolled (fall snapshot vs '
                       || 'whole-year counts); the group is not written to state_reference')""",
            {
                "l": result.load_id,
                "y": year,
                "s": f"{row['outcome']} {row['dimension']} {row['group']}",
                "n": row["n"],
                "k": row["k"],
            },
        )
    good = groups.join(bad.select("outcome", "dimension", "group"), on=["outcome", "dimension", "group"], how="anti")
    out = good.select(
        pl.lit(year).alias("school_year"),
        "outcome",
        "dimension",
        "group",
        pl.col("n").cast(pl.Int64),
        pl.col("k").cast(pl.Int64),
    )
    con.register("_out", out.to_arrow())
    con.execute("create or replace temp table crdc_state_rows as select * from _out")
    con.unregister("_out")
    result.state_reference_rows = store.replace_state_reference(con, "crdc_state_rows")
    per_slice = (
        groups.group_by("outcome", "dimension")
        .agg(pl.col("schools_used").max(), pl.col("schools_excluded").max())
        .sort("outcome", "dimension")
    )
    for row in per_slice.iter_rows(named=True):
        exact = bool(profile.outcomes[row["outcome"]]["exact"])
        absent = "; ".join(
            f"{'' if nc['group'] is None else nc['group'] + ': '}{nc['effect']} {nc['columns']}"
            for nc in result.not_collected
            if (nc["outcome"], nc["dimension"]) == (row["outcome"], row["dimension"])
        )
        upper = (
            None
            if exact
            else (
                "k sums CRDC student counts of several actions; a student with more than one "
                "of them counts more than once (upper bound)"
            )
        )
        note = "; ".join(x for x in (upper, absent and f"not collected in these files: {absent}") if x) or None
        con.execute(
            """delete from state_reference_sources where school_year = $y and outcome = $o
                       and dimension = $d""",
            {"y": year, "o": row["outcome"], "d": row["dimension"]},
        )
        con.execute(
            """insert into state_reference_sources values ($y, $o, $d, 'crdc', $s, $e, $u, $x, $l, $note)""",
            {
                "y": year,
                "o": row["outcome"],
                "d": row["dimension"],
                "s": result.state,
                "e": exact,
                "u": row["schools_used"],
                "x": row["schools_excluded"],
                "l": result.load_id,
                "note": note,
            },
        )
        result.slices.append({**row, "exact": exact})


def _summaries(con: duckdb.DuckDBPyConnection, profile: CrdcProfile, result: CrdcImport) -> None:
    result.reserve_counts = [
        (code, profile.reserve_codes.get(code, "undocumented"), n)
        for code, n in con.sql(
            "select reserve_code, count(*) from crdc_cells where reserve_code is not null group by 1 order by 1 desc"
        ).fetchall()
    ]
    result.quarantine_counts = con.sql(
        "select rule, count(*) from crdc_cells where rule is not null group by 1 order by 2 desc, 1"
    ).fetchall()
    result.consistency_counts = con.execute(
        """select check_name, count(*) from reference_consistency
                                               where load_id = $l group by 1 order by 1""",
        {"l": result.load_id},
    ).fetchall()
