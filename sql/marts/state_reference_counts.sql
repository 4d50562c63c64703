-- State counts per school_year x outcome x dimension x group (docs/INTERCHANGE.md,
-- "Extension: state_reference"): the comparison of the alternate and weighted risk ratios.
-- Run only when marts/state_reference_present says the table exists.
-- params: $school_years (list or null = all)
with final as (
    select
        school_year,
        outcome,
        dimension,
        "group",
        n::bigint as n,
        k::bigint as k
    from state_reference
    where ($school_years is null or list_contains($school_years::varchar[], school_year))
    order by school_year, outcome, dimension, "group"
)

select * from final
