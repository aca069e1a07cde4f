"""Narrow record marts joined back to history, against today's wide marts, on synthetic penalties (BENCHMARKS.md,
eleventh session).

    python -m benchmarks.narrow_marts ROWS [--work DIR]

Builds a history table of ROWS penalty-like versions (version_seq plus eight text and number columns) in a DuckDB file
at the pipeline's 1GB limit, then times, each with the process's peak RSS: (a) a narrow mart (keys and computed
columns), the public columns of its public rows written to Parquet by joining history back by version_seq, and their
row hashes the same way; (b) a wide mart (every column, as the rule models build them today) and the same two writes
from it alone. 2.8M rows are the current penalties of a 10M city, 17M those of a 60M one.
"""

from __future__ import annotations

import shutil
import threading
import time

import duckdb

from benchmarks.synthetic import penalties_sql, scratch_args

_PUBLIC = ("record_id, subject_name, uscc, id_no_masked, decision_no, violation_facts, legal_basis, penalty_content, "
           "fine_amount, decision_date, disclosure_until, severity")
_DERIVED = ("'U' || subject_key as uscc, null::varchar as id_no_masked, decision_date + 1095 as disclosure_until, "
            "case when version_seq % 3 = 0 then '严重' else '一般' end as severity, "
            "case when version_seq % 8 < 3 then 'expired' end as hidden_reason")


class Peak:
    """The process's peak RSS (MB) since the last reset, sampled every 10 ms."""

    def __init__(self) -> None:
        self.mb, self._stop = 0, False
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmRSS"):
                        self.mb = max(self.mb, int(line.split()[1]) // 1024)
            time.sleep(0.01)

    def stop(self) -> None:
        self._stop = True


def _timed(con: duckdb.DuckDBPyConnection, peak: Peak, label: str, sql: str) -> float:
    peak.mb = 0
    t0 = time.perf_counter()
    con.execute(sql)
    s = time.perf_counter() - t0
    print(f"  {label}: {s:.1f} s, peak {peak.mb:,} MB", flush=True)
    return s


def main() -> None:
    args = scratch_args("narrow-marts")
    n = args.rows
    peak = Peak()
    con = duckdb.connect(str(args.work / "h.duckdb"), config={"memory_limit": "1GB"})
    try:
        con.execute("set enable_progress_bar = false; set preserve_insertion_order = false")
        con.execute(f"create table hist as {penalties_sql(n)}")
        out = args.work
        joined = " ".join(f"{'m' if c in ('record_id', 'uscc', 'id_no_masked', 'disclosure_until', 'severity') else 'h'}.{c},"
                          for c in _PUBLIC.split(", ")).rstrip(",")
        print(f"{n:,} rows, narrow mart + join history:")
        narrow = sum([
            _timed(con, peak, "mart", "create or replace temp table m as select version_seq, record_id, subject_key, "
                                      f"{_DERIVED} from hist"),
            _timed(con, peak, "public columns", f"copy (select {joined} from m join hist as h using (version_seq) "
                                                f"where m.hidden_reason is null) to '{out}/a.parquet' (format parquet, compression zstd, compression_level 1)"),
            _timed(con, peak, "row hashes", f"copy (select m.subject_key, m.record_id, hash(row({joined})) as h from m "
                                            f"join hist as h using (version_seq) where m.hidden_reason is null) "
                                            f"to '{out}/b.parquet' (format parquet, compression zstd, compression_level 1)"),
        ])
        con.execute("drop table m")
        print(f"{n:,} rows, wide mart:")
        wide = sum([
            _timed(con, peak, "mart", f"create or replace temp table w as select *, {_DERIVED} from hist"),
            _timed(con, peak, "public columns", f"copy (select {_PUBLIC} from w where hidden_reason is null) "
                                                f"to '{out}/c.parquet' (format parquet, compression zstd, compression_level 1)"),
            _timed(con, peak, "row hashes", f"copy (select subject_key, record_id, hash(row({_PUBLIC})) as h from w "
                                            f"where hidden_reason is null) to '{out}/d.parquet' (format parquet, compression zstd, compression_level 1)"),
        ])
        print(f"narrow + join {narrow:.1f} s, wide {wide:.1f} s")
    finally:
        peak.stop()
        con.close()
        shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
