-- Students (n) and students with the outcome (k) per scope x dimension x group of a published aggregate
-- table, blank (suppressed) counts kept as nulls, with the scope's all-students totals beside them: what
-- metrics.aggregate_bounds.comparison_bounds consumes. The scope id of the statewide row is 'state'.
-- params: $source, $school_year, $n_measure, $k_measure, $dimensions (list)
with counts as (
    select
        case when scope = 'state' then 'state' else scope_id end as scope_key,
        measure,
        dimension,
        "group",
        value
    from aggregate_counts
    where source = $source
      and school_year = $school_year
),

cells as (
    select
        scope_key,
        dimension,
        "group",
        max(value) filter (where measure = $n_measure) as n,
        max(value) filter (where measure = $k_measure) as k
    from counts
    where list_contains($dimensions::varchar[], dimension)
    group by scope_key, dimension, "group"
),

totals as (
    select
        scope_key,
        max(value) filter (where measure = $n_measure) as n_total,
        max(value) filter (where measure = $k_measure) as k_total
    from counts
    where dimension = 'all'
    group by scope_key
),

final as (
    select
        cells.scope_key as scope,
        cells.dimension,
        cells."group",
        cells.n::bigint as n,
        cells.k::bigint as k,
        totals.n_total::bigint as n_total,
        totals.k_total::bigint as k_total
    from cells
    left join totals using (scope_key)
    order by cells.scope_key = 'state' desc, cells.scope_key, cells.dimension, cells."group"
)

select * from final
