"""Shared fixtures: a pipeline home filled from the hand-written files in tests/fixtures/."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from pipelines.home import Home

FIXTURES = Path(__file__).parent / "fixtures"
AS_OF = date(2026, 11, 25)

# Which department hands in each fixture file.
FIXTURE_DEPARTMENTS = {
    "admin_penalty": "scjg", "admin_license": "xzsp", "list_entry": "fgw", "list_removal": "scjg",
    "commitment": "xzsp", "repair": "fgw", "debt_ledger": "cz", "debt_payment": "cz",
    "discipline_feedback": "cz", "other_dishonesty": "swjt",
}


def fill_inbox(home: Home) -> None:
    for record_type, dept in FIXTURE_DEPARTMENTS.items():
        shutil.copy(FIXTURES / f"{record_type}.csv", home.inbox / dept / f"{record_type}_2025-11.csv")


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home.resolve(tmp_path / "home")
