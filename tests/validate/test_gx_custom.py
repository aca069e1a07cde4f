"""Each custom GX expectation on a tiny realistic frame (exact failing rows), and every repository suite runs."""

from __future__ import annotations

import datetime as dt
import json
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.validate.gx_runner import SuiteRun, build_data_docs, run_suite, run_suite_json, suite_columns
from pipelines.validate.identifiers import make_resident_id, make_uscc
from pipelines.validate.suites import EXPECTATIONS_DIR, load_suite

AS_OF = dt.date(2025, 6, 1)
USCC_OK = "91350100M000100Y43"
USCC_INNER_WRONG = make_uscc("91350100M000100Y5")  # outer check right, organisation-code check char wrong
ID_OK = "11010519491231002X"


def _check(tmp_path, type_: str, kwargs: dict, rows: dict[str, list], index: list[int] | None = None) -> SuiteRun:
    """Run a one-expectation suite over the rows (COMPLETE results, so failing indexes are known)."""
    suite = {
        "name": "probe",
        "expectations": [{"type": type_, "kwargs": kwargs, "meta": {"rule": "probe", "reason": "测试", "severity": "error"}}],
    }
    frame = pd.DataFrame(rows, index=index, dtype=object)
    return run_suite_json(suite, frame, AS_OF, tmp_path, "probe", result_format="COMPLETE")


def _failing(run: SuiteRun) -> list:
    return sorted(run.unexpected_index_lists["probe"])


def test_credit_date(tmp_path):
    dates = ["2024-03-05", "2024/03/05", "2024年03月05日", "20240305", "2024-02-30", "2024-3-5",
             "1899-12-31", None, "2024.03.05", "2100-01-01", "2024-02-29"]
    run = _check(tmp_path, "expect_column_values_to_be_credit_date", {"column": "decision_date"},
                 {"decision_date": dates})
    assert _failing(run) == [4, 5, 6, 8, 9]
    assert run.unexpected_counts == {"probe": 5} and not run.success


def test_credit_date_not_after_as_of(tmp_path):
    kwargs = {"column": "decision_date", "max_date": {"$PARAMETER": "as_of"}}
    dates = ["2025-06-01", "2025-06-02", "2025年07月01日", "不详", None, "20250531"]
    run = _check(tmp_path, "expect_column_values_to_be_credit_date_not_after", kwargs, {"decision_date": dates})
    assert _failing(run) == [1, 2]


def test_decimal_amount_bounds(tmp_path):
    amounts = ["0", "12.5", " 3.25 ", "-1", "1e3", "１２", None, "1,000", "0.0001", "5."]
    run = _check(tmp_path, "expect_column_values_to_be_decimal_amount",
                 {"column": "fine_amount", "min_value": 0, "strict_min": False}, {"fine_amount": amounts})
    assert _failing(run) == [3, 4, 5, 7, 9]
    run = _check(tmp_path, "expect_column_values_to_be_decimal_amount",
                 {"column": "amount", "min_value": 0, "strict_min": True}, {"amount": ["0", "0.00", "0.0001", "-0.5"]})
    assert _failing(run) == [0, 1, 3]
    run = _check(tmp_path, "expect_column_values_to_be_decimal_amount",
                 {"column": "fine_amount", "max_value": 10000}, {"fine_amount": ["10000", "10000.01", "50000", "abc", None]})
    assert _failing(run) == [1, 2, 3]


PENALTY_TYPES = ["警告", "通报批评", "罚款", "没收违法所得", "没收非法财物", "吊销许可证件", "责令关闭", "其他"]
SEPARATORS = [";", "；", "、"]


def test_delimited_subset_of_set(tmp_path):
    values = ["警告", "警告；罚款", "罚款、没收违法所得", "罚金", " 警告 ; 罚款 ", "；", "警告;;罚款", "警告,罚款", None,
              "罚款罚款", "其他、"]
    run = _check(tmp_path, "expect_column_values_to_be_delimited_subset_of_set",
                 {"column": "penalty_types", "value_set": PENALTY_TYPES, "separators": SEPARATORS},
                 {"penalty_types": values})
    assert _failing(run) == [3, 5, 7, 9]


def _subset_reference(value: str) -> bool:
    items = [item.strip() for item in re.split("|".join(map(re.escape, SEPARATORS)), value)]
    items = [item for item in items if item]
    return bool(items) and all(item in PENALTY_TYPES for item in items)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from([*PENALTY_TYPES, "罚金", "", " ", "\u3000", *SEPARATORS]), max_size=6)
                .map("".join), min_size=1, max_size=8))
def test_delimited_subset_matches_split_and_trim(values):
    from pipelines.validate.gx_custom import _delimited_subset_pattern  # imports GX: keep it local

    pattern = _delimited_subset_pattern(PENALTY_TYPES, SEPARATORS)
    got = pd.Series(values, dtype="str").str.fullmatch(pattern).tolist()
    assert got == [_subset_reference(v) for v in values]


def test_valid_uscc_and_org_code(tmp_path):
    codes = [USCC_OK, "９１３５０１００Ｍ０００１００Ｙ４３", " 91350100 M000100Y43", "91350100M000100Y44",
             "91350100M000100Y4", "9135010OM000100Y43", None, "91110000600037341L", USCC_INNER_WRONG]
    run = _check(tmp_path, "expect_column_values_to_be_valid_uscc", {"column": "uscc"}, {"uscc": codes})
    assert _failing(run) == [3, 4, 5]
    run = _check(tmp_path, "expect_column_values_to_have_valid_uscc_org_code", {"column": "uscc"}, {"uscc": codes})
    assert _failing(run) == [8]  # only codes that pass the outer check are judged here


def test_valid_resident_id_only_for_id_cards(tmp_path):
    rows = {
        "id_type": ["身份证", "身份证", "身份证", "身份证", "护照", "身份证", None, "身份证", "身份证"],
        "id_no": [ID_OK, "110105194912310021", "370725881105149", "370725881305149", "E12345678", None, "123",
                  "11010519491231002x", make_resident_id("11010518991231002")],
    }
    kwargs = {"column": "id_no", "id_type_column": "id_type", "id_type_value": "身份证"}
    run = _check(tmp_path, "expect_column_values_to_be_valid_resident_id", kwargs, rows, index=list(range(20, 29)))
    assert _failing(run) == [21, 23, 28]


def test_not_null_when(tmp_path):
    rows = {"penalty_types": ["罚款", "警告；罚款", "警告", None, "没收违法所得、罚款"],
            "fine_amount": [None, "1.5", None, None, None]}
    kwargs = {"column": "fine_amount", "when_column": "penalty_types", "when_contains": "罚款"}
    run = _check(tmp_path, "expect_column_values_to_not_be_null_when", kwargs, rows)
    assert _failing(run) == [0, 4]

    rows = {"subject_category": ["自然人", "法人及非法人组织", "自然人"], "id_no": [None, None, ID_OK]}
    kwargs = {"column": "id_no", "when_column": "subject_category", "when_in": ["自然人"]}
    assert _failing(_check(tmp_path, "expect_column_values_to_not_be_null_when", kwargs, rows)) == [0]

    # every value null and every row required: GX's column-map default would call this vacuously true
    rows = {"subject_category": ["自然人", "自然人"], "id_no": [None, None]}
    run = _check(tmp_path, "expect_column_values_to_not_be_null_when", kwargs, rows)
    assert run.unexpected_counts == {"probe": 2} and not run.success


def test_one_present_when(tmp_path):
    rows = {
        "subject_category": ["法人及非法人组织", "法人及非法人组织", "法人及非法人组织", "自然人", "个体工商户"],
        "uscc": [USCC_OK, None, None, None, None],
        "business_reg_no": [None, "350100100012345", None, None, None],
        "org_code": [None, None, None, None, None],
    }
    kwargs = {"column_list": ["uscc", "business_reg_no", "org_code"], "when_column": "subject_category",
              "when_in": ["法人及非法人组织"]}
    run = _check(tmp_path, "expect_multicolumn_values_to_have_one_present_when", kwargs, rows)
    assert _failing(run) == [2]
    assert run.unexpected_counts == {"probe": 1}


def test_credit_dates_in_order(tmp_path):
    rows = {"decision_date": ["2024-01-01", "2024-05-01", "2024-05-01", "不详", "2024年05月01日", "2024/12/31"],
            "valid_until": ["2024-12-31", "2024/04/30", None, "2020-01-01", "20240501", "2024-12-30"]}
    kwargs = {"column_A": "decision_date", "column_B": "valid_until"}
    run = _check(tmp_path, "expect_column_pair_credit_dates_to_be_in_order", kwargs, rows)
    assert _failing(run) == [1, 5]


def test_at_most_when(tmp_path):
    rows = {"debtor_type": ["机关", "机关", "事业单位", "国有企业", "机关", "事业单位"],
            "agreed_term_days": ["90", "60", "abc", "90", None, "61"]}
    kwargs = {"column": "agreed_term_days", "max_value": 60, "when_column": "debtor_type",
              "when_in": ["机关", "事业单位"]}
    run = _check(tmp_path, "expect_column_values_to_be_at_most_when", kwargs, rows)
    assert _failing(run) == [0, 5]


# ---------------------------------------------------------------- whole suites


SUITES = sorted(p.stem for p in EXPECTATIONS_DIR.glob("*.json"))


@pytest.mark.parametrize("record_type", SUITES)
def test_every_suite_runs_on_an_all_null_row(tmp_path, record_type):
    """Every expectation type in every suite is known to GX and evaluates (run_suite raises otherwise)."""
    suite = load_suite(record_type)
    frame = pd.DataFrame({c: [None] for c in suite_columns(suite)}, dtype=object)
    run = run_suite(record_type, frame, AS_OF, tmp_path, f"null-{record_type}")
    assert set(run.unexpected_counts) == {e["meta"]["rule"] for e in suite["expectations"]}
    required = {e["meta"]["rule"] for e in suite["expectations"] if e["type"] == "expect_column_values_to_not_be_null"}
    assert {rule for rule, n in run.unexpected_counts.items() if n} == required
    assert run.element_count == 1
    stored = json.loads(run.result_path.read_text(encoding="utf-8"))
    assert stored["suite_name"] == record_type and len(stored["results"]) == len(suite["expectations"])


def test_runner_adds_missing_columns_and_ignores_extra_ones(tmp_path):
    frame = pd.DataFrame({
        "payment_no": ["QC-2025-0001", "QC-2025-0002"],
        "ledger_no": ["TZ-001", None],
        "payment_date": ["2025-05-20", "2025-07-01"],
        "amount": ["12.3456", "0"],
        "经办人": ["张三", "李四"],  # extra column: ignored
    }, dtype=object)
    run = run_suite("debt_payment", frame, AS_OF, tmp_path, "debt_payment-batch1")
    assert run.result_path == tmp_path / "debt_payment-batch1.json"
    failing = {rule: n for rule, n in run.unexpected_counts.items() if n}
    assert failing == {"ledger_no.required": 1, "payment_date.not_future": 1, "amount.amount": 1}
    assert not run.success and run.element_count == 2


def test_data_docs_render_stored_results(tmp_path):
    results, docs = tmp_path / "results", tmp_path / "site" / "docs"
    frame = pd.DataFrame({"payment_no": ["QC-1"], "ledger_no": ["TZ-1"], "payment_date": ["2025-05-20"],
                          "amount": ["1"]}, dtype=object)
    run_suite("debt_payment", frame, AS_OF, results, "debt_payment-ok")
    index = build_data_docs(results, docs)
    assert index == docs.resolve() / "index.html" and index.exists()
    pages = list((docs / "validations").rglob("*.html"))
    assert [p.stem for p in pages] == ["debt_payment-ok"]
    assert "清偿金额" in pages[0].read_text(encoding="utf-8")  # the clerk's reason is on the page


def test_data_docs_build_only_new_results_and_drop_removed_ones(tmp_path):
    results, docs = tmp_path / "results", tmp_path / "site" / "docs"
    frame = pd.DataFrame({"payment_no": ["QC-1"], "ledger_no": ["TZ-1"], "payment_date": ["2025-05-20"],
                          "amount": ["1"]}, dtype=object)
    run_suite("debt_payment", frame, AS_OF, results, "debt_payment-day1")
    build_data_docs(results, docs)
    day1 = next((docs / "validations").rglob("debt_payment-day1.html"))
    day1.write_text("rendered once", encoding="utf-8")  # a page already built is not rendered again

    run_suite("debt_payment", frame.assign(amount=["x"]), AS_OF, results, "debt_payment-day2")
    index = build_data_docs(results, docs)
    pages = {p.stem: p for p in (docs / "validations").rglob("*.html")}
    assert set(pages) == {"debt_payment-day1", "debt_payment-day2"}
    assert day1.read_text(encoding="utf-8") == "rendered once"
    assert "清偿金额" in pages["debt_payment-day2"].read_text(encoding="utf-8")
    assert "debt_payment-day1" in index.read_text(encoding="utf-8")
    assert "debt_payment-day2" in index.read_text(encoding="utf-8")

    (results / "debt_payment-day1.json").unlink()
    build_data_docs(results, docs)
    listed = index.read_text(encoding="utf-8")
    assert "debt_payment-day1" not in listed and "debt_payment-day2" in listed

    # A site deleted by hand is rebuilt in full from the stored results.
    import shutil

    shutil.rmtree(docs)
    build_data_docs(results, docs)
    assert [p.stem for p in (docs / "validations").rglob("*.html")] == ["debt_payment-day2"]


def test_data_docs_index_lists_the_most_recent_results_and_keeps_older_pages(tmp_path, monkeypatch):
    from pipelines.validate import gx_runner

    monkeypatch.setattr(gx_runner, "INDEX_RESULTS", 2)
    results, docs = tmp_path / "results", tmp_path / "site" / "docs"
    frame = pd.DataFrame({"payment_no": ["QC-1"], "ledger_no": ["TZ-1"], "payment_date": ["2025-05-20"],
                          "amount": ["1"]}, dtype=object)
    for day in (1, 2, 3):   # one pass a day: each result's run time is later than the one before
        run_suite("debt_payment", frame, AS_OF, results, f"debt_payment-day{day}")
        index = build_data_docs(results, docs)
    listed = index.read_text(encoding="utf-8")
    assert "debt_payment-day3" in listed and "debt_payment-day2" in listed
    assert "debt_payment-day1" not in listed   # beyond the two most recent: not in the index...
    pages = {p.stem for p in (docs / "validations").rglob("*.html")}
    assert pages == {"debt_payment-day1", "debt_payment-day2", "debt_payment-day3"}   # ...but its page stays
