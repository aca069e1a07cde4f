"""Several batches of one record type are validated together, yet every output stays per batch."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from pipelines.home import Home
from pipelines.ingest.files import collect_department, load_batches
from pipelines.merge.warehouse import merge, open_warehouse
from pipelines.run import PassSummary, validate_pending
from pipelines.validate.batch import staged_relation
from pipelines.validate.sql import connect
from tests.conftest import AS_OF, FIXTURES


def _two_penalty_files(home: Home) -> None:
    """The fixture file, and a second file holding its header and its rows 3..11 in another department."""
    text = (FIXTURES / "admin_penalty.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (home.inbox / "scjg" / "admin_penalty_2025-11.csv").write_text("".join(text), encoding="utf-8")
    (home.inbox / "swjt" / "admin_penalty_2025-12.csv").write_text("".join([text[0], *text[3:]]), encoding="utf-8")


def _validated_penalty_files(home: Home) -> tuple:
    """The two penalty files landed and validated together: their batches (first, second)."""
    _two_penalty_files(home)
    for dept in ("scjg", "swjt"):
        collect_department(home, dept)
    validate_pending(home, AS_OF, PassSummary(AS_OF), lambda *_: None)
    batches = {b.file_name: b for b in load_batches(home).values()}
    return batches["admin_penalty_2025-11.csv"], batches["admin_penalty_2025-12.csv"]


def test_batches_of_one_type_keep_their_own_rows_counts_and_quarantine(home):
    _two_penalty_files(home)
    for dept in ("scjg", "swjt"):
        collect_department(home, dept)
    summary = PassSummary(AS_OF)
    validate_pending(home, AS_OF, summary, lambda *_: None)
    batches = {b.file_name: b for b in load_batches(home).values()}
    first, second = batches["admin_penalty_2025-11.csv"], batches["admin_penalty_2025-12.csv"]
    got = {v.batch_id: v for v in summary.validations}
    assert set(got) == {first.batch_id, second.batch_id}
    assert (got[first.batch_id].rows, got[second.batch_id].rows) == (11, 9)
    # The fixture's bad rows are data rows 6 and 7; in the second file they are rows 4 and 5.
    con = connect()   # the staged rows are typed as they are read: the project's macros
    for batch, bad_rows in ((first, [6, 7]), (second, [4, 5])):
        v = got[batch.batch_id]
        assert (v.quarantined, v.accepted) == (2, v.rows - 2)
        q = con.sql(f"select batch_id, file_name, row_number from "
                    f"read_parquet('{home.quarantine_dir / 'rows' / f'{batch.batch_id}.parquet'}') "
                    "order by row_number").fetchall()
        assert q == [(batch.batch_id, batch.file_name, n) for n in bad_rows]
        rows = staged_relation(con, home, "admin_penalty", [batch.batch_id])
        staged = con.sql(f"select distinct _batch_id, count(*) over () from {rows}").fetchall()
        assert staged == [(batch.batch_id, v.accepted)]
        assert not set(bad_rows) & {r[0] for r in con.sql(f"select _row_number from {rows}").fetchall()}


def test_merge_numbers_versions_in_landing_file_and_row_order(home):
    _two_penalty_files(home)
    for dept in ("scjg", "swjt"):
        collect_department(home, dept)
    validate_pending(home, AS_OF, PassSummary(AS_OF), lambda *_: None)
    con = open_warehouse(home)
    try:
        merge(con, home, datetime(2026, 11, 25, 8, tzinfo=UTC))
        seqs = con.sql("select version_seq from admin_penalty_history "
                       "order by _landed_at, _file_name, _row_number").fetchall()
        assert [s[0] for s in seqs] == sorted(s[0] for s in seqs)
        assert len({s[0] for s in seqs}) == len(seqs) == 16
        # The same decisions were submitted twice: the later file's version is current, the earlier superseded.
        current = con.sql("select _file_name, count(*) from admin_penalty_history where superseded_at is null "
                          "group by all order by all").fetchall()
        assert current == [("admin_penalty_2025-11.csv", 2), ("admin_penalty_2025-12.csv", 7)]
    finally:
        con.close()


def test_side_thread_records_feedback_and_gx_and_a_disagreement_validates_nothing(home, monkeypatch):
    import pipelines.validate.gx_runner as gxmod
    from pipelines.validate.batch import ValidationMismatch

    monkeypatch.setenv("CREDIT_GX_PROCESS", "0")   # GX in this process, where the patch below applies
    _two_penalty_files(home)
    for dept in ("scjg", "swjt"):
        collect_department(home, dept)
    # GX on the side thread runs a suite with no expectations, so it misses the rows the SQL flagged:
    # the pass must stop with nothing validated.
    real = gxmod.load_suite
    monkeypatch.setattr(gxmod, "load_suite", lambda record_type: real(record_type) | {"expectations": []})
    summary = PassSummary(AS_OF)
    with pytest.raises(ValidationMismatch, match="SQL vs GX counts differ"):
        validate_pending(home, AS_OF, summary, lambda *_: None)
    assert not list((home.validation / "batches").glob("*.json")) and summary.validations == []

    monkeypatch.setattr(gxmod, "load_suite", real)
    validate_pending(home, AS_OF, summary, lambda *_: None)
    assert len(summary.validations) == 2
    for v in summary.validations:
        assert (home.root / v.feedback_path).exists() and (home.root / v.gx_result).exists()
        assert v.gx_rows == 20 and v.gx_success is False   # both files' rows; the fixture holds bad rows
        assert (home.validation / "batches" / f"{v.batch_id}.json").exists()


def test_run_pass_renders_data_docs_before_the_warehouse_and_reports_the_right_failure(home, monkeypatch):
    import json

    import pipelines.run as runmod
    from pipelines.run import run_pass

    monkeypatch.setenv("CREDIT_GX_PROCESS", "0")   # GX in this process, where the patches below apply
    _two_penalty_files(home)
    # Without a GX worker started before the landing (here: none at all; in a pass, a large input), the Data Docs
    # render once validation is done, before the warehouse steps (in the GX worker, which then exits and gives its
    # memory back before DuckDB's buffer pool fills). A small input's render behind them (test_background.py).
    steps = []
    real_docs, real_merge = runmod.build_data_docs, runmod.merge_and_publish

    def docs(*args):
        steps.append("docs")
        return real_docs(*args)

    def merge(*args, **kwargs):
        steps.append("merge")
        return real_merge(*args, **kwargs)

    monkeypatch.setattr(runmod, "build_data_docs", docs)
    monkeypatch.setattr(runmod, "merge_and_publish", merge)
    run_pass(home, AS_OF, now=datetime(2026, 11, 25, 8, tzinfo=UTC))
    assert steps == ["docs", "merge"]
    assert (home.validation / "docs" / "index.html").exists()
    first = json.loads((home.exports / "public" / "latest.json").read_text())

    # Docs that fail are reported, after the export they do not gate was published.
    lines = (FIXTURES / "admin_penalty.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (home.inbox / "scjg" / "admin_penalty_2026-01.csv").write_text("".join(lines[:4]), encoding="utf-8")

    def broken(*_):
        raise OSError("docs disk full")

    monkeypatch.setattr(runmod, "build_data_docs", broken)
    with pytest.raises(OSError, match="docs disk full"):
        run_pass(home, AS_OF, now=datetime(2026, 11, 26, 8, tzinfo=UTC))
    second = json.loads((home.exports / "public" / "latest.json").read_text())
    assert second["version"] != first["version"]

    # A pass that fails in the warehouse reports that failure, not the docs' one; the export stays put.
    (home.inbox / "swjt" / "admin_penalty_2026-02.csv").write_text("".join([lines[0], *lines[4:6]]),
                                                                    encoding="utf-8")

    def merge_fails(*_, **__):
        raise RuntimeError("warehouse locked")

    monkeypatch.setattr(runmod, "merge_and_publish", merge_fails)
    with pytest.raises(RuntimeError, match="warehouse locked"):
        run_pass(home, AS_OF, now=datetime(2026, 11, 27, 8, tzinfo=UTC))
    assert json.loads((home.exports / "public" / "latest.json").read_text()) == second


def test_a_batch_validated_again_alone_is_read_from_its_new_file_only(home):
    first, second = _validated_penalty_files(home)
    shared = json.loads((home.validation / "batches" / f"{first.batch_id}.json").read_text())["rejects"]
    # The first batch's result is lost (say a crash before merge): the next pass validates it on its own.
    (home.validation / "batches" / f"{first.batch_id}.json").unlink()
    summary = PassSummary(AS_OF)
    validate_pending(home, AS_OF, summary, lambda *_: None)
    assert [v.batch_id for v in summary.validations] == [first.batch_id]
    own = summary.validations[0].rejects
    assert own != shared and (home.root / shared).is_file()     # the shared file still lists its old rows
    con = connect()
    rows = staged_relation(con, home, "admin_penalty", [first.batch_id, second.batch_id])
    counts = dict(con.sql(f"select _batch_id, count(*) from {rows} group by all").fetchall())
    assert counts == {first.batch_id: 9, second.batch_id: 7}     # 11 − 2 and 9 − 2 accepted, none twice
    assert con.sql(f"select count(*) from read_parquet('{home.root / shared}')").fetchall()[0][0] == 4


def test_batches_validated_by_earlier_code_merge_from_their_typed_file(home):
    """Results written before rejects lists name a file of their accepted, typed rows: the merge reads those."""
    old, _ = _validated_penalty_files(home)
    # What the earlier validation left: the accepted rows typed in a file of their own, named in the result.
    con = connect()
    typed = home.staged / "admin_penalty" / "earlier.parquet"
    con.sql(f"copy (select * from {staged_relation(con, home, 'admin_penalty', [old.batch_id])}) "
            f"to '{typed}' (format parquet)")
    vpath = home.validation / "batches" / f"{old.batch_id}.json"
    result = json.loads(vpath.read_text())
    result["staged"], result["rejects"] = str(typed.relative_to(home.root)), None
    vpath.write_text(json.dumps(result))
    # The landed rows are gone, so only the typed file can bring the batch's 9 accepted rows.
    (home.root / old.raw_path).unlink()
    wh = open_warehouse(home)
    try:
        merge(wh, home, datetime(2026, 11, 25, 8, tzinfo=UTC))
        got = dict(wh.sql("select _file_name, count(*) from admin_penalty_history group by all").fetchall())
        assert got == {"admin_penalty_2025-11.csv": 9, "admin_penalty_2025-12.csv": 7}
    finally:
        wh.close()
