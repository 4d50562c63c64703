-- What the marts were built from: their version, the load and each source table's row count.
-- access/marts.py reads the marts only while all of these still match (sql/marts/from_marts/current.sql).
-- params: $mart_version (integer)
create or replace table mart.build_info as
select
    $mart_version::integer as mart_version,
    (select value from warehouse_info where key = 'last_load_id') as source_load_id,
    (select count(*) from schools) as schools_rows,
    (select count(*) from enrollment) as enrollment_rows,
    (select count(*) from btam_cases) as btam_cases_rows,
    (select count(*) from case_actions) as case_actions_rows,
    (select count(*) from discipline_actions) as discipline_actions_rows,
    now()::timestamp as built_at;
