-- Read over the load-time marts (sql/marts/build/); while they are missing or stale access/marts.py runs
-- marts/fallback/case_timeline, this text with the marts computed inline (access/queries.py).
-- One row per BTAM case with the dates survival needs (report, first action, assessment, closing)
-- and the subject's groups that year (blank for staff and other subjects).
-- The warehouse as it stood on $as_of: cases reported after it are left out, and actions,
-- assessments and closings dated after it have not happened yet.
-- params: $as_of (date), $school_years, $school_ids (lists or null = all; the case's school)
with cases as (
    select
        case_id,
        school_year,
        school_id,
        subject_type,
        student_key,
        reported_date,
        case when assessed_date <= $as_of::date then assessed_date end as assessed_date,
        case when assessed_date is null or assessed_date <= $as_of::date then concern_level end as concern_level,
        case when closed_date <= $as_of::date then closed_date end as closed_date
    from btam_cases
    where reported_date <= $as_of::date
      and ($school_years is null or list_contains($school_years::varchar[], school_year))
      and ($school_ids is null or list_contains($school_ids::varchar[], school_id))
),

first_actions as (
    select
        case_id,
        min(action_date) as first_action_date
    from case_actions
    where action_date <= $as_of::date
    group by case_id
),

subjects as (
    select *
    from mart.case_subjects
),

final as (
    select
        -- ids
        cases.case_id,
        cases.school_year,
        cases.school_id,
        schools.school_level,
        cases.subject_type,
        -- dates
        cases.reported_date,
        first_actions.first_action_date,
        cases.assessed_date,
        cases.closed_date,
        cases.concern_level,
        -- the subject's groups (students only)
        subjects.race_ethnicity,
        subjects.disability_status,
        subjects.sex,
        subjects.english_learner,
        subjects.econ_disadvantaged,
        subjects.race_x_disability
    from cases
    left join schools
        on schools.school_id = cases.school_id
    left join first_actions
        on first_actions.case_id = cases.case_id
    left join subjects
        on cases.subject_type = 'student'
        and subjects.school_year = cases.school_year
        and subjects.student_key = cases.student_key
)

select * from final
order by school_year, school_id, reported_date, case_id
