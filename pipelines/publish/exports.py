"""Publish an export version: write it beside the live ones, then point latest.json at it atomically."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import re
import shutil
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from pipelines.background import SideWork
from pipelines.catalog import load_catalog
from pipelines.home import Home, write_atomic
from pipelines.publish.contract import (
    DELETE_REASONS,
    INTERNAL_SCHEMA_VERSION,
    PUBLIC_FILES,
    SCHEMA_VERSION,
    STATUS_FILES,
    PublicFile,
    StatusFile,
    column_label,
)
from pipelines.publish.segments import write_public_file
from pipelines.publish.state import (
    DEBT_PAYMENTS,
    PUBLIC_ROWS,
    STATE_RULE_TABLES,
    link,
    state_relation,
    write_state,
)
from pipelines.rules.scope import DEBT_PAYMENTS as DEBT_PAYMENTS_RULE
from pipelines.rules.scope import RECORD_MARTS, WINDOWS, WINDOWS_RECORDS, RuleRun
from pipelines.validate.sql import PARQUET, PUBLIC_PARQUET, connect, lit, q, run

log = logging.getLogger(__name__)

# Whole files; the status files, STATE_RULE_TABLES and the checked debt payments are rule state
# (pipelines/publish/state.py).
INTERNAL_TABLES = ("subjects", "subject_names", "subject_links", "subject_departments", "batches")


@dataclass
class Version:
    audience: str
    version: str
    path: Path
    rows: dict[str, int]


def read_latest(home: Home, audience: str) -> dict | None:
    path = home.exports / audience / "latest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


# How many export versions of each audience a publish keeps (the newest, and always the one latest.json points at);
# unset or 0: every version, as the publication contract keeps them unless a retention setting prunes. A daily
# version of a 10M city adds ~455 MB of files (the rest are hard links to earlier versions'; BENCHMARKS.md).
KEEP_VERSIONS_ENV = "CREDIT_KEEP_VERSIONS"


def keep_versions() -> int | None:
    """CREDIT_KEEP_VERSIONS as a count of versions to keep, None to keep every version. Raises on anything but a
    whole number >= 0 (publish asks before it writes any export file)."""
    raw = os.environ.get(KEEP_VERSIONS_ENV, "").strip()
    if raw in ("", "0"):
        return None
    if not raw.isdigit():
        raise ValueError(f"{KEEP_VERSIONS_ENV} must be a whole number of versions to keep (0 or unset: all), not {raw!r}")
    return int(raw)


def prune_versions(home: Home, audience: str, keep: int | None) -> list[str]:
    """Delete all but the keep newest versions of an audience (by their manifests' created_at, then name); never the
    one latest.json points at, nor a directory without a readable manifest (not a published version). The versions
    deleted, oldest first. Every version's files are its own or hard links, so those kept still read whole."""
    if keep is None:
        return []
    latest = read_latest(home, audience)
    dated = []
    for d in (home.exports / audience / "versions").iterdir():
        if not d.is_dir() or d.name.startswith("."):
            continue   # a staging directory of a pass still running, or of one that failed
        try:
            created = json.loads((d / "manifest.json").read_text(encoding="utf-8"))["created_at"]
        except (OSError, ValueError, KeyError):
            continue
        dated.append((str(created), d.name, d))
    dated.sort()
    gone = [d for _, name, d in dated[:max(len(dated) - keep, 0)] if not latest or name != latest["version"]]
    for d in gone:
        shutil.rmtree(d)
    return [d.name for d in gone]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


# A row group is built in memory before it is written, and DuckDB's default (122,880 rows, up to 120 MiB) is too
# much beside the rule tables at a 1-1.25GB limit when the rows carry lists: the grade reasons of 240k subjects
# (17.4M reasons) at 60M asked for 106 MiB at once and ran out; row groups closed at 32 MiB wrote them in 3.2 s.
# For the internal tables the rules leave in memory; the record files keep DuckDB's row groups.
RULE_TABLE_ROW_GROUP_BYTES = "32MB"


def _copy(con: duckdb.DuckDBPyConnection, query: str, path: Path, row_group_bytes: str | None = None,
          public: bool = False) -> None:
    cap = f", row_group_size_bytes {lit(row_group_bytes)}" if row_group_bytes else ""
    run(con, f"copy ({query}) to {lit(str(path))} ({PUBLIC_PARQUET if public else PARQUET}{cap})")


def _hash_into(entry: dict, path: Path) -> None:
    entry["sha256"] = _sha256(path)


def _file_entry(con: duckdb.DuckDBPyConnection, path: Path, name: str | None = None,
                hasher: SideWork | None = None) -> dict:
    """The file's manifest entry; its sha256 is filled in on hasher's thread when given (after hasher.wait())."""
    cols = con.sql(f"describe select * from read_parquet({lit(str(path))})").fetchall()
    rows = con.sql(f"select count(*) from read_parquet({lit(str(path))})").fetchall()[0][0]
    entry = {"name": name or path.name, "rows": rows, "sha256": None, "bytes": path.stat().st_size,
             "columns": [{"name": c[0], "type": c[1], "label": column_label(c[0])} for c in cols]}
    if hasher:
        hasher.submit(_hash_into, entry, path)
    else:
        _hash_into(entry, path)
    return entry


def _public_rows(pf: PublicFile) -> str:
    """The rows of a public file the rules decided in this pass (all of them unless the rules were scoped)."""
    return (f"select {', '.join(q(c) for c in pf.all_columns)} from {pf.mart} "
            f"where {pf.where} and hidden_reason is null")


def public_row_hashes(pf: PublicFile) -> str:
    """record_id, subject_key and the hash of the public row of every record of pf the rules decided in this pass
    that the file shows: what changes.parquet compares, kept as the rule state PUBLIC_ROWS."""
    cols = ", ".join(q(c) for c in pf.all_columns)
    return (f"select subject_key, record_id, {lit(pf.name)} as file, hash(row({cols})) as h from {pf.mart} "
            f"where {pf.where} and hidden_reason is null")


PREVIOUS_PUBLIC_ROWS = "previous_public_rows"


def _changes(con: duckdb.DuckDBPyConnection, new_dir: Path, prev_dir: Path | None, scoped: Path | None = None) -> str:
    """changes.parquet: add/update/delete per public file from the previous version to this one.

    scoped: the previous internal version when the rules re-decided only the records in their marts (every other
    row was copied from prev_dir): only those records are compared, by the hash of their public row, the new one
    from the mart and the old one from the previous version's PUBLIC_ROWS state (so the previous public files,
    wide, are not read again)."""
    parts = []
    reasons = " ".join(f"when {lit(k)} then {lit(v)}" for k, v in DELETE_REASONS.items())
    if scoped:
        # The previous hashes of the records re-decided, read once for every file: the state is its base less the
        # keys of its delta plus the delta, and reading it once per file cost 1.6 s of a 10M daily pass with a delta.
        redecided = " union all ".join(f"select {lit(pf.name)} as file, record_id from {pf.mart}" for pf in PUBLIC_FILES)
        run(con, f"create or replace temp table {PREVIOUS_PUBLIC_ROWS} as "
                 f"select p.file, p.record_id, p.h from ({state_relation(scoped, PUBLIC_ROWS)}) as p "
                 f"semi join ({redecided}) as m using (file, record_id)")
    for pf in PUBLIC_FILES:
        if not (prev_dir and (prev_dir / pf.name).exists()):   # the first version: every row is an add
            new = f"read_parquet({lit(str(new_dir / pf.name))})"
            parts.append(f"select 'add' as op, {lit(pf.name)} as file, record_id, null::varchar as reason from {new}")
            continue
        if scoped:
            n = f"select record_id, h from ({public_row_hashes(pf)})"
            o = f"select record_id, h from {PREVIOUS_PUBLIC_ROWS} where file = {lit(pf.name)}"
        else:
            n = f"select record_id, hash(t) as h from read_parquet({lit(str(new_dir / pf.name))}) as t"
            o = f"select record_id, hash(t) as h from read_parquet({lit(str(prev_dir / pf.name))}) as t"
        parts.append(f"""
            select
                case when o.record_id is null then 'add' when n.record_id is null then 'delete' else 'update' end as op,
                {lit(pf.name)} as file,
                coalesce(n.record_id, o.record_id) as record_id,
                case when n.record_id is null then case m.hidden_reason {reasons} else 'corrected' end end as reason
            from ({n}) as n
            full outer join ({o}) as o using (record_id)
            left join (select record_id, hidden_reason from {pf.mart} where {pf.where}) as m
                on m.record_id = coalesce(n.record_id, o.record_id)
            where n.h is distinct from o.h""")
    # Unsorted: a site applies a version's changes as a set. Sorting them took DuckDB 2.0 out of its memory
    # limit at 60M rows (33.6M adds of the first version at 2GB; the unsorted copy: 8.9 s).
    return " union all ".join(parts)


# ------------------------------------------------------------------------------------------- record history
#
# The internal export carries every version of every record as immutable parts:
#   history/<record_type>/part-<first version_seq>-<last version_seq>.parquet
# each holding the versions in that version_seq range (unsorted: readers never rely on row order; sorting
# 10M wide rows under the memory limit spilled), with every warehouse column but
# superseded_at (which later merges change; it is derived on reading, see history_relation). A new version
# hard-links the previous version's parts and writes one part for the versions merged since, so publishing
# history costs what is new, not what the warehouse holds. So that daily passes do not pile up thousands of
# tiny parts, the new part also takes over the newest previous parts while they are no larger than it
# (a binary counter: every version is rewritten O(log) times in all), never growing a part past
# HISTORY_PART_MAX_ROWS: older, larger parts are only ever linked.

HISTORY_DIR = "history"
HISTORY_PART_MAX_ROWS = 1_000_000
_PART_NAME = re.compile(r"^history/(\w+)/part-(\d+)-(\d+)\.parquet$")


@dataclass
class HistoryPart:
    record_type: str
    first: int           # the smallest and largest version_seq in the part (0-0: no version yet, schema only)
    last: int
    entry: dict          # its manifest entry

    @property
    def rows(self) -> int:
        return self.entry["rows"]


def history_part_name(record_type: str, first: int, last: int) -> str:
    return f"{HISTORY_DIR}/{record_type}/part-{first:012d}-{last:012d}.parquet"


def history_parts(manifest_files: list[dict]) -> dict[str, list[HistoryPart]]:
    """The history parts a manifest lists, per record type, in version_seq order."""
    parts: dict[str, list[HistoryPart]] = {}
    for e in manifest_files:
        if m := _PART_NAME.match(e["name"]):
            parts.setdefault(m[1], []).append(HistoryPart(m[1], int(m[2]), int(m[3]), e))
    return {rt: sorted(p, key=lambda x: x.first) for rt, p in parts.items()}


def _reusable(con: duckdb.DuckDBPyConnection, hist: str, columns: list[tuple[str, str]], prev_dir: Path,
              parts: list[HistoryPart]) -> bool:
    """Whether the previous version's parts are this warehouse's versions up to their last seq (same columns,
    same row count, files in place); otherwise the record type's history is written afresh."""
    if any(a.last >= b.first for a, b in itertools.pairwise(parts)):
        return False
    for p in parts:
        f = prev_dir / p.entry["name"]
        if [(c["name"], c["type"]) for c in p.entry["columns"]] != columns or not f.is_file() \
                or f.stat().st_size != p.entry["bytes"]:
            return False
    held = con.sql(f"select count(*) from {hist} where version_seq <= {parts[-1].last}").fetchall()[0][0]
    return held == sum(p.rows for p in parts)


def write_history(con: duckdb.DuckDBPyConnection, staging: Path, prev_dir: Path | None,
                  prev_files: list[dict], hasher: SideWork | None = None) -> list[dict]:
    """Write (or link) the history parts of every record type; their manifest entries. A type no file has brought
    yet gets an empty part (0-0) with its columns, so the status views that join history always bind."""
    from pipelines.merge.warehouse import empty_history, table_exists

    prev_parts = history_parts(prev_files) if prev_dir else {}
    entries = []
    for rt in load_catalog().record_types:
        hist = f"{rt}_history" if table_exists(con, f"{rt}_history") else f"({empty_history(rt)})"
        columns = [(c[0], c[1]) for c in con.sql(f"describe select * exclude (superseded_at) from {hist}").fetchall()]
        kept = prev_parts.get(rt, [])
        if kept and prev_dir and not _reusable(con, hist, columns, prev_dir, kept):
            kept = []
        since = kept[-1].last if kept else None
        new = con.sql(f"select count(*) from {hist}" + (f" where version_seq > {since}" if kept else "")).fetchall()[0][0]
        if new:
            while kept and kept[-1].rows <= new and kept[-1].rows + new <= HISTORY_PART_MAX_ROWS:
                new += kept.pop().rows
        for p in kept:
            assert prev_dir
            link(prev_dir / p.entry["name"], staging / p.entry["name"])
            entries.append(dict(p.entry))
        if not new and kept:
            continue
        where = f"version_seq > {kept[-1].last}" if kept else "true"
        first, last = con.sql(f"select coalesce(min(version_seq), 0), coalesce(max(version_seq), 0) from {hist} "
                              f"where {where}").fetchall()[0]
        name = history_part_name(rt, first, last)
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        _copy(con, f"select * exclude (superseded_at) from {hist} where {where}", staging / name)
        entries.append(_file_entry(con, staging / name, name, hasher))
    return entries


def status_query(con: duckdb.DuckDBPyConnection, sf: StatusFile) -> str:
    """What the rules decided per record of sf.mart: its keys and derived columns; the record's own columns stay
    in history (written once there, not again per status file). Raises if the mart has a column that is
    neither derived nor the record's own: it would be lost from the status view.

    When the rules were scoped their mart holds the subjects in rule_scope only: write_state takes every other
    subject's rows from the previous version."""
    mart = [c[0] for c in con.sql(f"describe {sf.mart}").fetchall()]
    own = {c[0] for c in con.sql(f"describe {sf.record_type}").fetchall()}   # the current view: history's columns
    if lost := [c for c in mart if c not in sf.columns and c not in own]:
        raise ValueError(f"{sf.mart} has columns {lost} that are not the {sf.record_type} record's own: "
                         f"name them in StatusFile.derived of {sf.name} (pipelines/publish/contract.py)")
    return f"select {', '.join(q(c) for c in sf.columns)} from {sf.mart}"


def status_relation(con: duckdb.DuckDBPyConnection, version_dir: Path, sf: StatusFile) -> str:
    """The whole status row of every record of sf: the status file joined to the record's version in history."""
    status = f"({state_relation(version_dir, sf.name.removesuffix('.parquet'))})"
    src, _ = _history_source(version_dir, sf.record_type)
    own = {c[0] for c in con.sql(f"describe select * from {src}").fetchall()}
    shared = ", ".join(q(c) for c in sf.columns if c in own)
    return (f"select s.*, h.* exclude ({shared}) from {status} as s "
            f"join {src} as h on h.version_seq = s.version_seq")


def history_types(version_dir: Path) -> list[str]:
    """The record types whose history an internal export version carries."""
    parts = version_dir / HISTORY_DIR
    types = {d.name for d in parts.iterdir() if any(d.glob("part-*.parquet"))} if parts.is_dir() else set()
    # Versions published before history parts (INTERNAL_SCHEMA_VERSION 1.0): one file per type.
    types |= {f.stem.removeprefix("history_") for f in version_dir.glob("history_*.parquet")}
    return sorted(types)


def _history_source(version_dir: Path, record_type: str) -> tuple[str, bool]:
    """(the relation of the type's exported versions, whether it carries superseded_at itself)."""
    parts = version_dir / HISTORY_DIR / record_type
    if parts.is_dir() and any(parts.glob("part-*.parquet")):
        return f"read_parquet({lit(str(parts / 'part-*.parquet'))})", False
    legacy = version_dir / f"history_{record_type}.parquet"
    if legacy.exists():
        return f"read_parquet({lit(str(legacy))})", True
    raise FileNotFoundError(f"no history of {record_type} in {version_dir}")


def superseded_relation(version_dir: Path, record_type: str) -> str:
    """version_seq → superseded_at of every exported version a later one replaced, as the warehouse has it:
    the learned_at of the next version of the same record_id (only records with several versions are sorted)."""
    src, has_column = _history_source(version_dir, record_type)
    if has_column:
        return f"select version_seq, superseded_at from {src} where superseded_at is not null"
    return (f"select version_seq, lead(learned_at) over (partition by record_id order by version_seq) as superseded_at "
            f"from {src} where record_id in (select record_id from {src} group by record_id having count(*) > 1) "
            f"qualify superseded_at is not null")


def history_relation(version_dir: Path, record_type: str, superseded: str | None = None) -> str:
    """Every exported version of record_type with the warehouse's <type>_history columns, superseded_at derived.

    The single way to read exported history. superseded names a table or view holding
    superseded_relation(...) when the caller has materialised it (it is recomputed on every read otherwise).
    """
    src, has_column = _history_source(version_dir, record_type)
    if has_column:
        return f"select * from {src}"
    s = superseded or f"({superseded_relation(version_dir, record_type)})"
    return (f"select h.* exclude (version_seq), s.superseded_at, h.version_seq "
            f"from {src} as h left join {s} as s using (version_seq)")


def _finish(home: Home, audience: str, staging: Path, version: str, manifest: dict) -> Path:
    write_atomic(staging / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
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
            version: str | None = None, rules: RuleRun | None = None) -> tuple[Version, Version]:
    """Write the public and internal versions for as_of, then switch both latest.json pointers.

    version defaults to the creation time; Airflow passes one derived from its run so a retried task
    rewrites the same version instead of adding another. rules: how the rules ran; when scoped, the marts hold
    the re-decided subjects only and every other row is copied from the versions they built on.
    """
    keep = keep_versions()   # a bad setting fails the pass before any export file is written
    scoped = rules.previous if rules and rules.scoped else None
    version = version or created_at.strftime("%Y%m%dT%H%M%S%fZ")
    created = created_at.isoformat(timespec="seconds").replace("+00:00", "Z")
    out: list[Version] = []

    # Public: one row per record disclosable on as_of; masked.
    prev = read_latest(home, "public")
    prev_dir = home.exports / "public" / prev["path"] if prev else None
    staging = home.exports / "public" / "versions" / f".tmp-{version}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    # The internal version's staging is made now: it keeps the public files' segments (pipelines/publish/segments.py).
    istaging = home.exports / "internal" / "versions" / f".tmp-{version}"
    shutil.rmtree(istaging, ignore_errors=True)
    istaging.mkdir(parents=True)
    ihasher = SideWork("publish-sha256-internal")
    segment_files: list[dict] = []
    files, rows = [], {}
    hasher = SideWork("publish-sha256")   # sha256 of each written file while DuckDB writes the next
    prev_state = scoped.internal_dir if scoped else None   # the version the rule state builds on
    changes = _changes(con, staging, prev_dir, prev_state)
    changed = "public_changes" if scoped else None
    if changed:   # decided from the rows' hashes, before the files: it says which segments a file must rewrite
        run(con, f"create or replace temp table {changed} as {changes}")
        changes = f"select * from {changed}"
    for pf in PUBLIC_FILES:
        # A public file is a set of records keyed by record_id, in no order of that key; a file whose rows leave it
        # on a date (PublicFile.leaves) has its segments in that date's order, sorted in bounded pieces (segments.py).
        segment_files += write_public_file(
            con, pf, _public_rows(pf), staging / pf.name, istaging, version,
            lambda path, name: _file_entry(con, path, name, ihasher), scoped, changed)
        files.append(_file_entry(con, staging / pf.name, hasher=hasher))
    _copy(con, changes, staging / "changes.parquet", public=True)
    files.append(_file_entry(con, staging / "changes.parquet", hasher=hasher))
    hasher.wait()
    rows = {e["name"]: e["rows"] for e in files}
    manifest = {"version": version, "as_of": as_of.isoformat(), "created_at": created,
                "schema_version": SCHEMA_VERSION, "previous_version": prev["version"] if prev else None,
                "files": files}
    final = _finish(home, "public", staging, version, manifest)
    out.append(Version("public", version, final, rows))

    # Internal: everything, unmasked, with history, plus the office's working tables.
    prev_i = read_latest(home, "internal")
    staging = istaging
    queries = dict(internal_files)
    queries["quarantine.parquet"] = quarantine_query
    for t in INTERNAL_TABLES:
        queries[f"{t}.parquet"] = f"select * from {t}"
    files, rows = list(segment_files), {e["name"]: e["rows"] for e in segment_files}
    hasher = ihasher   # sha256 of each written file while DuckDB writes the next
    for name, query in queries.items():
        _copy(con, query, staging / name, RULE_TABLE_ROW_GROUP_BYTES)
        entry = _file_entry(con, staging / name, hasher=hasher)
        files.append(entry)
        rows[name] = entry["rows"]
    prev_i_dir = home.exports / "internal" / prev_i["path"] if prev_i else None
    prev_i_manifest = prev_i_dir / "manifest.json" if prev_i_dir else None
    prev_i_files = (json.loads(prev_i_manifest.read_text(encoding="utf-8"))["files"]
                    if prev_i_manifest and prev_i_manifest.exists() else [])
    # Rule state: on a scoped pass, what the rules re-decided beside the previous version's base (linked).
    state = {sf.name.removesuffix(".parquet"): status_query(con, sf) for sf in STATUS_FILES}
    state |= {t: f"select * from {f'{t}__scope' if scoped else t}" for t in STATE_RULE_TABLES}
    state[PUBLIC_ROWS] = " union all ".join(public_row_hashes(pf) for pf in PUBLIC_FILES)
    # Kept by record: what the marts re-decided is a set of records (the record marts': not every record of the
    # subjects in scope, pipelines/rules/scope.py).
    by_record = {sf.name.removesuffix(".parquet"): f"select record_id from {sf.mart}"
                 for sf in STATUS_FILES if sf.mart in RECORD_MARTS.values()}
    by_record[PUBLIC_ROWS] = " union all ".join(f"select record_id from {pf.mart}" for pf in PUBLIC_FILES)
    if scoped:   # the windows of the records merged since (rules.scope.scoped_windows), every other one as it was
        state[WINDOWS] = f"select * from {WINDOWS_RECORDS}"
        by_record[WINDOWS] = f"select record_id from {WINDOWS_RECORDS}"
    keys = {table: {"key": "record_id", "scope_sql": sql} for table, sql in by_record.items()}
    # The checked payments by ledger item: the items checked again (rules.scope.scoped_debt_payments), else all.
    from pipelines.merge.warehouse import table_exists

    by_item = bool(scoped) and table_exists(con, f"{DEBT_PAYMENTS_RULE}__scope")
    state[DEBT_PAYMENTS] = f"select * from {DEBT_PAYMENTS_RULE}{'__scope' if by_item else ''}"
    keys[DEBT_PAYMENTS] = {"key": "ledger_no", "scope_sql": "select ledger_no from debt_scope"}
    prev_entries = {e["name"]: e for e in prev_i_files}
    for table, query in state.items():
        previous = prev_state if table != DEBT_PAYMENTS or by_item else None
        for path, source in write_state(con, staging, version, table, query, previous,
                                        lambda sql, path: _copy(con, sql, path, RULE_TABLE_ROW_GROUP_BYTES),
                                        **keys.get(table, {})):
            name = path.relative_to(staging).as_posix()
            old = prev_entries.get(name)
            entry = (dict(old) if source and old and old["bytes"] == path.stat().st_size
                     else _file_entry(con, path, name, hasher))
            files.append(entry)
            rows[name] = entry["rows"]
    # Record history: the previous version's parts linked, one new part for what was merged since.
    for entry in write_history(con, staging, prev_i_dir, prev_i_files, hasher):
        files.append(entry)
        rows[entry["name"]] = entry["rows"]
    hasher.wait()
    manifest = {"version": version, "as_of": as_of.isoformat(), "created_at": created,
                "schema_version": INTERNAL_SCHEMA_VERSION, "previous_version": prev_i["version"] if prev_i else None,
                "rules": (rules or RuleRun("full", "not given")).manifest(), "files": files}
    final_i = _finish(home, "internal", staging, version, manifest)
    build_analyst_db(final_i)
    out.append(Version("internal", version, final_i, rows))

    # Switch the pointers last: public sites and analysts only ever see complete versions.
    for v in out:
        write_atomic(home.exports / v.audience / "latest.json",
                      json.dumps({"version": v.version, "path": f"versions/{v.version}"}))
    for v in out:   # then the retention setting, if any: the versions just published are the newest
        if pruned := prune_versions(home, v.audience, keep):
            log.info("pruned %d %s export version(s) (%s=%d): %s", len(pruned), v.audience, KEEP_VERSIONS_ENV, keep,
                     ", ".join(pruned))
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
        status = {sf.name for sf in STATUS_FILES}
        for f in sorted(version_dir.glob("*.parquet")):
            if not f.name.startswith("history_") and f.name not in status:   # those: below
                run(con, f"create view {q(f.stem)} as select * from read_parquet({lit(str(f))})")
        # history_<type>: every version of every record, with superseded_at as the warehouse has it.
        for rt in history_types(version_dir):
            run(con, f"create view {q('history_' + rt)} as {history_relation(version_dir, rt)}")
        # <type>_status: the rules' decision with the record's own columns; under the rule tables' warehouse
        # names too, so the office's queries run here unchanged.
        for sf in STATUS_FILES:
            view = sf.name.removesuffix(".parquet")
            run(con, f"create view {q(view)} as {status_relation(con, version_dir, sf)}")
            run(con, f"create view {sf.mart} as select * from {q(view)}")
        for t in (*STATE_RULE_TABLES, DEBT_PAYMENTS):
            run(con, f"create view {q(t)} as {state_relation(version_dir, t)}")
        for name, sql in ANALYST_VIEWS.items():
            run(con, f"create view {name} as {sql}")
    finally:
        con.close()
    return path
