-- Every district (LEA) of one state in one CRDC year with its share of students in high-school
-- grades (9-12), from the grades its schools offer (crdc_school_grades): the school-level mix the
-- peer rule compares (access/benchmarks.py, docs/METHODOLOGY.md "Peer benchmarks").
-- CRDC counts students by school, not by grade, so a school's students are spread evenly over the
-- grades it offers (KG and 1-12; PS and UG are not counted as grades): a 9-12 school counts whole,
-- a 7-12 school counts 4/6 of its students, a K-8 school none. The share is over the district's
-- schools whose grades are known (schools_with_grades); blank when none is.
-- params: $school_year, $state
with grades as (
    select
        school_id,
        count(*) filter (where offered and grade not in ('ps', 'ug')) as grades_offered,
        count(*) filter (where offered and grade in ('09', '10', '11', '12')) as high_school_grades
    from crdc_school_grades
    where school_year = $school_year
      and state = $state
    group by school_id
),

students as (
    select
        lea_id,
        school_id,
        sum(value) as students,
        bool_or(value is null) as missing
    from crdc_school_counts
    where school_year = $school_year
      and state = $state
      and measure = 'enrollment'
      and subset = 'all'
      and breakout = 'race'
    group by lea_id, school_id
),

per_school as (
    select
        s.lea_id,
        s.school_id,
        s.students,
        coalesce(g.grades_offered, 0) > 0 as grades_known,
        case
            when g.grades_offered > 0 then s.students * g.high_school_grades / g.grades_offered
        end as high_school_students
    from students as s
    left join grades as g using (school_id)
    where not s.missing
),

final as (
    select
        lea_id,
        sum(high_school_students) / nullif(sum(students) filter (where grades_known), 0) as high_school_share,
        count(*) filter (where grades_known) as schools_with_grades,
        count(*) filter (where not grades_known) as schools_without_grades
    from per_school
    group by lea_id
    order by lea_id
)

select * from final
