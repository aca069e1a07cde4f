"""Identifier and date checks against python-stdnum (the oracle) and the worked examples of domain.md §1."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from pipelines.validate.identifiers import (
    USCC_ALPHABET,
    make_resident_id,
    make_uscc,
    normalize_code,
    org_code_check_char,
    parse_credit_date,
    resident_id_check_char,
    resident_id_is_valid,
    upgrade_resident_id_15_to_18,
    uscc_check_char,
    uscc_is_valid,
    uscc_org_code_is_valid,
)

DIGITS = "0123456789"
uscc_bodies = st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17)
digit_bodies = st.text(alphabet=DIGITS, min_size=17, max_size=17)
# Mostly code-like text, with the noise that arrives in submissions: full-width forms, spaces, lower case.
noisy_text = st.text(
    alphabet=st.sampled_from(USCC_ALPHABET + "IOSVZ" + "abcxy" + " \u3000\t" + "０１９ＡＭＹｘ" + "-"),
    min_size=0,
    max_size=20,
)


def _normalised(value: str) -> str:
    return "".join(unicodedata.normalize("NFKC", value).split()).upper()


def _uscc_oracle(value: str) -> bool:
    """domain.md §1 with stdnum's check character (stdnum itself wants digits in positions 1–8)."""
    code = _normalised(value)
    return (
        len(code) == 18
        and all(c in USCC_ALPHABET for c in code)
        and uscc.calc_check_digit(code[:17]) == code[17]
    )


def _org_code_oracle(code: str) -> bool:
    """GB 11714 over USCC positions 9–17, straight from domain.md §1."""
    total = sum(int(c, 36) * w for c, w in zip(code[8:16], (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    return code[16] == {10: "X", 11: "0"}.get(11 - total % 11, str(11 - total % 11))


def _birth_date_ok(text: str, century: str = "") -> bool:
    try:
        born = dt.date(int(century + text[:-4]), int(text[-4:-2]), int(text[-2:]))
    except ValueError:
        return False
    return born.year >= 1900


def _resident_id_oracle(value: str) -> bool:
    """domain.md §1; stdnum.cn.ric only for the check character (its validate also rejects area codes)."""
    code = _normalised(value)
    if re.fullmatch(r"[0-9]{17}[0-9X]", code):
        return _birth_date_ok(code[6:14]) and ric.calc_check_digit(code) == code[17]
    if re.fullmatch(r"[0-9]{15}", code):
        return _birth_date_ok(code[6:12], "19")
    return False


# ---------------------------------------------------------------- worked examples (domain.md §1)


def test_worked_uscc_example():
    assert uscc_check_char("91350100M000100Y4") == "3"
    assert make_uscc("91350100M000100Y4") == "91350100M000100Y43"
    assert uscc_is_valid(pd.Series(["91350100M000100Y43"])).tolist() == [True]
    assert uscc_org_code_is_valid(pd.Series(["91350100M000100Y43"])).tolist() == [True]
    assert uscc.is_valid("91350100M000100Y43")


def test_worked_resident_id_upgrade():
    assert upgrade_resident_id_15_to_18("370725881105149") == "37072519881105149X"
    assert upgrade_resident_id_15_to_18(pd.Series(["370725881105149", "37072519881105149X", None])).tolist()[0] == (
        "37072519881105149X"
    )
    assert resident_id_is_valid(pd.Series(["370725881105149", "37072519881105149X"])).tolist() == [True, True]
    with pytest.raises(ValueError):
        upgrade_resident_id_15_to_18("370725881305149")  # month 13


def test_hand_examples():
    codes = pd.Series(
        [
            "91350100M000100Y43",  # valid
            " ９１３５０１００ｍ０００１００ｙ４３ ",  # full-width, lower case, spaces: valid after normalising
            "91350100M000100Y44",  # wrong check character
            "9135010OM000100Y43",  # letter O for zero: rejected, never corrected
            "91350100M000100Y4",  # 17 characters
            "91110000600037341L",  # stdnum's own example
            None,
        ],
        index=[10, 11, 12, 13, 14, 15, 16],
    )
    assert uscc_is_valid(codes).to_dict() == {10: True, 11: True, 12: False, 13: False, 14: False, 15: True, 16: False}
    assert normalize_code(codes).iloc[1] == "91350100M000100Y43"
    # outer check right, inner organisation-code check char (position 17) wrong: a warning, not a rejection
    inner_wrong = make_uscc("91350100M000100Y5")
    assert uscc_is_valid(pd.Series([inner_wrong])).tolist() == [True]
    assert uscc_org_code_is_valid(pd.Series([inner_wrong])).tolist() == [False]
    assert org_code_check_char("60003734") == "1"

    ids = pd.Series(
        [
            "11010519491231002X",  # GB 11643 example
            "11010519491231002x",  # lower-case x: normalised
            "110105194912310021",  # wrong check character
            make_resident_id("11010518991231002"),  # born 1899
            make_resident_id("11010519490230002"),  # 30 February
            make_resident_id("99999920000229123"),  # unknown area code, leap day: valid
            "370725881105149",  # legacy 15 digits
            "370725880229149",  # 1988-02-29, legacy
            "370725890229149",  # 1989-02-29 does not exist
            "37072519881105149",  # 17 digits
        ]
    )
    assert resident_id_is_valid(ids).tolist() == [True, True, False, False, False, True, True, True, False, False]


# ---------------------------------------------------------------- properties, stdnum as oracle


@settings(deadline=None)
@given(uscc_bodies)
def test_uscc_check_char_matches_stdnum(body):
    assert uscc_check_char(body) == uscc.calc_check_digit(body)
    assert uscc_is_valid(pd.Series([make_uscc(body)])).tolist() == [True]


@settings(deadline=None)
@given(st.text(alphabet=DIGITS, min_size=8, max_size=8), st.text(alphabet=USCC_ALPHABET, min_size=10, max_size=10))
def test_uscc_agrees_with_stdnum_where_stdnum_applies(head, tail):
    # stdnum wants digits in positions 1–8; GB 32100 also allows letters there (A, N, Y authorities)
    code = head + tail
    assert uscc_is_valid(pd.Series([code])).tolist() == [uscc.is_valid(code)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), noisy_text, uscc_bodies.map(make_uscc), uscc_bodies.map(lambda b: b + "0"))))
def test_uscc_vectorised_equals_scalar_oracle(values):
    got = uscc_is_valid(pd.Series(values, dtype=object)).tolist()
    assert got == [v is not None and _uscc_oracle(v) for v in values]


@settings(deadline=None)
@given(st.lists(st.one_of(uscc_bodies.map(make_uscc), uscc_bodies.map(lambda b: b + "0"), noisy_text)))
def test_org_code_check(values):
    got = uscc_org_code_is_valid(pd.Series(values, dtype=object)).tolist()
    expected = []
    for v in values:
        code = _normalised(v)
        shaped = len(code) == 18 and all(c in USCC_ALPHABET for c in code)
        expected.append(shaped and _org_code_oracle(code))
    assert got == expected


@settings(deadline=None)
@given(digit_bodies)
def test_resident_id_check_char_matches_stdnum(body):
    number = make_resident_id(body)
    assert resident_id_check_char(body) == ric.calc_check_digit(number)
    assert resident_id_is_valid(pd.Series([number])).tolist() == [_birth_date_ok(body[6:14])]


@settings(deadline=None)
@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)), st.text(DIGITS, min_size=9, max_size=9))
def test_resident_id_with_real_birth_date_is_valid(born, rest):
    number = make_resident_id(rest[:6] + born.strftime("%Y%m%d") + rest[6:])
    assert resident_id_is_valid(pd.Series([number])).tolist() == [True]
    ric.get_birth_date(number)  # stdnum agrees the date is real


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            digit_bodies.map(make_resident_id),
            digit_bodies.map(lambda b: b + "X"),
            st.text(DIGITS, min_size=15, max_size=15),
            st.text(DIGITS + "Xx ", min_size=14, max_size=19),
        )
    )
)
def test_resident_id_vectorised_equals_scalar_oracle(values):
    got = resident_id_is_valid(pd.Series(values, dtype=object)).tolist()
    assert got == [v is not None and _resident_id_oracle(v) for v in values]


@settings(deadline=None)
@given(st.lists(st.text(DIGITS, min_size=15, max_size=15)))
def test_upgrade_15_to_18(values):
    upgraded = upgrade_resident_id_15_to_18(pd.Series(values, dtype=object)).tolist()
    for old, new in zip(values, upgraded, strict=True):
        if _resident_id_oracle(old):
            assert new == old[:6] + "19" + old[6:] + ric.calc_check_digit(old[:6] + "19" + old[6:] + "0")
            assert _resident_id_oracle(new)
        else:
            assert pd.isna(new)


# ---------------------------------------------------------------- credit dates

FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y%m%d")


@settings(deadline=None)
@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)), st.sampled_from(FORMATS))
def test_credit_date_formats(day, fmt):
    parsed = parse_credit_date(pd.Series([day.strftime(fmt)]))
    assert parsed.iloc[0] == pd.Timestamp(day)


DATE_PATTERNS = [f"([0-9]{{4}}){a}([0-9]{{2}}){b}([0-9]{{2}}){c}" for a, b, c in (("-", "-", ""), ("/", "/", ""),
                                                                                  ("年", "月", "日"), ("", "", ""))]


def _credit_date_oracle(value: str) -> dt.date | None:
    for pattern in DATE_PATTERNS:
        if m := re.fullmatch(pattern, value):
            try:
                day = dt.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                return None
            return day if 1900 <= day.year <= 2099 else None
    return None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=DIGITS + "-/年月日 ", max_size=12),
                          st.dates().map(lambda d: d.strftime("%Y-%m-%d")))))
def test_credit_date_vectorised_equals_scalar_oracle(values):
    parsed = parse_credit_date(pd.Series(values, dtype=object))
    expected = [None if v is None else _credit_date_oracle(v) for v in values]
    assert [None if pd.isna(p) else p.date() for p in parsed] == expected


def test_credit_date_hand_examples():
    values = ["2024-02-29", "2023-02-29", "2024/01/05", "2024年01月05日", "20240105", "2024-01/05",
              "1899-12-31", "2099-12-31", "2100-01-01", None, "２０２４0105", "2024-1-5", "2024年1月5日"]
    parsed = parse_credit_date(pd.Series(values, index=range(100, 113), dtype=object))
    assert list(parsed.index) == list(range(100, 113))
    assert [None if pd.isna(p) else p.strftime("%Y-%m-%d") for p in parsed] == [
        "2024-02-29", None, "2024-01-05", "2024-01-05", "2024-01-05", None,
        None, "2099-12-31", None, None, None, None, None,
    ]
