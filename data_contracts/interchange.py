"""Entities, columns and code lists of spec/interchange.md, version 1, in one place.

Every module that needs a code list or a column list imports it from here, so the
spec is written down once. The great-expectations suites in suites/ carry the
column rules; tests check that they agree with these lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from data_contracts.values import SCHOOL_YEAR_BODY, STUDENT_KEY_BODY, end_of_text_anchored

SPEC_VERSION = 1

SCHOOL_LEVELS = ("elementary", "middle", "high", "k12", "other")
GRADE_LEVELS = ("pk", "kg", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "ug")
SEXES = ("f", "m", "x")
RACES = ("hi", "am", "as", "bl", "pi", "wh", "mu")
IDEA_DISABILITIES = ("aut", "db", "dd", "emn", "hi", "id", "md", "oi", "ohi", "sld", "sli", "tbi", "vi")
DISABILITY_STATUSES = ("idea", "section_504_only", "none")
SUBJECT_TYPES = ("student", "staff", "other")
REPORT_SOURCES = ("staff", "student", "parent", "anonymous", "law_enforcement", "community", "self", "other")
REPORT_CHANNELS = ("in_person", "tip_line", "online_form", "app", "phone", "email", "social_media", "other")
CONCERN_TYPES = ("harm_to_others", "harm_to_self", "both")
CASE_BEHAVIORS = (
    "verbal_threat",
    "written_threat",
    "online_threat",
    "weapon",
    "physical_aggression",
    "behavior_change",
    "self_harm",
    "other",
)
CONCERN_LEVELS = ("low", "moderate", "high", "imminent")  # ordered, lowest first
DISABILITY_FACTORS = ("y", "n", "na")
MONITORING = ("none", "informal", "formal")

SUPPORT_ACTIONS = (
    "counseling",
    "mental_health_referral",
    "safety_plan",
    "parent_conference",
    "supervision",
    "schedule_change",
    "community_referral",
    "special_education_evaluation",
    "section_504_review",
    "restorative",
    "other_support",
)
EXCLUSIONARY_ACTIONS = ("in_school_suspension", "out_of_school_suspension", "expulsion")
PLACEMENT_ACTIONS = ("change_of_placement",)
LAW_ENFORCEMENT_ACTIONS = ("law_enforcement_referral", "arrest")
CASE_ACTION_TYPES = SUPPORT_ACTIONS + EXCLUSIONARY_ACTIONS + PLACEMENT_ACTIONS + LAW_ENFORCEMENT_ACTIONS
REVIEW_OUTCOMES = ("continue", "escalate", "de_escalate", "close")

DISCIPLINE_BEHAVIORS = (
    "fighting",
    "threat_intimidation",
    "school_threat",
    "weapon_possession",
    "battery",
    "drugs_alcohol",
    "tobacco",
    "defiance",
    "disruption",
    "harassment_bullying",
    "other",
)
DISCIPLINE_ACTION_TYPES = (
    "iss",
    "oss",
    "expulsion_with_services",
    "expulsion_without_services",
    "alternative_placement",
    "law_enforcement_referral",
    "school_related_arrest",
    "removal_from_class",
    "other",
)
# Groups of discipline action types (not the case action types above), named once; the SQL writes them as
# {codes:NAME} (data_contracts.sql_files).
DISCIPLINE_OSS_OR_EXPULSION: tuple[str, ...] = ("oss", "expulsion_with_services", "expulsion_without_services")
DISCIPLINE_EXCLUSIONARY: tuple[str, ...] = ("iss", *DISCIPLINE_OSS_OR_EXPULSION)  # removals that count days
DISCIPLINE_REMOVALS: tuple[str, ...] = (*DISCIPLINE_EXCLUSIONARY, "alternative_placement")  # IDEA total removals
DISCIPLINE_LAW_ENFORCEMENT: tuple[str, ...] = ("law_enforcement_referral", "school_related_arrest")
REMOVAL_ACTIONS_NEEDING_DAYS = DISCIPLINE_EXCLUSIONARY
SQL_CODE_LISTS = {
    "oss_or_expulsion_actions": DISCIPLINE_OSS_OR_EXPULSION,
    "exclusionary_actions": DISCIPLINE_EXCLUSIONARY,
    "removal_actions": DISCIPLINE_REMOVALS,
    "law_enforcement_actions": DISCIPLINE_LAW_ENFORCEMENT,
    "removal_actions_needing_days": REMOVAL_ACTIONS_NEEDING_DAYS,
}

# For RE2 and Rust regex engines (DuckDB, polars), where $ is the end of the text; the suites run Python's
# re and use data_contracts.values.PATTERNS (anchored with \Z). Both are built from the same bodies.
STUDENT_KEY_PATTERN = end_of_text_anchored(STUDENT_KEY_BODY)
SCHOOL_YEAR_PATTERN = end_of_text_anchored(SCHOOL_YEAR_BODY)


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # text, code, bool, date, decimal
    required: bool = False
    codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entity:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _c(name: str, type_: str, required: bool = False, codes: tuple[str, ...] = ()) -> Column:
    return Column(name, type_, required, codes)


ENTITIES: dict[str, Entity] = {
    "schools": Entity(
        "schools",
        ("school_id",),
        (
            _c("school_id", "text", True),
            _c("school_name", "text", True),
            _c("school_level", "code", True, SCHOOL_LEVELS),
        ),
    ),
    "enrollment": Entity(
        "enrollment",
        ("school_year", "student_key"),
        (
            _c("school_year", "text", True),
            _c("student_key", "text", True),
            _c("school_id", "text", True),
            _c("grade_level", "code", True, GRADE_LEVELS),
            _c("sex", "code", True, SEXES),
            _c("race_ethnicity", "code", True, RACES),
            _c("idea", "bool", True),
            _c("idea_disability", "code", False, IDEA_DISABILITIES),
            _c("section_504", "bool", True),
            _c("english_learner", "bool", True),
            _c("econ_disadvantaged", "bool", True),
        ),
    ),
    "btam_cases": Entity(
        "btam_cases",
        ("case_id",),
        (
            _c("case_id", "text", True),
            _c("school_year", "text", True),
            _c("school_id", "text", True),
            _c("subject_type", "code", True, SUBJECT_TYPES),
            _c("student_key", "text"),
            _c("reported_date", "date", True),
            _c("report_source", "code", True, REPORT_SOURCES),
            _c("report_channel", "code", True, REPORT_CHANNELS),
            _c("concern_type", "code", True, CONCERN_TYPES),
            _c("behavior", "code", True, CASE_BEHAVIORS),
            _c("screened_date", "date"),
            _c("assessed_date", "date"),
            _c("concern_level", "code", False, CONCERN_LEVELS),
            _c("team_admin", "bool"),
            _c("team_mental_health", "bool"),
            _c("team_law_enforcement", "bool"),
            _c("law_enforcement_involved", "bool"),
            _c("disability_factors_considered", "code", False, DISABILITY_FACTORS),
            _c("plan_written_date", "date"),
            _c("monitoring", "code", False, MONITORING),
            _c("closed_date", "date"),
        ),
    ),
    "case_actions": Entity(
        "case_actions",
        ("action_id",),
        (
            _c("action_id", "text", True),
            _c("case_id", "text", True),
            _c("action_date", "date", True),
            _c("action_type", "code", True, CASE_ACTION_TYPES),
        ),
    ),
    "case_reviews": Entity(
        "case_reviews",
        ("review_id",),
        (
            _c("review_id", "text", True),
            _c("case_id", "text", True),
            _c("review_date", "date", True),
            _c("review_outcome", "code", True, REVIEW_OUTCOMES),
        ),
    ),
    "discipline_actions": Entity(
        "discipline_actions",
        ("action_id",),
        (
            _c("action_id", "text", True),
            _c("incident_id", "text", True),
            _c("school_year", "text", True),
            _c("school_id", "text", True),
            _c("student_key", "text", True),
            _c("incident_date", "date", True),
            _c("behavior", "code", True, DISCIPLINE_BEHAVIORS),
            _c("action_type", "code", True, DISCIPLINE_ACTION_TYPES),
            _c("days_removed", "decimal"),
            _c("related_case_id", "text"),
        ),
    ),
}

# Files of one load are processed parents first, so cross-table rules see their parents.
LOAD_ORDER = ("schools", "enrollment", "btam_cases", "case_actions", "case_reviews", "discipline_actions")


def school_year_bounds(school_year: str) -> tuple[str, str]:
    """July 1 of the first year to June 30 of the second, as ISO dates."""
    first = int(school_year[:4])
    return f"{first}-07-01", f"{first + 1}-06-30"


def school_year_of(year_start: int) -> str:
    return f"{year_start}-{(year_start + 1) % 100:02d}"
