"""Validate landed batches: flag rows in DuckDB, split good from bad, type the good, check GX agrees.

All pending batches of a record type are validated by one set of queries; the outputs stay per batch.
Writes Parquet and files only (never the warehouse), so departments validate in parallel:
  staged/<record_type>/<set>.rejects.parquet   (_batch_id, _row_number) of every row held back, per set of
                                               batches validated together: the merge takes the landed rows
                                               but these, typed by warehouse/staging/stg_<record_type>.sql
  quarantine/rows/<batch_id>.parquet           bad rows with every broken rule and its Chinese reason
  quarantine/warnings/<batch_id>.parquet       rows that go on but carry warnings
  validation/results/<run>-<record_type>.json  the GX validation result of the record type's sample
  feedback/<department>/<batch_id>_<file>.xlsx the department's feedback file
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipelines.background import GxProcess, SideWork
from pipelines.catalog import load_catalog
from pipelines.home import Home
from pipelines.ingest.files import LINEAGE, Batch, load_batches
from pipelines.validate import feedback
from pipelines.validate.sql import (
    PARQUET,
    WAREHOUSE_DIR,
    connect,
    ensure_columns,
    flag_query,
    lit,
    q,
    run,
    shared_cursor,
)
from pipelines.validate.suites import load_suite

if TYPE_CHECKING:
    from pipelines.validate.gx_runner import SuiteRun

FLAG_COLUMNS = ("_rules", "_reasons", "_warn_rules", "_warn_reasons")
# GX re-checks every row SQL flagged (up to GX_FLAGGED_ROWS per batch) and an every-k-th-row sample of
# about GX_SAMPLE_ROWS rows per record type and pass; all batches of a type go through GX together.
GX_SAMPLE_ROWS = 20_000
GX_FLAGGED_ROWS = 20_000


class ValidationMismatch(RuntimeError):
    """The SQL compilation of a suite disagrees with GX on the same rows: a defect, never ignored."""


@dataclass
class BatchValidation:
    batch_id: str
    record_type: str
    rows: int
    accepted: int
    quarantined: int
    warned: int
    rule_counts: dict[str, int] = field(default_factory=dict)
    gx_rows: int = 0
    gx_success: bool = True
    gx_result: str | None = None
    gx_sample: str | None = None   # the rows GX re-checked, shared by the batches validated together
    feedback_path: str | None = None
    rejects: str | None = None     # the file listing its rows held back (shared, filtered by _batch_id)
    staged: str | None = None      # before rejects: a file of its accepted, typed rows (validated by older code)

    def save(self, home: Home) -> None:
        path = home.validation / "batches" / f"{self.batch_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=1), encoding="utf-8")


def render_model(path: Path, has_subject: bool, rows: str = "select * from validated_rows") -> str:
    """Expand the shared column lists of a staging model; rows replaces its input query."""
    sql = path.read_text(encoding="utf-8")
    subject = (WAREHOUSE_DIR / "staging" / "_subject_columns.sql").read_text(encoding="utf-8")
    subject = "\n".join(line for line in subject.splitlines() if not line.startswith("--"))
    sql = sql.replace("{{ lineage_columns }}", ", ".join((*LINEAGE, "_landed_at", *FLAG_COLUMNS)))
    sql = sql.replace("select * from validated_rows", rows)
    return sql.replace("{{ subject_columns }}", subject if has_subject else "")


def record_id_sql(record_type: str) -> str:
    """Stable record id: the record type and its natural key; corrections keep it."""
    key = load_catalog().record_types[record_type].key
    parts = ", ".join(f"coalesce({q(k)}::varchar, '')" for k in key)
    return f"substr(md5(concat_ws('|', {lit(record_type)}, {parts})), 1, 20)"


def rejects_file(home: Home, record_type: str, batch_ids: list[str]) -> Path:
    """The rows held back from the batches of one type validated together: one small file.

    Named after the set of batches, so validating the same set again rewrites it; a batch validated again
    in another set gets a new file and its result names that one (staged_relation reads only that).
    """
    key = hashlib.sha1("|".join(sorted(batch_ids)).encode()).hexdigest()[:16]
    return home.staged / record_type / f"{key}.rejects.parquet"


def landed_relation(con: duckdb.DuckDBPyConnection, home: Home, record_type: str, batches: list[Batch]) -> str:
    """Every landed row of the batches (one record type) with every catalogue column and _landed_at."""
    rt = load_catalog().record_types[record_type]
    raw = f"read_parquet({lit([str(home.root / (b.raw_path or '')) for b in batches])}, union_by_name = true)"
    landed = " ".join(f"when {lit(b.batch_id)} then {lit(b.landed_at)}" for b in batches)
    return ensure_columns(con, raw, list(rt.field_names), {"_landed_at": f"(case _batch_id {landed} end)::timestamptz"})


def typed_query(record_type: str, rows: str) -> str:
    """rows (with the flag columns) through the type's staging model, with their record_id."""
    rt = load_catalog().record_types[record_type]
    typed = render_model(WAREHOUSE_DIR / "staging" / f"stg_{rt.code}.sql", rt.has_subject, f"select * from {rows}")
    return f"select {record_id_sql(rt.code)} as record_id, * from ({typed})"


def _legacy_staged_glob(home: Home, record_type: str, batch_id: str) -> Path:
    """Before staged files were shared: one folder per batch (partitioned COPY, 58% slower to write)."""
    return home.staged / record_type / f"_batch_id={batch_id}" / "*.parquet"


def staged_relation(con: duckdb.DuckDBPyConnection, home: Home, record_type: str,
                    batch_ids: list[str], unsaved: dict[str, dict] | None = None,
                    landed: Mapping[str, Batch] | None = None) -> str | None:
    """SQL relation of the accepted rows of the given validated batches, typed (None if none has any).
    unsaved: batch id → validation result (as saved) of the batches whose result is not saved yet. landed: the
    home's batches (load_batches) when the caller has them already.

    The landed rows but those their validation held back, through the staging model: typed as they are
    read, so the accepted rows are not written once more between validation and the merge (at 10M rows the
    typed copy took 30% of validation). con needs the project's macros (pipelines.validate.sql.connect).
    Batches validated before rejects files existed are read from the typed file their validation wrote.
    """
    landed = load_batches(home) if landed is None else landed
    by_rejects: dict[str, list[Batch]] = {}
    by_file: dict[str, list[str]] = {}
    for b in batch_ids:
        vpath = home.validation / "batches" / f"{b}.json"
        result = (unsaved[b] if unsaved and b in unsaved
                  else json.loads(vpath.read_text(encoding="utf-8")) if vpath.exists() else {})
        if result.get("rejects") and b in landed:
            by_rejects.setdefault(str(home.root / result["rejects"]), []).append(landed[b])
        elif staged := result.get("staged"):
            if (home.root / staged).is_file():
                by_file.setdefault(str(home.root / staged), []).append(b)
        elif any((legacy := _legacy_staged_glob(home, record_type, b)).parent.glob("*.parquet")):
            by_file.setdefault(str(legacy), []).append(b)
    none = "[]::varchar[]"
    parts = []
    for rejects, batches in by_rejects.items():
        src = landed_relation(con, home, record_type, batches)
        rows = (f"(select s.*, {none} as _rules, {none} as _reasons, {none} as _warn_rules, {none} as _warn_reasons "
                f"from {src} as s anti join read_parquet({lit(rejects)}) as r using (_batch_id, _row_number))")
        parts.append(f"select * exclude ({', '.join(FLAG_COLUMNS)}) from ({typed_query(record_type, rows)})")
    parts += [f"select * from read_parquet({lit(f)}, hive_partitioning = false) where _batch_id in "
              f"({', '.join(lit(b) for b in ids)})" for f, ids in by_file.items()]
    if not parts:
        return None
    return "(" + " union all by name ".join(parts) + ")"


def validate_batches(home: Home, record_type: str, batches: list[Batch], as_of: date,
                     con: duckdb.DuckDBPyConnection | None = None,
                     side: SideWork | None = None) -> list[BatchValidation]:
    """Flag and split every given landed batch of one record type; returns each batch's counts.

    The feedback workbooks are written before returning or, given side work, handed to it (the caller
    waits for it before the results count).

    All batches of the type go through one flagging query, so DuckDB works on the whole input at once instead
    of file by file; outputs stay per batch. The accepted rows are typed by the merge (staged_relation).
    """
    assert batches and all(b.record_type == record_type and b.raw_path for b in batches)
    rt = load_catalog().record_types[record_type]
    suite = load_suite(rt.code)
    own = con is None
    con = con or connect()  # a pass shares one connection: the macros load once
    run(con, "set preserve_insertion_order = false")   # every output that needs an order sorts explicitly
    try:
        run(con, f"create or replace temp view src as select * from {landed_relation(con, home, rt.code, batches)}")
        # Only rows that break a rule are kept from the flagging pass (few); the good rows are read again
        # from the landed Parquet by the merge, so the wide rows are never written twice.
        run(con, f"create or replace temp table flags as {flag_query(suite, as_of, 'src', only_flagged=True)}")
        none = "[]::varchar[]"
        run(con, f"create or replace temp view flagged as select s.*, coalesce(f._rules, {none}) as _rules, "
                 f"coalesce(f._reasons, {none}) as _reasons, coalesce(f._warn_rules, {none}) as _warn_rules, "
                 f"coalesce(f._warn_reasons, {none}) as _warn_reasons from src as s "
                 "left join flags as f using (_batch_id, _row_number)")
        # Quarantined rows go through the staging model too, so they get their record_id:
        # a later valid submission of the same record resolves them.
        run(con, f"create or replace temp view typed_flags as {typed_query(rt.code, 'flags')}")
        # The accepted rows are not copied here: the merge reads the landed rows but these, typing them as it
        # inserts them (staged_relation).
        rejects = rejects_file(home, rt.code, [b.batch_id for b in batches])
        rejects.parent.mkdir(parents=True, exist_ok=True)
        run(con, f"copy (select _batch_id, _row_number from flags where len(_rules) > 0) to {lit(str(rejects))} "
                 f"({PARQUET})")
        _write_held_back(con, home, rt.code, list(rt.field_names), batches)
        results = _batch_counts(con, rt.code, batches)
        sample = str(_write_gx_sample(con, home, rt.code, batches).relative_to(home.root))
        for r in results:
            r.gx_sample = sample
            r.rejects = str(rejects.relative_to(home.root))
    finally:
        if own:
            con.close()
    side_work = side or SideWork()
    for b, r in zip(batches, results, strict=True):   # the caller's connection outlives the side work
        side_work.submit(write_feedback, home, b, r, None if own else con)
    if side is None:
        side_work.wait()
    return results


def write_feedback(home: Home, batch: Batch, result: BatchValidation,
                   con: duckdb.DuckDBPyConnection | None = None) -> None:
    """The batch's feedback workbook, from its quarantine and warning rows (read through a cursor of con if given)."""
    qdir = home.quarantine_dir
    result.feedback_path = str(feedback.write_batch_feedback(
        home, batch, qdir / "rows" / f"{batch.batch_id}.parquet", qdir / "warnings" / f"{batch.batch_id}.parquet",
        con,
    ).relative_to(home.root))


def _write_held_back(con: duckdb.DuckDBPyConnection, home: Home, record_type: str, fields: list[str],
                     batches: list[Batch]) -> None:
    """Per batch: quarantine/rows (errors) and quarantine/warnings, each row with its rules and Chinese reasons."""
    qdir = home.quarantine_dir
    submitted = ", ".join(f"{lit(c)}: f.{q(c)}" for c in fields)
    for kind, where, rules, texts in (("rows", "len(_rules) > 0", "_rules", "_reasons"),
                                      ("warnings", "len(_warn_rules) > 0", "_warn_rules", "_warn_reasons")):
        # Rows held back are few: gather them once, then write one small file per batch.
        run(con,
            f"create or replace temp table held_back as select f._department as department, "
            f"{lit(record_type)} as record_type, f._file_name as file_name, f._batch_id as batch_id, "
            f"f._row_number as row_number, f.{rules} as rules, array_to_string(f.{texts}, '；') as reasons, "
            f"to_json({{{submitted}}}) as submitted, f._landed_at as first_seen_at, t.record_id "
            f"from (select * from flags where {where}) as f "
            f"join (select record_id, _batch_id, _row_number from typed_flags where {where}) as t "
            f"using (_batch_id, _row_number)")
        (qdir / kind).mkdir(parents=True, exist_ok=True)
        for b in batches:
            path = qdir / kind / f"{b.batch_id}.parquet"
            run(con, f"copy (select * from held_back where batch_id = {lit(b.batch_id)} order by row_number) "
                     f"to {lit(str(path))} (format parquet)")
    run(con, "drop table held_back")


def _batch_counts(con: duckdb.DuckDBPyConnection, record_type: str, batches: list[Batch]) -> list[BatchValidation]:
    totals = {bid: (n, n - bad, warned) for bid, n, bad, warned in con.sql(
        "select _batch_id, count(*), coalesce(any_value(f.bad), 0), coalesce(any_value(f.warned), 0) from src "
        "left join (select _batch_id, count(*) filter (len(_rules) > 0) as bad, "
        "count(*) filter (len(_warn_rules) > 0) as warned from flags group by all) as f using (_batch_id) "
        "group by all").fetchall()}
    rules: dict[str, dict[str, int]] = {}
    for bid, rule, n in con.sql("select _batch_id, r, count(*) from (select _batch_id, "
                                "unnest(_rules || _warn_rules) as r from flags) group by all").fetchall():
        rules.setdefault(bid, {})[rule] = n
    results = []
    for b in batches:
        total, accepted, warned = totals.get(b.batch_id, (0, 0, 0))
        results.append(BatchValidation(b.batch_id, record_type, total, accepted, total - accepted, warned,
                                       dict(sorted(rules.get(b.batch_id, {}).items()))))
    return results


def gx_sample_path(home: Home, record_type: str, first_batch_id: str) -> Path:
    return home.validation / "gx_sample" / f"{record_type}-{first_batch_id}.parquet"


def _write_gx_sample(con: duckdb.DuckDBPyConnection, home: Home, record_type: str, batches: list[Batch]) -> Path:
    """The rows GX re-checks: every row SQL flagged (up to a cap per batch) and an every-k-th-row sample
    of about GX_SAMPLE_ROWS rows of the record type, spread over all its batches."""
    total = con.sql("select count(*) from src").fetchall()[0][0]
    step = max(1, -(-total // GX_SAMPLE_ROWS))
    fields = ", ".join(q(f) for f in load_catalog().record_types[record_type].field_names)
    path = gx_sample_path(home, record_type, batches[0].batch_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Flagged rows are few: cap them per batch on their own, then read the sample in one scan.
    run(con,
        f"copy (select _batch_id, _row_number, {fields}, _rules || _warn_rules as _sql_rules from flagged "
        f"where _row_number % {step} = 0 or (_batch_id, _row_number) in ("
        f"select (_batch_id, _row_number) from flags "
        f"qualify row_number() over (partition by _batch_id order by _row_number) <= {GX_FLAGGED_ROWS}) "
        f"order by _batch_id, _row_number) to {lit(str(path))} (format parquet)")
    return path


def gx_check_sample(record_type: str, paths: list[str], as_of: date, results_dir: Path,
                    result_name: str) -> tuple[SuiteRun, dict[str, int]]:
    """GX's verdict on the GX sample files of a record type and the SQL's counts per rule on the same rows.

    Runs in the GX process (pipelines.background.GxProcess): the sample is read there, not in the caller."""
    from pipelines.validate.gx_runner import run_suite

    con = shared_cursor()
    try:
        fields = [q(f) for f in load_catalog().record_types[record_type].field_names]
        run(con, f"create temp view sample as select * from read_parquet({lit(paths)}) order by _batch_id, _row_number")
        frame = con.sql(f"select {', '.join(fields)} from sample").df()
        sql_counts = dict(con.sql(
            "select r, count(*) from (select unnest(_sql_rules) as r from sample) group by r").fetchall())
    finally:
        con.close()
    return run_suite(record_type, frame, as_of, results_dir, result_name), sql_counts


def cross_check_type(home: Home, record_type: str, group: list[BatchValidation], as_of: date,
                     run_name: str, gx_process: GxProcess | None = None) -> None:
    """The GX suite of record_type over the samples of its batches in group; raises ValidationMismatch
    unless GX finds exactly the rows the SQL flagged, rule by rule. GX runs in gx_process if given."""
    paths = sorted({str(home.root / r.gx_sample) for r in group if r.gx_sample})
    args = (record_type, paths, as_of, home.validation / "results", f"{run_name}-{record_type}")
    gx, sql_counts = gx_process.call(gx_check_sample, *args) if gx_process else gx_check_sample(*args)
    rules = {e["meta"]["rule"] for e in load_suite(record_type)["expectations"]}
    diff = {r: (sql_counts.get(r, 0), gx.unexpected_counts.get(r, 0)) for r in rules
            if sql_counts.get(r, 0) != gx.unexpected_counts.get(r, 0)}
    if diff:
        files = ", ".join(r.batch_id for r in group)
        raise ValidationMismatch(f"{record_type} batches {files}: SQL vs GX counts differ {diff}")
    for r in group:
        r.gx_rows, r.gx_success = gx.element_count, gx.success
        r.gx_result = str(gx.result_path.relative_to(home.root))
