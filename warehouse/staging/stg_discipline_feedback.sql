-- stg_discipline_feedback: validated 奖惩措施实施反馈 rows, typed. Amounts are 万元 with 4 decimals.
with source as (
    select * from validated_rows
),

final as (
    select
        {{ lineage_columns }},
        {{ subject_columns }},
        feedback_no,
        measure_code,
        basis_decision_no,
        implementing_unit,
        norm_code(implementing_unit_uscc) as implementing_unit_uscc,
        credit_date(action_date) as action_date,
        result
    from source
)

select * from final
