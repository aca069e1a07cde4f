-- Macros shared by every layer: identifier checks (domain.md §1) and the submission date formats.
-- Generated once from the algorithms in domain.md; pipelines/validate/identifiers.py is the Python twin,
-- and tests/validate check both against python-stdnum.

-- Identifiers are compared after removing spaces and mapping full-width letters and digits to ASCII.
create or replace macro norm_code_slow(v) as
    nullif(upper(translate(regexp_replace(v, '[\s　]', '', 'g'), '０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ', '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz')), '');
create or replace macro norm_code(v) as
    case when regexp_full_match(v, '[0-9A-Z]+') then v else norm_code_slow(v) end;

-- USCC (GB 32100-2015): 31-symbol alphabet, check character over positions 1..17, weights 3^(i-1) mod 31.
create or replace macro uscc_check_char(c) as
    substr('0123456789ABCDEFGHJKLMNPQRTUWXY', ((31 - list_sum(list_transform(list_zip(string_split(c[1:17], ''), [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]),
        lambda p: (instr('0123456789ABCDEFGHJKLMNPQRTUWXY', p[1]) - 1) * p[2]))::bigint % 31) % 31)::bigint + 1, 1);
create or replace macro uscc_valid(v) as
    coalesce(regexp_full_match(norm_code(v), '[0-9A-HJ-NP-RTUW-Y]{18}')
             and uscc_check_char(norm_code(v)) = norm_code(v)[18], false);

-- The organisation code inside a USCC (positions 9..17, GB 11714): letters count A=10..Z=35.
create or replace macro org_code_check_ok(c) as
    11 - (list_sum(list_transform(list_zip(string_split(c[9:16], ''), [3, 7, 9, 10, 5, 8, 4, 2]),
        lambda p: (instr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', p[1]) - 1) * p[2])) % 11)
    = case c[17] when 'X' then 10 when '0' then 11 else try_cast(c[17] as int) end;
create or replace macro uscc_org_code_valid(v) as org_code_check_ok(norm_code(v));

-- Dates: YYYY-MM-DD, YYYY/MM/DD, YYYY年MM月DD日 or YYYYMMDD, years 1900..2099.
create or replace macro credit_date(v) as (
    case
        when regexp_full_match(v, '(19|20)\d{2}-\d{2}-\d{2}') then try_strptime(v, '%Y-%m-%d')
        when regexp_full_match(v, '(19|20)\d{2}/\d{2}/\d{2}') then try_strptime(v, '%Y/%m/%d')
        when regexp_full_match(v, '(19|20)\d{2}年\d{2}月\d{2}日') then try_strptime(v, '%Y年%m月%d日')
        when regexp_full_match(v, '(19|20)\d{6}') then try_strptime(v, '%Y%m%d')
    end)::date;

-- Resident identity number (GB 11643-1999); the legacy 15-digit form is upgraded by inserting 19.
create or replace macro rid_check_char(c) as
    substr('10X98765432', (list_sum(list_transform(list_zip(string_split(c[1:17], ''),
        [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]), lambda p: try_cast(p[1] as int) * p[2]))::bigint % 11) + 1, 1);
create or replace macro rid_with_check(body) as body || rid_check_char(body);
create or replace macro rid18_normalized(n) as (
    case
        when regexp_full_match(n, '\d{17}[0-9X]') then n
        when regexp_full_match(n, '\d{15}') then rid_with_check(n[1:6] || '19' || n[7:15])
    end);
create or replace macro rid18(v) as rid18_normalized(norm_code(v));
create or replace macro rid_valid_18(r) as
    coalesce(r is not null
             and try_strptime(r[7:14], '%Y%m%d') is not null
             and r[7:10]::int >= 1900
             and rid_check_char(r) = r[18], false);
create or replace macro rid_valid(v) as rid_valid_18(rid18(v));

-- Amounts: plain decimals (万元 unless the header says otherwise).
create or replace macro is_decimal_text(v) as regexp_full_match(trim(v), '-?\d+(\.\d+)?');

-- A multi-valued code list ("罚款；警告" / "罚款、警告" / "罚款;警告") as a clean list.
create or replace macro code_list(v) as
    list_filter(list_transform(regexp_split_to_array(v, '[;；、]'), lambda x: trim(x)), lambda x: x <> '');

-- Subject names compare equal across full-width/half-width letters, digits, brackets and spaces.
create or replace macro norm_name(v) as
    regexp_replace(translate(v, '（）［］【】０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ',
                             '()[][]0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'), '[\s　]', '', 'g');

-- Natural persons: public form keeps the first 6 and last 4 characters (110102********0078).
create or replace macro mask_id(category, v) as
    case
        when category <> '自然人' or v is null then null
        when len(v) = 18 then v[1:6] || '********' || v[15:18]
        else repeat('*', greatest(len(v) - 4, 0)) || v[-4:]
    end;

-- A natural person under 18 on the given date (birth date from an 18-character identity number).
create or replace macro is_minor(category, id18, on_date) as
    coalesce(category = '自然人' and on_date < (try_strptime(id18[7:14], '%Y%m%d') + interval 18 year)::date,
             false);

-- The same checks on an already normalised column: explicit sums, several times faster than list lambdas.
-- The validator normalises each identifier column once and calls these on the plain column.
create or replace macro uscc_valid_n(c) as
    coalesce(regexp_full_match(c, '[0-9A-HJ-NP-RTUW-Y]{18}')
             and substr('0123456789ABCDEFGHJKLMNPQRTUWXY', ((31 - (((instr('0123456789ABCDEFGHJKLMNPQRTUWXY', c[1]) - 1) * 1 + (instr('0123456789ABCDEFGHJKLMNPQRTUWXY', c[2]) - 1) * 3 + (instr('0123456789ABCDEFGHJKLMNPQRTUWXY', c[3]) - 1) * 9 + (instr('0123456789ABCDEFGHJKLMNPQRTUWXY', c[4]) - 1) * 27 + (instr('0123456789ABCDEFGHJKLMNPQRTUWXY', c[5]) - 1) * 19 + (instr('0123456789ABCDEFGHJKLMNPQRTUWXY', c[6]) - 1) * 26 + (instr('0123456789ABCDEFGHJKLMNPQRTUWXY', c[7]) - 1) * 16 + (instr('0123456789ABCDEFGHJKLMNPQRTUWXY', c[8]) - 1) * 17 + (instr('0123456789ABCDEFGHJKLMNPQRTUWXY', c[9]) - 1) * 20 + (instr('0123456789ABCDEFGHJKLMNPQRTUWXY', c[10]) - 1) * 29 + (instr('0123456789ABCDEFGHJKLMNPQRTUWXY', c[11]) - 1) * 25 + (instr('0123456789ABCDEFGHJKLMNPQRTUWXY', c[12]) - 1) * 13 + (instr('0123456789ABCDEFGHJKLMNPQRTUWXY', c[13]) - 1) * 8 + (instr('0123456789ABCDEFGHJKLMNPQRTUWXY', c[14]) - 1) * 24 + (instr('0123456789ABCDEFGHJKLMNPQRTUWXY', c[15]) - 1) * 10 + (instr('0123456789ABCDEFGHJKLMNPQRTUWXY', c[16]) - 1) * 30 + (instr('0123456789ABCDEFGHJKLMNPQRTUWXY', c[17]) - 1) * 28) % 31)) % 31)::bigint + 1, 1) = c[18], false);
create or replace macro uscc_org_code_valid_n(c) as
    11 - (((instr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', c[9]) - 1) * 3 + (instr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', c[10]) - 1) * 7 + (instr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', c[11]) - 1) * 9 + (instr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', c[12]) - 1) * 10 + (instr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', c[13]) - 1) * 5 + (instr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', c[14]) - 1) * 8 + (instr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', c[15]) - 1) * 4 + (instr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', c[16]) - 1) * 2) % 11) = case c[17] when 'X' then 10 when '0' then 11 else try_cast(c[17] as int) end;
create or replace macro rid_valid_n(c) as
    case
        when regexp_full_match(c, '\d{17}[0-9X]')
            then coalesce(try_strptime(c[7:14], '%Y%m%d') is not null and c[7:10]::int >= 1900
                          and substr('10X98765432', ((try_cast(c[1] as int) * 7 + try_cast(c[2] as int) * 9 + try_cast(c[3] as int) * 10 + try_cast(c[4] as int) * 5 + try_cast(c[5] as int) * 8 + try_cast(c[6] as int) * 4 + try_cast(c[7] as int) * 2 + try_cast(c[8] as int) * 1 + try_cast(c[9] as int) * 6 + try_cast(c[10] as int) * 3 + try_cast(c[11] as int) * 7 + try_cast(c[12] as int) * 9 + try_cast(c[13] as int) * 10 + try_cast(c[14] as int) * 5 + try_cast(c[15] as int) * 8 + try_cast(c[16] as int) * 4 + try_cast(c[17] as int) * 2) % 11)::bigint + 1, 1) = c[18], false)
        else rid_valid(c)
    end;
