-- What does not add up in a CRDC import, one row per finding (reported, never corrected):
--   parts_vs_total        race cells of a count vs its TOT_ column (all race cells reported)
--   breakout_exceeds_parts an EL, Section 504 or IDEA breakout above the sum of the race cells it is part of
--   race_table_vs_breakout SCH_IDEAENR / SCH_504ENR / SCH_LEPENR race cells vs SCH_ENR_IDEA / _504 / _LEP
--   disability_exceeds_enrollment IDEA + Section 504 enrollment above total enrollment
--   discipline_exceeds_enrollment students with an action above students enrolled (race x sex; enrollment
--                         is a fall snapshot, discipline counts the whole year)
-- Reads the import's temp table crdc_cells.
with cells as (
    select
        school_id,
        measure,
        subset,
        breakout,
        "group",
        sex,
        any_value(value) as value,
        bool_or(value is null) as missing
    from crdc_cells
    group by all
),

race_sums as (
    select
        school_id,
        measure,
        subset,
        sex,
        sum(value) as value,
        bool_or(missing) as missing
    from cells
    where breakout = 'race'
    group by all
),

parts_vs_total as (
    select
        r.school_id as scope,
        'parts_vs_total' as check_name,
        t.measure || ' ' || t.subset || ' ' || t.sex || ': race cells vs total' as subject,
        t.value as expected,
        r.value as observed,
        'the race cells add to ' || r.value || ', the total column says ' || t.value as detail
    from race_sums as r
    join cells as t using (school_id, measure, subset, sex)
    where t.breakout = 'total'
      and not r.missing
      and not t.missing
      and r.value <> t.value
),

breakout_exceeds_parts as (
    select
        r.school_id as scope,
        'breakout_exceeds_parts' as check_name,
        b.measure || ' ' || b.subset || ' ' || b.sex || ': ' || b.breakout || ' breakout vs race cells' as subject,
        r.value as expected,
        b.value as observed,
        'the ' || b.breakout || ' breakout (' || b.value || ') is above the students it is part of (' || r.value || ')'
            as detail
    from race_sums as r
    join cells as b using (school_id, measure, subset, sex)
    where b.breakout in ('english_learner', 'section_504_only', 'idea')
      and not r.missing
      and not b.missing
      and b.value > r.value
),

race_table_vs_breakout as (
    select
        r.school_id as scope,
        'race_table_vs_breakout' as check_name,
        'enrollment ' || r.subset || ' ' || r.sex || ': race table vs SCH_ENR breakout' as subject,
        b.value as expected,
        r.value as observed,
        'the ' || r.subset || ' enrollment by race adds to ' || r.value || ', the SCH_ENR breakout says ' || b.value
            as detail
    from race_sums as r
    join cells as b
      on b.school_id = r.school_id
     and b.measure = 'enrollment'
     and b.subset = 'all'
     and b.breakout = r.subset
     and b.sex = r.sex
    where r.measure = 'enrollment'
      and r.subset in ('idea', 'section_504_only', 'english_learner')
      and not r.missing
      and not b.missing
      and r.value <> b.value
),

disability_exceeds_enrollment as (
    select
        r.school_id as scope,
        'disability_exceeds_enrollment' as check_name,
        'enrollment ' || r.sex || ': IDEA + Section 504 vs all' as subject,
        r.value as expected,
        i.value + f.value as observed,
        'IDEA (' || i.value || ') + Section 504 only (' || f.value || ') students exceed enrollment (' || r.value || ')'
            as detail
    from race_sums as r
    join cells as i on i.school_id = r.school_id and i.measure = 'enrollment' and i.breakout = 'idea' and i.sex = r.sex
    join cells as f
      on f.school_id = r.school_id and f.measure = 'enrollment' and f.breakout = 'section_504_only' and f.sex = r.sex
    where r.measure = 'enrollment'
      and r.subset = 'all'
      and not (r.missing or i.missing or f.missing)
      and i.value + f.value > r.value
),

discipline_by_race as (
    select
        school_id,
        measure,
        "group",
        sex,
        sum(value) as value,
        bool_or(missing) as missing
    from cells
    where breakout = 'race'
      and measure <> 'enrollment'
    group by all
),

discipline_exceeds_enrollment as (
    select
        d.school_id as scope,
        'discipline_exceeds_enrollment' as check_name,
        d.measure || ' ' || d."group" || ' ' || d.sex || ': students with the action vs enrolled' as subject,
        e.value as expected,
        d.value as observed,
        d.value || ' students with ' || d.measure || ', ' || e.value || ' enrolled on the fall snapshot' as detail
    from discipline_by_race as d
    join cells as e
      on e.school_id = d.school_id and e.measure = 'enrollment' and e.subset = 'all' and e.breakout = 'race'
     and e."group" = d."group" and e.sex = d.sex
    where not (d.missing or e.missing)
      and d.value > e.value
),

final as (
    select * from parts_vs_total
    union all select * from breakout_exceeds_parts
    union all select * from race_table_vs_breakout
    union all select * from disability_exceeds_enrollment
    union all select * from discipline_exceeds_enrollment
)

select * from final
order by check_name, scope, subject
