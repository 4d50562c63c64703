"""The global filters (school year, schools, school level), kept in the URL.

A view is a shareable link: the filters live in the query string
(`?year=2024-25&schools=S01,S02&level=high`). Whatever arrives there is
checked against the values the warehouse really holds and against the
viewer's school scope; anything else (unknown schools, SQL text, very long
values) is dropped, so a link can narrow a view but never widen it.

Pages read the result through `Filters` and `school_scope`; named queries take
`query_params(...)`, e.g.

    where ($school_year is null or school_year = $school_year)
      and ($school_ids is null or list_contains($school_ids, school_id))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import duckdb
import polars as pl

from access.queries import run_query
from access.roles import COORDINATOR, Viewer, filter_school_ids, may_choose_schools
from data_contracts.interchange import SCHOOL_LEVELS
from data_contracts.labels import SCHOOL_LEVEL_LABELS as LEVEL_LABELS

YEAR, SCHOOLS, LEVEL = "year", "schools", "level"
PARAM_KEYS = (YEAR, SCHOOLS, LEVEL)
MAX_PARAM_LENGTH = 4000
ALL_LEVELS = "all"


@dataclass(frozen=True)
class School:
    school_id: str
    name: str
    level: str


@dataclass(frozen=True)
class FilterOptions:
    """The values the warehouse holds: the only values a filter may take."""

    school_years: tuple[str, ...]  # newest first
    schools: tuple[School, ...]  # by name

    @property
    def levels(self) -> tuple[str, ...]:
        present = {s.level for s in self.schools}
        return tuple(lv for lv in SCHOOL_LEVELS if lv in present) + tuple(sorted(present - set(SCHOOL_LEVELS)))

    @property
    def is_empty(self) -> bool:
        return not self.school_years and not self.schools

    def school_name(self, school_id: str) -> str:
        return next((s.name for s in self.schools if s.school_id == school_id), school_id)

    def for_viewer(self, viewer: Viewer) -> FilterOptions:
        """The options a viewer may choose: a coordinator only sees their own schools."""
        if viewer.role != COORDINATOR:
            return self
        own = filter_school_ids(viewer, None) or frozenset()
        return FilterOptions(self.school_years, tuple(s for s in self.schools if s.school_id in own))


def load_options(con: duckdb.DuckDBPyConnection) -> FilterOptions:
    years = run_query(con, "filters/school_years")["school_year"].to_list()
    schools = run_query(con, "filters/schools")
    return FilterOptions(
        tuple(str(y) for y in years),
        tuple(
            School(str(r["school_id"]), str(r["school_name"]), str(r["school_level"]))
            for r in schools.iter_rows(named=True)
        ),
    )


@dataclass(frozen=True)
class Filters:
    """One valid choice of the global filters. Empty school_ids means every school the viewer may see."""

    school_year: str | None = None
    school_ids: tuple[str, ...] = ()
    school_level: str | None = None

    def to_params(self) -> dict[str, str]:
        params = {}
        if self.school_year:
            params[YEAR] = self.school_year
        if self.school_ids:
            params[SCHOOLS] = ",".join(self.school_ids)
        if self.school_level:
            params[LEVEL] = self.school_level
        return params

    def cache_key(self) -> str:
        return f"{self.school_year or '*'}|{','.join(self.school_ids) or '*'}|{self.school_level or '*'}"

    def describe(self, options: FilterOptions | None = None) -> str:
        """'2024-25 · all schools · high schools', for captions and the audit log."""
        if self.school_ids:
            names = [options.school_name(s) if options else s for s in self.school_ids]
            schools = names[0] if len(names) == 1 else f"{len(names)} schools"
        else:
            schools = "all schools"
        level = (
            f"{LEVEL_LABELS.get(self.school_level, self.school_level)} schools" if self.school_level else "all levels"
        )
        return " · ".join([self.school_year or "all years", schools, level])


def _value(params: Mapping[str, object], key: str) -> str | None:
    raw = params.get(key)
    if isinstance(raw, (list, tuple)):
        raw = raw[-1] if raw else None
    if raw is None:
        return None
    text = str(raw)
    return text if len(text) <= MAX_PARAM_LENGTH else None


def default(options: FilterOptions) -> Filters:
    """The newest school year, every school, every level."""
    return Filters(options.school_years[0] if options.school_years else None)


def parse(params: Mapping[str, object], options: FilterOptions, viewer: Viewer) -> Filters:
    """Filters from query parameters, keeping only values the warehouse holds and the viewer may choose."""
    allowed = options.for_viewer(viewer)
    year = _value(params, YEAR)
    year = year if year in allowed.school_years else default(allowed).school_year
    wanted = {part.strip() for part in (_value(params, SCHOOLS) or "").split(",")}
    schools = tuple(s.school_id for s in allowed.schools if s.school_id in wanted)
    level = _value(params, LEVEL)
    level = level if level in allowed.levels else None
    if not may_choose_schools(viewer):
        return Filters(year)
    return Filters(year, schools, level)


def school_scope(filters: Filters, options: FilterOptions, viewer: Viewer) -> frozenset[str] | None:
    """The schools a query may touch: the chosen schools and level within the viewer's scope.

    None means every school (no restriction); an empty set means no school matches.
    """
    ids = frozenset(filters.school_ids) if filters.school_ids else None
    if filters.school_level:
        of_level = frozenset(s.school_id for s in options.schools if s.level == filters.school_level)
        ids = of_level if ids is None else ids & of_level
    return filter_school_ids(viewer, ids)


def query_params(filters: Filters, options: FilterOptions, viewer: Viewer) -> dict[str, object]:
    """Bound parameters for named queries: $school_year and $school_ids (a sorted list, or null for all)."""
    scope = school_scope(filters, options, viewer)
    return {"school_year": filters.school_year, "school_ids": sorted(scope) if scope is not None else None}


def options_frame(options: FilterOptions) -> pl.DataFrame:
    return pl.DataFrame(
        [{"school_id": s.school_id, "school_name": s.name, "school_level": s.level} for s in options.schools],
        schema={"school_id": pl.String, "school_name": pl.String, "school_level": pl.String},
    )
