"""Process-audit indicators (NASP BTAM steps) against their targets."""

import polars as pl
import pytest

from metrics.audit import AUDIT_INDICATORS, NASP_STEPS, evaluate_audit, evaluate_indicator
from metrics.config import DEFAULT_AUDIT_TARGETS, MetricSettings


def test_every_indicator_has_a_target_a_step_and_a_direction():
    assert {i.key for i in AUDIT_INDICATORS} == set(DEFAULT_AUDIT_TARGETS)
    assert all(i.nasp_step in NASP_STEPS for i in AUDIT_INDICATORS)
    assert {i.direction for i in AUDIT_INDICATORS} == {"higher_is_better", "lower_is_better"}


def test_a_share_equal_to_the_target_is_on_target_in_both_directions():
    # 0.9 and 0.05 are not exact in binary; 9/10 and 1/20 must still meet them.
    assert evaluate_indicator(9, 10, 0.9, "higher_is_better").status == "on_target"
    assert evaluate_indicator(1, 20, 0.05, "lower_is_better").status == "on_target"
    assert evaluate_indicator(8, 10, 0.9, "higher_is_better").status == "off_target"
    assert evaluate_indicator(2, 20, 0.05, "lower_is_better").status == "off_target"


def test_no_cases_is_not_applicable_and_few_cases_too_few():
    assert evaluate_indicator(0, 0, 0.9, "higher_is_better") == evaluate_indicator(0, 0, 0.1, "lower_is_better")
    none = evaluate_indicator(0, 0, 0.9, "higher_is_better")
    assert (none.value, none.status) == (None, "not_applicable")
    few = evaluate_indicator(2, 4, 0.9, "higher_is_better", min_denominator=10)
    assert (few.value, few.status) == (0.5, "too_few")


@pytest.mark.parametrize(
    "num, den, direction", [(5, 4, "higher_is_better"), (-1, 4, "higher_is_better"), (1, 4, "sideways")]
)
def test_impossible_inputs_are_refused(num, den, direction):
    with pytest.raises(ValueError):
        evaluate_indicator(num, den, 0.5, direction)


def test_evaluate_audit_keeps_extra_columns_and_uses_configured_targets():
    frame = pl.DataFrame(
        {
            "school_id": ["s1", "s1"],
            "indicator": ["team_composition", "law_enforcement_low_moderate"],
            "numerator": [18, 3],
            "denominator": [20, 30],
        }
    )
    out = evaluate_audit(frame)
    assert out["school_id"].to_list() == ["s1", "s1"]
    assert out["status"].to_list() == ["on_target", "off_target"]
    assert out["nasp_step"].to_list() == [1, 4]
    strict = MetricSettings(audit_targets={"team_composition": 0.95})  # the others keep their defaults
    assert evaluate_audit(frame, strict)["status"].to_list() == ["off_target", "off_target"]


def test_unknown_indicator_is_refused_with_the_known_list():
    with pytest.raises(ValueError, match="team_composition"):
        evaluate_audit(pl.DataFrame({"indicator": ["made_up"], "numerator": [1], "denominator": [2]}))
