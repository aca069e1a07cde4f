"""File-drop landing: encodings, Excel, header forms, duplicates and whole-file rejections."""

from __future__ import annotations

import csv
import shutil
from datetime import UTC, datetime

import duckdb
from openpyxl import Workbook

from pipelines.catalog import load_catalog
from pipelines.home import Home
from pipelines.ingest.files import collect_department, collect_departments, load_batches
from tests.conftest import FIXTURES

NOW = datetime(2026, 11, 25, 8, tzinfo=UTC)


def raw_rows(home: Home, batch) -> list[dict]:
    rel = duckdb.sql(f"select * from read_parquet('{home.root / batch.raw_path}') order by _row_number")
    return [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]


def penalty_lines() -> list[str]:
    return (FIXTURES / "admin_penalty.csv").read_text(encoding="utf-8").splitlines()


def test_utf8_with_bom_and_gb18030_land_the_same_rows(home):
    text = "\n".join(penalty_lines()) + "\n"
    (home.inbox / "scjg" / "admin_penalty_bom.csv").write_text(text, encoding="utf-8-sig")
    (home.inbox / "sw" / "admin_penalty_gbk.csv").write_bytes(text.encode("gb18030"))
    a = collect_department(home, "scjg", NOW).landed[0]
    b = collect_department(home, "sw", NOW).landed[0]
    assert (a.encoding, b.encoding) == ("utf-8-sig", "gb18030")
    strip = lambda rows: [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]  # noqa: E731
    assert strip(raw_rows(home, a)) == strip(raw_rows(home, b))
    first = raw_rows(home, a)[0]
    assert first["subject_name"] == "盘锦兴隆商贸有限公司" and first["_row_number"] == 1
    assert first["violation_facts"] == '在店铺门头发布"全市最低价"等虚假广告'   # quoted field with quotes
    assert first["_department"] == "scjg" and first["_file_name"] == "admin_penalty_bom.csv"
    assert len(a.sha256) == 64 and a.rows == len(penalty_lines()) - 1


def test_xlsx_first_sheet_header_after_blank_rows_and_dates(home):
    wb = Workbook()
    ws = wb.active
    ws.append([])
    ws.append(["台账编号", "欠款单位名称", "欠款单位统一社会信用代码", "欠款单位类型", "债权企业名称",
               "债权企业统一社会信用代码", "企业规模", "合同编号", "欠款金额（万元）", "交付日期", "登记日期"])
    ws.append(["QQ1", "盘锦市住房和城乡建设局", "11211100826024164P", "机关", "盘锦恒信建筑工程有限公司",
               "91211104MA0T22229X", "中型", "HT-1", 12.5, datetime(2025, 1, 15), "2025-03-01"])
    wb.save(home.inbox / "cz" / "debt_ledger-batch7.xlsx")
    [batch] = collect_department(home, "cz", NOW).landed
    [row] = raw_rows(home, batch)
    assert batch.encoding == "xlsx" and batch.record_type == "debt_ledger"
    assert row["delivery_date"] == "2025-01-15" and row["amount"] == "12.5" and row["ledger_no"] == "QQ1"


def test_national_codes_and_canonical_headers_and_unknown_columns(home):
    lines = penalty_lines()
    header = ("subject_name,subject_category,uscc,id_type,id_no,CF_WSH,CF_WFXW,CF_SY,CF_YJ,CF_CFLB,CF_NR,CF_NR_FK,"
              "CF_JDRQ,CF_GSJZQ,CF_CFJG,CF_CFJGDM,CF_SJLY,CF_SJLYDM,severity, 状态 ")
    (home.inbox / "scjg" / "admin_penalty_codes.csv").write_text(
        "\n".join([header.replace("severity", "内部备注"), *lines[1:3]]) + "\n", encoding="utf-8")
    [batch] = collect_department(home, "scjg", NOW).landed
    row = raw_rows(home, batch)[0]
    assert row["decision_no"] == "盘市监处罚〔2025〕101号" and row["fine_amount"] == "2.5"
    assert batch.unknown_columns == ["内部备注"] and "extra:内部备注" in row


def test_same_content_twice_is_one_batch(home):
    shutil.copy(FIXTURES / "admin_penalty.csv", home.inbox / "scjg" / "admin_penalty_a.csv")
    shutil.copy(FIXTURES / "admin_penalty.csv", home.inbox / "scjg" / "admin_penalty_b.csv")
    result = collect_department(home, "scjg", NOW)
    assert len(result.landed) == 1 and len(result.duplicates) == 1
    [batch] = load_batches(home).values()
    assert batch.also_seen_as == ["admin_penalty_b.csv"]
    assert collect_department(home, "scjg", NOW).landed == []          # nothing new the second time


def test_whole_file_rejections_are_kept_with_a_reason(home):
    (home.inbox / "scjg" / "penalties_misc.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (home.inbox / "scjg" / "admin_penalty_utf16.csv").write_bytes("行政相对人名称\n张三\n".encode("utf-16-le"))
    (home.inbox / "scjg" / "admin_penalty_junk.csv").write_bytes(b"\x81\x30\xff\xfe\x00garbage\xff")
    lines = penalty_lines()
    (home.inbox / "scjg" / "admin_penalty_short.csv").write_text(
        "行政相对人名称,行政相对人类别\n盘锦兴隆商贸有限公司,法人及非法人组织\n", encoding="utf-8")
    (home.inbox / "nosuch").mkdir()
    (home.inbox / "nosuch" / "admin_penalty.csv").write_text("\n".join(lines[:2]), encoding="utf-8")
    rejected = {b.file_name: b for b in collect_department(home, "scjg", NOW).rejected}
    rejected |= {b.file_name: b for b in collect_department(home, "nosuch", NOW).rejected}
    assert rejected["penalties_misc.csv"].reason_rule == "file.unknown_record_type"
    assert rejected["admin_penalty_utf16.csv"].reason_rule == "file.encoding"
    assert rejected["admin_penalty_junk.csv"].reason_rule == "file.encoding"
    assert rejected["admin_penalty_short.csv"].reason_rule == "file.missing_required_columns"
    assert "行政处罚决定书文号" in rejected["admin_penalty_short.csv"].reason
    assert rejected["admin_penalty.csv"].reason_rule == "file.unknown_department"
    for b in rejected.values():
        assert b.status == "rejected" and b.reason and (home.inbox / b.department / b.file_name).exists()


def test_cells_lose_blanks_at_both_ends_only(home):
    # Blanks are ASCII space, tab, CR, LF and U+3000; other spaces and characters below '!' stay.
    submitted = {"subject_name": " 盘锦兴隆商贸有限公司\u3000", "uscc": "\t91211100MA0Q12343C\r", "id_no": "\u3000\u3000",
                 "decision_no": "\u00a0盘市监处罚〔2025〕101号\u00a0", "violation_type": "\x01虚假 宣传",
                 "legal_basis": "  ", "penalty_content": "罚款\r\n 2.5万元 \n", "authority": "\u3001盘锦市市场监督管理局"}
    landed = {"subject_name": "盘锦兴隆商贸有限公司", "uscc": "91211100MA0Q12343C", "id_no": None,
              "decision_no": "\u00a0盘市监处罚〔2025〕101号\u00a0", "violation_type": "\x01虚假 宣传",
              "legal_basis": None, "penalty_content": "罚款\r\n 2.5万元", "authority": "\u3001盘锦市市场监督管理局"}
    fields = load_catalog().record_types["admin_penalty"].fields
    with open(home.inbox / "scjg" / "admin_penalty_blanks.csv", "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, quoting=csv.QUOTE_ALL)
        out.writerow([f.zh for f in fields])
        out.writerow([submitted.get(f.name, "x") for f in fields])
    [batch] = collect_department(home, "scjg", NOW).landed
    [row] = raw_rows(home, batch)
    assert {name: row[name] for name in landed} == landed


def test_files_land_together_in_name_order_with_their_row_numbers(home):
    lines = penalty_lines()
    for n in range(1, 6):
        (home.inbox / "scjg" / f"admin_penalty_{n}.csv").write_text("\n".join(lines[:n + 1]) + "\n", encoding="utf-8")
    shutil.copy(home.inbox / "scjg" / "admin_penalty_2.csv", home.inbox / "scjg" / "admin_penalty_2_again.csv")
    result = collect_department(home, "scjg", NOW)
    assert [(b.file_name, b.rows) for b in result.landed] == [(f"admin_penalty_{n}.csv", n) for n in range(1, 6)]
    assert result.duplicates == [("scjg/admin_penalty_2_again.csv", result.landed[1].batch_id)]
    for batch in result.landed:
        rows = raw_rows(home, batch)
        assert [r["_row_number"] for r in rows] == list(range(1, batch.rows + 1))
        assert [r["_file_name"] for r in rows] == [batch.file_name] * batch.rows
        assert [r["decision_no"] for r in rows] == [line.split(",")[5] for line in lines[1:batch.rows + 1]]


def test_departments_land_in_one_pool_as_if_one_after_another(home):
    lines = penalty_lines()
    (home.inbox / "scjg" / "admin_penalty_big.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (home.inbox / "scjg" / "admin_penalty_z.csv").write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    # the same content in a later department, and a file of its own there
    shutil.copy(home.inbox / "scjg" / "admin_penalty_big.csv", home.inbox / "sw" / "admin_penalty_copy.csv")
    (home.inbox / "sw" / "admin_penalty_a.csv").write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    calls: list[tuple[int, int]] = []
    results = collect_departments(home, ["scjg", "sw"], NOW, landed=lambda done, total: calls.append((done, total)))
    scjg, sw = results["scjg"], results["sw"]
    assert [b.file_name for b in scjg.landed] == ["admin_penalty_big.csv", "admin_penalty_z.csv"]
    assert [b.file_name for b in sw.landed] == ["admin_penalty_a.csv"]
    assert sw.duplicates == [("sw/admin_penalty_copy.csv", scjg.landed[0].batch_id)]
    assert load_batches(home)[scjg.landed[0].batch_id].also_seen_as == ["admin_penalty_copy.csv"]
    assert calls == [(1, 3), (2, 3), (3, 3)]
    # versions order by (landed_at, file name): the later department's files after the earlier one's
    assert scjg.landed[0].landed_at == scjg.landed[1].landed_at < sw.landed[0].landed_at
    assert [r["decision_no"] for r in raw_rows(home, sw.landed[0])] == [line.split(",")[5] for line in lines[1:3]]
    # and each department's file index knows its files: nothing is new the second time
    again = collect_departments(home, ["scjg", "sw"], NOW)
    assert all(r.landed == r.rejected == r.duplicates == [] for r in again.values())
