"""Identifier and date checks for credit records: the reference implementations behind the custom GX expectations.

Vectorised over pandas Series (pyarrow string kernels + numpy); a missing value is never valid here,
callers decide whether null passes. Scalar helpers make valid codes for fixtures and the demo generator.

- USCC (统一社会信用代码, GB 32100-2015): 18 chars from a 31-symbol alphabet, check char at position 18.
- Embedded organisation code (GB 11714): positions 9–17 of a USCC, its own check char at position 17.
- Resident identity number (GB 11643-1999): 18 chars with a mod-11 check, or the legacy 15-digit form.
- Credit dates: YYYY-MM-DD, YYYY/MM/DD, YYYY年MM月DD日 or YYYYMMDD, years 1900..2099.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import overload

import numpy as np
import pandas as pd

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)  # 1 3 9 27 19 … 28
ORG_CODE_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)  # USCC positions 9..16
RESIDENT_ID_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)  # 7 9 10 5 … 2
RESIDENT_ID_CHECK = "10X98765432"  # Σ mod 11 → check char

# Every character Python's str.isspace() accepts, as literal characters: pandas' pyarrow strings use RE2,
# whose \s is ASCII-only, while `str.strip()` and `re` use Unicode whitespace.
WHITESPACE_CLASS = "[" + "".join(c for c in map(chr, range(0x3001)) if c.isspace()) + "]"
_USCC_SHAPE = f"[{USCC_ALPHABET}]{{18}}"
_RESIDENT_ID_18_SHAPE = "[0-9]{17}[0-9X]"
_RESIDENT_ID_15_SHAPE = "[0-9]{15}"
_CREDIT_DATE_SHAPE = "[0-9]{4}(?:-[0-9]{2}-[0-9]{2}|/[0-9]{2}/[0-9]{2}|年[0-9]{2}月[0-9]{2}日|[0-9]{4})"
_CREDIT_DATE_SEPARATORS = "[-/年月日]"
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)

# byte → value lookup tables (-1 = not in the alphabet)
_USCC_VALUE = np.full(256, -1, dtype=np.int64)
_USCC_VALUE[np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)] = np.arange(31)
# GB 11714 counts letters over the full Latin alphabet: A=10 … Z=35.
_ORG_VALUE = np.full(256, -1, dtype=np.int64)
_ORG_VALUE[np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)] = np.arange(36)
_ORG_CHECK = np.frombuffer(b"0123456789X0", dtype=np.uint8)  # index c = 11 - Σ mod 11 ∈ 1..11
_DIGIT_VALUE = np.full(256, -1, dtype=np.int64)
_DIGIT_VALUE[np.frombuffer(b"0123456789", dtype=np.uint8)] = np.arange(10)
_RESIDENT_CHECK = np.frombuffer(RESIDENT_ID_CHECK.encode(), dtype=np.uint8)


def _as_str_series(values: pd.Series | Iterable[object]) -> pd.Series:
    """The values as a pandas `str` Series (nulls stay missing), keeping the caller's index."""
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    if isinstance(series.dtype, pd.StringDtype):
        return series
    return series.astype("str")


def _char_matrix(strings: pd.Series, width: int) -> np.ndarray:
    """ASCII strings that all have `width` chars → (n, width) uint8 matrix."""
    if strings.empty:
        return np.empty((0, width), dtype=np.uint8)
    return np.frombuffer("".join(strings.tolist()).encode("ascii"), dtype=np.uint8).reshape(-1, width)


def _is_real_date(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Element-wise: do these integers name a real Gregorian calendar date?"""
    month_ok = (month >= 1) & (month <= 12)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    days = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + (leap & (month == 2))
    return month_ok & (day >= 1) & (day <= days)


def _yyyymmdd(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, 8) ASCII-digit matrix → year, month, day integer arrays."""
    digits = matrix.astype(np.int64) - ord("0")
    year = digits[:, 0] * 1000 + digits[:, 1] * 100 + digits[:, 2] * 10 + digits[:, 3]
    return year, digits[:, 4] * 10 + digits[:, 5], digits[:, 6] * 10 + digits[:, 7]


def _bool_series(index: pd.Index, positions: np.ndarray, flags: np.ndarray) -> pd.Series:
    out = np.zeros(len(index), dtype=bool)
    out[positions] = flags
    return pd.Series(out, index=index, dtype=bool)


def normalize_code(values: pd.Series | Iterable[object]) -> pd.Series:
    """Normalise identifiers: NFKC (full-width → half-width), all whitespace removed, upper-case."""
    series = _as_str_series(values)
    wide = ~series.str.isascii().fillna(True).astype(bool)  # NFKC changes nothing in ASCII: skip it there
    if wide.any():
        series = series.where(~wide, series[wide].str.normalize("NFKC"))
    return series.str.replace(WHITESPACE_CLASS + "+", "", regex=True).str.upper()


# ---------------------------------------------------------------- USCC


def uscc_check_char(body17: str) -> str:
    """The USCC check character (position 18) for a 17-character body."""
    if len(body17) != 17 or any(c not in USCC_ALPHABET for c in body17):
        raise ValueError(f"not a USCC body: {body17!r}")
    total = sum(USCC_ALPHABET.index(c) * int(w) for c, w in zip(body17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(code8: str) -> str:
    """The GB 11714 check character for the first 8 characters of an organisation code."""
    if len(code8) != 8 or not all(c.isascii() and c.isalnum() for c in code8.upper()):
        raise ValueError(f"not an organisation code body: {code8!r}")
    total = sum(int(c, 36) * int(w) for c, w in zip(code8.upper(), ORG_CODE_WEIGHTS, strict=True))
    return "0123456789X0"[11 - total % 11]


def make_uscc(body17: str) -> str:
    """A valid USCC: the body followed by its check character."""
    return body17 + uscc_check_char(body17)


def _uscc_shaped(codes: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Positions of normalised codes with 18 alphabet characters, and their character matrix."""
    shaped = codes.str.fullmatch(_USCC_SHAPE).fillna(False).to_numpy(dtype=bool)
    positions = np.flatnonzero(shaped)
    return positions, _char_matrix(codes.iloc[positions], 18)


def uscc_is_valid(values: pd.Series | Iterable[object]) -> pd.Series:
    """True where the normalised value is a USCC: 18 alphabet characters and a correct check character."""
    codes = normalize_code(values)
    positions, chars = _uscc_shaped(codes)
    body = _USCC_VALUE[chars[:, :17]]
    expected = (31 - (body @ USCC_WEIGHTS) % 31) % 31
    return _bool_series(codes.index, positions, _USCC_VALUE[chars[:, 17]] == expected)


def uscc_org_code_is_valid(values: pd.Series | Iterable[object]) -> pd.Series:
    """True where the value is USCC-shaped and its embedded organisation code (positions 9–17) checks out."""
    codes = normalize_code(values)
    positions, chars = _uscc_shaped(codes)
    total = _ORG_VALUE[chars[:, 8:16]] @ ORG_CODE_WEIGHTS
    return _bool_series(codes.index, positions, chars[:, 16] == _ORG_CHECK[11 - total % 11])


# ---------------------------------------------------------------- resident identity number


def resident_id_check_char(body17: str) -> str:
    """The GB 11643 check character for the first 17 digits of a resident identity number."""
    if len(body17) != 17 or not body17.isascii() or not body17.isdigit():
        raise ValueError(f"not a resident ID body: {body17!r}")
    total = sum(int(c) * int(w) for c, w in zip(body17, RESIDENT_ID_WEIGHTS, strict=True))
    return RESIDENT_ID_CHECK[total % 11]


def make_resident_id(body17: str) -> str:
    """A valid 18-character resident identity number: the body followed by its check character."""
    return body17 + resident_id_check_char(body17)


def resident_id_is_valid(values: pd.Series | Iterable[object]) -> pd.Series:
    """True where the normalised value is a resident ID: 18 chars (real birth date ≥ 1900, check char) or
    legacy 15 digits (real birth date 19YYMMDD). The area code is not checked (unknown codes are normal)."""
    codes = normalize_code(values)
    valid = np.zeros(len(codes), dtype=bool)

    long_pos = np.flatnonzero(codes.str.fullmatch(_RESIDENT_ID_18_SHAPE).fillna(False).to_numpy(dtype=bool))
    chars = _char_matrix(codes.iloc[long_pos], 18)
    year, month, day = _yyyymmdd(chars[:, 6:14])
    check = _RESIDENT_CHECK[(_DIGIT_VALUE[chars[:, :17]] @ RESIDENT_ID_WEIGHTS) % 11]
    valid[long_pos] = (year >= 1900) & _is_real_date(year, month, day) & (chars[:, 17] == check)

    short_pos = np.flatnonzero(codes.str.fullmatch(_RESIDENT_ID_15_SHAPE).fillna(False).to_numpy(dtype=bool))
    chars = _char_matrix(codes.iloc[short_pos], 15)
    year, month, day = _yyyymmdd(np.hstack([np.full((len(chars), 2), ord("0"), np.uint8), chars[:, 6:12]]))
    valid[short_pos] = _is_real_date(year + 1900, month, day)
    return pd.Series(valid, index=codes.index, dtype=bool)


@overload
def upgrade_resident_id_15_to_18(values: str) -> str: ...
@overload
def upgrade_resident_id_15_to_18(values: pd.Series) -> pd.Series: ...
def upgrade_resident_id_15_to_18(values: str | pd.Series) -> str | pd.Series:
    """Legacy 15-digit resident ID → 18 chars ('19' inserted after the area code, check char appended).

    A string raises ValueError unless it is a valid 15-digit ID; a Series gives null where it is not."""
    if isinstance(values, str):
        upgraded = upgrade_resident_id_15_to_18(pd.Series([values])).iloc[0]
        if pd.isna(upgraded):
            raise ValueError(f"not a valid 15-digit resident ID: {values!r}")
        return str(upgraded)
    codes = normalize_code(values)
    upgradable = (codes.str.len() == 15) & resident_id_is_valid(codes)
    body = codes[upgradable].str.slice(0, 6) + "19" + codes[upgradable].str.slice(6)
    chars = _char_matrix(body, 17)
    check = _RESIDENT_CHECK[(_DIGIT_VALUE[chars] @ RESIDENT_ID_WEIGHTS) % 11].view("S1").astype(str)
    result = pd.Series(None, index=codes.index, dtype="str")
    result[upgradable] = body + check
    return result


# ---------------------------------------------------------------- dates


def parse_credit_date(values: pd.Series | Iterable[object]) -> pd.Series:
    """Credit dates → datetime64[s]; NaT unless the value is exactly one of the accepted formats and a real
    date in 1900..2099. Matched exactly: surrounding whitespace or full-width digits make a value invalid."""
    series = _as_str_series(values)
    positions = np.flatnonzero(series.str.fullmatch(_CREDIT_DATE_SHAPE).fillna(False).to_numpy(dtype=bool))
    chars = _char_matrix(series.iloc[positions].str.replace(_CREDIT_DATE_SEPARATORS, "", regex=True), 8)
    year, month, day = _yyyymmdd(chars)
    ok = (year >= 1900) & (year <= 2099) & _is_real_date(year, month, day)
    positions, year, month, day = positions[ok], year[ok], month[ok], day[ok]
    months = (year - 1970) * 12 + (month - 1)
    days = months.astype("datetime64[M]").astype("datetime64[D]") + (day - 1).astype("timedelta64[D]")
    out = np.full(len(series), np.datetime64("NaT"), dtype="datetime64[s]")
    out[positions] = days.astype("datetime64[s]")
    return pd.Series(out, index=series.index)
