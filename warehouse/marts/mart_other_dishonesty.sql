-- mart_other_dishonesty: other dishonesty records, disclosed under the same windows as penalties of their class.
create or replace table mart_other_dishonesty as
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
        o.version_seq,   -- the record version it rests on (the status file joins history by it)
        o.subject_key,
        o.subject_name,
        o.subject_category,
        case when o.subject_category <> '自然人' then o.uscc end as uscc,
        mask_id(o.subject_category, o.id_no) as id_no_masked,
        o.source_unit,
        o.event_no,
        o.category,
        o.description,
        o.amount,
        o.event_date,
        o.severity,
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
