"""Defaults of every metric in one typed place; docs/METHODOLOGY.md explains each value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from data_contracts.interchange import CONCERN_LEVELS

# Days from report to first intervention, per level of concern: local practice, not a federal rule.
DEFAULT_TIMELINESS_DAYS: Mapping[str, int] = MappingProxyType(
    {
        "imminent": 0,  # same day
        "high": 1,
        "moderate": 5,
        "low": 10,
    }
)

# Target share per process-audit indicator (metrics/audit.py); direction comes with the indicator.
DEFAULT_AUDIT_TARGETS: Mapping[str, float] = MappingProxyType(
    {
        "team_composition": 0.90,
        "concern_level_recorded": 0.95,
        "disability_factors_considered": 0.95,
        "written_plan_moderate_plus": 0.90,
        "formal_monitoring_moderate_plus": 0.90,
        "review_within_window_moderate_plus": 0.90,
        "law_enforcement_low_moderate": 0.05,
        "exclusion_or_placement_change": 0.10,
        "suspended_while_case_open": 0.10,
    }
)


@dataclass(frozen=True)
class MetricSettings:
    """Sizes, thresholds and targets; a state or district changes them here, never inside a metric."""

    min_cell: int = 10  # 34 CFR 300.647(b)(1)(iv): a cell size of at most 10 is presumptively reasonable
    min_n: int = 30  # ... and an n-size of at most 30
    threshold: float = 2.0  # risk ratio threshold; flagged when the ratio exceeds it (strictly)
    alpha: float = 0.05  # significance level shown beside p and q values
    persistence_years: int = 3  # consecutive flagged years that make a flag persistent
    review_within_days: int = 30  # first monitoring review after assessment, moderate concern and above
    audit_min_denominator: int = 10  # an audit indicator over fewer cases is reported as too_few
    permutations: int = 10_000  # Monte Carlo resamples of the concern-level independence test
    seed: int = 20240701  # fixed, so a page and an export show the same Monte Carlo p-value
    index_80_cutoff: float = 0.8  # 80% index (DisImpact): flagged when a group's index is below this
    ppg_min_moe: float = 0.03  # percentage point gap (DisImpact): the smallest margin of error
    identification_years: int = 3  # 34 CFR 300.647(d)(1): consecutive years above the threshold (1 to 3)
    reasonable_progress: float | None = None  # 300.647(d)(2): the ratio's required fall each year; None = off
    timeliness_days: Mapping[str, int] = field(default_factory=lambda: DEFAULT_TIMELINESS_DAYS)
    audit_targets: Mapping[str, float] = field(default_factory=lambda: DEFAULT_AUDIT_TARGETS)

    def __post_init__(self) -> None:
        problems = []
        if self.min_cell < 0 or self.min_n < 0:
            problems.append("min_cell and min_n must be 0 or more")
        if not self.threshold > 0:
            problems.append("threshold must be above 0")
        if not 0 < self.alpha < 1:
            problems.append("alpha must be between 0 and 1")
        if self.persistence_years < 1:
            problems.append("persistence_years must be 1 or more")
        if self.review_within_days < 0 or self.audit_min_denominator < 0:
            problems.append("review_within_days and audit_min_denominator must be 0 or more")
        if not 0 < self.index_80_cutoff <= 1:
            problems.append("index_80_cutoff must be above 0 and at most 1")
        if not 0 <= self.ppg_min_moe < 1:
            problems.append("ppg_min_moe must be 0 or more and below 1")
        if not 1 <= self.identification_years <= 3:
            problems.append("identification_years must be 1, 2 or 3 (34 CFR 300.647(d)(1))")
        if self.reasonable_progress is not None and not self.reasonable_progress >= 0:
            problems.append("reasonable_progress must be 0 or more, or None")
        if self.permutations < 1:
            problems.append("permutations must be 1 or more")
        missing = [lvl for lvl in CONCERN_LEVELS if lvl not in self.timeliness_days]
        if missing:
            problems.append(f"timeliness_days lacks the levels {missing}")
        if any(d < 0 for d in self.timeliness_days.values()):
            problems.append("timeliness_days must be 0 or more")
        if problems:
            raise ValueError("MetricSettings: " + "; ".join(problems))


DEFAULT_SETTINGS = MetricSettings()
