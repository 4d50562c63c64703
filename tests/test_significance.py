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
