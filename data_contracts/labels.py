"""The one vocabulary: every name a reader sees for a code of the interchange spec or a figure of ours
(groups, levels, outcomes, dimensions, categories, audit indicators), written once for the pages, the
board report and the exports. tests/test_vocabulary.py fails on a copy of these words anywhere else."""

from __future__ import annotations

from data_contracts.interchange import CONCERN_LEVELS

# -- student groups ---------------------------------------------------------------------------------------------

RACE_NAMES = {
    "hi": "Hispanic or Latino",
    "am": "American Indian or Alaska Native",
    "as": "Asian",
    "bl": "Black or African American",
    "pi": "Native Hawaiian or Pacific Islander",
    "wh": "White",
    "mu": "Two or more races",
}
SEX_NAMES = {"f": "Female", "m": "Male", "x": "Nonbinary"}
YES_NO_NAMES = {
    "english_learner": {"y": "English learners", "n": "Not English learners"},
    "econ_disadvantaged": {"y": "Economically disadvantaged", "n": "Not economically disadvantaged"},
}
# a table cell, and the students of the group inside a sentence
DISABILITY_NAMES = {"idea": "IDEA eligibility", "section_504_only": "Section 504 only", "none": "No disability plan"}
DISABILITY_STUDENTS = {
    "idea": "students with IDEA eligibility",
    "section_504_only": "students with a Section 504 plan only",
    "none": "students without a disability plan",
}

# -- dimensions, levels, schools --------------------------------------------------------------------------------

DIMENSION_LABELS = {
    "race_ethnicity": "Race and ethnicity",
    "disability_status": "Disability status",
    "sex": "Sex",
    "english_learner": "English-learner status",
    "econ_disadvantaged": "Economic status",
    "race_x_disability": "Race and disability",
    "concern_level": "Level of concern",
    "school": "School",
    "school_level": "School level",
}
LEVELS = CONCERN_LEVELS  # ordered, lowest first
LEVEL_LABELS = {"low": "Low", "moderate": "Moderate", "high": "High", "imminent": "Imminent", "all": "All cases"}
SCHOOL_LEVEL_LABELS = {"elementary": "Elementary", "middle": "Middle", "high": "High", "k12": "K-12", "other": "Other"}

# -- outcomes ---------------------------------------------------------------------------------------------------

OUTCOME_LABELS = {
    "btam_referral": "Referred to BTAM (subject of a case)",
    "oss_or_expulsion": "Out-of-school suspension or expulsion",
    "iss": "In-school suspension",
    "any_exclusionary": "Any exclusionary discipline",
    "law_enforcement": "Referred to law enforcement or arrested",
    "case_high_or_imminent": "Case rated high or imminent",
    "case_exclusionary": "Case ended in suspension or expulsion",
    "case_law_enforcement": "Law enforcement in the case",
    "case_placement_change": "Case ended in a change of placement",
    "idea_total_removals": "Any removal (IDEA students)",
    "idea_iss_le10": "ISS of 10 days or fewer (IDEA)",
    "idea_iss_gt10": "ISS of more than 10 days (IDEA)",
    "idea_oss_exp_le10": "OSS or expulsion, 10 days or fewer (IDEA)",
    "idea_oss_exp_gt10": "OSS or expulsion, more than 10 days (IDEA)",
}
POPULATION_LABELS = {
    "enrolled": "enrolled students",
    "btam_referral": "students with a BTAM case",
    "idea_students": "students with IDEA eligibility",
}
# the board report's equity outcomes: what the students had (a verb phrase) and the population compared
OUTCOME_PHRASES = {
    "btam_referral": ("were the subject of a BTAM case", "enrolled students"),
    "oss_or_expulsion": ("had an out-of-school suspension or expulsion", "enrolled students"),
    "case_high_or_imminent": ("had a case rated high or imminent concern", "students with a BTAM case"),
    "case_exclusionary": ("had a suspension or expulsion as part of their case", "students with a BTAM case"),
    "case_law_enforcement": ("had law enforcement involved in their case", "students with a BTAM case"),
}
# what a case did, after "cases of <group>" (the conditional comparisons at the same level of concern)
CASE_OUTCOME_PHRASES = {
    "case_exclusionary": "ended in a suspension or expulsion",
    "case_law_enforcement": "involved law enforcement",
    "case_placement_change": "ended in a change of placement",
}

# the measures of the IDEA significant-disproportionality section
MEASURE_LABELS = {
    "risk_ratio": "Risk ratio",
    "risk": "Risk",
    "comparison_risk": "Comparison risk",
    "risk_difference": "Risk difference",
    "outcome_composition": "Composition: share of the students with the outcome",
    "population_composition": "Composition: share of the students",
    "relative_difference_in_composition": "Relative difference in composition",
    "e_formula": "E-formula, district enrollment",
    "e_formula_state": "E-formula, state enrollment",
    "index_80": "80% index",
    "percentage_point_gap": "Percentage point gap",
}

# -- case categories (referral source, mode, threat type) -------------------------------------------------------

CATEGORY_LABELS = {
    "staff": "Staff",
    "student": "Student",
    "parent": "Parent",
    "anonymous": "Anonymous",
    "law_enforcement": "Law enforcement",
    "community": "Community",
    "self": "Self",
    "other": "Other",
    "in_person": "In person",
    "tip_line": "Tip line",
    "online_form": "Online form",
    "app": "App",
    "phone": "Phone",
    "email": "Email",
    "social_media": "Social media",
    "harm_to_others": "Harm to others",
    "harm_to_self": "Harm to self",
    "both": "Both",
    "verbal_threat": "Verbal threat",
    "written_threat": "Written threat",
    "online_threat": "Online threat",
    "weapon": "Weapon",
    "physical_aggression": "Physical aggression",
    "behavior_change": "Behavior change",
    "self_harm": "Self-harm",
}

# -- entities of the interchange spec and the case-volume breakdowns -------------------------------------------

ENTITY_LABELS = {
    "schools": "Schools",
    "enrollment": "Enrollment (student-years)",
    "btam_cases": "BTAM cases",
    "case_actions": "Case actions",
    "case_reviews": "Case reviews",
    "discipline_actions": "Discipline actions",
}
# a case-volume breakdown inside a sentence ("cases by who reported"); first_upper as a choice
BREAKDOWN_LABELS = {
    "report_source": "who reported",
    "report_channel": "how it was reported",
    "concern_type": "type of concern",
    "behavior": "behavior reported",
}

# -- process audit and data completeness ------------------------------------------------------------------------

# {review_window} is the configured window in words ("within 30 days of"), metrics.audit.indicator_label
AUDIT_LABELS = {
    "team_composition": "Assessment team included an administrator and a mental-health professional",
    "concern_level_recorded": "Level of concern recorded for assessed cases",
    "disability_factors_considered": "Disability factors considered for students with IDEA or 504",
    "written_plan_moderate_plus": "Written plan for moderate concern and above",
    "formal_monitoring_moderate_plus": "Formal monitoring for moderate concern and above",
    "review_within_window_moderate_plus": "Monitoring review {review_window} assessment, moderate concern and above",
    "law_enforcement_low_moderate": "Law enforcement involved in low or moderate concern cases",
    "exclusion_or_placement_change": "Exclusion or placement change, by level of concern",
    "suspended_while_case_open": "Students suspended while their BTAM case was open",
}
# an indicator's status against its target (metrics.audit.STATUSES, and "withheld" for a suppressed viewer)
AUDIT_STATUS_LABELS = {
    "on_target": "on target",
    "off_target": "off target",
    "too_few": "too few cases",
    "not_applicable": "no cases",
    "withheld": "withheld: a count it depends on is hidden for this role",
}
# the same status as one mark in a school-by-indicator grid
AUDIT_STATUS_MARKS = {"on_target": "✓", "off_target": "✗", "too_few": "○ few", "not_applicable": "–"}
AUDIT_BY_LEVEL = "Exclusion or placement change, {level} concern"
COMPLETENESS_LABELS = {
    "student_linked": "Student cases linked to an enrollment record",
    "team_recorded": "Assessed cases with the team members recorded",
    "law_enforcement_recorded": "Assessed cases with law-enforcement involvement recorded",
    "disability_factors_recorded": "Cases of students with an IEP or 504 plan with disability factors recorded",
    "monitoring_recorded": "Moderate-or-above cases with the type of monitoring recorded",
    "action_recorded": "Cases with at least one action (support or otherwise) recorded",
}


# -- names of groups --------------------------------------------------------------------------------------------


def group_label(dimension: str, group: str) -> str:
    """A group as a table cell or legend names it: 'Black or African American', 'IDEA eligibility', 'Female'."""
    if dimension == "race_ethnicity":
        return RACE_NAMES.get(group, group)
    if dimension == "disability_status":
        return DISABILITY_NAMES.get(group, group)
    if dimension == "sex":
        return SEX_NAMES.get(group, group)
    if dimension in YES_NO_NAMES:
        return YES_NO_NAMES[dimension].get(group, group)
    if dimension == "race_x_disability" and ":" in group:
        race, dis = group.split(":", 1)
        return f"{RACE_NAMES.get(race, race)}, {DISABILITY_NAMES.get(dis, dis)}"
    if dimension == "concern_level":
        return LEVEL_LABELS.get(group, group)
    if dimension == "school_level":
        return SCHOOL_LEVEL_LABELS.get(group, group)
    return CATEGORY_LABELS.get(group, group)


def students_phrase(dimension: str, group: str) -> str:
    """The group's students inside a sentence: 'Black or African American students', 'students with IDEA
    eligibility', 'English learners' (first_upper at the start of one)."""
    if dimension in YES_NO_NAMES:
        return group_label(dimension, group)
    if dimension == "disability_status":
        return DISABILITY_STUDENTS.get(group, group)
    if dimension == "race_x_disability" and ":" in group:
        race, dis = group.split(":", 1)
        return f"{RACE_NAMES.get(race, race)} {DISABILITY_STUDENTS.get(dis, dis)}"
    return f"{group_label(dimension, group)} students"


def first_upper(text: str) -> str:
    """'hispanic or Latino students' -> 'Hispanic or Latino students' (str.capitalize would lower the rest)."""
    return text[:1].upper() + text[1:]


def first_lower(text: str) -> str:
    """A label set inside a sentence: 'Students suspended ...' -> 'students suspended ...'.

    Only the first letter changes, and not when the first word is an acronym ('BTAM', 'IDEA'), so names
    such as BTAM and Latino keep their capitals (str.lower would print 'btam').
    """
    first = text.split(" ", 1)[0]
    if len(first) > 1 and first.isupper():
        return text
    return text[:1].lower() + text[1:]
