-- Students (n) and students with each outcome (k) per school_year x school_id x dimension x group: the
-- student-outcome chain (marts/chains/student_outcomes), summed within each school.
-- Additive over schools: every enrollment row counts once, in its own school (the district of any
-- selection of schools is the sum of their rows, as the grouping sets of outcome_group_counts.sql do).
create or replace table mart.outcome_group_cells as
with
-- include: marts/chains/student_outcomes
,

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
