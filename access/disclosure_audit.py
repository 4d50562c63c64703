"""The engine's own attacker: integer programs that bound every hidden cell.

The attacker knows every published number, every additive relation, that
counts are whole and non-negative, that a numerator never exceeds its group
size, and the suppression rules themselves: a `<10` cell is 1-9, a hidden
group has 1-9 students, a count hidden for a small remainder leaves fewer
than 10 students without the outcome, and a cell hidden only as a complement
is *not* small (0, or at least the threshold). For each protected quantity it
solves min and max (scipy.optimize.milp, HiGHS). The release passes when no
protected quantity is narrowed beyond what its own label already says; see
docs/PRIVACY.md for why that is the criterion.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array

from access.release_cells import CellId, ReleaseModel

if TYPE_CHECKING:
    from access.suppression import SuppressionSettings

GROUP = "group_below_min_n"
SMALL = "small_count"
REMAINDER = "small_remainder"
COMPLEMENT = "complementary"
PROTECTED = (GROUP, SMALL, REMAINDER)
SOLVE_SECONDS = 20  # per integer program; past it the audit answers on the safe side (bounds_of)


@dataclass(frozen=True)
class Failure:
    cell: CellId
    reason: str
    low: float
    high: float


def remainder_trigger(model: ReleaseModel, cell: CellId, threshold: int) -> CellId | None:
    """The group size that leaves fewer than `threshold` students without this outcome, if any."""
    value = model.cells[cell].value
    for den in sorted(model.cells[cell].denominators):
        if model.cells[den].value - value < threshold:
            return den
    return None


def within_hidden_group(model: ReleaseModel, hidden: dict[CellId, str], cell: CellId) -> bool:
    """Whether the cell is a numerator of a group hidden as too small (so it is hidden with it, 0 included)."""
    return any(hidden.get(den) == GROUP and model.cells[den].is_denominator for den in model.cells[cell].denominators)


def components(model: ReleaseModel, hidden: dict[CellId, str]) -> list[set[CellId]]:
    """Hidden cells linked by a relation or by a numerator-group size pairing."""
    parent = {c: c for c in hidden}

    def find(c: CellId) -> CellId:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    def union(a: CellId, b: CellId) -> None:
        parent[find(a)] = find(b)

    for relation in model.relations:
        members = [c for c in relation.cells if c in hidden]
        for other in members[1:]:
            union(members[0], other)
    for cid in hidden:
        for den in model.cells[cid].denominators:
            if den in hidden:
                union(cid, den)
    groups: dict[CellId, set[CellId]] = {}
    for cid in hidden:
        groups.setdefault(find(cid), set()).add(cid)
    return list(groups.values())


class _Program:
    """The attacker's integer program over one component of hidden cells."""

    def __init__(
        self,
        model: ReleaseModel,
        hidden: dict[CellId, str],
        component: set[CellId],
        settings: SuppressionSettings,
        scope: set[CellId] | None = None,
    ):
        self.model, self.hidden, self.settings = model, hidden, settings
        self.scope = component if scope is None else scope
        self.vars = sorted(component)
        self.index = {c: i for i, c in enumerate(self.vars)}
        complements = [c for c in self.vars if hidden[c] == COMPLEMENT]
        self.z_index = {c: len(self.vars) + j for j, c in enumerate(complements)}
        self.size = len(self.vars) + len(complements)
        t, min_n = settings.count_threshold, settings.min_n
        # Big-M of the complement switches: any bound above every value this component touches will do.
        # A release-wide bound (millions at state size) leaves HiGHS's tolerances too loose to be exact.
        self.big = 2 * self._largest_nearby(component) + 2 * (t + min_n) + 10
        self.lower = np.zeros(self.size)
        self.upper = np.full(self.size, np.inf)
        self.upper[len(self.vars) :] = 1
        self.rows: list[tuple[dict[int, float], float, float]] = []
        self._built: tuple[int, list[LinearConstraint]] | None = None
        for cid in self.vars:
            self._label(cid)
        self._pairings(component)
        self._relations(component)

    def _largest_nearby(self, component: set[CellId]) -> float:
        """The largest value among the component's cells, their relations and their denominators."""
        nearby = set(component)
        for relation in self.model.relations:
            if any(c in component for c in relation.cells):
                nearby.update(relation.cells)
        for cid in list(nearby):
            nearby.update(self.model.cells[cid].denominators)
        return max((self.model.cells[c].value for c in nearby), default=0)

    def _row(self, coefs: dict[int, float], low: float, high: float) -> None:
        self.rows.append((coefs, low, high))

    def _value_or_var(self, cid: CellId) -> tuple[int | None, float]:
        return (self.index[cid], 0.0) if cid in self.index else (None, float(self.model.cells[cid].value))

    def _label(self, cid: CellId) -> None:
        i, reason, cell = self.index[cid], self.hidden[cid], self.model.cells[cid]
        t, min_n, big = self.settings.count_threshold, self.settings.min_n, self.big
        if reason == GROUP and cell.is_denominator:
            # Hidden with a small group it counts within, it may be 0 (a group of 1-9 with none referred);
            # hidden as a small group in its own right, it is 1 to min_n - 1. The attacker cannot tell which.
            self.lower[i] = 0 if within_hidden_group(self.model, self.hidden, cid) else 1
            self.upper[i] = min_n - 1
        elif reason == SMALL:
            self.lower[i], self.upper[i] = 1, t - 1
        elif reason == REMAINDER:
            self.lower[i] = t
            den = remainder_trigger(self.model, cid, t)
            j, value = self._value_or_var(den)
            coefs = {i: -1.0}
            if j is not None:
                coefs[j] = 1.0
            self._row(coefs, -value, t - 1 - value)  # 0 <= n - k <= t-1
        elif reason == COMPLEMENT:
            z = self.z_index[cid]
            floor = max(t, min_n) if cell.is_denominator else t
            self._row({i: 1.0, z: -big}, -np.inf, 0)  # k <= M z
            self._row({i: 1.0, z: -floor}, 0, np.inf)  # k >= floor z
            if cell.is_numerator and self.settings.protect_remainder:
                for den in cell.denominators:  # z=1 -> n - k >= t
                    j, value = self._value_or_var(den)
                    if j is None and cid not in self.scope:
                        continue
                    coefs = {i: -1.0, z: -(t + big)}
                    if j is not None:
                        coefs[j] = 1.0
                    self._row(coefs, -big - value, np.inf)

    def _pairings(self, component: set[CellId]) -> None:
        """k <= n for every numerator and group size of a row (published partners only for the scope)."""
        for cid in component:
            cell = self.model.cells[cid]
            for den in cell.denominators:
                j, value = self._value_or_var(den)
                if j is None and cid not in self.scope:
                    continue
                coefs = {self.index[cid]: -1.0}
                if j is not None:
                    coefs[j] = 1.0
                self._row(coefs, -value, np.inf)
            for num in cell.numerators:
                if num not in component and cid in self.scope:
                    self._row({self.index[cid]: 1.0}, self._published_floor(num, cid), np.inf)

    def _published_floor(self, num: CellId, group: CellId) -> float:
        """The least group size a printed count allows: the count itself, and with `protect_remainder` a
        printed count of 1 or more also says its group has at least `count_threshold` students without it
        (else the count would be hidden for its remainder)."""
        value, t = float(self.model.cells[num].value), self.settings.count_threshold
        if self.settings.protect_remainder and value >= 1 and self.model.cells[group].value - value >= t:
            return value + t
        return value

    def _relations(self, component: set[CellId]) -> None:
        for relation in self.model.relations:
            if not any(c in self.scope for c in relation.cells):
                continue
            coefs: dict[int, float] = {}
            constant = 0.0
            for sign, cid in [(-1.0, relation.total)] + [(1.0, p) for p in relation.parts]:
                j, value = self._value_or_var(cid)
                if j is None:
                    constant += sign * value
                else:
                    coefs[j] = coefs.get(j, 0.0) + sign
            self._row(coefs, -constant, -constant)

    def _constraints(self) -> list[LinearConstraint]:
        """The program's rows as one sparse matrix, built once (components at state size are large)."""
        if self._built is None or self._built[0] != len(self.rows):
            rows, cols, data = [], [], []
            for r, (coefs, _, _) in enumerate(self.rows):
                for j, a in coefs.items():
                    rows.append(r)
                    cols.append(j)
                    data.append(a)
            matrix = csr_array((data, (rows, cols)), shape=(len(self.rows), self.size))
            lows = np.array([low for _, low, _ in self.rows], dtype=float)
            highs = np.array([high for _, _, high in self.rows], dtype=float)
            self._built = (len(self.rows), [LinearConstraint(matrix, lows, highs)] if self.rows else [])
        return self._built[1]

    def spans(self, objective: dict[int, float], offset: float, low: float, high: float) -> bool:
        """A quick proof that the attacker can put the quantity at `low` or below and at `high` or above.

        Each complement's switch is fixed to the side its true value is on, which leaves a subset of the
        attacker's solutions (the true one among them) and no binary choice; its linear relaxation is
        solved. An optimum that is whole numbers is a solution of the integer program, so reaching the
        range with it proves what `bounds_of` would find. Anything else (fractional, short of the range)
        proves nothing, and the caller solves the integer programs.
        """
        lower, upper = self.lower.copy(), self.upper.copy()
        for cid, z in self.z_index.items():
            lower[z] = upper[z] = 1.0 if self.model.cells[cid].value > 0 else 0.0
        constraints = self._constraints()
        for sign, target in ((1.0, low), (-1.0, high)):
            c = np.zeros(self.size)
            for j, a in objective.items():
                c[j] = sign * a
            res = milp(c, integrality=np.zeros(self.size), bounds=Bounds(lower, upper), constraints=constraints)
            if res.status == 3:  # unbounded: so is the integer program
                continue
            if res.x is None or not np.allclose(res.x, np.round(res.x), rtol=0, atol=1e-7):
                return False
            reached = sum(a * round(res.x[j]) for j, a in objective.items()) + offset
            if (reached > target) if sign > 0 else (reached < target):
                return False
        return True

    def bounds_of(
        self, objective: dict[int, float], offset: float = 0.0, *, inner: bool = True, time_limit: float = SOLVE_SECONDS
    ) -> tuple[float, float]:
        """The attacker's smallest and largest value of the quantity.

        A solve that runs out of time gives no exact optimum; the answer then leans to the safe side.
        `inner` (the release as published, where the question is "does the range reach far enough"):
        the best whole-number solutions found, or the true values - a range the attacker surely has, so
        a pass is never claimed wrongly. Otherwise (the labels-only comparison, where the question is "how
        far could any suppression go"): the solver's proven bounds, at least as wide as the truth.
        """
        constraints = self._constraints()
        truth = sum(a * self.model.cells[self.vars[j]].value for j, a in objective.items()) + offset
        out = []
        for sign in (1.0, -1.0):
            c = np.zeros(self.size)
            for j, a in objective.items():
                c[j] = sign * a
            res = milp(
                c,
                integrality=np.ones(self.size),
                bounds=Bounds(self.lower, self.upper),
                constraints=constraints,
                options={"time_limit": time_limit},
            )
            if res.status == 3:  # unbounded
                out.append(-np.inf if sign > 0 else np.inf)
            elif res.status == 0:
                out.append(sign * res.fun + offset)
            elif res.status == 1 and inner:  # out of time: what was surely reached
                found = sign * res.fun + offset if res.x is not None else truth
                out.append(min(found, truth) if sign > 0 else max(found, truth))
            elif res.status == 1 and res.mip_dual_bound is not None and np.isfinite(res.mip_dual_bound):
                out.append(sign * res.mip_dual_bound + offset)  # out of time: what is surely not passed
            elif res.status == 1:
                out.append(-np.inf if sign > 0 else np.inf)
            else:
                raise RuntimeError(f"suppression audit: the attacker's program failed ({res.message})")
        return out[0], out[1]


def protected_cells(hidden: dict[CellId, str]) -> list[CellId]:
    return sorted(c for c, r in hidden.items() if r in PROTECTED)


def _quantity(
    model: ReleaseModel, program: _Program, cid: CellId, reason: str, settings: SuppressionSettings
) -> tuple[dict[int, float], float]:
    """The attacked quantity as a linear objective: the cell, or for a remainder n - k."""
    i = program.index[cid]
    if reason != REMAINDER:
        return {i: 1.0}, 0.0
    j, value = program._value_or_var(remainder_trigger(model, cid, settings.count_threshold))
    objective = {i: -1.0}
    if j is not None:
        objective[j] = 1.0
    return objective, value


def _target(model: ReleaseModel, cid: CellId, reason: str, settings: SuppressionSettings) -> tuple[int, int]:
    """The range the label alone promises stays open."""
    if reason == SMALL:
        return 1, settings.count_threshold - 1
    if reason == GROUP and model.cells[cid].is_denominator:
        # A group size keeps its label's range; one of 0 (counted within a hidden group, and the size of a
        # group of another table) keeps 0 to min_n - 1, as the label of a hidden group promises.
        return (1 if model.cells[cid].value >= 1 else 0), settings.min_n - 1
    return 0, 1  # a 0 hidden with its small group, like any numerator: not pinned exactly


def _labels_only(
    model: ReleaseModel, hidden: dict[CellId, str], component: set[CellId], settings: SuppressionSettings
) -> _Program:
    """The best any suppression could do: every published neighbour is opened to 'some publishable value'.

    Published zeros stay as they are: what a zero says (nobody in any of its parts) is what publishing it
    means, and opening it would make every part of a zero total look protectable, sending the engine off
    to hide cells far away to no purpose.
    """
    opened = {
        c
        for r in model.relations
        if any(h in component for h in r.cells)
        for c in r.cells
        if c not in hidden and model.cells[c].value != 0
    }
    for cid in component:
        opened |= {
            c
            for c in model.cells[cid].denominators | model.cells[cid].numerators
            if c not in hidden and model.cells[c].value != 0
        }
    relaxed = {**hidden, **{c: COMPLEMENT for c in opened}}
    return _Program(model, relaxed, component | opened, settings, scope=component)


@dataclass
class AuditState:
    """What earlier audits of one release established, so a cell is not solved again without need.

    settled: the attacker's range already spans the cell's whole label range. Hiding more cells only turns
        published constants into variables whose true value stays allowed, so every solution the attacker
        had stays feasible and such a range can only widen: a settled cell is never solved again.
    provisional: the cell passed only by the labels-only comparison, which moves as its component grows;
        it is checked again before the release is final (suppress_release's last round).
    """

    settled: set[CellId] = field(default_factory=set)
    provisional: set[CellId] = field(default_factory=set)


def audit_component(
    model: ReleaseModel,
    hidden: dict[CellId, str],
    component: set[CellId],
    settings: SuppressionSettings,
    state: AuditState | None = None,
    recheck_provisional: bool = True,
) -> list[Failure]:
    """Protected quantities of one component that the attacker narrows beyond what their labels force.

    Cells `state` has settled are skipped, and provisional ones too unless `recheck_provisional`."""
    state = AuditState() if state is None else state
    skip = state.settled if recheck_provisional else state.settled | state.provisional
    targets = [c for c in sorted(component) if hidden[c] in PROTECTED and c not in skip]
    if not targets:
        return []
    program = _Program(model, hidden, component, settings)
    ideal: list[_Program] = []
    ideal_lock = threading.Lock()

    def labels_only() -> _Program:
        with ideal_lock:
            if not ideal:
                ideal.append(_labels_only(model, hidden, component, settings))
            return ideal[0]

    def check(cid: CellId) -> tuple[str, Failure | None]:
        reason = hidden[cid]
        want_low, want_high = _target(model, cid, reason, settings)
        quantity = _quantity(model, program, cid, reason, settings)
        if program.spans(*quantity, want_low, want_high):
            return "settled", None
        low, high = program.bounds_of(*quantity)
        if low <= want_low and high >= want_high:
            return "settled", None
        best = labels_only()
        best_low, best_high = best.bounds_of(*_quantity(model, best, cid, reason, settings), inner=False)
        if low <= max(want_low, best_low) and high >= min(want_high, best_high):
            return "provisional", None
        return "failed", Failure(cid, reason, low, high)

    # Each cell's programs are independent and HiGHS releases the GIL: solve them on every core.
    outcomes = list(_solver_pool().map(check, targets)) if len(targets) > 1 else [check(targets[0])]
    failures = []
    for cid, (outcome, failure) in zip(targets, outcomes):
        if outcome == "settled":
            state.settled.add(cid)
        elif outcome == "provisional":
            state.provisional.add(cid)
        else:
            state.provisional.discard(cid)
            failures.append(failure)
    return failures


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _solver_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=max(1, min(8, os.cpu_count() or 1)), thread_name_prefix="disclosure-audit"
            )
        return _pool
