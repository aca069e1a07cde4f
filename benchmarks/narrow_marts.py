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

import duckdb

from benchmarks import Meter
from benchmarks.synthetic import penalties_sql, scratch_args, timed
from pipelines.validate.sql import PUBLIC_PARQUET

_PUBLIC = ("record_id, subject_name, uscc, id_no_masked, decision_no, violation_facts, legal_basis, penalty_content, "
           "fine_amount, decision_date, disclosure_until, severity")
_DERIVED = ("'U' || subject_key as uscc, null::varchar as id_no_masked, decision_date + 1095 as disclosure_until, "
            "case when version_seq % 3 = 0 then '严重' else '一般' end as severity, "
            "case when version_seq % 8 < 3 then 'expired' end as hidden_reason")
# The public columns a narrow mart holds itself; the others come from history.
_IN_MART = ("record_id", "uscc", "id_no_masked", "disclosure_until", "severity")


def main() -> None:
    args = scratch_args("narrow-marts")
    n = args.rows
    meter = Meter()
    con = duckdb.connect(str(args.work / "h.duckdb"), config={"memory_limit": "1GB"})
    try:
        con.execute("set enable_progress_bar = false; set preserve_insertion_order = false")
        con.execute(f"create table hist as {penalties_sql(n)}")
        out = args.work
        joined = ", ".join(f"{'m' if c in _IN_MART else 'h'}.{c}" for c in _PUBLIC.split(", "))
        print(f"{n:,} rows, narrow mart + join history:")
        narrow = sum([
            timed(con, meter, "mart", "create or replace temp table m as select version_seq, record_id, subject_key, "
                                      f"{_DERIVED} from hist"),
            timed(con, meter, "public columns", f"copy (select {joined} from m join hist as h using (version_seq) "
                                                f"where m.hidden_reason is null) to '{out}/a.parquet' ({PUBLIC_PARQUET})"),
            timed(con, meter, "row hashes", f"copy (select m.subject_key, m.record_id, hash(row({joined})) as h from m "
                                            f"join hist as h using (version_seq) where m.hidden_reason is null) "
                                            f"to '{out}/b.parquet' ({PUBLIC_PARQUET})"),
        ])
        con.execute("drop table m")
        print(f"{n:,} rows, wide mart:")
        wide = sum([
            timed(con, meter, "mart", f"create or replace temp table w as select *, {_DERIVED} from hist"),
            timed(con, meter, "public columns", f"copy (select {_PUBLIC} from w where hidden_reason is null) "
                                                f"to '{out}/c.parquet' ({PUBLIC_PARQUET})"),
            timed(con, meter, "row hashes", f"copy (select subject_key, record_id, hash(row({_PUBLIC})) as h from w "
                                            f"where hidden_reason is null) to '{out}/d.parquet' ({PUBLIC_PARQUET})"),
        ])
        print(f"narrow + join {narrow:.1f} s, wide {wide:.1f} s")
    finally:
        con.close()
        shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
