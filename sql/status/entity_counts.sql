-- Rows, school years and schools per entity of the public schema.
with counts as (
    select 'schools' as entity, 1 as entity_order, count(*) as row_count,
           null::varchar as first_year, null::varchar as last_year, count(*) as school_count
    from schools
    union all
    select 'enrollment', 2, count(*), min(school_year), max(school_year), count(distinct school_id)
    from enrollment
    union all
    select 'btam_cases', 3, count(*), min(school_year), max(school_year), count(distinct school_id)
    from btam_cases
    union all
    select 'case_actions', 4, count(*), null, null, null
    from case_actions
    union all
    select 'case_reviews', 5, count(*), null, null, null
    from case_reviews
    union all
    select 'discipline_actions', 6, count(*), min(school_year), max(school_year), count(distinct school_id)
    from discipline_actions
),

final as (
    select
        entity,
        row_count,
        first_year,
        last_year,
        school_count
    from counts
    order by entity_order
)

select * from final
