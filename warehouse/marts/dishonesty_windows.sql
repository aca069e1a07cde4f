-- dishonesty_windows: class, regime and disclosure window of every current penalty and other dishonesty record.
create or replace table dishonesty_windows as
with penalties as (
    select
        record_id, 'admin_penalty' as record_type, subject_key, decision_no, decision_date, severity,
        code_list(penalty_types) as types, violation_type, disclosure_until as own_until, status
    from admin_penalty
),

others as (
    select
        record_id, 'other_dishonesty', subject_key, event_no, event_date, severity,
        []::varchar[], category, null::date, '正常'
    from other_dishonesty
),

records as (
    select * from penalties union all select * from others
),

classed as (
    select
        *,
        coalesce(
            severity,
            case
                when list_has_all(['警告', '通报批评'], types) then '轻微'
                when list_has_any(types, (select list(penalty_type) from serious_penalty_types)) then '严重'
                else '一般'
            end
        ) as class,
        len(types) > 0 and list_has_all(['警告'], types) as is_warning_only,
        exists (select 1 from long_minimum_fields as k where contains(records.violation_type, k.keyword))
            as is_long_minimum_field
    from records
),

windowed as (
    select
        c.*,
        r.regime,
        r.is_disclosable and not c.is_warning_only as is_disclosable,
        case when r.regime = '2023_05' and c.is_long_minimum_field then 12 else r.min_months end as min_months,
        r.max_months
    from classed as c
    left join disclosure_regimes as r
        on c.decision_date between r.from_date and r.to_date and r.class = c.class
),

final as (
    select
        record_id, record_type, subject_key, decision_no, decision_date, class, regime, is_disclosable,
        is_warning_only, status,
        (decision_date + to_months(min_months))::date as repairable_from,
        -- last day in public view: the rule's maximum, shortened (never lengthened) by the record's own date
        least(
            (decision_date + to_months(max_months) - interval 1 day)::date,
            coalesce(own_until, date '2099-12-31')
        ) as disclosure_until
    from windowed
)

select * from final;
