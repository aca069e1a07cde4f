-- mart_penalties: every current penalty with its public columns and why it is hidden on as_of (null = public).
create or replace table mart_penalties as
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
        p.version_seq,   -- the record version it rests on (the status file joins history by it)
        p.subject_key,
        p.subject_name,
        p.subject_category,
        case when p.subject_category <> '自然人' then p.uscc end as uscc,
        mask_id(p.subject_category, p.id_no) as id_no_masked,
        p.source_unit,
        p.decision_no,
        p.violation_type,
        p.violation_facts,
        p.legal_basis,
        p.penalty_types,
        p.penalty_content,
        p.fine_amount,
        p.confiscated_amount,
        p.decision_date,
        p.window_until as disclosure_until,
        p.authority,
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
