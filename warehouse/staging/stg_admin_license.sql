-- stg_admin_license: validated 行政许可 rows, typed. Amounts are 万元 with 4 decimals.
with source as (
    select * from validated_rows
),

final as (
    select
        {{ lineage_columns }},
        {{ subject_columns }},
        decision_doc_name,
        decision_no,
        license_category,
        certificate_name,
        license_no,
        license_content,
        credit_date(decision_date) as decision_date,
        credit_date(valid_from) as valid_from,
        credit_date(valid_to) as valid_to,
        authority,
        norm_code(authority_uscc) as authority_uscc,
        status,
        source_unit,
        norm_code(source_unit_uscc) as source_unit_uscc,
        remarks
    from source
)

select * from final
