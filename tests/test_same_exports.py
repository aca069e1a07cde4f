"""The benchmark's check that a scoped daily pass published what the full evaluation did (benchmarks/same_exports.py):
it must find a changed row, and only a changed row."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import duckdb

from benchmarks.same_exports import compare, latest_version, summary
from pipelines.home import Home
from pipelines.run import run_pass
from tests.conftest import AS_OF, fill_inbox


def _rewrite(path, sql):
    """Replace a Parquet file by sql over its rows (the view t)."""
    con = duckdb.connect()
    con.execute(f"create table t as select * from read_parquet('{path}')")
    con.execute(f"copy ({sql}) to '{path}' (format parquet)")


def test_the_check_finds_a_changed_row_and_ignores_the_passes_own_timestamps(tmp_path):
    a = Home.resolve(tmp_path / "a")
    fill_inbox(a)
    run_pass(a, AS_OF, now=datetime(2026, 11, 25, 7, tzinfo=UTC))
    b = tmp_path / "b"
    shutil.copytree(a.root, b)

    same = compare(a.root, b)
    names = {(e["audience"], e["name"]) for e in same}
    assert ("public", "penalties.parquet") in names and ("internal", "state/penalties_status") in names
    assert not any(e["audience"] == "internal" and e["name"].startswith(("history/", "public_segments/")) for e in same)
    assert all(e["only_a"] == e["only_b"] == 0 and e["rows_a"] == e["rows_b"] for e in same)
    assert sum(e["rows_a"] for e in same) > 0 and "identical" in summary(same)

    # Another pass's times on what it merged are not a difference ...
    batches = latest_version(b, "internal") / "batches.parquet"
    _rewrite(batches, "select * replace (landed_at + interval 1 hour as landed_at) from t")
    entry = next(e for e in compare(a.root, b) if e["name"] == "batches.parquet")
    assert entry["only_a"] == entry["only_b"] == 0 and "landed_at" in entry["left_out"]

    # ... a row published differently is, and a public file one side lacks.
    penalties = latest_version(b, "public") / "penalties.parquet"
    _rewrite(penalties, "select * replace (case when row_number() over () = 1 then decision_no || '改' "
                        "else decision_no end as decision_no) from t")
    (latest_version(b, "public") / "redlist.parquet").unlink()
    differ = {e["name"]: (e["only_a"], e["only_b"]) for e in compare(a.root, b) if e["only_a"] or e["only_b"]}
    redlist_rows = duckdb.sql(f"select count(*) from '{latest_version(a.root, 'public') / 'redlist.parquet'}'").fetchall()[0][0]
    assert differ == {"penalties.parquet": (1, 1), "redlist.parquet": (redlist_rows, 0)}
    assert "differ" in summary(compare(a.root, b))
