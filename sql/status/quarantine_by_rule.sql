-- Quarantined rows per file and rule, with the first row numbers to look at.
with final as (
    select
        file_name,
        entity,
        rule,
        count(*) as rows_quarantined,
        string_agg(row_number::varchar, ', ' order by row_number) filter (where rank_in_rule <= 10) as first_rows
    from (
        select *, row_number() over (partition by load_id, file_name, rule order by row_number) as rank_in_rule
        from load_quarantine
    )
    group by file_name, entity, rule
    order by rows_quarantined desc, file_name, rule
)

select * from final
