-- discipline_targets: who each implementing department must apply which measure to on as_of, and on what basis.
-- A measure applies from the entry's start until its end, removal or repair (list_memberships.state).
create or replace table discipline_targets as
with active_entries as (
    select * from list_memberships where state = 'active'
),

measure_lists as (
    select code as measure_code, name as measure_name, kind, implementing_dept, unnest(list_types) as list_type
    from measures
),

final as (
    select
        m.implementing_dept,
        m.measure_code,
        m.measure_name,
        m.kind,
        e.subject_key,
        e.subject_name,
        case when e.subject_category <> '自然人' then e.uscc end as uscc,
        case when e.subject_category = '自然人' then e.id_no end as id_no,
        e.list_type,
        e.decision_no as basis_decision_no,
        e.record_id as basis_record_id,
        e.valid_from,
        e.effective_valid_to as valid_to
    from active_entries as e
    join measure_lists as m using (list_type)
)

select * from final;   -- unsorted: exported files are sets, and readers (measures_for) sort what they show
