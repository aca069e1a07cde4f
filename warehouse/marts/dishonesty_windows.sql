-- dishonesty_windows: class, regime and disclosure window of every current penalty and other dishonesty record.
--
-- The rule itself is the table macro disclosure_window(records): it adds the window columns to every row of a
-- table or view holding rule_date, severity, types (penalty types), field (violation type / category) and
-- own_until (the record's own disclosure end, if any), and keeps all its other columns. mart_penalties and
-- mart_other_dishonesty apply it to the wide current records directly, so they never join this table back to
-- them by record_id (a join of two tables of every penalty that cannot stay inside the memory limit at 60M).
create or replace temp macro disclosure_window(records) as table
with classed as (
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
        -- A lambda over the keyword list, not a correlated `exists` on long_minimum_fields: DuckDB plans that as a
        -- delim join, which materialises every wide input row once more (mart_penalties at 10M: 7.1 s -> 2.8 s).
        coalesce(
            list_bool_or(list_transform((select list(keyword) from long_minimum_fields), lambda k: contains(field, k))),
            false
        ) as is_long_minimum_field
    from query_table(records)
),

windowed as (
    select
        c.*,
        r.regime,
        r.is_disclosable and not c.is_warning_only as rule_disclosable,
        case when r.regime = '2023_05' and c.is_long_minimum_field then 12 else r.min_months end as min_months,
        r.max_months
    from classed as c
    left join disclosure_regimes as r
        on c.rule_date between r.from_date and r.to_date and r.class = c.class
)

select
    * exclude (rule_disclosable, is_long_minimum_field, min_months, max_months),
    rule_disclosable as is_disclosable,
    (rule_date + to_months(min_months))::date as repairable_from,
    -- last day in public view: the rule's maximum, shortened (never lengthened) by the record's own date
    least(
        (rule_date + to_months(max_months) - interval 1 day)::date,
        coalesce(own_until, date '2099-12-31')
    ) as window_until
from windowed;

create or replace temp view penalty_rule_input as
select
    *, decision_date as rule_date, code_list(penalty_types) as types, violation_type as field,
    disclosure_until as own_until
from admin_penalty;

create or replace temp view other_rule_input as
select *, event_date as rule_date, []::varchar[] as types, category as field, null::date as own_until
from other_dishonesty;

create or replace table dishonesty_windows as
select
    record_id, 'admin_penalty' as record_type, subject_key, decision_no, decision_date, class, regime,
    is_disclosable, is_warning_only, status, repairable_from, window_until as disclosure_until
from disclosure_window('penalty_rule_input')
union all
select
    record_id, 'other_dishonesty', subject_key, event_no, event_date, class, regime,
    is_disclosable, is_warning_only, '正常', repairable_from, window_until
from disclosure_window('other_rule_input');
