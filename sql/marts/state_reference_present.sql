-- Whether the optional state_reference table (docs/INTERCHANGE.md, "Extension: state_reference")
-- exists in this warehouse; the alternate and weighted risk ratios need it.
with final as (
    select count(*) > 0 as present
    from duckdb_tables()
    where schema_name = 'main'
      and table_name = 'state_reference'
)

select * from final
