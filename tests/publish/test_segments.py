"""Public files glued from segments (pipelines/publish/segments.py): a scoped version links the segments its changes
do not touch, rewrites the others, and the glued file holds exactly the version's rows."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines.publish import segments
from pipelines.publish.contract import PublicFile
from pipelines.publish.exports import _file_entry
from pipelines.publish.segments import segment_dir, write_public_file
from pipelines.rules.scope import Previous
from tests.conftest import AS_OF

PF = PublicFile("penalties.parquet", "mart", "true", ("decision_no", "fine_amount", "decision_date"))
ROWS = 20_000


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute("set threads = 2")
    c.execute("set preserve_insertion_order = false")
    yield c
    c.close()


@pytest.fixture(autouse=True)
def small_segments(monkeypatch):
    monkeypatch.setattr(segments, "SEGMENT_ROWS", 2048)
    monkeypatch.setattr(segments, "SMALL_SEGMENT_ROWS", 1024)


def _mart(con, name: str, where: str = "true", rename: str = "") -> None:
    con.execute(f"""create or replace table {name} as
        select 'R' || lpad(i::varchar, 6, '0') as record_id,
               case when i in ({rename or "-1"}) then '改名公司' || i else '公司' || i end as subject_name,
               '法人及非法人组织' as subject_category, '9121' || lpad(i::varchar, 14, '0') as uscc,
               null::varchar as id_no_masked, '市场监管局' as source_unit, '罚决字' || i as decision_no,
               (i % 1000)::decimal(18, 4) as fine_amount, date '2025-01-01' + (i % 300)::int as decision_date,
               null::varchar as hidden_reason
        from range({ROWS + 100}) as t(i) where {where}""")


def _rows_sql(mart: str) -> str:
    cols = ", ".join(f'"{c}"' for c in PF.all_columns)
    return f"select {cols} from {mart} where hidden_reason is null"


def _read(con, path: Path) -> list[tuple]:
    return sorted(con.sql(f"select * from read_parquet('{path}')").fetchall())


def test_a_scoped_version_rewrites_only_the_segments_its_changes_touch(tmp_path, con):
    entry = lambda p, n: _file_entry(con, p, n)  # noqa: E731
    # Version 1: every row as new segments, glued into the public file.
    _mart(con, "v1", f"i < {ROWS}")
    v1_pub, v1_int = tmp_path / "pub1", tmp_path / "int1"
    v1_pub.mkdir()
    e1 = write_public_file(con, PF, _rows_sql("v1"), v1_pub / PF.name, v1_int, "v1", entry)
    assert sum(e["rows"] for e in e1) == ROWS and len(e1) >= 8
    assert all(e["rows"] <= 2048 + 2048 for e in e1)
    assert _read(con, v1_pub / PF.name) == sorted(con.sql(_rows_sql("v1")).fetchall())

    # Version 2: the rules re-decided 600 records; 3 of them changed (renamed), 2 left public view, 100 are new.
    updated, deleted = [5, 6007, 13003], [42, 17777]
    _mart(con, "truth", f"i < {ROWS + 100} and i not in ({', '.join(map(str, deleted))})",
          ", ".join(map(str, updated)))
    con.execute(f"""create table redecided as select * from truth
                    where record_id in (select 'R' || lpad(i::varchar, 6, '0') from range(0, {ROWS + 100}, 40) t(i))
                       or record_id >= 'R{ROWS:06d}' or record_id in ({', '.join(f"'R{i:06d}'" for i in updated)})""")
    con.execute(f"""create table changes as
        select 'update' as op, 'penalties.parquet' as file, 'R' || lpad(i::varchar, 6, '0') as record_id
            from unnest({updated}) t(i)
        union all select 'delete', 'penalties.parquet', 'R' || lpad(i::varchar, 6, '0') from unnest({deleted}) t(i)
        union all select 'add', 'penalties.parquet', 'R' || lpad(i::varchar, 6, '0') from range({ROWS}, {ROWS + 100}) t(i)
        union all select 'add', 'licenses.parquet', 'R000001'""")   # another file's change touches no segment here
    v2_pub, v2_int = tmp_path / "pub2", tmp_path / "int2"
    v2_pub.mkdir()
    e2 = write_public_file(con, PF, _rows_sql("redecided"), v2_pub / PF.name, v2_int, "v2", entry,
                           Previous(v1_pub, v1_int, AS_OF, e1), "changes")

    # The public file holds exactly the version's rows, once each, readable by DuckDB and pyarrow alike.
    want = sorted(con.sql(_rows_sql("truth")).fetchall())
    assert _read(con, v2_pub / PF.name) == want
    table = pq.read_table(v2_pub / PF.name)
    assert table.num_rows == len(want) and len(set(table.column("record_id").to_pylist())) == len(want)
    assert sum(e["rows"] for e in e2) == len(want)

    # Segments holding an updated or deleted row, and small ones, were rewritten; every other one is the same file.
    holders = {r[0] for r in con.sql(
        f"select distinct filename from read_parquet('{segment_dir(v1_int, PF)}/*.parquet', filename = true) "
        f"where record_id in (select record_id from changes where op <> 'add' and file = 'penalties.parquet')"
    ).fetchall()}
    small = {str(v1_int / e["name"]) for e in e1 if e["rows"] < 1024}
    linked = [e for e in e2 if e["name"] in {x["name"] for x in e1}]
    assert {str(v1_int / e["name"]) for e in e1} - {str(v1_int / e["name"]) for e in linked} == holders | small
    assert 0 < len(holders) <= 5 and len(linked) >= len(e1) - 5 - len(small)
    for e in linked:
        assert os.stat(v2_int / e["name"]).st_ino == os.stat(v1_int / e["name"]).st_ino
    assert all(e["name"].startswith("public_segments/penalties/seg-v2-") for e in e2 if e not in linked)


def test_a_version_without_rows_writes_the_file_with_its_columns(tmp_path, con):
    _mart(con, "empty", "false")
    pub = tmp_path / "pub"
    pub.mkdir()
    out = write_public_file(con, PF, _rows_sql("empty"), pub / PF.name, tmp_path / "int", "v1",
                            lambda p, n: _file_entry(con, p, n))
    assert out == []
    assert pq.read_table(pub / PF.name).column_names == list(PF.all_columns)
    assert _read(con, pub / PF.name) == []


def test_a_scoped_version_without_segments_to_build_on_keeps_the_previous_rows(tmp_path, con):
    """Segments of other columns (or none) in the previous version: the re-decided rows and the previous file's rows
    of every other record are written anew."""
    entry = lambda p, n: _file_entry(con, p, n)  # noqa: E731
    _mart(con, "v1", f"i < {ROWS}")
    (tmp_path / "pub1").mkdir()
    old_pf = PublicFile("penalties.parquet", "mart", "true", ("decision_no", "fine_amount"))
    cols = ", ".join(f'"{c}"' for c in old_pf.all_columns)
    e1 = write_public_file(con, old_pf, f"select {cols} from v1", tmp_path / "pub1" / PF.name, tmp_path / "int1",
                           "v1", entry)
    assert e1
    # the previous public file as this version's columns would have it; the rules re-decided records 0-99 only
    _mart(con, "v1b", f"i < {ROWS}", "3")
    con.execute(f"copy ({_rows_sql('v1')}) to '{tmp_path / 'pub1' / PF.name}' (format parquet)")
    con.execute("create table redecided as select * from v1b where record_id < 'R000100'")
    con.execute("create table changes as select 'update' as op, 'penalties.parquet' as file, 'R000003' as record_id")
    (tmp_path / "pub2").mkdir()
    e2 = write_public_file(con, PF, _rows_sql("redecided"), tmp_path / "pub2" / PF.name, tmp_path / "int2", "v2",
                           entry, Previous(tmp_path / "pub1", tmp_path / "int1", AS_OF, e1), "changes")
    assert not {e["name"] for e in e2} & {e["name"] for e in e1}
    assert _read(con, tmp_path / "pub2" / PF.name) == sorted(con.sql(_rows_sql("v1b")).fetchall())


def _expire(con, tmp_path, pf: PublicFile, leave_day: int) -> tuple[list[dict], list[dict], set[str], Path]:
    """Version 1 of pf, then version 2 in which every row leaving on day leave_day (2025-01-01 + leave_day) expired
    and 100 rows were added: (v1's segments, v2's segments, the v1 segments that held an expired row, v2's dir)."""
    entry = lambda p, n: _file_entry(con, p, n)  # noqa: E731
    _mart(con, "v1", f"i < {ROWS}")
    v1_pub, v1_int = tmp_path / f"{pf.leaves}1", tmp_path / f"{pf.leaves}i1"
    v1_pub.mkdir()
    e1 = write_public_file(con, pf, _rows_sql("v1"), v1_pub / PF.name, v1_int, "v1", entry)
    day = f"date '2025-01-01' + {leave_day}"
    _mart(con, "truth", f"i < {ROWS + 100} and date '2025-01-01' + (i % 300)::int <> {day}")
    con.execute(f"""create or replace table changes as
        select 'delete' as op, 'penalties.parquet' as file, record_id from v1 where decision_date = {day}
        union all select 'add', 'penalties.parquet', 'R' || lpad(i::varchar, 6, '0') from range({ROWS}, {ROWS + 100}) t(i)""")
    con.execute(f"create or replace table redecided as select * from truth where record_id >= 'R{ROWS:06d}'")
    v2_pub, v2_int = tmp_path / f"{pf.leaves}2", tmp_path / f"{pf.leaves}i2"
    v2_pub.mkdir()
    e2 = write_public_file(con, pf, _rows_sql("redecided"), v2_pub / PF.name, v2_int, "v2", entry,
                           Previous(v1_pub, v1_int, AS_OF, e1), "changes")
    assert _read(con, v2_pub / PF.name) == sorted(con.sql(_rows_sql("truth")).fetchall())
    holders = {r[0] for r in con.sql(
        f"select distinct filename from read_parquet('{segment_dir(v1_int, pf)}/*.parquet', filename = true) "
        f"where record_id in (select record_id from changes where op = 'delete')").fetchall()}
    return e1, e2, holders, v1_int


def test_a_file_with_a_leave_date_keeps_a_days_expiries_in_few_segments(tmp_path, con, monkeypatch):
    """Segments written in the order of the date a row leaves the file: the rows leaving on one day are in one or two
    segments, and a day whose changes are expiries and additions rewrites those (and the small ones) only. Written
    in no order, the same day's expiries fall in every segment."""
    monkeypatch.setattr(segments, "SORT_ROWS_PER_GIB", 10**9)   # one sort for the whole file
    by_leave = PublicFile(PF.name, PF.mart, PF.where, PF.columns, leaves="decision_date")
    e1, e2, holders, v1_int = _expire(con, tmp_path, by_leave, 150)
    assert len(e1) >= 9
    ranges = sorted(con.sql(
        f"select min(decision_date), max(decision_date) from read_parquet('{segment_dir(v1_int, by_leave)}/*.parquet',"
        f" filename = true) group by filename").fetchall())
    assert all(a[1] <= b[0] for a, b in zip(ranges, ranges[1:], strict=False))   # each segment a range of its own
    assert 1 <= len(holders) <= 2
    linked = {e["name"] for e in e2} & {e["name"] for e in e1}
    assert len(linked) >= len(e1) - 2 - sum(e["rows"] < 1024 for e in e1)

    unordered = PublicFile(PF.name, PF.mart, PF.where, PF.columns)
    e1, _, holders, _ = _expire(con, tmp_path, unordered, 150)
    assert len(holders) >= len(e1) - 1


def _ranges(con, seg_dir: Path) -> list[tuple]:
    """(first, last decision_date, rows) of each segment in seg_dir, in the order the segments are glued."""
    return [con.sql(f"select min(decision_date), max(decision_date), count(*) from read_parquet('{p}')").fetchall()[0]
            for p in sorted(seg_dir.glob("*.parquet"))]


def test_more_rows_than_a_sort_may_hold_are_sorted_in_pieces(tmp_path, con, monkeypatch):
    """Above SORT_ROWS_PER_GIB rows per GiB of the memory limit (a sort of a 60M city's licences in one piece ran
    out of the 1GB limit) a file is sorted in pieces, each a range of leave dates after the one before: the file
    keeps its order, and a day's expiries still fall in one or two segments."""
    monkeypatch.setattr(segments, "SORT_ROWS_PER_GIB", 5_000)
    con.execute("set memory_limit = '1GB'")   # 953.6 MiB: pieces of about 4,656 rows, and the file has 20,000
    by_leave = PublicFile(PF.name, PF.mart, PF.where, PF.columns, leaves="decision_date")
    e1, _, holders, v1_int = _expire(con, tmp_path, by_leave, 150)
    ranges = _ranges(con, segment_dir(v1_int, by_leave))
    assert all(a[1] <= b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    assert sum(r[2] for r in ranges) == ROWS
    pieces = sum(r[2] < 2048 for r in ranges)   # each piece ends in a segment short of SEGMENT_ROWS
    assert 4 <= pieces <= 7
    assert 1 <= len(holders) <= 2


def test_rows_without_a_leave_date_come_last_in_no_order(tmp_path, con, monkeypatch):
    """Rows whose leave date is null (a licence without an end) are written after the sorted pieces; none is lost."""
    monkeypatch.setattr(segments, "SORT_ROWS_PER_GIB", 5_000)
    con.execute("set memory_limit = '1GB'")
    _mart(con, "v1", f"i < {ROWS}")
    con.execute("update v1 set decision_date = null where fine_amount % 3 = 0")
    nulls = con.sql("select count(*) from v1 where decision_date is null").fetchall()[0][0]
    assert nulls > 5_000
    out = segments._write_segments(con, _rows_sql("v1"), tmp_path, "v1", "decision_date")
    got = [con.sql(f"select min(decision_date), max(decision_date), count(*), count(decision_date) "
                   f"from read_parquet('{p}')").fetchall()[0] for p in out]
    dated = [g for g in got if g[3]]
    assert got[:len(dated)] == dated and all(g[3] == 0 for g in got[len(dated):])   # the null rows last
    assert all(g[3] == g[2] for g in dated)
    assert all(a[1] <= b[0] for a, b in zip(dated, dated[1:], strict=False))
    assert sum(g[2] for g in got) == ROWS and sum(g[2] for g in got[len(dated):]) == nulls
    assert len(pq.read_schema(out[0])) and all(pq.read_schema(p) == pq.read_schema(out[0]) for p in out)


def test_no_order_when_sorting_is_off(tmp_path, con, monkeypatch):
    """SORT_ROWS_PER_GIB 0: the segments are written in no order, and the day's expiries fall in nearly every one."""
    monkeypatch.setattr(segments, "SORT_ROWS_PER_GIB", 0)
    by_leave = PublicFile(PF.name, PF.mart, PF.where, PF.columns, leaves="decision_date")
    e1, _, holders, _ = _expire(con, tmp_path, by_leave, 150)
    assert len(holders) >= len(e1) - 1


def test_a_sort_that_runs_out_of_memory_leaves_the_pass_unordered(tmp_path, con, monkeypatch):
    """A sort of segments that runs DuckDB out of memory (a 60M city's, beside its rule tables) is given up: the file
    is written whole in no order, and the pass's later files are not sorted at all."""
    tried = []

    def run(c, sql, params=None):
        if sql.startswith("copy") and " order by " in sql:
            tried.append(sql)
            raise duckdb.OutOfMemoryException("Out of Memory Error: failed to pin block (test)")
        c.execute(sql, params or []).fetchall()

    monkeypatch.setattr(segments, "run", run)
    by_leave = PublicFile(PF.name, PF.mart, PF.where, PF.columns, leaves="decision_date")
    e1, _, holders, _ = _expire(con, tmp_path, by_leave, 150)   # every row written (asserted inside)
    assert len(tried) == 1 and segments._sorts_ran_out(con)
    assert len(holders) >= len(e1) - 1
    _mart(con, "again", f"i < {ROWS}")
    (tmp_path / "again").mkdir()
    out = segments._write_segments(con, _rows_sql("again"), tmp_path / "again", "v9", "decision_date")
    assert len(tried) == 1 and sum(pq.read_metadata(p).num_rows for p in out) == ROWS
