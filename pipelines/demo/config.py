"""Every parameter of the synthetic demo district, planted effects included, in one typed place.

The whole object is written to ground_truth.json, so a metric can be checked
against what was planted. Shares and rates are per student and school year.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

from data_contracts.interchange import (
    CASE_BEHAVIORS,
    CONCERN_LEVELS,
    DISCIPLINE_ACTION_TYPES,
    DISCIPLINE_BEHAVIORS,
    IDEA_DISABILITIES,
    RACES,
    REPORT_CHANNELS,
    REPORT_SOURCES,
    SEXES,
    SUPPORT_ACTIONS,
)

DEFAULT_AS_OF = date(2025, 5, 30)
SCHOOL_LEVELS_USED = ("elementary", "middle", "high")


def _check_keys(name: str, table: dict, codes: tuple[str, ...]) -> None:
    unknown = set(table) - set(codes)
    if unknown:
        raise ValueError(f"{name}: unknown codes {sorted(unknown)}")


@dataclass(frozen=True)
class Population:
    """Who is enrolled: shares drawn independently of each other, so a group without a planted effect has none."""

    race_shares: dict[str, float] = field(
        default_factory=lambda: {"hi": 0.28, "am": 0.01, "as": 0.05, "bl": 0.15, "pi": 0.004, "wh": 0.456, "mu": 0.05}
    )
    sex_shares: dict[str, float] = field(default_factory=lambda: {"f": 0.487, "m": 0.508, "x": 0.005})
    idea_share: float = 0.14
    # IDEA disability mix (roughly the national one); dd is reported as sld from grade 04 on.
    idea_disability_shares: dict[str, float] = field(
        default_factory=lambda: {
            "sld": 0.32,
            "sli": 0.19,
            "ohi": 0.15,
            "aut": 0.12,
            "dd": 0.07,
            "id": 0.06,
            "emn": 0.05,
            "md": 0.02,
            "hi": 0.01,
            "oi": 0.005,
            "vi": 0.003,
            "tbi": 0.003,
            "db": 0.0005,
        }
    )
    section_504_only_share: float = 0.03
    english_learner_share: float = 0.10
    econ_disadvantaged_share: float = 0.45
    # relative number of students per grade: pk is offered at some elementary schools only
    grade_weights: dict[str, float] = field(
        default_factory=lambda: {
            "pk": 0.35,
            **{g: 1.0 for g in ("kg", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12")},
        }
    )
    school_size_mean: dict[str, int] = field(default_factory=lambda: {"elementary": 450, "middle": 800, "high": 1500})
    share_of_elementary_with_pk: float = 0.5
    leave_district_per_year: float = 0.07
    change_school_within_level_per_year: float = 0.04
    retained_in_grade_per_year: float = 0.01

    def __post_init__(self) -> None:
        _check_keys("race_shares", self.race_shares, RACES)
        _check_keys("sex_shares", self.sex_shares, SEXES)
        _check_keys("idea_disability_shares", self.idea_disability_shares, IDEA_DISABILITIES)


@dataclass(frozen=True)
class Referral:
    """BTAM referral: P(student is the subject of >= 1 case in a year) = base x race RR x IDEA RR x level multiplier."""

    target_student_rate: float = 0.012
    second_case_share: float = 0.10
    non_student_subject_share: float = 0.04
    non_student_staff_share: float = 0.6  # of non-student subjects; the rest are 'other'
    # PLANTED: referral risk ratios relative to groups without effect (which are all 1.0)
    race_risk_ratio: dict[str, float] = field(
        default_factory=lambda: {"hi": 1.0, "am": 1.8, "as": 1.0, "bl": 2.3, "pi": 1.0, "wh": 1.0, "mu": 1.0}
    )
    idea_risk_ratio: float = 2.2
    # school level changes everyone's rate alike (levels are independent of student groups)
    level_multiplier: dict[str, float] = field(default_factory=lambda: {"elementary": 0.7, "middle": 1.3, "high": 1.2})
    report_source_shares: dict[str, float] = field(
        default_factory=lambda: {
            "staff": 0.45,
            "student": 0.18,
            "parent": 0.15,
            "anonymous": 0.10,
            "law_enforcement": 0.03,
            "community": 0.03,
            "self": 0.03,
            "other": 0.03,
        }
    )
    report_channel_shares: dict[str, float] = field(
        default_factory=lambda: {
            "in_person": 0.55,
            "tip_line": 0.12,
            "online_form": 0.08,
            "app": 0.07,
            "phone": 0.08,
            "email": 0.06,
            "social_media": 0.02,
            "other": 0.02,
        }
    )

    def __post_init__(self) -> None:
        _check_keys("race_risk_ratio", self.race_risk_ratio, RACES)
        _check_keys("report_source_shares", self.report_source_shares, REPORT_SOURCES)
        _check_keys("report_channel_shares", self.report_channel_shares, REPORT_CHANNELS)


def _behaviors_by_level() -> dict[str, dict[str, float]]:
    rows = {
        "low": (0.42, 0.08, 0.14, 0.02, 0.14, 0.08, 0.06, 0.06),
        "moderate": (0.30, 0.12, 0.14, 0.06, 0.14, 0.10, 0.08, 0.06),
        "high": (0.20, 0.14, 0.12, 0.18, 0.12, 0.08, 0.10, 0.06),
        "imminent": (0.15, 0.12, 0.10, 0.35, 0.10, 0.03, 0.12, 0.03),
    }
    return {level: dict(zip(CASE_BEHAVIORS, shares)) for level, shares in rows.items()}


@dataclass(frozen=True)
class Process:
    """How cases move: screening, assessment, concern levels, plans, monitoring, closing."""

    concern_level_shares: dict[str, float] = field(
        default_factory=lambda: {"low": 0.665, "moderate": 0.22, "high": 0.09, "imminent": 0.025}
    )
    behavior_shares_by_level: dict[str, dict[str, float]] = field(default_factory=_behaviors_by_level)
    never_screened_share: float = 0.02
    screened_lag_days: dict[int, float] = field(
        default_factory=lambda: {0: 0.55, 1: 0.25, 2: 0.10, 3: 0.05, 4: 0.03, 5: 0.02}
    )
    assessed_share_of_screened: float = 0.93
    assessed_lag_days: dict[int, float] = field(
        default_factory=lambda: {0: 0.35, 1: 0.30, 2: 0.15, 3: 0.10, 4: 0.05, 5: 0.03, 7: 0.02}
    )
    plan_written_share: dict[str, float] = field(
        default_factory=lambda: {"low": 0.30, "moderate": 0.90, "high": 0.95, "imminent": 0.97}
    )
    monitoring_shares: dict[str, dict[str, float]] = field(
        default_factory=lambda: {
            "low": {"none": 0.35, "informal": 0.50, "formal": 0.15},
            "moderate": {"none": 0.05, "informal": 0.30, "formal": 0.65},
            "high": {"none": 0.02, "informal": 0.18, "formal": 0.80},
            "imminent": {"none": 0.0, "informal": 0.10, "formal": 0.90},
        }
    )
    reviews_every_days: int = 14
    case_duration_median_days: dict[str, float] = field(
        default_factory=lambda: {"low": 21, "moderate": 45, "high": 75, "imminent": 90}
    )
    screen_only_duration_days: int = 7
    never_closed_share: float = 0.02
    # first intervention: lognormal days from reported_date, by concern level
    first_action_median_days: dict[str, float] = field(
        default_factory=lambda: {"low": 4.0, "moderate": 3.0, "high": 1.5, "imminent": 0.5}
    )
    first_action_sigma: float = 0.7
    no_action_share_low: float = 0.12
    support_only_share_screen_only: float = 0.5
    support_shares: dict[str, float] = field(
        default_factory=lambda: {
            "counseling": 0.28,
            "parent_conference": 0.22,
            "safety_plan": 0.12,
            "supervision": 0.08,
            "mental_health_referral": 0.09,
            "schedule_change": 0.04,
            "community_referral": 0.04,
            "special_education_evaluation": 0.02,
            "section_504_review": 0.01,
            "restorative": 0.07,
            "other_support": 0.03,
        }
    )
    team_admin_share: float = 0.95
    team_mental_health_share: float = 0.85
    team_law_enforcement_share_without_le: float = 0.15
    disability_factors_considered_share: float = 0.85  # of IDEA / 504 students

    def __post_init__(self) -> None:
        _check_keys("concern_level_shares", self.concern_level_shares, CONCERN_LEVELS)
        _check_keys("support_shares", self.support_shares, SUPPORT_ACTIONS)


@dataclass(frozen=True)
class Outcomes:
    """Consequences of cases. PLANTED: exclusion odds ratio for one race at every concern level."""

    exclusion_probability: dict[str, float] = field(
        default_factory=lambda: {"low": 0.04, "moderate": 0.12, "high": 0.25, "imminent": 0.40}
    )
    exclusion_odds_ratio_group: str = "bl"
    exclusion_odds_ratio: float = 2.5
    expulsion_share_of_exclusions_high: float = 0.15  # at high and imminent; never at low / moderate
    oss_share_of_suspensions: float = 0.55
    placement_change_probability: dict[str, float] = field(
        default_factory=lambda: {"low": 0.005, "moderate": 0.02, "high": 0.06, "imminent": 0.12}
    )
    law_enforcement_involved_probability: dict[str, float] = field(
        default_factory=lambda: {"low": 0.03, "moderate": 0.10, "high": 0.30, "imminent": 0.75}
    )
    law_enforcement_referral_given_involved: dict[str, float] = field(
        default_factory=lambda: {"low": 0.25, "moderate": 0.30, "high": 0.40, "imminent": 0.60}
    )
    arrest_given_involved: dict[str, float] = field(
        default_factory=lambda: {"low": 0.0, "moderate": 0.0, "high": 0.05, "imminent": 0.20}
    )


@dataclass(frozen=True)
class SchoolProblems:
    """PLANTED process problems at two named schools (the first high and the first middle school)."""

    named_school_size_factor: float = 1.8  # larger than their peers, so a few years show the problem clearly
    law_enforcement_school_name: str = "Ridgeview High School"
    low_concern_law_enforcement_involved: float = 0.45
    low_concern_law_enforcement_referral_given_involved: float = 0.60
    slow_school_name: str = "Lakeside Middle School"
    slow_plan_written_share: dict[str, float] = field(
        default_factory=lambda: {"low": 0.05, "moderate": 0.25, "high": 0.25, "imminent": 0.25}
    )
    slow_first_action_median_days: dict[str, float] = field(
        default_factory=lambda: {"low": 20.0, "moderate": 16.0, "high": 10.0, "imminent": 3.0}
    )


@dataclass(frozen=True)
class Discipline:
    """P(>= 1 action of a type in a year) = base x level multiplier x risk ratio (PLANTED for oss and expulsion)."""

    base_rate: dict[str, float] = field(
        default_factory=lambda: {
            "iss": 0.035,
            "oss": 0.030,
            "expulsion": 0.0012,
            "alternative_placement": 0.002,
            "law_enforcement_referral": 0.005,
            "school_related_arrest": 0.0008,
            # minor actions (office referrals: removal from class; detention, conference... as 'other'), so that
            # all types together come to about 1 row per enrolled student-year (docs/DEMO.md, "Discipline")
            "removal_from_class": 0.08,
            "other": 0.17,
        }
    )
    level_multiplier: dict[str, float] = field(default_factory=lambda: {"elementary": 0.35, "middle": 1.5, "high": 1.3})
    # PLANTED: out-of-school suspension and expulsion risk ratios; every other type has none
    oss_expulsion_race_risk_ratio: dict[str, float] = field(
        default_factory=lambda: {"hi": 1.0, "am": 1.0, "as": 1.0, "bl": 2.0, "pi": 1.0, "wh": 1.0, "mu": 1.0}
    )
    oss_expulsion_idea_risk_ratio: float = 2.0
    # a student with >= 1 action of a type has 1 + Poisson(mean) of them that year: classroom removals recur
    # for a small group (about 6 a year each), other minor actions about 3 a year each
    extra_events_mean: dict[str, float] = field(
        default_factory=lambda: {"iss": 0.35, "oss": 0.30, "removal_from_class": 5.0, "other": 2.0}
    )
    behavior_shares: dict[str, dict[str, float]] = field(
        default_factory=lambda: {
            "suspension": {
                "fighting": 0.28,
                "threat_intimidation": 0.08,
                "school_threat": 0.02,
                "weapon_possession": 0.03,
                "battery": 0.07,
                "drugs_alcohol": 0.10,
                "tobacco": 0.05,
                "defiance": 0.15,
                "disruption": 0.12,
                "harassment_bullying": 0.07,
                "other": 0.03,
            },
            "serious": {
                "fighting": 0.10,
                "threat_intimidation": 0.08,
                "school_threat": 0.10,
                "weapon_possession": 0.25,
                "battery": 0.20,
                "drugs_alcohol": 0.22,
                "tobacco": 0.0,
                "defiance": 0.0,
                "disruption": 0.0,
                "harassment_bullying": 0.03,
                "other": 0.02,
            },
            "minor": {
                "fighting": 0.05,
                "threat_intimidation": 0.03,
                "school_threat": 0.0,
                "weapon_possession": 0.0,
                "battery": 0.0,
                "drugs_alcohol": 0.02,
                "tobacco": 0.08,
                "defiance": 0.35,
                "disruption": 0.35,
                "harassment_bullying": 0.07,
                "other": 0.05,
            },
            "case_linked": {"threat_intimidation": 0.55, "school_threat": 0.30, "weapon_possession": 0.15},
        }
    )

    def __post_init__(self) -> None:
        kinds = set(DISCIPLINE_ACTION_TYPES) | {"expulsion"}
        _check_keys("base_rate", self.base_rate, tuple(kinds))
        for table in self.behavior_shares.values():
            _check_keys("behavior_shares", table, DISCIPLINE_BEHAVIORS)


@dataclass(frozen=True)
class DemoConfig:
    students: int = 25_000
    years: int = 3
    seed: int = 42
    as_of: date = DEFAULT_AS_OF
    population: Population = field(default_factory=Population)
    referral: Referral = field(default_factory=Referral)
    process: Process = field(default_factory=Process)
    outcomes: Outcomes = field(default_factory=Outcomes)
    school_problems: SchoolProblems = field(default_factory=SchoolProblems)
    discipline: Discipline = field(default_factory=Discipline)

    def __post_init__(self) -> None:
        if self.students < 1000:
            raise ValueError(
                "--students must be at least 1000 (a district needs an elementary, a middle and a high school)"
            )
        if not 1 <= self.years <= 20:
            raise ValueError("--years must be between 1 and 20")

    @property
    def last_year_start(self) -> int:
        """The school year (July 1 - June 30) holding the as-of date."""
        return self.as_of.year if self.as_of.month >= 7 else self.as_of.year - 1

    @property
    def year_starts(self) -> list[int]:
        return list(range(self.last_year_start - self.years + 1, self.last_year_start + 1))

    def as_dict(self) -> dict:
        out = asdict(self)
        out["as_of"] = self.as_of.isoformat()
        out["process"]["screened_lag_days"] = {str(k): v for k, v in self.process.screened_lag_days.items()}
        out["process"]["assessed_lag_days"] = {str(k): v for k, v in self.process.assessed_lag_days.items()}
        return out
