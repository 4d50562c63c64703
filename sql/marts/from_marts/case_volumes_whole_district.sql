-- Read over the load-time marts (sql/marts/build/): the rows of sql/marts/from_marts/case_volumes.sql, in
-- its order, for the whole district (no school filter) and no as-of date; access/metric_tables.py runs it
-- only then (while the marts are missing or stale, as marts/fallback/..., see access/queries.py).
-- params: $school_years, $include_district, $include_schools
with counted as (
    select *
    from mart.case_volume_counts
    where ($school_years is null or list_contains($school_years::varchar[], school_year))
),

enrolled as (
    select
        enrollment.school_year,
        enrollment.school_id,
        schools.school_level,
        sum(enrollment.enrolled) as enrolled
    from mart.enrollment_counts as enrollment
    left join schools
        on schools.school_id = enrollment.school_id
    where ($school_years is null or list_contains($school_years::varchar[], enrollment.school_year))
    group by all
),

scope_enrolled as (
    select
        school_year,
        case when grouping(school_id) = 1 then 'district' else school_id end as scope,
        sum(enrolled) as enrolled
    from enrolled
    group by grouping sets ((school_year, school_id), (school_year))
),

level_enrolled as (
    select
        school_year,
        school_level,
        sum(enrolled) as enrolled
    from enrolled
    group by school_year, school_level
),

final as (
    select
        counted.school_year,
        counted.scope,
        counted.breakdown,
        counted.category,
        counted.cases,
        counted.student_subjects,
        coalesce(case when counted.breakdown = 'school_level' then level_enrolled.enrolled
                      else scope_enrolled.enrolled end, 0)::bigint as enrolled
    from counted
    left join scope_enrolled
        on scope_enrolled.school_year = counted.school_year
        and scope_enrolled.scope = counted.scope
    left join level_enrolled
        on counted.breakdown = 'school_level'
        and level_enrolled.school_year = counted.school_year
        and level_enrolled.school_level = counted.category
    where not (counted.breakdown = 'school_level' and counted.scope <> 'district')
      and (counted.scope <> 'district' or $include_district)
      and (counted.scope = 'district' or $include_schools)
    order by
        counted.school_year,
        counted.scope <> 'district',
        counted.scope,
        counted.breakdown <> 'total',
        counted.breakdown,
        counted.category
)

select * from final
