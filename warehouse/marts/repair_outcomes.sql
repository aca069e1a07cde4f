-- repair_outcomes: what each current repair decision does, evaluated on as_of.
-- applied: the target leaves public view from the repair's decision date;
-- before_minimum / unknown_target: held in quarantine with that reason (unknown targets are retried each run).
create or replace table repair_outcomes as
with repairs as (
    select * from repair
),

targets as (
    select record_id, record_type, subject_key, decision_no, decision_date, repairable_from
    from dishonesty_windows
    union all
    select record_id, 'list_entry', subject_key, decision_no, decision_date,
           (valid_from + to_months(coalesce(lt.early_removal_min_months, 0)))::date
    from list_entry left join list_types as lt on lt.code = list_entry.list_type
),

matched as (
    select
        r.record_id as repair_id, r.repair_no, r.target_type, r.target_decision_no, r.subject_key,
        r.decision_date as repair_date, t.record_id as target_record_id, t.repairable_from,
        r._department, r._file_name, r._row_number, r._landed_at
    from repairs as r
    left join targets as t
        on t.record_type = r.target_type and t.decision_no = r.target_decision_no and t.subject_key = r.subject_key
),

final as (
    select
        *,
        case
            when target_record_id is null then 'unknown_target'
            when repair_date < repairable_from then 'before_minimum'
            when repair_date > getvariable('as_of') then 'not_yet'
            else 'applied'
        end as outcome
    from matched
)

select * from final;

-- applied_repairs: the day each repaired record left public view (its earliest applied repair); the marts
-- and list memberships all read this one table.
create or replace table applied_repairs as
select target_record_id, min(repair_date) as repaired_on
from repair_outcomes where outcome = 'applied' group by all;
