-- mart_lists: red and black list entries with their state on as_of (public while active).
-- The rule table holds what the rules decide per record (StatusFile in pipelines/publish/contract.py); the
-- evaluator puts the temp view mart_lists over it: these columns joined to the record's own by version_seq.
create or replace table lists_status as
with memberships as (
    select * from list_memberships
),

final as (
    select
        record_id,
        version_seq,   -- the record version it rests on
        colour,
        subject_key,
        case when subject_category <> '自然人' then uscc end as uscc,
        mask_id(subject_category, id_no) as id_no_masked,
        authority as source_unit,
        list_name,
        effective_valid_to as valid_to,
        state,
        case
            when is_minor(subject_category, id_no, decision_date) then 'minor'
            when state = 'not_started' then 'not_yet'
            when state <> 'active' then state
        end as hidden_reason
    from memberships
)

-- Unsorted: publish sorts only the public rows by record_id (the status files need no order).
select * from final;
