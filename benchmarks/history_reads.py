"""History as Parquet parts instead of a native table, on synthetic penalties (BENCHMARKS.md, eleventh session).

    python -m benchmarks.history_reads ROWS [--work DIR]

Times the native insert of ROWS penalty-like versions, their export as one Parquet part, and reads of the current
versions (wide: every column; narrow: one grouped key) from the native table against the part anti-joined with a
table of superseded versions (1 in 50), each twice, at the pipeline's 1GB limit.
"""

from __future__ import annotations

import shutil

import duckdb

from benchmarks import Meter
from benchmarks.synthetic import penalties_sql, scratch_args, timed
from pipelines.validate.sql import PARQUET


def main() -> None:
    args = scratch_args("history-reads")
    part = args.work / "part.parquet"
    con = duckdb.connect(str(args.work / "h.duckdb"), config={"memory_limit": "1GB"})
    meter = Meter()

    def run(label: str, sql: str) -> None:
        timed(con, meter, label, sql)

    try:
        con.execute("set enable_progress_bar = false; set preserve_insertion_order = false")
        con.execute(f"create temp table src as select *, null::timestamptz as superseded_at "
                    f"from ({penalties_sql(args.rows)})")
        run("native insert (history table)", "create table hist as select * from src")
        run("export parquet part", f"copy (select * exclude (superseded_at) from hist) to '{part}' "
                                   f"({PARQUET})")
        con.execute("create table superseded as select version_seq, now() as superseded_at from hist "
                    "where version_seq % 50 = 0")
        current = f"read_parquet('{part}') as h anti join superseded as s using (version_seq)"
        for _ in range(2):
            run("wide read, native", "create or replace temp table w as select * from hist "
                                       "where superseded_at is null and decision_date > date '2020-03-01'")
            run("wide read, parquet part + superseded anti join",
                  f"create or replace temp table w as select h.* from {current} "
                  "where decision_date > date '2020-03-01'")
            run("narrow read, native", "create or replace temp table w as select subject_key, count(*) from hist "
                                         "where superseded_at is null group by all")
            run("narrow read, parquet part", f"create or replace temp table w as select subject_key, count(*) "
                                               f"from {current} group by all")
    finally:
        con.close()
        shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
