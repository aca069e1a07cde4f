-- stg_other_dishonesty: validated 其他失信信息 rows, typed. Amounts are 万元 with 4 decimals.
with source as (
    select * from validated_rows
),

final as (
    select
        {{ lineage_columns }},
        {{ subject_columns }},
        event_no,
        category,
        description,
        try_cast(amount as decimal(18, 4)) as amount,
        credit_date(event_date) as event_date,
        severity,
        source_unit,
        norm_code(source_unit_uscc) as source_unit_uscc
    from source
)

select * from final
