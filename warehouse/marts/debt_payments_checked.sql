-- Debt clearance (清欠, domain.md §5): the payments. Amounts are 万元 DECIMAL with 4 decimals, never floats.

-- debt_payments_checked: every current payment in order per ledger item (payment date, then number), with the
-- problem that holds it back. A payment that would take the accepted repayments beyond the amount owed is an
-- error for that payment only: later payments are checked against what was accepted before them.
-- Independent of as_of (the monthly report evaluates it for past month ends too).
-- Set-based: while the running total of an item's payments stays within the amount owed every payment is
-- accepted, so only the payments from an item's first excess on (a handful) are checked one by one.
create or replace temp table debt_payments_ordered as
select
    p.*,
    l.amount as owed,
    row_number() over w as seq,
    sum(p.amount) over w as paid_through
from debt_payment as p
left join debt_ledger as l using (ledger_no)
window w as (partition by p.ledger_no order by p.payment_date, p.payment_no
             rows between unbounded preceding and current row);

create or replace temp table debt_payments_beyond as
-- the payments from each item's first excess on, with what was accepted before that payment
with first_excess as (
    select ledger_no, min(seq) as seq
    from debt_payments_ordered
    where paid_through > owed
    group by all
)

select
    p.ledger_no, p.seq, p.amount, p.owed,
    p.seq = f.seq as is_first_excess,
    (p.paid_through - p.amount)::decimal(38, 4) as accepted_first
from debt_payments_ordered as p
join first_excess as f on p.ledger_no = f.ledger_no and p.seq >= f.seq;

create or replace table debt_payments_checked as
with recursive accepted (ledger_no, seq, accepted_before, is_accepted, accepted_through) as (
    select ledger_no, seq, accepted_first, false, accepted_first   -- the first excess is refused
    from debt_payments_beyond
    where is_first_excess
    union all
    select
        p.ledger_no,
        p.seq,
        a.accepted_through,
        a.accepted_through + p.amount <= p.owed,
        (a.accepted_through + case when a.accepted_through + p.amount <= p.owed then p.amount else 0 end)
            ::decimal(38, 4)
    from accepted as a
    join debt_payments_beyond as p on p.ledger_no = a.ledger_no and p.seq = a.seq + 1
),

final as (
    -- before an item's first excess, everything before a payment was accepted; an unknown item accepts nothing
    select
        p.* exclude (seq, paid_through),
        p.seq as payment_seq,
        (case when p.owed is null then 0 else coalesce(a.accepted_before, p.paid_through - p.amount) end + p.amount)
            ::decimal(18, 4) as repaid_through,
        case
            when p.owed is null then 'refers_to.unknown'
            when not a.is_accepted then 'debt_payment.exceeds_owed'
        end as problem
    from debt_payments_ordered as p
    left join accepted as a using (ledger_no, seq)
)

select * from final;

-- The intermediates are dropped once used: the rule tables the publish reads share DuckDB's memory limit with them.
drop table temp.main.debt_payments_beyond;
drop table temp.main.debt_payments_ordered;
