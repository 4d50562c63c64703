-- Every loaded file: does rows_read = rows_loaded + rows_quarantined, and are the quarantined rows all stored?
with ledger as (
    select
        load_id,
        file_name,
        entity,
        loaded_at,
        rows_read,
        rows_loaded,
        rows_quarantined
    from load_ledger
    where status = 'loaded'
),

stored as (
    select
        load_id,
        file_name,
        count(*) as quarantine_rows_stored
    from load_quarantine
    group by load_id, file_name
),

final as (
    select
        ledger.loaded_at,
        ledger.file_name,
        ledger.entity,
        ledger.rows_read,
        ledger.rows_loaded,
        ledger.rows_quarantined,
        coalesce(stored.quarantine_rows_stored, 0) as quarantine_rows_stored,
        ledger.rows_read = ledger.rows_loaded + ledger.rows_quarantined as balanced,
        coalesce(stored.quarantine_rows_stored, 0) = ledger.rows_quarantined as quarantine_complete
    from ledger
    left join stored
        on stored.load_id = ledger.load_id
        and stored.file_name = ledger.file_name
    order by ledger.loaded_at desc, ledger.file_name
)

select * from final
