"""One typed place for defaults: it refuses values no metric could use."""

import pytest

from metrics.config import DEFAULT_SETTINGS, MetricSettings


def test_defaults_are_the_documented_ones():
    s = DEFAULT_SETTINGS
    assert (s.min_cell, s.min_n, s.threshold, s.alpha, s.persistence_years, s.review_within_days) == (
        10,
        30,
        2.0,
        0.05,
        3,
        30,
    )
    assert dict(s.timeliness_days) == {"imminent": 0, "high": 1, "moderate": 5, "low": 10}


def test_settings_refuse_impossible_values():
    with pytest.raises(ValueError, match="threshold"):
        MetricSettings(threshold=0)
    with pytest.raises(ValueError, match="timeliness_days"):
        MetricSettings(timeliness_days={"low": 10})
    with pytest.raises(ValueError, match="alpha"):
        MetricSettings(alpha=1.5)
