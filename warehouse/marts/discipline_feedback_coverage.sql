-- discipline_feedback_coverage: share of targets with feedback, per department and measure.
create or replace table discipline_feedback_coverage as
with feedback as (
    select distinct measure_code, basis_decision_no, subject_key from discipline_feedback
    where action_date <= getvariable('as_of')
),

final as (
    select
        t.implementing_dept,
        t.measure_code,
        count(*) as targets,
        count(f.measure_code) as with_feedback,
        round(count(f.measure_code) / count(*), 4) as feedback_share
    from discipline_targets as t
    left join feedback as f using (measure_code, basis_decision_no, subject_key)
    group by all
)

select * from final order by all;
