-- Read over the load-time marts (sql/marts/build/): same rows and order as sql/marts/school_years.sql,
-- which access/marts.py runs instead while the marts are missing or stale.
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
