-- stg_admin_penalty: validated 行政处罚 rows, typed. Amounts are 万元 with 4 decimals.
with source as (
    select * from validated_rows
),

final as (
    select
        {{ lineage_columns }},
        {{ subject_columns }},
        decision_no,
        violation_type,
        violation_facts,
        legal_basis,
        array_to_string(code_list(penalty_types), '；') as penalty_types,
        penalty_content,
        try_cast(fine_amount as decimal(18, 4)) as fine_amount,
        try_cast(confiscated_amount as decimal(18, 4)) as confiscated_amount,
        license_revoked,
        credit_date(decision_date) as decision_date,
        credit_date(valid_until) as valid_until,
        credit_date(disclosure_until) as disclosure_until,
        authority,
        norm_code(authority_uscc) as authority_uscc,
        source_unit,
        norm_code(source_unit_uscc) as source_unit_uscc,
        severity,
        coalesce(status, '正常') as status,
        remarks
    from source
)

select * from final
