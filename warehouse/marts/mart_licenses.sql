-- mart_licenses: licences, disclosed while valid.
create or replace table mart_licenses as
with licenses as (
    select * from admin_license
),

final as (
    select
        record_id,
        version_seq,   -- the record version it rests on (the status file joins history by it)
        subject_key,
        subject_name,
        subject_category,
        case when subject_category <> '自然人' then uscc end as uscc,
        mask_id(subject_category, id_no) as id_no_masked,
        source_unit,
        decision_no,
        license_category,
        certificate_name,
        license_no,
        license_content,
        decision_date,
        valid_from,
        valid_to,
        authority,
        status,
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
