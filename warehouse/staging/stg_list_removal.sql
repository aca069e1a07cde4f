-- stg_list_removal: validated 名单移出 rows, typed. Amounts are 万元 with 4 decimals.
with source as (
    select * from validated_rows
),

final as (
    select
        {{ lineage_columns }},
        {{ subject_columns }},
        list_type,
        entry_decision_no,
        credit_date(removal_date) as removal_date,
        removal_reason,
        authority
    from source
)

select * from final
