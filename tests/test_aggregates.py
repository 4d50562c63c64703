"""Published aggregates: the Washington 2013-14 district discipline table (tests/data, a public
file of published figures) through its profile, its blank cells, and its statewide row."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import polars as pl
import pytest

from metrics.disproportionality import disproportionality_table
from pipelines.reference.aggregates import AggregateError, aggregate_group_counts, import_aggregate

WA = Path(__file__).parent / "data" / "wa-2013-14-district-discipline.csv"
RACES = ("native", "asian", "black", "hispanic", "api", "multi", "white")


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    db = tmp_path_factory.mktemp("agg") / "w.duckdb"
    result = import_aggregate(db, WA, "aggregate_wa_2013_14")
    con = duckdb.connect(str(db), read_only=True)
    yield result, con
    con.close()


def statewide_row() -> dict[str, str]:
    with WA.open(newline="", encoding="utf-8") as fh:
        return next(r for r in csv.DictReader(fh) if r["county"] == "statewide")


def test_statewide_black_risk_ratio_matches_an_independent_computation(imported):
    _, con = imported
    row = statewide_row()
    # Risk ratio (34 CFR 300.647(a)(6)): risk of the group / risk of all other race groups together,
    # computed here straight from the CSV's statewide row.
    black = int(row["black_d"]) / int(row["black_pop"])
    others_d = sum(int(row[f"{r}_d"]) for r in RACES if r != "black")
    others_n = sum(int(row[f"{r}_pop"]) for r in RACES if r != "black")
    expected = black / (others_d / others_n)
    assert expected == pytest.approx(4713 / 54824 / (38656 / 1096205))  # about 2.438
    counts = aggregate_group_counts(
        con, "aggregate_wa_2013_14", "2013-14", "population", "disciplined", ["race_ethnicity"]
    )
    table = disproportionality_table(counts.filter(pl.col("scope") == "state"))
    got = table.filter(pl.col("group") == "bl").row(0, named=True)
    assert got["ratio_method"] == "risk_ratio"
    assert got["risk_ratio"] == pytest.approx(expected, rel=1e-12)


def test_the_statewide_row_that_does_not_add_up_is_reported(imported):
    result, con = imported
    findings = con.sql("""select subject, expected, observed from reference_consistency
                          where scope = 'state' order by subject""").fetchall()
    assert ("population by race_ethnicity vs population total", 1140601, 1151029) in findings
    assert ("disciplined by race_ethnicity vs disciplined total", 43275, 43369) in findings
    assert "state: the race_ethnicity groups of population add to 1151029, the total says 1140601" in result.summary()


def test_blank_cells_stay_blank_and_are_counted_as_suppressed(imported):
    result, con = imported
    with WA.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    columns = [c for c in rows[0] if c.endswith(("_pop", "_d")) or c in ("population", "disciplined")]
    blanks = sum(1 for r in rows for c in columns if not r[c].strip())
    assert result.suppressed == blanks > 0
    stored = con.sql("select count(*) from aggregate_counts where suppressed and value is null").fetchall()[0][0]
    assert stored == blanks
    assert con.sql("select count(*) from aggregate_counts where value = 0 and suppressed").fetchall()[0][0] == 0


def test_statewide_row_becomes_state_reference_by_race(imported):
    _, con = imported
    rows = dict(
        ((g), (n, k))
        for g, n, k in con.sql(
            """select "group", n, k from state_reference where school_year = '2013-14'
           and outcome = 'any_exclusionary' and dimension = 'race_ethnicity'"""
        ).fetchall()
    )
    row = statewide_row()
    assert rows["bl"] == (int(row["black_pop"]), int(row["black_d"]))
    assert rows["pi"] == (int(row["api_pop"]), int(row["api_d"]))
    assert len(rows) == 7


def test_a_profile_column_missing_from_the_file_is_refused(tmp_path):
    bad = tmp_path / "wa.csv"
    bad.write_text("county,code,district,population\nstatewide,wa,Washington,10\n", encoding="utf-8")
    with pytest.raises(AggregateError, match="black_pop"):
        import_aggregate(tmp_path / "w.duckdb", bad, "aggregate_wa_2013_14")


def test_the_imported_table_keeps_suppressed_groups_in_the_comparison_as_an_interval(imported):
    # The same numbers as metrics.aggregate_bounds on the CSV itself (tests/test_aggregate_bounds.py):
    # the warehouse read loses no blank cell and no total.
    from access.metric_tables import aggregate_comparison_bounds
    from metrics.aggregate_bounds import comparison_bounds
    from tests.test_aggregate_bounds import wa_tables

    _, con = imported
    got = aggregate_comparison_bounds(
        con, "aggregate_wa_2013_14", "2013-14", "population", "disciplined", ["race_ethnicity"]
    ).filter(pl.col("scope") != "state")
    cells, totals, _ = wa_tables()
    race = {"native": "am", "asian": "as", "black": "bl", "hispanic": "hi", "api": "pi", "multi": "mu", "white": "wh"}
    cells = cells.with_columns(pl.col("group").replace_strict(race))
    expected = comparison_bounds(cells.filter(pl.col("scope") != "wa"), totals)
    key = ["scope", "group"]
    joined = expected.join(got, on=key, how="full", suffix="_db", nulls_equal=True)
    assert joined.height == expected.height == got.height
    for column in ("status", "comparison_k_low", "comparison_k_high", "comparison_n_high", "flag"):
        assert joined[column].to_list() == joined[f"{column}_db"].to_list(), column
    assert (got["status"] == "interval").sum() > 50
