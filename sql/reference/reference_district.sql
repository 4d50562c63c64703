-- The district's NCES LEA id (reference_district; pipelines/reference/district.py), when recorded.
with final as (
    select
        lea_id,
        recorded_at
    from reference_district
    order by recorded_at desc
    limit 1
)

select * from final
