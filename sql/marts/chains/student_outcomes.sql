-- The student-outcome chain: CTEs ending in student_outcomes, one row per enrolled student x school_year
-- with the scope school, the dimensions (english_learner and econ_disadvantaged as booleans) and one value
-- per outcome of disproportionality.csv (spec/interchange.md, "Metric exports"). Outcomes count students,
-- not events; an event counts whatever school recorded it. case_* outcomes are null outside the case
-- population (students who were the subject of a case that year); idea_* outcomes are null outside the
-- IDEA population. Included (`-- include: marts/chains/student_outcomes` after a `with`) by the outcome
-- mart (marts/build/outcome_group_cells) and the student-level query (marts/student_year_outcomes).
enrolled as (
    select
        school_year,
        student_key,
        school_id,
        race_ethnicity,
        disability_status,
        sex,
        english_learner,
        econ_disadvantaged,
        idea
    from enrollment
),

student_cases as (
    select
        case_id,
        school_year,
        student_key,
        concern_level,
        coalesce(law_enforcement_involved, false) as law_enforcement_involved
    from btam_cases
    where subject_type = 'student'
      and student_key is not null
),

dated_case_actions as (
    select *
    from case_actions
),

-- include: marts/chains/case_action_flags
,

case_outcomes as (
    select
        student_cases.school_year,
        student_cases.student_key,
        bool_or(student_cases.concern_level in ('high', 'imminent')) as case_high_or_imminent,
        bool_or(coalesce(case_action_flags.has_exclusionary, false)) as case_exclusionary,
        bool_or(student_cases.law_enforcement_involved
                or coalesce(case_action_flags.has_law_enforcement, false)) as case_law_enforcement,
        bool_or(coalesce(case_action_flags.has_placement_change, false)) as case_placement_change
    from student_cases
    left join case_action_flags
        on case_action_flags.case_id = student_cases.case_id
    group by student_cases.school_year, student_cases.student_key
),

discipline as (
    select
        school_year,
        student_key,
        bool_or(action_type in {codes:oss_or_expulsion_actions}) as oss_or_expulsion,
        bool_or(action_type = 'iss') as iss,
        bool_or(action_type in {codes:law_enforcement_actions}) as law_enforcement,
        bool_or(action_type in {codes:exclusionary_actions}) as any_exclusionary,
        bool_or(action_type in {codes:removal_actions}) as any_removal,
        -- days summed over the year's actions (34 CFR 300.647(b)(4) counts days, not incidents)
        sum(case when action_type in {codes:oss_or_expulsion_actions}
                 then coalesce(days_removed, 0) else 0 end) as oss_expulsion_days,
        sum(case when action_type = 'iss' then coalesce(days_removed, 0) else 0 end) as iss_days
    from discipline_actions
    group by school_year, student_key
),

student_outcomes as (
    select
        -- ids and scope
        enrolled.school_year,
        enrolled.student_key,
        enrolled.school_id,
        -- dimensions
        enrolled.race_ethnicity,
        enrolled.disability_status,
        enrolled.sex,
        enrolled.english_learner,
        enrolled.econ_disadvantaged,
        -- population: all enrolled students
        case_outcomes.student_key is not null as btam_referral,
        coalesce(discipline.oss_or_expulsion, false) as oss_or_expulsion,
        coalesce(discipline.iss, false) as iss,
        coalesce(discipline.law_enforcement, false) as law_enforcement,
        coalesce(discipline.any_exclusionary, false) as any_exclusionary,
        -- population: students who were the subject of a case that year
        case_outcomes.case_high_or_imminent,
        case_outcomes.case_exclusionary,
        case_outcomes.case_law_enforcement,
        case_outcomes.case_placement_change,
        -- population: IDEA students
        case when enrolled.idea then coalesce(discipline.oss_expulsion_days, 0) > 0
                                 and coalesce(discipline.oss_expulsion_days, 0) <= 10 end as idea_oss_exp_le10,
        case when enrolled.idea then coalesce(discipline.oss_expulsion_days, 0) > 10 end as idea_oss_exp_gt10,
        case when enrolled.idea then coalesce(discipline.iss_days, 0) > 0
                                 and coalesce(discipline.iss_days, 0) <= 10 end as idea_iss_le10,
        case when enrolled.idea then coalesce(discipline.iss_days, 0) > 10 end as idea_iss_gt10,
        case when enrolled.idea then coalesce(discipline.any_removal, false) end as idea_total_removals
    from enrolled
    left join case_outcomes
        on case_outcomes.school_year = enrolled.school_year
        and case_outcomes.student_key = enrolled.student_key
    left join discipline
        on discipline.school_year = enrolled.school_year
        and discipline.student_key = enrolled.student_key
)
