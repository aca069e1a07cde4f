"""Rule state (pipelines/publish/state.py): a base and the rows re-decided since read as the rows of the version."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from pipelines.publish import state
from pipelines.publish.state import compacts, state_parts, state_relation, write_state
from pipelines.validate.sql import lit


def _copy(con: duckdb.DuckDBPyConnection):
    return lambda sql, path: con.execute(f"copy ({sql}) to {lit(str(path))} (format parquet)").fetchall()


def _write(con, root: Path, version: str, rows: list[tuple], scope: list[str] | None, previous: str | None) -> Path:
    """A version of table t with these rows (subject_key, value): all of them when scope is None, else the rows of
    the subjects in scope, built on the previous version."""
    con.execute("create or replace temp table rule_scope as select unnest(?::varchar[]) as subject_key",
                [scope or []]).fetchall()
    con.execute("create or replace temp table decided (subject_key varchar, value integer)").fetchall()
    if rows:
        con.executemany("insert into decided values (?, ?)", rows)
    staging = root / version
    write_state(con, staging, version, "t", "select * from decided", root / previous if previous else None, _copy(con))
    return staging


def _read(con, version_dir: Path) -> list[tuple]:
    return sorted(con.sql(state_relation(version_dir, "t")).fetchall(), key=repr)


def test_a_delta_on_a_base_reads_as_the_whole_table(tmp_path, monkeypatch):
    monkeypatch.setattr(state, "compacts", lambda *_: False)
    con = duckdb.connect()
    v1 = _write(con, tmp_path, "v1", [("A", 1), ("A", 2), ("B", 3), ("C", 4), (None, 5)], None, None)
    assert _read(con, v1) == [("A", 1), ("A", 2), ("B", 3), ("C", 4), (None, 5)]
    assert state_parts(v1, "t").delta is None

    # A and C re-decided: A now has one row, C none; the row without a subject is re-decided every time.
    v2 = _write(con, tmp_path, "v2", [("A", 10), (None, 50)], ["A", "C"], "v1")
    assert _read(con, v2) == [("A", 10), ("B", 3), (None, 50)]
    parts = state_parts(v2, "t")
    assert parts.delta and parts.base.name == "base-v1.parquet"
    if hasattr(os, "link"):   # the base is the previous version's file, linked, not written again
        assert parts.base.stat().st_ino == (v1 / "state" / "t" / "base-v1.parquet").stat().st_ino

    # B re-decided next: A and C keep what v2 decided (carried in the delta), B gets a row more.
    v3 = _write(con, tmp_path, "v3", [("B", 30), ("B", 31)], ["B"], "v2")
    assert _read(con, v3) == [("A", 10), ("B", 30), ("B", 31)]
    assert con.sql(f"select count(*) from read_parquet({lit(str(state_parts(v3, 't').scope))})").fetchall() == [(3,)]
    assert _read(con, v2) == [("A", 10), ("B", 3), (None, 50)]   # an earlier version is untouched

    # Nothing re-decided: the same rows.
    v4 = _write(con, tmp_path, "v4", [], [], "v3")
    assert _read(con, v4) == _read(con, v3)


@pytest.mark.parametrize("share", [0.0, 0.5])
def test_a_large_delta_starts_a_new_base_with_the_same_rows(tmp_path, monkeypatch, share):
    monkeypatch.setattr(state, "COMPACT_SHARE", share)
    con = duckdb.connect()
    _write(con, tmp_path, "v1", [("A", 1), ("B", 2), ("C", 3), ("D", 4)], None, None)
    v2 = _write(con, tmp_path, "v2", [("A", 10)], ["A"], "v1")          # 1 of 4 rows: a delta at 0.5
    v3 = _write(con, tmp_path, "v3", [("B", 20), ("C", 30)], ["B", "C"], "v2")   # 3 of 4: a new base at 0.5
    assert _read(con, v3) == [("A", 10), ("B", 20), ("C", 30), ("D", 4)]
    assert (state_parts(v2, "t").delta is None) == (share == 0.0)
    p3 = state_parts(v3, "t")
    assert p3.delta is None and p3.base.name == "base-v3.parquet"


def test_a_version_without_the_state_it_builds_on_is_an_error(tmp_path):
    con = duckdb.connect()
    (tmp_path / "v1").mkdir()
    with pytest.raises(FileNotFoundError, match="no state of t"):
        _write(con, tmp_path, "v2", [("A", 1)], ["A"], "v1")


def test_a_new_base_once_the_carried_rows_outgrow_the_square_root_rule():
    """A delta is carried while the rows it carries from earlier days (delta - the day's own) are at most
    √(2·base·growth), growth being what the delta gained since the previous pass (the fewest rows written per day),
    and never past COMPACT_SHARE of the base."""
    # base 2.8M, a day re-decides 30k rows and the delta grows 30k a day: a new base once it carries ~410k rows
    assert not compacts(30_000 + 400_000, 2_800_000, 30_000, 400_000)
    assert compacts(30_000 + 420_000, 2_800_000, 30_000, 420_000)
    # a delta that does not grow (the same subjects re-decided day after day) is carried, up to the cap
    assert not compacts(40, 100, 10, 40) and not compacts(40, 100, 10, 45)
    assert compacts(51, 100, 10, 51)
    # the first delta on a base carries nothing
    assert not compacts(50, 100, 50, 0)


def test_days_of_re_decisions_compact_when_the_rule_says(tmp_path):
    """Each day re-decides 10 new subjects of a 1,000-row base: the delta carries 10 more rows a day and a new base
    comes on the first day it carries more than √(2·1000·10) ≈ 141, with every row still as decided last."""
    con = duckdb.connect()
    _write(con, tmp_path, "v00", [(f"S{i:04d}", 0) for i in range(1000)], None, None)
    compacted = []
    for day in range(1, 21):
        subjects = [f"S{i:04d}" for i in range(10 * (day - 1), 10 * day)]
        v = _write(con, tmp_path, f"v{day:02d}", [(s, day) for s in subjects], subjects, f"v{day - 1:02d}")
        if state_parts(v, "t").delta is None:
            compacted.append(day)
    assert compacted == [16]   # day 16 carries 150 rows > 141; day 15 carried 140
    assert _read(con, tmp_path / "v20") == sorted(
        [(f"S{i:04d}", i // 10 + 1) for i in range(200)] + [(f"S{i:04d}", 0) for i in range(200, 1000)], key=repr)
