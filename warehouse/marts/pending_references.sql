-- pending_references: removals and repairs held in quarantine on as_of, with the reason a clerk can act on.
-- They stay in the warehouse history and take effect on the first run where their target exists.
create or replace table pending_references as
with removals as (
    select * from list_removals_checked where problem is not null
),

repairs as (
    select * from repair_outcomes where outcome in ('unknown_target', 'before_minimum')
),

final as (
    select
        _department as department, 'list_removal' as record_type, _file_name as file_name,
        _row_number as row_number, [problem] as rules,
        case problem
            when 'refers_to.unknown' then '移出的名单（' || list_type || '，文书号' || entry_decision_no
                || '）尚无对应的认定记录，待认定记录报送后自动处理'
            when 'removal.not_allowed' then '该名单类型（' || list_type || '）不允许提前移出'
            else '提前移出须在列入满最短期限后（' || strftime(early_removal_from, '%Y-%m-%d') || '起）办理'
        end as reasons,
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
