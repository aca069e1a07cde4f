-- mart_penalties: every current penalty with its public columns and why it is hidden on as_of (null = public).
-- The rule table holds what the rules decide per record (StatusFile in pipelines/publish/contract.py); the
-- evaluator puts the temp view mart_penalties over it: these columns joined to the record's own by version_seq.
create or replace table penalties_status as
with penalties as (
    -- every current penalty with its window columns (dishonesty_windows.sql), in one streaming pass
    select * from disclosure_window('penalty_rule_input')
),

repaired as (
    select * from applied_repairs
),

final as (
    select
        p.record_id,
        p.version_seq,   -- the record version it rests on
        p.subject_key,
        case when p.subject_category <> '自然人' then p.uscc end as uscc,
        mask_id(p.subject_category, p.id_no) as id_no_masked,
        p.window_until as disclosure_until,
        p.class as severity,
        p.regime,
        case
            when p.status = '撤销' then 'withdrawn'
            when r.repaired_on is not null then 'repaired'
            when is_minor(p.subject_category, p.id_no, p.decision_date) then 'minor'
            when not coalesce(p.is_disclosable, false) then 'not_disclosable'
            when p.decision_date > getvariable('as_of') then 'not_yet'
            when p.window_until < getvariable('as_of') then 'expired'
        end as hidden_reason
    from penalties as p
    left join repaired as r on r.target_record_id = p.record_id
)

-- Unsorted: publish sorts only the public rows by record_id (the status files need no order).
select * from final;
