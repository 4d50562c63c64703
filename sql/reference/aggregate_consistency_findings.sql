-- What does not add up in one published aggregate table (one load), one row per finding:
--   parts_vs_total   the groups of a dimension (all published) add to something else than the total
--   parts_exceed_total some groups are blank (suppressed) and the published ones already exceed the total
--   k_exceeds_n      more students with the outcome than students in the group
-- params: $load_id; $parts (list of 'measure|dimension' whose groups should add to the measure's total);
--         $n_measure, $k_measure (the population and outcome measures)
with counts as (
    select *
    from aggregate_counts
    where load_id = $load_id
),

totals as (
    select
        scope,
        scope_id,
        measure,
        value
    from counts
    where dimension = 'all'
),

parts as (
    select
        scope,
        scope_id,
        measure,
        dimension,
        sum(value) as value,
        count(*) filter (where value is null) as blank
    from counts
    where list_contains($parts::varchar[], measure || '|' || dimension)
    group by all
),

parts_vs_total as (
    select
        case when p.scope = 'state' then 'state' else p.scope_id end as scope,
        case when p.blank = 0 then 'parts_vs_total' else 'parts_exceed_total' end as check_name,
        p.measure || ' by ' || p.dimension || ' vs ' || p.measure || ' total' as subject,
        t.value as expected,
        p.value as observed,
        'the ' || p.dimension || ' groups of ' || p.measure || ' add to ' || p.value
            || case when p.blank > 0 then ' (' || p.blank || ' groups blank)' else '' end
            || ', the total says ' || t.value || ' (difference ' || (p.value - t.value) || ')' as detail
    from parts as p
    join totals as t using (scope, scope_id, measure)
    where t.value is not null
      and ((p.blank = 0 and p.value <> t.value) or (p.blank > 0 and p.value > t.value))
),

k_exceeds_n as (
    select
        case when n.scope = 'state' then 'state' else n.scope_id end as scope,
        'k_exceeds_n' as check_name,
        n.dimension || ' ' || n."group" || ': ' || $k_measure || ' vs ' || $n_measure as subject,
        n.value as expected,
        k.value as observed,
        k.value || ' ' || $k_measure || ' of ' || n.value || ' ' || $n_measure as detail
    from counts as n
    join counts as k using (scope, scope_id, dimension, "group")
    where n.measure = $n_measure
      and k.measure = $k_measure
      and k.value > n.value
),

final as (
    select * from parts_vs_total
    union all
    select * from k_exceeds_n
)

select * from final
order by scope, check_name, subject
