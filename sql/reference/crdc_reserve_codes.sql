-- CRDC reserve codes and quarantined cells by school year, state, measure and table, with the
-- number of schools they touch: what was missing from the public file.
-- params: $school_year (or null = every year)
with missing as (
    select
        school_year,
        state,
        measure,
        subset,
        coalesce(reserve_code::varchar, rule) as code,
        school_id
    from crdc_school_counts
    where (reserve_code is not null or rule is not null)
      and ($school_year is null or school_year = $school_year)
),

final as (
    select
        school_year,
        state,
        measure,
        subset,
        code,
        count(*) as cells,
        count(distinct school_id) as schools
    from missing
    group by all
    order by school_year, state, measure, subset, code
)

select * from final
