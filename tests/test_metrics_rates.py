"""Rates per 1,000 and year-over-year change, with blanks where a rate is undefined."""

import polars as pl
import pytest

from metrics.rates import rate, rate_per_1000, with_rates, year_over_year


def test_rate_per_1000_and_blank_for_no_students():
    assert rate_per_1000(37, 408) == pytest.approx(90.68627, abs=1e-5)
    assert rate(0, 0) is None and rate_per_1000(3, 0) is None and rate(1, None) is None
    assert rate(0, 10) == 0.0


def test_with_rates_never_writes_nan_or_inf():
    out = with_rates(pl.DataFrame({"n": [0, 10, None], "k": [0, 3, 1]}))
    assert out["rate"].to_list() == [None, 0.3, None]
    assert out["rate_per_1000"].to_list() == pytest.approx([None, 300.0, None])


def test_year_over_year_compares_with_the_year_just_before_not_the_previous_row():
    frame = pl.DataFrame({"school_year": ["2022-23", "2023-24", "2025-26"], "group": "bl", "rate": [0.0, 5.0, 7.0]})
    out = year_over_year(frame, ["group"], "rate").sort("school_year")
    assert out["previous_value"].to_list() == [None, 0.0, None]
    assert out["change"].to_list() == [None, 5.0, None]
    assert out["percent_change"].to_list() == [None, None, None]  # from 0: no percentage


def test_year_over_year_percent_change():
    frame = pl.DataFrame({"school_year": ["2023-24", "2024-25"], "group": "x", "rate": [4.0, 5.0]})
    assert year_over_year(frame, ["group"], "rate")["percent_change"].to_list() == [None, 25.0]


def test_year_over_year_refuses_bad_years_and_repeated_keys():
    with pytest.raises(ValueError, match="2024-25"):
        year_over_year(pl.DataFrame({"school_year": ["2024"], "g": "a", "v": [1]}), ["g"], "v")
    with pytest.raises(ValueError, match="repeats"):
        year_over_year(pl.DataFrame({"school_year": ["2024-25"] * 2, "g": "a", "v": [1, 2]}), ["g"], "v")


def test_poisson_rate_interval_matches_the_published_exact_limits():
    # Exact Poisson 95% limits for a count of 0, 1 and 10 (Garwood 1936; e.g. the table in Ulm, Am J Epidemiol
    # 1990;131:373): 0 -> (0, 3.689), 1 -> (0.0253, 5.572), 10 -> (4.795, 18.390). Per 1,000 of 1,000 students.
    from metrics.rates import poisson_rate_ci

    for k, (low, high) in {0: (0.0, 3.689), 1: (0.0253, 5.572), 10: (4.795, 18.390)}.items():
        got = poisson_rate_ci(k, 1000)
        assert got is not None
        assert abs(got[0] - low) < 1e-3 and abs(got[1] - high) < 1e-3, k
    assert poisson_rate_ci(10, 500, per=1000) == pytest.approx((9.5908, 36.7807), abs=1e-3)
    assert poisson_rate_ci(3, 0) is None and poisson_rate_ci(3, None) is None
