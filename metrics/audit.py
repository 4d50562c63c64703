"""Process-audit indicators: does the team do what NASP's BTAM guidance asks, case by case?

Each indicator is a share (numerator over denominator, both counts of cases) compared with a
local target; docs/METHODOLOGY.md lists the numerator and denominator of each.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import polars as pl

from data_contracts.labels import AUDIT_LABELS
from metrics.config import DEFAULT_AUDIT_TARGETS, DEFAULT_SETTINGS, MetricSettings
from metrics.frames import require_columns

# NASP, "Behavior Threat Assessment and Management (BTAM): Best Practice Considerations for K-12 Schools".
NASP_STEPS: dict[int, str] = {
    1: "Establish a multidisciplinary threat assessment team",
    2: "Define prohibited and concerning behaviors",
    3: "Develop a central reporting mechanism",
    4: "Determine the threshold for law enforcement intervention",
    5: "Establish assessment procedures",
    6: "Develop risk management options",
    7: "Create and promote safe school climates",
    8: "Conduct training for all collaborators",
}
DIRECTIONS = ("higher_is_better", "lower_is_better")
STATUSES = ("on_target", "off_target", "not_applicable", "too_few")


@dataclass(frozen=True)
class AuditIndicator:
    key: str
    label: str
    nasp_step: int
    direction: str
    numerator: str  # which cases count as meeting (or, lower_is_better, showing) the indicator
    denominator: str  # which cases the indicator is about


@dataclass(frozen=True)
class AuditResult:
    value: float | None  # numerator / denominator, None when the denominator is 0
    status: str  # one of STATUSES


AUDIT_INDICATORS: tuple[AuditIndicator, ...] = (
    AuditIndicator(
        "team_composition",
        AUDIT_LABELS["team_composition"],
        1,
        "higher_is_better",
        "assessed cases with team_admin = Y and team_mental_health = Y",
        "assessed cases",
    ),
    AuditIndicator(
        "concern_level_recorded",
        AUDIT_LABELS["concern_level_recorded"],
        5,
        "higher_is_better",
        "assessed cases with a concern_level",
        "cases with an assessed_date",
    ),
    AuditIndicator(
        "disability_factors_considered",
        AUDIT_LABELS["disability_factors_considered"],
        5,
        "higher_is_better",
        "those cases with disability_factors_considered = y",
        "assessed cases of students with IDEA eligibility or a Section 504 plan that year",
    ),
    AuditIndicator(
        "written_plan_moderate_plus",
        AUDIT_LABELS["written_plan_moderate_plus"],
        6,
        "higher_is_better",
        "those cases with a plan_written_date",
        "cases assessed moderate, high or imminent",
    ),
    AuditIndicator(
        "formal_monitoring_moderate_plus",
        AUDIT_LABELS["formal_monitoring_moderate_plus"],
        6,
        "higher_is_better",
        "those cases with monitoring = formal",
        "cases assessed moderate, high or imminent",
    ),
    AuditIndicator(
        "review_within_window_moderate_plus",
        AUDIT_LABELS["review_within_window_moderate_plus"],
        6,
        "higher_is_better",
        "those cases with a case review within review_within_days of assessed_date",
        "cases assessed moderate, high or imminent whose window has ended by the as-of date",
    ),
    AuditIndicator(
        "law_enforcement_low_moderate",
        AUDIT_LABELS["law_enforcement_low_moderate"],
        4,
        "lower_is_better",
        "those cases with law_enforcement_involved = Y or a law-enforcement action",
        "cases assessed low or moderate",
    ),
    AuditIndicator(
        "exclusion_or_placement_change",
        AUDIT_LABELS["exclusion_or_placement_change"],
        6,
        "lower_is_better",
        "those cases with a suspension, expulsion or change_of_placement action",
        "assessed cases at the level of concern (one row per level)",
    ),
    AuditIndicator(
        "suspended_while_case_open",
        AUDIT_LABELS["suspended_while_case_open"],
        6,
        "lower_is_better",
        "those with an iss, oss or expulsion incident between reported_date and closed_date (or the as-of date)",
        "students who were the subject of a case",
    ),
)
INDICATORS_BY_KEY = {i.key: i for i in AUDIT_INDICATORS}


def indicator_label(indicator: AuditIndicator, settings: MetricSettings = DEFAULT_SETTINGS) -> str:
    """The indicator's label with its configured window in words ('within 30 days of'), never a setting's name."""
    days = settings.review_within_days
    window = "the same day as" if days == 0 else f"within {days} day{'' if days == 1 else 's'} of"
    return indicator.label.format(review_window=window)


def evaluate_indicator(
    numerator: int,
    denominator: int,
    target: float,
    direction: str,
    min_denominator: int = DEFAULT_SETTINGS.audit_min_denominator,
) -> AuditResult:
    """Compare the share with its target exactly (a share equal to the target is on target)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"audit: direction {direction!r} is not one of {DIRECTIONS}")
    if numerator is None or denominator is None or not 0 <= numerator <= denominator:
        raise ValueError(
            f"audit: numerator {numerator} and denominator {denominator} must be counts with "
            "0 <= numerator <= denominator"
        )
    if denominator == 0:
        return AuditResult(None, "not_applicable")
    value = numerator / denominator
    if denominator < min_denominator:
        return AuditResult(value, "too_few")
    share, goal = Fraction(int(numerator), int(denominator)), Fraction(str(target))
    good = share >= goal if direction == "higher_is_better" else share <= goal
    return AuditResult(value, "on_target" if good else "off_target")


def evaluate_audit(frame: pl.DataFrame, settings: MetricSettings = DEFAULT_SETTINGS) -> pl.DataFrame:
    """Evaluate many indicator rows (any extra columns, e.g. school or concern_level, are kept).

    `frame`: indicator, numerator, denominator. Adds label, nasp_step, nasp_step_name, direction,
    target, value, status. An indicator missing from settings.audit_targets uses its default target.
    """
    require_columns(frame, ["indicator", "numerator", "denominator"], "evaluate_audit")
    unknown = sorted(set(frame["indicator"].to_list()) - set(INDICATORS_BY_KEY))
    if unknown:
        raise ValueError(f"evaluate_audit: unknown indicators {unknown}; known: {list(INDICATORS_BY_KEY)}")
    rows = []
    for key, num, den in frame.select("indicator", "numerator", "denominator").iter_rows():
        ind = INDICATORS_BY_KEY[key]
        target = settings.audit_targets.get(key, DEFAULT_AUDIT_TARGETS[key])
        result = evaluate_indicator(num, den, target, ind.direction, settings.audit_min_denominator)
        rows.append(
            (
                indicator_label(ind, settings),
                ind.nasp_step,
                NASP_STEPS[ind.nasp_step],
                ind.direction,
                target,
                result.value,
                result.status,
            )
        )
    added = pl.DataFrame(
        rows,
        orient="row",
        schema={
            "label": pl.String,
            "nasp_step": pl.Int64,
            "nasp_step_name": pl.String,
            "direction": pl.String,
            "target": pl.Float64,
            "value": pl.Float64,
            "status": pl.String,
        },
    )
    return pl.concat([frame, added], how="horizontal")
