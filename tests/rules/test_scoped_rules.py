"""Scoped rule evaluation (pipelines/rules/scope.py) publishes exactly what evaluating every subject publishes.

Each step runs the pass twice on identical homes: as it runs by default (scoped on the previous version) and with
CREDIT_RULES_FULL=1 (every subject evaluated, the oracle); every public and internal file must hold the same rows.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.home import Home
from pipelines.publish import state
from pipelines.publish.contract import PUBLIC_FILES
from pipelines.publish.segments import SEGMENTS_DIR, segment_dir
from pipelines.publish.state import STATE_DIR, state_parts, state_relation, state_tables
from pipelines.rules import evaluate as evaluate_mod
from pipelines.rules import scope
from pipelines.run import PassSummary, collect, merge_and_publish, run_pass, validate_pending
from tests.conftest import AS_OF, FIXTURE_DEPARTMENTS, FIXTURES

LATER = ("repair", "list_removal", "debt_payment", "discipline_feedback")


def _rows(path: Path) -> list[tuple]:
    con = duckdb.connect()
    try:
        rows = con.sql(f"select * from read_parquet('{path}')").fetchall()
    finally:
        con.close()
    return sorted(rows, key=repr)


def _latest(home: Home, audience: str) -> Path:
    latest = json.loads((home.exports / audience / "latest.json").read_text(encoding="utf-8"))
    return home.exports / audience / latest["path"]


def _state_rows(version_dir: Path, table: str) -> list[tuple]:
    con = duckdb.connect()
    try:
        rows = con.sql(state_relation(version_dir, table)).fetchall()
    finally:
        con.close()
    return sorted(rows, key=repr)


def assert_same_exports(scoped: Home, full: Home) -> None:
    """Every exported file holds the same rows, and every rule state table (stored as a base and the rows
    re-decided since on the scoped side, whole on the full side) reads as the same rows."""
    own = (STATE_DIR, SEGMENTS_DIR)   # each side's own layout of the same rows: compared below
    for audience in ("public", "internal"):
        a, b = _latest(scoped, audience), _latest(full, audience)
        files = sorted(str(p.relative_to(a)) for p in a.rglob("*.parquet") if not set(own) & set(p.relative_to(a).parts))
        assert files == sorted(str(p.relative_to(b)) for p in b.rglob("*.parquet")
                               if not set(own) & set(p.relative_to(b).parts))
        for name in files:   # every exported file is a set of rows
            assert _rows(a / name) == _rows(b / name), f"{audience}/{name} differs"
        if audience == "internal":
            for table in state_tables():
                assert _state_rows(a, table) == _state_rows(b, table), f"internal state {table} differs"
    for home in (scoped, full):   # each public file is its segments glued together, every segment listed
        public, internal = _latest(home, "public"), _latest(home, "internal")
        listed = {e["name"] for e in json.loads((internal / "manifest.json").read_text(encoding="utf-8"))["files"]}
        for pf in PUBLIC_FILES:
            parts = sorted(segment_dir(internal, pf).glob("*.parquet"))
            assert {p.relative_to(internal).as_posix() for p in parts} <= listed
            glued = sorted((r for p in parts for r in _rows(p)), key=repr)
            assert glued == _rows(public / pf.name), f"{pf.name} is not its segments"


def twin_pass(home: Home, tmp_path: Path, step: str, as_of: date, monkeypatch) -> dict:
    """The pass on home (scoped), and its merge, rules and publish again on a copy taken after the validation
    (same landing times) with every subject evaluated; the scoped internal manifest's rules."""
    now = datetime(2026, 11, 25, 8, tzinfo=UTC) + timedelta(hours=len(list(tmp_path.glob("full-*"))))
    summary, oracle = PassSummary(as_of), PassSummary(as_of)
    collect(home, summary, lambda *_: None)
    validate_pending(home, as_of, summary, lambda *_: None)
    full = Home.resolve(shutil.copytree(home.root, tmp_path / f"full-{step}"))
    merge_and_publish(home, as_of, now, summary, lambda *_: None)
    with monkeypatch.context() as m:
        m.setenv("CREDIT_RULES_FULL", "1")
        merge_and_publish(full, as_of, now, oracle, lambda *_: None)
    assert oracle.rules and oracle.rules.mode == "full"
    assert summary.rules and summary.rules.mode == "scoped", summary.rules
    assert_same_exports(home, full)
    manifest = json.loads((_latest(home, "internal") / "manifest.json").read_text(encoding="utf-8"))
    return manifest["rules"]


@pytest.fixture(params=["delta", "compact"])
def always_scoped(request, monkeypatch):
    # The fixture city has a handful of subjects: any scope is most of them, so the share cap would always pick
    # the full evaluation. These tests are about the scoped answer being right, not about when it pays.
    monkeypatch.setattr(scope, "MAX_SCOPE_SHARE", 1.0)
    # Rule state: every scoped pass adds to the delta on the first base ("delta"), or writes a new base ("compact").
    if request.param == "delta":
        monkeypatch.setattr(state, "compacts", lambda *_: False)
    else:
        monkeypatch.setattr(state, "COMPACT_SHARE", 0.0)
    return request.param


def test_scoped_passes_publish_what_a_full_evaluation_publishes(tmp_path, monkeypatch, always_scoped):
    home = Home.resolve(tmp_path / "home")
    entries = (FIXTURES / "list_entry.csv").read_text(encoding="utf-8").splitlines()
    for record_type, dept in FIXTURE_DEPARTMENTS.items():
        if record_type not in LATER:
            shutil.copy(FIXTURES / f"{record_type}.csv", home.inbox / dept / f"{record_type}_2025-11.csv")
    # the black entry of a subject that holds a red one arrives later (the red one is then suspended)
    (home.inbox / "fgw" / "list_entry_2025-11.csv").write_text("\n".join([entries[0], *entries[2:]]) + "\n",
                                                               encoding="utf-8")
    first = run_pass(home, AS_OF, now=datetime(2026, 11, 25, 7, tzinfo=UTC))
    assert first.rules and first.rules.mode == "full" and first.rules.reason == "no previous version"

    # Repairs, removals, payments and feedback for records already published; the black entry; a commitment
    # corrected onto another subject (both subjects must be re-decided).
    for record_type in LATER:
        dept = FIXTURE_DEPARTMENTS[record_type]
        shutil.copy(FIXTURES / f"{record_type}.csv", home.inbox / dept / f"{record_type}_2025-12.csv")
    (home.inbox / "fgw" / "list_entry_2025-12.csv").write_text("\n".join(entries[:2]) + "\n", encoding="utf-8")
    commitments = (FIXTURES / "commitment.csv").read_text(encoding="utf-8").splitlines()
    moved = commitments[3].replace("盘锦辽河石化设备有限公司", "盘锦兴隆商贸有限公司").replace(
        "91211102MA0Q567843", "91211100MA0Q12343C")
    (home.inbox / "xzsp" / "commitment_2025-12.csv").write_text("\n".join([commitments[0], moved]) + "\n",
                                                                encoding="utf-8")
    rules = twin_pass(home, tmp_path, "late", AS_OF, monkeypatch)
    assert rules["mode"] == "scoped" and rules["scope_subjects"] >= 3
    # the scoped version wrote the re-decided rows beside the first version's base, or a new base
    parts = state_parts(_latest(home, "internal"), "penalties_status")
    assert parts and (parts.delta is not None) == (always_scoped == "delta")
    suspended = duckdb.connect().sql(
        f"select state from ({state_relation(_latest(home, 'internal'), 'lists_status')}) "
        "where list_name = '诚信示范企业'").fetchall()
    assert suspended == [("suspended",)]

    # Debts: a payment corrected onto another ledger item, a new payment, an item's amount corrected. Only the items
    # these name are checked again; every other item's payments are the previous version's.
    scoped_debts = []

    def record(*args):
        scoped_debts.append(real(*args))
        return scoped_debts[-1]

    real = evaluate_mod.scoped_debt_payments
    monkeypatch.setattr(evaluate_mod, "scoped_debt_payments", record)
    (home.inbox / "cz" / "debt_payment_2026-01.csv").write_text(
        "清偿记录编号,台账编号,清偿日期,清偿金额（万元）\n"
        "QC2025002,QQ2025002,2025-06-30,750.5678\nQC2025004,QQ2025003,2025-07-31,20\n", encoding="utf-8")
    ledgers = (FIXTURES / "debt_ledger.csv").read_text(encoding="utf-8").splitlines()
    (home.inbox / "cz" / "debt_ledger_2026-01.csv").write_text(
        "\n".join([ledgers[0], ledgers[4].replace(",12,", ",9.5,")]) + "\n", encoding="utf-8")
    twin_pass(home, tmp_path, "debts", AS_OF, monkeypatch)
    assert scoped_debts == [True]
    problems = dict(duckdb.connect().sql(
        f"select payment_no, problem from ({state_relation(_latest(home, 'internal'), 'debt_payments')})").fetchall())
    if always_scoped == "delta":   # kept by ledger item: the delta holds the items named since the first version
        parts = state_parts(_latest(home, "internal"), "debt_payments")
        assert parts and parts.delta and parts.scope and state.scope_key(parts.scope) == "ledger_no"
        con = duckdb.connect()
        items = {r[0] for r in con.sql(f"select ledger_no from read_parquet('{parts.scope}')").fetchall()}
        decided = {r[0] for r in con.sql(f"select ledger_no from read_parquet('{parts.delta}')").fetchall()}
        assert {"QQ2025002", "QQ2025003"} <= items and decided - {None} <= items
    assert problems == {"QC2025001": None, "QC2025002": "debt_payment.exceeds_owed", "QC2025003": "refers_to.unknown",
                        "QC2025004": None}

    # Nothing new, as_of later: windows and terms run out (time alone re-decides subjects) ...
    rules = twin_pass(home, tmp_path, "later", AS_OF + timedelta(days=400), monkeypatch)
    assert rules["scope_subjects"] > 0
    # ... and earlier again.
    twin_pass(home, tmp_path, "earlier", AS_OF - timedelta(days=300), monkeypatch)
    # Nothing new, same as_of: nothing is re-decided and no public row changes.
    rules = twin_pass(home, tmp_path, "again", AS_OF - timedelta(days=300), monkeypatch)
    assert rules["scope_subjects"] == 0
    assert _rows(_latest(home, "public") / "changes.parquet") == []


def test_scoped_daily_batch_of_a_demo_city(tmp_path, monkeypatch, always_scoped):
    from pipelines.demo.generate import generate

    home = Home.resolve(tmp_path / "home")
    generate(home.root, 3_000, AS_OF, seed=3)
    # Grades built in parts (as a large city's are) on the scoped and the full evaluation alike.
    monkeypatch.setattr(evaluate_mod, "part_rows", lambda _: 300)
    run_pass(home, AS_OF, now=datetime(2026, 11, 25, 7, tzinfo=UTC))
    daily = tmp_path / "daily"
    generate(daily, 600, AS_OF + timedelta(days=30), seed=4)
    for p in sorted((daily / "inbox").rglob("*.*")):
        shutil.copy(p, home.inbox / p.parent.name / f"{p.stem}_daily{p.suffix}")
    twin_pass(home, tmp_path, "daily", AS_OF + timedelta(days=30), monkeypatch)
    if always_scoped == "delta":
        # The pass decided the windows of the penalties and other dishonesty records the daily files brought (and of
        # any without a subject) and kept them by record; every other record of the subjects in scope kept its window.
        parts = state_parts(_latest(home, "internal"), "dishonesty_windows")
        assert parts and parts.delta and parts.scope and state.scope_key(parts.scope) == "record_id"
        con = duckdb.connect(str(home.warehouse), read_only=True)
        try:
            brought = sorted(con.sql(" union all ".join(
                f"select record_id from {rt}_history where superseded_at is null "
                f"and (_file_name like '%\\_daily.%' escape '\\' or subject_key is null)"
                for rt in ("admin_penalty", "other_dishonesty"))).fetchall())
        finally:
            con.close()
        decided = _rows(parts.delta)
        assert sorted(r[0] for r in decided) == [r[0] for r in brought] and brought
        assert len(_state_rows(_latest(home, "internal"), "dishonesty_windows")) > 3 * len(decided)


def test_the_rules_build_only_on_a_version_they_wrote(tmp_path, monkeypatch):
    home = Home.resolve(tmp_path / "home")
    for record_type, dept in FIXTURE_DEPARTMENTS.items():
        shutil.copy(FIXTURES / f"{record_type}.csv", home.inbox / dept / f"{record_type}_2025-11.csv")
    run_pass(home, AS_OF, now=datetime(2026, 11, 25, 7, tzinfo=UTC))
    # A scope above the share cap: re-deciding every subject costs less than assembling.
    monkeypatch.setattr(scope, "MAX_SCOPE_SHARE", 0.0)
    capped = run_pass(home, AS_OF + timedelta(days=1), now=datetime(2026, 11, 25, 8, tzinfo=UTC))
    assert capped.rules and capped.rules.mode == "full" and capped.rules.reason.endswith("subjects in scope")
    monkeypatch.setattr(scope, "MAX_SCOPE_SHARE", 1.0)
    # Other rules (as after an upgrade) build on nothing they did not write, and the next version is theirs ...
    real = scope.fingerprint
    with monkeypatch.context() as m:
        m.setattr(scope, "fingerprint", lambda: "other rules")
        other = run_pass(home, AS_OF, now=datetime(2026, 11, 25, 9, tzinfo=UTC))
    assert other.rules and other.rules.reason == "the previous version was written by other rules"
    back = run_pass(home, AS_OF, now=datetime(2026, 11, 25, 10, tzinfo=UTC))
    assert back.rules and back.rules.reason == "the previous version was written by other rules"
    assert scope.fingerprint is real
    # ... then the same rules again, nothing new, the same as_of: scoped on no subject at all.
    same = run_pass(home, AS_OF, now=datetime(2026, 11, 25, 11, tzinfo=UTC))
    assert same.rules and same.rules.mode == "scoped" and same.rules.scope_subjects == 0
    assert _rows(_latest(home, "public") / "changes.parquet") == []
    # A merge that rebuilt the subject master (a warehouse from before subject_rows): every subject again.
    con = duckdb.connect(str(home.warehouse))
    con.sql("drop table subject_rows")
    con.close()
    rebuilt = run_pass(home, AS_OF, now=datetime(2026, 11, 25, 12, tzinfo=UTC))
    assert rebuilt.rules and rebuilt.rules.reason == "the merge rebuilt the subject master"


def test_the_rules_run_again_on_one_connection_either_way(tmp_path, always_scoped):
    from pipelines.merge.warehouse import open_warehouse
    from pipelines.rules.evaluate import evaluate
    from pipelines.rules.scope import previous_versions

    home = Home.resolve(tmp_path / "home")
    for record_type, dept in FIXTURE_DEPARTMENTS.items():
        shutil.copy(FIXTURES / f"{record_type}.csv", home.inbox / dept / f"{record_type}_2025-11.csv")
    run_pass(home, AS_OF, now=datetime(2026, 11, 25, 7, tzinfo=UTC))
    con = open_warehouse(home)
    try:
        grades = []
        for previous in (previous_versions(home), None, previous_versions(home)):
            rules = evaluate(con, AS_OF + timedelta(days=200), previous)
            assert rules.mode == ("scoped" if previous else "full")
            grades.append(sorted(con.sql("select subject_key, grade, reasons from subject_grades").fetchall()))
    finally:
        con.close()
    assert grades[0] == grades[1] == grades[2] and len(grades[0]) >= 5


def test_the_publish_task_reports_how_the_rules_ran(tmp_path, always_scoped):
    from pipelines.tasks import merge_and_publish_task

    home = Home.resolve(tmp_path / "home")
    for record_type, dept in FIXTURE_DEPARTMENTS.items():
        shutil.copy(FIXTURES / f"{record_type}.csv", home.inbox / dept / f"{record_type}_2025-11.csv")
    run_pass(home, AS_OF, now=datetime(2026, 11, 25, 7, tzinfo=UTC))
    out = merge_and_publish_task(str(home.root), AS_OF.isoformat(), "manual__1", datetime(2026, 11, 25, 8, tzinfo=UTC))
    assert out["rules"] == "scoped" and out["rules_reason"].startswith("0 subjects re-evaluated")


def test_subjects_graded_in_parts_get_the_grades_of_one_part(tmp_path, monkeypatch):
    """subject_grades builds its reason lists in parts by subject hash (they cannot spill); any number of parts
    grades every subject as one part does."""
    from pipelines.demo.generate import generate
    from pipelines.merge.warehouse import open_warehouse
    from pipelines.rules.evaluate import evaluate

    home = Home.resolve(tmp_path / "home")
    generate(home.root, 3_000, AS_OF, seed=5)
    run_pass(home, AS_OF, now=datetime(2026, 11, 25, 7, tzinfo=UTC))
    con = open_warehouse(home)
    try:
        runs = []
        for part_rows in (10_000_000, 300, 40):
            monkeypatch.setattr(evaluate_mod, "part_rows", lambda _, n=part_rows: n)
            evaluate(con, AS_OF, None)
            parts = con.sql("select getvariable('parts')").fetchall()[0][0]
            grades = sorted(con.sql("select * from subject_grades").fetchall())
            runs.append((parts, grades))
        subjects = con.sql("select count(*) from subjects").fetchall()[0][0]
    finally:
        con.close()
    (one, whole), (some, in_some), (many, in_many) = runs
    assert one == 1 and 1 < some < many
    assert whole == in_some == in_many and len(whole) == subjects
    assert {g[4] for g in whole} >= {"B", "C", "D"} and sum(len(g[5]) > 1 for g in whole) > 10


@pytest.mark.parametrize(("limit", "rows"), [("1GB", 3_725_290), ("170MB", 633_299), ("2GB", 7_200_000), ("1MB", 10_000)])
def test_the_rows_per_part_follow_the_memory_limit(limit, rows):
    con = duckdb.connect()
    con.sql(f"set memory_limit = '{limit}'")
    assert abs(evaluate_mod.part_rows(con) - rows) <= rows // 100


def test_a_record_corrected_again_brings_back_only_the_subject_it_left(tmp_path, monkeypatch, always_scoped):
    # A commitment moved A → B on one day and B → C on the next: the second day re-decides B (which loses it) and C
    # (which gains it), not A, which lost it the day before. Reading every version of the record brought every
    # subject it ever had back into scope: the daily pass grew by a day's corrections every day.
    home = Home.resolve(tmp_path / "home")
    for record_type, dept in FIXTURE_DEPARTMENTS.items():
        shutil.copy(FIXTURES / f"{record_type}.csv", home.inbox / dept / f"{record_type}_2025-11.csv")
    run_pass(home, AS_OF, now=datetime(2026, 11, 25, 7, tzinfo=UTC))
    a, b, c = "91211100MA0Q12343C", "91211102MA0Q567843", "91211104MA0T22229X"
    names = {a: "盘锦兴隆商贸有限公司", b: "盘锦辽河石化设备有限公司", c: "盘锦恒信建筑工程有限公司"}
    header, first, *_ = (FIXTURES / "commitment.csv").read_text(encoding="utf-8").splitlines()
    assert first.startswith(f"{names[a]},") and f",{a},CN2025001," in first
    scopes: list[set[str]] = []

    def define(con, *args):
        why = real(con, *args)
        scopes.append({r[0] for r in con.sql("select subject_key from rule_scope").fetchall()})
        return why

    real = evaluate_mod.define_scope
    monkeypatch.setattr(evaluate_mod, "define_scope", define)
    for month, (src, dst) in (("2025-12", (a, b)), ("2026-01", (b, c))):
        moved = first.replace(names[a], names[dst]).replace(a, dst)
        (home.inbox / "xzsp" / f"commitment_{month}.csv").write_text(f"{header}\n{moved}\n", encoding="utf-8")
        rules = twin_pass(home, tmp_path, f"moved-{month}", AS_OF, monkeypatch)
        assert rules["mode"] == "scoped"
        assert {src, dst} <= scopes[-1], (month, scopes[-1])
    assert a not in scopes[-1], scopes[-1]
    on_file = duckdb.connect().sql(
        f"select uscc from read_parquet('{_latest(home, 'public') / 'commitments.parquet'}') "
        "where commitment_no = 'CN2025001'").fetchall()
    assert on_file == [(c,)], on_file
