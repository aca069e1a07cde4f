-- mart_commitments: credit commitments, public only when marked 可向社会公开.
-- The rule table holds what the rules decide per record (StatusFile in pipelines/publish/contract.py); the
-- evaluator puts the temp view mart_commitments over it: these columns joined to the record's own by version_seq.
create or replace table commitments_status as
with commitments as (
    select * from commitment
),

final as (
    select
        record_id,
        version_seq,   -- the record version it rests on
        subject_key,
        case when subject_category <> '自然人' then uscc end as uscc,
        mask_id(subject_category, id_no) as id_no_masked,
        accepting_unit as source_unit,
        case
            when disclosure <> '可向社会公开' then 'not_disclosable'
            when is_minor(subject_category, id_no, commit_date) then 'minor'
            when commit_date > getvariable('as_of') then 'not_yet'
        end as hidden_reason
    from commitments
)

-- Unsorted: publish sorts only the public rows by record_id (the status files need no order).
select * from final;
