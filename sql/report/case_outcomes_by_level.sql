-- What happened in the BTAM cases of one school year, per level of concern: assessed cases with a
-- level, and those with a support action, an exclusion or change of placement, and law enforcement
-- involvement (law_enforcement_involved = Y or a law-enforcement action). A case can have several.
-- The warehouse as it stood on $as_of, as in sql/marts/from_marts/process_audit_counts.sql.
-- params: $as_of (date), $school_year (varchar)
with cases as (
    select
        case_id,
        coalesce(law_enforcement_involved, false) as law_enforcement_involved,
        case when assessed_date is null or assessed_date <= $as_of::date then concern_level end as concern_level
    from btam_cases
    where reported_date <= $as_of::date
      and school_year = $school_year
),

dated_case_actions as (
    select *
    from case_actions
    where action_date <= $as_of::date
),

-- include: marts/chains/case_action_flags
,

levels as (
    select
        unnest(['low', 'moderate', 'high', 'imminent']) as concern_level,
        unnest([1, 2, 3, 4]) as level_order
),

leveled as (
    select
        cases.concern_level,
        coalesce(case_action_flags.has_support, false) as with_support,
        coalesce(case_action_flags.has_exclusion_or_placement, false) as with_exclusion_or_placement,
        cases.law_enforcement_involved
            or coalesce(case_action_flags.has_law_enforcement, false) as with_law_enforcement
    from cases
    left join case_action_flags
        on case_action_flags.case_id = cases.case_id
    where cases.concern_level is not null
),

final as (
    select
        levels.concern_level,
        count(leveled.concern_level)::bigint as leveled_cases,
        count(*) filter (where leveled.with_support)::bigint as with_support,
        count(*) filter (where leveled.with_exclusion_or_placement)::bigint as with_exclusion_or_placement,
        count(*) filter (where leveled.with_law_enforcement)::bigint as with_law_enforcement
    from levels
    left join leveled
        on leveled.concern_level = levels.concern_level
    group by levels.concern_level, levels.level_order
    order by levels.level_order
)

select * from final
