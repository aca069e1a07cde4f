-- stg_debt_payment: validated 清偿记录 rows, typed. Amounts are 万元 with 4 decimals.
with source as (
    select * from validated_rows
),

final as (
    select
        {{ lineage_columns }},
        payment_no,
        ledger_no,
        credit_date(payment_date) as payment_date,
        try_cast(amount as decimal(18, 4)) as amount
    from source
)

select * from final
