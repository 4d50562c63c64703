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


def _frame_with(at, column: str) -> pl.DataFrame:
    return next(pl.from_pandas(d.value.astype(str)) for d in at.dataframe if column in d.value.columns)


def _followed_30_days(db: Path, year: str) -> dict[str, tuple[int, int]]:
    """Level -> (cases reported at least 30 days before the as-of date, those with a first action within 30
    days, on or before the closing and the as-of date), by plain date arithmetic over the case timeline."""
    from datetime import timedelta

    with duckdb.connect(str(db), read_only=True) as con:
        as_of = mt.resolve_as_of(con)
        rows = mt.case_timeline(con, as_of, [year]).to_dicts()
    out: dict[str, list[int]] = {}
    for r in rows:
        if r["concern_level"] is None or (as_of - r["reported_date"]).days < 30:
            continue
        acted = r["first_action_date"]
        served = (
            acted is not None
            and acted <= as_of
            and acted <= r["reported_date"] + timedelta(days=30)
            and (r["closed_date"] is None or r["closed_date"] > as_of or acted <= r["closed_date"])
        )
        counts = out.setdefault(r["concern_level"], [0, 0])
        counts[0] += 1
        counts[1] += served
    return {k: (v[0], v[1]) for k, v in out.items()}


def test_the_district_sees_the_cases_followed_30_days_counted_by_date_arithmetic(start, demo_db):
    at = start("time_to_intervention", demo_role="district")
    year = at.selectbox(key="year").value if any(b.key == "year" for b in at.selectbox) else None
    with duckdb.connect(str(demo_db), read_only=True) as con:
        year = year or mt.school_years(con)[-1]
    expected = _followed_30_days(demo_db, year)
    table = _frame_with(at, "Followed 30 days (cases)")
    shown = {
        r["Group"]: (int(r["Followed 30 days (cases)"]), int(r["Of them served within 30 days"]))
        for r in table.to_dicts()
    }
    from data_contracts.labels import LEVEL_LABELS

    assert {LEVEL_LABELS[k]: v for k, v in expected.items()} == {k: v for k, v in shown.items() if v[0]}
    assert any(v[1] < v[0] for v in shown.values()), "some followed cases were not served within 30 days"


def test_the_board_sees_only_shares_of_published_counts_and_no_statistic_of_the_dates(start, demo_db):
    from figures.released_served import MEDIANS_WITHHELD, TESTS_WITHHELD

    at = start("time_to_intervention", demo_role="board")
    assert not at.exception
    from ui.page_data import DIMENSION_LABELS

    options = ["concern_level", "race_ethnicity", "disability_status"]
    assert list(at.selectbox(key="tti_dimension").options) == [DIMENSION_LABELS[d] for d in options]
    shown = _texts(at)
    assert TESTS_WITHHELD in shown and MEDIANS_WITHHELD in shown
    # no test result (the methodology's text names the tests, the page states none), no duration quantile
    stated = ("**The groups differ", "**No clear difference", "Group comparison (Gray", "first intervention **within")
    assert not any(s in shown for s in stated)
    table = _frame_with(at, "Followed 30 days (cases)")
    assert "Ever served" not in table.columns and not any(c.startswith("Days until") for c in table.columns)
    checked = hidden = 0
    for r in table.to_dicts():
        followed, served, share = (
            r["Followed 30 days (cases)"],
            r["Of them served within 30 days"],
            r["Share of them served within 30 days"],
        )
        if followed.isdigit() and served.isdigit() and int(followed):
            assert float(share) == pytest.approx(round(int(served) / int(followed), 3))
            checked += 1
        else:
            assert share in {"None", "nan", "–", ""}, r
            hidden += followed in ("<10", "*") or served in ("<10", "*")
    assert hidden, "the 5,000-student demo hides some of the followed counts, or this proves nothing"


def test_a_served_share_is_computed_from_published_counts_only():
    """released_served over a release of one served-by-level table: a share where both counts are published,
    withheld with the reason where one is hidden, the total row last."""
    from access.suppression import CountTable, suppress_release
    from figures.release import served_measures, served_table, with_total
    from figures.released_served import HIDDEN_SHARE, released_served, report_served

    followed, served = served_measures("concern_level")
    counts = pl.DataFrame(
        {"concern_level": ["low", "moderate", "high", "imminent"], followed: [120, 64, 30, 3], served: [90, 60, 27, 3]}
    )
    frame = with_total(counts, ("concern_level",), (followed, served))
    name = served_table("concern_level")
    release = suppress_release([CountTable(name, frame, ("concern_level",), (served,), followed)])
    rows = released_served(release, "concern_level")
    assert rows is not None and rows["group"].to_list() == ["low", "moderate", "high", "imminent", "total"]
    by = {r["group"]: r for r in rows.to_dicts()}
    assert by["imminent"]["share"] is None and by["imminent"]["withheld"] == HIDDEN_SHARE
    for group, r in by.items():
        if r["share"] is not None:
            assert r["followed"] is not None and r["served"] is not None
            assert r["share"] == pytest.approx(r["served"] / r["followed"]), group
    assert by["low"]["share"] == pytest.approx(0.75)  # 30 unserved: nothing small to protect
    total = by["total"]
    assert report_served(release) == (
        None if total["share"] is None else (total["followed"], total["served"], total["share"])
    )


def test_the_cohort_share_is_the_aalen_johansen_estimate_at_30_days_of_the_same_cases(demo_db):
    """Over cases followed 30 days nothing is censored before day 30, so the plain share served within 30
    days equals the Aalen-Johansen cumulative incidence at day 30 of the same cases (docs/METHODOLOGY.md)."""
    from metrics.competing_risks import cumulative_incidence_table

    with duckdb.connect(str(demo_db), read_only=True) as con:
        as_of = mt.resolve_as_of(con)
        year = mt.school_years(con)[-1]
        outcomes = mt.served_outcomes(mt.case_timeline(con, as_of, [year]), as_of)
    outcomes = outcomes.filter(pl.col("concern_level").is_not_null())
    counts = mt.served_within_counts(outcomes, "concern_level", as_of, 30)
    cohort = outcomes.filter((pl.lit(as_of) - pl.col("reported_date")).dt.total_days() >= 30)
    ci = cumulative_incidence_table(cohort, ["concern_level"], min_cases=1)
    by_level = {r["concern_level"]: r["served_by_30"] for r in ci.to_dicts()}
    compared = 0
    for r in counts.filter(pl.col("group") != "total").to_dicts():
        assert r["served_within"] / r["followed"] == pytest.approx(by_level[r["group"]], abs=1e-12), r
        compared += 1
    assert compared >= 3
    # ... and it is not the share served by day 30 over all the year's cases (recent cases are censored)
    assert counts["followed"].sum() < outcomes.height
