-- Every file of every load, newest first.
with final as (
    select
        load_id,
        loaded_at,
        file_name,
        entity,
        status,
        rows_read,
        rows_loaded,
        rows_quarantined,
        ignored_columns,
        sha256
    from load_ledger
    order by loaded_at desc, file_name
)

select * from final
