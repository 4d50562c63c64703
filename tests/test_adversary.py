"""An attacker with the published release tries to recover every hidden small count.

The attacker here is written from the published output alone (display strings,
reason codes, the declared relations), independently of the engine's own audit.
Two attackers:

* `linprog` (continuous relaxation, bounds rounded to integers): knows the
  published numbers, the relations, non-negativity, numerator <= group size,
  and what the labels say ('<10' is 1-9, a hidden group has 1-9 students).
* `milp` (integers): also knows the rules, so a cell hidden only as a
  complement is not small (0 or at least the threshold) and a count hidden for
  a small remainder is at least the threshold with fewer than 10 students left.

The privacy criterion (docs/PRIVACY.md, "The adversarial check"): the label
'<10' already tells everyone 1-9, so the strongest achievable promise is that
the attacker learns nothing beyond it:
  - a '<10' count keeps its whole range: min <= 1 and max >= threshold - 1;
  - a hidden group keeps its size range: min <= 1 and max >= min_n - 1;
  - a count of a hidden group could be 0 and could be positive (no one in a
    tiny group can be shown to have, or not to have, the outcome);
  - a count hidden for its small remainder leaves the remainder open between 0
    and at least 1 (no one can tell that every student had the outcome).
A width of threshold or more is impossible once '<10' is printed, which is why
the criterion is stated against the label rather than as a width.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from access.release_cells import CountTable, population_of
from access.suppression import SuppressionSettings, rate_column, suppress_release

SETTINGS = SuppressionSettings()
T, MIN_N = SETTINGS.count_threshold, SETTINGS.min_n
RACES = ("hi", "bl", "wh", "as", "mu", "am")
DISABILITY = ("idea", "section_504_only", "none")


# ---------------------------------------------------------------- what is published


def published_cells(tables, release):
    """cell -> (display, reason, exact value or None), and numerator -> group size pairs, from the output only."""
    cells: dict = {}
    pairs: set = set()
    for table in tables:
        out = release.tables[table.name]
        for i, row in enumerate(out.display.iter_rows(named=True)):
            pop = population_of(table, row)
            reasons = out.reason.row(i, named=True)
            values = out.published.row(i, named=True)
            for measure in table.measures:
                seen = (row[measure], reasons[measure], values[measure])
                assert cells.setdefault((pop, measure), seen) == seen, "one cell, two displays"
            if table.denominator:
                for measure in table.numerators:
                    pairs.add(((pop, measure), (pop, table.denominator)))
                    rate = row[rate_column(measure)]
                    if reasons[measure] or reasons[table.denominator]:
                        assert rate == "*", "a hidden count must not leave its rate behind"
    return cells, pairs


class Attacker:
    """Bounds of hidden quantities from what is published.

    `opened` cells are published cells the attacker is denied (treated as
    'some publishable value', as if complementary): that gives the range the
    best possible suppression would leave, used as the floor of the criterion.
    Relations and published partners count only when they touch `scope`.
    """

    def __init__(self, cells, pairs, relations, knows_rules: bool, scope=None, opened=frozenset()):
        self.cells, self.pairs, self.knows_rules = cells, pairs, knows_rules
        self.reason = {c: ("complementary" if c in opened else reason) for c, (_, reason, _) in cells.items()}
        self.hidden = sorted(c for c, (_, _, value) in cells.items() if value is None and (scope is None or c in scope))
        self.hidden += sorted(opened)
        self.scope = set(self.hidden) - set(opened)
        self.index = {c: i for i, c in enumerate(self.hidden)}
        self.dens = {c for _, c in pairs}
        self.nums_of: dict = {}
        for num, den in pairs:
            self.nums_of.setdefault(num, []).append(den)
        complements = [c for c in self.hidden if self.reason[c] == "complementary"] if knows_rules else []
        self.z = {c: len(self.hidden) + j for j, c in enumerate(complements)}
        self.size = len(self.hidden) + len(self.z)
        self.big = 10 * max((v for _, _, v in cells.values() if v is not None), default=0) + 10_000
        self.lower, self.upper = np.zeros(self.size), np.full(self.size, np.inf)
        self.upper[len(self.hidden) :] = 1
        self.rows: list = []
        for c in self.hidden:
            self._label(c)
        for num, den in pairs:  # k <= n; knowing the rules, a printed k >= 1 leaves n - k >= T (no small remainder)
            if num in self.scope or den in self.scope or (num in self.index and den in self.index):
                printed = cells[num][2] if num not in self.index else None
                floor = T if knows_rules and printed is not None and printed >= 1 else 0
                self._linear({num: -1, den: 1}, floor, np.inf)
        for r in relations:
            if any(c in self.scope for c in r.cells):
                self._linear({**{p: 1 for p in r.parts}, r.total: -1}, 0, 0)

    def _linear(self, terms: dict, low: float, high: float, extra: dict | None = None) -> None:
        coefs, constant = dict(extra or {}), 0.0
        for cell, a in terms.items():
            if cell in self.index:
                coefs[self.index[cell]] = coefs.get(self.index[cell], 0) + a
            else:
                constant += a * self.cells[cell][2]
        if coefs:
            self.rows.append((coefs, low - constant, high - constant))

    def _label(self, c) -> None:
        reason, i = self.reason[c], self.index[c]
        if reason == "small_count":
            self.lower[i], self.upper[i] = 1, T - 1
        elif reason == "group_below_min_n" and c in self.dens:
            # counted within a hidden group it may be 0; a small group on its own is 1..MIN_N-1
            within = any(self.reason.get(d) == "group_below_min_n" for d in self.nums_of.get(c, []))
            self.lower[i], self.upper[i] = (0 if within else 1), MIN_N - 1
        if not self.knows_rules:
            return
        if reason == "small_remainder":
            self.lower[i] = T
            den = min(self.nums_of[c])
            self._linear({den: 1, c: -1}, 0, T - 1)
        elif reason == "complementary":
            z, floor = self.z[c], (max(T, MIN_N) if c in self.dens else T)
            self.rows.append(({i: 1, z: -self.big}, -np.inf, 0))
            self.rows.append(({i: 1, z: -floor}, 0, np.inf))
            for den in self.nums_of.get(c, []):
                if den in self.index or c in self.scope:
                    self._linear({den: 1, c: -1}, -self.big, np.inf, extra={z: -(T + self.big)})

    def bounds(self, terms: dict) -> tuple[float, float]:
        matrix = np.zeros((len(self.rows), self.size))
        for r, (coefs, _, _) in enumerate(self.rows):
            for j, a in coefs.items():
                matrix[r, j] = a
        lows = np.array([row[1] for row in self.rows])
        highs = np.array([row[2] for row in self.rows])
        objective, constant = np.zeros(self.size), 0.0
        for cell, a in terms.items():
            if cell in self.index:
                objective[self.index[cell]] += a
            else:
                constant += a * self.cells[cell][2]
        extremes = []
        for sign in (1, -1):
            if self.knows_rules:
                res = milp(
                    sign * objective,
                    integrality=np.ones(self.size),
                    bounds=Bounds(self.lower, self.upper),
                    constraints=[LinearConstraint(matrix, lows, highs)] if self.rows else [],
                )
            else:
                eq = lows == highs
                upper_rows, lower_rows = ~eq & np.isfinite(highs), ~eq & np.isfinite(lows)
                res = linprog(
                    sign * objective,
                    A_ub=np.vstack([matrix[upper_rows], -matrix[lower_rows]]),
                    b_ub=np.concatenate([highs[upper_rows], -lows[lower_rows]]),
                    A_eq=matrix[eq] if eq.any() else None,
                    b_eq=highs[eq] if eq.any() else None,
                    bounds=list(zip(self.lower, [None if np.isinf(u) else u for u in self.upper])),
                )
            if res.status == 3:
                extremes.append(-sign * math.inf)
            else:
                assert res.status == 0, res.message
                extremes.append(sign * res.fun + constant)
        low, high = extremes
        return (
            math.ceil(low - 1e-6) if math.isfinite(low) else low,
            math.floor(high + 1e-6) if math.isfinite(high) else high,
        )


def hidden_components(cells, pairs, relations):
    """Hidden cells linked through relations or numerator-group size pairs."""
    hidden = [c for c, (_, _, v) in cells.items() if v is None]
    parent = {c: c for c in hidden}

    def find(c):
        while parent[c] != c:
            c = parent[c]
        return c

    links = [[c for c in r.cells if c in parent] for r in relations] + [[a, b] for a, b in pairs]
    for group in links:
        group = [c for c in group if c in parent]
        for other in group[1:]:
            parent[find(other)] = find(group[0])
    out: dict = {}
    for c in hidden:
        out.setdefault(find(c), set()).add(c)
    return {c: comp for comp in out.values() for c in comp}


def quantity(attacker, c):
    if attacker.reason[c] == "small_remainder":
        return {min(attacker.nums_of[c]): 1, c: -1}
    return {c: 1}


def disclosures(tables, release, knows_rules: bool) -> list[str]:
    cells, pairs = published_cells(tables, release)
    relations = release.relations
    attacker = Attacker(cells, pairs, relations, knows_rules)
    component_of = hidden_components(cells, pairs, relations)
    found = []
    for c in attacker.hidden:
        display, reason, _ = cells[c]
        if reason not in ("small_count", "group_below_min_n", "small_remainder"):
            continue
        if display == f"<{T}":
            want = (1, T - 1)
        elif reason == "group_below_min_n" and c in attacker.dens:
            want = (1, MIN_N - 1)
        else:
            want = (0, 1)
        low, high = attacker.bounds(quantity(attacker, c))
        if low <= want[0] and high >= want[1]:
            continue
        comp = component_of[c]
        # published neighbours reopened, published zeros excepted (a zero total is public knowledge of its parts)
        opened = {x for r in relations if any(h in comp for h in r.cells) for x in r.cells if cells[x][2]}
        opened |= {x for a, b in pairs for x in (a, b) if (a in comp or b in comp) and cells[x][2]}
        # the floor is what the labels force on an attacker who knows the rules (the real one)
        ideal = Attacker(cells, pairs, relations, True, scope=comp, opened=opened)
        best = ideal.bounds(quantity(ideal, c))
        if low <= max(want[0], best[0]) and high >= min(want[1], best[1]):
            continue
        found.append(f"{c[1]} of {dict(c[0])} ({reason}) bounded to {low}..{high}, labels allow {best}")
    return found


def assert_safe(tables):
    release = suppress_release(tables, SETTINGS)
    for knows_rules in (False, True):
        found = disclosures(tables, release, knows_rules)
        assert not found, ("milp" if knows_rules else "linprog") + " attacker: " + "; ".join(found)
    return release


# ---------------------------------------------------------------- random releases


def group_sizes(rng, k: int) -> np.ndarray:
    """Mostly small groups: the hard cases for suppression."""
    kind = rng.choice(3, size=k, p=[0.5, 0.3, 0.2])
    small, mid, big = rng.integers(0, 16, k), rng.integers(10, 60, k), rng.integers(50, 400, k)
    return np.where(kind == 0, small, np.where(kind == 1, mid, big))


def outcomes(rng, sizes: np.ndarray) -> np.ndarray:
    rate = rng.choice([0.03, 0.15, 0.4, 0.9, 0.99], size=sizes.shape)
    return rng.binomial(sizes, rate)


def one_way(rng, name="by_race", dim="race", values=RACES, filters=None, sizes=None, two_numerators=False):
    k = len(values)
    n = group_sizes(rng, k) if sizes is None else sizes
    frame = {dim: list(values) + ["total"], "enrolled": list(n) + [int(n.sum())]}
    numerators = ("oss", "police") if two_numerators else ("oss",)
    for measure in numerators:
        x = outcomes(rng, n)
        frame[measure] = list(x) + [int(x.sum())]
    return CountTable(name, pl.DataFrame(frame), (dim,), numerators, "enrolled", filters or {})


def two_way_cells(rng, races, disabilities):
    n = np.stack([group_sizes(rng, len(disabilities)) for _ in races])
    return n, outcomes(rng, n)


def two_way(name, races, disabilities, n, x, filters=None):
    rows = []
    for i, r in enumerate(list(races) + ["total"]):
        for j, d in enumerate(list(disabilities) + ["total"]):
            ni = (
                n[i, j]
                if i < len(races) and j < len(disabilities)
                else (n[i].sum() if i < len(races) else (n[:, j].sum() if j < len(disabilities) else n.sum()))
            )
            xi = (
                x[i, j]
                if i < len(races) and j < len(disabilities)
                else (x[i].sum() if i < len(races) else (x[:, j].sum() if j < len(disabilities) else x.sum()))
            )
            rows.append({"race": r, "disability": d, "enrolled": int(ni), "oss": int(xi)})
    return CountTable(name, pl.DataFrame(rows), ("race", "disability"), ("oss",), "enrolled", filters or {})


def margin_table(name, dim, values, n_margin, x_margin):
    frame = pl.DataFrame(
        {
            dim: list(values) + ["total"],
            "enrolled": [int(v) for v in n_margin] + [int(n_margin.sum())],
            "oss": [int(v) for v in x_margin] + [int(x_margin.sum())],
        }
    )
    return CountTable(name, frame, (dim,), ("oss",), "enrolled")


def multi_table_release(rng):
    """Race table, disability table and their two-way table: the margins are shared cells."""
    races = RACES[: int(rng.integers(3, 6))]
    n, x = two_way_cells(rng, races, DISABILITY)
    return [
        margin_table("by_race", "race", races, n.sum(axis=1), x.sum(axis=1)),
        margin_table("by_disability", "disability", DISABILITY, n.sum(axis=0), x.sum(axis=0)),
        two_way("race_by_disability", races, DISABILITY, n, x),
    ]


def schools_release(rng):
    """A table per school and a district table by school: the district cells are sums over schools."""
    schools = [f"s{i}" for i in range(int(rng.integers(2, 5)))]
    per_school = [group_sizes(rng, 4) for _ in schools]
    oss = [outcomes(rng, n) for n in per_school]
    races = RACES[:4]
    tables = []
    for s, n, x in zip(schools, per_school, oss):
        frame = pl.DataFrame(
            {
                "race": list(races) + ["total"],
                "enrolled": [int(v) for v in n] + [int(n.sum())],
                "oss": [int(v) for v in x] + [int(x.sum())],
            }
        )
        tables.append(CountTable(f"school_{s}", frame, ("race",), ("oss",), "enrolled", {"school_id": s}))
    by_school = pl.DataFrame(
        {
            "school_id": schools + ["total"],
            "enrolled": [int(n.sum()) for n in per_school] + [int(sum(n.sum() for n in per_school))],
            "oss": [int(x.sum()) for x in oss] + [int(sum(x.sum() for x in oss))],
        }
    )
    tables.append(CountTable("district_by_school", by_school, ("school_id",), ("oss",), "enrolled"))
    total_n, total_x = sum(per_school), sum(oss)
    tables.append(margin_table("district_by_race", "race", races, total_n, total_x))
    return tables


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("seed", range(40))
def test_one_way_tables_resist_the_attacker(seed):
    rng = np.random.default_rng(seed)
    assert_safe([one_way(rng, two_numerators=seed % 2 == 0)])


@pytest.mark.parametrize("seed", range(30))
def test_two_way_tables_resist_the_attacker(seed):
    rng = np.random.default_rng(1000 + seed)
    races = RACES[: int(rng.integers(2, 6))]
    n, x = two_way_cells(rng, races, DISABILITY)
    assert_safe([two_way("race_by_disability", races, DISABILITY, n, x)])


@pytest.mark.parametrize("seed", range(25))
def test_multi_table_releases_resist_the_attacker(seed):
    rng = np.random.default_rng(2000 + seed)
    assert_safe(multi_table_release(rng))


@pytest.mark.parametrize("seed", range(20))
def test_school_and_district_tables_resist_the_attacker(seed):
    rng = np.random.default_rng(3000 + seed)
    assert_safe(schools_release(rng))


# Derandomized so CI runs the same 60 examples every time; a counterexample hypothesis found at random is kept
# below as its own test rather than left to chance.
@hyp_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(
    sizes=st.lists(st.integers(0, 40), min_size=2, max_size=6),
    rates=st.lists(st.sampled_from([0.0, 0.1, 0.5, 0.95, 1.0]), min_size=6, max_size=6),
)
def test_small_groups_resist_the_attacker(sizes, rates):
    _assert_small_groups_safe(sizes, rates)


# Found by hypothesis in CI on 2026-12-03: groups of 22, 0, 0, 22 and 1 with 11 of a hidden 22 printed. The attacker
# who knows that a printed count leaves 10 or more without the outcome bounded the group of 1 to 1..3 while the
# engine's audit, which did not know that rule, passed the release.
@pytest.mark.parametrize(
    "sizes, rates",
    [
        ([22, 0, 0, 22, 1], [0.95, 0.0, 0.0, 0.5, 0.0, 0.0]),
        ([22, 0, 22, 1], [0.95, 0.0, 0.5, 0.0, 0.0, 0.0]),
        ([30, 25, 2], [0.5, 0.6, 0.5, 0.0, 0.0, 0.0]),
        ([21, 21, 1, 0], [0.5, 0.5, 1.0, 0.0, 0.0, 0.0]),
    ],
)
def test_a_group_of_one_beside_a_printed_count_resists_the_attacker(sizes, rates):
    _assert_small_groups_safe(sizes, rates)


def _assert_small_groups_safe(sizes, rates):
    n = np.array(sizes)
    x = np.array([int(round(v * r)) for v, r in zip(sizes, rates)])
    frame = pl.DataFrame(
        {
            "race": list(RACES[: len(n)]) + ["total"],
            "enrolled": [int(v) for v in n] + [int(n.sum())],
            "oss": [int(v) for v in x] + [int(x.sum())],
        }
    )
    assert_safe([CountTable("t", frame, ("race",), ("oss",), "enrolled")])


def test_the_attacker_breaks_primary_suppression_alone():
    """The check has teeth: without complementary suppression the hidden count is recovered exactly."""
    frame = pl.DataFrame({"race": ["hi", "bl", "total"], "enrolled": [50, 60, 110], "oss": [4, 20, 24]})
    table = CountTable("t", frame, ("race",), ("oss",), "enrolled")
    release = suppress_release([table], SETTINGS)
    # publish the small count's neighbours as the engine would without complements
    naive = release.tables["t"]
    opened = naive.reason.with_columns(
        pl.when(pl.col("oss") == "complementary").then(None).otherwise(pl.col("oss")).alias("oss")
    )
    values = naive.published.with_columns(pl.Series("oss", [None, 20, 24], dtype=pl.Int64))
    displays = naive.display.with_columns(pl.Series("oss", ["<10", "20", "24"]))
    naive_release = type(release)(
        {"t": type(naive)("t", ("race",), displays, values, naive.hidden, opened, {})}, release.relations, SETTINGS
    )
    assert disclosures([table], naive_release, knows_rules=False) == [
        "oss of {'race': 'hi'} (small_count) bounded to 4..4, labels allow (1, 9)"
    ]
    assert disclosures([table], release, knows_rules=True) == []


def test_a_zero_counted_within_a_small_hidden_group_is_solvable_and_safe():
    """A group of 1-9 students with none referred: its referral count (0) is hidden with the group and is
    itself the group size of the case table. Bounding it 1-9 as a small group made the engine's program
    infeasible (the 2023-24 board report of the seed-42, 2,000-student demo); it is 0-9 for the attacker."""
    enrolled = pl.DataFrame(
        {"race": ["hi", "bl", "pi", "total"], "enrolled": [400, 300, 4, 704], "referred": [30, 25, 0, 55]}
    )
    cases = pl.DataFrame({"race": ["hi", "bl", "pi", "total"], "referred": [30, 25, 0, 55], "high": [12, 11, 0, 23]})
    tables = [
        CountTable("referral_by_race", enrolled, ("race",), ("referred",), "enrolled"),
        CountTable("high_by_race", cases, ("race",), ("high",), "referred"),
    ]
    release = assert_safe(tables)
    reasons = dict(
        zip(release.tables["referral_by_race"].reason["race"], release.tables["referral_by_race"].reason["referred"])
    )
    assert reasons["pi"] == "group_below_min_n"


def test_the_engines_audit_bounds_a_zero_within_a_hidden_group_from_zero():
    from access.disclosure_audit import GROUP, _Program
    from access.release_cells import build_model

    enrolled = pl.DataFrame({"race": ["hi", "pi", "total"], "enrolled": [400, 4, 404], "referred": [30, 0, 30]})
    cases = pl.DataFrame({"race": ["hi", "pi", "total"], "referred": [30, 0, 30], "high": [12, 0, 12]})
    tables = [
        CountTable("a", enrolled, ("race",), ("referred",), "enrolled"),
        CountTable("b", cases, ("race",), ("high",), "referred"),
    ]
    model = build_model(tables)
    hidden = {c: GROUP for c in model.cells if dict(c[0]).get("race") == "pi"}
    program = _Program(model, hidden, set(hidden), SETTINGS)
    bounds = {c[1]: (program.lower[program.index[c]], program.upper[program.index[c]]) for c in hidden}
    assert bounds["enrolled"] == (1, MIN_N - 1), "a small group on its own is 1 to min_n - 1"
    assert bounds["referred"] == (0, MIN_N - 1), "counted within a hidden group it may be 0"


def test_the_audit_knows_a_printed_count_leaves_ten_without_the_outcome():
    """The engine's program bounds a hidden group size from below by a printed count plus the threshold."""
    from access.disclosure_audit import COMPLEMENT, _Program
    from access.release_cells import build_model

    frame = pl.DataFrame({"race": ["hi", "bl", "total"], "enrolled": [22, 30, 52], "oss": [11, 3, 14]})
    model = build_model([CountTable("t", frame, ("race",), ("oss",), "enrolled")])
    sizes = {dict(c[0]).get("race"): c for c in model.cells if c[1] == "enrolled"}
    hidden = {sizes["hi"]: COMPLEMENT, sizes["bl"]: COMPLEMENT}

    def range_of_hi(settings):
        program = _Program(model, hidden, set(hidden), settings)
        return program.bounds_of({program.index[sizes["hi"]]: 1.0})

    # hi >= 11 + 10; bl >= 3 + 10, so hi <= 52 - 13
    assert range_of_hi(SETTINGS) == (11 + T, 52 - (3 + T))
    # without the remainder rule a printed count says only that the group is at least that large
    assert range_of_hi(SuppressionSettings(protect_remainder=False)) == (11, 52 - max(T, MIN_N))
