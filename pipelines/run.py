"""One whole pass (run-contract.md): land, validate, merge, evaluate the rules, publish."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import duckdb

from pipelines.background import GxProcess, SideWork
from pipelines.home import Home
from pipelines.ingest.files import (
    Batch,
    collect_departments,
    departments_in_inbox,
    load_batches,
    new_inbox_bytes,
)
from pipelines.merge.warehouse import merge, open_warehouse
from pipelines.publish.exports import Version, publish
from pipelines.rules.evaluate import evaluate
from pipelines.rules.scope import RuleRun, previous_versions
from pipelines.validate import feedback
from pipelines.validate.batch import BatchValidation, cross_check_type, validate_batches
from pipelines.validate.gx_runner import build_data_docs, warm_up
from pipelines.validate.sql import connect, lit, run

Progress = Callable[[str, int, int], None]

# Internal files the publication contract names, with the columns it requires first.
INTERNAL_CONTRACT_FILES = {
    "discipline_targets.parquet": "select * from discipline_targets",
    "discipline_feedback_coverage.parquet": "select * from discipline_feedback_coverage",
    "subject_grades.parquet": "select * from subject_grades",
    "debt_ledger.parquet": "select * from debt_ledger_status",
    "gov_dishonesty.parquet": "select * from gov_dishonesty",
    "debt_late_interest_periods.parquet": "select * from debt_late_interest_periods",
}
# Every version of every record (point-in-time reads) is not a file here: publish writes it as immutable
# parts, history/<type>/part-<first>-<last>.parquet, linking the previous version's (exports.write_history).


@dataclass
class PassSummary:
    as_of: date
    files_read: int = 0
    duplicates: int = 0
    rejected_files: list[Batch] = field(default_factory=list)
    validations: list[BatchValidation] = field(default_factory=list)
    batches: Mapping[str, Batch] = field(default_factory=dict)
    public: Version | None = None
    internal: Version | None = None
    rules: RuleRun | None = None


def collect(home: Home, summary: PassSummary, progress: Progress) -> None:
    """Land every department's new files (Parquet only)."""
    depts = departments_in_inbox(home)
    results = collect_departments(home, depts, landed=lambda done, total: progress("收集 collect", done, total))
    for dept in depts:
        res = results[dept]
        summary.files_read += len(res.landed) + len(res.rejected)
        summary.duplicates += len(res.duplicates)
        summary.rejected_files += res.rejected
        for b in res.rejected:
            feedback.write_batch_feedback(home, b, None, None)
    files = summary.files_read
    progress("收集 collect", files, files)   # also when no file was new
    # Front-end exchange databases (CREDIT_EXCHANGE_URLS): every new (table, department) read is one batch.
    from pipelines.ingest.exchange import collect_exchange, exchange_urls_from_env

    for b in collect_exchange(home, exchange_urls_from_env()):
        summary.files_read += 1
        if b.status == "rejected":
            summary.rejected_files.append(b)
            feedback.write_batch_feedback(home, b, None, None)


def validate_pending(home: Home, as_of: date, summary: PassSummary, progress: Progress,
                     department: str | None = None, docs_errors: list[Exception] | None = None,
                     gx: GxProcess | None = None, docs_behind: bool = False) -> None:
    """Validate every landed batch (of one department, or all) that has no validation result yet, then
    render the GX Data Docs of the new results.

    GX (the cross-checks and the Data Docs) runs in a worker process that exits before this returns (unless
    docs_behind), so the memory it took is given back before the warehouse steps fill DuckDB's buffer pool. The Data Docs are
    a report and gate nothing: given docs_errors, a failure to render them is appended there (for the
    caller to raise once its own work stands) instead of raised. gx: the pass's GX worker when the caller
    started it already (start_gx_early); it is closed here all the same, unless docs_behind and it was started
    already: then the Data Docs are only sent to it, to render while the caller goes on, and the caller finishes it
    (GxProcess.finish; a no-op when it was closed here).
    """
    start_validation(home, as_of, summary, progress, department, docs_errors, gx, docs_behind).finish()


@dataclass
class Validation:
    """A validation whose SQL is done and whose GX cross-checks and feedback workbooks may still be running.

    Nothing counts as validated before finish(): it waits for them, raises ValidationMismatch if GX disagrees with
    the SQL, and only then saves the results (a batch with a saved result is what merge takes) and sends the Data
    Docs. results (the SQL's counts) are known before: a merge may run beside the cross-checks in a transaction it
    commits only after finish() (merge_and_publish)."""
    home: Home
    summary: PassSummary
    results: list[BatchValidation]
    gx: GxProcess
    behind: bool                     # the Data Docs render behind the caller's steps (GX was started before)
    docs_errors: list[Exception] | None
    side: SideWork | None = None
    gx_side: SideWork | None = None
    con: duckdb.DuckDBPyConnection | None = None
    done: bool = False

    def finish(self) -> None:
        """Wait for the cross-checks; save the results and render (or send) the Data Docs. Once; raises what the
        cross-checks raised."""
        if self.done:
            return
        self.done = True
        try:
            try:
                if self.side and self.gx_side:
                    finish_side_work(self.side, self.gx_side)   # the feedback workbooks read through cursors of con
            finally:
                if self.con:
                    self.con.close()
            for r in self.results:
                r.save(self.home)
            if self.results and self.behind:
                self.gx.start(build_data_docs, self.home.validation / "results", self.home.validation / "docs")
            elif self.results:
                try:
                    render_data_docs(self.home, self.gx)
                except Exception as e:
                    if self.docs_errors is None:
                        raise
                    self.docs_errors.append(e)
        except BaseException:
            self.gx.close()
            raise
        if not self.behind:
            self.gx.close()
        self.summary.validations += self.results


def start_validation(home: Home, as_of: date, summary: PassSummary, progress: Progress,
                     department: str | None = None, docs_errors: list[Exception] | None = None,
                     gx: GxProcess | None = None, docs_behind: bool = False) -> Validation:
    """validate_pending up to the end of the SQL flags: the GX cross-checks of the last record types may still be
    running in the returned Validation (finish() waits for them and does the rest)."""
    gx = gx or GxProcess()
    # Behind only if the worker ran before this validation (a small input: start_gx_early). Asked after it, every
    # validation's worker runs (the cross-checks started it) and a large input's ~600 MB would stay beside DuckDB's
    # buffer pool through the warehouse steps (the 10M pass peaked at 2.0 GB instead of 1.4 GB).
    behind = docs_behind and gx.running
    v = Validation(home, summary, [], gx, behind, docs_errors)
    try:
        batches = load_batches(home)
        summary.batches = batches
        # Only the manifests of batches without a validation result are read (a home keeps every batch ever).
        validated = {p.stem for p in (home.validation / "batches").glob("*.json")}
        todo = [b for b in (batches[i] for i in batches if i not in validated)
                if b.status == "landed" and department in (None, b.department)]
        by_type: dict[str, list[Batch]] = {}
        for b in sorted(todo, key=lambda b: (b.landed_at, b.file_name)):
            by_type.setdefault(b.record_type or "", []).append(b)
        # GX must agree with the SQL flags before any batch counts as validated (then merge takes it).
        run_name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{department or 'all'}"
        # The feedback workbooks go to one side thread, the GX cross-checks to another that hands them to the GX
        # worker process: Python work in two processes while DuckDB flags the next record type.
        v.side, v.gx_side = SideWork(), SideWork("gx-side")
        if todo:
            v.gx_side.submit(gx.call, warm_up)   # GX's import and context, while DuckDB flags the first record type
        v.con = connect()
        for record_type, group in sorted(by_type.items()):
            done = validate_batches(home, record_type, group, as_of, v.con, v.side)
            v.gx_side.submit(cross_check_type, home, record_type, done, as_of, run_name, gx)
            v.results += done
            progress("校验 validate", len(v.results), len(todo))
    except BaseException:
        v.results = []   # nothing is saved: the side work is waited for, the connection and the worker closed
        try:
            v.finish()
        except Exception:
            pass   # the side work's failure follows from this one, which the caller gets
        finally:
            gx.close()
        raise
    return v


# Below this many new inbox bytes (~650k rows of the demo city), the pass starts its GX worker before landing them:
# GX's import (~4 s of CPU) then runs while the files land instead of holding up the end of a short validation
# (a daily batch of 100k rows at 10M: the wait for the GX checks went from 4.6-5.2 s to 1.5-2.1 s). A larger
# landing keeps both cores busy on its own, and its validation outlasts the import anyway: there it only
# slowed the landing (2.5M rows: 13.6 s against 11.0 s) and added the worker's ~300 MB to the landing's peak.
# The same worker then renders the small input's Data Docs behind the warehouse steps (run_pass): ~1 s off a daily
# pass at 10M, for the worker's ~370 MB beside DuckDB's until the publish is done.
GX_EARLY_MAX_BYTES = 256 << 20


def start_gx_early(home: Home) -> GxProcess:
    """The pass's GX worker, importing GX already when the new input is small (GX_EARLY_MAX_BYTES)."""
    gx = GxProcess()
    if 0 < new_inbox_bytes(home) <= GX_EARLY_MAX_BYTES:
        gx.start(warm_up)
    return gx


def render_data_docs(home: Home, gx: GxProcess) -> None:
    """The GX Data Docs site from every stored validation result (in the GX worker; a report, gating nothing)."""
    gx.call(build_data_docs, home.validation / "results", home.validation / "docs")


def finish_side_work(side: SideWork, gx_side: SideWork) -> None:
    """Wait for the feedback workbooks and GX cross-checks still running after the last type's SQL."""
    try:
        side.wait()
    finally:
        gx_side.wait()


def quarantine_query(home: Home) -> str:
    rows = home.quarantine_dir / "rows"
    # A quarantined row is resolved once a later submission of the same record was accepted.
    row_part = (
        f"select department, record_type, file_name, row_number, rules, reasons, first_seen_at, batch_id, "
        f"submitted from read_parquet({lit(str(rows / '*.parquet'))}) as q "
        f"where not exists (select 1 from current_record_ids as c "
        f"where c.record_id = q.record_id and c._landed_at > q.first_seen_at)"
        if any(rows.glob("*.parquet")) else
        "select null::varchar as department, null::varchar as record_type, null::varchar as file_name, "
        "null::bigint as row_number, null::varchar[] as rules, null::varchar as reasons, "
        "null::timestamptz as first_seen_at, null::varchar as batch_id, null::json as submitted where false"
    )
    return f"""
        {row_part}
        union all by name
        select department, record_type, file_name, null::bigint as row_number, [reason_rule] as rules,
               reason as reasons, landed_at as first_seen_at, batch_id, null::json as submitted
        from batches where status = 'rejected'
        union all by name
        select *, null::varchar as batch_id, null::json as submitted from pending_references
        order by first_seen_at, department, file_name, row_number"""


def internal_files(con) -> dict[str, str]:
    """The internal export's files beyond the standard tables and the record history: the contract files."""
    return dict(INTERNAL_CONTRACT_FILES)


def merge_and_publish(home: Home, as_of: date, now: datetime, summary: PassSummary, progress: Progress,
                      version: str | None = None, validation: Validation | None = None) -> None:
    """The single-writer steps: merge new batches, evaluate the rules on as_of, publish a version.

    validation: a validation whose GX cross-checks may still be running (start_validation). The merge then takes
    its batches from the SQL's counts beside the cross-checks, in one transaction it commits only once they agree
    (finish() saved the results): a disagreement leaves the warehouse as it was and nothing validated."""
    con = open_warehouse(home)
    try:
        if validation and not validation.done:
            run(con, "begin transaction")
            try:
                merge(con, home, now, validation.results)
            except BaseException as e:
                run(con, "rollback")
                try:   # the results still stand when GX agrees, as when a merge fails after validate_pending
                    validation.finish()
                except Exception as v:
                    e.add_note(f"and the validation's cross-checks failed: {v!r}")
                raise
            try:
                validation.finish()   # the wait for the cross-checks still running
            except BaseException:
                run(con, "rollback")
                raise
            run(con, "commit")
        else:
            merge(con, home, now)
        progress("入库 merge", 1, 1)
        summary.rules = evaluate(con, as_of, previous_versions(home))
        progress("规则 rules", 1, 1)
        summary.public, summary.internal = publish(con, home, as_of, now, quarantine_query(home), internal_files(con),
                                                   version, summary.rules)
        progress("发布 publish", 1, 1)
    finally:
        con.close()


def run_pass(home: Home, as_of: date, progress: Progress | None = None, now: datetime | None = None) -> PassSummary:
    """A whole pass; raises if it cannot complete, leaving the previous export version as the latest."""
    progress = progress or (lambda *_: None)
    now = now or datetime.now(UTC)
    summary = PassSummary(as_of)
    gx = start_gx_early(home)
    try:
        collect(home, summary, progress)
    except BaseException:
        gx.close()
        raise
    docs_errors: list[Exception] = []
    # A small input's Data Docs render in the GX worker while the warehouse steps run (its GX is imported already),
    # and its last cross-checks overlap the merge. A large one's are done before (its worker then exits).
    validation = start_validation(home, as_of, summary, progress, docs_errors=docs_errors, gx=gx, docs_behind=True)
    try:
        if not validation.behind:
            validation.finish()
        merge_and_publish(home, as_of, now, summary, progress, validation=validation)
    finally:
        try:
            validation.finish()   # a no-op unless the warehouse could not even be opened
        finally:
            finish_docs(gx, docs_errors)
    if docs_errors:   # the export stands; the report's failure is still a failure
        raise docs_errors[0]
    return summary


def finish_docs(gx: GxProcess, docs_errors: list[Exception]) -> None:
    """Wait for Data Docs rendering behind the warehouse steps (if any); its failure goes to docs_errors."""
    try:
        gx.finish()
    except Exception as e:
        docs_errors.append(e)
