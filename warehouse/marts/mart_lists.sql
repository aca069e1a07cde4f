-- mart_lists: red and black list entries with their state on as_of (public while active).
create or replace table mart_lists as
with memberships as (
    select * from list_memberships
),

final as (
    select
        record_id,
        version_seq,   -- the record version it rests on (the status file joins history by it)
        colour,
        subject_key,
        subject_name,
        subject_category,
        case when subject_category <> '自然人' then uscc end as uscc,
        mask_id(subject_category, id_no) as id_no_masked,
        authority as source_unit,
        list_type,
        list_name,
        decision_no,
        reason,
        decision_date,
        valid_from,
        effective_valid_to as valid_to,
        authority,
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
