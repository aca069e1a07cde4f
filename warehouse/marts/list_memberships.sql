-- list_removals_checked: every current removal with the problem that holds it back (null = it applies).
-- Early removal (提前移出) only after the list type's minimum, and only where the list type allows it.
create or replace table list_removals_checked as
select
    r.*,
    e.record_id as entry_record_id,
    (e.valid_from + to_months(coalesce(lt.early_removal_min_months, 0)))::date as early_removal_from,
    case
        when e.record_id is null then 'refers_to.unknown'
        when r.removal_reason = '提前移出' and lt.early_removal_min_months is null then 'removal.not_allowed'
        when r.removal_reason = '提前移出'
            and r.removal_date < e.valid_from + to_months(lt.early_removal_min_months) then 'removal.before_minimum'
    end as problem
from list_removal as r
left join list_entry as e
    on e.list_type = r.list_type and e.decision_no = r.entry_decision_no and e.subject_key = r.subject_key
left join list_types as lt on lt.code = r.list_type;

-- list_memberships: every current list entry with its effective term and its state on as_of.
create or replace table list_memberships as
with entries as (
    select e.*, lt.name as list_name, lt.colour, lt.default_term_months
    from list_entry as e
    join list_types as lt on lt.code = e.list_type
),

removals as (
    select list_type, entry_decision_no, subject_key, min(removal_date) as removed_on,
           arg_min(removal_reason, removal_date) as removal_reason
    from list_removals_checked
    where problem is null and removal_date <= getvariable('as_of')
    group by all
),

repairs as (
    select * from applied_repairs
),

termed as (
    select
        e.*,
        coalesce(e.valid_to, (e.valid_from + to_months(e.default_term_months) - interval 1 day)::date)
            as effective_valid_to,
        rm.removed_on, rm.removal_reason, rp.repaired_on
    from entries as e
    left join removals as rm
        on rm.list_type = e.list_type and rm.entry_decision_no = e.decision_no and rm.subject_key = e.subject_key
    left join repairs as rp on rp.target_record_id = e.record_id
),

stated as (
    select
        *,
        case
            when repaired_on is not null then 'repaired'
            when removed_on is not null then 'removed'
            when valid_from > getvariable('as_of') then 'not_started'
            when effective_valid_to < getvariable('as_of') then 'expired'
            else 'active'
        end as base_state
    from termed
),

-- A red entry is suspended while its subject has an active black entry or a disclosed serious penalty.
conflicts as (
    select distinct subject_key from stated where colour = 'black' and base_state = 'active'
    union
    select distinct subject_key from dishonesty_windows as w
    where w.class = '严重' and w.is_disclosable and w.status <> '撤销'
      and w.decision_date <= getvariable('as_of') and w.disclosure_until >= getvariable('as_of')
      and w.record_id not in (select target_record_id from applied_repairs)
),

final as (
    select
        s.*,
        case
            when s.colour = 'red' and s.base_state = 'active' and c.subject_key is not null then 'suspended'
            else s.base_state
        end as state
    from stated as s
    left join conflicts as c on c.subject_key = s.subject_key
)

select * from final;
