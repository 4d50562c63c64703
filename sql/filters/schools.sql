-- Every school with its name and level: the values the school and level filters accept.
with final as (
    select
        school_id,
        school_name,
        school_level
    from schools
    order by school_name, school_id
)

select * from final
