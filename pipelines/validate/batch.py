"""Validate one landed batch: flag rows in DuckDB, split good from bad, type the good, check GX agrees.

Writes Parquet and files only (never the warehouse), so batches validate in parallel:
  staged/<record_type>/<batch_id>.parquet      good rows through warehouse/staging/stg_<record_type>.sql
  quarantine/rows/<batch_id>.parquet           bad rows with every broken rule and its Chinese reason
  quarantine/warnings/<batch_id>.parquet       rows that go on but carry warnings
  validation/results/<batch_id>.json           the GX validation result for the batch
  feedback/<department>/<batch_id>_<file>.xlsx the department's feedback file
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from pipelines.catalog import load_catalog
from pipelines.home import Home
from pipelines.ingest.files import LINEAGE, Batch
from pipelines.validate import feedback
from pipelines.validate.sql import WAREHOUSE_DIR, connect, ensure_columns, flag_query, lit, q, run
from pipelines.validate.suites import load_suite

FLAG_COLUMNS = ("_rules", "_reasons", "_warn_rules", "_warn_reasons")
# GX re-checks, per batch, every row SQL flagged (up to GX_FLAGGED_ROWS) and an every-k-th-row sample of
# about GX_SAMPLE_ROWS clean rows; all batches of a record type in one pass go through GX together.
GX_SAMPLE_ROWS = 5_000
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
    feedback_path: str | None = None

    def save(self, home: Home) -> None:
        path = home.validation / "batches" / f"{self.batch_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=1), encoding="utf-8")


def render_model(path: Path, has_subject: bool) -> str:
    """Expand the shared column lists of a staging model."""
    sql = path.read_text(encoding="utf-8")
    subject = (WAREHOUSE_DIR / "staging" / "_subject_columns.sql").read_text(encoding="utf-8")
    subject = "\n".join(line for line in subject.splitlines() if not line.startswith("--"))
    sql = sql.replace("{{ lineage_columns }}", ", ".join((*LINEAGE, "_landed_at", *FLAG_COLUMNS)))
    return sql.replace("{{ subject_columns }}", subject if has_subject else "")


def record_id_sql(record_type: str) -> str:
    """Stable record id: the record type and its natural key; corrections keep it."""
    key = load_catalog().record_types[record_type].key
    parts = ", ".join(f"coalesce({q(k)}::varchar, '')" for k in key)
    return f"substr(md5(concat_ws('|', {lit(record_type)}, {parts})), 1, 20)"


def validate_batch(home: Home, batch: Batch, as_of: date,
                   con: duckdb.DuckDBPyConnection | None = None) -> BatchValidation:
    """Flag, split, type and cross-check one landed batch; returns its counts."""
    assert batch.record_type and batch.raw_path
    rt = load_catalog().record_types[batch.record_type]
    suite = load_suite(rt.code)
    own = con is None
    con = con or connect()  # a pass shares one connection: the macros load once
    run(con, "set preserve_insertion_order = true")
    try:
        raw = f"read_parquet({lit(str(home.root / batch.raw_path))})"
        source = ensure_columns(con, raw, list(rt.field_names), {"_landed_at": f"{lit(batch.landed_at)}::timestamptz"})
        work = home.validation / "work" / batch.batch_id
        work.mkdir(parents=True, exist_ok=True)
        flagged = work / "flagged.parquet"
        run(con, 
            f"copy ({flag_query(suite, as_of, source)}) to {lit(str(flagged))} (format parquet, compression zstd)"
        )
        run(con, f"create or replace view flagged as select * from read_parquet({lit(str(flagged))})")
        # Every row goes through the staging model, so quarantined rows get their record_id too:
        # a later valid submission of the same record resolves them.
        run(con, "create or replace view validated_rows as select * from flagged")
        model = render_model(WAREHOUSE_DIR / "staging" / f"stg_{rt.code}.sql", rt.has_subject)
        run(con, f"create or replace view typed as select {record_id_sql(rt.code)} as record_id, * from ({model})")
        staged = home.staged / rt.code / f"{batch.batch_id}.parquet"
        staged.parent.mkdir(parents=True, exist_ok=True)
        run(con,
            f"copy (select * exclude ({', '.join(FLAG_COLUMNS)}) from typed where len(_rules) = 0) "
            f"to {lit(str(staged))} (format parquet, compression zstd)"
        )
        qdir = home.quarantine_dir
        bad = qdir / "rows" / f"{batch.batch_id}.parquet"
        warned = qdir / "warnings" / f"{batch.batch_id}.parquet"
        for path, where, rules, texts in ((bad, "len(_rules) > 0", "_rules", "_reasons"),
                                          (warned, "len(_warn_rules) > 0", "_warn_rules", "_warn_reasons")):
            path.parent.mkdir(parents=True, exist_ok=True)
            submitted = ", ".join(f"{lit(c)}: f.{q(c)}" for c in rt.field_names)
            run(con,
                f"copy (select f._department as department, {lit(rt.code)} as record_type, "
                f"f._file_name as file_name, f._batch_id as batch_id, f._row_number as row_number, "
                f"f.{rules} as rules, array_to_string(f.{texts}, '；') as reasons, "
                f"to_json({{{submitted}}}) as submitted, f._landed_at as first_seen_at, t.record_id "
                f"from (select * from flagged where {where}) as f "
                f"join (select record_id, _row_number from typed where {where}) as t using (_row_number) "
                f"order by f._row_number) to {lit(str(path))} (format parquet)"
            )
        counts = dict(con.sql(
            "select r, count(*) from (select unnest(_rules || _warn_rules) as r from flagged) group by r"
        ).fetchall())
        total, accepted, nwarn = con.sql(
            "select count(*), count(*) filter (len(_rules) = 0), count(*) filter (len(_warn_rules) > 0) from flagged"
        ).fetchall()[0]
        result = BatchValidation(batch.batch_id, rt.code, total, accepted, total - accepted, nwarn, counts)
        _write_gx_sample(con, home, rt.code, batch.batch_id, total)
    finally:
        if own:
            con.close()
    result.feedback_path = str(feedback.write_batch_feedback(home, batch, bad, warned).relative_to(home.root))
    for p in work.iterdir():
        p.unlink()
    work.rmdir()
    return result


def gx_sample_path(home: Home, batch_id: str) -> Path:
    return home.validation / "gx_sample" / f"{batch_id}.parquet"


def _write_gx_sample(con, home: Home, record_type: str, batch_id: str, rows: int) -> None:
    """The rows GX re-checks: every row SQL flagged (up to a cap) and an every-k-th-row sample of the rest."""
    step = max(1, -(-rows // GX_SAMPLE_ROWS))
    fields = ", ".join(q(f) for f in load_catalog().record_types[record_type].field_names)
    path = gx_sample_path(home, batch_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    run(con,
        f"copy (select {lit(batch_id)} as _batch_id, _row_number, {fields}, _rules || _warn_rules as _sql_rules "
        f"from flagged where _row_number % {step} = 0 "
        f"or _row_number in (select _row_number from flagged where len(_rules || _warn_rules) > 0 "
        f"order by _row_number limit {GX_FLAGGED_ROWS}) order by _row_number) to {lit(str(path))} (format parquet)")


def cross_check_with_gx(home: Home, results: list[BatchValidation], as_of: date, run_name: str) -> None:
    """Run each record type's GX suite once over its batches' samples; the SQL flags must agree exactly.

    One GX run per record type and pass keeps GX's fixed per-run cost independent of the number of files.
    """
    from pipelines.validate.gx_runner import run_suite

    by_type: dict[str, list[BatchValidation]] = {}
    for r in results:
        by_type.setdefault(r.record_type, []).append(r)
    for record_type, group in sorted(by_type.items()):
        paths = [str(gx_sample_path(home, r.batch_id)) for r in group]
        con = connect()
        try:
            fields = [q(f) for f in load_catalog().record_types[record_type].field_names]
            run(con, f"create view sample as select * from read_parquet({lit(paths)}) order by _batch_id, _row_number")
            frame = con.sql(f"select {', '.join(fields)} from sample").df()
            sql_counts = dict(con.sql(
                "select r, count(*) from (select unnest(_sql_rules) as r from sample) group by r").fetchall())
        finally:
            con.close()
        gx = run_suite(record_type, frame, as_of, home.validation / "results", f"{run_name}-{record_type}")
        rules = {e["meta"]["rule"] for e in load_suite(record_type)["expectations"]}
        diff = {r: (sql_counts.get(r, 0), gx.unexpected_counts.get(r, 0)) for r in rules
                if sql_counts.get(r, 0) != gx.unexpected_counts.get(r, 0)}
        if diff:
            files = ", ".join(r.batch_id for r in group)
            raise ValidationMismatch(f"{record_type} batches {files}: SQL vs GX counts differ {diff}")
        for r in group:
            r.gx_rows, r.gx_success = gx.element_count, gx.success
            r.gx_result = str(gx.result_path.relative_to(home.root))
