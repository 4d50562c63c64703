-- State risk per school_year x outcome x dimension x group, with where the counts came from and
-- whether k is exact: the state line beside a district's own rates, labelled with its year.
-- params: $school_year (or null = every year)
with counts as (
    select
        school_year,
        outcome,
        dimension,
        "group",
        n,
        k
    from state_reference
    where ($school_year is null or school_year = $school_year)
),

final as (
    select
        c.school_year,
        c.outcome,
        c.dimension,
        c."group",
        c.n,
        c.k,
        case when c.n > 0 then c.k / c.n end as risk,
        s.source,
        s.state,
        s.exact,
        s.schools_used,
        s.schools_excluded
    from counts as c
    left join state_reference_sources as s using (school_year, outcome, dimension)
    order by c.school_year, c.outcome, c.dimension, c."group"
)

select * from final
