"""Published aggregates with suppressed cells: a blank group stays in the comparison group as an interval
(metrics/aggregate_bounds.py), checked on the Washington 2013-14 district table (tests/data, published
figures) against a computation written out here, and on a table whose hidden cells are known."""

from __future__ import annotations

import csv
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest

from metrics.aggregate_bounds import COMPLETE, INTERVAL, MARKED, comparison_bounds
from metrics.config import DEFAULT_SETTINGS

WA = Path(__file__).parent / "data" / "wa-2013-14-district-discipline.csv"
RACES = ("native", "asian", "black", "hispanic", "api", "multi", "white")


def _int(value: str) -> int | None:
    return int(value) if value.strip() else None


def wa_tables() -> tuple[pl.DataFrame, pl.DataFrame, list[dict]]:
    with WA.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    cells = pl.DataFrame(
        [
            (r["code"], "race_ethnicity", race, _int(r[f"{race}_pop"]), _int(r[f"{race}_d"]))
            for r in rows
            for race in RACES
        ],
        schema={"scope": pl.String, "dimension": pl.String, "group": pl.String, "n": pl.Int64, "k": pl.Int64},
        orient="row",
    )
    totals = pl.DataFrame(
        [(r["code"], _int(r["population"]), _int(r["disciplined"])) for r in rows],
        schema={"scope": pl.String, "n_total": pl.Int64, "k_total": pl.Int64},
        orient="row",
    )
    return cells, totals, rows


def _by_hand(row: dict, race: str):
    """The comparison group's bounds and the ratio's, from one CSV row: published parts of the other races,
    plus between 0 and (total - all published parts) for their blank cells."""
    n, k = int(row[f"{race}_pop"]), int(row[f"{race}_d"])
    others = [r for r in RACES if r != race]
    pops, ds = [_int(row[f"{r}_pop"]) for r in others], [_int(row[f"{r}_d"]) for r in others]
    pop_left = int(row["population"]) - n - sum(p for p in pops if p is not None)
    d_left = int(row["disciplined"]) - k - sum(d for d in ds if d is not None)
    n_lo = sum(p for p in pops if p is not None)
    k_lo = sum(d for d in ds if d is not None)
    n_hi = n_lo + (pop_left if None in pops else 0)
    k_hi = k_lo + (d_left if None in ds else 0)
    return n_lo, n_hi, k_lo, k_hi, Fraction(k * n_lo, n * k_hi), Fraction(k * n_hi, n * k_lo)


def test_wa_rows_with_a_suppressed_group_get_the_interval_computed_by_hand():
    cells, totals, rows = wa_tables()
    out = comparison_bounds(cells, totals)
    by_key = {(r["scope"], r["group"]): r for r in out.iter_rows(named=True)}
    checked = 0
    for row in rows:
        for race in RACES:
            got = by_key.get((row["code"], race))
            if got is None or got["status"] != INTERVAL or got["risk_ratio_low"] is None:
                continue
            n_lo, n_hi, k_lo, k_hi, low, high = _by_hand(row, race)
            assert (got["comparison_n_low"], got["comparison_n_high"]) == (n_lo, n_hi)
            assert (got["comparison_k_low"], got["comparison_k_high"]) == (k_lo, k_hi)
            assert got["risk_ratio_low"] == pytest.approx(float(low), rel=1e-12)
            assert got["risk_ratio_high"] == pytest.approx(float(high), rel=1e-12)
            assert got["risk_ratio"] is None and got["blank_groups"]
            checked += 1
    assert checked > 50, "the WA table has many districts with a suppressed race cell"


def test_wa_every_published_group_is_kept_and_none_is_silently_dropped():
    cells, totals, _ = wa_tables()
    out = comparison_bounds(cells, totals)
    published = cells.filter(pl.col("n").is_not_null() & pl.col("k").is_not_null() & (pl.col("n") > 0))
    assert out.height == published.height
    assert set(out["status"]) <= {COMPLETE, INTERVAL, MARKED}
    intervals = out.filter(pl.col("status") == INTERVAL)
    assert intervals.height and (intervals["note"].str.contains("suppressed counts")).all()
    complete = out.filter(pl.col("status") == COMPLETE)
    assert complete["blank_groups"].eq("").all()
    # the flag is decided only where the whole interval is on one side of the threshold
    undecided = out.filter(pl.col("flag") == "undetermined")
    assert (undecided["risk_ratio_low"] <= DEFAULT_SETTINGS.threshold).all()
    assert (undecided["risk_ratio_high"] > DEFAULT_SETTINGS.threshold).all()


def test_the_interval_holds_the_ratio_of_the_hidden_counts_and_dropping_them_can_miss_it():
    # Known truth: group c's 5 of 400 is published with the 5 blank. a: 30 of 100, b: 20 of 400; totals 900
    # students, 55 with the outcome. a against b and c: 30/100 over 25/800 = 9.6.
    truth = Fraction(30 * 800, 100 * 25)
    cells = pl.DataFrame(
        {
            "scope": ["d"] * 3,
            "dimension": ["race"] * 3,
            "group": ["a", "b", "c"],
            "n": [100, 400, 400],
            "k": [30, 20, None],
        }
    )
    totals = pl.DataFrame({"scope": ["d"], "n_total": [900], "k_total": [55]})
    a = comparison_bounds(cells, totals).filter(pl.col("group") == "a").row(0, named=True)
    assert a["status"] == INTERVAL and a["blank_groups"] == "c"
    bounds = (a["comparison_n_low"], a["comparison_n_high"], a["comparison_k_low"], a["comparison_k_high"])
    assert bounds == (800, 800, 20, 25)
    assert a["risk_ratio_low"] == pytest.approx(float(truth)) and a["risk_ratio_high"] == pytest.approx(12.0)
    dropped = Fraction(30 * 400, 100 * 20)  # c left out of the comparison: 30/100 over 20/400 = 6.0
    assert float(dropped) < a["risk_ratio_low"]  # outside the honest interval
    # without totals the blank cannot be bounded: the row is marked, with no ratio
    marked = comparison_bounds(cells, None).filter(pl.col("group") == "a").row(0, named=True)
    assert marked["status"] == MARKED and marked["risk_ratio_low"] is None and "do not give" in marked["note"]
    # parts that exceed the total cannot bound it either
    over = comparison_bounds(cells, totals.with_columns(pl.lit(40).alias("k_total"))).row(0, named=True)
    assert over["status"] == MARKED and "exceed" in over["note"]
