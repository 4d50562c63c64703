-- Quarantined rows per entity and rule, over every load: what the sources most often get wrong.
with final as (
    select
        entity,
        rule,
        count(*) as rows_quarantined,
        count(distinct file_name) as files
    from load_quarantine
    group by entity, rule
    order by rows_quarantined desc, entity, rule
)

select * from final
