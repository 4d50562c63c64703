-- Whether the warehouse holds any loaded file, and whether it is the synthetic demo.
with info as (
    select
        max(value) filter (where key = 'synthetic') as synthetic_flag,
        max(value) filter (where key = 'last_load_as_of') as last_load_as_of
    from warehouse_info
),

ledger as (
    select
        count(*) filter (where status = 'loaded') as files_loaded,
        max(loaded_at) as last_loaded_at
    from load_ledger
),

final as (
    select
        coalesce(info.synthetic_flag = 'true', false) as synthetic,
        info.last_load_as_of,
        ledger.files_loaded,
        ledger.last_loaded_at
    from info
    cross join ledger
)

select * from final
