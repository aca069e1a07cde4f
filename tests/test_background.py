"""The GX worker process: calls run there, answers and failures come back, and it is gone after close()."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pipelines.background import GxProcess

REPO = Path(__file__).resolve().parent.parent


class _Unpicklable(Exception):
    def __init__(self) -> None:
        super().__init__("held a lock")
        self.lock = threading.Lock()


def raise_unpicklable() -> None:
    raise _Unpicklable()


def shout_and_answer(value: int) -> int:
    print("noise on stdout from a library")
    os.write(1, b"more noise straight to fd 1\n")
    return value * 2


def test_calls_run_in_a_worker_process_that_exits_on_close(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))   # pytest imports this file as test_background
    gx = GxProcess()
    try:
        pid = gx.call(os.getpid)
        assert pid != os.getpid()
        assert gx.call(os.getpid) == pid                      # one worker for all the calls
        assert gx.call(shout_and_answer, 21) == 42              # what the call prints never corrupts the answers
        with pytest.raises(ValueError, match="invalid literal"):
            gx.call(int, "not a number")                       # the worker's exception, raised here
        with pytest.raises(RuntimeError, match="_Unpicklable: held a lock"):
            gx.call(raise_unpicklable)                         # as text when it cannot travel
        with pytest.raises(RuntimeError, match="cannot be sent back"):
            gx.call(threading.Lock)
        assert gx.call(os.getpid) == pid                       # and the worker goes on after failures
        proc = gx._proc
    finally:
        gx.close()
    assert proc is not None and proc.poll() is not None        # exited
    assert not Path(f"/proc/{pid}").exists()
    try:
        assert gx.call(os.getpid) not in (pid, os.getpid())    # a later call starts a new worker
    finally:
        gx.close()


def remember(path: str, value: str) -> str:
    Path(path).write_text(value)
    return value


def test_calls_sent_ahead_run_first_and_their_failure_reaches_the_next_call(monkeypatch, tmp_path):
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    gx = GxProcess()
    try:
        gx.start(remember, str(tmp_path / "ahead"), "warm")      # returns at once; runs in the worker
        assert gx.call(Path.read_text, tmp_path / "ahead") == "warm"   # it ran before this call
        gx.start(int, "not a number")
        with pytest.raises(ValueError, match="invalid literal"):
            gx.call(os.getpid)                                  # the failure sent ahead surfaces here
        pid = gx.call(os.getpid)                                # and the answers stay in step
        assert pid != os.getpid() and gx.call(shout_and_answer, 2) == 4
        gx.start(remember, str(tmp_path / "unread"), "x" * 200_000)   # an answer nobody reads...
    finally:
        gx.close()                                              # ...does not keep the worker from exiting
    assert not Path(f"/proc/{pid}").exists() and (tmp_path / "unread").read_text() == "x" * 200_000


def test_in_process_when_asked(monkeypatch):
    monkeypatch.setenv("CREDIT_GX_PROCESS", "0")
    gx = GxProcess()
    assert gx.call(os.getpid) == os.getpid() and gx._proc is None


def test_validation_leaves_neither_gx_nor_a_worker_in_the_pass_process(tmp_path):
    """A real validation of a demo city: GX cross-checks every record type and renders the Data Docs, but
    the process that goes on to the warehouse never imports GX and has no child process left."""
    script = f"""
import json, sys
from pathlib import Path
from pipelines.demo.generate import generate
from pipelines.home import Home
from pipelines.run import PassSummary, collect, validate_pending
from tests.conftest import AS_OF
home = Home.resolve({str(tmp_path / 'home')!r})
generate(home.root, 1500, AS_OF, seed=5)
summary = PassSummary(AS_OF)
collect(home, summary, lambda *_: None)
validate_pending(home, AS_OF, summary, lambda *_: None)
children = [c for t in Path("/proc/self/task").iterdir() for c in (t / "children").read_text().split()]
print(json.dumps({{
    "gx_loaded": any(m == "great_expectations" or m.startswith("great_expectations.") for m in sys.modules),
    "children": children,
    "types": sorted({{v.record_type for v in summary.validations}}),
    "gx_rows": min(v.gx_rows or 0 for v in summary.validations),
    "results": [v.gx_result for v in summary.validations],
}}))
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["gx_loaded"] is False and got["children"] == []
    assert len(got["types"]) == 10 and got["gx_rows"] > 0
    home = tmp_path / "home"
    assert all((home / r).is_file() for r in got["results"])
    assert (home / "validation" / "docs" / "index.html").is_file()


def test_a_pass_starts_gx_before_landing_only_a_small_input(home, monkeypatch):
    """The GX worker imports GX while a small input lands (a daily batch); a large one, or nothing new, leaves it
    to the validation (there the import is hidden behind DuckDB's work and would only compete with the landing)."""
    from pipelines import run as run_mod
    from pipelines.ingest.files import collect_department, new_inbox_bytes
    from tests.conftest import fill_inbox

    fill_inbox(home)
    pending = new_inbox_bytes(home)
    assert pending == sum(p.stat().st_size for p in home.inbox.rglob("*") if p.is_file())
    gx = run_mod.start_gx_early(home)
    try:
        assert gx._proc is not None and gx._ahead == 1          # started, the warm-up on its way
        assert gx.call(os.getpid) != os.getpid()
    finally:
        gx.close()
    monkeypatch.setattr(run_mod, "GX_EARLY_MAX_BYTES", pending - 1)
    assert run_mod.start_gx_early(home)._proc is None            # too large: the validation starts it
    monkeypatch.setattr(run_mod, "GX_EARLY_MAX_BYTES", pending)
    for dept in {p.parent.name for p in home.inbox.rglob("*.csv")}:
        collect_department(home, dept)
    assert new_inbox_bytes(home) == 0
    assert run_mod.start_gx_early(home)._proc is None            # nothing new to land


def test_a_small_pass_renders_its_data_docs_behind_the_warehouse_steps(home):
    """A small input: the GX worker, started before the landing, renders the Data Docs while the warehouse steps run;
    the pass waits for it at its end (no worker is left), and a failure to render is raised after the export it
    does not gate was published."""
    import shutil
    from datetime import UTC, datetime

    from pipelines.run import run_pass
    from tests.conftest import AS_OF, FIXTURES, fill_inbox

    fill_inbox(home)
    summary = run_pass(home, AS_OF, now=datetime(2026, 11, 25, 8, tzinfo=UTC))
    assert summary.public and (home.validation / "docs" / "index.html").is_file()
    assert [c for t in Path("/proc/self/task").iterdir() for c in (t / "children").read_text().split()] == []

    shutil.rmtree(home.validation / "docs")
    (home.validation / "docs").write_text("a file where the Data Docs folder goes", encoding="utf-8")
    lines = (FIXTURES / "admin_penalty.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (home.inbox / "scjg" / "admin_penalty_2026-01.csv").write_text("".join(lines[:4]), encoding="utf-8")
    with pytest.raises(OSError):
        run_pass(home, AS_OF, now=datetime(2026, 11, 26, 8, tzinfo=UTC))
    latest = json.loads((home.exports / "public" / "latest.json").read_text(encoding="utf-8"))
    assert latest["version"] != summary.public.version   # published all the same
    assert [c for t in Path("/proc/self/task").iterdir() for c in (t / "children").read_text().split()] == []


def test_a_large_pass_renders_its_data_docs_and_stops_gx_before_the_warehouse_steps(home, monkeypatch):
    """A large input (the GX worker not started before the landing; the cross-checks start it): the Data Docs
    are rendered and the worker has exited before the merge, so its memory is not held beside DuckDB's."""
    from datetime import UTC, datetime

    from pipelines import run as run_mod
    from tests.conftest import AS_OF, fill_inbox

    monkeypatch.setattr(run_mod, "GX_EARLY_MAX_BYTES", 0)
    fill_inbox(home)
    seen = {}
    real = run_mod.merge_and_publish

    def merge_and_publish(*args, **kwargs):
        seen["children"] = [c for t in Path("/proc/self/task").iterdir() for c in (t / "children").read_text().split()]
        seen["docs"] = (home.validation / "docs" / "index.html").is_file()
        return real(*args, **kwargs)

    monkeypatch.setattr(run_mod, "merge_and_publish", merge_and_publish)
    summary = run_mod.run_pass(home, AS_OF, now=datetime(2026, 11, 25, 8, tzinfo=UTC))
    assert summary.public and summary.validations
    assert seen == {"children": [], "docs": True}


def test_a_small_pass_merges_beside_its_last_cross_checks_and_commits_only_once_they_agree(home, monkeypatch):
    """A small input's merge starts while GX still checks its last record types (the SQL's counts are known), in a
    transaction: when a cross-check then disagrees, the warehouse, the validation results and the exports are as
    they were, and the next pass validates and merges every row."""
    from datetime import UTC, datetime

    import duckdb

    from pipelines import run as run_mod
    from pipelines.validate.batch import ValidationMismatch
    from tests.conftest import AS_OF, FIXTURE_DEPARTMENTS, fill_inbox

    fill_inbox(home)
    merging = threading.Event()
    waited: list[bool] = []
    real_check, real_merge = run_mod.cross_check_type, run_mod.merge

    def merge(*args, **kwargs):
        merging.set()
        return real_merge(*args, **kwargs)

    def disagreeing_check(home_, record_type, group, *rest):
        if record_type == "admin_penalty":   # its verdict comes once the merge has begun, and it disagrees
            waited.append(merging.wait(120))
            raise ValidationMismatch("admin_penalty: SQL vs GX counts differ (a test's verdict)")
        return real_check(home_, record_type, group, *rest)

    monkeypatch.setattr(run_mod, "merge", merge)
    monkeypatch.setattr(run_mod, "cross_check_type", disagreeing_check)
    with pytest.raises(ValidationMismatch, match="a test's verdict"):
        run_mod.run_pass(home, AS_OF, now=datetime(2026, 11, 25, 8, tzinfo=UTC))
    assert waited == [True]                      # the merge ran beside the cross-check
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        assert con.sql("select count(*) from batches").fetchall() == [(0,)]
        assert con.sql("select table_name from duckdb_tables() where table_name like '%_history'").fetchall() == []
    finally:
        con.close()
    assert not list((home.validation / "batches").glob("*.json"))
    assert not (home.exports / "public" / "latest.json").exists()
    assert [c for t in Path("/proc/self/task").iterdir() for c in (t / "children").read_text().split()] == []

    monkeypatch.setattr(run_mod, "cross_check_type", real_check)
    summary = run_mod.run_pass(home, AS_OF, now=datetime(2026, 11, 26, 8, tzinfo=UTC))
    assert summary.public and len(summary.validations) == len(FIXTURE_DEPARTMENTS)
    accepted = sum(v.accepted for v in summary.validations)
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        merged = con.sql("select sum(accepted), count(*) filter (where merged_at is null) from batches").fetchall()
        histories = [t for (t,) in con.sql("select table_name from duckdb_tables() "
                                           "where table_name like '%_history'").fetchall()]
        held = sum(con.sql(f"select count(*) from {t}").fetchall()[0][0] for t in histories)
    finally:
        con.close()
    assert merged == [(accepted, 0)] and held == accepted > 0
    assert all((home.validation / "batches" / f"{v.batch_id}.json").exists() for v in summary.validations)
