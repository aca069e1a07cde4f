-- subject_grades: A (best) … D per subject on as_of (domain.md §6), with the 双随机 sampling ratio.
create or replace table grade_scheme as
select * from (values
    ('A', 0.00, 0.05),
    ('B', 0.05, 0.20),
    ('C', 0.21, 0.60),
    ('D', 0.61, 1.00)
) as t(grade, inspection_ratio_min, inspection_ratio_max);

-- grade_facts: every fact that bears on a subject's grade on as_of, with the subject's identifiers (facts of a
-- key that is not a subject are not graded).
create or replace table grade_facts as
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
    select subject_key, 'negative', '未履行信用承诺（' || commitment_no || '）'
    from commitment where fulfilment in ('全部未履行', '部分履行') and commit_date <= getvariable('as_of')
    union all
    select debtor_uscc, 'negative', '政务失信：逾期未清偿账款（' || ledger_no || '）' from gov_dishonesty
    union all
    select subject_key, 'red', '红名单：' || list_name || '（' || decision_no || '）'
    from list_memberships where colour = 'red' and state = 'active'
),

final as (
    select s.subject_key, s.uscc, s.id_no, s.subject_name, f.fact, f.reason
    from facts as f
    join subjects as s using (subject_key)
)

select * from final;

-- subject_grades: every subject once. First the subjects without any fact (B, no reasons) ...
create or replace table subject_grades as
with final as (
    select s.subject_key, s.uscc, s.id_no, s.subject_name, 'B' as grade, []::varchar[] as reasons
    from subjects as s
    anti join grade_facts as f using (subject_key)
)

select f.*, g.inspection_ratio_min, g.inspection_ratio_max
from final as f
join grade_scheme as g using (grade);

-- ... then the subjects with facts, one slice of them at a time: evaluate.py runs this statement once per slice
-- (SLICED). The reason lists are grouped in the hash table, and those of every subject at once did not fit a small
-- memory limit (10M rows at 192MB: out of memory; sliced, each slice's lists fit and nothing is joined to them).
insert into subject_grades by name
with per_subject as (
    select
        subject_key,
        any_value(uscc) as uscc,
        any_value(id_no) as id_no,
        any_value(subject_name) as subject_name,
        case
            when bool_or(fact = 'black') then 'D'
            when bool_or(fact = 'serious') then 'C'
            when bool_or(fact = 'red') and not bool_or(fact in ('negative', 'serious', 'black')) then 'A'
            else 'B'
        end as grade,
        list_sort(list(reason) filter (reason is not null)) as reasons
    from grade_facts
    where hash(subject_key) % getvariable('slices') = getvariable('slice')
    group by subject_key
)

select p.*, g.inspection_ratio_min, g.inspection_ratio_max   -- unsorted: readers look subjects up by key
from per_subject as p
join grade_scheme as g using (grade);
