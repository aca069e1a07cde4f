-- Subject columns shared by every staging model of a record about a subject (expanded for {{ subject_columns }}).
subject_name,
        subject_category,
        norm_code(uscc) as uscc,
        norm_code(business_reg_no) as business_reg_no,
        norm_code(org_code) as org_code,
        legal_rep,
        id_type,
        case when id_type = '身份证' then rid18(id_no) else norm_code(id_no) end as id_no,
        case
            when subject_category = '自然人'
                then 'P:' || coalesce(case when id_type = '身份证' then rid18(id_no) end, norm_code(id_no))
            else coalesce(norm_code(uscc), 'ORG:' || norm_code(org_code), 'REG:' || norm_code(business_reg_no),
                          'NAME:' || subject_name)
        end as subject_key
