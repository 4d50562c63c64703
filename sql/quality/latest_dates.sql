-- Data freshness: the latest date (or school year) each entity holds, and when it was last loaded.
with as_of as (
    select
        try_cast(max(value) filter (where key = 'last_load_as_of') as date) as as_of_date
    from warehouse_info
),

latest as (
    select 'schools' as entity, 1 as entity_order, null::varchar as date_column,
           null::date as latest_date, null::varchar as latest_school_year
    union all
    select 'enrollment', 2, null, null, max(school_year) from enrollment
    union all
    select 'btam_cases', 3, 'reported_date', max(reported_date), max(school_year) from btam_cases
    union all
    select 'case_actions', 4, 'action_date', max(action_date), null from case_actions
    union all
    select 'case_reviews', 5, 'review_date', max(review_date), null from case_reviews
    union all
    select 'discipline_actions', 6, 'incident_date', max(incident_date), max(school_year) from discipline_actions
),

loads as (
    select
        entity,
        max(loaded_at) as last_loaded_at
    from load_ledger
    where status = 'loaded'
    group by entity
),

final as (
    select
        latest.entity,
        latest.date_column,
        latest.latest_date,
        latest.latest_school_year,
        as_of.as_of_date,
        as_of.as_of_date - latest.latest_date as days_before_as_of,
        loads.last_loaded_at
    from latest
    cross join as_of
    left join loads on loads.entity = latest.entity
    order by latest.entity_order
)

select * from final
