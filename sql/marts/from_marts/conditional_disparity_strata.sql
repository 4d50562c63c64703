-- Read over the load-time marts (sql/marts/build/); while they are missing or stale access/marts.py runs
-- marts/fallback/conditional_disparity_strata, this text with the marts computed inline (access/queries.py).
-- The 2x2 table of each group against all other students, within each level of concern, for the
-- case outcomes the bias review asks about ("same level of concern, different consequence"):
-- a = group's cases with the outcome, b = group's cases without, c = others' with, d = others' without.
-- Unit: assessed BTAM cases about enrolled students (a student's two cases count twice: each case
-- is rated, and answered, on its own). Strata with no case of the group have no row.
-- params: $as_of (date or null), $school_years, $school_ids, $include_district, $include_schools
with cases as (
    select
        case_id,
        school_year,
        school_id,
        student_key,
        coalesce(law_enforcement_involved, false) as law_enforcement_involved,
        case when $as_of is null or assessed_date is null or assessed_date <= $as_of::date
             then concern_level end as concern_level
    from btam_cases
    where subject_type = 'student'
      and ($as_of is null or reported_date <= $as_of::date)
      and ($school_years is null or list_contains($school_years::varchar[], school_year))
      and ($school_ids is null or list_contains($school_ids::varchar[], school_id))
),

dated_case_actions as (
    select *
    from case_actions
    where $as_of is null or action_date <= $as_of::date
),

-- include: marts/chains/case_action_flags
,

subjects as (
    select *
    from mart.case_subjects
),

case_outcomes as (
    select
        cases.case_id,
        cases.school_year,
        cases.school_id,
        cases.concern_level,
        coalesce(case_action_flags.has_exclusionary, false) as case_exclusionary,
        cases.law_enforcement_involved
            or coalesce(case_action_flags.has_law_enforcement, false) as case_law_enforcement,
        coalesce(case_action_flags.has_placement_change, false) as case_placement_change,
        subjects.race_ethnicity,
        subjects.disability_status,
        subjects.sex,
        subjects.english_learner,
        subjects.econ_disadvantaged,
        subjects.race_x_disability
    from cases
    inner join subjects
        on subjects.school_year = cases.school_year
        and subjects.student_key = cases.student_key
    left join case_action_flags
        on case_action_flags.case_id = cases.case_id
    where cases.concern_level is not null
),

by_outcome as (
    unpivot case_outcomes
    on case_exclusionary, case_law_enforcement, case_placement_change
    into name outcome value has_outcome
),

by_dimension as (
    unpivot by_outcome
    on race_ethnicity, disability_status, sex, english_learner, econ_disadvantaged, race_x_disability
    into name dimension value "group"
),

group_cells as (
    select
        school_year,
        case when grouping(school_id) = 1 then 'district' else school_id end as scope,
        outcome,
        dimension,
        "group",
        concern_level,
        count(*) as cases,
        count(*) filter (where has_outcome) as with_outcome
    from by_dimension
    group by grouping sets (
        (school_year, school_id, outcome, dimension, "group", concern_level),
        (school_year, outcome, dimension, "group", concern_level)
    )
),

level_totals as (
    select
        school_year,
        scope,
        outcome,
        dimension,
        concern_level,
        sum(cases) as cases,
        sum(with_outcome) as with_outcome
    from group_cells
    group by all
),

final as (
    select
        group_cells.school_year,
        group_cells.scope,
        group_cells.outcome,
        group_cells.dimension,
        group_cells."group",
        group_cells.concern_level,
        group_cells.with_outcome::bigint as a,
        (group_cells.cases - group_cells.with_outcome)::bigint as b,
        (level_totals.with_outcome - group_cells.with_outcome)::bigint as c,
        ((level_totals.cases - group_cells.cases)
            - (level_totals.with_outcome - group_cells.with_outcome))::bigint as d
    from group_cells
    inner join level_totals
        on level_totals.school_year = group_cells.school_year
        and level_totals.scope = group_cells.scope
        and level_totals.outcome = group_cells.outcome
        and level_totals.dimension = group_cells.dimension
        and level_totals.concern_level = group_cells.concern_level
    where (group_cells.scope <> 'district' or $include_district)
      and (group_cells.scope = 'district' or $include_schools)
    order by
        group_cells.school_year,
        group_cells.scope <> 'district',
        group_cells.scope,
        group_cells.outcome,
        group_cells.dimension,
        group_cells."group",
        case group_cells.concern_level when 'low' then 1 when 'moderate' then 2 when 'high' then 3 else 4 end
)

select * from final
