-- debt_ledger_status: every ledger item on as_of: repaid and outstanding (万元, 4 decimals), due date, overdue days.
-- Due: from acceptance when given, else delivery; 机关/事业单位 30 days unless agreed (at most 60),
-- other debtors (SOEs, large enterprises) 60 days unless agreed.
create or replace table debt_payments_checked as
with payments as (
    select p.*, l.amount as owed
    from debt_payment as p
    left join debt_ledger as l using (ledger_no)
),

running as (
    select
        *,
        sum(amount) over (partition by ledger_no order by payment_date, payment_no
                          rows between unbounded preceding and current row) as repaid_through
    from payments
),

final as (
    select
        *,
        case
            when owed is null then 'refers_to.unknown'
            when repaid_through > owed then 'debt_payment.exceeds_owed'
        end as problem
    from running
)

select * from final;

create or replace table debt_ledger_status as
with items as (
    select * from debt_ledger where registered_date <= getvariable('as_of')
),

repaid as (
    select ledger_no, sum(amount) as repaid_amount
    from debt_payments_checked
    where problem is null and payment_date <= getvariable('as_of')
    group by all
),

dated as (
    select
        i.*,
        coalesce(r.repaid_amount, 0)::decimal(18, 4) as repaid_amount,
        (i.amount - coalesce(r.repaid_amount, 0))::decimal(18, 4) as outstanding_amount,
        (coalesce(i.acceptance_date, i.delivery_date) + to_days(
            case
                when i.debtor_type in ('机关', '事业单位') then least(coalesce(i.agreed_term_days, 30), 60)
                else coalesce(i.agreed_term_days, 60)
            end))::date as due_date
    from items as i
    left join repaid as r using (ledger_no)
),

final as (
    select
        record_id, ledger_no, debtor_name, debtor_uscc, debtor_type, creditor_name, creditor_uscc, contract_no,
        amount, repaid_amount, outstanding_amount,
        case
            when repaid_amount = 0 then '未清偿'
            when outstanding_amount > 0 then '部分清偿'
            else '已清偿'
        end as status,
        due_date,
        case when outstanding_amount > 0 then greatest(getvariable('as_of') - due_date, 0) else 0 end
            as overdue_days,
        is_disputed,
        is_in_litigation
    from dated
)

select * from final order by ledger_no;

-- gov_dishonesty: undisputed items not in litigation, overdue more than 90 days on as_of (domain.md §5).
create or replace table gov_dishonesty as
select debtor_uscc, debtor_name, ledger_no, overdue_days, outstanding_amount, due_date
from debt_ledger_status
where overdue_days > 90 and not is_disputed and not is_in_litigation and outstanding_amount > 0
order by debtor_uscc, ledger_no;
