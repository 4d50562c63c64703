-- The enrollment rows of students who are the subject of any BTAM case, with the derived group codes:
-- every case query joins enrollment only for subject_type = 'student' on (school_year, student_key),
-- so these rows (a superset of any filtered case set's) give the same joins as the 3M-row table.
create or replace table mart.case_subjects as
select
    enrollment.school_year,
    enrollment.student_key,
    enrollment.race_ethnicity,
    enrollment.disability_status,
    enrollment.sex,
    case when enrollment.english_learner then 'y' else 'n' end as english_learner,
    case when enrollment.econ_disadvantaged then 'y' else 'n' end as econ_disadvantaged,
    enrollment.race_ethnicity || ':' || enrollment.disability_status as race_x_disability,
    enrollment.idea or enrollment.section_504 as idea_or_504
from enrollment
semi join btam_cases
    on btam_cases.subject_type = 'student'
    and btam_cases.school_year = enrollment.school_year
    and btam_cases.student_key = enrollment.student_key
order by enrollment.school_year, enrollment.student_key;
