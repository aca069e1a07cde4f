"""The catalogue: every record type has its four pieces, and the suites are in sync with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.catalog import load_catalog, normalize_header
from pipelines.validate.sql import FAILS, WAREHOUSE_DIR
from pipelines.validate.suites import build_suite, load_suite, suite_path

ROOT = Path(__file__).resolve().parents[1]
DOMAIN_RECORD_TYPES = {"admin_penalty", "admin_license", "list_entry", "list_removal", "commitment", "repair",
                       "debt_ledger", "debt_payment", "discipline_feedback", "other_dishonesty"}


def test_the_ten_record_types_of_the_domain_are_catalogued():
    assert set(load_catalog().record_types) == DOMAIN_RECORD_TYPES


@pytest.mark.parametrize("record_type", sorted(DOMAIN_RECORD_TYPES))
def test_record_type_has_catalogue_suite_staging_model_and_fixture(record_type):
    assert (ROOT / "pipelines" / "catalog" / "record_types" / f"{record_type}.yaml").exists()
    assert suite_path(record_type).exists()
    assert (WAREHOUSE_DIR / "staging" / f"stg_{record_type}.sql").exists()
    assert (ROOT / "tests" / "fixtures" / f"{record_type}.csv").exists()


@pytest.mark.parametrize("record_type", sorted(DOMAIN_RECORD_TYPES))
def test_suite_json_is_what_the_catalogue_generates(record_type):
    rt = load_catalog().record_types[record_type]
    assert load_suite(record_type) == build_suite(rt), "run `make suites` after changing the catalogue"


def test_every_expectation_type_has_a_sql_translation():
    for rt in load_catalog().record_types:
        for e in load_suite(rt)["expectations"]:
            assert e["type"] in FAILS
            assert e["meta"]["reason"] and e["meta"]["severity"] in {"error", "warning"}


def test_headers_in_all_three_forms_map_to_the_canonical_name():
    c = load_catalog()
    assert c.canonical_header("admin_penalty", "CF_NR_FK") == "fine_amount"
    assert c.canonical_header("admin_penalty", " 罚款金额(万元) ") == "fine_amount"
    assert c.canonical_header("admin_penalty", "fine_amount") == "fine_amount"
    assert c.canonical_header("list_entry", "主体名称") == "subject_name"
    assert normalize_header("（万元）") == normalize_header("(万元)")


def test_file_names_pick_the_longest_matching_record_type():
    c = load_catalog()
    assert c.record_type_for_file("list_removal-2025.xlsx") == "list_removal"
    assert c.record_type_for_file("penalties_misc.csv") is None


def test_reference_catalogues_are_consistent():
    c = load_catalog()
    assert len(c.departments) == 15 and len(c.list_types) == 9 and len(c.measures) == 12
    assert c.list_types["wage_arrears"].default_term_months == 36
    assert c.measures["P05"].list_types == ("court_dishonest",)
