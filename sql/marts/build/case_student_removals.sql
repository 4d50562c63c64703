-- Suspensions and expulsions (iss, oss, expulsion_*) of students who are the subject of any BTAM case:
-- the only discipline rows process_audit_counts' suspended_while_case_open can match.
create or replace table mart.case_student_removals as
select
    discipline_actions.action_id,
    discipline_actions.student_key,
    discipline_actions.incident_date,
    discipline_actions.action_type
from discipline_actions
semi join btam_cases
    on btam_cases.subject_type = 'student'
    and btam_cases.student_key = discipline_actions.student_key
where discipline_actions.action_type in {codes:exclusionary_actions}
order by discipline_actions.student_key, discipline_actions.incident_date;
