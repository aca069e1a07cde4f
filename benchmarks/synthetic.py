"""Synthetic penalty-like history for the design measurements (benchmarks.narrow_marts, benchmarks.history_reads)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import duckdb

from benchmarks import Meter


def scratch_args(name: str) -> argparse.Namespace:
    """ROWS and a fresh --work folder (default /tmp/<name>), emptied now."""
    ap = argparse.ArgumentParser(prog=f"python -m benchmarks.{name.replace('-', '_')}")
    ap.add_argument("rows", type=int)
    ap.add_argument("--work", type=Path, default=Path("/tmp") / name)
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    return args


def penalties_sql(rows: int) -> str:
    """A select of rows penalty-like versions: version_seq, record_id, subject_key (one per 12 rows), eight text and
    number columns of the penalties' sizes, decision_date."""
    subjects = max(1, rows // 12)
    return f"""select i as version_seq, md5(i::varchar)[1:20] as record_id,
        'K' || (hash(i) % {subjects})::varchar as subject_key,
        '某某市市场监督管理局行政处罚决定书' || i::varchar as decision_no,
        repeat('违法事实描述', 3 + (i % 7)::int) || i::varchar as violation_facts,
        repeat('处罚内容', 2 + (i % 5)::int) || i::varchar as penalty_content,
        '《中华人民共和国某某法》第' || (i % 97)::varchar || '条' as legal_basis,
        '公司名称' || (hash(i) % {subjects})::varchar as subject_name,
        (i % 100000)::decimal(18, 4) as fine_amount, date '2020-01-01' + (i % 2000)::int as decision_date
        from range({rows}) as t(i)"""


def timed(con: duckdb.DuckDBPyConnection, meter: Meter, label: str, sql: str) -> float:
    """Run sql as a stage of meter (wall, the process's peak RSS); print and return its wall seconds."""
    before = meter.stages[label].wall_s if label in meter.stages else 0.0
    with meter.stage(label):
        con.execute(sql)
    s = meter.stages[label]
    print(f"  {label}: {s.wall_s - before:.2f} s, peak {s.peak_rss_mb:,.0f} MB", flush=True)
    return s.wall_s - before
