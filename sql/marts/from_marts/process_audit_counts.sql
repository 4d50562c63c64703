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

dated_case_actions as (
    select *
    from case_actions
    where action_date <= $as_of::date
),

-- include: marts/chains/case_action_flags
,

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

-- every indicator's denominator (d_) and numerator (n_) per school_year x scope, in one pass over the cases
case_counts as (
    select
        school_year,
        case when grouping(school_id) = 1 then 'district' else school_id end as scope,
        count(*) filter (where assessed) as d_team,
        count(*) filter (where assessed and full_team) as n_team,
        count(*) filter (where assessed and has_level) as n_level,
        count(*) filter (where assessed and idea_or_504) as d_disability,
        count(*) filter (where assessed and idea_or_504 and coalesce(disability_factors_considered, false))
            as n_disability,
        count(*) filter (where moderate_plus) as d_moderate_plus,
        count(*) filter (where moderate_plus and plan_written) as n_plan,
        count(*) filter (where moderate_plus and coalesce(formal_monitoring, false)) as n_monitoring,
        count(*) filter (where moderate_plus and review_window_ended) as d_review,
        count(*) filter (where moderate_plus and review_window_ended and reviewed_in_window) as n_review,
        count(*) filter (where concern_level in ('low', 'moderate')) as d_law,
        count(*) filter (where concern_level in ('low', 'moderate') and law_enforcement) as n_law,
        count(*) filter (where concern_level = 'low') as d_low,
        count(*) filter (where concern_level = 'low' and exclusion_or_placement) as n_low,
        count(*) filter (where concern_level = 'moderate') as d_moderate,
        count(*) filter (where concern_level = 'moderate' and exclusion_or_placement) as n_moderate,
        count(*) filter (where concern_level = 'high') as d_high,
        count(*) filter (where concern_level = 'high' and exclusion_or_placement) as n_high,
        count(*) filter (where concern_level = 'imminent') as d_imminent,
        count(*) filter (where concern_level = 'imminent' and exclusion_or_placement) as n_imminent
    from case_facts
    group by grouping sets ((school_year, school_id), (school_year))
),

-- one row per indicator (and per level of concern for exclusion_or_placement_change)
case_indicators as (
    select
        school_year,
        scope,
        indicators.indicator_order,
        indicators.indicator,
        indicators.concern_level,
        [n_team, n_level, n_disability, n_plan, n_monitoring, n_review, n_law,
         n_low, n_moderate, n_high, n_imminent][indicators.position] as numerator,
        [d_team, d_team, d_disability, d_moderate_plus, d_moderate_plus, d_review, d_law,
         d_low, d_moderate, d_high, d_imminent][indicators.position] as denominator
    from case_counts
    cross join (
        values
            (1, 1, 'team_composition', null::varchar),
            (2, 2, 'concern_level_recorded', null),
            (3, 3, 'disability_factors_considered', null),
            (4, 4, 'written_plan_moderate_plus', null),
            (5, 5, 'formal_monitoring_moderate_plus', null),
            (6, 6, 'review_within_window_moderate_plus', null),
            (7, 7, 'law_enforcement_low_moderate', null),
            (8, 8, 'exclusion_or_placement_change', 'low'),
            (9, 8, 'exclusion_or_placement_change', 'moderate'),
            (10, 8, 'exclusion_or_placement_change', 'high'),
            (11, 8, 'exclusion_or_placement_change', 'imminent')
    ) as indicators (position, indicator_order, indicator, concern_level)
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
        and discipline_actions.action_type in {codes:exclusionary_actions}
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
