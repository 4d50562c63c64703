-- Pooled risk of one outcome by race over a set of districts (the peers), from CRDC school counts:
-- n = students enrolled (race cells, both sexes), k = students with the outcome's actions (the
-- "without disabilities" and IDEA tables, both sexes; for outcomes of several actions k sums them,
-- an upper bound as in state_reference). A school with a reserve code or a broken cell in any cell
-- the outcome needs is left out of that outcome entirely, so n and k cover the same schools.
-- params: $school_year, $state, $lea_ids (list), $outcome, $measures (list)
with needed as (
    select
        lea_id,
        school_id,
        measure,
        "group",
        value
    from crdc_school_counts
    where school_year = $school_year
      and state = $state
      and list_contains($lea_ids::varchar[], lea_id)
      and breakout = 'race'
      and (
          (measure = 'enrollment' and subset = 'all')
          or (list_contains($measures::varchar[], measure) and subset in ('non_idea', 'idea'))
      )
),

schools as (
    select
        lea_id,
        school_id,
        bool_or(value is null) as missing
    from needed
    group by lea_id, school_id
),

included as (
    select
        n.*
    from needed as n
    semi join schools as s on s.school_id = n.school_id and not s.missing
),

per_race as (
    select
        "group" as race_ethnicity,
        sum(value) filter (where measure = 'enrollment')::bigint as n,
        coalesce(sum(value) filter (where measure <> 'enrollment'), 0)::bigint as k
    from included
    group by "group"
),

coverage as (
    select
        count(*) filter (where not missing) as schools_used,
        count(*) filter (where missing) as schools_excluded,
        count(distinct lea_id) filter (where not missing) as districts_used
    from schools
),

final as (
    select
        $school_year as crdc_school_year,
        $state as state,
        $outcome as outcome,
        p.race_ethnicity,
        p.n,
        p.k,
        case when p.n > 0 then p.k / p.n end as risk,
        c.districts_used,
        c.schools_used,
        c.schools_excluded
    from per_race as p
    cross join coverage as c
    order by p.race_ethnicity
)

select * from final
