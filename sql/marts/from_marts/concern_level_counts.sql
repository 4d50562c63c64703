-- Read over the load-time marts (sql/marts/build/); while they are missing or stale access/marts.py runs
-- marts/fallback/concern_level_counts, this text with the marts computed inline (access/queries.py).
-- Assessed BTAM cases per school_year x scope x dimension x group x concern_level.
-- dimension: all (group 'all'), school (group = the case's school; district scope only), and the
-- subject's groups that year (student subjects only): race_ethnicity, disability_status, sex,
-- english_learner, econ_disadvantaged, race_x_disability. Levels with no case have no row.
-- params: $as_of (date or null: the warehouse as it stood then), $school_years, $school_ids,
--         $include_district, $include_schools
with cases as (
    select
        case_id,
        school_year,
        school_id,
        subject_type,
        student_key,
        case when $as_of is null or assessed_date is null or assessed_date <= $as_of::date
             then concern_level end as concern_level
    from btam_cases
    where ($as_of is null or reported_date <= $as_of::date)
      and ($school_years is null or list_contains($school_years::varchar[], school_year))
      and ($school_ids is null or list_contains($school_ids::varchar[], school_id))
),

subjects as (
    select *
    from mart.case_subjects
),

assessed as (
    select
        cases.case_id,
        cases.school_year,
        -- without school rows, no school grouping to build (the school dimension keeps the school)
        case when $include_schools then cases.school_id end as school_id,
        cases.concern_level,
        'all' as all_cases,
        cases.school_id as school,
        subjects.race_ethnicity,
        subjects.disability_status,
        subjects.sex,
        subjects.english_learner,
        subjects.econ_disadvantaged,
        subjects.race_x_disability
    from cases
    left join subjects
        on cases.subject_type = 'student'
        and subjects.school_year = cases.school_year
        and subjects.student_key = cases.student_key
    where cases.concern_level is not null
),

dimension_rows as (
    unpivot assessed
    on all_cases as "all", school, race_ethnicity, disability_status, sex, english_learner,
       econ_disadvantaged, race_x_disability
    into name dimension value "group"
),

counted as (
    select
        school_year,
        case when grouping(school_id) = 1 then 'district' else school_id end as scope,
        dimension,
        "group",
        concern_level,
        count(*) as n
    from dimension_rows
    group by grouping sets (
        (school_year, school_id, dimension, "group", concern_level),
        (school_year, dimension, "group", concern_level)
    )
),

final as (
    select
        school_year,
        scope,
        dimension,
        "group",
        concern_level,
        n::bigint as n
    from counted
    where not (dimension = 'school' and scope <> 'district')
      and (scope <> 'district' or $include_district)
      and (scope = 'district' or $include_schools)
    order by
        school_year,
        scope <> 'district',
        scope,
        dimension <> 'all',
        dimension,
        "group",
        case concern_level when 'low' then 1 when 'moderate' then 2 when 'high' then 3 else 4 end
)

select * from final
