-- Read over the load-time marts (sql/marts/build/); while they are missing or stale access/marts.py runs
-- marts/fallback/process_audit_counts, this text with the marts computed inline (access/queries.py).
-- Numerator and denominator of every process-audit indicator (metrics/audit.py AUDIT_INDICATORS)
-- per school_year x scope (district, and the case's school). Case indicators count cases;
-- suspended_while_case_open counts students. exclusion_or_placement_change has one row per level
-- of concern; the other indicators have a blank concern_level.
-- The warehouse as it stood on $as_of: cases reported after it are left out; actions, assessments,
-- plans, reviews, closings and incidents dated after it have not happened yet.
-- params: $as_of (date), $review_within_days (integer), $school_years, $school_ids,
--         $include_district, $include_schools
with cases as (
    select
        case_id,
        school_year,
        -- without school rows, no school grouping to build
        case when $include_schools then school_id end as school_id,
        subject_type,
        student_key,
        reported_date,
        case when assessed_date <= $as_of::date then assessed_date end as assessed_date,
        case when assessed_date is null or assessed_date <= $as_of::date then concern_level end as concern_level,
        coalesce(team_admin, false) and coalesce(team_mental_health, false) as full_team,
        coalesce(law_enforcement_involved, false) as law_enforcement_involved,
        disability_factors_considered,
        case when plan_written_date <= $as_of::date then plan_written_date end as plan_written_date,
        monitoring,
        case when closed_date <= $as_of::date then closed_date end as closed_date
    from btam_cases
    where reported_date <= $as_of::date
      and ($school_years is null or list_contains($school_years::varchar[], school_year))
      and ($school_ids is null or list_contains($school_ids::varchar[], school_id))
),

case_action_flags as (
    select
        case_id,
        bool_or(action_category = 'law_enforcement') as has_law_enforcement,
        bool_or(action_category in ('exclusionary', 'placement')) as has_exclusion_or_placement
    from case_actions
    where action_date <= $as_of::date
    group by case_id
),

timely_reviews as (
    select
        cases.case_id,
        true as reviewed_in_window
    from cases
    inner join case_reviews
        on case_reviews.case_id = cases.case_id
        and case_reviews.review_date between cases.assessed_date
                                         and cases.assessed_date + $review_within_days::integer
        and case_reviews.review_date <= $as_of::date
    group by cases.case_id
),

disability_plans as (
    select
        school_year,
        student_key,
        idea_or_504
    from mart.case_subjects
),

case_facts as (
    select
        cases.case_id,
        cases.school_year,
        cases.school_id,
        cases.concern_level,
        cases.assessed_date is not null as assessed,
        cases.concern_level is not null as has_level,
        cases.concern_level in ('moderate', 'high', 'imminent') as moderate_plus,
        cases.full_team,
        coalesce(disability_plans.idea_or_504, false) as idea_or_504,
        cases.disability_factors_considered = 'y' as disability_factors_considered,
        cases.plan_written_date is not null as plan_written,
        cases.monitoring = 'formal' as formal_monitoring,
        cases.assessed_date + $review_within_days::integer <= $as_of::date as review_window_ended,
        coalesce(timely_reviews.reviewed_in_window, false) as reviewed_in_window,
        cases.law_enforcement_involved or coalesce(case_action_flags.has_law_enforcement, false)
            as law_enforcement,
        coalesce(case_action_flags.has_exclusion_or_placement, false) as exclusion_or_placement
    from cases
    left join case_action_flags
        on case_action_flags.case_id = cases.case_id
    left join timely_reviews
        on timely_reviews.case_id = cases.case_id
    left join disability_plans
        on cases.subject_type = 'student'
        and disability_plans.school_year = cases.school_year
        and disability_plans.student_key = cases.student_key
),

levels as (
    select unnest(['low', 'moderate', 'high', 'imminent']) as level
),

case_indicator_rows as (
    select school_year, school_id, 1 as indicator_order, 'team_composition' as indicator,
           null::varchar as concern_level, assessed as in_denominator, assessed and full_team as in_numerator
    from case_facts
    union all
    select school_year, school_id, 2, 'concern_level_recorded', null, assessed, assessed and has_level
    from case_facts
    union all
    select school_year, school_id, 3, 'disability_factors_considered', null,
           assessed and idea_or_504, assessed and idea_or_504 and coalesce(disability_factors_considered, false)
    from case_facts
    union all
    select school_year, school_id, 4, 'written_plan_moderate_plus', null,
           coalesce(moderate_plus, false), coalesce(moderate_plus, false) and plan_written
    from case_facts
    union all
    select school_year, school_id, 5, 'formal_monitoring_moderate_plus', null,
           coalesce(moderate_plus, false), coalesce(moderate_plus, false) and coalesce(formal_monitoring, false)
    from case_facts
    union all
    select school_year, school_id, 6, 'review_within_window_moderate_plus', null,
           coalesce(moderate_plus and review_window_ended, false),
           coalesce(moderate_plus and review_window_ended, false) and reviewed_in_window
    from case_facts
    union all
    select school_year, school_id, 7, 'law_enforcement_low_moderate', null,
           coalesce(concern_level in ('low', 'moderate'), false),
           coalesce(concern_level in ('low', 'moderate'), false) and law_enforcement
    from case_facts
    union all
    select case_facts.school_year, case_facts.school_id, 8, 'exclusion_or_placement_change', levels.level,
           coalesce(case_facts.concern_level = levels.level, false),
           coalesce(case_facts.concern_level = levels.level, false) and case_facts.exclusion_or_placement
    from case_facts
    cross join levels
),

case_indicators as (
    select
        school_year,
        case when grouping(school_id) = 1 then 'district' else school_id end as scope,
        indicator_order,
        indicator,
        concern_level,
        count(*) filter (where in_numerator) as numerator,
        count(*) filter (where in_denominator) as denominator
    from case_indicator_rows
    group by grouping sets (
        (school_year, school_id, indicator_order, indicator, concern_level),
        (school_year, indicator_order, indicator, concern_level)
    )
),

-- students suspended (iss, oss, expulsion in the discipline export) while their case was open:
-- an incident between the case's reported_date and its closed_date, or the as-of date while open
student_case_suspensions as (
    select
        cases.school_year,
        cases.school_id,
        cases.student_key,
        bool_or(discipline_actions.action_id is not null) as suspended_while_open
    from cases
    left join mart.case_student_removals as discipline_actions
        on discipline_actions.student_key = cases.student_key
        and discipline_actions.action_type in ('iss', 'oss', 'expulsion_with_services', 'expulsion_without_services')
        and discipline_actions.incident_date between cases.reported_date and coalesce(cases.closed_date, $as_of::date)
        and discipline_actions.incident_date <= $as_of::date
    where cases.subject_type = 'student'
      and cases.student_key is not null
    group by cases.school_year, cases.school_id, cases.student_key
),

student_indicators as (
    select
        school_year,
        case when grouping(school_id) = 1 then 'district' else school_id end as scope,
        9 as indicator_order,
        'suspended_while_case_open' as indicator,
        null::varchar as concern_level,
        count(distinct student_key) filter (where suspended_while_open) as numerator,
        count(distinct student_key) as denominator
    from student_case_suspensions
    group by grouping sets ((school_year, school_id), (school_year))
),

final as (
    select
        school_year,
        scope,
        indicator,
        concern_level,
        numerator::bigint as numerator,
        denominator::bigint as denominator
    from (select * from case_indicators union all select * from student_indicators)
    where (scope <> 'district' or $include_district)
      and (scope = 'district' or $include_schools)
    order by
        school_year,
        scope <> 'district',
        scope,
        indicator_order,
        case concern_level when 'low' then 1 when 'moderate' then 2 when 'high' then 3 else 4 end
)

select * from final
