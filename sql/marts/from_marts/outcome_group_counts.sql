-- Read over the load-time marts (sql/marts/build/); while they are missing or stale access/marts.py runs
-- marts/fallback/outcome_group_counts, this text with the marts computed inline (access/queries.py).
-- Students (n) and students with the outcome (k) per school_year x scope x outcome x dimension x
-- group, for every group with n > 0: what metrics.disproportionality_table consumes.
-- params: $school_years, $school_ids (lists or null = all), $include_district, $include_schools (booleans)
-- without school rows, every cell is one school's: the school grouping set then repeats the district's few
with dimension_cells as (
    select * replace (case when $include_schools then school_id end as school_id)
    from mart.outcome_group_cells
    where ($school_years is null or list_contains($school_years::varchar[], school_year))
      and ($school_ids is null or list_contains($school_ids::varchar[], school_id))
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
