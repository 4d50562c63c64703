-- School years holding enrolled students or BTAM cases, oldest first: the choices of a year filter.
with years as (
    select school_year from enrollment
    union
    select school_year from btam_cases
),

final as (
    select school_year
    from years
    order by school_year
)

select * from final
