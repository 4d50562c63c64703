-- Read over the load-time marts (sql/marts/build/); while they are missing or stale access/marts.py runs
-- marts/fallback/school_years, this text with the marts computed inline (access/queries.py).
-- School years holding enrolled students or BTAM cases, oldest first: the choices of a year filter.
with years as (
    select school_year from mart.enrollment_counts
    union
    select school_year from btam_cases
),

final as (
    select school_year
    from years
    order by school_year
)

select * from final
