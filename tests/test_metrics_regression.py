"""The metric exports stay exactly what they were before the performance work (to 1e-12 relative).

Two kinds of check:

1. A frozen export. tests/data/regression_demo/input/ is the synthetic demo district of
   `python -m pipelines demo --students 4000 --years 3 --seed 11` (as of 2025-05-30), and
   state_reference.csv a synthetic state table derived from its district counts (40 n + 7 students,
   40 k + (row mod 5) with the outcome, every 7th group left out). expected/ holds every export file
   written by the straightforward per-slice code (one polars call and one scipy call per slice, group
   and table) before it was vectorised; idc_measures.csv and identification.csv were frozen at their first
   version, after every cell of the first was checked against the independent implementation of
   tests/test_metrics_idc.py and every run of the second recounted from disproportionality.csv. The test
   loads the same files through the real loader, exports, and compares each file cell by cell.
2. Reference implementations: the per-slice code, kept below as it was, against the vectorised
   functions on random counts and durations, including the small-number corners (zero counts, empty
   comparisons, a group missing from the state table, ties, groups of one case).
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import shutil
import warnings
from datetime import date
from fractions import Fraction
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from scipy import special, stats
from scipy.stats.contingency import relative_risk

from metrics.config import DEFAULT_SETTINGS, MetricSettings
from metrics.frames import finite_or_none

FIXTURE = Path(__file__).resolve().parent / "data" / "regression_demo"
AS_OF = date(2025, 5, 30)
RELATIVE = 1e-12


# -- 1. the frozen export --------------------------------------------------------------------------------------


def build_fixture_warehouse(db: Path, work: Path) -> None:
    """The demo files of the fixture through the loader, then the synthetic state_reference table."""
    from pipelines.loader import load_files
    from pipelines.reference.store import STATE_REFERENCE_DDL

    files = work / "files"
    files.mkdir(parents=True, exist_ok=True)
    for packed in sorted((FIXTURE / "input").glob("*.csv.gz")):
        with gzip.open(packed, "rb") as src, (files / packed.name[:-3]).open("wb") as dst:
            shutil.copyfileobj(src, dst)
    result = load_files(db, [files], "interchange", as_of=AS_OF, synthetic=True)
    assert result.exit_code == 0, result.error
    con = duckdb.connect(str(db))
    try:
        con.execute(STATE_REFERENCE_DDL.read_text())
        con.execute(
            "insert into state_reference select * from read_csv($p, header = true, "
            "columns = {'school_year': 'varchar', 'outcome': 'varchar', 'dimension': 'varchar', "
            "'group': 'varchar', 'n': 'bigint', 'k': 'bigint'})",
            {"p": str(FIXTURE / "state_reference.csv")},
        )
        con.execute("checkpoint")
    finally:
        con.close()


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    from pipelines.export import write_exports

    root = tmp_path_factory.mktemp("regression")
    db = root / "w.duckdb"
    build_fixture_warehouse(db, root)
    con = duckdb.connect(str(db), read_only=True)
    try:
        write_exports(con, root / "out", AS_OF)
    finally:
        con.close()
    return root / "out"


def _rows(text: str) -> tuple[list[str], list[list[str]]]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    return header, list(reader)


def _same_cell(expected: str, got: str) -> bool:
    if expected == got:
        return True
    try:
        e, g = float(expected), float(got)
    except ValueError:
        return False
    return math.isclose(e, g, rel_tol=RELATIVE, abs_tol=0.0)


def _export_files() -> list[str]:
    from pipelines.export import EXPORT_FILES

    return list(EXPORT_FILES)


@pytest.mark.slow
@pytest.mark.parametrize("name", _export_files())
def test_export_matches_the_frozen_output(exported, name):
    expected_header, expected = _rows(gzip.open(FIXTURE / "expected" / f"{name}.gz", "rt").read())
    header, got = _rows((exported / name).read_text())
    assert header == expected_header
    assert len(got) == len(expected), f"{name}: {len(got)} rows, expected {len(expected)}"
    for i, (e_row, g_row) in enumerate(zip(expected, got)):
        bad = [(col, e, g) for col, e, g in zip(header, e_row, g_row) if not _same_cell(e, g)]
        assert not bad, f"{name} row {i + 2}: {bad[:5]}"


_CI_LEVELS = ("all", "low", "moderate", "high", "imminent")
_CI_ESTIMATES = ("served_by_10", "served_by_30", "served_by_60", "ever_served", "days_to_50", "days_to_90")


def reference_time_to_intervention_ci(db: Path, as_of: date) -> list[dict]:
    """time_to_intervention_ci.csv from the raw tables: SQL for each case's outcome, then Aalen-Johansen in
    exact fractions one group and one day at a time (independent of metrics/competing_risks.py; it wrote
    expected/time_to_intervention_ci.csv.gz)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        cases = con.execute(
            """
            with c as (
                select case_id, school_year, school_id, reported_date,
                       case when assessed_date is null or assessed_date <= $as_of then concern_level end as level,
                       case when closed_date <= $as_of then closed_date end as closed
                from btam_cases where reported_date <= $as_of),
            a as (select case_id, min(action_date) as first_action from case_actions
                  where action_date <= $as_of group by case_id)
            select school_year, school_id, level,
                   case when first_action is not null and (closed is null or first_action <= closed) then 'S'
                        when closed is not null then 'C' else 'O' end as outcome,
                   date_diff('day', reported_date, case
                        when first_action is not null and (closed is null or first_action <= closed)
                        then first_action when closed is not null then closed else $as_of::date end) as days
            from c left join a using (case_id)""",
            {"as_of": as_of},
        ).fetchall()
    finally:
        con.close()
    groups: dict[tuple, list[tuple[int, str]]] = {}
    for year, school, level, outcome, days in cases:
        for scope in ("district", school):
            for lvl in ("all", level) if level else ("all",):
                groups.setdefault((year, scope, lvl), []).append((days, outcome))
    rows = []
    for (year, scope, level), members in groups.items():
        row = {
            "school_year": year,
            "scope": scope,
            "concern_level": level,
            "n_cases": len(members),
            **{
                f"n_{k}": sum(1 for _, o in members if o == code)
                for k, code in (("served", "S"), ("closed_unserved", "C"), ("open", "O"))
            },
        }
        estimates = dict.fromkeys(_CI_ESTIMATES)
        if len(members) >= 10:
            cif, free = Fraction(0), Fraction(1)
            by = {h: Fraction(0) for h in (10, 30, 60)}
            for day in sorted({d for d, _ in members}):
                n = sum(1 for d, _ in members if d >= day)
                d1 = sum(1 for d, o in members if d == day and o == "S")
                d2 = sum(1 for d, o in members if d == day and o == "C")
                cif += free * Fraction(d1, n)
                free *= 1 - Fraction(d1 + d2, n)
                by.update({h: cif for h in by if day <= h})
                for name, level_ in (("days_to_50", Fraction(1, 2)), ("days_to_90", Fraction(9, 10))):
                    if estimates[name] is None and cif >= level_:
                        estimates[name] = float(day)
            estimates.update({f"served_by_{h}": float(v) for h, v in by.items()}, ever_served=float(cif))
        rows.append(row | estimates)
    rows.sort(
        key=lambda r: (r["school_year"], r["scope"] != "district", r["scope"], _CI_LEVELS.index(r["concern_level"]))
    )
    return rows


@pytest.mark.slow
def test_time_to_intervention_ci_matches_the_exact_reference(exported, tmp_path_factory):
    db = next(exported.parent.glob("*.duckdb"))
    expected = reference_time_to_intervention_ci(db, AS_OF)
    got = list(csv.DictReader((exported / "time_to_intervention_ci.csv").open()))
    assert len(got) == len(expected) and len(got) > 50
    assert any(r["days_to_90"] is None and r["n_cases"] >= 10 for r in expected)  # "never reached" occurs
    assert any(r["n_closed_unserved"] for r in expected) and any(r["n_open"] for r in expected)
    for e, g in zip(expected, got):
        for col, value in e.items():
            assert _same_cell("" if value is None else str(value), g[col]), (e, col, g[col])


def test_fixture_covers_the_paths_that_matter():
    """The frozen data exercise every ratio method, every independence test and both log-rank forms."""

    def column(name: str, col: str) -> set[str]:
        header, rows = _rows(gzip.open(FIXTURE / "expected" / f"{name}.gz", "rt").read())
        return {r[header.index(col)] for r in rows}

    assert column("disproportionality.csv", "ratio_method") == {"none", "risk_ratio", "alternate_risk_ratio"}
    assert column("concern_level_tests.csv", "method") >= {"monte_carlo", "fisher_exact", "not_applicable"}
    assert column("logrank.csv", "method") >= {"logrank_two_groups", "logrank_k_groups", "not_applicable"}
    assert column("disproportionality.csv", "flagged") == {"true", "false"}
    assert column("disproportionality_detail.csv", "persistent") == {"true", "false"}


# -- 2. reference implementations ------------------------------------------------------------------------------
# The code below is the per-slice implementation as it stood before vectorisation, kept verbatim in
# substance: it is slow and obvious, which is what a reference should be.

SLICE_KEY = ("school_year", "scope", "outcome", "dimension")


def _ref_passes(k, n, s):
    return k >= s.min_cell and n >= s.min_n


def _ref_fisher(k, n, ck, cn):
    """scipy.stats.fisher_exact's two-sided p, summed over the hypergeometric support of one table."""
    total, events = n + cn, k + ck

    def log_choose(a, b):
        return special.gammaln(np.add(a, 1)) - special.gammaln(np.add(b, 1)) - special.gammaln(np.subtract(a, b) + 1)

    support = np.arange(max(0, n - (total - events)), min(n, events) + 1)
    log_pmf = log_choose(events, support) + log_choose(total - events, n - support) - log_choose(total, n)
    observed = log_pmf[k - support[0]]
    return finite_or_none(min(1.0, np.exp(log_pmf[log_pmf <= observed + np.log1p(1e-7)]).sum()))


def _ref_slice(rows, state, s):
    """rows: [(group, n, k)]; state: {group: (n, k)} or None. The spec's columns plus the extras."""
    total_n = sum(n for _, n, _ in rows)
    total_k = sum(k for _, _, k in rows)
    out = []
    for g, n, k in rows:
        if n == 0:
            continue
        cn, ck = total_n - n, total_k - k
        risk = k / n
        comp = ck / cn if cn > 0 else None
        method, ref_k, ref_n = "none", 0, 0
        if _ref_passes(k, n, s) and k > 0:
            if _ref_passes(ck, cn, s) and ck > 0:
                method, ref_k, ref_n = "risk_ratio", ck, cn
            elif state is not None:
                sn = sum(v[0] for gg, v in state.items() if gg != g)
                sk = sum(v[1] for gg, v in state.items() if gg != g)
                if sn > 0 and sk > 0:
                    method, ref_k, ref_n = "alternate_risk_ratio", sk, sn
        ratio = low = high = None
        flagged = False
        if method != "none":
            ci = relative_risk(k, n, ref_k, ref_n).confidence_interval(confidence_level=1 - s.alpha)
            ratio, low, high = float(Fraction(k * ref_n, n * ref_k)), finite_or_none(ci.low), finite_or_none(ci.high)
            flagged = Fraction(k * ref_n) > Fraction(str(s.threshold)) * n * ref_k
        weighted = None
        if state is not None and _ref_passes(k, n, s):
            others = [(state.get(o, (0, 0))[0], ok / on) for o, on, ok in rows if o != g and on > 0]
            weight = sum(w for w, _ in others)
            if weight > 0:
                c = sum(w * r for w, r in others) / weight
                weighted = finite_or_none(k / n / c) if c > 0 else None
        out.append(
            dict(
                group=g,
                n=n,
                k=k,
                comparison_n=cn,
                comparison_k=ck,
                risk=risk,
                comparison_risk=comp,
                risk_ratio=ratio,
                ratio_method=method,
                rr_ci_low=low,
                rr_ci_high=high,
                risk_difference=None if comp is None else risk - comp,
                p_value=_ref_fisher(k, n, ck, cn) if cn > 0 else None,
                flagged=flagged,
                outcome_share=k / total_k if total_k > 0 else None,
                population_share=n / total_n,
                weighted_risk_ratio=weighted,
                comparison_group="others_in_state" if method == "alternate_risk_ratio" else "others_in_scope",
                ratio_comparison_n=ref_n if method == "alternate_risk_ratio" else cn,
                ratio_comparison_k=ref_k if method == "alternate_risk_ratio" else ck,
                ratio_comparison_risk=ref_k / ref_n if method == "alternate_risk_ratio" else comp,
                ratio_risk_difference=(risk - ref_k / ref_n)
                if method == "alternate_risk_ratio"
                else (None if comp is None else risk - comp),
                ratio_p_value=_ref_fisher(k, n, ref_k, ref_n)
                if method == "alternate_risk_ratio"
                else (_ref_fisher(k, n, ck, cn) if cn > 0 else None),
            )
        )
    return out


def _ref_table(counts: pl.DataFrame, state_reference: pl.DataFrame | None, s: MetricSettings) -> list[dict]:
    states: dict[tuple, dict] = {}
    if state_reference is not None:
        for y, o, d, g, n, k in state_reference.select(
            "school_year", "outcome", "dimension", "group", "n", "k"
        ).iter_rows():
            states.setdefault((y, o, d), {})[g] = (n, k)
    slices: dict[tuple, list] = {}
    for y, sc, o, d, g, n, k in counts.select(*SLICE_KEY, "group", "n", "k").iter_rows():
        slices.setdefault((y, sc, o, d), []).append((g, n, k))
    table = []
    for (y, sc, o, d), rows in slices.items():
        for r in _ref_slice(rows, states.get((y, o, d)) if state_reference is not None else None, s):
            table.append(dict(school_year=y, scope=sc, outcome=o, dimension=d, **r))
    families: dict[tuple, list] = {}
    for r in table:
        families.setdefault((r["school_year"], r["scope"], r["outcome"]), []).append(r)
    for rows in families.values():
        present = [r for r in rows if r["p_value"] is not None]
        for r in rows:
            r["q_value"] = None
        if present:
            q = stats.false_discovery_control([r["p_value"] for r in present], method="bh")
            for r, v in zip(present, q):
                r["q_value"] = finite_or_none(v)
    flagged = {
        (r["school_year"][:4], r["scope"], r["outcome"], r["dimension"], r["group"]): r["flagged"] for r in table
    }
    for r in table:
        start = int(r["school_year"][:4])
        r["persistent"] = all(
            flagged.get((str(start - b), r["scope"], r["outcome"], r["dimension"], r["group"]), False)
            for b in range(s.persistence_years)
        )
    return table


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=RELATIVE, abs_tol=0.0)
    return a == b


def _assert_rows_equal(expected: list[dict], got: pl.DataFrame, columns) -> None:
    assert got.height == len(expected)
    for i, (e, g) in enumerate(zip(expected, got.iter_rows(named=True))):
        bad = {c: (e[c], g[c]) for c in columns if not _close(e[c], g[c])}
        assert not bad, f"row {i} ({e.get('group')}): {bad}"


def _random_counts(rng: np.random.Generator, with_state: bool):
    years = ["2022-23", "2023-24", "2024-25"]
    rows, state = [], []
    groups = ["a", "b", "c", "d", "e"]
    for y in years:
        for scope in ["district", "S1", "S2"]:
            for outcome in ["o1", "o2"]:
                for dim in ["d1", "d2"]:
                    kinds = rng.integers(0, 6)
                    for g in groups[: 1 + rng.integers(0, len(groups))]:
                        n = int(rng.choice([0, 1, 5, 29, 30, 31, 60, 200, 3000])) if kinds else 40
                        k = int(rng.integers(0, n + 1)) if rng.random() < 0.7 else min(n, int(rng.integers(0, 12)))
                        rows.append((y, scope, outcome, dim, g, n, k))
                    if with_state:
                        for g in groups:
                            if rng.random() < 0.8:
                                n = int(rng.integers(0, 5000))
                                state.append((y, outcome, dim, g, n, int(rng.integers(0, n + 1))))
    counts = pl.DataFrame(
        rows,
        orient="row",
        schema={
            "school_year": pl.String,
            "scope": pl.String,
            "outcome": pl.String,
            "dimension": pl.String,
            "group": pl.String,
            "n": pl.Int64,
            "k": pl.Int64,
        },
    )
    ref = (
        pl.DataFrame(
            state,
            orient="row",
            schema={
                "school_year": pl.String,
                "outcome": pl.String,
                "dimension": pl.String,
                "group": pl.String,
                "n": pl.Int64,
                "k": pl.Int64,
            },
        ).unique(["school_year", "outcome", "dimension", "group"], maintain_order=True)
        if with_state
        else None
    )
    return counts, ref


@pytest.mark.parametrize("seed", range(6))
def test_disproportionality_table_matches_the_per_slice_reference(seed):
    from metrics.disproportionality import EXPORT_COLUMNS, disproportionality_table

    rng = np.random.default_rng(seed)
    counts, state = _random_counts(rng, with_state=seed % 2 == 0)
    settings = MetricSettings() if seed < 4 else MetricSettings(min_cell=3, min_n=5, threshold=1.5, persistence_years=2)
    got = disproportionality_table(counts, state, settings)
    assert tuple(got.columns) == EXPORT_COLUMNS
    _assert_rows_equal(_ref_table(counts, state, settings), got, EXPORT_COLUMNS)


def test_disproportionality_table_of_nothing_and_of_threshold_boundaries():
    from metrics.disproportionality import EXPORT_COLUMNS, disproportionality_table

    empty = pl.DataFrame(
        schema={
            "school_year": pl.String,
            "scope": pl.String,
            "outcome": pl.String,
            "dimension": pl.String,
            "group": pl.String,
            "n": pl.Int64,
            "k": pl.Int64,
        }
    )
    assert disproportionality_table(empty).columns == list(EXPORT_COLUMNS)
    # ratio exactly 2 (not flagged) beside a hair above (flagged); a float threshold compared exactly
    counts = pl.DataFrame(
        {
            "school_year": ["2024-25"] * 4,
            "scope": ["district"] * 4,
            "outcome": ["o"] * 4,
            "dimension": ["d"] * 4,
            "group": ["a", "b", "c", "e"],
            "n": [100, 200, 300, 1],
            "k": [20, 20, 41, 0],
        }
    )
    for settings in (DEFAULT_SETTINGS, MetricSettings(threshold=0.1 + 0.2)):
        _assert_rows_equal(
            _ref_table(counts, None, settings), disproportionality_table(counts, None, settings), EXPORT_COLUMNS
        )


# -- survival --------------------------------------------------------------------------------------------------


def _ref_kaplan_meier(t: np.ndarray, e: np.ndarray):
    """n_cases, n_events, median, median CI, p90 through scipy.stats.ecdf, one group at a time."""
    if t.size == 0:
        return 0, 0, None, None, None, None
    sf = stats.ecdf(stats.CensoredData(uncensored=t[e], right=t[~e])).sf
    days, survival = sf.quantiles, sf.probabilities
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        band = sf.confidence_interval(confidence_level=0.95, method="log-log")
    low, high = band.low.probabilities, band.high.probabilities

    def first(values, level):
        hit = np.nonzero(values <= level + 1e-12)[0]
        return float(days[hit[0]]) if hit.size else None

    return (
        int(t.size),
        int(e.sum()),
        first(survival, 0.5),
        first(np.where(np.isnan(low), survival, low), 0.5),
        first(np.where(np.isnan(high), survival, high), 0.5),
        first(survival, 0.1),
    )


def _random_cases(rng: np.random.Generator, groups: int, size: int) -> pl.DataFrame:
    g = rng.integers(0, groups, size)
    # a few groups of one case, all-censored groups and many ties
    t = np.where(rng.random(size) < 0.5, rng.integers(0, 6, size), rng.integers(0, 120, size)).astype(float)
    e = rng.random(size) < np.where(g % 7 == 3, 0.0, 0.75)
    return pl.DataFrame(
        {
            "school_year": np.where(g % 2 == 0, "2023-24", "2024-25"),
            "scope": [f"S{x // 2}" for x in g],
            "duration_days": t,
            "event": e,
            "concern_level": rng.choice(["low", "moderate", "high", "imminent", None], size),
        }
    )


@pytest.mark.parametrize("seed", range(4))
def test_time_to_intervention_matches_per_group_kaplan_meier(seed):
    from metrics.survival import time_to_intervention

    rng = np.random.default_rng(100 + seed)
    cases = _random_cases(rng, groups=[3, 40, 90, 7][seed], size=[5, 400, 3000, 60][seed])
    got = time_to_intervention(cases, by=("school_year", "scope"))
    expected = []
    for key, part in cases.partition_by(["school_year", "scope"], as_dict=True, maintain_order=True).items():
        r = _ref_kaplan_meier(part["duration_days"].to_numpy().astype(float), part["event"].to_numpy())
        expected.append(
            dict(
                zip(
                    (
                        "school_year",
                        "scope",
                        "n_cases",
                        "n_events",
                        "median_days",
                        "median_ci_low",
                        "median_ci_high",
                        "p90_days",
                    ),
                    (*key, *r),
                )
            )
        )
    _assert_rows_equal(expected, got, expected[0].keys() if expected else [])
    whole = time_to_intervention(cases)
    r = _ref_kaplan_meier(cases["duration_days"].to_numpy().astype(float), cases["event"].to_numpy())
    assert all(_close(a, b) for a, b in zip(r, whole.row(0)))


def _ref_logrank(cases: pl.DataFrame):
    """Two groups through scipy.stats.logrank, more through U' V^-1 U on the first K-1 groups."""
    parts = {
        k[0]: (p["duration_days"].to_numpy().astype(float), p["event"].to_numpy())
        for k, p in cases.filter(pl.col("group").is_not_null()).partition_by("group", as_dict=True).items()
    }
    names = tuple(sorted(str(g) for g in parts))
    data = [parts[g] for g in sorted(parts, key=str)]
    if len(data) < 2 or not any(e.any() for _, e in data):
        return "not_applicable", None, None, None, names
    if len(data) == 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = stats.logrank(*(stats.CensoredData(uncensored=t[e], right=t[~e]) for t, e in data))
        z = finite_or_none(res.statistic)
        return "logrank_two_groups", None if z is None else z * z, 1, finite_or_none(res.pvalue), names
    k = len(data)
    days = np.unique(np.concatenate([t[e] for t, e in data]))
    u, v = np.zeros(k), np.zeros((k, k))
    for day in days:
        r = np.array([(t >= day).sum() for t, _ in data], dtype=float)
        d = np.array([(e & (t == day)).sum() for t, e in data], dtype=float)
        n, dd = r.sum(), d.sum()
        u += d - dd * r / n
        if n > 1:
            share = r / n
            v += dd * (n - dd) / (n - 1) * (np.diag(share) - np.outer(share, share))
    u, v = u[:-1], v[:-1, :-1]
    df = int(np.linalg.matrix_rank(v)) if v.size else 0
    if df == 0:
        return "logrank_k_groups", None, 0, None, names
    stat = finite_or_none(float(u @ np.linalg.pinv(v) @ u))
    return "logrank_k_groups", stat, df, finite_or_none(stats.chi2.sf(stat, df)) if stat is not None else None, names


@pytest.mark.parametrize("seed", range(5))
def test_logrank_matches_the_reference(seed):
    from metrics.survival import logrank_test

    rng = np.random.default_rng(200 + seed)
    size = [3, 30, 300, 2000, 50][seed]
    cases = _random_cases(rng, groups=5, size=size).with_columns(
        pl.Series("group", rng.choice(["a", "b", "c", "d", None][: [2, 3, 5, 5, 4][seed]], size))
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = logrank_test(cases, group="group")
    expected = _ref_logrank(cases)
    assert (got.method, got.df, got.groups) == (expected[0], expected[2], expected[4])
    assert _close(expected[1], got.statistic) and _close(expected[3], got.p_value)


# -- levels of concern -----------------------------------------------------------------------------------------

LEVELS = ("low", "moderate", "high", "imminent")


def _random_level_counts(rng: np.random.Generator, tests: int) -> pl.DataFrame:
    rows = []
    for i in range(tests):
        size = int(rng.choice([1, 4, 12, 40, 400]))
        groups = ["a", "b", "c", "d", "e"][: 1 + int(rng.integers(0, 5))]
        for g in groups:
            for lvl in LEVELS:
                if rng.random() < 0.7:
                    rows.append((f"T{i // 3}", f"S{i % 3}", g, lvl, int(rng.integers(0, size + 1))))
        if i % 9 == 4:
            rows.append((f"T{i // 3}", f"S{i % 3}", "a", None, 3))  # unassessed cases: not part of the table
    return pl.DataFrame(
        rows,
        orient="row",
        schema={"year": pl.String, "scope": pl.String, "group": pl.String, "concern_level": pl.String, "n": pl.Int64},
    )


@pytest.mark.parametrize("seed", range(3))
def test_concern_independence_table_matches_one_test_at_a_time(seed):
    from metrics.concern import concern_independence, concern_independence_table

    counts = _random_level_counts(np.random.default_rng(300 + seed), 60)
    settings = MetricSettings(permutations=500 if seed else 10_000)
    got = concern_independence_table(counts, ["year", "scope"], "group", settings)
    parts = counts.partition_by(["year", "scope"], as_dict=True, maintain_order=True)
    assert got.height == len(parts)
    methods = set()
    for (key, part), row in zip(parts.items(), got.iter_rows(named=True)):
        ref = concern_independence(part.select("group", "concern_level", "n"), by="group", settings=settings)
        methods.add(ref.method)
        assert (row["year"], row["scope"]) == key
        assert (row["method"], row["df"], row["n"], tuple(row["groups"]), tuple(row["levels"])) == (
            ref.method,
            ref.df,
            ref.n,
            ref.groups,
            ref.levels,
        )
        for name in ("statistic", "p_value", "min_expected"):
            assert _close(getattr(ref, name), row[name]), (key, name, getattr(ref, name), row[name])
    assert {"monte_carlo", "chi_square", "not_applicable"} <= methods


def test_monte_carlo_in_a_helper_process_gives_the_same_p_values(monkeypatch):
    import importlib

    concern = importlib.import_module("metrics.concern")
    counts = _random_level_counts(np.random.default_rng(7), 90)
    settings = MetricSettings(permutations=300)
    alone = concern.concern_independence_table(counts, ["year", "scope"], "group", settings)
    monkeypatch.setattr(concern, "_PARALLEL_FROM", 2)
    shared = concern.concern_independence_table(counts, ["year", "scope"], "group", settings)
    assert shared.equals(alone)


# -- Mantel-Haenszel -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_mantel_haenszel_table_matches_one_key_at_a_time(seed):
    from metrics.stratified import mantel_haenszel, mantel_haenszel_table

    rng = np.random.default_rng(400 + seed)
    rows = []
    for key in range(150):
        for stratum in LEVELS[: 1 + int(rng.integers(0, 4))]:
            size = int(rng.choice([0, 1, 3, 10, 60, 9000]))
            cells = rng.multinomial(size, rng.dirichlet(np.ones(4))) if rng.random() < 0.8 else np.zeros(4, int)
            if rng.random() < 0.15:
                cells[int(rng.integers(0, 4))] = 0
            rows.append((f"k{key % 50}", f"s{key // 50}", stratum, *map(int, cells)))
    strata = pl.DataFrame(
        rows,
        orient="row",
        schema={
            "k": pl.String,
            "s": pl.String,
            "label": pl.String,
            "a": pl.Int64,
            "b": pl.Int64,
            "c": pl.Int64,
            "d": pl.Int64,
        },
    )
    got = mantel_haenszel_table(strata, ["k", "s"], "label", confidence_level=0.95)
    parts = strata.partition_by(["k", "s"], as_dict=True, maintain_order=True)
    assert got.height == len(parts)
    names = (
        "odds_ratio",
        "ci_low",
        "ci_high",
        "cmh",
        "cmh_p",
        "cmh_corrected",
        "cmh_corrected_p",
        "breslow_day",
        "breslow_day_p",
        "breslow_day_df",
    )
    for (key, part), row in zip(parts.items(), got.iter_rows(named=True)):
        tables = [[[a, b], [c, d]] for a, b, c, d in part.select("a", "b", "c", "d").iter_rows()]
        ref = mantel_haenszel(tables, part["label"].to_list())
        assert (row["k"], row["s"]) == key
        assert (tuple(row["strata_used"]), tuple(row["strata_skipped"])) == (ref.strata_used, ref.strata_skipped)
        assert [row[x] for x in "abcd"] == [int(part[x].sum()) for x in "abcd"]
        for name in names:
            assert _close(getattr(ref, name), row[name]), (key, name, getattr(ref, name), row[name])


# -- log-rank with many groups ---------------------------------------------------------------------------------


def test_logrank_with_many_groups_agrees_with_the_svd_form():
    """Above _EXACT_K_MAX groups the statistic comes from a Cholesky solve: the same number to 1e-12."""
    import importlib

    survival = importlib.import_module("metrics.survival")
    rng = np.random.default_rng(500)
    size = 4000
    cases = pl.DataFrame(
        {
            "group": [f"g{x:03d}" for x in rng.integers(0, 120, size)],
            "duration_days": rng.integers(0, 40, size).astype(float),
            "event": rng.random(size) < 0.7,
        }
    )
    got = survival.logrank_test(cases)
    assert got.method == "logrank_k_groups" and len(got.groups) > survival._EXACT_K_MAX + 1
    expected = _ref_logrank(cases)
    assert got.df == expected[2]
    assert _close(expected[1], got.statistic) and _close(expected[3], got.p_value)
