-- The CRDC school years in the warehouse, each with its state and whether the district ($lea_id,
-- reference_district) is among its schools: the years a benchmark can describe.
-- params: $lea_id (or null)
with years as (
    select
        school_year,
        any_value(state) as state,
        count(distinct school_id) as schools,
        bool_or(lea_id = $lea_id) as has_district
    from crdc_school_counts
    group by school_year
),

final as (
    select
        school_year,
        state,
        schools,
        coalesce(has_district, false) as has_district
    from years
    order by school_year
)

select * from final
