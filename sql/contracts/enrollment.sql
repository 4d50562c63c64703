-- Rules of enrollment rows beyond single columns.
with candidate_rows as (
    select * from candidate
),

idea_without_disability as (
    select _row_id, 'required_if:idea_disability' as rule,
           'idea is Y but idea_disability is blank' as detail
    from candidate_rows
    where idea and idea_disability is null
),

disability_without_idea as (
    select _row_id, 'blank_unless:idea_disability' as rule,
           'idea_disability is given but idea is N' as detail
    from candidate_rows
    where not idea and idea_disability is not null
),

unknown_school as (
    select c._row_id, 'unknown_school' as rule,
           'school_id ' || c.school_id || ' is not in schools' as detail
    from candidate_rows as c
    anti join schools as s on s.school_id = c.school_id
    where c.school_id is not null
)

select * from idea_without_disability
union all select * from disability_without_idea
union all select * from unknown_school
