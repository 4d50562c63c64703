-- Rules of case review rows: the case must exist, the review follow its report and not be after the as-of date.
with candidate_rows as (
    select
        c.*,
        k.reported_date as case_reported_date,
        k.case_id is not null as case_exists
    from candidate as c
    left join btam_cases as k on k.case_id = c.case_id
),

unknown_case as (
    select _row_id, 'unknown_case' as rule, 'case_id ' || case_id || ' is not in btam_cases' as detail
    from candidate_rows
    where case_id is not null and not case_exists
),

before_case as (
    select _row_id, 'date_order:review_date' as rule,
           'review_date ' || review_date || ' is before the case''s reported_date ' || case_reported_date as detail
    from candidate_rows
    where review_date < case_reported_date
),

after_as_of as (
    select _row_id, 'after_as_of:review_date' as rule,
           'review_date ' || review_date || ' is after the as-of date ' || $as_of as detail
    from candidate_rows
    where review_date > cast($as_of as date)
)

select * from unknown_case
union all select * from before_case
union all select * from after_as_of
