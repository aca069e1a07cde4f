-- mart_licenses: licences, disclosed while valid.
-- The rule table holds what the rules decide per record (StatusFile in pipelines/publish/contract.py); the
-- evaluator puts the temp view mart_licenses over it: these columns joined to the record's own by version_seq.
create or replace table licenses_status as
with licenses as (
    select * from admin_license
),

final as (
    select
        record_id,
        version_seq,   -- the record version it rests on
        subject_key,
        case when subject_category <> '自然人' then uscc end as uscc,
        mask_id(subject_category, id_no) as id_no_masked,
        case
            when status <> '有效' then 'withdrawn'
            when is_minor(subject_category, id_no, decision_date) then 'minor'
            when valid_from > getvariable('as_of') or decision_date > getvariable('as_of') then 'not_yet'
            when valid_to < getvariable('as_of') then 'expired'
        end as hidden_reason
    from licenses
)

-- Unsorted: publish sorts only the public rows by record_id (the status files need no order).
select * from final;
