"""The Time to intervention page states how soon cases were served from the cumulative incidence (closing
unserved competing), withholds estimates of small groups with the reason, and names its group test."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from access import metric_tables as mt
from figures.words import closed_text, days_text


@pytest.fixture(scope="module")
def demo_db(demo_warehouse) -> Path:
    return demo_warehouse(students=5000)


def _texts(at) -> str:
    return "\n".join(str(e.value) for kind in ("markdown", "caption", "info") for e in getattr(at, kind))


def _all_row(db: Path) -> dict:
    with duckdb.connect(str(db), read_only=True) as con:
        year = mt.school_years(con)[-1]
        ci = mt.time_to_intervention_ci(con, None, [year], include_district=True, include_schools=False)
    return ci.filter(pl.col("concern_level") == "all").row(0, named=True)


def test_the_headline_is_the_cumulative_incidence_of_the_export(start, demo_db):
    at = start("time_to_intervention", demo_role="district")
    assert not at.exception
    row = _all_row(demo_db)
    shown = _texts(at)
    assert row["n_closed_unserved"] > 0, "the demo should close some cases unserved, or this proves nothing"
    if row["days_to_50"] is None:
        assert "never reached" in shown
    else:
        assert f"within {days_text(row['days_to_50'])}**" in shown or "on the day of the report" in shown
    assert f"{100 * row['served_by_30']:.0f}% within 30 days" in shown
    assert f"{100 * row['ever_served']:.0f}% by the end of the period" in shown
    assert closed_text(row["n_closed_unserved"]) in shown
    assert "Kaplan-Meier" not in str(at.markdown[0].value)  # the headline is the cumulative incidence


def test_the_group_test_is_named_and_small_groups_are_withheld_with_the_reason(start, demo_db):
    at = start("time_to_intervention", demo_role="district", tti_dimension="race_ethnicity")
    assert not at.exception
    shown = _texts(at)
    assert "Gray's test of equal cumulative incidence" in shown
    assert "log-rank test on the cause-specific hazard of being served" in shown
    assert "df, p " in shown or "not run:" in shown
    table = [pl.from_pandas(d.value.astype(str)) for d in at.dataframe]
    served = next(t for t in table if "Days until 50% served" in t.columns)
    cases = served["Cases"].cast(pl.Int64)
    small = served.filter(cases < 10)
    assert small.height, "the 5,000-student demo has race groups with fewer than 10 cases"
    assert set(small["Days until 50% served"]) == {"withheld: fewer than 10 cases"}
    assert set(small["Served within 30 days"]) <= {"None", "nan", "–", ""}
    big = served.filter(cases >= 10)
    assert big.height and not big["Days until 50% served"].str.starts_with("withheld").any()


def test_kaplan_meier_medians_are_labelled_and_withheld_under_ten_cases(start, demo_db):
    at = start("time_to_intervention", demo_role="district", tti_dimension="race_ethnicity")
    km = next(
        pl.from_pandas(d.value.astype(str)) for d in at.dataframe if "Median days (Kaplan-Meier)" in d.value.columns
    )
    small = km.filter(km["Cases"].cast(pl.Int64) < 10)
    assert small.height and set(small["Note"]) == {"withheld: fewer than 10 cases"}
    assert set(small["Median days (Kaplan-Meier)"]) <= {"None", "nan", "–", ""}


@pytest.mark.parametrize("role", ["district", "board"])
def test_the_overview_says_days_until_half_served_from_the_cumulative_incidence(start, demo_db, role):
    at = start("overview", demo_role=role)
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert "Median days to first intervention" not in metrics
    row = _all_row(demo_db)
    expected = days_text(row["days_to_50"]) if row["days_to_50"] is not None else "never reached"
    assert metrics["Days until half the cases were served"] == expected
