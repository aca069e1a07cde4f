-- stg_debt_ledger: validated 清欠台账 rows, typed. Amounts are 万元 with 4 decimals.
with source as (
    select * from validated_rows
),

final as (
    select
        {{ lineage_columns }},
        ledger_no,
        debtor_name,
        norm_code(debtor_uscc) as debtor_uscc,
        debtor_type,
        creditor_name,
        norm_code(creditor_uscc) as creditor_uscc,
        creditor_size,
        contract_no,
        try_cast(amount as decimal(18, 4)) as amount,
        credit_date(delivery_date) as delivery_date,
        credit_date(acceptance_date) as acceptance_date,
        try_cast(agreed_term_days as integer) as agreed_term_days,
        coalesce(disputed = '是', false) as is_disputed,
        coalesce(in_litigation = '是', false) as is_in_litigation,
        credit_date(registered_date) as registered_date
    from source
)

select * from final
