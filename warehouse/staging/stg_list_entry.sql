-- stg_list_entry: validated 名单认定 rows, typed. Amounts are 万元 with 4 decimals.
with source as (
    select * from validated_rows
),

final as (
    select
        {{ lineage_columns }},
        {{ subject_columns }},
        list_type,
        decision_no,
        reason,
        credit_date(decision_date) as decision_date,
        credit_date(valid_from) as valid_from,
        credit_date(valid_to) as valid_to,
        authority,
        norm_code(authority_uscc) as authority_uscc,
        remarks
    from source
)

select * from final
