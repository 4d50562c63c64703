"""IDC measures (metrics/idc.py): a worked example built from the documented formulas, and an
independent implementation of the formulas over many slices.

Sources of the formulas (docs/METHODOLOGY.md, "IDC measures"):
- composition, relative difference in composition, E-formula, risk difference: Bollmer, Bethel, Munk
  & Bitterman, Methods for Assessing Racial/Ethnic Disproportionality in Special Education: A Technical
  Assistance Guide (Revised), IDEA Data Center / Westat, May 2014 (the measures of the IDC calculator);
- 80% index and percentage point gap with its margin of error: DisImpact (R), di_80_index and di_ppg /
  ppg_moe, after California Community Colleges Chancellor's Office (2017), Percentage Point Gap Method.
"""
from __future__ import annotations

import math
import random

import polars as pl
import pytest

from metrics.config import MetricSettings
from metrics.idc import IDC_COLUMNS, idc_measures

KEY = {"school_year": "2024-25", "scope": "district", "outcome": "oss_or_expulsion", "dimension": "race_ethnicity"}
# The small-cell table of the project's worked examples: students with one or more OSS, by race.
WORKED = {"hi": (120, 14), "bl": (48, 9), "wh": (210, 11), "as": (8, 0), "mu": (22, 3)}
STATE_N = {"hi": 30_000, "bl": 12_000, "wh": 50_000, "as": 5_000, "mu": 3_000}


def counts(groups: dict[str, tuple[int, int]], **key: str) -> pl.DataFrame:
    key = KEY | key
    return pl.DataFrame([{**key, "group": g, "n": n, "k": k} for g, (n, k) in groups.items()])


def state(groups: dict[str, int]) -> pl.DataFrame:
    return pl.DataFrame([{"school_year": KEY["school_year"], "outcome": KEY["outcome"],
                          "dimension": KEY["dimension"], "group": g, "n": n, "k": n // 20} for g, n in groups.items()])


def row(frame: pl.DataFrame, group: str) -> dict:
    return frame.filter(pl.col("group") == group).row(0, named=True)


def test_worked_example_by_hand():
    """Black students, 9 of 48 suspended; all students 37 of 408; the state's enrollment 12,000 of
    100,000. Values worked with exact fractions and 30-digit decimals from the guide's formulas."""
    bl = row(idc_measures(counts(WORKED), state(STATE_N)), "bl")
    expected = {
        "risk": 0.1875,                                   # 9 / 48
        "comparison_risk": 0.0777777777777778,            # 28 / 360
        "outcome_composition": 0.243243243243243,         # 9 / 37
        "population_composition": 0.117647058823529,      # 48 / 408 = 2 / 17
        "relative_difference_in_composition": 1.06756756756757,  # (9/37 - 2/17) / (2/17) = 79/74
        "e_formula_limit": 0.170614725751853,             # 2/17 + sqrt((2/17)(15/17) / 37)
        "state_population_composition": 0.12,             # 12,000 / 100,000
        "e_formula_state_limit": 0.173423347462079,       # 0.12 + sqrt(0.12 x 0.88 / 37)
        "risk_difference": 0.109722222222222,             # 0.1875 - 7/90
        "rd_ci_low": -0.00410889650339880,                # Wald, z = 1.959964
        "rd_ci_high": 0.223553340947843,
        "index_80": 0.8125,                               # (39/48) / (8/8): the highest success rate is as
        "overall_risk": 0.0906862745098039,               # 37 / 408
        "percentage_point_gap": 0.0968137254901961,       # 0.1875 - 37/408
        "ppg_moe": 0.141450815951458,                     # 1.96 sqrt(0.25 / 48), above the minimum 0.03
    }
    for name, value in expected.items():
        assert bl[name] == pytest.approx(value, abs=1e-6), name
    assert bl["e_formula_exceeded"] and bl["e_formula_state_exceeded"]  # 0.2432 > 0.1706 and > 0.1734
    assert not bl["index_80_flagged"]                                    # 0.8125 is not below 0.8
    assert not bl["ppg_flagged"]                                         # gap 0.0968 < moe 0.1415
    assert not bl["meets_sizes"]                                         # k 9 < cell size 10
    assert row(idc_measures(counts(WORKED)), "hi")["meets_sizes"]        # 14 of 120


def test_second_worked_example_flags_every_measure():
    """Group a 120 of 400, group b 60 of 600: every measure finds group a, none finds group b."""
    frame = idc_measures(counts({"a": (400, 120), "b": (600, 60)}))
    a, b = row(frame, "a"), row(frame, "b")
    assert a["relative_difference_in_composition"] == pytest.approx(2 / 3, abs=1e-9)  # (120/180 - 0.4) / 0.4
    assert a["e_formula_limit"] == pytest.approx(0.436514837167011, abs=1e-9)         # 0.4 + sqrt(0.24 / 180)
    assert a["rd_ci_low"] == pytest.approx(0.149078641966572, abs=1e-9)
    assert a["rd_ci_high"] == pytest.approx(0.250921358033428, abs=1e-9)
    assert a["index_80"] == pytest.approx(0.7 / 0.9, abs=1e-12)
    assert a["percentage_point_gap"] == pytest.approx(0.12, abs=1e-12)
    assert a["ppg_moe"] == pytest.approx(0.049, abs=1e-12)                           # 1.96 sqrt(0.25 / 400)
    assert a["e_formula_exceeded"] and a["index_80_flagged"] and a["ppg_flagged"]
    assert not (b["e_formula_exceeded"] or b["index_80_flagged"] or b["ppg_flagged"])
    assert b["ppg_moe"] == pytest.approx(max(1.96 * math.sqrt(0.25 / 600), 0.03), abs=1e-12)


def test_minimum_margin_of_error_and_cutoff_are_settings():
    big = idc_measures(counts({"a": (40_000, 4_100), "b": (60_000, 5_400)}))
    assert row(big, "a")["ppg_moe"] == pytest.approx(0.03)       # 1.96 sqrt(0.25/40000) = 0.0049 < 0.03
    assert not row(big, "a")["ppg_flagged"]                       # gap 0.0074 is below 0.03
    loose = idc_measures(counts({"a": (40_000, 4_100), "b": (60_000, 5_400)}), settings=MetricSettings(ppg_min_moe=0))
    assert row(loose, "a")["ppg_flagged"]                         # ... but above 0.0049
    strict = idc_measures(counts({"a": (400, 120), "b": (600, 60)}), settings=MetricSettings(index_80_cutoff=0.75))
    assert not row(strict, "a")["index_80_flagged"]               # 0.778 is not below 0.75
    with pytest.raises(ValueError, match="index_80_cutoff"):
        MetricSettings(index_80_cutoff=1.5)
    with pytest.raises(ValueError, match="ppg_min_moe"):
        MetricSettings(ppg_min_moe=-0.1)


def independent(groups: dict[str, tuple[int, int]], state_n: dict[str, int] | None, alpha: float = 0.05,
                cutoff: float = 0.8, min_moe: float = 0.03) -> dict[str, dict]:
    """The formulas again, one group at a time in plain Python (math only)."""
    z = {0.05: 1.959963984540054, 0.1: 1.6448536269514722}[alpha]
    groups = {g: nk for g, nk in groups.items() if nk[0] > 0}
    big_n, big_k = sum(n for n, _ in groups.values()), sum(k for _, k in groups.values())
    best = max(1 - k / n for n, k in groups.values())
    out = {}
    for g, (n, k) in groups.items():
        p1 = k / n
        cn, ck = big_n - n, big_k - k
        p0 = ck / cn if cn else None
        share_out = k / big_k if big_k else None
        share_pop = n / big_n
        r = {"risk": p1, "comparison_risk": p0, "outcome_composition": share_out,
             "population_composition": share_pop, "overall_risk": big_k / big_n}
        r["relative_difference_in_composition"] = None if share_out is None else (share_out - share_pop) / share_pop
        r["e_formula_limit"] = None if not big_k else share_pop + math.sqrt(share_pop * (1 - share_pop) / big_k)
        r["e_formula_exceeded"] = r["e_formula_limit"] is not None and share_out > r["e_formula_limit"]
        if p0 is None:
            r["risk_difference"] = r["rd_ci_low"] = r["rd_ci_high"] = None
        else:
            se = math.sqrt(p1 * (1 - p1) / n + p0 * (1 - p0) / cn)
            r["risk_difference"] = p1 - p0
            r["rd_ci_low"], r["rd_ci_high"] = p1 - p0 - z * se, p1 - p0 + z * se
        r["index_80"] = None if best == 0 else (1 - p1) / best
        r["index_80_flagged"] = r["index_80"] is not None and r["index_80"] < cutoff
        r["percentage_point_gap"] = p1 - big_k / big_n
        r["ppg_moe"] = max(1.96 * math.sqrt(0.25 / n), min_moe)
        # DisImpact's own rule on the converse (not having the outcome): success + moe <= overall success
        r["ppg_flagged"] = (1 - p1) + r["ppg_moe"] <= 1 - big_k / big_n + 1e-12
        if state_n is not None:
            share = state_n[g] / sum(state_n.values()) if g in state_n else None
            limit = None if share is None or not big_k else share + math.sqrt(share * (1 - share) / big_k)
            r["state_population_composition"], r["e_formula_state_limit"] = share, limit
            r["e_formula_state_exceeded"] = limit is not None and share_out > limit
        out[g] = r
    return out


@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_against_an_independent_implementation(alpha):
    rng = random.Random(17)
    frames, expected = [], {}
    for s in range(60):
        groups = {}
        for g in ["hi", "bl", "wh", "as", "mu", "am", "pi"][:rng.randint(1, 7)]:
            n = rng.choice([0, 1, 5, 30, 31, 200, 5000])
            groups[g] = (n, rng.randint(0, n) if rng.random() > 0.2 else 0)
        key = {"school_year": f"20{10 + s % 5}-{11 + s % 5}", "scope": f"s{s}"}
        frames.append(counts(groups, **key))
        expected[key["scope"]] = independent(groups, None, alpha)
    settings = MetricSettings(alpha=alpha)
    got = idc_measures(pl.concat(frames), settings=settings)
    assert got.height == sum(len(v) for v in expected.values())
    for r in got.iter_rows(named=True):
        want = expected[r["scope"]][r["group"]]
        for name, value in want.items():
            if value is None:
                assert r[name] is None, (r["scope"], r["group"], name)
            elif isinstance(value, bool):
                assert r[name] is value, (r["scope"], r["group"], name)
            else:
                assert r[name] == pytest.approx(value, rel=1e-12, abs=1e-12), (r["scope"], r["group"], name)


def test_state_comparison_against_the_independent_implementation():
    got = idc_measures(counts(WORKED), state({g: n for g, n in STATE_N.items() if g != "mu"}))
    want = independent(WORKED, {g: n for g, n in STATE_N.items() if g != "mu"})
    for g, values in want.items():
        for name in ("state_population_composition", "e_formula_state_limit", "e_formula_state_exceeded"):
            assert row(got, g)[name] == (pytest.approx(values[name], abs=1e-12)
                                         if isinstance(values[name], float) else values[name]), (g, name)
    assert row(got, "mu")["e_formula_state_limit"] is None and not row(got, "mu")["e_formula_state_exceeded"]


def test_small_numbers_give_blanks_not_nan():
    no_events = idc_measures(counts({"a": (40, 0), "b": (60, 0)}))
    assert no_events["outcome_composition"].null_count() == 2
    assert no_events["e_formula_limit"].null_count() == 2 and not no_events["e_formula_exceeded"].any()
    assert no_events["risk_difference"].to_list() == [0.0, 0.0]
    single = idc_measures(counts({"a": (40, 12), "b": (0, 0)}))
    assert single.height == 1                                     # n = 0 has no row
    assert single["comparison_risk"][0] is None and single["rd_ci_low"][0] is None
    everyone = idc_measures(counts({"a": (40, 40), "b": (60, 60)}))  # nobody without the outcome
    assert everyone["index_80"].null_count() == 2 and not everyone["index_80_flagged"].any()
    for frame in (no_events, single, everyone):
        assert not frame.select(pl.col(pl.Float64).is_nan().any()).row(0).count(True)
    assert idc_measures(counts({"a": (0, 0)})).schema == pl.Schema(IDC_COLUMNS)


@pytest.mark.parametrize("groups, message", [
    ({"a": (10, 11)}, "group 'a' has n=10, k=11"),
    ({"a": (10, -1)}, "group 'a' has n=10, k=-1"),
])
def test_bad_counts_are_named(groups, message):
    with pytest.raises(ValueError, match=message):
        idc_measures(counts(groups))


def test_a_group_twice_is_named():
    twice = pl.concat([counts({"a": (10, 1)}), counts({"a": (20, 2)})])
    with pytest.raises(ValueError, match="group 'a' appears twice"):
        idc_measures(twice)


def test_export_writes_idc_measures_beside_disproportionality(demo_warehouse, tmp_path):
    """idc_measures.csv from a real warehouse: one row per row of disproportionality.csv, the same counts
    and risk difference, every measure as the independent implementation computes it from those counts."""
    import duckdb

    from pipelines.export import write_exports

    con = duckdb.connect(str(demo_warehouse(students=1500)), read_only=True)
    try:
        written = write_exports(con, tmp_path)
    finally:
        con.close()
    idc = pl.read_csv(tmp_path / "idc_measures.csv", infer_schema_length=0)
    disp = pl.read_csv(tmp_path / "disproportionality.csv", infer_schema_length=0)
    assert written["idc_measures.csv"] == idc.height == disp.height > 0
    assert idc.columns == list(IDC_COLUMNS)
    text = (tmp_path / "idc_measures.csv").read_text()
    assert "NaN" not in text and "inf" not in text.lower()
    keys = ["school_year", "scope", "outcome", "dimension", "group"]
    both = idc.join(disp, on=keys, how="inner", suffix="_disp")
    assert both.height == idc.height
    assert (both["n"] == both["n_disp"]).all() and (both["k"] == both["k_disp"]).all()
    for r in both.iter_rows(named=True):
        if r["risk_difference_disp"]:
            assert float(r["risk_difference"]) == pytest.approx(float(r["risk_difference_disp"]), abs=1e-12)
    slices = idc.select("school_year", "scope", "outcome", "dimension", "group", pl.col("n", "k").cast(pl.Int64))
    for key, part in slices.group_by(["school_year", "scope", "outcome", "dimension"]):
        want = independent({g: (n, k) for g, n, k in part.select("group", "n", "k").iter_rows()}, None)
        got = idc.filter(pl.all_horizontal(pl.col(c) == v for c, v in
                                           zip(["school_year", "scope", "outcome", "dimension"], key)))
        for r in got.iter_rows(named=True):
            for name, value in want[r["group"]].items():
                if value is None:
                    assert r[name] == "" or r[name] is None, (key, r["group"], name)
                elif isinstance(value, bool):
                    assert r[name] == str(value).lower(), (key, r["group"], name)
                else:
                    assert float(r[name]) == pytest.approx(value, rel=1e-12, abs=1e-12), (key, r["group"], name)
