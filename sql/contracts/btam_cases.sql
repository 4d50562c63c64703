-- Rules of BTAM case rows beyond single columns.
with candidate_rows as (
    select
        *,
        make_date(try_cast(left(school_year, 4) as integer), 7, 1) as year_start,
        make_date(try_cast(left(school_year, 4) as integer) + 1, 6, 30) as year_end
    from candidate
),

student_without_key as (
    select _row_id, 'required_if:student_key' as rule,
           'subject_type is student but student_key is blank' as detail
    from candidate_rows
    where subject_type = 'student' and student_key is null
),

assessed_without_level as (
    select _row_id, 'required_if:concern_level' as rule,
           'assessed_date is given but concern_level is blank' as detail
    from candidate_rows
    where assessed_date is not null and concern_level is null
),

date_order as (
    select _row_id, 'date_order:screened_date' as rule, 'screened_date is before reported_date' as detail
    from candidate_rows where screened_date < reported_date
    union all
    select _row_id, 'date_order:assessed_date', 'assessed_date is before screened_date'
    from candidate_rows where assessed_date < screened_date
    union all
    select _row_id, 'date_order:plan_written_date', 'plan_written_date is before reported_date'
    from candidate_rows where plan_written_date < reported_date
    union all
    select _row_id, 'date_order:closed_date', 'closed_date is before reported_date'
    from candidate_rows where closed_date < reported_date
),

outside_school_year as (
    select _row_id, 'in_school_year:reported_date' as rule,
           'reported_date ' || reported_date || ' is outside school year ' || school_year as detail
    from candidate_rows
    where reported_date not between year_start and year_end
),

-- every date column: a date the load's as-of has not reached yet is a typo (2099, 9999-12-31), and kept it
-- would move the warehouse's as-of date for every page, export and report
after_as_of as (
    select _row_id, 'after_as_of:reported_date' as rule,
           'reported_date ' || reported_date || ' is after the as-of date ' || $as_of as detail
    from candidate_rows where reported_date > cast($as_of as date)
    union all
    select _row_id, 'after_as_of:screened_date',
           'screened_date ' || screened_date || ' is after the as-of date ' || $as_of
    from candidate_rows where screened_date > cast($as_of as date)
    union all
    select _row_id, 'after_as_of:assessed_date',
           'assessed_date ' || assessed_date || ' is after the as-of date ' || $as_of
    from candidate_rows where assessed_date > cast($as_of as date)
    union all
    select _row_id, 'after_as_of:plan_written_date',
           'plan_written_date ' || plan_written_date || ' is after the as-of date ' || $as_of
    from candidate_rows where plan_written_date > cast($as_of as date)
    union all
    select _row_id, 'after_as_of:closed_date',
           'closed_date ' || closed_date || ' is after the as-of date ' || $as_of
    from candidate_rows where closed_date > cast($as_of as date)
),

unknown_school as (
    select c._row_id, 'unknown_school' as rule,
           'school_id ' || c.school_id || ' is not in schools' as detail
    from candidate_rows as c
    anti join schools as s on s.school_id = c.school_id
    where c.school_id is not null
),

not_enrolled as (
    select c._row_id, 'not_enrolled' as rule,
           'the subject is not enrolled in ' || c.school_year as detail
    from candidate_rows as c
    anti join enrollment as e on e.student_key = c.student_key and e.school_year = c.school_year
    where c.subject_type = 'student' and c.student_key is not null and c.school_year is not null
)

select * from student_without_key
union all select * from assessed_without_level
union all select * from date_order
union all select * from outside_school_year
union all select * from after_as_of
union all select * from unknown_school
union all select * from not_enrolled
