-- stg_repair: validated 信用修复 rows, typed. Amounts are 万元 with 4 decimals.
with source as (
    select * from validated_rows
),

final as (
    select
        {{ lineage_columns }},
        {{ subject_columns }},
        repair_no,
        target_type,
        target_decision_no,
        repair_type,
        credit_date(application_date) as application_date,
        credit_date(decision_date) as decision_date,
        authority,
        norm_code(authority_uscc) as authority_uscc
    from source
)

select * from final
