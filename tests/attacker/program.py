"""The attacker's integer program: whole, non-negative counts and every constraint a shown figure implies.

Variables are named counts (a cell of a table, a group's size). Constraints are linear intervals
`low <= sum(a_i x_i) <= high`. Non-linear figures are linearised exactly where that is possible:

- a share p of a count over another (both unknown or not): `num - p_high*den <= 0 <= num - p_low*den`
  (exact for den >= 0, no known denominator needed);
- a rate per 1,000 over a known enrolment: a linear interval on the count;
- a risk ratio with both group sizes known: `a*n0 - r*c*n1` between the ratio's rounding ends;
- a risk difference with both sizes known: linear.

For each hidden cell the program is solved twice (min and max) with HiGHS under a time limit. A solve
that runs out of time is reported as `timed_out`; its range is then the linear relaxation's (which
contains every integer solution), so a timed-out cell counts as not recovered only if even the
relaxation leaves it at least `min_width` wide.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import lil_matrix

from tests.attacker.numbers import Shown

Terms = Mapping[str, float]
EPS = 1e-9


@dataclass(frozen=True)
class Range:
    """What the attacker learns about one cell: the smallest and largest value consistent with the release."""

    cell: str
    low: float
    high: float
    timed_out: bool = False

    @property
    def width(self) -> float:
        return self.high - self.low


@dataclass(frozen=True)
class Finding:
    """A hidden cell of 1-9 that the release narrows below the rule, with what narrowed it."""

    cell: str
    true: int
    range: Range
    sources: tuple[str, ...]
    leaks: tuple[str, ...] = ()

    def __str__(self) -> str:
        how = "exactly" if self.range.width < 0.5 else f"to {self.range.low:.0f}-{self.range.high:.0f}"
        late = " (solve timed out; relaxation bound)" if self.range.timed_out else ""
        why = self.leaks or self.sources[:6]
        return f"{self.cell} (true {self.true}) recovered {how}{late}; needs: {' + '.join(why)}"


class Infeasible(AssertionError):
    """The shown figures contradict each other (or the attacker misread one): the program has no solution."""


@dataclass
class Program:
    """Whole non-negative counts with bounds, and linear interval constraints each named by its source."""

    lower: dict[str, float] = field(default_factory=dict)
    upper: dict[str, float] = field(default_factory=dict)
    rows: list[tuple[dict[str, float], float, float, str]] = field(default_factory=list)

    # ------------------------------------------------------------------ building

    def count(self, name: str, low: float = 0, high: float = math.inf) -> str:
        """Declare a count (once; a second call only tightens its bounds)."""
        self.lower[name] = max(self.lower.get(name, 0.0), low)
        self.upper[name] = min(self.upper.get(name, math.inf), high)
        return name

    def add(self, terms: Terms, low: float, high: float, source: str) -> None:
        """`low <= sum(a * x) <= high`, declaring every variable it names."""
        for name in terms:
            self.count(name)
        self.rows.append((dict(terms), low, high, source))

    def shown_count(self, terms: Terms, shown: Shown | None, source: str) -> None:
        """A shown count (or a sum of counts shown as one number): exact, or the label's range."""
        if shown is not None:
            self.add(terms, shown.low, shown.high, source)

    def shown_share(self, num: Terms, den: Terms, shown: Shown | None, source: str) -> None:
        """num / den shown as a fraction in [low, high]: two linear rows, exact whenever den >= 0."""
        if shown is None:
            return
        self.add(_minus(num, den, shown.high), -math.inf, 0.0, source)
        self.add(_minus(num, den, shown.low), 0.0, math.inf, source)

    def shown_ratio(self, a: Terms, n1: float, c: Terms, n0: float, shown: Shown | None, source: str) -> None:
        """(a / n1) / (c / n0) in [low, high] with both sizes known: `a*n0 - r*n1*c` on the right side of 0."""
        if shown is None or n1 <= 0 or n0 <= 0:
            return
        scaled_a = {k: v * n0 for k, v in a.items()}
        self.add(_minus(scaled_a, c, shown.high * n1), -math.inf, 0.0, source)
        self.add(_minus(scaled_a, c, shown.low * n1), 0.0, math.inf, source)

    def shown_difference(self, a: Terms, n1: float, c: Terms, n0: float, shown: Shown | None, source: str) -> None:
        """a / n1 - c / n0 in [low, high] with both sizes known: linear."""
        if shown is None or n1 <= 0 or n0 <= 0:
            return
        terms: dict[str, float] = {}
        for k, v in a.items():
            terms[k] = terms.get(k, 0.0) + v / n1
        for k, v in c.items():
            terms[k] = terms.get(k, 0.0) - v / n0
        self.add(terms, shown.low, shown.high, source)

    # ------------------------------------------------------------------ solving

    def _matrix(self) -> tuple[list[str], np.ndarray, np.ndarray, LinearConstraint | None]:
        names = sorted(self.lower)
        index = {n: i for i, n in enumerate(names)}
        lower = np.array([self.lower[n] for n in names])
        upper = np.array([self.upper[n] for n in names])
        if not self.rows:
            return names, lower, upper, None
        a = lil_matrix((len(self.rows), len(names)))
        lo, hi = np.empty(len(self.rows)), np.empty(len(self.rows))
        for r, (terms, low, high, _) in enumerate(self.rows):
            for name, coef in terms.items():
                a[r, index[name]] += coef
            lo[r], hi[r] = low - EPS * max(1.0, abs(low)), high + EPS * max(1.0, abs(high))
        return names, lower, upper, LinearConstraint(a.tocsr(), lo, hi)

    def ranges(self, cells: list[str], *, time_limit: float = 10.0) -> dict[str, Range]:
        """The min and max of each cell over all whole-number solutions (HiGHS), one pair of solves per cell."""
        names, lower, upper, constraint = self._matrix()
        index = {n: i for i, n in enumerate(names)}
        integrality = np.ones(len(names))
        bounds = Bounds(lower, upper)
        out: dict[str, Range] = {}
        for cell in cells:
            if cell not in index:
                out[cell] = Range(cell, self.lower.get(cell, 0.0), self.upper.get(cell, math.inf))
                continue
            ends, late = [], False
            for sign in (1.0, -1.0):
                c = np.zeros(len(names))
                c[index[cell]] = sign
                res = milp(
                    c,
                    integrality=integrality,
                    bounds=bounds,
                    constraints=[constraint] if constraint is not None else [],
                    options={"time_limit": time_limit, "presolve": True},
                )
                if res.status == 2:
                    raise Infeasible(f"no count table fits every shown figure (solving {cell})")
                if res.status == 3:
                    ends.append(-sign * math.inf)
                    continue
                if res.status == 0:
                    ends.append(sign * res.fun)
                    continue
                late = True
                ends.append(sign * self._relaxation(c, lower, upper, constraint))
            out[cell] = Range(cell, ends[0], ends[1], timed_out=late)
        return out

    def _relaxation(
        self, c: np.ndarray, lower: np.ndarray, upper: np.ndarray, constraint: LinearConstraint | None
    ) -> float:
        """The linear relaxation's optimum: a bound every integer solution respects."""
        if constraint is None:
            res = linprog(c, bounds=list(zip(lower, upper, strict=True)), method="highs")
        else:
            a = constraint.A
            finite_hi, finite_lo = np.isfinite(constraint.ub), np.isfinite(constraint.lb)
            a_ub = np.vstack([a[finite_hi].toarray(), -a[finite_lo].toarray()])
            b_ub = np.concatenate([constraint.ub[finite_hi], -constraint.lb[finite_lo]])
            res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=list(zip(lower, upper, strict=True)), method="highs")
        if res.status == 3:
            return -math.inf
        if res.status != 0:
            raise Infeasible(f"the relaxation failed: {res.message}")
        return float(res.fun)

    def violated_by(self, truth: Mapping[str, float]) -> list[str]:
        """The figures whose constraints the true counts break: a misread figure, never a property of the release.
        Constraints naming a count without a known true value are not checked."""
        broken = []
        for terms, low, high, source in self.rows:
            if not all(name in truth for name in terms):
                continue
            value = sum(coef * truth[name] for name, coef in terms.items())
            if value < low - 1e-6 * max(1.0, abs(low)) or value > high + 1e-6 * max(1.0, abs(high)):
                broken.append(f"{source}: {value:g} not in [{low:g}, {high:g}]")
        for name in self.lower:
            if name in truth and not self.lower[name] - EPS <= truth[name] <= self.upper[name] + EPS:
                broken.append(f"bounds of {name}: {truth[name]:g} not in [{self.lower[name]:g}, {self.upper[name]:g}]")
        return broken

    def checked_by(self, truth: Mapping[str, float]) -> int:
        """How many constraints name only counts of known true value (what violated_by can check)."""
        return sum(all(name in truth for name in terms) for terms, _, _, _ in self.rows)

    def sources_of(self, cell: str) -> tuple[str, ...]:
        """The shown figures whose constraints name the cell (what to read when it is recovered)."""
        return tuple(dict.fromkeys(source for terms, _, _, source in self.rows if cell in terms))


def explain(program: Program, cell: str, *, min_width: float = 3, time_limit: float = 5.0) -> list[str]:
    """A smallest set of shown figures that still narrows `cell` below `min_width` (what leaks it): whole outputs
    (the text before a source's first ':', a page or the report) are dropped while the cell stays narrowed,
    then single figures of the outputs left. Every figure of the answer is needed: without it the set is safe."""

    def narrowed(kept: set[str], level) -> bool:
        rows = [row for row in program.rows if level(row[3]) in kept]
        try:
            got = Program(dict(program.lower), dict(program.upper), rows).ranges([cell], time_limit=time_limit)
        except Infeasible:
            return True
        return got[cell].width < min_width - EPS

    def output(source: str) -> str:
        return source.split(":")[0]

    def figure(source: str) -> str:
        return source

    kept_outputs = {output(r[3]) for r in program.rows}
    for name in sorted(kept_outputs):
        if narrowed(kept_outputs - {name}, output):
            kept_outputs.discard(name)
    kept = {r[3] for r in program.rows if output(r[3]) in kept_outputs}
    for name in sorted(kept):
        if narrowed(kept - {name}, figure):
            kept.discard(name)
    return sorted(kept)


def _minus(num: Terms, den: Terms, p: float) -> dict[str, float]:
    terms: dict[str, float] = {}
    for k, v in num.items():
        terms[k] = terms.get(k, 0.0) + v
    for k, v in den.items():
        terms[k] = terms.get(k, 0.0) - p * v
    return terms


def findings(
    program: Program,
    truth: Mapping[str, int],
    hidden: list[str],
    *,
    min_width: float = 3,
    time_limit: float = 10.0,
    explained: bool = False,
) -> list[Finding]:
    """Every hidden cell whose true value is 1-9 and which the program pins or narrows below `min_width`
    (with `explained`, each with the figures that leak it)."""
    small = [c for c in hidden if 1 <= truth[c] <= 9]
    found = []
    for cell, got in program.ranges(small, time_limit=time_limit).items():
        if got.low - EPS > truth[cell] or got.high + EPS < truth[cell]:
            raise Infeasible(f"{cell}: true value {truth[cell]} outside the attacker's range {got.low}-{got.high}")
        if got.width < min_width - EPS:
            leaks = tuple(explain(program, cell, min_width=min_width)) if explained else ()
            found.append(Finding(cell, truth[cell], got, program.sources_of(cell), leaks))
    return found
