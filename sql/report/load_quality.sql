-- Rows read and rows set aside (quarantined) by the loads that built this warehouse, per entity:
-- the part of the district's exports that did not reach the report.
-- params: none
with loaded as (
    select
        coalesce(entity, 'unknown') as entity,
        rows_read,
        rows_quarantined
    from load_ledger
    where status = 'loaded'
),

final as (
    select
        entity,
        sum(rows_read)::bigint as rows_read,
        sum(rows_quarantined)::bigint as rows_quarantined
    from loaded
    group by entity
    order by entity
)

select * from final
