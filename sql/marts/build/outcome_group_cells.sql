-- Students (n) and students with each outcome (k) per school_year x school_id x dimension x group: the
-- student-level chain of outcome_group_counts.sql without its filters, summed within each school.
-- Additive over schools: every enrollment row counts once, in its own school (the district of any
-- selection of schools is the sum of their rows, as the grouping sets of outcome_group_counts.sql do).
create or replace table mart.outcome_group_cells as
with enrolled as (
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

case_action_flags as (
    select
        case_id,
        bool_or(action_category = 'exclusionary') as has_exclusionary,
        bool_or(action_category = 'law_enforcement') as has_law_enforcement,
        bool_or(action_category = 'placement') as has_placement_change
    from case_actions
    group by case_id
),

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
        bool_or(action_type in ('oss', 'expulsion_with_services', 'expulsion_without_services')) as oss_or_expulsion,
        bool_or(action_type = 'iss') as iss,
        bool_or(action_type in ('law_enforcement_referral', 'school_related_arrest')) as law_enforcement,
        bool_or(action_type in ('iss', 'oss', 'expulsion_with_services', 'expulsion_without_services'))
            as any_exclusionary,
        bool_or(action_type in ('iss', 'oss', 'expulsion_with_services', 'expulsion_without_services',
                                'alternative_placement')) as any_removal,
        -- days summed over the year's actions (34 CFR 300.647(b)(4) counts days, not incidents)
        sum(case when action_type in ('oss', 'expulsion_with_services', 'expulsion_without_services')
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
),

-- one row per school_year x school x combination of groups: every count needed, once
cells as (
    select
        school_year,
        school_id,
        race_ethnicity,
        disability_status,
        sex,
        english_learner,
        econ_disadvantaged,
        count(*) as n_enrolled,
        count(*) filter (where btam_referral) as k_btam_referral,
        count(*) filter (where oss_or_expulsion) as k_oss_or_expulsion,
        count(*) filter (where iss) as k_iss,
        count(*) filter (where law_enforcement) as k_law_enforcement,
        count(*) filter (where any_exclusionary) as k_any_exclusionary,
        count(*) filter (where btam_referral) as n_case,
        count(*) filter (where case_high_or_imminent) as k_case_high_or_imminent,
        count(*) filter (where case_exclusionary) as k_case_exclusionary,
        count(*) filter (where case_law_enforcement) as k_case_law_enforcement,
        count(*) filter (where case_placement_change) as k_case_placement_change,
        count(*) filter (where idea_total_removals is not null) as n_idea,
        count(*) filter (where idea_oss_exp_le10) as k_idea_oss_exp_le10,
        count(*) filter (where idea_oss_exp_gt10) as k_idea_oss_exp_gt10,
        count(*) filter (where idea_iss_le10) as k_idea_iss_le10,
        count(*) filter (where idea_iss_gt10) as k_idea_iss_gt10,
        count(*) filter (where idea_total_removals) as k_idea_total_removals
    from student_outcomes
    group by all
),

-- the group codes of disproportionality.csv, formed per cell rather than per student (cheaper, the same)
coded_cells as (
    select
        * replace (case when english_learner then 'y' else 'n' end as english_learner,
                   case when econ_disadvantaged then 'y' else 'n' end as econ_disadvantaged),
        race_ethnicity || ':' || disability_status as race_x_disability
    from cells
),

dimension_cells as (
    unpivot coded_cells
    on race_ethnicity, disability_status, sex, english_learner, econ_disadvantaged, race_x_disability
    into name dimension value "group"
),

final as (
    select
        school_year,
        school_id,
        dimension,
        "group",
        sum(n_enrolled)::bigint as n_enrolled,
        sum(k_btam_referral)::bigint as k_btam_referral,
        sum(k_oss_or_expulsion)::bigint as k_oss_or_expulsion,
        sum(k_iss)::bigint as k_iss,
        sum(k_law_enforcement)::bigint as k_law_enforcement,
        sum(k_any_exclusionary)::bigint as k_any_exclusionary,
        sum(n_case)::bigint as n_case,
        sum(k_case_high_or_imminent)::bigint as k_case_high_or_imminent,
        sum(k_case_exclusionary)::bigint as k_case_exclusionary,
        sum(k_case_law_enforcement)::bigint as k_case_law_enforcement,
        sum(k_case_placement_change)::bigint as k_case_placement_change,
        sum(n_idea)::bigint as n_idea,
        sum(k_idea_oss_exp_le10)::bigint as k_idea_oss_exp_le10,
        sum(k_idea_oss_exp_gt10)::bigint as k_idea_oss_exp_gt10,
        sum(k_idea_iss_le10)::bigint as k_idea_iss_le10,
        sum(k_idea_iss_gt10)::bigint as k_idea_iss_gt10,
        sum(k_idea_total_removals)::bigint as k_idea_total_removals
    from dimension_cells
    group by school_year, school_id, dimension, "group"
)

select * from final
order by school_year, school_id, dimension, "group";
