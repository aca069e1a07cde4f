"""The department's feedback workbook: every held-back row, in row order, each value as the clerk sent it."""

from __future__ import annotations

import duckdb
from openpyxl import load_workbook

from pipelines.ingest.files import Batch
from pipelines.validate.feedback import write_batch_feedback


def _held_back(path, rows):
    con = duckdb.connect()
    try:
        con.sql(f"""copy (select * from (values {', '.join(rows)})
                    as t(row_number, rules, reasons, submitted)) to '{path}' (format parquet)""")
    finally:
        con.close()


def _batch(**kw):
    return Batch(**({"batch_id": "b1", "department": "scjg", "file_name": "行政处罚_2026.csv", "sha256": "x",
                     "record_type": "admin_penalty", "status": "landed", "landed_at": "2026-11-25T08:00:00Z",
                     "rows": 5} | kw))


def test_feedback_lists_held_back_rows_in_order_as_text(home, tmp_path):
    rejected, warned = tmp_path / "rows.parquet", tmp_path / "warnings.parquet"
    _held_back(rejected, [
        """(9, ['uscc_check'], '统一社会信用代码校验位错误', '{"uscc":"=HYPERLINK(\\"http://x\\")"}'::json)""",
        """(3, ['required', 'date'], '缺少决定日期；日期无效', '{"decision_no":"0012"}'::json)""",
    ])
    _held_back(warned, ["""(4, ['amount_high'], '罚款金额过高，请核实', '{"fine_amount":"1e9"}'::json)"""])

    path = write_batch_feedback(home, _batch(), rejected, warned)

    wb = load_workbook(path)
    summary = dict(wb["汇总"].iter_rows(values_only=True))
    assert summary["报送部门"] == "盘锦市市场监督管理局" and summary["数据行数"] == 5
    assert (summary["退回行数"], summary["提示行数（已入库，请核实）"]) == (2, 1)
    detail = list(wb["退回明细"].iter_rows())
    assert [c.value for c in detail[0]] == ["行号", "问题规则", "原因说明", "填报内容"]
    assert [(r[0].value, r[1].value) for r in detail[1:]] == [(3, "required，date"), (9, "uscc_check")]
    # the submitted row is the JSON text as sent, a string cell
    cell = detail[2][3]
    assert cell.data_type == "s" and cell.value == '{"uscc":"=HYPERLINK(\\"http://x\\")"}'
    assert [c.value for c in list(wb["提示明细"].iter_rows())[1]] == [4, "amount_high", "罚款金额过高，请核实",
                                                                     '{"fine_amount":"1e9"}']


def test_feedback_for_a_rejected_file_gives_the_reason(home):
    path = write_batch_feedback(home, _batch(status="rejected", rows=0, reason="文件无法读取：不是有效的表格文件"),
                                None, None)
    wb = load_workbook(path)
    summary = dict(wb["汇总"].iter_rows(values_only=True))
    assert summary["处理结果"] == "整个文件被退回" and summary["退回原因"] == "文件无法读取：不是有效的表格文件"
    assert list(wb["退回明细"].iter_rows(values_only=True)) == [("行号", "问题规则", "原因说明", "填报内容")]


def test_gx_samples_share_one_database_per_process():
    """The GX worker reads each record type's sample through a cursor of one database (opening one costs ~17 ms)."""
    from pipelines.validate.sql import shared_cursor

    a, b = shared_cursor(), shared_cursor()
    a.execute("create or replace table seen as select 42 as answer")
    assert b.sql("select answer from seen").fetchall() == [(42,)]              # the same database
    assert b.sql("select norm_code(' 91211100mA0q12343c ')").fetchall()[0][0]  # with the project's macros
    a.execute("drop table seen")
