-- Read over the load-time marts (sql/marts/build/); while they are missing or stale access/marts.py runs
-- marts/fallback/case_volumes, this text with the marts computed inline (access/queries.py).
-- BTAM cases (and distinct student subjects) per school_year x scope x breakdown x category, with the
-- students enrolled in the scope (in the school level, for the school_level breakdown) for rates.
-- breakdown: total, month (YYYY-MM of reported_date), school_level (district scope only),
-- report_source, report_channel, concern_type, behavior, subject_type. Categories with no case have no row.
-- params: $as_of (date or null: cases reported after it are left out), $school_years, $school_ids,
--         $include_district, $include_schools
with cases as (
    select
        btam_cases.case_id,
        btam_cases.school_year,
        btam_cases.school_id,
        schools.school_level,
        strftime(btam_cases.reported_date, '%Y-%m') as month,
        btam_cases.report_source,
        btam_cases.report_channel,
        btam_cases.concern_type,
        btam_cases.behavior,
        btam_cases.subject_type,
        case when btam_cases.subject_type = 'student' then btam_cases.student_key end as student_key
    from btam_cases
    left join schools
        on schools.school_id = btam_cases.school_id
    where ($as_of is null or btam_cases.reported_date <= $as_of::date)
      and ($school_years is null or list_contains($school_years::varchar[], btam_cases.school_year))
      and ($school_ids is null or list_contains($school_ids::varchar[], btam_cases.school_id))
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
      and ($school_ids is null or list_contains($school_ids::varchar[], enrollment.school_id))
    group by all
),

breakdowns as (
    unpivot cases
    on month, school_level, report_source, report_channel, concern_type, behavior, subject_type
    into name breakdown value category
),

-- student_subjects without count(distinct) under grouping sets (slow in DuckDB): each student once per
-- school, once per district, then counted (only the scopes asked for); the same numbers as
-- sql/marts/case_volumes.sql
school_students as (
    select school_year, school_id, breakdown, category, student_key, count(*) as cases
    from breakdowns
    where $include_schools
    group by all
),

district_students as (
    select school_year, breakdown, category, student_key, count(*) as cases
    from breakdowns
    where $include_district
    group by all
),

school_total_students as (
    select school_year, school_id, student_key, count(*) as cases
    from cases
    where $include_schools
    group by all
),

district_total_students as (
    select school_year, student_key, count(*) as cases
    from cases
    where $include_district
    group by all
),

counted as (
    select school_year, school_id as scope, breakdown, category, sum(cases)::bigint as cases,
           count(student_key) as student_subjects
    from school_students
    group by school_year, school_id, breakdown, category
    union all
    select school_year, 'district', breakdown, category, sum(cases)::bigint, count(student_key)
    from district_students
    group by school_year, breakdown, category
    union all
    select school_year, school_id, 'total', 'all', sum(cases)::bigint, count(student_key)
    from school_total_students
    group by school_year, school_id
    union all
    select school_year, 'district', 'total', 'all', sum(cases)::bigint, count(student_key)
    from district_total_students
    group by school_year
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
