"""Multi-year identification (metrics/identification.py) computed by hand for one district.

34 CFR 300.647(d)(1): a state may wait until the risk ratio has exceeded its threshold for up to three
consecutive years; (d)(2): it need not identify a district that made reasonable progress in lowering the
ratio in each of the two prior consecutive years.
"""

from __future__ import annotations

import polars as pl
import pytest

from metrics.config import MetricSettings
from metrics.disproportionality import disproportionality_table
from metrics.identification import identification

OUTCOME = "idea_oss_exp_gt10"
# Black IDEA students: k of 100 removed for more than 10 days; all other IDEA students 45 of 900 (risk 0.05).
# Ratios by hand: 30/100 / 0.05 = 6.0, 25 -> 5.0, 20 -> 4.0, 12 -> 2.4; threshold 2.0, so all four flagged.
BLACK_K = {"2021-22": 30, "2022-23": 25, "2023-24": 20, "2024-25": 12}


def counts(black_k: dict[str, int]) -> pl.DataFrame:
    rows = []
    for year, k in black_k.items():
        base = {"school_year": year, "scope": "district", "outcome": OUTCOME, "dimension": "race_ethnicity"}
        rows += [base | {"group": "bl", "n": 100, "k": k}, base | {"group": "wh", "n": 900, "k": 45}]
    return pl.DataFrame(rows)


def black(frame: pl.DataFrame) -> dict[str, dict]:
    return {r["school_year"]: r for r in frame.filter(pl.col("group") == "bl").iter_rows(named=True)}


def test_three_consecutive_years_by_hand():
    table = disproportionality_table(counts(BLACK_K), tests=False)
    got = black(identification(table))
    assert [got[y]["risk_ratio"] for y in BLACK_K] == [6.0, 5.0, 4.0, 2.4]
    assert [got[y]["consecutive_years_flagged"] for y in BLACK_K] == [1, 2, 3, 4]
    assert [got[y]["would_be_identified"] for y in BLACK_K] == [False, False, True, True]
    assert got["2023-24"]["years_behind"] == "2021-22,2022-23,2023-24"
    assert got["2024-25"]["years_behind"] == "2022-23,2023-24,2024-25"
    assert got["2022-23"]["years_behind"] is None
    one_year = black(identification(table, MetricSettings(identification_years=1)))
    assert all(one_year[y]["would_be_identified"] for y in BLACK_K)


def test_reasonable_progress_by_hand():
    table = disproportionality_table(counts(BLACK_K), tests=False)
    # falls: 6.0 -> 5.0 -> 4.0 (1.0 and 1.0), then 5.0 -> 4.0 -> 2.4 (1.0 and 1.6)
    half = black(identification(table, MetricSettings(reasonable_progress=0.5)))
    assert half["2023-24"]["reasonable_progress"] and not half["2023-24"]["would_be_identified"]
    assert half["2024-25"]["reasonable_progress"] and not half["2024-25"]["would_be_identified"]
    strict = black(identification(table, MetricSettings(reasonable_progress=1.2)))
    assert not strict["2023-24"]["reasonable_progress"] and strict["2023-24"]["would_be_identified"]  # 1.0 < 1.2
    assert not strict["2024-25"]["reasonable_progress"] and strict["2024-25"]["would_be_identified"]  # 1.0 < 1.2
    off = black(identification(table))
    assert not any(r["reasonable_progress"] for r in off.values())


def test_a_missing_or_unflagged_year_breaks_the_run():
    gap = dict(BLACK_K)
    del gap["2022-23"]
    got = black(identification(disproportionality_table(counts(gap), tests=False)))
    assert [got[y]["consecutive_years_flagged"] for y in ("2021-22", "2023-24", "2024-25")] == [1, 1, 2]
    assert not any(r["would_be_identified"] for r in got.values())
    small = dict(BLACK_K, **{"2022-23": 8})  # 8 < cell size 10: no ratio, not flagged
    got = black(identification(disproportionality_table(counts(small), tests=False)))
    assert got["2022-23"]["ratio_method"] == "none" and got["2022-23"]["consecutive_years_flagged"] == 0
    assert [got[y]["consecutive_years_flagged"] for y in ("2023-24", "2024-25")] == [1, 2]


def test_only_race_and_the_discipline_categories():
    table = disproportionality_table(
        pl.concat([counts(BLACK_K), counts(BLACK_K).with_columns(pl.lit("iss").alias("outcome"))]), tests=False
    )
    assert set(identification(table)["outcome"]) == {OUTCOME}


def test_settings_are_checked():
    with pytest.raises(ValueError, match="identification_years"):
        MetricSettings(identification_years=4)
    with pytest.raises(ValueError, match="reasonable_progress"):
        MetricSettings(reasonable_progress=-1)


def test_identification_from_a_real_warehouse_recounted(demo_warehouse):
    """access.metric_tables.identification over every loaded year: each run recounted from the rows of
    disproportionality.csv by walking back one school year at a time."""
    import duckdb

    from access import metric_tables as mt

    con = duckdb.connect(str(demo_warehouse(students=1500)), read_only=True)
    try:
        got = mt.identification(con)
        disp = mt.disproportionality(con, tests=False)
    finally:
        con.close()
    flags = {
        (r["school_year"], r["scope"], r["outcome"], r["group"]): r["flagged"]
        for r in disp.filter(pl.col("dimension") == "race_ethnicity").iter_rows(named=True)
    }
    assert got.height == sum(1 for y, s, o, g in flags if o.startswith("idea_")) > 0
    for r in got.iter_rows(named=True):
        start, run = int(r["school_year"][:4]), 0
        while flags.get((f"{start - run}-{(start - run + 1) % 100:02d}", r["scope"], r["outcome"], r["group"])):
            run += 1
        assert r["consecutive_years_flagged"] == run
        assert r["would_be_identified"] is (run >= 3)
