-- Rules of discipline action rows beyond single columns.
with candidate_rows as (
    select
        *,
        make_date(try_cast(left(school_year, 4) as integer), 7, 1) as year_start,
        make_date(try_cast(left(school_year, 4) as integer) + 1, 6, 30) as year_end
    from candidate
),

removal_without_days as (
    select _row_id, 'positive:days_removed' as rule,
           action_type || ' needs days_removed > 0' as detail
    from candidate_rows
    where action_type in {codes:removal_actions_needing_days}
      and coalesce(days_removed, 0) <= 0
),

outside_school_year as (
    select _row_id, 'in_school_year:incident_date' as rule,
           'incident_date ' || incident_date || ' is outside school year ' || school_year as detail
    from candidate_rows
    where incident_date not between year_start and year_end
),

after_as_of as (
    select _row_id, 'after_as_of:incident_date' as rule,
           'incident_date ' || incident_date || ' is after the as-of date ' || $as_of as detail
    from candidate_rows
    where incident_date > cast($as_of as date)
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
           'the student is not enrolled in ' || c.school_year as detail
    from candidate_rows as c
    anti join enrollment as e on e.student_key = c.student_key and e.school_year = c.school_year
    where c.student_key is not null and c.school_year is not null
),

unknown_case as (
    select c._row_id, 'unknown_case' as rule,
           'related_case_id ' || c.related_case_id || ' is not in btam_cases' as detail
    from candidate_rows as c
    anti join btam_cases as k on k.case_id = c.related_case_id
    where c.related_case_id is not null
)

select * from removal_without_days
union all select * from outside_school_year
union all select * from after_as_of
union all select * from unknown_school
union all select * from not_enrolled
union all select * from unknown_case
