-- stg_commitment: validated 信用承诺 rows, typed. Amounts are 万元 with 4 decimals.
with source as (
    select * from validated_rows
),

final as (
    select
        {{ lineage_columns }},
        {{ subject_columns }},
        commitment_no,
        commitment_type,
        matter,
        content,
        liability,
        credit_date(commit_date) as commit_date,
        credit_date(valid_to) as valid_to,
        fulfilment,
        breach_content,
        accepting_unit,
        norm_code(accepting_unit_uscc) as accepting_unit_uscc,
        disclosure
    from source
)

select * from final
