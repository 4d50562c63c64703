-- Students (n) and students with the outcome (k) per scope x dimension x group of a published
-- aggregate table, in the shape metrics.disproportionality_table consumes. Groups with a blank
-- (suppressed) n or k are left out; the scope id of the statewide row is 'state'.
-- params: $source, $school_year, $n_measure, $k_measure, $dimensions (list)
with counts as (
    select *
    from aggregate_counts
    where source = $source
      and school_year = $school_year
      and list_contains($dimensions::varchar[], dimension)
),

paired as (
    select
        n.school_year,
        case when n.scope = 'state' then 'state' else n.scope_id end as scope,
        $k_measure as outcome,
        n.dimension,
        n."group",
        n.value as n,
        k.value as k
    from counts as n
    join counts as k using (scope, scope_id, dimension, "group")
    where n.measure = $n_measure
      and k.measure = $k_measure
),

final as (
    select
        school_year,
        scope,
        outcome,
        dimension,
        "group",
        n::bigint as n,
        k::bigint as k
    from paired
    where n is not null
      and k is not null
    order by scope = 'state' desc, scope, dimension, "group"
)

select * from final
