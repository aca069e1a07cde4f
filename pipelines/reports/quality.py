"""Monthly department data-quality report: rows accepted and quarantined per department and record type.

Reads only the latest internal export's ``batches.parquet`` (so it never touches the warehouse file and
can run beside a pass) and writes, for one month of landing time (UTC):

    reports/quality/<YYYY-MM>/department_quality.parquet
    reports/quality/<YYYY-MM>/department_quality.xlsx     部门汇总 (per department) + 明细 (per record type)
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import date
from pathlib import Path

from pipelines.catalog import load_catalog
from pipelines.home import Home

COLUMNS = ["department", "department_name", "record_type", "record_type_name", "batches", "rejected_batches",
           "rows", "accepted", "quarantined", "quarantine_rate"]
HEADERS_ZH = {"department": "部门代码", "department_name": "部门名称", "record_type": "信息类型代码",
              "record_type_name": "信息类型", "batches": "报送批次数", "rejected_batches": "整批退回数",
              "rows": "数据行数", "accepted": "入库行数", "quarantined": "退回行数", "quarantine_rate": "退回率"}


def previous_month(day: date) -> str:
    """The month before day's month, as YYYY-MM (a report run on the 1st covers the month just ended)."""
    y, m = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    return f"{y:04d}-{m:02d}"


def _latest_internal(home: Home) -> Path | None:
    latest = home.exports / "internal" / "latest.json"
    if not latest.exists():
        return None
    return home.exports / "internal" / json.loads(latest.read_text(encoding="utf-8"))["path"]


def quality_rows(home: Home, month: str) -> list[dict]:
    """One row per department and record type with batches landed in month (YYYY-MM, UTC)."""
    import duckdb

    version = _latest_internal(home)
    if version is None or not (version / "batches.parquet").exists():
        return []
    date.fromisoformat(month + "-01")  # validates the month
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'").fetchall()
        rel = con.sql(
            "select department, coalesce(record_type, '') as record_type, count(*) as batches, "
            "count(*) filter (status = 'rejected') as rejected_batches, "
            "coalesce(sum(rows) filter (status = 'landed'), 0)::bigint as rows, "
            "coalesce(sum(accepted), 0)::bigint as accepted, coalesce(sum(quarantined), 0)::bigint as quarantined "
            f"from read_parquet('{version / 'batches.parquet'}') "
            "where strftime(landed_at::timestamptz, '%Y-%m') = $month group by all order by all",
            params={"month": month})
        rows = [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]
    finally:
        con.close()
    catalog = load_catalog()
    for r in rows:
        dept = catalog.departments.get(r["department"])
        rt = catalog.record_types.get(r["record_type"])
        r["department_name"] = dept.name if dept else "未登记部门"
        r["record_type_name"] = rt.zh if rt else "无法识别"
        r["quarantine_rate"] = round(r["quarantined"] / r["rows"], 4) if r["rows"] else None
    return [{c: r[c] for c in COLUMNS} for r in rows]


def _department_totals(rows: list[dict]) -> list[dict]:
    out: dict[str, dict] = {}
    for r in rows:
        t = out.setdefault(r["department"], {"department": r["department"], "department_name": r["department_name"],
                                             "batches": 0, "rejected_batches": 0, "rows": 0, "accepted": 0,
                                             "quarantined": 0})
        for k in ("batches", "rejected_batches", "rows", "accepted", "quarantined"):
            t[k] += r[k]
    for t in out.values():
        t["quarantine_rate"] = round(t["quarantined"] / t["rows"], 4) if t["rows"] else None
    return list(out.values())


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    write(tmp)
    os.replace(tmp, path)


def write_quality_report(home_dir: str | Path, month: str) -> dict:
    """Write the month's Parquet and xlsx (overwriting an earlier run for the same month); returns paths and totals."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from openpyxl import Workbook
    from openpyxl.styles import Font

    home = Home.resolve(home_dir)
    rows = quality_rows(home, month)
    out = home.root / "reports" / "quality" / month
    out.mkdir(parents=True, exist_ok=True)

    schema = pa.schema([("department", pa.string()), ("department_name", pa.string()), ("record_type", pa.string()),
                        ("record_type_name", pa.string()), ("batches", pa.int64()), ("rejected_batches", pa.int64()),
                        ("rows", pa.int64()), ("accepted", pa.int64()), ("quarantined", pa.int64()),
                        ("quarantine_rate", pa.float64())])
    table = pa.Table.from_pylist(rows, schema=schema)
    parquet = out / "department_quality.parquet"
    _atomic(parquet, lambda p: pq.write_table(table, p, compression="zstd"))

    wb = Workbook()
    bold = Font(bold=True)
    totals = _department_totals(rows)
    sheets = (("部门汇总", [c for c in COLUMNS if c not in ("record_type", "record_type_name")], totals),
              ("明细", COLUMNS, rows))
    for i, (title, cols, data) in enumerate(sheets):
        ws = wb.active if i == 0 else wb.create_sheet()
        ws.title = title
        ws.append([HEADERS_ZH[c] for c in cols])
        for cell in ws[1]:
            cell.font = bold
        for r in data:
            ws.append([r[c] for c in cols])
        if title == "部门汇总":
            ws.append([])
            ws.append([f"统计月份：{month}（按接收时间，UTC）"])
    xlsx = out / "department_quality.xlsx"
    _atomic(xlsx, lambda p: wb.save(p))
    return {"month": month, "parquet": str(parquet), "xlsx": str(xlsx), "departments": len(totals),
            "rows": sum(r["rows"] for r in rows), "quarantined": sum(r["quarantined"] for r in rows)}
