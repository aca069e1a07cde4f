"""History as Parquet parts instead of a native table, on synthetic penalties (BENCHMARKS.md, eleventh session).

    python -m benchmarks.history_reads ROWS [--work DIR]

Times the native insert of ROWS penalty-like versions, their export as one Parquet part, and reads of the current
versions (wide: every column; narrow: one grouped key) from the native table against the part anti-joined with a
table of superseded versions (1 in 50), each twice, at the pipeline's 1GB limit.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import duckdb


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("rows", type=int)
    ap.add_argument("--work", type=Path, default=Path("/tmp/history-reads"))
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    n, subjects, part = args.rows, max(1, args.rows // 12), args.work / "part.parquet"
    con = duckdb.connect(str(args.work / "h.duckdb"), config={"memory_limit": "1GB"})

    def timed(label: str, sql: str) -> None:
        t0 = time.perf_counter()
        con.execute(sql)
        print(f"{label}: {time.perf_counter() - t0:.2f} s", flush=True)

    try:
        con.execute("set enable_progress_bar = false; set preserve_insertion_order = false")
        con.execute(f"""create temp table src as select i as version_seq, md5(i::varchar)[1:20] as record_id,
            'K' || (hash(i) % {subjects})::varchar as subject_key,
            '某某市市场监督管理局行政处罚决定书' || i::varchar as decision_no,
            repeat('违法事实描述', 3 + (i % 7)::int) || i::varchar as violation_facts,
            repeat('处罚内容', 2 + (i % 5)::int) || i::varchar as penalty_content,
            '《中华人民共和国某某法》第' || (i % 97)::varchar || '条' as legal_basis,
            '公司名称' || (hash(i) % {subjects})::varchar as subject_name,
            (i % 100000)::decimal(18, 4) as fine_amount, date '2020-01-01' + (i % 2000)::int as decision_date,
            null::timestamptz as superseded_at from range({n}) as t(i)""")
        timed("native insert (history table)", "create table hist as select * from src")
        timed("export parquet part", f"copy (select * exclude (superseded_at) from hist) to '{part}' "
                                     "(format parquet, compression zstd, compression_level 1, parquet_version v2)")
        con.execute("create table superseded as select version_seq, now() as superseded_at from hist "
                    "where version_seq % 50 = 0")
        current = f"read_parquet('{part}') as h anti join superseded as s using (version_seq)"
        for _ in range(2):
            timed("wide read, native", "create or replace temp table w as select * from hist "
                                       "where superseded_at is null and decision_date > date '2020-03-01'")
            timed("wide read, parquet part + superseded anti join",
                  f"create or replace temp table w as select h.* from {current} "
                  "where decision_date > date '2020-03-01'")
            timed("narrow read, native", "create or replace temp table w as select subject_key, count(*) from hist "
                                         "where superseded_at is null group by all")
            timed("narrow read, parquet part", f"create or replace temp table w as select subject_key, count(*) "
                                               f"from {current} group by all")
    finally:
        con.close()
        shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
