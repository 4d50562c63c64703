-- Every district (LEA) of one state in one CRDC year, with its students and schools: the sizes the
-- peer rule (access/benchmarks.py, docs/METHODOLOGY.md "Peer benchmarks") compares.
-- students = enrollment race cells of all schools (both sexes); schools with a reserve code or a
-- broken enrollment cell are counted in schools_missing_enrollment and add nothing to students.
-- params: $school_year, $state
with enrollment_cells as (
    select
        lea_id,
        lea_name,
        school_id,
        value
    from crdc_school_counts
    where school_year = $school_year
      and state = $state
      and measure = 'enrollment'
      and subset = 'all'
      and breakout = 'race'
),

per_school as (
    select
        lea_id,
        any_value(lea_name) as lea_name,
        school_id,
        sum(value) as students,
        bool_or(value is null) as missing
    from enrollment_cells
    group by lea_id, school_id
),

final as (
    select
        lea_id,
        any_value(lea_name) as lea_name,
        coalesce(sum(students) filter (where not missing), 0)::bigint as students,
        count(*) as schools,
        count(*) filter (where missing) as schools_missing_enrollment
    from per_school
    group by lea_id
    order by lea_id
)

select * from final
