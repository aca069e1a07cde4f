"""The demo city: every record type and department, readable files, valid identifiers, and faults exactly as listed."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import re
import unicodedata
from collections import defaultdict
from itertools import dropwhile
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook
from stdnum.cn import ric, uscc

from pipelines.catalog import load_catalog
from pipelines.demo.generate import (
    EXTRA_COLUMNS,
    FILE_ENCODING,
    FILE_MISSING_COLUMNS,
    PAYMENT_EXCEEDS_OWED,
    REFERS_TO_UNKNOWN,
    REMOVAL_BEFORE_MINIMUM,
    REMOVAL_NOT_ALLOWED,
    REPAIR_BEFORE_MINIMUM,
    generate,
)
from pipelines.validate.suites import load_suite

AS_OF = dt.date(2025, 11, 25)
ROWS = 3_000
CROSS_RECORD_RULES = {REFERS_TO_UNKNOWN, REPAIR_BEFORE_MINIMUM, PAYMENT_EXCEEDS_OWED, REMOVAL_BEFORE_MINIMUM,
                      REMOVAL_NOT_ALLOWED}
DATE_SHAPE = re.compile(r"(\d{4})(?:-(\d{2})-(\d{2})|/(\d{2})/(\d{2})|年(\d{2})月(\d{2})日|(\d{2})(\d{2}))")


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    home = tmp_path_factory.mktemp("demo") / "home"
    summary = generate(home, ROWS, AS_OF, seed=7)
    files = list(csv.DictReader(open(home / "demo" / "files.csv", encoding="utf-8")))
    return home, summary, files


def _manifest(home: Path, name: str) -> list[dict]:
    return list(csv.DictReader(open(home / "demo" / name, encoding="utf-8")))


def _decode(data: bytes) -> tuple[str, str]:
    """UTF-8 (BOM or not) first, then GB18030, as the contract says; never a guess."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", data.decode("utf-8-sig")
    for encoding in ("utf-8", "gb18030"):
        try:
            return encoding, data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnicodeDecodeError("demo", data[:1], 0, 1, "neither UTF-8 nor GB18030")


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    if path.suffix == ".xlsx":
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
        rows = list(dropwhile(lambda r: not any(r), [[("" if c is None else str(c)) for c in r] for r in rows]))
        return rows[0], rows[1:]
    _, text = _decode(path.read_bytes())
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def records(city):
    """Every data row of every well-formed file, keyed by canonical names (record type → rows)."""
    home, _, files = city
    catalog = load_catalog()
    out: dict[str, list[dict]] = defaultdict(list)
    for f in files:
        if f["role"] in ("rejected", "duplicate"):
            continue
        headers, rows = _read(home / "inbox" / f["department"] / f["file_name"])
        names = [catalog.canonical_header(f["record_type"], h) for h in headers]
        for i, row in enumerate(rows, start=1):
            rec = {n: (v.strip() or None) for n, v in zip(names, row, strict=True) if n}
            rec |= {"_dept": f["department"], "_file": f["file_name"], "_row": i}
            out[f["record_type"]].append(rec)
    return out


@pytest.fixture(scope="module")
def broken(city):
    home, _, _ = city
    return {(r["department"], r["file_name"], int(r["row_number"])): r["rule"]
            for r in _manifest(home, "expected_quarantine.csv")}


# ---------------------------------------------------------------- coverage


def test_every_record_type_and_department_is_present(city):
    _, summary, files = city
    catalog = load_catalog()
    normal = [f for f in files if f["role"] == "normal"]
    assert {f["record_type"] for f in normal} == set(catalog.record_types)
    assert all(summary.rows_per_record_type[rt] > 0 for rt in catalog.record_types)
    assert {f["department"] for f in normal} == set(catalog.departments)
    assert 0.9 * ROWS <= sum(summary.rows_per_record_type.values()) <= 1.1 * ROWS
    assert {f["format"] for f in normal} == {"csv", "xlsx"}
    assert {f["encoding"] for f in normal if f["format"] == "csv"} == {"utf-8", "utf-8-sig", "gb18030"}


def test_files_are_named_for_their_record_type(city):
    _, _, files = city
    catalog = load_catalog()
    for f in files:
        if f["file_name"] != "penalties_misc.csv":
            assert catalog.record_type_for_file(f["file_name"]) == f["record_type"]
            assert Path(f["file_name"]).suffix in (".csv", ".xlsx")


# ---------------------------------------------------------------- readability and headers


def test_every_file_decodes_and_its_headers_map_to_canonical_names(city):
    home, _, files = city
    catalog = load_catalog()
    rejected = {(r["department"], r["file_name"]): r["reason_kind"]
                for r in _manifest(home, "expected_rejected_files.csv")}
    forms = set()
    for f in files:
        path = home / "inbox" / f["department"] / f["file_name"]
        assert path.exists(), path
        kind = rejected.get((f["department"], f["file_name"]))
        if kind == FILE_ENCODING:
            with pytest.raises(UnicodeDecodeError):
                _decode(path.read_bytes())
            continue
        if f["format"] == "csv" and not path.read_bytes().isascii():  # ASCII is both UTF-8 and GB18030
            assert _decode(path.read_bytes())[0] == f["encoding"]
        headers, rows = _read(path)
        assert len(rows) == int(f["rows"])
        assert all(len(r) == len(headers) for r in rows)
        rt = catalog.record_types[f["record_type"]]
        canonical = [catalog.canonical_header(rt.code, h) for h in headers]
        unknown = [h for h, c in zip(headers, canonical, strict=True) if c is None]
        assert set(unknown) <= set(EXTRA_COLUMNS), (f["file_name"], unknown)
        assert len(set(canonical) - {None}) == len([c for c in canonical if c])
        missing = {x.name for x in rt.fields if x.required} - set(canonical)
        assert bool(missing) == (kind == FILE_MISSING_COLUMNS), (f["file_name"], missing)
        forms |= {"zh" if h.strip() == rt.field(c).zh else "code" if h.strip() == rt.field(c).code else
                  "name" if h.strip() == c else "other" for h, c in zip(headers, canonical, strict=True) if c}
        forms |= {"spaces" for h in headers if h != h.strip()} | {"ascii" for h in headers if "(" in h}
    assert {"zh", "code", "name", "spaces", "ascii"} <= forms


def test_rejected_files_cover_each_kind(city):
    home, _, _ = city
    kinds = {r["reason_kind"] for r in _manifest(home, "expected_rejected_files.csv")}
    assert kinds == {"file.unknown_record_type", "file.unknown_department", FILE_ENCODING, FILE_MISSING_COLUMNS}


# ---------------------------------------------------------------- identifiers of good rows


def _norm(code: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", code)).upper()


def test_good_rows_carry_valid_usccs_and_resident_ids(records, broken):
    catalog = load_catalog()
    checked_uscc = checked_id = 0
    for rt, rows in records.items():
        uscc_fields = [f.name for f in catalog.record_types[rt].fields if f.type == "uscc"]
        for r in rows:
            if (r["_dept"], r["_file"], r["_row"]) in broken:
                continue
            for name in uscc_fields:
                if r.get(name):
                    assert uscc.is_valid(_norm(r[name])), (rt, r["_file"], r["_row"], name, r[name])
                    checked_uscc += 1
            if r.get("id_type") == "身份证":
                number = r["id_no"]
                assert number[-1] == ric.calc_check_digit(number), (r["_file"], r["_row"], number)
                dt.datetime.strptime(number[6:14], "%Y%m%d")
                assert 1950 <= int(number[6:10]) <= 2005
                checked_id += 1
    assert checked_uscc > ROWS and checked_id > 50


# ---------------------------------------------------------------- the fault manifest


def _is_null(v: str | None) -> bool:
    return v is None or not str(v).strip()


def _credit_date(v: str) -> dt.date | None:
    m = DATE_SHAPE.fullmatch(v)
    if not m:
        return None
    y, *rest = m.groups()
    mo, d = [x for x in rest if x is not None]
    try:
        return dt.date(int(y), int(mo), int(d))
    except ValueError:
        return None


def _resident_id_ok(v: str) -> bool:
    v = _norm(v)
    if not re.fullmatch(r"\d{17}[\dX]", v):
        return False
    try:
        dt.datetime.strptime(v[6:14], "%Y%m%d")
    except ValueError:
        return False
    return v[17] == ric.calc_check_digit(v)


def _when(r: dict, kw: dict) -> bool:
    value = r.get(kw["when_column"])
    if "when_in" in kw:
        return value in kw["when_in"]
    return kw["when_contains"] in (value or "")


def _breaks(exp: dict, r: dict) -> bool:
    """An independent reading of one suite expectation: does row r fail it?"""
    t, kw = exp["type"], exp["kwargs"]
    v = r.get(kw.get("column"))
    if t == "expect_column_values_to_not_be_null":
        return _is_null(v)
    if t == "expect_multicolumn_values_to_have_one_present_when":
        return _when(r, kw) and all(_is_null(r.get(c)) for c in kw["column_list"])
    if t == "expect_column_values_to_not_be_null_when":
        return _when(r, kw) and _is_null(v)
    if t == "expect_column_pair_credit_dates_to_be_in_order":
        a, b = r.get(kw["column_A"]), r.get(kw["column_B"])
        a, b = (_credit_date(a) if a else None), (_credit_date(b) if b else None)
        return bool(a and b and b < a)
    if _is_null(v):
        return False
    if t == "expect_column_values_to_be_in_set":
        return v not in kw["value_set"]
    if t == "expect_column_values_to_be_delimited_subset_of_set":
        parts = re.split("|".join(map(re.escape, kw["separators"])), v)
        return any(p.strip() not in kw["value_set"] for p in parts)
    if t == "expect_column_values_to_be_valid_uscc":
        return not uscc.is_valid(_norm(v))
    if t == "expect_column_values_to_be_valid_resident_id":
        return r.get(kw["id_type_column"]) == kw["id_type_value"] and not _resident_id_ok(v)
    if t == "expect_column_values_to_be_credit_date":
        return _credit_date(v) is None
    if t == "expect_column_values_to_be_credit_date_not_after":
        d = _credit_date(v)
        return bool(d and d > AS_OF)
    if t == "expect_column_values_to_be_decimal_amount":
        if not re.fullmatch(r"-?\d+(\.\d+)?", v):
            return True
        low = kw.get("min_value")
        return low is not None and (float(v) <= low if kw.get("strict_min") else float(v) < low)
    if t == "expect_column_values_to_match_regex":
        return not re.fullmatch(kw["regex"], v)
    if t == "expect_column_values_to_be_at_most_when":
        return _when(r, kw) and v.isdigit() and int(v) > kw["max_value"]
    raise AssertionError(f"no reading for {t}")


def test_each_listed_row_breaks_exactly_its_rule_and_no_other_row_breaks_any(records, broken):
    found: dict[tuple, list[str]] = {}
    for rt, rows in records.items():
        errors = [e for e in load_suite(rt)["expectations"] if e["meta"]["severity"] == "error"]
        for r in rows:
            rules = [e["meta"]["rule"] for e in errors if _breaks(e, r)]
            if rules:
                found[(r["_dept"], r["_file"], r["_row"])] = rules
    row_level = {k: v for k, v in broken.items() if v not in CROSS_RECORD_RULES}
    assert found == {k: [v] for k, v in row_level.items()}


def test_manifest_points_at_real_rows_and_covers_the_named_faults(city, records, broken):
    _, summary, files = city
    sizes = {(f["department"], f["file_name"]): int(f["rows"]) for f in files if f["role"] == "normal"}
    rules_of = {rt: {e["meta"]["rule"] for e in load_suite(rt)["expectations"] if e["meta"]["severity"] == "error"}
                for rt in load_catalog().record_types}
    types = {(f["department"], f["file_name"]): f["record_type"] for f in files}
    for (dept, name, row), rule in broken.items():
        assert 1 <= row <= sizes[(dept, name)]
        assert rule in rules_of[types[(dept, name)]] | CROSS_RECORD_RULES
    assert summary.broken_rows == len(broken)
    listed = set(broken.values())
    assert {"uscc.uscc_check", "decision_no.required", "penalty_types.code_table", "decision_date.date_format",
            "decision_date.not_future", "fine_amount.amount", "fine_amount.required_when_fine",
            "valid_until.not_before_decision", "id_no.resident_id_check", "subject.legal_person_identifier",
            "subject.person_id_no", "list_type.code_table", "agreed_term_days.public_body_max_60",
            "breach_content.required_when_breached", *CROSS_RECORD_RULES} <= listed
    by_key = {(r["_dept"], r["_file"], r["_row"]): r for rows in records.values() for r in rows}
    faulty_usccs = [by_key[k]["uscc"] for k, v in broken.items() if v == "uscc.uscc_check"]
    assert any("O" in u for u in faulty_usccs)
    assert any(len(u) == 18 and "O" not in u for u in faulty_usccs)
    faulty_ids = [by_key[k]["id_no"] for k, v in broken.items() if v == "id_no.resident_id_check"]
    assert any(_credit_date(i[6:14]) is None and i[17] == ric.calc_check_digit(i) for i in faulty_ids)
    unknown = [by_key[k] for k, v in broken.items() if v == "list_type.code_table"]
    assert any(r["list_type"] not in load_catalog().list_types for r in unknown)
    assert 2 <= sum(1 for k, v in broken.items() if v == REFERS_TO_UNKNOWN and "repair" in k[1]) <= 3
    assert 2 <= sum(1 for k, v in broken.items() if v == REFERS_TO_UNKNOWN and "list_removal" in k[1]) <= 3
    assert any(v == REFERS_TO_UNKNOWN and k[1].startswith("debt_payment") for k, v in broken.items())


# ---------------------------------------------------------------- references between records


def _good(rows: list[dict], broken: dict) -> list[dict]:
    return [r for r in rows if (r["_dept"], r["_file"], r["_row"]) not in broken]


def _subject(r: dict) -> str:
    return r.get("uscc") or r.get("id_no") or r.get("business_reg_no") or r.get("org_code")


def test_references_point_at_generated_records(records, broken):
    catalog = load_catalog()
    entries = {(r["list_type"], r["decision_no"], _subject(r)): r for r in _good(records["list_entry"], broken)}
    penalties = {(r["decision_no"], _subject(r)): r for r in _good(records["admin_penalty"], broken)}
    others = {(r["event_no"], _subject(r)): r for r in _good(records["other_dishonesty"], broken)}
    for r in _good(records["list_removal"], broken):
        entry = entries[(r["list_type"], r["entry_decision_no"], _subject(r))]
        assert r["_dept"] == catalog.list_types[r["list_type"]].issuer_dept
        assert _credit_date(r["removal_date"]) > _credit_date(entry["decision_date"])
    for r in _good(records["repair"], broken):
        target = {"admin_penalty": penalties, "list_entry": {(k[1], k[2]): v for k, v in entries.items()},
                  "other_dishonesty": others}[r["target_type"]][(r["target_decision_no"], _subject(r))]
        if r["target_type"] == "list_entry":  # early removal minimum of the list type, from valid_from
            months = catalog.list_types[target["list_type"]].early_removal_min_months
            start, days = target["valid_from"], 30 * months
        else:
            start, days = target.get("decision_date") or target.get("event_date"), 90
        assert _credit_date(r["decision_date"]) >= _credit_date(start) + dt.timedelta(days=days)
    by_decision = {k[1]: k[0] for k in entries}
    for r in _good(records["discipline_feedback"], broken):
        measure = catalog.measures[r["measure_code"]]
        assert measure.implementing_dept == r["_dept"]
        assert by_decision[r["basis_decision_no"]] in measure.list_types


def test_payments_never_exceed_the_amount_owed_except_the_listed_one(records, broken):
    owed = {r["ledger_no"]: round(float(r["amount"]) * 10000) for r in _good(records["debt_ledger"], broken)}
    paid: dict[str, int] = defaultdict(int)
    over = []
    kept = [r for r in records["debt_payment"]
            if broken.get((r["_dept"], r["_file"], r["_row"])) in (None, PAYMENT_EXCEEDS_OWED)]
    for r in sorted(kept, key=lambda r: (r["ledger_no"], r["payment_no"])):
        key = (r["_dept"], r["_file"], r["_row"])
        assert r["ledger_no"] in owed
        paid[r["ledger_no"]] += round(float(r["amount"]) * 10000)
        if paid[r["ledger_no"]] > owed[r["ledger_no"]]:
            over.append(key)
    assert over == [k for k, v in broken.items() if v == PAYMENT_EXCEEDS_OWED]
    for r in records["debt_ledger"]:
        assert len(r["amount"].split(".")[-1]) <= 4 if r.get("amount") and "." in r["amount"] else True


# ---------------------------------------------------------------- duplicates, corrections, determinism


def test_duplicate_file_is_byte_identical_and_correction_sorts_after_its_original(city, records, broken):
    home, _, files = city
    dup = next(f for f in files if f["role"] == "duplicate")
    original = next(f for f in files if f["role"] == "normal" and f["department"] == dup["department"]
                    and dup["file_name"].startswith(Path(f["file_name"]).stem + "_"))
    folder = home / "inbox" / dup["department"]
    assert (folder / dup["file_name"]).read_bytes() == (folder / original["file_name"]).read_bytes()
    assert not any(k[1] == original["file_name"] for k in broken)

    fix = next(f for f in files if f["role"] == "correction")
    stem = fix["file_name"].replace("_correction", "")
    assert stem < fix["file_name"]
    penalties = records["admin_penalty"]
    before = {(r["source_unit_uscc"], r["decision_no"], _subject(r)): r for r in penalties if r["_file"] == stem
              and r["_dept"] == fix["department"]}
    after = [r for r in penalties if r["_file"] == fix["file_name"]]
    assert 1 <= len(after) <= 20
    for r in after:
        old = before[(r["source_unit_uscc"], r["decision_no"], _subject(r))]
        assert r["fine_amount"] != old["fine_amount"] and r["penalty_content"] != old["penalty_content"]


def test_same_seed_same_city(tmp_path):
    def digest(home: Path) -> dict[str, str]:
        return {str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(home.rglob("*")) if p.is_file()}

    a, b = tmp_path / "a", tmp_path / "b"
    generate(a, 800, AS_OF, seed=3)
    generate(b, 800, AS_OF, seed=3)
    assert digest(a) == digest(b)
