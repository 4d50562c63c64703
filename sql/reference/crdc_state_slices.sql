-- State students (n) and students with the outcome (k) per outcome x dimension x group, summed over
-- the schools that reported every cell the slice needs (docs/METHODOLOGY.md, "Reference data (CRDC)").
-- A school with a reserve code or a quarantined cell anywhere in a slice, or whose derived groups
-- (none = not IDEA and not 504; not EL) come out negative, is left out of that whole slice, so that
-- numerators and denominators cover the same schools.
-- Reads the import's temp tables: crdc_cells (school_id, cell_key, value) and crdc_recipe (outcome,
-- dimension, group, part, sign, cell_key), the recipe already cut to the columns the files have
-- (pipelines/reference/crdc.py, not_collected_terms: a breakout a collection did not have is left out).
with cells as (
    select
        school_id,
        cell_key,
        any_value(value) as value
    from crdc_cells
    group by school_id, cell_key
),

recipe as (
    select *
    from crdc_recipe
),

expected as (
    select
        outcome,
        dimension,
        count(*) as terms
    from recipe
    group by outcome, dimension
),

per_group as (
    select
        r.outcome,
        r.dimension,
        r."group",
        c.school_id,
        sum(r.sign * c.value) filter (where r.part = 'n') as n,
        sum(r.sign * c.value) filter (where r.part = 'k') as k,
        count(c.value) as present
    from recipe as r
    join cells as c using (cell_key)
    group by r.outcome, r.dimension, r."group", c.school_id
),

per_school as (
    select
        outcome,
        dimension,
        school_id,
        sum(present) as present,
        bool_or(coalesce(n, 0) < 0 or coalesce(k, 0) < 0) as negative
    from per_group
    group by outcome, dimension, school_id
),

included as (
    select
        p.outcome,
        p.dimension,
        p.school_id
    from per_school as p
    join expected as e using (outcome, dimension)
    where p.present = e.terms
      and not p.negative
),

school_total as (
    select count(distinct school_id) as schools
    from crdc_cells
),

final as (
    select
        g.outcome,
        g.dimension,
        g."group",
        sum(g.n)::bigint as n,
        sum(g.k)::bigint as k,
        count(distinct g.school_id) as schools_used,
        any_value(t.schools) - count(distinct g.school_id) as schools_excluded
    from per_group as g
    semi join included as i using (outcome, dimension, school_id)
    cross join school_total as t
    group by g.outcome, g.dimension, g."group"
    order by g.outcome, g.dimension, g."group"
)

select * from final
