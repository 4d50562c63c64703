-- Students enrolled and schools per school year.
with final as (
    select
        school_year,
        count(*) as students,
        count(distinct school_id) as schools
    from enrollment
    group by school_year
    order by school_year
)

select * from final
