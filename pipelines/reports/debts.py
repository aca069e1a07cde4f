"""Debt-clearance (清欠) reports: the monthly statistics and the annual overdue-contract disclosure (domain.md §5).

Everything is computed from the LATEST internal export, never the warehouse file (which has one writer): the
export's ledger and payment history (``history/debt_ledger``, ``history/debt_payment`` parts, through
exports.history_relation) is read into an in-memory DuckDB and the pass's own rule model
(warehouse/marts/debt_ledger_status.sql) is evaluated there for each month end, so the report and the published
``debt_ledger.parquet`` can never disagree. A month end after the export's as_of is capped at that as_of (the
month is reported "so far").

Amounts are 万元 DECIMAL with 4 decimals end to end; ratios are exact, rounded half-up to 4 decimals.

    reports/debts/<YYYY-MM>/debt_report.parquet       per debtor body and 合计 on the month end
    reports/debts/<YYYY-MM>/debt_report_ytd.parquet   the same for every month end Jan..month
    reports/debts/<YYYY-MM>/debt_items.parquet        every ledger item on the month end
    reports/debts/<YYYY-MM>/debt_report.xlsx          月度汇总 / 本年逐月 / 台账明细, ready to forward
    reports/debts/<YYYY-MM>/debt_report.html          self-contained page with inline SVG charts
    reports/debts/annual/<YYYY>/overdue_contracts.parquet (+ overdue_contract_items.parquet, .xlsx)
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from pipelines.home import Home
from pipelines.validate.sql import WAREHOUSE_DIR, connect, lit, run

DEBT_MODELS = (WAREHOUSE_DIR / "marts" / "debt_payments_checked.sql", WAREHOUSE_DIR / "marts" / "debt_ledger_status.sql")
Q4 = Decimal("0.0001")
ZERO = Decimal("0.0000")

# Per-scope measures, in report order, with their Chinese headers (the xlsx/HTML headers).
MEASURES = {
    "items": "台账笔数",
    "amount": "欠款总额（万元）",
    "repaid_in_month": "本月清偿金额（万元）",
    "repaid_ytd": "本年累计清偿金额（万元）",
    "repaid_cumulative": "累计清偿金额（万元）",
    "outstanding_amount": "未清偿余额（万元）",
    "open_items": "未清偿笔数（余量）",
    "overdue_items": "逾期未清偿笔数",
    "overdue_amount": "逾期未清偿金额（万元）",
    "litigation_items": "诉讼或仲裁中笔数",
    "disputed_items": "存在争议笔数",
    "repayment_rate": "清偿率",
    "late_interest_amount": "逾期利息（万元）",
    "gov_dishonesty_items": "政务失信笔数",
}
BODY_HEADERS = {"debtor_name": "欠款单位名称", "debtor_uscc": "统一社会信用代码", "debtor_type": "单位类型"}
COUNT_MEASURES = ("items", "open_items", "overdue_items", "litigation_items", "disputed_items",
                  "gov_dishonesty_items")
ITEM_HEADERS = {
    "ledger_no": "台账编号", "debtor_name": "欠款单位名称", "debtor_uscc": "欠款单位统一社会信用代码",
    "creditor_name": "债权企业名称", "contract_no": "合同编号", "amount": "欠款金额（万元）",
    "repaid_amount": "累计清偿金额（万元）", "outstanding_amount": "未清偿余额（万元）", "status": "清偿状态",
    "due_date": "应付款日期", "overdue_days": "逾期天数", "is_disputed": "存在争议", "is_in_litigation": "诉讼或仲裁中",
    "late_interest_amount": "逾期利息（万元）", "is_gov_dishonesty": "政务失信",
}
ANNUAL_HEADERS = {
    "debtor_name": "单位名称", "debtor_uscc": "统一社会信用代码", "debtor_type": "单位类型",
    "overdue_contracts": "逾期合同数量（份）", "overdue_amount": "逾期未支付金额（万元）",
    "year_end_outstanding": "截至年末仍未支付金额（万元）", "litigation_contracts": "另有诉讼或仲裁中合同（份）",
}
NOTES = [
    "清偿率 = 累计清偿金额 ÷ 欠款总额，四舍五入保留四位小数。",
    "逾期未清偿笔数、金额不含进入诉讼或仲裁程序的台账；存在争议的台账照常计入并单独列示。",
    "应付款日期：约定验收的自验收日起算，否则自交付日起算；机关、事业单位未约定的30天、约定的不超过60天，"
    "国有企业及其他大型企业未约定的60天（《保障中小企业款项支付条例》）。",
    "逾期利息：台账未约定利率，按每日万分之五计算；部分清偿的，自清偿次日起按剩余未清偿金额计算。",
    "政务失信：无争议、未进入诉讼或仲裁、逾期超过90天仍未清偿的台账。",
    "超过欠款金额的清偿记录已退回报送单位，不计入本表。",
]
CJK_FONTS = ('"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei", '
             '"Microsoft YaHei", "PingFang SC", "Hiragino Sans GB", "SimHei", sans-serif')


@dataclass
class DebtReport:
    month: str                       # YYYY-MM
    as_of: date                      # the month end, capped at the export's as_of
    export_version: str
    export_as_of: date
    bodies: list[dict]               # one row per debtor body
    total: dict                      # 合计
    ytd: list[dict]                  # one row per (month, scope) for Jan..month; scope 'total' or 'debtor'
    items: list[dict] = field(default_factory=list)
    paths: dict[str, Path] = field(default_factory=dict)

    @property
    def ytd_totals(self) -> list[dict]:
        return [r for r in self.ytd if r["scope"] == "total"]


# ---------------------------------------------------------------------------------------------- computing

def _latest(home: Home) -> tuple[Path, dict]:
    """The latest internal export version directory and its manifest."""
    from pipelines.rules.pointintime import latest_internal

    version_dir = latest_internal(home)
    return version_dir, json.loads((version_dir / "manifest.json").read_text(encoding="utf-8"))


def _debt_connection(version_dir: Path) -> duckdb.DuckDBPyConnection:
    """In-memory DuckDB with the export's ledger and payment history and the current-version views."""
    from pipelines.merge.warehouse import create_current_views
    from pipelines.publish.exports import history_relation, history_types

    con = connect()
    held = history_types(version_dir)
    for rt in ("debt_ledger", "debt_payment"):
        if rt in held:
            run(con, f"create table {rt}_history as {history_relation(version_dir, rt)}")
    create_current_views(con)
    return con


def _evaluate(con: duckdb.DuckDBPyConnection, as_of: date) -> None:
    run(con, f"set variable as_of = date '{as_of.isoformat()}'")
    for model in DEBT_MODELS:
        run(con, model.read_text(encoding="utf-8"))


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    rel = con.sql(sql)
    return [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """numerator ÷ denominator, exact, rounded half-up to 4 decimals (None when nothing is owed)."""
    if not denominator:
        return None
    n, d = int(numerator * 10000), int(denominator * 10000)   # both carry 4 decimals: exact integers
    return Decimal((2 * n * 10000 + d) // (2 * d)).scaleb(-4)


def _month_bounds(month: str) -> tuple[date, date]:
    if not re.fullmatch(r"\d{4}-\d{2}", month):
        raise ValueError(f"month must be YYYY-MM, got {month!r}")
    start = date.fromisoformat(month + "-01")
    end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return start, end


SCOPE_SQL = """
with s as (
    select s.*, g.ledger_no is not null as is_gov_dishonesty
    from debt_ledger_status as s
    left join gov_dishonesty as g using (ledger_no)
),

paid as (
    select
        ledger_no,
        sum(amount) filter (payment_date >= {month_start}) as repaid_in_month,
        sum(amount) filter (payment_date >= {year_start}) as repaid_ytd
    from debt_payments_checked
    where problem is null and payment_date <= {ref}
    group by all
)

select
    grouping(debtor_uscc) = 1 as is_total,
    debtor_uscc,
    arg_max(debtor_name, registered_date) as debtor_name,
    arg_max(debtor_type, registered_date) as debtor_type,
    count(*) as items,
    sum(amount)::decimal(18, 4) as amount,
    coalesce(sum(repaid_in_month), 0)::decimal(18, 4) as repaid_in_month,
    coalesce(sum(repaid_ytd), 0)::decimal(18, 4) as repaid_ytd,
    sum(repaid_amount)::decimal(18, 4) as repaid_cumulative,
    sum(outstanding_amount)::decimal(18, 4) as outstanding_amount,
    count(*) filter (outstanding_amount > 0) as open_items,
    count(*) filter (in_overdue_count) as overdue_items,
    coalesce(sum(outstanding_amount) filter (in_overdue_count), 0)::decimal(18, 4) as overdue_amount,
    count(*) filter (outstanding_amount > 0 and is_in_litigation) as litigation_items,
    count(*) filter (outstanding_amount > 0 and is_disputed) as disputed_items,
    sum(late_interest_amount)::decimal(18, 4) as late_interest_amount,
    count(*) filter (is_gov_dishonesty) as gov_dishonesty_items
from s
left join paid using (ledger_no)
group by grouping sets ((debtor_uscc), ())
"""


def _scopes(con: duckdb.DuckDBPyConnection, month_start: date, ref: date) -> tuple[list[dict], dict]:
    """Per-body rows and the 合计 row of the model currently evaluated for ref."""
    sql = SCOPE_SQL.format(month_start=lit(month_start.isoformat()) + "::date",
                           year_start=lit(date(ref.year, 1, 1).isoformat()) + "::date",
                           ref=lit(ref.isoformat()) + "::date")
    bodies, total = [], None
    for r in _rows(con, sql):
        r["repayment_rate"] = ratio(r["repaid_cumulative"], r["amount"])
        if r.pop("is_total"):
            r.update(debtor_uscc=None, debtor_name="合计", debtor_type=None)
            total = r
        else:
            bodies.append(r)
    if total is None:  # no ledger item registered yet
        total = {"debtor_uscc": None, "debtor_name": "合计", "debtor_type": None,
                 **{k: 0 if k in COUNT_MEASURES else (None if k == "repayment_rate" else ZERO) for k in MEASURES}}
    bodies.sort(key=lambda r: (-r["overdue_amount"], -r["outstanding_amount"], r["debtor_uscc"]))
    return bodies, total


def debt_report(home: Home | str | Path, month: str, write: bool = True) -> DebtReport:
    """The monthly debt-clearance report for month (YYYY-MM) from the latest internal export; writes its files."""
    home = home if isinstance(home, Home) else Home.resolve(home)
    month_start, month_end = _month_bounds(month)
    version_dir, manifest = _latest(home)
    export_as_of = date.fromisoformat(manifest["as_of"])
    if export_as_of < month_start:
        raise ValueError(f"the latest internal export ({manifest['version']}) is evaluated for {export_as_of}, "
                         f"before {month}: run a pass with a later --as-of first")
    ref = min(month_end, export_as_of)
    con = _debt_connection(version_dir)
    try:
        ytd: list[dict] = []
        for m in range(1, month_start.month + 1):
            m_start = date(month_start.year, m, 1)
            m_ref = min(_month_bounds(m_start.strftime("%Y-%m"))[1], ref)
            _evaluate(con, m_ref)
            bodies, total = _scopes(con, m_start, m_ref)
            for scope, rows in (("total", [total]), ("debtor", bodies)):
                ytd += [{"month": m_start.strftime("%Y-%m"), "as_of": m_ref, "scope": scope, **r} for r in rows]
        # the model now holds the report month's month end
        items = _rows(con, """
            select s.*, g.ledger_no is not null as is_gov_dishonesty
            from debt_ledger_status as s left join gov_dishonesty as g using (ledger_no)
            order by s.debtor_uscc, s.ledger_no""")
    finally:
        con.close()
    report = DebtReport(month, ref, manifest["version"], export_as_of, bodies, total, ytd, items)
    if write:
        write_debt_report(home, report)
    return report


# ---------------------------------------------------------------------------------------------- writing

def _atomic(path: Path, write: Callable[[Path], object]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _arrow_type(name: str):
    import pyarrow as pa

    if name in COUNT_MEASURES or name in ("overdue_days", "overdue_contracts", "litigation_contracts"):
        return pa.int64()
    if name == "repayment_rate":
        return pa.decimal128(9, 4)
    if name.endswith("amount") or name in ("repaid_in_month", "repaid_ytd", "repaid_cumulative", "overdue_unpaid",
                                           "year_end_outstanding"):
        return pa.decimal128(18, 4)
    if name in ("as_of", "due_date"):
        return pa.date32()
    if name.startswith("is_"):
        return pa.bool_()
    return pa.string()


def _write_parquet(path: Path, rows: list[dict], columns: list[str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(c, _arrow_type(c)) for c in columns])
    table = pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in rows], schema=schema)
    _atomic(path, lambda p: pq.write_table(table, p, compression="zstd"))


def _cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _title(report: DebtReport) -> str:
    y, m = report.month.split("-")
    return f"{y}年{int(m)}月清欠工作情况月报表"


def _subtitle(report: DebtReport) -> str:
    partial = "（本月尚未结束，为截至该日数据）" if report.as_of < _month_bounds(report.month)[1] else ""
    return (f"统计截止日期：{_cn_date(report.as_of)}{partial}    金额单位：万元    "
            f"数据版本：{report.export_version}")


def write_debt_report(home: Home, report: DebtReport) -> dict[str, Path]:
    out = home.root / "reports" / "debts" / report.month
    out.mkdir(parents=True, exist_ok=True)
    scope_cols = ["month", "as_of", "scope", "debtor_uscc", "debtor_name", "debtor_type", *MEASURES]
    month_rows = [{"month": report.month, "as_of": report.as_of, "scope": "debtor", **b} for b in report.bodies]
    month_rows.append({"month": report.month, "as_of": report.as_of, "scope": "total", **report.total})
    paths = {
        "parquet": out / "debt_report.parquet",
        "ytd_parquet": out / "debt_report_ytd.parquet",
        "items_parquet": out / "debt_items.parquet",
        "xlsx": out / "debt_report.xlsx",
        "html": out / "debt_report.html",
    }
    _write_parquet(paths["parquet"], month_rows, scope_cols)
    _write_parquet(paths["ytd_parquet"], report.ytd, scope_cols)
    item_cols = ["ledger_no", "debtor_uscc", "debtor_name", "debtor_type", "creditor_uscc", "creditor_name",
                 "contract_no", "amount", "repaid_amount", "outstanding_amount", "status", "due_date",
                 "overdue_days", "is_disputed", "is_in_litigation", "late_interest_amount", "is_gov_dishonesty"]
    _write_parquet(paths["items_parquet"], report.items, item_cols)
    _atomic(paths["xlsx"], lambda p: _monthly_workbook(report).save(p))
    _atomic(paths["html"], lambda p: p.write_text(render_html(report), encoding="utf-8"))
    report.paths = paths
    return paths


# xlsx -----------------------------------------------------------------------------------------------------

def _sheet(wb, title: str, heading: str, subheading: str, headers: list[str], rows: list[list],
           formats: list[str | None], total_last: bool = False, notes: list[str] | None = None):
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)
    n = len(headers)
    ws.append([heading])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=n)
    ws["A1"].font = Font(bold=True, size=16)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 30
    ws.append([subheading])
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=n)
    ws["A2"].alignment = Alignment(horizontal="left")
    ws.append(headers)
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for cell in ws[3]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = border
    ws.row_dimensions[3].height = 36
    for i, row in enumerate(rows):
        ws.append(row)
        # ws.max_row and ws[row] scan every cell (quadratic on big sheets): address cells directly.
        for j in range(n):
            cell = ws.cell(row=4 + i, column=j + 1)
            cell.border = border
            if formats[j]:
                cell.number_format = formats[j]
            if total_last and i == len(rows) - 1:
                cell.font = Font(bold=True)
    for j, h in enumerate(headers, 1):
        width = max([len(h) * 1.6 + 2] + [len(str(r[j - 1])) * (1.8 if j == 1 else 1.2) + 2
                                           for r in rows if r[j - 1] is not None])
        ws.column_dimensions[get_column_letter(j)].width = min(max(width, 10), 40)
    ws.freeze_panes = "B4"
    if notes:
        ws.append([])
        ws.append(["说明："])
        for note in notes:
            ws.append([note])
    ws.print_title_rows = "3:3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    return ws


def _fmt(name: str) -> str | None:
    if name == "repayment_rate":
        return "0.00%"
    if name in COUNT_MEASURES or name in ("overdue_days", "overdue_contracts", "litigation_contracts"):
        return "0"
    if _arrow_type(name) == _arrow_type("amount"):
        return "0.0000"
    return None


def _cell(v):
    if isinstance(v, bool):
        return "是" if v else "否"
    return v


def _monthly_workbook(report: DebtReport):
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    y, m = report.month.split("-")
    cols = list(BODY_HEADERS) + list(MEASURES)
    rows = [[_cell(r.get(c)) for c in cols] for r in [*report.bodies, report.total]]
    _sheet(wb, "月度汇总", _title(report), _subtitle(report),
           [BODY_HEADERS.get(c) or MEASURES[c] for c in cols], rows, [_fmt(c) for c in cols],
           total_last=True, notes=NOTES)
    ycols = ["month", "as_of", "items", "amount", "repaid_in_month", "repaid_cumulative", "outstanding_amount",
             "open_items", "overdue_items", "overdue_amount", "repayment_rate"]
    yheads = {"month": "月份", "as_of": "统计截止日期", "repaid_in_month": "当月清偿金额（万元）"}
    _sheet(wb, "本年逐月", f"{y}年1—{int(m)}月清欠工作进度（合计）", _subtitle(report),
           [yheads.get(c) or MEASURES[c] for c in ycols],
           [[r["as_of"].isoformat() if c == "as_of" else r[c] for c in ycols] for r in report.ytd_totals],
           [None if c in ("month", "as_of") else _fmt(c) for c in ycols])
    icols = list(ITEM_HEADERS)
    _sheet(wb, "台账明细", f"{y}年{int(m)}月清欠台账明细", _subtitle(report), list(ITEM_HEADERS.values()),
           [[r[c].isoformat() if c == "due_date" else _cell(r[c]) for c in icols] for r in report.items],
           [_fmt(c) for c in icols])
    return wb


# HTML -----------------------------------------------------------------------------------------------------

def _num(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, Decimal):
        return f"{v:.4f}"
    return str(v)


def _pct(v: Decimal | None) -> str:
    return "—" if v is None else f"{v * 100:.2f}%"


def _nice_max(v: float) -> tuple[float, float]:
    """A round axis maximum and step for values up to v (5 ticks or so)."""
    if v <= 0:
        return 1.0, 0.2
    raw = v / 5
    mag = 10 ** math.floor(math.log10(raw))
    step = next(s * mag for s in (1, 2, 2.5, 5, 10) if s * mag >= raw)
    return step * math.ceil(v / step), step


def _short(v: Decimal) -> str:
    """A chart label: whole 万元 from 1,000 up, else 2 decimals (the tables carry the exact 4 decimals)."""
    if not v:
        return "0"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.2f}"


def _tick(v: float) -> str:
    return f"{v:,.0f}" if v >= 10 or v == 0 else f"{v:g}"


def _chart_cumulative(report: DebtReport) -> str:
    """Columns: cumulative repaid and repaid in the month, per month Jan..month; dashed line: total owed."""
    rows = report.ytd_totals
    w, h, left, right, top, bottom = 860, 380, 90, 20, 70, 50
    pw, ph = w - left - right, h - top - bottom
    top_value = max([float(r["amount"]) for r in rows] + [float(r["repaid_cumulative"]) for r in rows] + [0])
    vmax, step = _nice_max(top_value)
    y = lambda v: top + ph - ph * float(v) / vmax  # noqa: E731
    slot = pw / max(len(rows), 1)
    bw = min(slot * 0.32, 40)
    parts = [f'<svg class="chart" viewBox="0 0 {w} {h}" role="img" '
             f'aria-label="累计清偿金额逐月变化">']
    ticks = int(round(vmax / step))
    for i in range(ticks + 1):
        v = step * i
        parts.append(f'<line x1="{left}" x2="{w - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>'
                     f'<text x="{left - 8}" y="{y(v) + 4:.1f}" class="axis" text-anchor="end">{_tick(v)}</text>')
    parts.append(f'<text x="{left - 8}" y="{top - 16}" class="axis" text-anchor="end">万元</text>')
    points = []
    for i, r in enumerate(rows):
        cx = left + slot * (i + 0.5)
        cum, mon = r["repaid_cumulative"], r["repaid_in_month"]
        parts.append(f'<rect x="{cx - bw - 2:.1f}" y="{y(cum):.1f}" width="{bw:.1f}" '
                     f'height="{top + ph - y(cum):.1f}" class="bar-cum"><title>{r["month"]} 累计清偿 {_num(cum)} 万元'
                     f'</title></rect>')
        parts.append(f'<rect x="{cx + 2:.1f}" y="{y(mon):.1f}" width="{bw:.1f}" height="{top + ph - y(mon):.1f}" '
                     f'class="bar-month"><title>{r["month"]} 当月清偿 {_num(mon)} 万元</title></rect>')
        parts.append(f'<text x="{cx - bw / 2 - 2:.1f}" y="{y(cum) - 6:.1f}" class="value" '
                     f'text-anchor="middle">{_short(cum)}</text>')
        parts.append(f'<text x="{cx:.1f}" y="{top + ph + 20}" class="axis" text-anchor="middle">'
                     f'{int(r["month"][5:])}月</text>')
        points.append(f"{cx:.1f},{y(r['amount']):.1f}")
    if points:
        parts.append(f'<polyline points="{" ".join(points)}" class="owed"/>')
        parts += [f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="3.5" class="owed-dot"/>' for p in points]
    parts.append(f'<line x1="{left}" x2="{w - right}" y1="{top + ph}" y2="{top + ph}" class="baseline"/>')
    lx = left + 10
    parts.append(f'<rect x="{lx}" y="12" width="14" height="14" class="bar-cum"/>'
                 f'<text x="{lx + 20}" y="24" class="legend">累计清偿金额</text>'
                 f'<rect x="{lx + 140}" y="12" width="14" height="14" class="bar-month"/>'
                 f'<text x="{lx + 160}" y="24" class="legend">当月清偿金额</text>'
                 f'<line x1="{lx + 280}" x2="{lx + 306}" y1="19" y2="19" class="owed"/>'
                 f'<text x="{lx + 314}" y="24" class="legend">欠款总额（月末已登记）</text>')
    parts.append("</svg>")
    return "".join(parts)


def _chart_open_items(report: DebtReport, limit: int = 20) -> str:
    """Horizontal stacked bars per debtor body: overdue / in litigation / not yet due open items (余量)."""
    bodies = sorted([b for b in report.bodies if b["open_items"]],
                    key=lambda b: (-b["open_items"], -b["overdue_items"], b["debtor_uscc"]))
    shown, rest = bodies[:limit], len(bodies) - limit
    if not shown:
        return '<p class="empty">本月末无未清偿台账。</p>'
    label_w, w, bar_h, gap, top = 300, 860, 24, 12, 44
    pw = w - label_w - 70
    h = top + len(shown) * (bar_h + gap) + 30
    vmax = max(b["open_items"] for b in shown)
    scale = pw / vmax
    parts = [f'<svg class="chart" viewBox="0 0 {w} {h}" role="img" '
             f'aria-label="各单位未清偿笔数">']
    cats = (("overdue", "逾期未清偿", "seg-overdue"), ("litigation", "诉讼或仲裁中", "seg-litigation"),
            ("current", "未到期", "seg-current"))
    lx = label_w
    for _, name, css in cats:
        parts.append(f'<rect x="{lx}" y="12" width="14" height="14" class="{css}"/>'
                     f'<text x="{lx + 20}" y="24" class="legend">{name}</text>')
        lx += 130
    for i, b in enumerate(shown):
        yy = top + i * (bar_h + gap)
        name = b["debtor_name"] if len(b["debtor_name"]) <= 18 else b["debtor_name"][:17] + "…"
        parts.append(f'<text x="{label_w - 10}" y="{yy + bar_h / 2 + 5:.1f}" class="label" text-anchor="end">'
                     f'{html.escape(name)}</text>')
        seg = {"overdue": b["overdue_items"], "litigation": b["litigation_items"],
               "current": b["open_items"] - b["overdue_items"] - b["litigation_items"]}
        x = label_w
        for key, name_, css in cats:
            if seg[key] > 0:
                parts.append(f'<rect x="{x:.1f}" y="{yy}" width="{seg[key] * scale:.1f}" height="{bar_h}" '
                             f'class="{css}"><title>{html.escape(b["debtor_name"])} {name_} {seg[key]} 笔</title></rect>')
                x += seg[key] * scale
        parts.append(f'<text x="{x + 8:.1f}" y="{yy + bar_h / 2 + 5:.1f}" class="value">{b["open_items"]} 笔</text>')
    parts.append("</svg>")
    if rest > 0:
        parts.append(f'<p class="note">另有 {rest} 个单位有未清偿台账，见下表。</p>')
    return "".join(parts)


CSS = """
body { font-family: %(fonts)s; color: #1f2933; margin: 24px auto; max-width: 1360px; padding: 0 16px;
       background: #fff; line-height: 1.5; }
h1 { font-size: 26px; margin: 0 0 4px; text-align: center; }
.sub { text-align: center; color: #52606d; margin: 0 0 20px; }
h2 { font-size: 19px; border-left: 5px solid #1f6fb2; padding-left: 10px; margin: 28px 0 12px; }
.kpis { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; }
.kpi { border: 1px solid #d9e2ec; border-radius: 6px; padding: 10px 12px; background: #f5f9fc; }
.kpi .k { color: #52606d; font-size: 13px; }
.kpi .v { font-size: 20px; font-weight: bold; font-variant-numeric: tabular-nums; }
.kpi .v.warn { color: #b3261e; }
table { border-collapse: collapse; width: 100%%; font-size: 12px; }
th, td { border: 1px solid #c4cdd5; padding: 4px 6px; }
th { background: #ddebf7; font-weight: bold; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.t { white-space: nowrap; }
td.t:first-child { white-space: normal; min-width: 10em; max-width: 16em; }
.sub span { margin: 0 12px; }
tr.total td { font-weight: bold; background: #f0f4f8; }
.chart { width: 100%%; max-width: 1000px; height: auto; display: block; margin: 0 auto; font-family: %(fonts)s; }
.scroll { overflow-x: auto; }
th { min-width: 3.2em; }
.chart .grid { stroke: #e4e7eb; } .chart .baseline { stroke: #7b8794; }
.chart .axis { font-size: 13px; fill: #52606d; } .chart .legend { font-size: 14px; fill: #1f2933; }
.chart .value { font-size: 12px; fill: #1f2933; } .chart .label { font-size: 14px; fill: #1f2933; }
.bar-cum { fill: #1f6fb2; } .bar-month { fill: #f0a030; }
.owed { fill: none; stroke: #7b8794; stroke-width: 2; stroke-dasharray: 6 4; } .owed-dot { fill: #7b8794; }
.seg-overdue { fill: #d64545; } .seg-litigation { fill: #9aa5b1; } .seg-current { fill: #3e8ed0; }
.notes { color: #52606d; font-size: 13px; } .note, .empty { color: #52606d; }
"""


def _table(headers: list[str], rows: list[list], numeric: list[bool], total_last: bool = False,
           titles: list[str] | None = None) -> str:
    out = ["<table><thead><tr>", *(f"<th>{html.escape(h)}</th>" for h in headers), "</tr></thead><tbody>"]
    for i, r in enumerate(rows):
        cls = ' class="total"' if total_last and i == len(rows) - 1 else ""
        title = f' title="{html.escape(titles[i])}"' if titles and titles[i] else ""
        out.append(f"<tr{cls}{title}>" + "".join(
            f'<td class="n">{html.escape(str(v))}</td>' if numeric[j] else f'<td class="t">{html.escape(str(v))}</td>'
            for j, v in enumerate(r)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _display(name: str, v) -> str:
    if name == "repayment_rate":
        return _pct(v)
    if isinstance(v, bool):
        return "是" if v else "否"
    return _num(v) if v is not None else ""


def render_html(report: DebtReport) -> str:
    t = report.total
    warn = " warn" if t["overdue_items"] else ""
    kpis = [("欠款总额（万元）", _num(t["amount"]), ""), ("累计清偿（万元）", _num(t["repaid_cumulative"]), ""),
            ("本月清偿（万元）", _num(t["repaid_in_month"]), ""), ("清偿率", _pct(t["repayment_rate"]), ""),
            ("余量（未清偿笔数）", str(t["open_items"]), ""), ("逾期未清偿笔数", str(t["overdue_items"]), warn),
            ("逾期未清偿金额（万元）", _num(t["overdue_amount"]), warn),
            ("政务失信笔数", str(t["gov_dishonesty_items"]), " warn" if t["gov_dishonesty_items"] else "")]
    cols = ["debtor_name", "debtor_type", *MEASURES]   # the USCC is in the xlsx and the name's tooltip
    body_rows = [[_display(c, r.get(c)) for c in cols] for r in [*report.bodies, t]]
    numeric = [c in MEASURES for c in cols]
    ycols = ["month", "as_of", "amount", "repaid_in_month", "repaid_cumulative", "open_items", "overdue_items",
             "overdue_amount", "repayment_rate"]
    yheads = {"month": "月份", "as_of": "统计截止日期", "repaid_in_month": "当月清偿金额（万元）"}
    y_rows = [[r["as_of"].isoformat() if c == "as_of" else _display(c, r[c]) for c in ycols]
              for r in report.ytd_totals]
    y, m = report.month.split("-")
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(_title(report))}</title>
<style>{CSS % {"fonts": CJK_FONTS}}</style>
</head>
<body>
<h1>{html.escape(_title(report))}</h1>
<p class="sub">{"".join(f"<span>{html.escape(s)}</span>" for s in _subtitle(report).split("    "))}</p>
<div class="kpis">{"".join(f'<div class="kpi"><div class="k">{k}</div><div class="v{c}">{html.escape(v)}</div></div>'
                          for k, v, c in kpis)}</div>
<h2 id="trend">{y}年1—{int(m)}月累计清偿金额</h2>
{_chart_cumulative(report)}
<h2 id="open">各单位未清偿笔数（余量）</h2>
{_chart_open_items(report)}
<h2 id="bodies">分单位情况</h2>
<div class="scroll">{_table([BODY_HEADERS.get(c) or MEASURES[c] for c in cols], body_rows, numeric, total_last=True,
                            titles=[r.get("debtor_uscc") or "" for r in [*report.bodies, t]])}</div>
<h2 id="ytd">本年逐月情况（合计）</h2>
{_table([yheads.get(c) or MEASURES[c] for c in ycols], y_rows, [c not in ("month", "as_of") for c in ycols])}
<div class="notes"><p>说明：</p><ol>{"".join(f"<li>{html.escape(n)}</li>" for n in NOTES)}</ol></div>
</body>
</html>
"""


# ---------------------------------------------------------------------------------------------- annual

ANNUAL_SQL = """
with s as (
    select *, greatest(due_date + 1, {year_start}) as first_overdue_day from debt_ledger_status
),

paid_before as (
    -- what was repaid before the item's first overdue day within the year
    select s.ledger_no, coalesce(sum(p.amount), 0) as paid
    from s
    left join debt_payments_checked as p
        on p.ledger_no = s.ledger_no and p.problem is null and p.payment_date < s.first_overdue_day
    group by all
),

items as (
    select
        s.*,
        (s.amount - b.paid)::decimal(18, 4) as overdue_unpaid,
        s.first_overdue_day <= {year_end} and s.amount - b.paid > 0 as overdue_in_year
    from s
    join paid_before as b using (ledger_no)
)

select * from items
"""


def annual_rows(home: Home | str | Path, year: int) -> tuple[list[dict], list[dict], date, str]:
    """Per body: contracts overdue at any time in year-1 (the list to publish by 31 March of year), and the items.

    A contract counts when it had an overdue unpaid amount on some day of the year (in-litigation contracts are
    counted apart); its amount is that overdue unpaid amount at its first overdue day of the year (the most that
    was overdue during the year), beside what was still unpaid at the year end.
    """
    home = home if isinstance(home, Home) else Home.resolve(home)
    covered = year - 1
    version_dir, manifest = _latest(home)
    export_as_of = date.fromisoformat(manifest["as_of"])
    if export_as_of < date(covered, 1, 1):
        raise ValueError(f"the latest internal export is evaluated for {export_as_of}, before {covered}: "
                         "run a pass with a later --as-of first")
    ref = min(date(covered, 12, 31), export_as_of)
    con = _debt_connection(version_dir)
    try:
        _evaluate(con, ref)
        items = _rows(con, ANNUAL_SQL.format(year_start=lit(f"{covered}-01-01") + "::date",
                                             year_end=lit(ref.isoformat()) + "::date")
                      + " order by debtor_uscc, ledger_no")
    finally:
        con.close()
    bodies: dict[str, dict] = {}
    for it in items:
        b = bodies.setdefault(it["debtor_uscc"], {"debtor_uscc": it["debtor_uscc"], "debtor_name": it["debtor_name"],
                                                  "debtor_type": it["debtor_type"], "overdue_contracts": 0,
                                                  "overdue_amount": ZERO, "year_end_outstanding": ZERO,
                                                  "litigation_contracts": 0})
        b["debtor_name"], b["debtor_type"] = it["debtor_name"], it["debtor_type"]
        if not it["overdue_in_year"]:
            continue
        if it["is_in_litigation"]:
            b["litigation_contracts"] += 1
        else:
            b["overdue_contracts"] += 1
            b["overdue_amount"] += it["overdue_unpaid"]
            b["year_end_outstanding"] += it["outstanding_amount"]
    rows = sorted(bodies.values(), key=lambda b: (-b["overdue_contracts"], -b["overdue_amount"], b["debtor_uscc"]))
    overdue_items = [it for it in items if it["overdue_in_year"]]
    return rows, overdue_items, ref, manifest["version"]


def annual_disclosure(home: Home | str | Path, year: int) -> Path:
    """Write reports/debts/annual/<year>/: overdue contracts of year-1 per body (Parquet + xlsx); returns the dir."""
    from openpyxl import Workbook

    home = home if isinstance(home, Home) else Home.resolve(home)
    rows, items, ref, version = annual_rows(home, year)
    covered = year - 1
    out = home.root / "reports" / "debts" / "annual" / str(year)
    out.mkdir(parents=True, exist_ok=True)
    total = {"debtor_uscc": None, "debtor_name": "合计", "debtor_type": None,
             **{k: sum((r[k] for r in rows), ZERO if k.endswith(("amount", "outstanding")) else 0)
                for k in ("overdue_contracts", "overdue_amount", "year_end_outstanding", "litigation_contracts")}}
    cols = list(ANNUAL_HEADERS)
    _write_parquet(out / "overdue_contracts.parquet",
                   [{"year": str(covered), "as_of": ref, **r} for r in [*rows, total]], ["year", "as_of", *cols])
    item_cols = ["ledger_no", "debtor_uscc", "debtor_name", "creditor_uscc", "creditor_name", "contract_no",
                 "amount", "due_date", "overdue_unpaid", "outstanding_amount", "is_disputed", "is_in_litigation"]
    _write_parquet(out / "overdue_contract_items.parquet", items, item_cols)

    wb = Workbook()
    wb.remove(wb.active)
    sub = (f"统计期间：{covered}年1月1日至{_cn_date(ref)}    金额单位：万元    应于{year}年3月31日前公开    "
           f"数据版本：{version}")
    notes = ["逾期合同：统计年度内任一日存在逾期未支付款项的合同；逾期未支付金额为该合同在年度内的最大逾期未支付金额。",
             "进入诉讼或仲裁程序的合同单独列示，不计入逾期合同数量和金额。",
             "应付款日期口径同月报表（《保障中小企业款项支付条例》）。"]
    _sheet(wb, "逾期合同情况", f"{covered}年度逾期未支付中小企业款项合同情况", sub,
           list(ANNUAL_HEADERS.values()), [[_cell(r[c]) for c in cols] for r in [*rows, total]],
           [_fmt(c) if c != "year_end_outstanding" else "0.0000" for c in cols], total_last=True, notes=notes)
    iheads = {"ledger_no": "台账编号", "debtor_name": "欠款单位名称", "debtor_uscc": "欠款单位统一社会信用代码",
              "creditor_name": "债权企业名称", "contract_no": "合同编号", "amount": "欠款金额（万元）",
              "due_date": "应付款日期", "overdue_unpaid": "逾期未支付金额（万元）",
              "outstanding_amount": "年末未支付金额（万元）", "is_disputed": "存在争议", "is_in_litigation": "诉讼或仲裁中"}
    _sheet(wb, "合同明细（内部）", f"{covered}年度逾期合同明细（内部使用，不对外公开）", sub, list(iheads.values()),
           [[it[c].isoformat() if c == "due_date" else _cell(it[c]) for c in iheads] for it in items],
           ["0.0000" if c in ("amount", "overdue_unpaid", "outstanding_amount") else None for c in iheads])
    _atomic(out / "overdue_contracts.xlsx", lambda p: wb.save(p))
    return out


# ---------------------------------------------------------------------------------------------- CLI

def _cmd_debts(args) -> int:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    try:
        report = debt_report(Home.resolve(args.home), args.month)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        return 2
    t = report.total
    table = Table(title=f"{_title(report)}  截至 {report.as_of}（万元）", title_justify="left")
    table.add_column("指标")
    table.add_column("合计", justify="right")
    for k, label in MEASURES.items():
        table.add_row(label, _display(k, t[k]))
    console.print(table)
    top = Table(title="逾期未清偿金额居前的单位", title_justify="left")
    for c in ("欠款单位名称", "余量", "逾期笔数", "逾期金额（万元）", "清偿率"):
        top.add_column(c, justify="left" if c == "欠款单位名称" else "right")
    for b in report.bodies[:10]:
        top.add_row(b["debtor_name"], str(b["open_items"]), str(b["overdue_items"]), _num(b["overdue_amount"]),
                    _pct(b["repayment_rate"]))
    console.print(top)
    for name, path in report.paths.items():
        console.print(f"  {name:<14} {path}")
    return 0


def _cmd_annual(args) -> int:
    from rich.console import Console

    console = Console()
    try:
        out = annual_disclosure(Home.resolve(args.home), args.year)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        return 2
    console.print(f"{args.year - 1}年度逾期合同情况（{args.year}年3月31日前公开）: {out}")
    for p in sorted(out.iterdir()):
        console.print(f"  {p.name}")
    return 0


def add_commands(sub) -> None:
    """Register `report debts --month YYYY-MM` and `report annual --year YYYY` on the credit CLI's subparsers."""
    import argparse

    if "report" in sub.choices:  # another report module registered `report` first: add to its subcommands
        rsub = next(a for a in sub.choices["report"]._actions if isinstance(a, argparse._SubParsersAction))
    else:
        p = sub.add_parser("report", help="credit office reports")
        p.add_argument("--home", default=argparse.SUPPRESS)
        rsub = p.add_subparsers(dest="report", required=True)
    d = rsub.add_parser("debts", help="monthly debt-clearance report: Parquet, xlsx and HTML")
    d.add_argument("--home", default=argparse.SUPPRESS)
    d.add_argument("--month", required=True, help="YYYY-MM")
    d.set_defaults(func=_cmd_debts)
    a = rsub.add_parser("annual", help="overdue contracts of the previous year, per body (publish by 31 March)")
    a.add_argument("--home", default=argparse.SUPPRESS)
    a.add_argument("--year", required=True, type=int, help="the disclosure year; covers the year before")
    a.set_defaults(func=_cmd_annual)
