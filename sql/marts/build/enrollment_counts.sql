-- Enrolled rows per school_year x school_id: the denominators of case_volumes and the year list.
-- Additive over schools: a school's count is its own enrollment rows.
create or replace table mart.enrollment_counts as
select
    school_year,
    school_id,
    count(*)::bigint as enrolled
from enrollment
group by school_year, school_id
order by school_year, school_id;
