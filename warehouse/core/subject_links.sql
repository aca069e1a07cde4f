-- subject_links: legacy identifiers that point at a USCC. Organisation code = USCC positions 9..17; an
-- organisation code or business registration number links to the USCC of any record that carried both.
-- Reads subject_rows_in (every row on a full build, only the new rows on an incremental merge) and adds
-- the aliases not linked yet; a link, once made, stays.
create or replace temp table new_subject_links as
with identified as (
    select * from subject_rows_in
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

select * from final anti join subject_links using (alias_key);

insert into subject_links select alias_key, subject_key from new_subject_links;
