"""Small-cell suppression for every aggregate that leaves the warehouse.

FERPA (34 CFR 99.3, "personally identifiable information") counts as PII any
information that, alone or in combination, lets a reasonable person identify a
student "whether through single or multiple releases". So the unit here is a
*release* (a page set, a report, an export): all its tables are suppressed
together, and a cell hidden in one table is hidden in every table that prints
it. The rules, their sources and the attacker the engine defends against are
written down in docs/PRIVACY.md.

    release = suppress_release([CountTable(...), CountTable(...)])
    release.tables["oss_by_race"].display   # strings for the page
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from access.disclosure_audit import (
    COMPLEMENT,
    GROUP,
    REMAINDER,
    SMALL,
    AuditState,
    Failure,
    audit_component,
    components,
    remainder_trigger,
)
from access.release_cells import CellId, CountTable, Relation, ReleaseError, ReleaseModel, build_model
from data_contracts import number_format as nf

__all__ = [
    "CountTable",
    "FOOTNOTES",
    "ReleaseError",
    "SuppressedRelease",
    "SuppressedTable",
    "SuppressionError",
    "SuppressionSettings",
    "rate_column",
    "suppress_release",
    "suppress_table",
]

HIDDEN_RATE = "count_hidden"
NO_STUDENTS = "no_students"
BOTTOM_CODED = "bottom_coded"
TOP_CODED = "top_coded"

FOOTNOTES = {
    GROUP: "Group of fewer than {min_n} students: all of its figures are hidden.",
    SMALL: "Fewer than {count_threshold} students: the exact count and its rate are hidden.",
    REMAINDER: "All or nearly all students of the group (fewer than {count_threshold} without it): "
    "the count and its rate are hidden.",
    COMPLEMENT: "Hidden so that a hidden small count cannot be worked out from the totals.",
    HIDDEN_RATE: "Rate hidden because its count or group size is hidden.",
    NO_STUDENTS: "No students in the group: no rate.",
    BOTTOM_CODED: "Rate of a group of fewer than {coding_max_n} students shown as a range at the low end.",
    TOP_CODED: "Rate of a group of fewer than {coding_max_n} students shown as a range at the high end.",
}


class SuppressionError(RuntimeError):
    """The engine could not protect a release (should not happen; report it with the tables)."""


@dataclass(frozen=True)
class SuppressionSettings:
    """Disclosure rules of a release; defaults documented in docs/PRIVACY.md."""

    min_n: int = 10  # groups with 1..min_n-1 students are hidden whole
    count_threshold: int = 10  # counts 1..threshold-1 are shown as '<10'
    protect_remainder: bool = True  # hide a count that leaves 0..threshold-1 students without the outcome
    coding_max_n: int = 100  # groups smaller than this get top/bottom coded rates
    bottom_code_pct: float = 5.0  # rate <= this -> '<=5%'
    top_code_pct: float = 95.0  # rate >= this -> '>=95%'
    rate_decimals: int = 1
    audit: bool = True  # run the integer-programming attacker and hide more until it fails

    def __post_init__(self) -> None:
        if self.min_n < 2 or self.count_threshold < 2:
            raise ValueError("min_n and count_threshold must be at least 2")
        if not 0 <= self.bottom_code_pct < self.top_code_pct <= 100:
            raise ValueError("bottom_code_pct must be below top_code_pct, both within 0-100")

    @property
    def small_label(self) -> str:
        return f"<{self.count_threshold}"

    def footnote(self, reason: str) -> str:
        return FOOTNOTES[reason].format(
            min_n=self.min_n, count_threshold=self.count_threshold, coding_max_n=self.coding_max_n
        )


@dataclass(frozen=True)
class SuppressedTable:
    """A published table. Every frame has the table's dimension columns first,
    then one column per measure and one `<numerator>_rate` column per numerator
    (when the table has a denominator), in the same row order as the input.

    display:   str, what a page or export prints ('1,234', '<10', '*', '11.7%', '<=5%')
    published: the number a chart may plot (Int64 counts, Float64 rates as fractions 0-1), null when hidden or coded
    hidden:    bool, True when the exact value is withheld (suppressed or coded)
    reason:    str, the reason code of a withheld or coded cell (keys of FOOTNOTES), null when exact
    """

    name: str
    dimensions: tuple[str, ...]
    display: pl.DataFrame
    published: pl.DataFrame
    hidden: pl.DataFrame
    reason: pl.DataFrame
    footnotes: dict[str, str]


@dataclass(frozen=True)
class SuppressedRelease:
    tables: dict[str, SuppressedTable]
    relations: tuple[Relation, ...]
    settings: SuppressionSettings
    cell_reasons: dict[CellId, str] = field(default_factory=dict)  # hidden count cells of the release

    def __getitem__(self, name: str) -> SuppressedTable:
        return self.tables[name]


def rate_column(numerator: str) -> str:
    return f"{numerator}_rate"


def suppress_table(table: CountTable, settings: SuppressionSettings | None = None) -> SuppressedTable:
    """One table on its own (a release of one)."""
    return suppress_release([table], settings).tables[table.name]


def suppress_release(tables: Sequence[CountTable], settings: SuppressionSettings | None = None) -> SuppressedRelease:
    """Suppress all tables of one release together."""
    settings = settings or SuppressionSettings()
    model = build_model(tables)
    hidden = _primary(model, settings)
    state = AuditState()
    final_round = False
    while True:
        _complete_relations(model, hidden)
        if not settings.audit:
            break
        failures = _failures(model, hidden, settings, state, recheck_provisional=final_round)
        if failures:
            _hide_complements(model, hidden, failures)
            final_round = False
        elif final_round:
            break
        else:  # nothing new fails: check every cell that passed provisionally once more
            final_round = True
    published = {t.name: _publish(t, model, hidden, settings) for t in tables}
    return SuppressedRelease(published, tuple(model.relations), settings, dict(hidden))


def _primary(model: ReleaseModel, settings: SuppressionSettings) -> dict[CellId, str]:
    """Small groups hidden whole, small counts, counts that leave a small remainder."""
    t, min_n = settings.count_threshold, settings.min_n
    hidden: dict[CellId, str] = {}
    for cid, cell in model.cells.items():
        if cell.is_denominator and 1 <= cell.value < min_n:
            hidden[cid] = GROUP
            for num in cell.numerators:
                hidden[num] = GROUP
    for cid, cell in model.cells.items():
        if cid in hidden:
            continue
        if 1 <= cell.value < t:
            hidden[cid] = SMALL
        elif settings.protect_remainder and cell.value >= 1 and remainder_trigger(model, cid, t):
            hidden[cid] = REMAINDER
    return hidden


def _pick(model: ReleaseModel, hidden: dict[CellId, str], relations: list[Relation]) -> CellId | None:
    """The next smallest visible cell of these relations; parts before totals, non-zero before zero."""
    totals = {r.total for r in relations}
    candidates = {c for r in relations for c in r.cells if c not in hidden}
    if not candidates:
        return None
    return min(candidates, key=lambda c: (model.cells[c].value == 0, c in totals, model.cells[c].value, c))


def _complete_relations(model: ReleaseModel, hidden: dict[CellId, str]) -> None:
    """Every relation holds 0 or at least 2 hidden cells, repeated until nothing changes."""
    changed = True
    while changed:
        changed = False
        for relation in model.relations:
            if sum(c in hidden for c in relation.cells) == 1:
                pick = _pick(model, hidden, [relation])
                if pick is not None:
                    hidden[pick] = COMPLEMENT
                    changed = True


def _failures(
    model, hidden, settings, state: AuditState, recheck_provisional: bool
) -> list[tuple[Failure, set[CellId]]]:
    """Failing protected cells of every component, with their component (cells `state` has cleared skipped)."""
    found = []
    for component in sorted(components(model, hidden), key=min):
        failures = audit_component(model, hidden, component, settings, state, recheck_provisional)
        found += [(f, component) for f in failures]
    return found


def _hide_complements(
    model: ReleaseModel, hidden: dict[CellId, str], failures: list[tuple[Failure, set[CellId]]]
) -> None:
    """One more hidden cell for each failure whose own relations have not just received one: a round
    fixes many failures at once, and the next round's audit judges the rest with the new cells hidden."""
    added: set[CellId] = set()
    stuck: list[SuppressionError] = []
    for failure, component in failures:
        own = [r for r in model.relations if failure.cell in r.cells]
        if added and any(c in added for r in own for c in r.cells):
            continue
        try:
            pick = _next_complement(model, hidden, (failure, component))
        except SuppressionError as error:  # this round's other cells may already protect it: audit again
            stuck.append(error)
            continue
        hidden[pick] = COMPLEMENT
        added.add(pick)
    if stuck and not added:
        raise stuck[0]


def _next_complement(model: ReleaseModel, hidden: dict[CellId, str], failure) -> CellId:
    """Widen the attacker's range: hide one more cell next to the failing one, smallest first.

    Next means the failing cell's own relations, then its group size and numerators, then relations one
    step further out (through hidden cells), and so on: in a large component a cell far away rarely helps.
    """
    failed, component = failure
    by_cell: dict[CellId, list[Relation]] = {}
    for relation in model.relations:
        if any(c in component for c in relation.cells):
            for c in relation.cells:
                by_cell.setdefault(c, []).append(relation)
    own = by_cell.get(failed.cell, [])
    pick = _pick(model, hidden, own)
    if pick is None:
        cell = model.cells[failed.cell]
        partners = (cell.denominators | cell.numerators) - set(hidden)
        if partners:
            pick = min(partners, key=lambda c: (model.cells[c].value == 0, model.cells[c].value, c))
    reached, frontier = {failed.cell}, list(own)
    while pick is None and frontier:
        step = {c for r in frontier for c in r.cells if c in hidden and c not in reached}
        reached |= step
        frontier = [r for c in step for r in by_cell.get(c, [])]
        pick = _pick(model, hidden, frontier)
    if pick is None:
        partners = {p for c in component for p in model.cells[c].denominators | model.cells[c].numerators}
        partners -= set(hidden)
        if partners:
            pick = min(partners, key=lambda c: (model.cells[c].value, c))
    if pick is None:
        raise SuppressionError(
            f"cannot protect {failed.cell[1]} of {dict(failed.cell[0]) or 'everyone'}: "
            f"the attacker bounds it to {nf.fmt_setting(failed.low)}-{nf.fmt_setting(failed.high)} and no cell is left to hide"
        )
    return pick


def _fmt_count(value: int) -> str:
    return nf.fmt_int(value)


def _rate(
    k: int, n: int, k_reason: str | None, n_reason: str | None, settings: SuppressionSettings
) -> tuple[str, float | None, str | None]:
    if k_reason or n_reason:
        if k_reason == GROUP or n_reason == GROUP:
            return "*", None, GROUP
        return "*", None, HIDDEN_RATE
    if n == 0:
        return "n/a", None, NO_STUDENTS
    pct = 100.0 * k / n
    if n < settings.coding_max_n:
        if pct <= settings.bottom_code_pct:
            return f"<={nf.fmt_setting(settings.bottom_code_pct)}%", None, BOTTOM_CODED
        if pct >= settings.top_code_pct:
            return f">={nf.fmt_setting(settings.top_code_pct)}%", None, TOP_CODED
    return nf.fmt_pct(k / n, decimals=settings.rate_decimals), k / n, None


def _count_display(reason: str | None, value: int, settings: SuppressionSettings) -> str:
    if reason is None:
        return _fmt_count(value)
    return settings.small_label if reason == SMALL else "*"


def _publish(
    table: CountTable, model: ReleaseModel, hidden: dict[CellId, str], settings: SuppressionSettings
) -> SuppressedTable:
    dims = table.frame.select(table.dimensions)
    display: dict[str, list] = {}
    published: dict[str, list] = {}
    reasons: dict[str, list] = {}
    pops = model.row_populations[table.name]
    for measure in table.measures:
        cols = [(hidden.get((pop, measure)), model.cells[(pop, measure)].value) for pop in pops]
        display[measure] = [_count_display(r, v, settings) for r, v in cols]
        published[measure] = [None if r else v for r, v in cols]
        reasons[measure] = [r for r, _ in cols]
    if table.denominator:
        for measure in table.numerators:
            rates = [
                _rate(
                    model.cells[(pop, measure)].value,
                    model.cells[(pop, table.denominator)].value,
                    hidden.get((pop, measure)),
                    hidden.get((pop, table.denominator)),
                    settings,
                )
                for pop in pops
            ]
            col = rate_column(measure)
            display[col] = [r[0] for r in rates]
            published[col] = [r[1] for r in rates]
            reasons[col] = [r[2] for r in rates]
    columns = list(display)
    count_cols = set(table.measures)
    display_frame = dims.with_columns(pl.Series(c, display[c], dtype=pl.String) for c in columns)
    published_frame = dims.with_columns(
        pl.Series(c, published[c], dtype=pl.Int64 if c in count_cols else pl.Float64) for c in columns
    )
    reason_frame = dims.with_columns(pl.Series(c, reasons[c], dtype=pl.String) for c in columns)
    hidden_frame = dims.with_columns(
        pl.Series(c, [r is not None and r != NO_STUDENTS for r in reasons[c]], dtype=pl.Boolean) for c in columns
    )
    used = sorted({r for c in columns for r in reasons[c] if r})
    return SuppressedTable(
        table.name,
        tuple(table.dimensions),
        display_frame,
        published_frame,
        hidden_frame,
        reason_frame,
        {r: settings.footnote(r) for r in used},
    )
