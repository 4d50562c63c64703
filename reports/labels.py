"""Plain-language names for the codes of the interchange spec, as a board member reads them."""

from __future__ import annotations

from data_contracts.labels import RACE_NAMES, SEX_NAMES, YES_NO_NAMES

DISABILITY = {
    "idea": "with an IEP (IDEA)",
    "section_504_only": "with a Section 504 plan only",
    "none": "without a disability plan",
}
DIMENSIONS = {
    "race_ethnicity": "race and ethnicity",
    "disability_status": "disability status",
    "sex": "sex",
    "english_learner": "English-learner status",
    "econ_disadvantaged": "economic status",
    "race_x_disability": "race and disability together",
}
LEVELS = ("low", "moderate", "high", "imminent")
LEVEL_NAMES = {"low": "Low", "moderate": "Moderate", "high": "High", "imminent": "Imminent"}
SCHOOL_LEVELS = {"elementary": "Elementary", "middle": "Middle", "high": "High", "k12": "K-12", "other": "Other"}

# outcome -> (what the students had, who the comparison is about)
OUTCOMES = {
    "btam_referral": ("were the subject of a BTAM case", "enrolled students"),
    "oss_or_expulsion": ("had an out-of-school suspension or expulsion", "enrolled students"),
    "case_high_or_imminent": ("had a case rated high or imminent concern", "students with a BTAM case"),
    "case_exclusionary": ("had a suspension or expulsion as part of their case", "students with a BTAM case"),
    "case_law_enforcement": ("had law enforcement involved in their case", "students with a BTAM case"),
}
OUTCOME_TITLES = {
    "btam_referral": "Referred to BTAM",
    "oss_or_expulsion": "Out-of-school suspension or expulsion",
    "case_high_or_imminent": "Case rated high or imminent",
    "case_exclusionary": "Excluded as part of the case",
    "case_law_enforcement": "Law enforcement involved in the case",
}
CONDITIONAL_OUTCOMES = {
    "case_exclusionary": "ended in a suspension or expulsion",
    "case_law_enforcement": "involved law enforcement",
    "case_placement_change": "ended in a change of placement",
}
COMPLETENESS = {
    "student_linked": "Student cases linked to an enrollment record",
    "team_recorded": "Assessed cases with the team members recorded",
    "law_enforcement_recorded": "Assessed cases with law-enforcement involvement recorded",
    "disability_factors_recorded": "Cases of students with an IEP or 504 plan with disability factors recorded",
    "monitoring_recorded": "Moderate-or-above cases with the type of monitoring recorded",
    "action_recorded": "Cases with at least one action (support or otherwise) recorded",
}
AUDIT = {
    "team_composition": "Team included an administrator and a mental-health professional",
    "concern_level_recorded": "Level of concern recorded after assessment",
    "disability_factors_considered": "Disability considered for students with an IEP or 504 plan",
    "written_plan_moderate_plus": "Written plan, moderate concern and above",
    "formal_monitoring_moderate_plus": "Formal monitoring, moderate concern and above",
    "review_within_window_moderate_plus": "Review within {days} days of assessment, moderate and above",
    "law_enforcement_low_moderate": "Law enforcement involved in low or moderate concern cases",
    "exclusion_or_placement_change": "Exclusion or placement change, {level} concern",
    "suspended_while_case_open": "Students suspended while their case was open",
}


def group_name(dimension: str, group: str) -> str:
    """'bl' of race_ethnicity -> 'Black or African American students'."""
    if dimension == "race_ethnicity":
        return f"{RACE_NAMES.get(group, group)} students"
    if dimension == "disability_status":
        return f"Students {DISABILITY.get(group, group)}"
    if dimension == "sex":
        return f"{SEX_NAMES.get(group, group)} students"
    if dimension in YES_NO_NAMES:
        return f"{YES_NO_NAMES[dimension].get(group, group)}"
    if dimension == "race_x_disability" and ":" in group:
        race, dis = group.split(":", 1)
        return f"{RACE_NAMES.get(race, race)} students {DISABILITY.get(dis, dis)}"
    return group


def short_group(dimension: str, group: str) -> str:
    """A table cell: 'Black or African American', 'IEP (IDEA)', 'Female'."""
    if dimension == "race_ethnicity":
        return RACE_NAMES.get(group, group)
    if dimension == "disability_status":
        return {"idea": "IEP (IDEA)", "section_504_only": "Section 504 only", "none": "No disability plan"}.get(
            group, group
        )
    if dimension == "sex":
        return SEX_NAMES.get(group, group)
    if dimension in YES_NO_NAMES:
        return YES_NO_NAMES[dimension].get(group, group)
    return group
