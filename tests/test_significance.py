"""The significance rule: BH q within a family of tests, and the board report's findings checked against it."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from metrics.config import DEFAULT_SETTINGS
from metrics.significance import unlikely_to_be_chance, with_q_values


def _bh_by_hand(p):
    """Benjamini-Hochberg step-up written out: q(i) = min over j >= i of p(j) m / j, sorted ascending."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p[i] * m / rank)
        q[i] = running
    return q


def test_q_values_within_each_family_and_blank_p_not_counted():
    frame = pl.DataFrame(
        {
            "school_year": ["2024-25"] * 6 + ["2023-24"] * 2,
            "scope": ["district"] * 8,
            "outcome": ["x"] * 4 + ["y"] * 2 + ["x"] * 2,
            "dimension": ["race"] * 8,
            "p": [0.01, 0.04, 0.03, None, 0.02, 0.5, 0.001, 0.9],
        }
    )
    q = with_q_values(frame, "p")["q_value"].to_list()
    first = _bh_by_hand([0.01, 0.04, 0.03])  # three tests: the blank p is not one
    assert q[:3] == pytest.approx(first) and q[3] is None
    assert q[4:6] == pytest.approx(_bh_by_hand([0.02, 0.5]))
    assert q[6:] == pytest.approx(_bh_by_hand([0.001, 0.9]))
    assert q[0] == pytest.approx(0.03)  # 0.01 x 3 tests / rank 1


def test_the_rule_needs_both_q_and_the_interval():
    alpha = DEFAULT_SETTINGS.alpha
    assert unlikely_to_be_chance(alpha, 1.01)
    assert not unlikely_to_be_chance(alpha * 1.01, 3.0)  # a wide effect with a large q: chance not ruled out
    assert not unlikely_to_be_chance(0.001, 1.0)  # interval touching 1
    assert not unlikely_to_be_chance(None, 2.0) and not unlikely_to_be_chance(0.001, None)


@pytest.fixture(scope="module")
def report_inputs(demo_warehouse):
    from access import metric_tables as mt
    from reports.data import load_report_data

    con = duckdb.connect(str(demo_warehouse(students=5000)), read_only=True)
    try:
        year = mt.school_years(con)[-1]
        as_of = mt.resolve_as_of(con)
        data = load_report_data(con, year, "Demo District", as_of=as_of)
        cond = mt.conditional_disparities(con, [year], include_schools=False, as_of=as_of, pool_years=False)
    finally:
        con.close()
    return data, cond


def test_every_conditional_finding_of_the_report_passes_q(report_inputs):
    data, cond = report_inputs
    rows = cond.filter(pl.col("scope") == "district")
    expected = set()
    for _, part in rows.group_by(["outcome", "dimension"]):
        present = part.filter(pl.col("cmh_p").is_not_null())
        q = dict(zip(present["group"], _bh_by_hand(present["cmh_p"].to_list())))
        for row in present.iter_rows(named=True):
            if q[row["group"]] <= DEFAULT_SETTINGS.alpha and row["ci_low"] is not None and row["ci_low"] > 1:
                expected.add((row["outcome"], row["dimension"], row["group"], q[row["group"]]))
    got = {(c.outcome, c.dimension, c.group, c.q_value) for c in data.conditional}
    assert {g[:3] for g in got} <= {e[:3] for e in expected}  # never a finding the rule rejects
    for c in data.conditional:
        assert c.q_value <= DEFAULT_SETTINGS.alpha and c.ci_low > 1
        match = [e for e in expected if e[:3] == (c.outcome, c.dimension, c.group)]
        assert match and c.q_value == pytest.approx(match[0][3], rel=1e-12)


def test_the_attention_lists_name_a_flag_only_when_it_passes_the_rule():
    """The Overview's and the report's attention lists (metrics.significance.disparity_significance): the
    federal flag is the minimum effect, q within outcome x dimension x year and the interval above 1 the rest."""
    from metrics.significance import disparity_significance

    rows = pl.DataFrame(
        {
            "school_year": ["2024-25"] * 5,
            "scope": ["district"] * 5,
            "outcome": ["oss_or_expulsion"] * 5,
            "dimension": ["race_ethnicity"] * 3 + ["sex"] * 2,
            "group": ["bl", "hi", "wh", "f", "m"],
            "flagged": [True, True, False, True, False],
            "ratio_p_value": [0.001, 0.03, 0.0001, 0.04, 0.5],
            "rr_ci_low": [1.6, 1.1, 0.2, 1.05, 0.8],
        }
    )
    out = disparity_significance(rows)
    # race family of 3: q = 0.0015, 0.03, 0.0003; sex family of 2: q = 0.08, 0.5
    assert out["rule_q_value"].to_list() == pytest.approx([0.0015, 0.03, 0.0003, 0.08, 0.5])
    assert out["unlikely_to_be_chance"].to_list() == [True, True, False, False, False]
    # counted once per family: the same sex rows inside a family of their own give the same q
    alone = disparity_significance(rows.filter(pl.col("dimension") == "sex"))
    assert alone["rule_q_value"].to_list() == pytest.approx([0.08, 0.5])


# -- the rule over simulated families: false discoveries under the null, planted effects found -------------------

_LEVELS = {"low": (600, 0.05), "moderate": (300, 0.15), "high": (150, 0.30), "imminent": (60, 0.50)}
_SHARES = (0.35, 0.2, 0.15, 0.12, 0.1, 0.08)  # six groups of one dimension: one family per seed


def _simulated_conditional(seeds: range, planted_odds: float | None) -> pl.DataFrame:
    """conditional_significance over one family per seed: each level's cases drawn with the level's outcome
    rate; group g0 has its odds multiplied by `planted_odds` at every level (None: no effect anywhere)."""
    import numpy as np

    from metrics.significance import conditional_significance
    from metrics.stratified import mantel_haenszel_table

    rows = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        for level, (cases, rate) in _LEVELS.items():
            group = rng.choice(len(_SHARES), size=cases, p=_SHARES)
            odds = np.full(cases, rate / (1 - rate))
            if planted_odds is not None:
                odds[group == 0] *= planted_odds
            outcome = rng.random(cases) < odds / (1 + odds)
            for g in range(len(_SHARES)):
                mine = group == g
                a, n1 = int((outcome & mine).sum()), int(mine.sum())
                c, n0 = int((outcome & ~mine).sum()), int((~mine).sum())
                rows.append((str(seed), f"g{g}", level, a, n1 - a, c, n0 - c))
    strata = pl.DataFrame(rows, schema=["school_year", "group", "concern_level", "a", "b", "c", "d"], orient="row")
    pooled = mantel_haenszel_table(strata, ["school_year", "group"], "concern_level")
    cond = pooled.with_columns(
        pl.lit("district").alias("scope"),
        pl.lit("case_exclusionary").alias("outcome"),
        pl.lit("race_ethnicity").alias("dimension"),
        pl.col("a").alias("group_with_outcome"),
        (pl.col("a") + pl.col("b")).alias("group_cases"),
        pl.col("c").alias("other_with_outcome"),
        (pl.col("c") + pl.col("d")).alias("other_cases"),
    )
    return conditional_significance(cond, DEFAULT_SETTINGS)


def test_under_no_effect_a_family_has_a_finding_in_at_most_alpha_of_the_seeds():
    """With no effect planted, BH at q <= 0.05 keeps the chance of any "unlikely to be chance" finding in a
    family of six to about 5% (under the complete null BH controls the familywise rate at alpha), where the
    unadjusted p < 0.05 with the same interval and sizes finds one in about a fifth of the families."""
    seeds = range(400)
    table = _simulated_conditional(seeds, planted_odds=None)
    alpha = DEFAULT_SETTINGS.alpha
    by_family = table.group_by("school_year").agg(
        pl.col("unlikely_to_be_chance").any().alias("found"),
        ((pl.col("cmh_p") <= alpha) & ((pl.col("ci_low") > 1) | (pl.col("ci_high") < 1))).any().alias("raw"),
    )
    found, raw = by_family["found"].mean(), by_family["raw"].mean()
    margin = 3 * (alpha * (1 - alpha) / len(seeds)) ** 0.5
    assert found <= alpha + margin, f"{found:.3f} of null families have a finding"
    assert raw > 2 * (alpha + margin), f"unadjusted tests find {raw:.3f}: the simulation has no multiplicity to control"


def test_a_planted_effect_is_found_and_few_findings_are_false():
    """Group g0's odds tripled at every level: found in most seeds. Every other group's odds are the same as
    each other's, so against all other students (g0 among them) they are truly lower: a finding that one of
    them is *higher* (the board report's list: interval above 1) is false, and those stay a small share of
    the higher findings (the false discovery rate BH bounds at alpha)."""
    table = _simulated_conditional(range(200), planted_odds=3.0)
    higher = table.filter(pl.col("unlikely_to_be_chance") & (pl.col("ci_low") > 1))
    planted = higher.filter(pl.col("group") == "g0")
    assert planted["school_year"].n_unique() >= 180  # power: 90% of seeds or more
    false_share = (higher.height - planted.height) / higher.height
    assert false_share <= DEFAULT_SETTINGS.alpha, f"{false_share:.3f} of the 'higher' findings are on null groups"
    lower = table.filter(pl.col("unlikely_to_be_chance") & (pl.col("ci_high") < 1))
    assert lower.height and (lower["group"] != "g0").all()  # the others, truly lower, are sometimes found so
