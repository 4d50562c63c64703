-- Whether the load-time marts still describe this warehouse: built by this mart version, after its last
-- load, from tables of the same row counts (a change made outside the loader shows in the counts).
-- Fails with a catalog error when mart.build_info does not exist (no marts). params: $mart_version (integer)
with final as (
    select
        build_info.mart_version = $mart_version::integer
        and build_info.source_load_id is not distinct from
            (select value from warehouse_info where key = 'last_load_id')
        and build_info.schools_rows = (select count(*) from schools)
        and build_info.enrollment_rows = (select count(*) from enrollment)
        and build_info.btam_cases_rows = (select count(*) from btam_cases)
        and build_info.case_actions_rows = (select count(*) from case_actions)
        and build_info.discipline_actions_rows = (select count(*) from discipline_actions) as current
    from mart.build_info
)

select * from final
