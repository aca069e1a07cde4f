"""Record history in the internal export: immutable parts by version_seq, linked from version to version.

Four passes over the fixtures: the first publishes everything; the second brings one corrected penalty
(one new part, everything else hard-linked); the third brings nothing (every part linked, none written);
the fourth corrects the same penalty again (the 1-row part of the second pass is folded into the new one).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from pipelines.catalog import load_catalog
from pipelines.home import Home
from pipelines.publish import exports
from pipelines.publish.exports import (
    history_part_name,
    history_relation,
    history_types,
    superseded_relation,
)
from pipelines.rules.pointintime import rules_connection
from pipelines.run import run_pass
from tests.conftest import AS_OF, FIXTURES, fill_inbox

T = [datetime(2026, 11, 25, h, tzinfo=UTC) for h in (8, 9, 10, 11)]
STATUS = {"mart_penalties": "penalties_status", "mart_licenses": "licenses_status", "mart_lists": "lists_status",
          "mart_commitments": "commitments_status", "mart_other_dishonesty": "other_dishonesty_status"}


def correct_penalty(home: Home, name: str, fine: str) -> None:
    """Resubmit 盘市监处罚〔2025〕101号 (same record, new content) with another fine."""
    lines = (FIXTURES / "admin_penalty.csv").read_text(encoding="utf-8").splitlines()
    row = lines[1].replace("罚款2.5万元", f"罚款{fine}万元").replace(",2.5,", f",{fine},")
    (home.inbox / "scjg" / name).write_text(f"{lines[0]}\n{row}\n", encoding="utf-8")


def parts(version: Path) -> dict[str, os.stat_result]:
    """Every history part of a version: relative name -> stat."""
    return {str(p.relative_to(version)): p.stat() for p in sorted((version / "history").rglob("*.parquet"))}


def manifest(version: Path) -> dict:
    return json.loads((version / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def passes(tmp_path_factory) -> tuple[Home, list[Path]]:
    home = Home.resolve(tmp_path_factory.mktemp("history") / "home")
    fill_inbox(home)
    versions = [run_pass(home, AS_OF, now=T[0]).internal.path]
    correct_penalty(home, "admin_penalty_fix1.csv", "2.8")
    versions.append(run_pass(home, AS_OF, now=T[1]).internal.path)
    versions.append(run_pass(home, AS_OF, now=T[2]).internal.path)
    correct_penalty(home, "admin_penalty_fix2.csv", "3.1")
    versions.append(run_pass(home, AS_OF, now=T[3]).internal.path)
    return home, versions


@pytest.fixture(scope="module")
def warehouse(passes):
    con = duckdb.connect(str(passes[0].warehouse), read_only=True)
    yield con
    con.close()


def test_parts_hold_every_warehouse_version_without_superseded_at(passes, warehouse):
    _, versions = passes
    last = versions[-1]
    types = [r[0].removesuffix("_history") for r in warehouse.sql(
        "select table_name from duckdb_tables() where table_name like '%\\_history' escape '\\' order by 1").fetchall()]
    assert history_types(last) == types and "admin_penalty" in types
    assert not list(last.glob("history_*.parquet"))                       # no whole-history file any more
    for rt in types:
        files = sorted((last / "history" / rt).glob("part-*.parquet"))
        src = f"read_parquet({[str(f) for f in files]})"
        assert "superseded_at" not in [c[0] for c in warehouse.sql(f"describe select * from {src}").fetchall()]
        wh = f"(select * exclude (superseded_at) from {rt}_history)"
        assert warehouse.sql(f"select count(*) from ({wh} except all select * from {src})").fetchall() == [(0,)], rt
        assert warehouse.sql(f"select count(*) from (select * from {src} except all {wh})").fetchall() == [(0,)], rt
        # Each part is named after the version_seq range it holds, in order.
        for f in files:
            lo, hi, n = warehouse.sql(f"select min(version_seq), max(version_seq), count(*) "
                                      f"from read_parquet('{f}')").fetchall()[0]
            assert f.name == Path(history_part_name(rt, lo, hi)).name and n > 0


def test_manifest_lists_every_part_with_its_real_rows_bytes_and_hash(passes):
    _, versions = passes
    for v in versions:
        entries = {e["name"]: e for e in manifest(v)["files"]}
        assert manifest(v)["schema_version"] == exports.INTERNAL_SCHEMA_VERSION
        assert {n for n in entries if n.startswith("history/")} == set(parts(v))
        for name in parts(v):
            e, f = entries[name], v / name
            assert e["bytes"] == f.stat().st_size and e["sha256"] == exports._sha256(f)
            assert e["rows"] == duckdb.sql(f"select count(*) from read_parquet('{f}')").fetchall()[0][0]
            assert [c["name"] for c in e["columns"]] == [
                c[0] for c in duckdb.sql(f"describe select * from read_parquet('{f}')").fetchall()]


def test_second_publish_links_every_previous_part_and_writes_only_the_new_one(passes, warehouse):
    _, (v1, v2, _, _) = passes
    p1, p2 = parts(v1), parts(v2)
    assert set(p1) < set(p2)
    for name, st in p1.items():                                        # the same file: one inode, two names
        assert (p2[name].st_ino, p2[name].st_dev) == (st.st_ino, st.st_dev) and st.st_nlink >= 2
    [new] = set(p2) - set(p1)
    assert new.startswith("history/admin_penalty/") and p2[new].st_ino not in {st.st_ino for st in p1.values()}
    first_new = int(Path(new).stem.split("-")[1])
    last_old = max(int(Path(n).stem.split("-")[2]) for n in p1 if n.startswith("history/admin_penalty/"))
    assert first_new > last_old
    # It holds exactly the one version merged by the second pass.
    assert duckdb.sql(f"select decision_no, fine_amount, learned_at from read_parquet('{v2 / new}')").fetchall() == [
        ("盘市监处罚〔2025〕101号", warehouse.sql("select 2.8::decimal(18, 4)").fetchall()[0][0], T[1])]
    # A linked part's manifest entry is the previous version's.
    e1 = {e["name"]: e for e in manifest(v1)["files"]}
    e2 = {e["name"]: e for e in manifest(v2)["files"]}
    assert all(e2[n] == e1[n] for n in p1)


def test_a_pass_with_nothing_new_writes_no_part(passes):
    _, (_, v2, v3, _) = passes
    p2, p3 = parts(v2), parts(v3)
    assert set(p3) == set(p2)
    assert all(p3[n].st_ino == p2[n].st_ino for n in p2)


def test_small_newest_parts_are_folded_into_the_new_one(passes):
    _, (v1, v2, _, v4) = passes
    p1, p2, p4 = parts(v1), parts(v2), parts(v4)
    [small] = set(p2) - set(p1)                                        # the 1-row part of the second pass
    [new] = set(p4) - set(p1)
    assert small not in p4 and set(p4) == set(p1) | {new}
    assert all(p4[n].st_ino == p1[n].st_ino for n in p1)               # the big parts are only linked
    assert Path(new).stem.split("-")[1] == Path(small).stem.split("-")[1]
    assert duckdb.sql(f"select fine_amount::varchar, learned_at from read_parquet('{v4 / new}') order by version_seq"
                      ).fetchall() == [("2.8000", T[1]), ("3.1000", T[3])]


def test_superseded_at_derived_from_the_parts_equals_the_warehouse(passes, warehouse):
    _, versions = passes
    last = versions[-1]
    analyst = duckdb.connect(str(last / "analyst.duckdb"), read_only=True)
    for rt in history_types(last):
        # Every column, superseded_at included and in its place: what the warehouse's own table holds.
        want = warehouse.sql(f"select * from {rt}_history order by version_seq").fetchall()
        assert warehouse.sql(f"{history_relation(last, rt)} order by version_seq").fetchall() == want, rt
        assert analyst.sql(f"select * from history_{rt} order by version_seq").fetchall() == want, rt   # analysts' view
    analyst.close()
    # The corrected penalty: three versions, each superseded when the next was learned.
    chain = warehouse.sql(f"select learned_at, superseded_at from ({history_relation(last, 'admin_penalty')}) "
                          "where decision_no = '盘市监处罚〔2025〕101号' order by version_seq").fetchall()
    assert chain == [(T[0], T[1]), (T[1], T[3]), (T[3], None)]
    assert warehouse.sql(f"select count(*) from ({superseded_relation(last, 'admin_penalty')})").fetchall() == [(2,)]


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return sorted(map(repr, con.sql(sql).fetchall()))


def _published(con: duckdb.DuckDBPyConnection, version: Path, mart: str, status: str) -> list[str]:
    """The rule table's columns as the version's analyst database gives them: the status file (what the rules
    decided) joined to the record's own columns in history."""
    cols = ", ".join(f'"{c}"' for c in con.sql(f"select * from {mart}").columns)
    analyst = duckdb.connect(str(version / "analyst.duckdb"), read_only=True)
    try:
        return _rows(analyst, f"select {cols} from {status}")
    finally:
        analyst.close()


def test_point_in_time_rules_from_the_parts_equal_the_published_ones(passes):
    _, (v1, _, _, v4) = passes
    # Knowing everything: the rule tables the warehouse published with the last version.
    con = rules_connection(v4, AS_OF)
    for mart, status in STATUS.items():
        assert _rows(con, f"select * from {mart}") == _published(con, v4, mart, status), mart
    con.close()
    # Knowing what the warehouse knew after the first pass: what the first version published.
    con = rules_connection(v4, AS_OF, known_at=datetime(2026, 11, 25, 8, 30, tzinfo=UTC))
    for mart, status in STATUS.items():
        assert _rows(con, f"select * from {mart}") == _published(con, v1, mart, status), mart
    fine = con.sql("select fine_amount::varchar from mart_penalties where decision_no = '盘市监处罚〔2025〕101号'")
    assert fine.fetchall() == [("2.5000",)]
    con.close()


def test_parts_are_copied_when_links_fail_and_rewritten_when_they_do_not_match(tmp_path, monkeypatch):
    home = Home.resolve(tmp_path / "home")
    fill_inbox(home)
    v1 = run_pass(home, AS_OF, now=T[0]).internal.path
    # A previous version whose admin_penalty parts no longer match the warehouse (say, a restored backup).
    m = manifest(v1)
    for e in m["files"]:
        if e["name"].startswith("history/admin_penalty/"):
            e["rows"] += 1
    (v1 / "manifest.json").write_text(json.dumps(m, ensure_ascii=False), encoding="utf-8")

    def no_link(src, dst):
        raise OSError("links not supported here")

    monkeypatch.setattr(os, "link", no_link)
    correct_penalty(home, "admin_penalty_fix1.csv", "2.8")
    v2 = run_pass(home, AS_OF, now=T[1]).internal.path
    p1, p2 = parts(v1), parts(v2)
    for name in p1:
        if name.startswith("history/admin_penalty/"):
            assert name not in p2
        else:                                                          # copied: another inode, the same bytes
            assert p2[name].st_ino != p1[name].st_ino
            assert exports._sha256(v2 / name) == exports._sha256(v1 / name)
    [penalties] = [n for n in p2 if n.startswith("history/admin_penalty/")]   # written afresh, in one part
    con = duckdb.connect(str(home.warehouse), read_only=True)
    assert con.sql(f"select count(*) from read_parquet('{v2 / penalties}')").fetchall() == \
        con.sql("select count(*) from admin_penalty_history").fetchall()
    con.close()


def test_a_record_type_without_versions_keeps_its_columns_in_an_empty_part(tmp_path):
    home = Home.resolve(tmp_path / "home")
    (home.inbox / "cz" / "debt_payment_x.csv").write_text(
        "清偿记录编号,台账编号,清偿日期,清偿金额（万元）\nQC1,QQ9,2025-06-30,abc\n", encoding="utf-8")   # held back: no amount
    v1 = run_pass(home, AS_OF, now=T[0]).internal.path
    # Every record type has its empty part: the one whose file was held back and those no file brought yet.
    assert sorted(parts(v1)) == sorted(history_part_name(rt, 0, 0) for rt in load_catalog().record_types)
    con = duckdb.connect(str(home.warehouse), read_only=True)
    assert con.sql("select count(*) from debt_payment_history").fetchall() == [(0,)]
    assert con.sql(history_relation(v1, "debt_payment")).columns == con.sql("select * from debt_payment_history").columns
    assert con.sql(history_relation(v1, "admin_penalty")).columns == con.sql("select * from admin_penalty").columns
    analyst = duckdb.connect(str(v1 / "analyst.duckdb"), read_only=True)
    assert analyst.sql("select count(*) from subject_file").fetchall() == [(0,)]   # the status views bind
    analyst.close()
    con.close()
    assert rules_connection(v1, AS_OF).sql("select count(*) from debt_payment").fetchall() == [(0,)]
