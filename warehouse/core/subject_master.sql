-- The subject master for the subjects in affected_subjects (all of them on a full build), from every
-- version in subject_rows: one subject per USCC (organisations) or identity number (natural persons),
-- with every name ever seen. Results land in temp tables; the merge swaps them into the core tables.
-- subject_rows holds each distinct set of subject columns once (with first/last learned_at), not one row
-- per record version; grouped again here, as links resolve aliases and incremental merges add rows
-- (10M versions: 41 s while every aggregate below ran over every version).
create or replace temp table resolved_subject_rows as
select
    coalesce(l.subject_key, r.subject_key) as subject_key,
    r.subject_name, r.subject_category, r.uscc, r.id_no, r.org_code, r.business_reg_no, r.department,
    min(r.first_learned_at) as first_learned_at,
    max(r.last_learned_at) as last_learned_at
from subject_rows as r
left join subject_links as l on l.alias_key = r.subject_key
where getvariable('subjects_full_build')
   or coalesce(l.subject_key, r.subject_key) in (select subject_key from affected_subjects)
group by all;

create or replace temp table next_subject_names as
with named as (
    select
        subject_key,
        subject_name,
        -- full-width letters, digits and brackets count as their half-width forms
        norm_name(subject_name) as name_normalized,
        first_learned_at,
        last_learned_at
    from resolved_subject_rows
),

final as (
    select subject_key, name_normalized, arg_max(subject_name, last_learned_at) as subject_name,
           min(first_learned_at) as first_seen_at, max(last_learned_at) as last_seen_at
    from named group by subject_key, name_normalized
)

select * from final;

create or replace temp table next_subjects as
with rows as (
    select * from resolved_subject_rows
),

final as (
    select
        subject_key,
        arg_max(subject_name, last_learned_at) as subject_name,
        arg_max(subject_category, last_learned_at) as subject_category,
        max(uscc) as uscc,
        max(id_no) filter (subject_category = '自然人') as id_no,
        list_sort(list_distinct(list(org_code) filter (org_code is not null))) as org_codes,
        list_sort(list_distinct(list(business_reg_no) filter (business_reg_no is not null))) as business_reg_nos,
        list_sort(list_distinct(list(subject_name))) as names_seen,   -- lists sorted: a rebuild gives the same ones
        min(first_learned_at) as first_seen_at
    from rows
    group by subject_key
)

select * from final;

-- which departments have submitted records about each subject (inspection populations)
create or replace temp table next_subject_departments as
select distinct subject_key, department from resolved_subject_rows;
