"""Publish an export version: write it beside the live ones, then point latest.json at it atomically."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from pipelines.home import Home
from pipelines.publish.contract import (
    DELETE_REASONS,
    PUBLIC_FILES,
    SCHEMA_VERSION,
    column_label,
)
from pipelines.validate.sql import connect, lit, q, run

INTERNAL_TABLES = ("subjects", "subject_names", "subject_links", "subject_departments", "batches", "list_memberships",
                   "repair_outcomes", "dishonesty_windows")
STATUS_MARTS = ("mart_penalties", "mart_licenses", "mart_lists", "mart_commitments", "mart_other_dishonesty")


@dataclass
class Version:
    audience: str
    version: str
    path: Path
    rows: dict[str, int]


def read_latest(home: Home, audience: str) -> dict | None:
    path = home.exports / audience / "latest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _copy(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> None:
    run(con, f"copy ({query}) to {lit(str(path))} (format parquet, compression zstd)")


def _file_entry(con: duckdb.DuckDBPyConnection, path: Path) -> dict:
    cols = con.sql(f"describe select * from read_parquet({lit(str(path))})").fetchall()
    rows = con.sql(f"select count(*) from read_parquet({lit(str(path))})").fetchall()[0][0]
    return {"name": path.name, "rows": rows, "sha256": _sha256(path), "bytes": path.stat().st_size,
            "columns": [{"name": c[0], "type": c[1], "label": column_label(c[0])} for c in cols]}


def _changes(con: duckdb.DuckDBPyConnection, new_dir: Path, prev_dir: Path | None) -> str:
    """changes.parquet: add/update/delete per public file from the previous version to this one."""
    parts = []
    for pf in PUBLIC_FILES:
        new = f"read_parquet({lit(str(new_dir / pf.name))})"
        old = (f"read_parquet({lit(str(prev_dir / pf.name))})" if prev_dir and (prev_dir / pf.name).exists()
               else f"(select * from {new} where false)")
        reasons = " ".join(f"when {lit(k)} then {lit(v)}" for k, v in DELETE_REASONS.items())
        parts.append(f"""
            select
                case when o.record_id is null then 'add' when n.record_id is null then 'delete' else 'update' end as op,
                {lit(pf.name)} as file,
                coalesce(n.record_id, o.record_id) as record_id,
                case when n.record_id is null then case m.hidden_reason {reasons} else 'corrected' end end as reason
            from (select record_id, hash(t) as h from {new} as t) as n
            full outer join (select record_id, hash(t) as h from {old} as t) as o using (record_id)
            left join (select record_id, hidden_reason from {pf.mart} where {pf.where}) as m
                on m.record_id = coalesce(n.record_id, o.record_id)
            where n.h is distinct from o.h""")
    return " union all ".join(parts) + " order by file, record_id"


def _finish(home: Home, audience: str, staging: Path, version: str, manifest: dict) -> Path:
    _write_atomic(staging / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    final = home.exports / audience / "versions" / version
    if final.exists():
        latest = read_latest(home, audience)
        if latest and latest["version"] == version:
            raise FileExistsError(f"version {version} is already published and immutable")
        shutil.rmtree(final)  # a retried task's earlier attempt, never pointed at
    staging.rename(final)
    return final


def publish(con: duckdb.DuckDBPyConnection, home: Home, as_of: date, created_at: datetime,
            quarantine_query: str, internal_files: dict[str, str],
            version: str | None = None) -> tuple[Version, Version]:
    """Write the public and internal versions for as_of, then switch both latest.json pointers.

    version defaults to the creation time; Airflow passes one derived from its run so a retried task
    rewrites the same version instead of adding another.
    """
    version = version or created_at.strftime("%Y%m%dT%H%M%S%fZ")
    created = created_at.isoformat(timespec="seconds").replace("+00:00", "Z")
    out: list[Version] = []

    # Public: one row per record disclosable on as_of; masked.
    prev = read_latest(home, "public")
    prev_dir = home.exports / "public" / prev["path"] if prev else None
    staging = home.exports / "public" / "versions" / f".tmp-{version}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    files, rows = [], {}
    for pf in PUBLIC_FILES:
        cols = ", ".join(q(c) for c in pf.all_columns)
        _copy(con, f"select {cols} from {pf.mart} where {pf.where} and hidden_reason is null order by record_id",
              staging / pf.name)
    _copy(con, _changes(con, staging, prev_dir), staging / "changes.parquet")
    for name in [pf.name for pf in PUBLIC_FILES] + ["changes.parquet"]:
        entry = _file_entry(con, staging / name)
        files.append(entry)
        rows[name] = entry["rows"]
    manifest = {"version": version, "as_of": as_of.isoformat(), "created_at": created,
                "schema_version": SCHEMA_VERSION, "previous_version": prev["version"] if prev else None,
                "files": files}
    final = _finish(home, "public", staging, version, manifest)
    out.append(Version("public", version, final, rows))

    # Internal: everything, unmasked, with history, plus the office's working tables.
    prev_i = read_latest(home, "internal")
    staging = home.exports / "internal" / "versions" / f".tmp-{version}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    queries = dict(internal_files)
    queries["quarantine.parquet"] = quarantine_query
    for t in INTERNAL_TABLES:
        queries[f"{t}.parquet"] = f"select * from {t}"
    for m in STATUS_MARTS:
        queries[f"{m.removeprefix('mart_')}_status.parquet"] = f"select * from {m} order by record_id"
    files, rows = [], {}
    for name, query in queries.items():
        _copy(con, query, staging / name)
        entry = _file_entry(con, staging / name)
        files.append(entry)
        rows[name] = entry["rows"]
    manifest = {"version": version, "as_of": as_of.isoformat(), "created_at": created,
                "schema_version": SCHEMA_VERSION, "previous_version": prev_i["version"] if prev_i else None,
                "files": files}
    final_i = _finish(home, "internal", staging, version, manifest)
    build_analyst_db(final_i)
    out.append(Version("internal", version, final_i, rows))

    # Switch the pointers last: public sites and analysts only ever see complete versions.
    for v in out:
        _write_atomic(home.exports / v.audience / "latest.json",
                      json.dumps({"version": v.version, "path": f"versions/{v.version}"}))
    return out[0], out[1]


ANALYST_VIEWS = {
    "subject_file": """
        -- Everything on file for a subject today: one row per record, with its public state.
        select 'penalty' as kind, subject_key, subject_name, decision_no as doc_no, decision_date as date,
               hidden_reason is null as is_public, coalesce(hidden_reason, 'public') as state from penalties_status
        union all select 'license', subject_key, subject_name, decision_no, decision_date, hidden_reason is null,
               coalesce(hidden_reason, 'public') from licenses_status
        union all select colour || 'list', subject_key, subject_name, decision_no, decision_date,
               hidden_reason is null, state from lists_status
        union all select 'commitment', subject_key, subject_name, commitment_no, commit_date, hidden_reason is null,
               coalesce(hidden_reason, 'public') from commitments_status
        union all select 'other_dishonesty', subject_key, subject_name, event_no, event_date, hidden_reason is null,
               coalesce(hidden_reason, 'public') from other_dishonesty_status""",
    "active_blacklist": "select * from lists_status where colour = 'black' and state = 'active'",
    "department_quality": """
        -- Rows accepted and quarantined per department and record type.
        select department, record_type, count(*) as files, sum(rows) as rows, sum(accepted) as accepted,
               sum(quarantined) as quarantined, round(sum(quarantined) / nullif(sum(rows), 0), 4) as quarantine_rate
        from batches where status = 'landed' group by all order by all""",
}


def build_analyst_db(version_dir: Path) -> Path:
    """A read-only DuckDB for analysts: views over this version's Parquet, plus the common questions."""
    path = version_dir / "analyst.duckdb"
    con = connect(path)  # with the project's macros, so identifier lookups work for analysts too
    try:
        for f in sorted(version_dir.glob("*.parquet")):
            run(con, f"create view {q(f.stem)} as select * from read_parquet({lit(str(f))})")
        for name, sql in ANALYST_VIEWS.items():
            run(con, f"create view {name} as {sql}")
        # The rule tables under their warehouse names, so the office's queries run here unchanged.
        for mart in STATUS_MARTS:
            run(con, f"create view {mart} as select * from {mart.removeprefix('mart_')}_status")
    finally:
        con.close()
    return path
