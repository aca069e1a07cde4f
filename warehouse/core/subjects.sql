-- subjects: the subject master, rebuilt from every record version the warehouse holds.
-- A subject is keyed by USCC (organisations) or identity number (natural persons); legacy identifiers
-- (organisation code = USCC positions 9..17, business registration number) link to the USCC where
-- any record carried both.
create or replace table subject_links as
with identified as (
    select * from all_subject_rows
),

uscc_aliases as (
    select distinct 'ORG:' || uscc[9:17] as alias_key, uscc as subject_key from identified
    where uscc is not null and len(uscc) = 18
    union
    select distinct 'ORG:' || org_code, uscc from identified where uscc is not null and org_code is not null
    union
    select distinct 'REG:' || business_reg_no, uscc from identified
    where uscc is not null and business_reg_no is not null
),

final as (
    select alias_key, min(subject_key) as subject_key from uscc_aliases group by alias_key
)

select * from final;

create or replace table subject_names as
with named as (
    select
        coalesce(l.subject_key, r.subject_key) as subject_key,
        r.subject_name,
        -- full-width letters, digits and brackets count as their half-width forms
        norm_name(r.subject_name) as name_normalized,
        r.learned_at
    from all_subject_rows as r
    left join subject_links as l on l.alias_key = r.subject_key
),

final as (
    select subject_key, name_normalized, arg_max(subject_name, learned_at) as subject_name,
           min(learned_at) as first_seen_at, max(learned_at) as last_seen_at
    from named group by subject_key, name_normalized
)

select * from final;

create or replace table subjects as
with rows as (
    select coalesce(l.subject_key, r.subject_key) as subject_key, r.*
    exclude (subject_key)
    from all_subject_rows as r
    left join subject_links as l on l.alias_key = r.subject_key
),

final as (
    select
        subject_key,
        arg_max(subject_name, learned_at) as subject_name,
        arg_max(subject_category, learned_at) as subject_category,
        max(uscc) as uscc,
        max(id_no) filter (subject_category = '自然人') as id_no,
        list_distinct(list(org_code) filter (org_code is not null)) as org_codes,
        list_distinct(list(business_reg_no) filter (business_reg_no is not null)) as business_reg_nos,
        list_distinct(list(subject_name)) as names_seen,
        min(learned_at) as first_seen_at
    from rows
    group by subject_key
)

select * from final;

-- subject_departments: which departments have submitted records about each subject (inspection populations).
create or replace table subject_departments as
select distinct coalesce(l.subject_key, r.subject_key) as subject_key, r.department
from all_subject_rows as r
left join subject_links as l on l.alias_key = r.subject_key;
