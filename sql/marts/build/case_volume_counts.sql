-- BTAM cases and distinct student subjects per school_year x scope (the district, each school) x breakdown
-- x category, over every case: what sql/marts/from_marts/case_volumes.sql counts for the whole district when no
-- as-of date is given (the pages' view). A selection of schools or an as-of date is counted live.
create or replace table mart.case_volume_counts as
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
),

breakdowns as (
    unpivot cases
    on month, school_level, report_source, report_channel, concern_type, behavior, subject_type
    into name breakdown value category
),

-- student_subjects: each student once per school and once per district, then counted
school_students as (
    select school_year, school_id, breakdown, category, student_key, count(*) as cases
    from breakdowns
    group by all
),

district_students as (
    select school_year, breakdown, category, student_key, count(*) as cases
    from breakdowns
    group by all
),

school_total_students as (
    select school_year, school_id, student_key, count(*) as cases
    from cases
    group by all
),

district_total_students as (
    select school_year, student_key, count(*) as cases
    from cases
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

final as (
    select school_year, scope, breakdown, category, cases, student_subjects
    from counted
)

select * from final
order by school_year, scope, breakdown, category;
