-- mart_other_dishonesty: other dishonesty records, disclosed under the same windows as penalties of their class.
-- The rule table holds what the rules decide per record (StatusFile in pipelines/publish/contract.py); the
-- evaluator puts the temp view mart_other_dishonesty over it: these columns joined to the record's own by version_seq.
create or replace table other_dishonesty_status as
with records as (
    -- every current record with its window columns (dishonesty_windows.sql), in one streaming pass
    select * from disclosure_window('other_rule_input')
),

repaired as (
    select * from applied_repairs
),

final as (
    select
        o.record_id,
        o.version_seq,   -- the record version it rests on
        o.subject_key,
        case when o.subject_category <> '自然人' then o.uscc end as uscc,
        mask_id(o.subject_category, o.id_no) as id_no_masked,
        o.window_until as disclosure_until,
        case
            when r.repaired_on is not null then 'repaired'
            when is_minor(o.subject_category, o.id_no, o.event_date) then 'minor'
            when not coalesce(o.is_disclosable, false) then 'not_disclosable'
            when o.event_date > getvariable('as_of') then 'not_yet'
            when o.window_until < getvariable('as_of') then 'expired'
        end as hidden_reason
    from records as o
    left join repaired as r on r.target_record_id = o.record_id
)

-- Unsorted: publish sorts only the public rows by record_id (the status files need no order).
select * from final;
