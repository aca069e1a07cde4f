"""Each credit rule at its boundaries (domain.md §3–§4), through the real pipeline and its published rows."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import duckdb
import pytest

from pipelines.home import Home
from pipelines.publish.state import state_relation
from pipelines.rules.evaluate import evaluate
from pipelines.rules.pointintime import latest_internal, rules_connection
from pipelines.run import run_pass
from pipelines.validate.sql import connect

SCJG = "盘锦市市场监督管理局,112111000457500403"
A, B, C = "91211100MA0Q12343C", "91211102MA0Q567843", "91211104MA0T22229X"
PENALTY_HEADER = ("统一社会信用代码,行政相对人名称,行政相对人类别,行政处罚决定书文号,违法行为类型,违法事实,处罚依据,处罚类别,"
                  "处罚内容,罚款金额（万元）,处罚决定日期,公示截止期,处罚机关,处罚机关统一社会信用代码,数据来源单位,"
                  "数据来源单位统一社会信用代码")


def penalty(no: str, decided: str, types: str = "罚款", own_until: str = "", violation: str = "价格违法") -> str:
    fine = "1" if "罚款" in types else ""
    return f"{A},盘锦兴隆商贸有限公司,法人及非法人组织,{no},{violation},事实,依据,{types},内容,{fine},{decided},{own_until},{SCJG},{SCJG}"


PENALTIES = [
    penalty("P-old", "2023-04-30"),                         # old regime, 一般: 1 year → until 2024-04-29
    penalty("P-new", "2023-05-01"),                         # 2023-05 regime: 3 years → until 2026-04-30
    penalty("P-minor-before", "2026-03-31", "通报批评"),       # 轻微, still the 2023-05 regime: disclosed
    penalty("P-minor-after", "2026-04-01", "通报批评"),        # 轻微 from 2026-04-01: not disclosed
    penalty("P-short", "2025-01-01", own_until="2025-06-30"),  # own date shortens the window
    penalty("P-long", "2025-01-01", own_until="2099-01-01"),   # … but never lengthens it
    penalty("P-2026", "2026-05-01"),                        # 2026-04 regime, 一般: 1 year, repair after 3 months
    penalty("P-equip", "2024-01-01", violation="特种设备安全"),  # a year before repair in the 2023-05 regime
]
REPAIRS = [
    # one day before the 3-month minimum → quarantined; exactly at the minimum → applied from that day
    f"{A},盘锦兴隆商贸有限公司,法人及非法人组织,R1,admin_penalty,P-2026,提前终止公示,2026-07-01,2026-07-31,盘锦市发展和改革委员会,112111009722818637",
    f"{A},盘锦兴隆商贸有限公司,法人及非法人组织,R2,admin_penalty,P-new,提前终止公示,2023-07-01,2023-08-01,盘锦市发展和改革委员会,112111009722818637",
    f"{A},盘锦兴隆商贸有限公司,法人及非法人组织,R3,admin_penalty,P-equip,提前终止公示,2024-10-01,2024-12-31,盘锦市发展和改革委员会,112111009722818637",
]
REPAIR_HEADER = "统一社会信用代码,主体名称,行政相对人类别,修复编号,被修复信息类型,被修复信息文书号,修复方式,申请日期,修复决定日期,修复决定机关,修复决定机关统一社会信用代码"
LIST_HEADER = "统一社会信用代码,主体名称,行政相对人类别,名单类型代码,认定文书号,列入事由,认定日期,有效期自,有效期至,认定机关,认定机关统一社会信用代码"
AUTH = "盘锦市发展和改革委员会,112111009722818637"
ENTRIES = [
    f"{B},盘锦辽河石化设备有限公司,法人及非法人组织,honest_model,RED-1,诚信示范,2025-01-01,2025-01-01,2026-12-31,{AUTH}",
    f"{B},盘锦辽河石化设备有限公司,法人及非法人组织,market_serious,BLK-1,严重违法,2025-03-01,2025-03-01,2025-08-31,{AUTH}",
    f"{C},盘锦恒信建筑工程有限公司,法人及非法人组织,market_serious,BLK-2,严重违法,2025-01-01,2025-01-01,,{AUTH}",
    f"{C},盘锦恒信建筑工程有限公司,法人及非法人组织,intermediary_black,BLK-3,中介违规,2025-01-01,2025-01-01,,{AUTH}",
    f"{C},盘锦恒信建筑工程有限公司,法人及非法人组织,market_serious,BLK-4,严重违法,2025-06-01,2025-06-01,,{AUTH}",
]
REMOVAL_HEADER = "统一社会信用代码,主体名称,行政相对人类别,名单类型代码,列入文书号,移出日期,移出原因,决定机关"
REMOVALS = [
    f"{C},盘锦恒信建筑工程有限公司,法人及非法人组织,market_serious,BLK-4,2026-05-31,提前移出,盘锦市市场监督管理局",
    f"{C},盘锦恒信建筑工程有限公司,法人及非法人组织,intermediary_black,BLK-3,2026-06-01,提前移出,盘锦市营商环境建设局",
    f"{C},盘锦恒信建筑工程有限公司,法人及非法人组织,market_serious,BLK-2,2026-01-01,提前移出,盘锦市市场监督管理局",
]


def write(home: Home, dept: str, name: str, header: str, rows: list[str]) -> None:
    (home.inbox / dept / name).write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Home:
    home = Home.resolve(tmp_path_factory.mktemp("boundaries") / "home")
    write(home, "scjg", "admin_penalty_b.csv", PENALTY_HEADER, PENALTIES)
    write(home, "fgw", "repair_b.csv", REPAIR_HEADER, REPAIRS)
    write(home, "fgw", "list_entry_b.csv", LIST_HEADER, ENTRIES)
    write(home, "scjg", "list_removal_b.csv", REMOVAL_HEADER, REMOVALS[:2])
    write(home, "scjg", "list_removal_c.csv", REMOVAL_HEADER, REMOVALS[2:])
    run_pass(home, date(2026, 11, 25), now=datetime(2026, 11, 25, 8, tzinfo=UTC))
    return home


def public_on(home: Home, as_of: str, mart: str = "mart_penalties", key: str = "decision_no") -> set[str]:
    con = rules_connection(latest_internal(home), date.fromisoformat(as_of))
    return {r[0] for r in con.sql(f"select {key} from {mart} where hidden_reason is null").fetchall()}


@pytest.mark.parametrize(("as_of", "no", "shown"), [
    ("2024-04-29", "P-old", True), ("2024-04-30", "P-old", False),            # last day, day after
    ("2026-04-30", "P-new", False),                                          # repaired on 2023-08-01
    ("2023-07-31", "P-new", True), ("2023-08-01", "P-new", False),           # repair at the minimum applies
    ("2026-11-25", "P-minor-before", True), ("2026-11-25", "P-minor-after", False),
    ("2025-06-30", "P-short", True), ("2025-07-01", "P-short", False),
    ("2027-12-31", "P-long", True), ("2028-01-01", "P-long", False),
    ("2027-04-30", "P-2026", True), ("2027-05-01", "P-2026", False),         # repair a day early did not count
    ("2024-12-30", "P-equip", True), ("2024-12-31", "P-equip", True),        # 12-month minimum: repair refused
])
def test_disclosure_windows(home, as_of, no, shown):
    assert (no in public_on(home, as_of)) is shown


def test_published_disclosure_until_and_quarantined_early_repairs(home):
    latest = json.loads((home.exports / "public" / "latest.json").read_text())
    rows = dict(duckdb.sql(f"select decision_no, disclosure_until::varchar from "
                           f"'{home.exports / 'public' / latest['path'] / 'penalties.parquet'}'").fetchall())
    assert rows == {"P-minor-before": "2029-03-30", "P-long": "2027-12-31", "P-2026": "2027-04-30",
                    "P-equip": "2026-12-31"}
    q = duckdb.sql(f"select list_sort(list(rules[1])) from "
                   f"'{home.exports / 'internal' / latest['path'] / 'quarantine.parquet'}' "
                   f"where record_type in ('repair', 'list_removal')").fetchall()[0][0]
    assert q == ["removal.before_minimum", "removal.not_allowed", "repair.before_minimum", "repair.before_minimum"]
    assert rows.keys().isdisjoint({"P-old", "P-new", "P-minor-after", "P-short"})


@pytest.mark.parametrize(("as_of", "red_shown"), [
    ("2025-02-28", True),    # before the black entry
    ("2025-03-01", False),   # suspended on the day the black entry starts
    ("2025-08-31", False),   # last day of the black entry
    ("2025-09-01", True),    # resumed: still within its own term
    ("2027-01-01", False),   # its own term ended
])
def test_red_entry_suspended_and_resumed(home, as_of, red_shown):
    assert ("RED-1" in public_on(home, as_of, "mart_lists")) is red_shown


def test_early_removal_only_after_the_minimum(home):
    # BLK-4: 提前移出 on 2026-05-31 is a day before 12 months (refused); BLK-2's on 2026-01-01 applies.
    assert "BLK-4" in public_on(home, "2026-11-25", "mart_lists")
    assert "BLK-2" in public_on(home, "2025-12-31", "mart_lists")
    assert "BLK-2" not in public_on(home, "2026-01-01", "mart_lists")
    # BLK-3: intermediary blacklist allows no early removal.
    assert "BLK-3" in public_on(home, "2026-11-25", "mart_lists")


def test_a_removal_waits_for_its_entry_and_applies_when_it_arrives(tmp_path):
    home = Home.resolve(tmp_path / "home")
    write(home, "scjg", "list_removal_early.csv", REMOVAL_HEADER, [REMOVALS[2]])
    run_pass(home, date(2026, 11, 25), now=datetime(2026, 11, 25, 8, tzinfo=UTC))
    q = duckdb.sql(f"select rules from '{latest_internal(home) / 'quarantine.parquet'}'").fetchall()
    assert q == [(["refers_to.unknown"],)]
    write(home, "fgw", "list_entry_late.csv", LIST_HEADER, [ENTRIES[2]])
    run_pass(home, date(2026, 11, 25), now=datetime(2026, 11, 25, 9, tzinfo=UTC))
    assert duckdb.sql(f"select count(*) from '{latest_internal(home) / 'quarantine.parquet'}'").fetchall() == [(0,)]
    assert "BLK-2" not in public_on(home, "2026-11-25", "mart_lists")
    assert duckdb.sql(state_relation(latest_internal(home), "lists_status")).project("state").fetchall() == [
        ("removed",)]


def test_a_failing_rule_names_its_model_and_statement():
    """An engineer reading the traceback sees which rule model and which of its statements failed."""
    con = connect()   # the macros, but no warehouse: the first model that reads records fails
    try:
        with pytest.raises(duckdb.CatalogException) as failed:
            evaluate(con, date(2026, 11, 25))
    finally:
        con.close()
    assert failed.value.__notes__ == [
        "in the rule model warehouse/marts/dishonesty_windows.sql, the statement "
        "'create or replace temp view penalty_rule_input as'"
    ]
