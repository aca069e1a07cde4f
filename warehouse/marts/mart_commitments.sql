-- mart_commitments: credit commitments, public only when marked 可向社会公开.
create or replace table mart_commitments as
with commitments as (
    select * from commitment
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
        accepting_unit as source_unit,
        commitment_no,
        commitment_type,
        matter,
        content,
        commit_date,
        fulfilment,
        case
            when disclosure <> '可向社会公开' then 'not_disclosable'
            when is_minor(subject_category, id_no, commit_date) then 'minor'
            when commit_date > getvariable('as_of') then 'not_yet'
        end as hidden_reason
    from commitments
)

-- Unsorted: publish sorts only the public rows by record_id (the status files need no order).
select * from final;
