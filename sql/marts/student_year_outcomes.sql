-- One row per enrolled student x school_year: the scope school, every dimension of
-- disproportionality.csv and one boolean per outcome (spec/interchange.md, "Metric exports"), from the
-- student-outcome chain the outcome mart sums (marts/chains/student_outcomes).
-- params: $school_years (list or null = all), $school_ids (list or null = all; the enrollment school)
with
-- include: marts/chains/student_outcomes
,

final as (
    select
        * replace (case when english_learner then 'y' else 'n' end as english_learner,
                   case when econ_disadvantaged then 'y' else 'n' end as econ_disadvantaged),
        race_ethnicity || ':' || disability_status as race_x_disability
    from student_outcomes
    where ($school_years is null or list_contains($school_years::varchar[], school_year))
      and ($school_ids is null or list_contains($school_ids::varchar[], school_id))
)

select * from final
order by school_year, school_id, student_key
