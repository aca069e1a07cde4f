-- pending_references: removals and repairs held in quarantine on as_of, with the reason a clerk can act on.
-- They stay in the warehouse history and take effect on the first run where their target exists.
create or replace table pending_references as
with removals as (
    select r.*
    from list_removal as r
    anti join list_entry as e
        on e.list_type = r.list_type and e.decision_no = r.entry_decision_no and e.subject_key = r.subject_key
),

repairs as (
    select * from repair_outcomes where outcome in ('unknown_target', 'before_minimum')
),

final as (
    select
        _department as department, 'list_removal' as record_type, _file_name as file_name,
        _row_number as row_number, ['refers_to.unknown'] as rules,
        '移出的名单（' || list_type || '，文书号' || entry_decision_no || '）尚无对应的认定记录，待认定记录报送后自动处理'
            as reasons,
        _landed_at as first_seen_at
    from removals
    union all
    select
        _department, 'repair', _file_name, _row_number,
        [case outcome when 'unknown_target' then 'refers_to.unknown' else 'repair.before_minimum' end],
        case outcome
            when 'unknown_target' then '被修复的信息（' || target_type || '，文书号' || target_decision_no
                || '）尚无对应记录，待该记录报送后自动处理'
            else '修复决定日期' || strftime(repair_date, '%Y-%m-%d') || '早于最短公示期满日'
                || strftime(repairable_from, '%Y-%m-%d') || '，不予修复'
        end,
        _landed_at
    from repairs
    union all
    select
        _department, 'debt_payment', _file_name, _row_number, [problem],
        case problem
            when 'refers_to.unknown' then '台账编号' || ledger_no || '尚无对应的清欠台账，待台账报送后自动处理'
            else '清偿金额累计超过欠款金额（欠款' || owed::varchar || '万元，累计清偿' || repaid_through::varchar || '万元）'
        end,
        _landed_at
    from debt_payments_checked
    where problem is not null
)

select * from final;
