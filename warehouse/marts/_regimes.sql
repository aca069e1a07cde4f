-- Disclosure regimes for penalties and other dishonesty records (domain.md §3), as data.
-- A record's regime is chosen by its decision (or event) date; months are counted from that date.
create or replace table disclosure_regimes as
select * from (values
    ('pre_2023_05',  date '1900-01-01', date '2023-04-30', '轻微', true,  3, 12),
    ('pre_2023_05',  date '1900-01-01', date '2023-04-30', '一般', true,  3, 12),
    ('pre_2023_05',  date '1900-01-01', date '2023-04-30', '严重', true,  6, 36),
    ('2023_05',      date '2023-05-01', date '2026-03-31', '轻微', true,  3, 36),
    ('2023_05',      date '2023-05-01', date '2026-03-31', '一般', true,  3, 36),
    ('2023_05',      date '2023-05-01', date '2026-03-31', '严重', true,  3, 36),
    ('2026_04',      date '2026-04-01', date '2099-12-31', '轻微', false, null, null),
    ('2026_04',      date '2026-04-01', date '2099-12-31', '一般', true,  3, 12),
    ('2026_04',      date '2026-04-01', date '2099-12-31', '严重', true,  12, 36)
) as t(regime, from_date, to_date, class, is_disclosable, min_months, max_months);

-- 2023-05 regime: special equipment, work safety and fire safety need a year before repair.
create or replace table long_minimum_fields as
select * from (values ('特种设备'), ('安全生产'), ('消防')) as t(keyword);

-- Penalty types that make a penalty serious when the record gives no 失信严重程度.
create or replace table serious_penalty_types as
select * from (values ('吊销许可证件'), ('责令关闭'), ('限制从业'), ('限制开展生产经营活动'), ('责令停产停业'))
    as t(penalty_type);
