"""One school year of BTAM cases, their actions and their monitoring reviews.

Every date stays inside the spec's rules: screened >= reported, assessed >=
screened, actions and reviews >= reported, nothing after the as-of date (a step
that would fall later has simply not happened yet, so the case stays open).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from data_contracts.interchange import (
    CASE_ACTION_TYPES,
    CASE_BEHAVIORS,
    CONCERN_LEVELS,
    CONCERN_TYPES,
    DISABILITY_FACTORS,
    GRADE_LEVELS,
    MONITORING,
    RACES,
    REPORT_CHANNELS,
    REPORT_SOURCES,
    REVIEW_OUTCOMES,
    SUBJECT_TYPES,
)
from pipelines.demo.config import SCHOOL_LEVELS_USED, DemoConfig, Process
from pipelines.demo.draws import (
    NA_DAY,
    bernoulli,
    categorical,
    categorical_by_row,
    code_series,
    date_series,
    lognormal_days,
    next_weekday,
    school_days,
    sequential_ids,
    yes_no,
)
from pipelines.demo.population import GRADE_LEVEL_OF, Enrollment, Schools, Students

LOW, MODERATE, HIGH, IMMINENT = range(4)
STUDENT, STAFF, OTHER = (SUBJECT_TYPES.index(s) for s in ("student", "staff", "other"))
ACTION = {name: i for i, name in enumerate(CASE_ACTION_TYPES)}
SELF_HARM = CASE_BEHAVIORS.index("self_harm")
BL = RACES.index("bl")


def referral_base_rate(cfg: DemoConfig) -> float:
    """The reference group's yearly referral probability that makes the district's rate the target."""
    ref = cfg.referral
    pop = cfg.population
    race_mean = sum(pop.race_shares[r] * ref.race_risk_ratio[r] for r in RACES) / sum(pop.race_shares.values())
    idea_mean = 1 + pop.idea_share * (ref.idea_risk_ratio - 1)
    weights = np.array([pop.grade_weights[g] for g in GRADE_LEVELS[:-1]])
    level_share = np.bincount(GRADE_LEVEL_OF[:-1], weights=weights, minlength=3) / weights.sum()
    level_mean = sum(level_share[i] * ref.level_multiplier[name] for i, name in enumerate(SCHOOL_LEVELS_USED))
    return ref.target_student_rate / (race_mean * idea_mean * level_mean)


def with_odds_ratio(p: np.ndarray, odds_ratio: float) -> np.ndarray:
    return odds_ratio * p / (1 - p + odds_ratio * p)


def _level_table(table: dict[str, float]) -> np.ndarray:
    return np.array([table[level] for level in CONCERN_LEVELS])


@dataclass
class YearCases:
    """Parallel arrays: cases, then actions (by case index) and reviews (by case index)."""

    school: np.ndarray
    student: np.ndarray  # index into Students, -1 when the subject is not a student
    subject: np.ndarray
    reported: np.ndarray
    source: np.ndarray
    channel: np.ndarray
    concern_type: np.ndarray
    behavior: np.ndarray
    screened: np.ndarray
    assessed: np.ndarray
    level: np.ndarray  # drawn for every case; written only when assessed
    team_admin: np.ndarray
    team_mental_health: np.ndarray
    team_law_enforcement: np.ndarray
    law_enforcement_involved: np.ndarray
    disability_factors: np.ndarray
    plan: np.ndarray
    monitoring: np.ndarray
    closed: np.ndarray
    action_case: np.ndarray
    action_day: np.ndarray
    action_type: np.ndarray
    review_case: np.ndarray
    review_day: np.ndarray
    review_outcome: np.ndarray

    @property
    def count(self) -> int:
        return len(self.reported)


def _draw_referrals(
    rng, cfg: DemoConfig, enr: Enrollment, students: Students, schools: Schools, base: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Student subjects first (one or two cases each), then staff and other subjects."""
    ref = cfg.referral
    s = enr.student
    race_rr = np.array([ref.race_risk_ratio[r] for r in RACES])[students.race[s]]
    idea_rr = np.where(students.idea[s], ref.idea_risk_ratio, 1.0)
    level_mult = np.array([ref.level_multiplier[n] for n in SCHOOL_LEVELS_USED])[schools.level[enr.school]]
    referred = np.flatnonzero(bernoulli(rng, base * race_rr * idea_rr * level_mult))
    per_student = 1 + bernoulli(rng, ref.second_case_share, len(referred))
    rows = np.repeat(referred, per_student)
    n_other = rng.poisson(len(rows) * ref.non_student_subject_share / (1 - ref.non_student_subject_share))
    school = np.concatenate([enr.school[rows], rng.integers(0, len(schools.level), n_other)]).astype(np.int32)
    student = np.concatenate([s[rows], np.full(n_other, -1)]).astype(np.int64)
    subject = np.concatenate(
        [np.full(len(rows), STUDENT), np.where(bernoulli(rng, ref.non_student_staff_share, n_other), STAFF, OTHER)]
    )
    return school, student, subject.astype(np.int8)


def _law_enforcement(
    rng: np.random.Generator,
    cfg: DemoConfig,
    le_level: np.ndarray,
    level: np.ndarray,
    at_named_school: np.ndarray,
    is_screened: np.ndarray,
    assessed_student: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Involvement, referral and arrest by concern level; the planted excess in one school's low-concern cases."""
    out, probs = cfg.outcomes, cfg.school_problems
    named_low = at_named_school & (le_level == LOW)
    p_le = np.where(
        named_low,
        probs.low_concern_law_enforcement_involved,
        _level_table(out.law_enforcement_involved_probability)[le_level],
    )
    involved = bernoulli(rng, p_le)
    p_ref = np.where(
        named_low,
        probs.low_concern_law_enforcement_referral_given_involved,
        _level_table(out.law_enforcement_referral_given_involved)[le_level],
    )
    referral = involved & is_screened & bernoulli(rng, p_ref)
    arrest = involved & assessed_student & bernoulli(rng, _level_table(out.arrest_given_involved)[level])
    return involved, referral, arrest


def _support_counts(
    rng: np.random.Generator, proc: Process, level: np.ndarray, is_assessed: np.ndarray, screen_only: np.ndarray
) -> np.ndarray:
    """More supports at higher concern; some low cases and most screen-only cases end without any."""
    n = len(level)
    counts = np.select(
        [level == LOW, level == MODERATE, level == HIGH],
        [
            np.where(bernoulli(rng, proc.no_action_share_low, n), 0, 1 + rng.binomial(2, 0.3, n)),
            2 + rng.binomial(2, 0.4, n),
            2 + rng.binomial(3, 0.5, n),
        ],
        3 + rng.binomial(3, 0.5, n),
    )
    return np.where(
        is_assessed, counts, np.where(screen_only & bernoulli(rng, proc.support_only_share_screen_only, n), 1, 0)
    )


def _schedule_actions(
    rng: np.random.Generator, parts_case: list, parts_type: list, first_day: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Actions of a case in random order: the first on first_day, each next one a few days later."""
    action_case = np.concatenate(parts_case)
    action_type = np.concatenate(parts_type).astype(np.int8)
    order = np.lexsort((rng.random(len(action_case)), action_case))
    action_case, action_type = action_case[order], action_type[order]
    row = np.arange(len(action_case))
    position = row - np.searchsorted(action_case, action_case)
    gap_sum = np.cumsum(np.where(position == 0, 0, rng.geometric(1 / 6, len(action_case))))
    offset = gap_sum - gap_sum[row - position]
    return action_case, action_type, next_weekday(first_day[action_case] + offset).astype(np.int32)


def _reviews(
    rng: np.random.Generator, proc: Process, assessed: np.ndarray, monitoring: np.ndarray, is_assessed: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Monitoring reviews about every two weeks after the assessment: several when formal, a few when informal."""
    n = len(assessed)
    formal = is_assessed & (monitoring == MONITORING.index("formal"))
    informal = is_assessed & (monitoring == MONITORING.index("informal"))
    n_reviews = np.where(formal, 2 + rng.binomial(3, 0.5, n), np.where(informal, rng.binomial(2, 0.4, n), 0))
    review_case = np.repeat(np.arange(n), n_reviews)
    k = 1 + np.arange(len(review_case)) - np.searchsorted(review_case, review_case)
    review_day = next_weekday(
        assessed[review_case] + proc.reviews_every_days * k + rng.integers(-3, 4, len(review_case))
    ).astype(np.int32)
    outcome = np.array([REVIEW_OUTCOMES.index(o) for o in ("continue", "escalate", "de_escalate")])[
        categorical(rng, len(review_case), [0.72, 0.10, 0.18])
    ]
    return n_reviews, review_case, review_day, outcome


def make_cases(
    rng: np.random.Generator,
    cfg: DemoConfig,
    enr: Enrollment,
    students: Students,
    schools: Schools,
    as_of_day: int,
    base: float,
) -> YearCases:
    proc, out, probs = cfg.process, cfg.outcomes, cfg.school_problems
    school, student, subject = _draw_referrals(rng, cfg, enr, students, schools, base)
    calendar = school_days(enr.year_start)
    reported = calendar[rng.integers(0, len(calendar), len(school))]
    keep = reported <= as_of_day
    order = np.lexsort((school[keep], reported[keep]))
    school, student, subject, reported = (a[keep][order] for a in (school, student, subject, reported))
    n = len(reported)
    is_student = subject == STUDENT
    at_slow_school = school == schools.slow_school

    level = categorical(rng, n, proc.concern_level_shares)
    behavior = categorical_by_row(rng, level, [proc.behavior_shares_by_level[lv] for lv in CONCERN_LEVELS])
    concern_type = np.where(
        behavior == SELF_HARM, categorical(rng, n, [0, 0.75, 0.25]), categorical(rng, n, [0.85, 0.07, 0.08])
    ).astype(np.int8)

    def later(start: np.ndarray, lag: np.ndarray, happens: np.ndarray) -> np.ndarray:
        """start + lag moved to a weekday, or NA when it does not happen or falls after the as-of date."""
        d = next_weekday(start + lag).astype(np.int32)
        return np.where(happens & (start != NA_DAY) & (d <= as_of_day), d, NA_DAY).astype(np.int32)

    lags = np.array(list(proc.screened_lag_days))
    screened = later(
        reported, lags[categorical(rng, n, proc.screened_lag_days)], ~bernoulli(rng, proc.never_screened_share, n)
    )
    lags = np.array(list(proc.assessed_lag_days))
    assessed = later(
        screened, lags[categorical(rng, n, proc.assessed_lag_days)], bernoulli(rng, proc.assessed_share_of_screened, n)
    )
    is_screened, is_assessed = screened != NA_DAY, assessed != NA_DAY

    le_level = np.where(is_assessed, level, LOW)  # screen-only cases count as low
    le_involved, has_le_referral, has_arrest = _law_enforcement(
        rng, cfg, le_level, level, school == schools.law_enforcement_school, is_screened, is_assessed & is_student
    )

    # plans and monitoring: planted missing plans at the slow school
    p_plan = np.where(
        at_slow_school, _level_table(probs.slow_plan_written_share)[level], _level_table(proc.plan_written_share)[level]
    )
    plan = later(assessed, rng.integers(0, 11, n), bernoulli(rng, p_plan))
    monitoring = categorical_by_row(rng, level, [list(proc.monitoring_shares[lv].values()) for lv in CONCERN_LEVELS])

    # actions: supports for all, exclusion with a planted odds ratio for one group at every level
    n_support = _support_counts(rng, proc, level, is_assessed, is_screened & ~is_assessed)
    p_excl = _level_table(out.exclusion_probability)[level]
    in_group = is_student & (students.race[np.maximum(student, 0)] == RACES.index(out.exclusion_odds_ratio_group))
    p_excl = np.where(in_group, with_odds_ratio(p_excl, out.exclusion_odds_ratio), p_excl)
    has_excl = is_assessed & is_student & bernoulli(rng, p_excl)
    expel = (level >= HIGH) & bernoulli(rng, out.expulsion_share_of_exclusions_high, n)
    excl_type = np.where(
        expel,
        ACTION["expulsion"],
        np.where(
            bernoulli(rng, out.oss_share_of_suspensions, n),
            ACTION["out_of_school_suspension"],
            ACTION["in_school_suspension"],
        ),
    )
    has_place = is_assessed & is_student & bernoulli(rng, _level_table(out.placement_change_probability)[level])

    support_codes = np.array([ACTION[a] for a in proc.support_shares])
    parts_case = [
        np.repeat(np.arange(n), n_support),
        np.flatnonzero(has_excl),
        np.flatnonzero(has_place),
        np.flatnonzero(has_le_referral),
        np.flatnonzero(has_arrest),
    ]
    parts_type = [
        support_codes[categorical(rng, int(n_support.sum()), proc.support_shares)],
        excl_type[has_excl],
        np.full(has_place.sum(), ACTION["change_of_placement"]),
        np.full(has_le_referral.sum(), ACTION["law_enforcement_referral"]),
        np.full(has_arrest.sum(), ACTION["arrest"]),
    ]
    medians = np.where(
        at_slow_school,
        _level_table(probs.slow_first_action_median_days)[le_level],
        _level_table(proc.first_action_median_days)[le_level],
    )
    first_lag = lognormal_days(rng, medians, proc.first_action_sigma)
    action_case, action_type, action_day = _schedule_actions(rng, parts_case, parts_type, reported + first_lag)

    n_reviews, review_case, review_day, review_outcome = _reviews(rng, proc, assessed, monitoring, is_assessed)

    # closing: after the planned duration and after every action, review and plan
    duration = np.where(
        is_assessed,
        lognormal_days(rng, _level_table(proc.case_duration_median_days)[level], 0.4),
        proc.screen_only_duration_days + rng.integers(0, 5, n),
    )
    last = reported + duration
    np.maximum.at(last, action_case, action_day)
    np.maximum.at(last, review_case, review_day)
    last = np.maximum.reduce([last, plan, assessed, screened])
    closed = later(last, np.zeros(n, dtype=np.int32), is_screened & ~bernoulli(rng, proc.never_closed_share, n))
    closing = np.flatnonzero((closed != NA_DAY) & (n_reviews > 0))
    review_case = np.concatenate([review_case, closing])
    review_day = np.concatenate([review_day, closed[closing]])
    review_outcome = np.concatenate([review_outcome, np.full(len(closing), REVIEW_OUTCOMES.index("close"))])

    done = action_day <= as_of_day
    reviewed = review_day <= as_of_day
    order = np.lexsort((review_day[reviewed], review_case[reviewed]))
    has_disability = is_student & (students.idea[np.maximum(student, 0)] | students.section_504[np.maximum(student, 0)])
    considered = np.where(bernoulli(rng, proc.disability_factors_considered_share, n), 0, 1)
    return YearCases(
        school=school,
        student=student,
        subject=subject,
        reported=reported,
        source=categorical(rng, n, cfg.referral.report_source_shares),
        channel=categorical(rng, n, cfg.referral.report_channel_shares),
        concern_type=concern_type,
        behavior=behavior,
        screened=screened,
        assessed=assessed,
        level=level,
        team_admin=bernoulli(rng, proc.team_admin_share, n),
        team_mental_health=bernoulli(rng, proc.team_mental_health_share, n),
        team_law_enforcement=le_involved | bernoulli(rng, proc.team_law_enforcement_share_without_le, n),
        law_enforcement_involved=le_involved,
        disability_factors=np.where(has_disability, considered, DISABILITY_FACTORS.index("na")).astype(np.int8),
        plan=plan,
        monitoring=monitoring,
        closed=closed,
        action_case=action_case[done],
        action_day=action_day[done],
        action_type=action_type[done],
        review_case=review_case[reviewed][order],
        review_day=review_day[reviewed][order],
        review_outcome=review_outcome[reviewed][order],
    )


def case_ids(year_start: int, n: int) -> pl.Series:
    return sequential_ids("case_id", f"BT{year_start % 100:02d}-", n)


def cases_frame(c: YearCases, ids: pl.Series, school_year: str, schools: Schools, keys: pl.Series) -> pl.DataFrame:
    n = c.count
    unassessed = c.assessed == NA_DAY
    unscreened = c.screened == NA_DAY
    student_key = keys.gather(np.maximum(c.student, 0)).set(pl.Series(c.student < 0), None)
    return pl.DataFrame(
        [
            ids,
            pl.Series("school_year", [school_year] * n, dtype=pl.String),
            pl.Series("school_id", schools.school_id.tolist(), dtype=pl.String).gather(c.school),
            code_series("subject_type", SUBJECT_TYPES, c.subject),
            student_key.alias("student_key"),
            date_series("reported_date", c.reported),
            code_series("report_source", REPORT_SOURCES, c.source),
            code_series("report_channel", REPORT_CHANNELS, c.channel),
            code_series("concern_type", CONCERN_TYPES, c.concern_type),
            code_series("behavior", CASE_BEHAVIORS, c.behavior),
            date_series("screened_date", c.screened),
            date_series("assessed_date", c.assessed),
            code_series("concern_level", CONCERN_LEVELS, c.level, unassessed),
            yes_no("team_admin", c.team_admin, unassessed),
            yes_no("team_mental_health", c.team_mental_health, unassessed),
            yes_no("team_law_enforcement", c.team_law_enforcement, unassessed),
            yes_no("law_enforcement_involved", c.law_enforcement_involved, unscreened),
            code_series("disability_factors_considered", DISABILITY_FACTORS, c.disability_factors, unassessed),
            date_series("plan_written_date", c.plan),
            code_series("monitoring", MONITORING, c.monitoring, unassessed),
            date_series("closed_date", c.closed),
        ]
    )


def actions_frame(c: YearCases, ids: pl.Series, year_start: int) -> pl.DataFrame:
    return pl.DataFrame(
        [
            sequential_ids("action_id", f"CA{year_start % 100:02d}-", len(c.action_case)),
            ids.gather(c.action_case).alias("case_id"),
            date_series("action_date", c.action_day),
            code_series("action_type", CASE_ACTION_TYPES, c.action_type),
        ]
    )


def reviews_frame(c: YearCases, ids: pl.Series, year_start: int) -> pl.DataFrame:
    return pl.DataFrame(
        [
            sequential_ids("review_id", f"CR{year_start % 100:02d}-", len(c.review_case)),
            ids.gather(c.review_case).alias("case_id"),
            date_series("review_date", c.review_day),
            code_series("review_outcome", REVIEW_OUTCOMES, c.review_outcome),
        ]
    )
