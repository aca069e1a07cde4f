-- subject_grades: A (best) … D per subject on as_of (domain.md §6), with the 双随机 sampling ratio.
create or replace table grade_scheme as
select * from (values
    ('A', 0.00, 0.05),
    ('B', 0.05, 0.20),
    ('C', 0.21, 0.60),
    ('D', 0.61, 1.00)
) as t(grade, inspection_ratio_min, inspection_ratio_max);

-- The public penalties and other dishonesty records the marts did not re-decide: on a scoped pass the marts hold
-- only the records re-decided, and the other public records of the subjects in scope are carried from the previous
-- version (pipelines/rules/scope.py, carry_dishonesty); on a full pass there are none.
create temp table if not exists carried_dishonesty (subject_key varchar, doc_no varchar, severity varchar);

-- Every fact that bears on a grade, one row each: a table, which DuckDB spills to disk, not yet lists.
create or replace table subject_grade_facts as
with facts as (
    select subject_key, 'black' as fact, '黑名单：' || list_name || '（' || decision_no || '）' as reason
    from list_memberships where colour = 'black' and state = 'active'
    union all
    select subject_key, 'serious', '严重失信记录公示中（' || decision_no || '）'
    from mart_penalties where hidden_reason is null and severity = '严重'
    union all
    select subject_key, 'serious', '严重失信记录公示中（' || event_no || '）'
    from mart_other_dishonesty where hidden_reason is null and severity = '严重'
    union all
    select subject_key, 'negative', '失信记录公示中（' || decision_no || '）'
    from mart_penalties where hidden_reason is null and severity <> '严重'
    union all
    select subject_key, 'negative', '失信记录公示中（' || event_no || '）'
    from mart_other_dishonesty where hidden_reason is null and severity <> '严重'
    union all
    select subject_key, 'serious', '严重失信记录公示中（' || doc_no || '）' from carried_dishonesty where severity = '严重'
    union all
    select subject_key, 'negative', '失信记录公示中（' || doc_no || '）' from carried_dishonesty where severity <> '严重'
    union all
    select subject_key, 'negative', '未履行信用承诺（' || commitment_no || '）'
    from commitment where fulfilment in ('全部未履行', '部分履行') and commit_date <= getvariable('as_of')
    union all
    select debtor_uscc, 'negative', '政务失信：逾期未清偿账款（' || ledger_no || '）' from gov_dishonesty
    union all
    select subject_key, 'red', '红名单：' || list_name || '（' || decision_no || '）'
    from list_memberships where colour = 'red' and state = 'active'
    union all
    select subject_key, null, null from subjects   -- every subject is graded: B without facts
)

select * from facts;

-- The reasons of a subject are one list, and the lists of a grouped aggregate or of a hash join's side stay in memory
-- whole: at 60M the 17.4M reasons of 240k subjects ran DuckDB out of its 1GB limit joining them to the subjects. So
-- the subjects are graded in parts by the hash of their key, each holding the reasons of at most part_rows facts at
-- once (a statement that reads the variable part runs once per part: pipelines/rules/evaluate.py).
set variable parts = (select greatest(1, ceil(count(*) / getvariable('part_rows')))::integer from subject_grade_facts);

create or replace table subject_grades (
    subject_key varchar,
    uscc varchar,
    id_no varchar,
    subject_name varchar,
    grade varchar,
    reasons varchar[],
    inspection_ratio_min decimal(3, 2),
    inspection_ratio_max decimal(3, 2)
);

insert into subject_grades
with per_subject as (
    -- The reasons sorted inside each list: an ordered aggregate keeps every group's input in memory at once.
    select
        subject_key,
        case
            when bool_or(fact = 'black') then 'D'
            when bool_or(fact = 'serious') then 'C'
            when bool_or(fact = 'red') and not bool_or(fact in ('negative', 'serious', 'black')) then 'A'
            else 'B'
        end as grade,
        coalesce(list_sort(list(reason) filter (reason is not null)), []) as reasons
    from subject_grade_facts
    where hash(subject_key) % getvariable('parts') = getvariable('part')
    group by subject_key
)

select s.subject_key, s.uscc, s.id_no, s.subject_name, f.grade, f.reasons, g.inspection_ratio_min, g.inspection_ratio_max
from per_subject as f
join subjects as s using (subject_key)
join grade_scheme as g using (grade);   -- unsorted: readers look subjects up by key

drop table subject_grade_facts;
