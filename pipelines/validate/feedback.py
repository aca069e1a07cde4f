"""Feedback files for departments: which rows of their file were held back, and why, in Chinese."""

from __future__ import annotations

from pathlib import Path

import duckdb
from openpyxl import Workbook
from openpyxl.styles import Font

from pipelines.catalog import load_catalog
from pipelines.home import Home
from pipelines.ingest.files import Batch

ROW_HEADERS = ["行号", "问题规则", "原因说明", "填报内容"]


def _sheet_rows(path: Path) -> list[tuple]:
    if not path.exists():
        return []
    con = duckdb.connect()
    try:
        return con.sql(
            f"select row_number, array_to_string(rules, '，'), reasons, submitted::varchar "
            f"from read_parquet('{path}') order by row_number"
        ).fetchall()
    finally:
        con.close()


def write_batch_feedback(home: Home, batch: Batch, rejected_rows: Path | None, warned_rows: Path | None) -> Path:
    """One .xlsx per batch: a summary sheet, the rejected rows and the rows with warnings."""
    catalog = load_catalog()
    rejected = _sheet_rows(rejected_rows) if rejected_rows else []
    warned = _sheet_rows(warned_rows) if warned_rows else []
    wb = Workbook(write_only=True)
    summary = wb.create_sheet("汇总")
    dept = catalog.departments.get(batch.department)
    rt = catalog.record_types.get(batch.record_type or "")
    summary.append(["报送部门", dept.name if dept else batch.department])
    summary.append(["文件名", batch.file_name])
    summary.append(["信息类型", rt.zh if rt else "无法识别"])
    summary.append(["批次号", batch.batch_id])
    summary.append(["接收时间", batch.landed_at])
    if batch.status == "rejected":
        summary.append(["处理结果", "整个文件被退回"])
        summary.append(["退回原因", batch.reason])
    else:
        summary.append(["数据行数", batch.rows])
        summary.append(["退回行数", len(rejected)])
        summary.append(["提示行数（已入库，请核实）", len(warned)])
        if batch.unknown_columns:
            summary.append(["未识别的列（已保留，未使用）", "、".join(batch.unknown_columns)])
    for title, rows in (("退回明细", rejected), ("提示明细", warned)):
        ws = wb.create_sheet(title)
        from openpyxl.cell import WriteOnlyCell
        header = []
        for h in ROW_HEADERS:
            c = WriteOnlyCell(ws, value=h)
            c.font = Font(bold=True)
            header.append(c)
        ws.append(header)
        for r in rows:
            ws.append(list(r))
    out = home.feedback / batch.department / f"{batch.batch_id}_{Path(batch.file_name).stem}.xlsx"
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out
