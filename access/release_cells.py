"""The cells of a release and the additive relations between them.

A cell is one count about one population: the population is the set of
`dimension=value` pairs that define it (`{}` is everyone, `{race: bl}` the
Black students, `{race: bl, disability: idea}` ...), together with any fixed
filters of its table (`{school_year: 2024-25}`). Two tables that print the same
population and measure print the same cell, so a cell hidden in one is hidden
in all. Relations are derived from the tables' total rows: the rows of a
dimension that carry a total partition it, in every table of the release. A table may also declare that one of its cells
equals another table's cell, or the sum of several (`CountTable.sums`): a process-audit
denominator "cases assessed moderate, high or imminent" is the sum of three
level counts, and the suppression must see that to protect them together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

Population = tuple[tuple[str, str], ...]
CellId = tuple[Population, str]


class ReleaseError(ValueError):
    """A table of a release is not what the suppression engine needs; the message says where."""


def cell_id(population: Mapping[str, str], measure: str) -> CellId:
    """The id of the cell of `measure` about the population of these `dimension=value` pairs (filters too)."""
    return (tuple(sorted((str(k), str(v)) for k, v in population.items())), measure)


@dataclass(frozen=True)
class DeclaredSum:
    """total = sum(parts) in the true data, for cells no total row relates (a part alone: the same count)."""

    total: CellId
    parts: tuple[CellId, ...]


@dataclass(frozen=True)
class CountTable:
    """One table of counts: a row per group, a column per count measure.

    `dimensions` are the group columns; a row whose value is `total_label` in a
    dimension is the total over that dimension (margins of a two-way table are
    rows with `total_label` in one of the two columns). `denominator` is the
    group size column (enrolled students, cases); `numerators` are counts of
    students in the group with an outcome. Without a denominator every measure
    is a plain count. `filters` fix the population of every row (school, year).
    """

    name: str
    frame: pl.DataFrame
    dimensions: tuple[str, ...]
    numerators: tuple[str, ...]
    denominator: str | None = None
    filters: Mapping[str, str] = field(default_factory=dict)
    total_label: str = "total"
    sums: tuple[DeclaredSum, ...] = ()  # cells of this table that equal the sum of other cells of the release

    @property
    def measures(self) -> tuple[str, ...]:
        return ((self.denominator,) if self.denominator else ()) + tuple(self.numerators)


@dataclass
class Cell:
    id: CellId
    value: int
    is_denominator: bool = False
    denominators: set[CellId] = field(default_factory=set)  # a numerator's group sizes
    numerators: set[CellId] = field(default_factory=set)  # a group size's numerators

    @property
    def is_numerator(self) -> bool:
        return bool(self.denominators)


@dataclass(frozen=True)
class Relation:
    """total = sum(parts), exactly, in the true data."""

    total: CellId
    parts: tuple[CellId, ...]

    @property
    def cells(self) -> tuple[CellId, ...]:
        return (self.total,) + self.parts


@dataclass
class ReleaseModel:
    cells: dict[CellId, Cell]
    relations: list[Relation]
    # table name -> one population per frame row, in frame order
    row_populations: dict[str, list[Population]]

    def relations_of(self) -> dict[CellId, list[int]]:
        index: dict[CellId, list[int]] = defaultdict(list)
        for i, relation in enumerate(self.relations):
            for cell in relation.cells:
                index[cell].append(i)
        return index


def population_of(table: CountTable, row: Mapping[str, object]) -> Population:
    pairs = {str(k): str(v) for k, v in table.filters.items()}
    for dim in table.dimensions:
        value = row[dim]
        if value is None:
            raise ReleaseError(
                f"table {table.name!r}: column {dim!r} has an empty group value; "
                f"name the group (or use {table.total_label!r} for the total row)"
            )
        if str(value) != table.total_label:
            pairs[dim] = str(value)
    return tuple(sorted(pairs.items()))


def _check_table(table: CountTable) -> None:
    frame = table.frame
    missing = [c for c in table.dimensions + table.measures if c not in frame.columns]
    if missing:
        raise ReleaseError(f"table {table.name!r}: missing columns {missing}; it has {frame.columns}")
    overlap = set(table.dimensions) & set(table.filters)
    if overlap:
        raise ReleaseError(f"table {table.name!r}: {sorted(overlap)} is both a dimension and a filter")
    for column in table.measures:
        dtype = frame.schema[column]
        if not dtype.is_integer():
            raise ReleaseError(f"table {table.name!r}: column {column!r} must hold whole counts, not {dtype}")
        if frame[column].null_count():
            raise ReleaseError(f"table {table.name!r}: column {column!r} has empty counts; a count is 0 or more")
        if frame.height and frame[column].min() < 0:
            raise ReleaseError(f"table {table.name!r}: column {column!r} has a negative count")
    if frame.select(table.dimensions).is_duplicated().any():
        raise ReleaseError(f"table {table.name!r}: two rows describe the same group")


def _add_cell(cells: dict[CellId, Cell], cid: CellId, value: int, where: str) -> Cell:
    cell = cells.get(cid)
    if cell is None:
        cell = cells[cid] = Cell(cid, value)
    elif cell.value != value:
        raise ReleaseError(
            f"{where}: {cid[1]} of {dict(cid[0]) or 'everyone'} is {value} here and "
            f"{cell.value} in another table of the release; one release must agree with itself"
        )
    return cell


def build_model(tables: Sequence[CountTable]) -> ReleaseModel:
    """Cells, row pairings and every additive relation of a release."""
    names = [t.name for t in tables]
    if len(set(names)) != len(names):
        raise ReleaseError(f"table names of one release must differ: {names}")
    cells: dict[CellId, Cell] = {}
    row_populations: dict[str, list[Population]] = {}
    domains: dict[str, set[frozenset[str]]] = defaultdict(set)
    for table in tables:
        _check_table(table)
        pops: list[Population] = []
        for i, row in enumerate(table.frame.iter_rows(named=True)):
            pop = population_of(table, row)
            pops.append(pop)
            where = f"table {table.name!r}, row {i + 1}"
            den = None
            if table.denominator:
                den = _add_cell(cells, (pop, table.denominator), int(row[table.denominator]), where)
                den.is_denominator = True
            for measure in table.numerators:
                num = _add_cell(cells, (pop, measure), int(row[measure]), where)
                if den is not None:
                    if num.value > den.value:
                        raise ReleaseError(
                            f"{where}: {measure} ({num.value}) is more than {table.denominator} ({den.value})"
                        )
                    num.denominators.add(den.id)
                    den.numerators.add(num.id)
        row_populations[table.name] = pops
        for dim in table.dimensions:
            others = [d for d in table.dimensions if d != dim]
            groups: dict[tuple, list[str]] = defaultdict(list)
            for row in table.frame.select(table.dimensions).iter_rows(named=True):
                groups[tuple(str(row[d]) for d in others)].append(str(row[dim]))
            for values in groups.values():
                parts = frozenset(v for v in values if v != table.total_label)
                if table.total_label in values and parts:
                    domains[dim].add(parts)
    relations = _derive_relations(cells, domains, tables)
    relations += _declared_sums(cells, tables, {(r.total, r.parts) for r in relations})
    return ReleaseModel(cells, relations, row_populations)


def _declared_sums(
    cells: dict[CellId, Cell], tables: Sequence[CountTable], seen: set[tuple[CellId, tuple[CellId, ...]]]
) -> list[Relation]:
    """The relations tables declare outright (`CountTable.sums`); each must name cells of the release and hold."""
    relations = []
    for table in tables:
        for declared in table.sums:
            missing = [c for c in (declared.total, *declared.parts) if c not in cells]
            if missing:
                raise ReleaseError(
                    f"table {table.name!r} declares a sum over {missing[0][1]} of {dict(missing[0][0]) or 'everyone'}, "
                    "which no table of the release prints"
                )
            got = sum(cells[p].value for p in declared.parts)
            if got != cells[declared.total].value:
                raise ReleaseError(
                    f"table {table.name!r}: {declared.total[1]} of {dict(declared.total[0]) or 'everyone'} is "
                    f"{cells[declared.total].value}, the cells it is declared the sum of add to {got}"
                )
            key = (declared.total, tuple(declared.parts))
            if key not in seen:
                seen.add(key)
                relations.append(Relation(declared.total, tuple(declared.parts)))
    return relations


def _declared(tables: Sequence[CountTable]) -> set[tuple[Population, str, frozenset[str], str]]:
    """(population of the total row, dimension, part values, measure) of every total row a table prints:
    a table vouches for its own measures only (another table may split the same schools differently)."""
    declared = set()
    for table, in_table in ((t, t.frame.select(t.dimensions).rows(named=True)) for t in tables):
        for dim in table.dimensions:
            others = [d for d in table.dimensions if d != dim]
            groups: dict[tuple, list[dict]] = defaultdict(list)
            for row in in_table:
                groups[tuple(str(row[d]) for d in others)].append(row)
            for rows in groups.values():
                totals = [r for r in rows if str(r[dim]) == table.total_label]
                parts = frozenset(str(r[dim]) for r in rows if str(r[dim]) != table.total_label)
                if totals and parts:
                    declared.update((population_of(table, totals[0]), dim, parts, m) for m in table.measures)
    return declared


def _derive_relations(
    cells: dict[CellId, Cell], domains: dict[str, set[frozenset[str]]], tables: Sequence[CountTable]
) -> list[Relation]:
    """Every total = sum(parts) the release supports, including ones no single table prints.

    A relation a table declares with a total row must hold, or the table is
    wrong. A relation found by combining tables (the same partition in another
    context) is kept only when it holds, since only then can anyone use it.
    """
    declared = _declared(tables)
    by_measure: dict[str, set[Population]] = defaultdict(set)
    for pop, measure in cells:
        by_measure[measure].add(pop)
    relations: list[Relation] = []
    seen: set[tuple[CellId, tuple[CellId, ...]]] = set()
    for measure, pops in by_measure.items():
        for pop in sorted(pops):
            present = dict(pop)
            for dim, parts_sets in sorted(domains.items()):
                if dim in present:
                    continue
                for values in sorted(parts_sets, key=sorted):
                    parts = tuple((tuple(sorted({**present, dim: v}.items())), measure) for v in sorted(values))
                    if not all(p in cells for p in parts):
                        continue
                    total = (pop, measure)
                    holds = sum(cells[p].value for p in parts) == cells[total].value
                    if (pop, dim, values, measure) in declared and not holds:
                        raise ReleaseError(
                            f"{measure} of {dict(pop) or 'everyone'}: the {dim} groups add to "
                            f"{sum(cells[p].value for p in parts)}, the total row says {cells[total].value}; "
                            f"add the missing groups (an 'unknown' row) so the groups partition the total"
                        )
                    key = (total, parts)
                    if holds and key not in seen:
                        seen.add(key)
                        relations.append(Relation(total, parts))
    return relations
