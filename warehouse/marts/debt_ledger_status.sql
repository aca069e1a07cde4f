-- Debt clearance (清欠, domain.md §5) on as_of, from debt_payments_checked (debt_payments_checked.sql). Amounts are
-- 万元 DECIMAL with 4 decimals, never floats.

-- debt_ledger_status: every ledger item registered by as_of: repaid and outstanding, status, due date,
-- overdue days and late interest (added below, from debt_late_interest_periods).
-- Due: the term starts at acceptance when an acceptance date is given, else at delivery. 机关/事业单位: 30 days
-- unless agreed, an agreed term at most 60; other debtors (SOEs, large enterprises): 60 days unless agreed.
-- Overdue days: as_of - due date while anything is outstanding. Disputed items are overdue like any other
-- (flagged); in-litigation items keep their overdue days but are excluded from the overdue count.
create or replace temp table debt_ledger_base as
with items as (
    select * from debt_ledger where registered_date <= getvariable('as_of')
),

accepted as (
    select ledger_no, payment_date, amount
    from debt_payments_checked
    where problem is null and payment_date <= getvariable('as_of')
),

repaid as (
    select ledger_no, sum(amount) as repaid_amount, max(payment_date) as last_payment_date
    from accepted
    group by all
),

dated as (
    select
        i.*,
        coalesce(r.repaid_amount, 0)::decimal(18, 4) as repaid_amount,
        (i.amount - coalesce(r.repaid_amount, 0))::decimal(18, 4) as outstanding_amount,
        r.last_payment_date,
        coalesce(i.acceptance_date, i.delivery_date) as term_start_date,
        case
            when i.debtor_type in ('机关', '事业单位') then least(coalesce(i.agreed_term_days, 30), 60)
            else coalesce(i.agreed_term_days, 60)
        end as term_days
    from items as i
    left join repaid as r using (ledger_no)
),

due as (
    select *, (term_start_date + to_days(term_days))::date as due_date from dated
),

final as (
    select
        record_id, ledger_no, debtor_name, debtor_uscc, debtor_type, creditor_name, creditor_uscc, creditor_size,
        contract_no,
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
        is_in_litigation,
        delivery_date, acceptance_date, agreed_term_days, term_start_date, term_days, registered_date,
        last_payment_date
    from due
)

select
    *,
    overdue_days > 0 and not is_in_litigation as in_overdue_count
from final;

-- debt_late_interest_periods: how the late interest on as_of is made up. No agreed rate is on the template, so
-- the statutory 0.05% per day applies. Every overdue day t (due_date < t <= as_of) accrues on what was still
-- outstanding before that day's payments: the item is cut into periods at its accepted payment dates, and each
-- period accrues on its own outstanding amount, so a payment reduces the interest from the day after it.
create or replace table debt_late_interest_periods as
with payment_days as (
    select ledger_no, payment_date, sum(amount) as paid
    from debt_payments_checked
    where problem is null and payment_date <= getvariable('as_of')
    group by all
),

breaks as (
    -- a period starts after each break: the due date (nothing repaid counted yet) and every payment date
    select ledger_no, null::date as break_date, 0::decimal(38, 4) as paid_on_break from debt_ledger_base
    union all
    select p.ledger_no, p.payment_date, p.paid
    from payment_days as p
    semi join debt_ledger_base as s using (ledger_no)
),

periods as (
    select
        ledger_no,
        break_date,
        sum(paid_on_break) over w as repaid_before_period,
        lead(break_date) over w as next_break_date
    from breaks
    window w as (partition by ledger_no order by break_date asc nulls first
                 rows between unbounded preceding and current row)
),

bounded as (
    select
        p.ledger_no,
        -- exclusive start and inclusive end of the accruing days
        greatest(coalesce(p.break_date, s.due_date), s.due_date) as after_date,
        least(coalesce(p.next_break_date, getvariable('as_of')), getvariable('as_of')) as through_date,
        (s.amount - p.repaid_before_period)::decimal(18, 4) as outstanding_amount
    from periods as p
    join debt_ledger_base as s using (ledger_no)
),

final as (
    select
        ledger_no,
        (after_date + 1)::date as accrues_from,
        through_date as accrues_through,
        (through_date - after_date)::integer as days,
        outstanding_amount,
        0.0005::decimal(5, 4) as daily_rate,
        -- exact: 4 decimals × days × 0.0005 has 8 decimals
        (outstanding_amount::decimal(30, 4) * (through_date - after_date)::decimal(10, 0) * 0.0005::decimal(5, 4))
            ::decimal(38, 8) as interest
    from bounded
    where through_date > after_date and outstanding_amount > 0
)

select * from final;

-- The item's late interest: the exact sum of its periods, rounded half-up to 4 decimals only at the end.
create or replace table debt_ledger_status as
select
    s.*,
    coalesce(round(i.interest, 4), 0)::decimal(18, 4) as late_interest_amount
from debt_ledger_base as s
left join (
    select ledger_no, sum(interest) as interest from debt_late_interest_periods group by all
) as i using (ledger_no);

drop table temp.main.debt_ledger_base;

-- gov_dishonesty (政务失信): undisputed items not in litigation, overdue more than 90 days on as_of. A record of
-- the debtor body from the 91st overdue day until the item is cleared (then it is no longer active).
create or replace table gov_dishonesty as
select
    debtor_uscc,
    debtor_name,
    debtor_type,
    ledger_no,
    contract_no,
    creditor_uscc,
    overdue_days,
    outstanding_amount,
    late_interest_amount,
    due_date,
    (due_date + 91)::date as dishonest_since
from debt_ledger_status
where overdue_days > 90 and not is_disputed and not is_in_litigation and outstanding_amount > 0
order by debtor_uscc, ledger_no;
