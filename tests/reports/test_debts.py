"""Debt clearance through the real pipeline: due dates, late interest, 政务失信, the monthly report, the annual list.

Every expected figure below was computed by hand (day counts and 万元 to 4 decimals, rounding half-up):

QT001 住建局 (机关) 100.0000, delivered 2025-01-10, nothing agreed -> due 2025-02-09 (+30).
      Paid 30.0000 on 03-11, 20.5000 on 05-20, 49.5000 on 07-15 (cleared).
QT002 住建局 (机关) 80.1234, delivered 02-01, accepted 03-01, agreed 45 -> due 2025-04-15 (from acceptance).
      Paid 40.0000 on 04-30.
QT003 水务集团 (国有企业) 50.0000, delivered 01-01, nothing agreed -> due 2025-03-02 (+60). Disputed, unpaid.
QT004 水务集团 (国有企业) 70.0000, delivered 01-01, agreed 30 -> due 2025-01-31. In litigation; 10.0000 on 06-10.
QT005 中心医院 (事业单位) 10.0000, agreed 60 -> due 2025-04-30. 6.0000 on 04-20; 5.0000 on 05-06 would take it
      to 11.0000: quarantined; 4.0000 on 05-12 is checked against the 6.0000 accepted before it: accepted, cleared.
QT006 中心医院 (事业单位) 0.5000, delivered 06-01 -> due 2025-07-01, registered 06-05; 0.5000 on 07-06.

Late interest, 0.05% per day of what was outstanding before the day's payments:
QT001 on 2025-05-31: 100×30 (02-10..03-11) + 70×70 (03-12..05-20) + 49.5×11 (05-21..05-31) = 8444.5 ×0.0005
      = 4.22225 -> 4.2223 (half-up; half-even would give 4.2222).
QT001 on 2026-01-15: 100×30 + 70×70 + 49.5×56 (05-21..07-15) = 10672 -> 5.3360, frozen after clearance.
QT002 on 2026-01-15: 80.1234×15 (04-16..04-30) + 40.1234×260 (05-01..2026-01-15) = 11633.935 -> 5.8169675 -> 5.8170.
QT003 on 2026-01-15: 50×319 -> 7.9750.   QT004: 70×130 (02-01..06-10) + 60×219 -> 11.1200.
QT005: 4×12 (05-01..05-12) -> 0.0240.    QT006: 0.5×5 -> 0.00125 -> 0.0013 (half-even would give 0.0012).
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
import pytest

from pipelines.home import Home
from pipelines.reports.debts import add_commands, annual_disclosure, debt_report, ratio
from pipelines.run import run_pass

LEDGER = """\
台账编号,欠款单位名称,欠款单位统一社会信用代码,欠款单位类型,债权企业名称,债权企业统一社会信用代码,企业规模,合同编号,欠款金额（万元）,交付日期,验收日期,约定付款期限（天）,是否存在争议,是否进入诉讼或仲裁,登记日期
QT001,盘锦市住房和城乡建设局,11211100826024164P,机关,盘锦恒信建筑工程有限公司,91211104MA0T22229X,中型,HT-2025-101,100.0000,2025-01-10,,,否,否,2025-01-20
QT002,盘锦市住房和城乡建设局,11211100826024164P,机关,盘锦兴隆商贸有限公司,91211100MA0Q12343C,小型,HT-2025-102,80.1234,2025-02-01,2025-03-01,45,否,否,2025-03-05
QT003,盘锦市水务集团有限公司,91211100555357927L,国有企业,盘锦兴隆商贸有限公司,91211100MA0Q12343C,小型,SW-2025-103,50.0000,2025-01-01,,,是,否,2025-01-10
QT004,盘锦市水务集团有限公司,91211100555357927L,国有企业,盘锦辽河石化设备有限公司,91211102MA0Q567843,小型,SW-2025-104,70.0000,2025-01-01,,30,否,是,2025-01-10
QT005,盘锦市中心医院,122111004640000175,事业单位,盘锦辽河石化设备有限公司,91211102MA0Q567843,微型,YY-2025-105,10.0000,2025-03-01,,60,否,否,2025-03-05
QT006,盘锦市中心医院,122111004640000175,事业单位,盘锦恒信建筑工程有限公司,91211104MA0T22229X,微型,YY-2025-106,0.5000,2025-06-01,,,否,否,2025-06-05
"""
PAYMENT = """\
清偿记录编号,台账编号,清偿日期,清偿金额（万元）
QP001,QT001,2025-03-11,30.0000
QP002,QT001,2025-05-20,20.5000
QP003,QT001,2025-07-15,49.5000
QP004,QT002,2025-04-30,40.0000
QP005,QT004,2025-06-10,10.0000
QP006,QT005,2025-04-20,6.0000
QP007,QT005,2025-05-06,5.0000
QP008,QT005,2025-05-12,4.0000
QP009,QT006,2025-07-06,0.5000
"""
A, B, C = "11211100826024164P", "91211100555357927L", "122111004640000175"
EXPORT_AS_OF = date(2026, 1, 15)


def _home(tmp_path_factory, name: str) -> Home:
    home = Home.resolve(tmp_path_factory.mktemp(name) / "home")
    (home.inbox / "cz" / "debt_ledger_2025.csv").write_text(LEDGER, encoding="utf-8")
    (home.inbox / "cz" / "debt_payment_2025.csv").write_text(PAYMENT, encoding="utf-8")
    # The latest date first: payments dated after a pass's as_of would be rejected as future dates.
    run_pass(home, EXPORT_AS_OF, now=datetime(2026, 1, 15, 8, tzinfo=UTC))
    return home


def _internal(home: Home, name: str) -> list[dict]:
    latest = json.loads((home.exports / "internal" / "latest.json").read_text())
    rel = duckdb.sql(f"select * from read_parquet('{home.exports / 'internal' / latest['path'] / name}')")
    return [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]


def _s(row: dict, *keys: str) -> tuple[str, ...]:
    return tuple(str(row[k]) for k in keys)


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    home = _home(tmp_path_factory, "debts")
    # The reports read only the published export: without the warehouse file they still work.
    aside = home.warehouse.with_name("moved-away.duckdb")
    home.warehouse.rename(aside)
    try:
        report = debt_report(home, "2025-05")
        annual = annual_disclosure(home, 2026)
    finally:
        aside.rename(home.warehouse)
    return home, report, annual


def test_due_dates_status_and_late_interest_on_the_pass_as_of(reported):
    home, _, _ = reported
    ledger = {r["ledger_no"]: r for r in _internal(home, "debt_ledger.parquet")}
    cols = ("due_date", "status", "repaid_amount", "outstanding_amount", "overdue_days", "late_interest_amount")
    assert _s(ledger["QT001"], *cols) == ("2025-02-09", "已清偿", "100.0000", "0.0000", "0", "5.3360")
    assert _s(ledger["QT002"], *cols) == ("2025-04-15", "部分清偿", "40.0000", "40.1234", "275", "5.8170")
    assert _s(ledger["QT003"], *cols) == ("2025-03-02", "未清偿", "0.0000", "50.0000", "319", "7.9750")
    assert _s(ledger["QT004"], *cols) == ("2025-01-31", "部分清偿", "10.0000", "60.0000", "349", "11.1200")
    assert _s(ledger["QT005"], *cols) == ("2025-04-30", "已清偿", "10.0000", "0.0000", "0", "0.0240")
    assert _s(ledger["QT006"], *cols) == ("2025-07-01", "已清偿", "0.5000", "0.0000", "0", "0.0013")
    assert ledger["QT003"]["is_disputed"] and ledger["QT003"]["in_overdue_count"]          # disputed: still flagged
    assert ledger["QT004"]["is_in_litigation"] and not ledger["QT004"]["in_overdue_count"]


def test_late_interest_periods_follow_the_payments(reported):
    home, _, _ = reported
    # Rule tables are per-run (temp schema); the office reads them from the internal export.
    version = home.exports / "internal" / json.loads((home.exports / "internal" / "latest.json").read_text())["path"]
    con = duckdb.connect()
    periods = con.sql("select accrues_from, accrues_through, days, outstanding_amount, interest "
                      f"from '{version / 'debt_late_interest_periods.parquet'}' where ledger_no = 'QT004' "
                      "order by accrues_from").fetchall()
    con.close()
    assert [tuple(map(str, p)) for p in periods] == [
        ("2025-02-01", "2025-06-10", "130", "70.0000", "4.55000000"),
        ("2025-06-11", "2026-01-15", "219", "60.0000", "6.57000000"),
    ]


def test_overpayment_is_quarantined_and_later_payments_still_count(reported):
    home, report, _ = reported
    q = [r for r in _internal(home, "quarantine.parquet") if r["record_type"] == "debt_payment"]
    assert [(r["row_number"], r["rules"]) for r in q] == [(7, ["debt_payment.exceeds_owed"])]   # QP007 only
    assert "欠款10.0000万元，累计清偿11.0000万元" in q[0]["reasons"]
    hospital = next(b for b in report.bodies if b["debtor_uscc"] == C)
    assert _s(hospital, "repaid_in_month", "repaid_cumulative", "outstanding_amount") == ("4.0000", "10.0000", "0.0000")


def test_payment_checks_match_a_one_by_one_oracle():
    """The set-based payment check against the rule applied payment by payment, on many items with excesses."""
    import random

    from pipelines.reports.debts import DEBT_MODELS

    rng = random.Random(20261201)
    ledgers = {f"L{i:04d}": Decimal(rng.randint(1, 5000)).scaleb(-2) for i in range(300)}
    payments = [(f"L{rng.randrange(320):04d}", f"P{j:05d}", date(2025, 1, 1 + rng.randrange(28)),
                 Decimal(rng.randint(1, 3000)).scaleb(-2)) for j in range(2000)]   # L0300..L0319: unknown items
    expected = {}
    for ledger_no in {p[0] for p in payments}:
        owed, accepted = ledgers.get(ledger_no), Decimal(0)
        for seq, (_, payment_no, _, amount) in enumerate(sorted((p for p in payments if p[0] == ledger_no),
                                                                key=lambda p: (p[2], p[1])), start=1):
            ok = owed is not None and accepted + amount <= owed
            problem = "refers_to.unknown" if owed is None else None if ok else "debt_payment.exceeds_owed"
            expected[payment_no] = (seq, accepted + amount, problem)
            accepted += amount if ok else 0
    assert sum(v[2] == "debt_payment.exceeds_owed" for v in expected.values()) > 100   # the hard case is exercised

    con = duckdb.connect()
    con.execute("""create table debt_ledger (record_id varchar, ledger_no varchar, debtor_name varchar,
        debtor_uscc varchar, debtor_type varchar, creditor_name varchar, creditor_uscc varchar, creditor_size varchar,
        contract_no varchar, amount decimal(18, 4), delivery_date date, acceptance_date date, agreed_term_days integer,
        is_disputed boolean, is_in_litigation boolean, registered_date date)""")
    con.execute("create table debt_payment (payment_no varchar, ledger_no varchar, payment_date date, "
                "amount decimal(18, 4))")
    con.executemany("insert into debt_ledger (ledger_no, debtor_type, amount, delivery_date, is_disputed, "
                    "is_in_litigation, registered_date) values (?, '机关', ?, date '2025-01-01', false, false, "
                    "date '2025-01-01')", list(ledgers.items()))
    con.executemany("insert into debt_payment values (?, ?, ?, ?)", [(p[1], p[0], p[2], p[3]) for p in payments])
    con.execute("set variable as_of = date '2025-12-31'")
    for model in DEBT_MODELS:
        con.execute(model.read_text(encoding="utf-8"))
    got = {r[0]: r[1:] for r in con.execute(
        "select payment_no, payment_seq, repaid_through, problem from debt_payments_checked").fetchall()}
    assert got == expected


def test_monthly_report_per_body_and_total(reported):
    _, report, _ = reported
    assert report.as_of == date(2025, 5, 31) and report.export_as_of == EXPORT_AS_OF
    cols = ("items", "amount", "repaid_in_month", "repaid_ytd", "repaid_cumulative", "outstanding_amount",
            "open_items", "overdue_items", "overdue_amount", "litigation_items", "disputed_items",
            "repayment_rate", "late_interest_amount", "gov_dishonesty_items")
    got = {b["debtor_uscc"]: _s(b, *cols) for b in report.bodies}
    # QT006 is registered in June: not in May's report.
    assert got == {
        A: ("2", "180.1234", "20.5000", "90.5000", "90.5000", "89.6234", "2", "2", "89.6234", "0", "0",
            "0.5024", "5.4451", "1"),
        # QT004 is open and overdue but in litigation: not in the overdue count; QT003 is disputed: counted.
        B: ("2", "120.0000", "0.0000", "0.0000", "0.0000", "120.0000", "2", "1", "50.0000", "1", "1",
            "0.0000", "6.4500", "0"),
        C: ("1", "10.0000", "4.0000", "10.0000", "10.0000", "0.0000", "0", "0", "0.0000", "0", "0",
            "1.0000", "0.0240", "0"),
    }
    assert _s(report.total, *cols) == ("5", "310.1234", "24.5000", "100.5000", "100.5000", "209.6234", "4", "3",
                                       "139.6234", "1", "1", "0.3241", "11.9191", "1")
    assert [b["debtor_uscc"] for b in report.bodies] == [A, B, C]          # by overdue amount


def test_year_to_date_view(reported):
    _, report, _ = reported
    got = [_s(r, "month", "as_of", "amount", "repaid_in_month", "repaid_cumulative", "open_items",
              "overdue_items", "overdue_amount", "repayment_rate") for r in report.ytd_totals]
    assert got == [
        ("2025-01", "2025-01-31", "220.0000", "0.0000", "0.0000", "3", "0", "0.0000", "0.0000"),  # QT004 due 01-31
        ("2025-02", "2025-02-28", "220.0000", "0.0000", "0.0000", "3", "1", "100.0000", "0.0000"),
        ("2025-03", "2025-03-31", "310.1234", "30.0000", "30.0000", "5", "2", "120.0000", "0.0967"),
        ("2025-04", "2025-04-30", "310.1234", "46.0000", "76.0000", "5", "3", "160.1234", "0.2451"),
        ("2025-05", "2025-05-31", "310.1234", "24.5000", "100.5000", "4", "3", "139.6234", "0.3241"),
    ]
    a_march = next(r for r in report.ytd if r["scope"] == "debtor" and r["debtor_uscc"] == A and r["month"] == "2025-03")
    assert _s(a_march, "repaid_in_month", "overdue_items", "late_interest_amount") == ("30.0000", "1", "2.2000")


def test_report_files(reported):
    from openpyxl import load_workbook

    home, report, _ = reported
    out = home.root / "reports" / "debts" / "2025-05"
    assert {p.name for p in out.iterdir()} == {"debt_report.parquet", "debt_report_ytd.parquet",
                                                "debt_items.parquet", "debt_report.xlsx", "debt_report.html"}
    con = duckdb.connect()
    types = dict(con.sql(f"select column_name, column_type from (describe select * from "
                         f"read_parquet('{out / 'debt_report.parquet'}'))").fetchall())
    assert types["amount"] == "DECIMAL(18,4)" and types["repayment_rate"] == "DECIMAL(9,4)"
    total = con.sql(f"select repaid_cumulative, open_items from read_parquet('{out / 'debt_report.parquet'}') "
                    "where scope = 'total'").fetchall()
    assert total == [(Decimal("100.5000"), 4)]

    wb = load_workbook(out / "debt_report.xlsx")
    assert wb.sheetnames == ["月度汇总", "本年逐月", "台账明细"]
    ws = wb["月度汇总"]
    assert ws["A1"].value == "2025年5月清欠工作情况月报表" and "2025年5月31日" in ws["A2"].value
    headers = [c.value for c in ws[3]]
    assert headers[:5] == ["欠款单位名称", "统一社会信用代码", "单位类型", "台账笔数", "欠款总额（万元）"]
    total_row = next(r for r in ws.iter_rows(min_row=4) if r[0].value == "合计")
    amount = total_row[headers.index("欠款总额（万元）")]
    assert amount.number_format == "0.0000" and Decimal(str(amount.value)) == Decimal("310.1234")
    assert total_row[headers.index("清偿率")].number_format == "0.00%"

    page = (out / "debt_report.html").read_text(encoding="utf-8")
    assert "Noto Sans CJK SC" in page and page.count("<svg") == 2 and "139.6234" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page     # offline, self-contained


def test_annual_disclosure_of_the_previous_year(reported):
    from openpyxl import load_workbook

    _, _, out = reported
    rel = duckdb.sql(f"select * from read_parquet('{out / 'overdue_contracts.parquet'}')")
    rows = {r[rel.columns.index("debtor_name")]: dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()}
    cols = ("year", "as_of", "overdue_contracts", "overdue_amount", "year_end_outstanding", "litigation_contracts")
    assert _s(rows["盘锦市住房和城乡建设局"], *cols) == ("2025", "2025-12-31", "2", "180.1234", "40.1234", "0")
    # QT003 disputed: counted; QT004 in litigation: apart.
    assert _s(rows["盘锦市水务集团有限公司"], *cols) == ("2025", "2025-12-31", "1", "50.0000", "50.0000", "1")
    # QT005: 4.0000 was overdue from 05-01 (6.0000 paid before); QT006: 0.5000 overdue 07-02..07-06.
    assert _s(rows["盘锦市中心医院"], *cols) == ("2025", "2025-12-31", "2", "4.5000", "0.0000", "0")
    assert _s(rows["合计"], *cols) == ("2025", "2025-12-31", "5", "234.6234", "90.1234", "1")
    ws = load_workbook(out / "overdue_contracts.xlsx")["逾期合同情况"]
    assert ws["A1"].value == "2025年度逾期未支付中小企业款项合同情况" and "2026年3月31日前公开" in ws["A2"].value


@pytest.fixture(scope="module")
def dishonesty(tmp_path_factory):
    """gov_dishonesty and the debtor's grade reasons on each as_of (one pass per date, nothing new to land)."""
    home = _home(tmp_path_factory, "gov")
    seen = {}
    for i, day in enumerate((date(2025, 5, 10), date(2025, 5, 11), date(2025, 7, 14), date(2025, 7, 15))):
        run_pass(home, day, now=datetime(2026, 1, 15, 9 + i, tzinfo=UTC))
        grades = {g["subject_key"]: g for g in _internal(home, "subject_grades.parquet")}
        seen[day] = ([(g["ledger_no"], g["overdue_days"], str(g["outstanding_amount"]))
                      for g in _internal(home, "gov_dishonesty.parquet")], list(grades[A]["reasons"]))
    return seen


def test_gov_dishonesty_from_the_91st_overdue_day(dishonesty):
    assert dishonesty[date(2025, 5, 10)] == ([], [])                               # QT001: day 90
    gov, reasons = dishonesty[date(2025, 5, 11)]
    assert gov == [("QT001", 91, "70.0000")]                                       # 20.5000 comes on 05-20
    assert reasons == ["政务失信：逾期未清偿账款（QT001）"]                            # into the debtor's credit file


def test_gov_dishonesty_ends_when_the_item_is_cleared(dishonesty):
    assert dishonesty[date(2025, 7, 14)][0] == [("QT001", 155, "49.5000")]      # QT002 on its 90th day
    # QT001 cleared on 07-15; QT002 (due 04-15) reaches day 91; the disputed and in-litigation items never count.
    assert dishonesty[date(2025, 7, 15)] == ([("QT002", 91, "40.1234")], ["政务失信：逾期未清偿账款（QT002）"])


def test_ratio_is_exact_half_up():
    assert str(ratio(Decimal("1.0000"), Decimal("8.0000"))) == "0.1250"
    assert str(ratio(Decimal("0.0001"), Decimal("0.0002"))) == "0.5000"
    assert str(ratio(Decimal("1.0000"), Decimal("3.0000"))) == "0.3333"
    assert str(ratio(Decimal("1.0000"), Decimal("20000.0000"))) == "0.0001"                   # 0.00005 -> up
    assert ratio(Decimal("1.0000"), Decimal("0")) is None


def test_cli_commands(reported, capsys):
    home, _, _ = reported
    parser = argparse.ArgumentParser(prog="credit")
    parser.add_argument("--home")
    sub = parser.add_subparsers(dest="command", required=True)
    add_commands(sub)
    args = parser.parse_args(["--home", str(home.root), "report", "debts", "--month", "2025-05"])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "310.1234" in printed and "100.5000" in printed and "32.41%" in printed
    args = parser.parse_args(["report", "annual", "--year", "2026", "--home", str(home.root)])
    assert args.func(args) == 0
    args = parser.parse_args(["--home", str(home.root), "report", "debts", "--month", "2026-02"])
    assert args.func(args) == 2                                          # after the export's as_of
