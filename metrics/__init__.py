"""Pure statistics over frames: rates, disproportionality, survival, stratified tests,
concern levels and process-audit indicators. No Streamlit, no file or database access.

Every metric is written down in docs/METHODOLOGY.md with its formula and source.
"""

from metrics.audit import AUDIT_INDICATORS, AuditIndicator, AuditResult, evaluate_audit, evaluate_indicator
from metrics.competing_risks import (
    CumulativeIncidence,
    aalen_johansen,
    cumulative_incidence_table,
    first_action_outcomes,
)
from metrics.concern import IndependenceTest, concern_distribution, concern_independence
from metrics.config import DEFAULT_SETTINGS, MetricSettings
from metrics.disproportionality import (
    benjamini_hochberg,
    disproportionality,
    disproportionality_table,
    flag_persistence,
)
from metrics.rates import rate, rate_per_1000, with_rates, year_over_year
from metrics.stratified import MantelHaenszelResult, mantel_haenszel
from metrics.survival import (
    KaplanMeier,
    LogRankResult,
    TimelinessResult,
    kaplan_meier,
    logrank_test,
    time_to_first_action,
    time_to_intervention,
    timeliness,
    timeliness_share,
)

__all__ = [
    "AUDIT_INDICATORS",
    "AuditIndicator",
    "AuditResult",
    "evaluate_audit",
    "evaluate_indicator",
    "CumulativeIncidence",
    "aalen_johansen",
    "cumulative_incidence_table",
    "first_action_outcomes",
    "IndependenceTest",
    "concern_distribution",
    "concern_independence",
    "DEFAULT_SETTINGS",
    "MetricSettings",
    "benjamini_hochberg",
    "disproportionality",
    "disproportionality_table",
    "flag_persistence",
    "rate",
    "rate_per_1000",
    "with_rates",
    "year_over_year",
    "MantelHaenszelResult",
    "mantel_haenszel",
    "KaplanMeier",
    "LogRankResult",
    "TimelinessResult",
    "kaplan_meier",
    "logrank_test",
    "time_to_first_action",
    "time_to_intervention",
    "timeliness",
    "timeliness_share",
]
