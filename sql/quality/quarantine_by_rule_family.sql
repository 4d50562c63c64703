-- Quarantined rows per kind of rule (the part before ':', e.g. code, required, date), over every load.
with families as (
    select
        split_part(rule, ':', 1) as rule_family,
        entity
    from load_quarantine
),

final as (
    select
        rule_family,
        count(*) as rows_quarantined,
        count(distinct entity) as entities,
        string_agg(distinct entity, ', ' order by entity) as entity_list
    from families
    group by rule_family
    order by rows_quarantined desc, rule_family
)

select * from final
