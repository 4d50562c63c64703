-- Students (n) and students with the outcome (k) per school_year x scope x outcome x dimension x
-- group, for every group with n > 0: what metrics.disproportionality_table consumes.
-- The student-level chain is the one of student_year_outcomes.sql (tests keep the two equal);
-- the grouping happens here, in DuckDB: cells of identical students first, then dimensions and scopes.
-- params: $school_years, $school_ids (lists or null = all), $include_district, $include_schools (booleans)
with enrolled as (
    select
        school_year,
        student_key,
        school_id,
        race_ethnicity,
        disability_status,
        sex,
        case when english_learner then 'y' else 'n' end as english_learner,
        case when econ_disadvantaged then 'y' else 'n' end as econ_disadvantaged,
        race_ethnicity || ':' || disability_status as race_x_disability,
        idea
    from enrollment
    where ($school_years is null or list_contains($school_years::varchar[], school_year))
      and ($school_ids is null or list_contains($school_ids::varchar[], school_id))
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
    where ($school_years is null or list_contains($school_years::varchar[], school_year))
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
        enrolled.race_x_disability,
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
        race_x_disability,
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

dimension_cells as (
    unpivot cells
    on race_ethnicity, disability_status, sex, english_learner, econ_disadvantaged, race_x_disability
    into name dimension value "group"
),

scoped as (
    select
        school_year,
        case when grouping(school_id) = 1 then 'district' else school_id end as scope,
        dimension,
        "group",
        sum(n_enrolled) as n_enrolled,
        sum(k_btam_referral) as k_btam_referral,
        sum(k_oss_or_expulsion) as k_oss_or_expulsion,
        sum(k_iss) as k_iss,
        sum(k_law_enforcement) as k_law_enforcement,
        sum(k_any_exclusionary) as k_any_exclusionary,
        sum(n_case) as n_case,
        sum(k_case_high_or_imminent) as k_case_high_or_imminent,
        sum(k_case_exclusionary) as k_case_exclusionary,
        sum(k_case_law_enforcement) as k_case_law_enforcement,
        sum(k_case_placement_change) as k_case_placement_change,
        sum(n_idea) as n_idea,
        sum(k_idea_oss_exp_le10) as k_idea_oss_exp_le10,
        sum(k_idea_oss_exp_gt10) as k_idea_oss_exp_gt10,
        sum(k_idea_iss_le10) as k_idea_iss_le10,
        sum(k_idea_iss_gt10) as k_idea_iss_gt10,
        sum(k_idea_total_removals) as k_idea_total_removals
    from dimension_cells
    group by grouping sets (
        (school_year, school_id, dimension, "group"),
        (school_year, dimension, "group")
    )
),

outcome_rows as (
    select school_year, scope, 1 as outcome_order, 'btam_referral' as outcome, dimension, "group",
           n_enrolled as n, k_btam_referral as k from scoped
    union all
    select school_year, scope, 2, 'oss_or_expulsion', dimension, "group", n_enrolled, k_oss_or_expulsion from scoped
    union all
    select school_year, scope, 3, 'iss', dimension, "group", n_enrolled, k_iss from scoped
    union all
    select school_year, scope, 4, 'law_enforcement', dimension, "group", n_enrolled, k_law_enforcement from scoped
    union all
    select school_year, scope, 5, 'any_exclusionary', dimension, "group", n_enrolled, k_any_exclusionary from scoped
    union all
    select school_year, scope, 6, 'case_high_or_imminent', dimension, "group", n_case, k_case_high_or_imminent
    from scoped
    union all
    select school_year, scope, 7, 'case_exclusionary', dimension, "group", n_case, k_case_exclusionary from scoped
    union all
    select school_year, scope, 8, 'case_law_enforcement', dimension, "group", n_case, k_case_law_enforcement
    from scoped
    union all
    select school_year, scope, 9, 'case_placement_change', dimension, "group", n_case, k_case_placement_change
    from scoped
    union all
    select school_year, scope, 10, 'idea_oss_exp_le10', dimension, "group", n_idea, k_idea_oss_exp_le10 from scoped
    union all
    select school_year, scope, 11, 'idea_oss_exp_gt10', dimension, "group", n_idea, k_idea_oss_exp_gt10 from scoped
    union all
    select school_year, scope, 12, 'idea_iss_le10', dimension, "group", n_idea, k_idea_iss_le10 from scoped
    union all
    select school_year, scope, 13, 'idea_iss_gt10', dimension, "group", n_idea, k_idea_iss_gt10 from scoped
    union all
    select school_year, scope, 14, 'idea_total_removals', dimension, "group", n_idea, k_idea_total_removals
    from scoped
),

final as (
    select
        school_year,
        scope,
        outcome,
        dimension,
        "group",
        n::bigint as n,
        k::bigint as k
    from outcome_rows
    where n > 0
      -- the IDEA population is one disability status: those two dimensions say nothing (spec)
      and not (outcome_order >= 10 and dimension in ('disability_status', 'race_x_disability'))
      and (scope <> 'district' or $include_district)
      and (scope = 'district' or $include_schools)
    order by
        school_year,
        scope <> 'district',
        scope,
        outcome_order,
        case dimension
            when 'race_ethnicity' then 1 when 'disability_status' then 2 when 'sex' then 3
            when 'english_learner' then 4 when 'econ_disadvantaged' then 5 else 6
        end,
        "group"
)

select * from final
