-- How complete the records behind the report are, for one school year: for each check, the cases
-- it applies to and those with the field missing. Optional fields only; required ones are refused
-- at load (see the load ledger).
-- params: $as_of (date), $school_year (varchar)
with cases as (
    select
        btam_cases.*,
        case when assessed_date <= $as_of::date then assessed_date end as assessed_on_time
    from btam_cases
    where reported_date <= $as_of::date
      and school_year = $school_year
),

enrolled as (
    select
        student_key,
        idea or section_504 as idea_or_504
    from enrollment
    where school_year = $school_year
),

with_actions as (
    select distinct case_id
    from case_actions
    where action_date <= $as_of::date
),

facts as (
    select
        cases.subject_type = 'student' as is_student,
        enrolled.student_key is not null as linked,
        cases.assessed_on_time is not null as assessed,
        cases.team_admin is null or cases.team_mental_health is null as team_blank,
        cases.law_enforcement_involved is null as le_blank,
        coalesce(enrolled.idea_or_504, false) as idea_or_504,
        cases.disability_factors_considered is null as dfc_blank,
        cases.concern_level in ('moderate', 'high', 'imminent') and cases.assessed_on_time is not null as moderate_plus,
        cases.monitoring is null as monitoring_blank,
        with_actions.case_id is null as no_action
    from cases
    left join enrolled
        on cases.subject_type = 'student'
        and enrolled.student_key = cases.student_key
    left join with_actions
        on with_actions.case_id = cases.case_id
),

checks as (
    select 1 as check_order, 'student_linked' as check_name, is_student as applies, is_student and not linked as missing
    from facts
    union all
    select 2, 'team_recorded', assessed, assessed and team_blank from facts
    union all
    select 3, 'law_enforcement_recorded', assessed, assessed and le_blank from facts
    union all
    select 4, 'disability_factors_recorded', assessed and idea_or_504, assessed and idea_or_504 and dfc_blank
    from facts
    union all
    select 5, 'monitoring_recorded', coalesce(moderate_plus, false), coalesce(moderate_plus, false) and monitoring_blank
    from facts
    union all
    select 6, 'action_recorded', true, no_action from facts
),

final as (
    select
        check_name,
        (count(*) filter (where applies))::bigint as checked_cases,
        (count(*) filter (where missing))::bigint as missing
    from checks
    group by check_name, check_order
    order by check_order
)

select * from final
