-- The default as-of date of exports: the latest date in the warehouse's cases, case actions,
-- case reviews and discipline actions (spec/interchange.md, "Metric exports"). Null when all are empty.
with dates as (
    select max(greatest(reported_date, screened_date, assessed_date, plan_written_date, closed_date)) as latest
    from btam_cases
    union all
    select max(action_date) from case_actions
    union all
    select max(review_date) from case_reviews
    union all
    select max(incident_date) from discipline_actions
),

final as (
    select max(latest) as as_of
    from dates
)

select * from final
