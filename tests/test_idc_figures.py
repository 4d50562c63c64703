"""figures/idc.py: the IDC measures under the risk ratio's sizes and the board's release, the multi-year
identification status with a hidden year, the state's own ratios and the trend of a flagged ratio.

The counts are the project's small-cell worked example (/work/shared/worked-examples.md, copied here): students
with one or more OSS by race, hi 14 of 120, bl 9 of 48, wh 11 of 210, as 0 of 8, mu 3 of 22 (37 of 408)."""

from __future__ import annotations

import math

import polars as pl
import pytest
from scipy.stats.contingency import relative_risk

from access.suppression import CountTable, suppress_table
from figures.derived import HIDDEN_GROUP, released_count
from figures.idc import (
    HIDDEN_ANY_GROUP,
    HIDDEN_YEAR,
    idc_with_state,
    identification_status,
    measures_beside_ratio,
    ratio_trend,
    reference_year_for,
    released_idc,
    state_ratios,
)
from metrics.config import MetricSettings
from metrics.idc import idc_measures

GROUPS = {"hi": (120, 14), "bl": (48, 9), "wh": (210, 11), "as": (8, 0), "mu": (22, 3)}
OUTCOME, DEN, DIM = "oss_or_expulsion", "enrolled", "race_ethnicity"


def counts() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "school_year": "2024-25",
            "scope": "district",
            "outcome": OUTCOME,
            "dimension": DIM,
            "group": list(GROUPS),
            "n": [n for n, _ in GROUPS.values()],
            "k": [k for _, k in GROUPS.values()],
        }
    )


def release_table():
    rows = [{DIM: g, DEN: n, OUTCOME: k} for g, (n, k) in GROUPS.items()]
    rows.append({DIM: "total", DEN: 408, OUTCOME: 37})
    return suppress_table(CountTable(f"disp_{OUTCOME}_{DIM}", pl.DataFrame(rows), (DIM,), (OUTCOME,), DEN))


def by_group(frame: pl.DataFrame) -> dict[str, dict]:
    return {r["group"]: r for r in frame.iter_rows(named=True)}


def test_an_exact_viewer_gets_each_measure_under_the_risk_ratios_sizes():
    rows = by_group(released_idc(idc_measures(counts()), None, OUTCOME, DEN, DIM, suppressed=False))
    hi = rows["hi"]
    assert hi["withheld"] is None and hi["comparison_withheld"] is None and hi["index_withheld"] is None
    # Independently, from the Westat/IDC guide's and DisImpact's formulas (docs/METHODOLOGY.md, "IDC measures").
    a = 120 / 408
    assert hi["outcome_composition"] == pytest.approx(14 / 37, abs=1e-9)
    assert hi["relative_difference_in_composition"] == pytest.approx((14 / 37 - a) / a, abs=1e-9)
    assert hi["e_formula_limit"] == pytest.approx(a + math.sqrt(a * (1 - a) / 37), abs=1e-9)
    p1, p0 = 14 / 120, 23 / 288
    half = 1.959963984540054 * math.sqrt(p1 * (1 - p1) / 120 + p0 * (1 - p0) / 288)
    assert (hi["risk_difference"], hi["rd_ci_low"], hi["rd_ci_high"]) == pytest.approx(
        (p1 - p0, p1 - p0 - half, p1 - p0 + half), abs=1e-9
    )
    assert hi["index_80"] == pytest.approx((106 / 120) / (8 / 8), abs=1e-9)  # 'as' has no OSS: the best rate
    assert hi["percentage_point_gap"] == pytest.approx(14 / 120 - 37 / 408, abs=1e-9)
    # bl: 9 with the outcome (< 10); as and mu: fewer than 30 students. Every measure blank, with the rule.
    assert rows["bl"]["withheld"] == "too few with the outcome (fewer than 10)"
    assert rows["as"]["withheld"] == rows["mu"]["withheld"] == "too few students (n < 30)"
    for g in ("bl", "as", "mu"):
        assert all(rows[g][c] is None for c in ("risk", "outcome_composition", "risk_difference", "index_80"))


def test_the_board_gets_measures_only_from_published_counts_and_the_release_reason_first():
    table = release_table()
    # The worked example's release: hi and wh and the total published, bl and mu counts <10, as hidden whole.
    assert released_count(table, {DIM: "hi"}, OUTCOME) == 14 and released_count(table, {DIM: "total"}, DEN) == 408
    assert released_count(table, {DIM: "bl"}, OUTCOME) is None
    exact = by_group(idc_measures(counts()))
    rows = by_group(released_idc(idc_measures(counts()), table, OUTCOME, DEN, DIM, suppressed=True))
    for g in ("hi", "wh"):
        assert rows[g]["withheld"] is None
        for c in ("risk", "outcome_composition", "e_formula_limit", "risk_difference", "percentage_point_gap"):
            assert rows[g][c] == exact[g][c], (g, c)  # computed from published counts = the exact value
        # The 80% index's reference is the highest rate of any group; the hidden groups' rates are not published.
        assert rows[g]["index_80"] is None and rows[g]["index_withheld"] == HIDDEN_ANY_GROUP
    # bl's count is '<10': the reason is the release's, not "fewer than 10 with the outcome", which would narrow it.
    for g in ("bl", "mu", "as"):
        assert rows[g]["withheld"] == HIDDEN_GROUP
        assert rows[g]["risk"] is None and rows[g]["outcome_composition"] is None


def test_the_board_gets_nothing_from_a_table_not_in_its_release():
    rows = released_idc(idc_measures(counts()), None, OUTCOME, DEN, DIM, suppressed=True)
    assert rows["risk"].null_count() == rows.height
    assert set(rows["withheld"]) == {"withheld: not in the published figures for this role"}


def test_measures_stand_beside_the_ratio_in_one_table():
    idc = by_group(released_idc(idc_measures(counts()), None, OUTCOME, DEN, DIM, suppressed=False))["hi"]
    ratio = {"risk_ratio": 1.46, "rr_ci_low": 0.8, "rr_ci_high": 2.7, "ratio_method": "risk_ratio", "flagged": False}
    table = measures_beside_ratio(idc, ratio)
    assert table["measure"][0] == "risk_ratio" and table["value"][0] == 1.46
    e = table.filter(pl.col("measure") == "e_formula").row(0, named=True)
    assert e["value"] == idc["outcome_composition"] and e["high"] == idc["e_formula_limit"]
    assert e["flagged"] == idc["e_formula_exceeded"]
    state = table.filter(pl.col("measure") == "e_formula_state").row(0, named=True)
    assert state["value"] is None and state["withheld"] == "no state reference data loaded"
    gap = table.filter(pl.col("measure") == "percentage_point_gap").row(0, named=True)
    assert gap["high"] - gap["low"] == pytest.approx(2 * idc["ppg_moe"])


def flagged_years(ratios: list[float], withheld: set[str] = frozenset()) -> pl.DataFrame:
    years = ["2021-22", "2022-23", "2023-24", "2024-25"]
    return pl.DataFrame(
        {
            "school_year": years,
            "scope": "district",
            "outcome": "idea_oss_exp_le10",
            "dimension": DIM,
            "group": "bl",
            "risk_ratio": [None if y in withheld else r for y, r in zip(years, ratios)],
            "rr_ci_low": None,
            "rr_ci_high": None,
            "ratio_method": ["none" if y in withheld else "risk_ratio" for y in years],
            "flagged": [None if y in withheld else r > 2.0 for y, r in zip(years, ratios)],
            "withheld": [HIDDEN_GROUP if y in withheld else None for y in years],
        },
        schema_overrides={"rr_ci_low": pl.Float64, "rr_ci_high": pl.Float64},
    )


def test_identified_after_three_flagged_years_with_the_years_behind_it():
    status = identification_status(flagged_years([6.0, 5.0, 4.0, 2.4]), "2023-24").row(0, named=True)
    assert status["would_be_identified"] and status["withheld"] is None
    assert status["years_behind"] == "2021-22,2022-23,2023-24"


def test_a_hidden_year_in_the_window_withholds_the_status_and_one_outside_it_does_not():
    shown = flagged_years([6.0, 5.0, 4.0, 2.4], withheld={"2022-23"})
    for year in ("2023-24", "2024-25"):  # both windows of three years hold 2022-23
        status = identification_status(shown, year).row(0, named=True)
        assert status["would_be_identified"] is None and status["consecutive_years_flagged"] is None
        assert status["withheld"] == f"{HIDDEN_YEAR} (2022-23)"
    early_hidden = flagged_years([6.0, 5.0, 4.0, 2.4], withheld={"2021-22"})
    status = identification_status(early_hidden, "2024-25").row(0, named=True)
    assert status["would_be_identified"] and status["years_behind"] == "2022-23,2023-24,2024-25"
    # Two years required: 2023-24's window (2022-23, 2023-24) no longer holds the hidden 2021-22.
    two = identification_status(early_hidden, "2023-24", MetricSettings(identification_years=2)).row(0, named=True)
    assert two["would_be_identified"] and two["years_behind"] == "2022-23,2023-24"


def test_reasonable_progress_widens_the_window_to_three_years():
    shown = flagged_years([6.0, 5.0, 4.0, 2.4], withheld={"2022-23"})
    settings = MetricSettings(identification_years=1, reasonable_progress=0.5)
    assert identification_status(shown, "2024-25", settings)["withheld"][0] == f"{HIDDEN_YEAR} (2022-23)"


def state_counts() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "school_year": "2021-22",
            "outcome": OUTCOME,
            "dimension": DIM,
            "group": ["bl", "wh", "hi"],
            "n": [1000, 8000, 1000],
            "k": [50, 90, 10],
        }
    )


def test_the_states_ratio_is_each_group_against_the_states_other_students():
    ratios = by_group(state_ratios(state_counts()))
    expected = relative_risk(50, 1000, 100, 9000)  # 4.5: 0.05 against 100 of 9,000
    ci = expected.confidence_interval(0.95)
    bl = ratios["bl"]
    assert (bl["risk_ratio"], bl["rr_ci_low"], bl["rr_ci_high"]) == pytest.approx(
        (expected.relative_risk, ci.low, ci.high), rel=1e-9
    )
    assert bl["flagged"] and not ratios["wh"]["flagged"]
    assert state_ratios(None).is_empty()


def test_the_trend_keeps_a_year_without_a_ratio_with_its_reason_beside_the_states_years():
    shown = flagged_years([6.0, 5.0, 4.0, 2.4], withheld={"2022-23"}).with_columns(pl.lit(OUTCOME).alias("outcome"))
    trend = ratio_trend(shown, state_ratios(state_counts()), OUTCOME, DIM, ["bl"])
    district = trend.filter(pl.col("series") == "district")
    assert district["school_year"].to_list() == ["2021-22", "2022-23", "2023-24", "2024-25"]
    assert district["risk_ratio"].to_list() == [6.0, None, 4.0, 2.4]
    assert district["withheld"].to_list() == [None, HIDDEN_GROUP, None, None]
    state = trend.filter(pl.col("series") == "state")
    assert state["school_year"].to_list() == ["2021-22"] and state["risk_ratio"][0] == pytest.approx(4.5)


def test_the_state_e_formula_compares_with_the_latest_reference_year_at_or_before_the_districts():
    assert reference_year_for("2024-25", ["2017-18", "2021-22"]) == "2021-22"
    assert reference_year_for("2020-21", ["2017-18", "2021-22"]) == "2017-18"
    assert reference_year_for("2015-16", ["2017-18", "2021-22"]) == "2021-22"  # none before: the latest
    assert reference_year_for("2024-25", []) is None
    rows = by_group(idc_with_state(counts(), state_counts(), "2024-25"))
    bl = rows["bl"]
    assert bl["state_reference_year"] == "2021-22"
    # Westat/IDC guide: E = A + sqrt(A (1 - A) / K), A = bl's share of the state's students, K = 37 in the district.
    a = 1000 / 10000
    assert bl["state_population_composition"] == pytest.approx(a)
    assert bl["e_formula_state_limit"] == pytest.approx(a + math.sqrt(a * (1 - a) / 37), abs=1e-12)
    assert bl["e_formula_state_exceeded"] == (9 / 37 > bl["e_formula_state_limit"])
    assert rows["mu"]["e_formula_state_limit"] is None  # the state has no row for mu
    shown = measures_beside_ratio(
        by_group(released_idc(idc_with_state(counts(), state_counts(), "2024-25"), None, OUTCOME, DEN, DIM, False))[
            "hi"
        ],
        None,
    )
    state = shown.filter(pl.col("measure") == "e_formula_state").row(0, named=True)
    assert state["compared_with"] == "the state's enrollment, reference data 2021-22"
    assert state["high"] == pytest.approx(0.1 + math.sqrt(0.1 * 0.9 / 37))  # hi is 1,000 of the state's 10,000 too
