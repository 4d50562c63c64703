-- The school years the warehouse holds data for, newest first: the values the year filter accepts.
with years as (
    select school_year from enrollment
    union
    select school_year from btam_cases
    union
    select school_year from discipline_actions
),

final as (
    select distinct
        school_year
    from years
    where school_year is not null
    order by school_year desc
)

select * from final
