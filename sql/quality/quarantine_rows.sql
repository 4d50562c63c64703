-- The quarantined rows of one file and rule, as read (raw_row), for the people who fix the source.
with final as (
    select
        file_name,
        entity,
        row_number,
        rule,
        detail,
        raw_row
    from load_quarantine
    where file_name = $file_name
      and rule = $rule
    order by load_id desc, row_number
    limit $row_limit
)

select * from final
