-- The case-action chain: the CTE case_action_flags, one row per case with an action, saying which kinds of
-- action it had (action_category of case_actions). A case with none has no row: join it with a left join and
-- coalesce(..., false). It reads `dated_case_actions`, which the including query defines before the include
-- (all of case_actions, or those dated on or before its $as_of), so the flags are written once for the outcome
-- mart, the process audit, the same-level strata and the board report.
case_action_flags as (
    select
        case_id,
        bool_or(action_category = 'support') as has_support,
        bool_or(action_category = 'exclusionary') as has_exclusionary,
        bool_or(action_category = 'placement') as has_placement_change,
        bool_or(action_category in ('exclusionary', 'placement')) as has_exclusion_or_placement,
        bool_or(action_category = 'law_enforcement') as has_law_enforcement
    from dated_case_actions
    group by case_id
)
