"""The warehouse: the only writer of the DuckDB file. Merges new validated batches, keeps every version.

Each record type has a history table <record_type>_history holding every version ever submitted:
valid-time attributes as submitted, `learned_at` (when the warehouse learned the version) and
`superseded_at` (when a later version of the same record_id replaced it; null = current).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

import duckdb

from pipelines.catalog import load_catalog
from pipelines.home import Home
from pipelines.ingest.files import Batches, load_batches
from pipelines.validate.batch import BatchValidation, staged_relation
from pipelines.validate.sql import WAREHOUSE_DIR, connect, lit, run

SUBJECT_COLUMNS = ("subject_key", "subject_name", "subject_category", "uscc", "id_no", "org_code",
                   "business_reg_no")


@dataclass
class MergeResult:
    batches_merged: int = 0
    rows_merged: dict[str, int] = field(default_factory=dict)


def open_warehouse(home: Home) -> duckdb.DuckDBPyConnection:
    """The read-write connection (one per process; DuckDB allows one writer per file)."""
    home.warehouse.parent.mkdir(parents=True, exist_ok=True)
    con = connect(home.warehouse)
    # Every output that needs an order sorts explicitly; keeping scan order costs memory in every copy (the 60M
    # pass ran out of its 2GB limit copying subject_grades to Parquet).
    run(con, "set preserve_insertion_order = false")
    run(con, (WAREHOUSE_DIR / "core" / "batches.sql").read_text(encoding="utf-8"))
    return con


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """A table or view of that name (point-in-time reads use views over exported history)."""
    found = con.execute("select count(*) from (select table_name as n from duckdb_tables() union all "
                        "select view_name from duckdb_views()) where n = ?", [name]).fetchall()
    return bool(found[0][0])


def _register_batches(con: duckdb.DuckDBPyConnection, home: Home, unsaved: dict[str, dict],
                      batches: Batches) -> None:
    known = {r[0] for r in con.sql("select batch_id from batches").fetchall()}
    for batch in (batches[i] for i in batches if i not in known):   # only the new batches' manifests are read
        counts: dict = {}
        vpath = home.validation / "batches" / f"{batch.batch_id}.json"
        if batch.batch_id in unsaved:
            counts = unsaved[batch.batch_id]
        elif vpath.exists():
            counts = json.loads(vpath.read_text(encoding="utf-8"))
        elif batch.status == "landed":
            continue  # landed but not validated yet: a later merge takes it
        run(con, 
            "insert into batches values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null)",
            [batch.batch_id, batch.department, batch.record_type, batch.file_name, batch.sha256, batch.status,
             batch.reason_rule, batch.reason, batch.rows, counts.get("accepted", 0), counts.get("quarantined", 0),
             counts.get("warned", 0), batch.landed_at],
        )


def merge(con: duckdb.DuckDBPyConnection, home: Home, merged_at: datetime,
          validated: Sequence[BatchValidation] = ()) -> MergeResult:
    """Merge every validated batch not merged yet; idempotent (a merged batch is never read again).

    validated: results not saved yet, merged as if they were (the caller commits only once they are:
    pipelines.run.merge_and_publish)."""
    unsaved = {v.batch_id: asdict(v) for v in validated}
    batches = load_batches(home)   # one index of the manifests for the register and every record type's rows
    _register_batches(con, home, unsaved, batches)
    result = MergeResult()
    since: dict[str, int] = {}   # per record type: the last version_seq before this merge
    pending = con.sql(
        "select record_type, list(batch_id order by landed_at, file_name), list(rows order by landed_at, file_name) "
        "from batches where status = 'landed' and merged_at is null group by record_type"
    ).fetchall()
    ts = lit(merged_at.isoformat()) + "::timestamptz"
    for record_type, batch_ids, batch_rows in pending:
        # None: every row held back
        source = (staged_relation(con, home, record_type, batch_ids, unsaved, batches)
                  or f"(select * exclude (learned_at, superseded_at, version_seq) from ({empty_history(record_type)}))")
        hist = f"{record_type}_history"
        if not table_exists(con, hist):
            run(con, 
                f"create table {hist} as select *, {ts} as learned_at, null::timestamptz as superseded_at, "
                f"0::bigint as version_seq from {source} limit 0"
            )
        base = con.sql(f"select coalesce(max(version_seq), 0) from {hist}").fetchall()[0][0]
        since[record_type] = base
        # version_seq follows (landed_at, file name, row number) without sorting the rows: each batch gets
        # a range as long as its row count, in batch order, and a row its row number inside it (gaps are fine).
        offsets, start = [], base
        for batch_id, rows in zip(batch_ids, batch_rows, strict=True):
            offsets.append(f"when {lit(batch_id)} then {start}")
            start += rows or 0
        run(con,
            f"insert into {hist} by name select *, {ts} as learned_at, null::timestamptz as superseded_at, "
            f"(case _batch_id {' '.join(offsets)} end) + _row_number as version_seq from {source}"
        )
        # The newest version of each touched record stays current; older ones are superseded now.
        run(con, 
            f"update {hist} set superseded_at = {ts} from ("
            f"  select record_id, max(version_seq) as latest from {hist} "
            f"  where record_id in (select record_id from {hist} where version_seq > {base}) group by record_id"
            f") as l where {hist}.record_id = l.record_id and {hist}.version_seq < l.latest "
            f"and {hist}.superseded_at is null"
        )
        result.rows_merged[record_type] = con.sql(
            f"select count(*) from {hist} where version_seq > {base}").fetchall()[0][0]
        run(con, 
            f"update batches set merged_at = {ts} where batch_id in (select unnest(?::varchar[]))", [batch_ids]
        )
        result.batches_merged += len(batch_ids)
    run(con, f"update batches set merged_at = {ts} where status = 'rejected' and merged_at is null")
    create_current_views(con)
    update_subjects(con, since)
    return result


def history_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [rt for rt in load_catalog().record_types if table_exists(con, f"{rt}_history")]


def known_version(known_at: datetime | None) -> str:
    """The version of a record the warehouse held at known_at (the latest one when known_at is None)."""
    if known_at is None:
        return "superseded_at is null"
    ts = lit(known_at.isoformat()) + "::timestamptz"
    return f"learned_at <= {ts} and (superseded_at is null or superseded_at > {ts})"


def create_current_views(con: duckdb.DuckDBPyConnection, known_at: datetime | None = None) -> None:
    """<record_type>: the version of every record held at known_at (default: now), for analysts and rules."""
    held = history_tables(con)
    ids = " union all ".join(f"select record_id, _landed_at from {rt}_history where {known_version(known_at)}"
                             for rt in held) or "select null::varchar as record_id, null::timestamptz as _landed_at"
    run(con, f"create or replace view current_record_ids as {ids}")
    for rt in load_catalog().record_types:
        if rt in held:
            run(con, f"create or replace view {rt} as select * from {rt}_history where {known_version(known_at)}")
        else:
            # An empty typed view keeps marts working before a record type's first file arrives.
            run(con, f"create or replace view {rt} as select * from ({empty_history(rt)})")


def empty_history(record_type: str) -> str:
    """A record type's history columns with no rows: the shape of <type>_history before its first file."""
    from pipelines.validate.batch import FLAG_COLUMNS, record_id_sql, render_model

    rt = load_catalog().record_types[record_type]
    cols = ", ".join(f"null::varchar as \"{f}\"" for f in rt.field_names)
    lineage = ("null::varchar as _batch_id, null::varchar as _department, null::varchar as _file_name, "
               "null::bigint as _row_number, null::timestamptz as _landed_at, null::varchar[] as _rules, "
               "null::varchar[] as _reasons, null::varchar[] as _warn_rules, null::varchar[] as _warn_reasons")
    model = render_model(WAREHOUSE_DIR / "staging" / f"stg_{record_type}.sql", rt.has_subject,
                         f"select {lineage}, {cols} where false")
    return (f"select {record_id_sql(record_type)} as record_id, * exclude ({', '.join(FLAG_COLUMNS)}), "
            "null::timestamptz as learned_at, "
            f"null::timestamptz as superseded_at, null::bigint as version_seq from ({model})")


SUBJECT_TABLES = ("subject_names", "subjects", "subject_departments")


def _subject_rows_sql(con: duckdb.DuckDBPyConnection, known_at: datetime | None = None,
                      since: dict[str, int] | None = None) -> str:
    """Subject columns of every record version held at known_at (or only versions after since[type]), grouped."""
    learned = "true" if known_at is None else f"learned_at <= {lit(known_at.isoformat())}::timestamptz"
    cols = ", ".join(SUBJECT_COLUMNS)

    def where(rt: str) -> str | None:
        if since is None:
            return learned
        return f"{learned} and version_seq > {since[rt]}" if rt in since else None

    parts = []
    for rt in load_catalog().record_types.values():
        if rt.has_subject and table_exists(con, f"{rt.code}_history") and (cond := where(rt.code)):
            parts.append(f"select {cols}, learned_at, _department as department from {rt.code}_history where {cond}")
    if table_exists(con, "debt_ledger_history") and (cond := where("debt_ledger")):
        for role in ("debtor", "creditor"):
            parts.append(
                f"select {role}_uscc as subject_key, {role}_name as subject_name, '法人及非法人组织' as subject_category, "
                f"{role}_uscc as uscc, null as id_no, null as org_code, null as business_reg_no, learned_at, "
                f"_department as department from debt_ledger_history where {cond}")
    if not parts:
        parts.append(f"select {', '.join(f'null::varchar as {c}' for c in SUBJECT_COLUMNS)}, "
                     "null::timestamptz as learned_at, null::varchar as department where false")
    # One row per distinct subject columns and department (record versions repeat them), with the first and
    # last time the warehouse learned them: 10M versions hold ~1M such rows in the demo city.
    return (f"select {cols}, department, min(learned_at) as first_learned_at, max(learned_at) as last_learned_at "
            f"from ({' union all '.join(parts)}) group by all")


def _core_sql(name: str) -> str:
    return (WAREHOUSE_DIR / "core" / f"{name}.sql").read_text(encoding="utf-8")


def rebuild_subjects(con: duckdb.DuckDBPyConnection, known_at: datetime | None = None,
                     persist_rows: bool = False) -> None:
    """Full build of the subject master from every version held at known_at (point-in-time reads, first merge)."""
    rows = _subject_rows_sql(con, known_at)
    if persist_rows:
        run(con, f"create or replace table subject_rows as {rows}")
    else:
        run(con, f"create or replace temp view subject_rows as {rows}")
    run(con, "create or replace table subject_links (alias_key varchar primary key, subject_key varchar)")
    run(con, "create or replace temp view subject_rows_in as select * from subject_rows")
    run(con, _core_sql("subject_links"))
    run(con, "create or replace temp table affected_subjects as select null::varchar as subject_key where false")
    run(con, "set variable subjects_full_build = true")
    run(con, _core_sql("subject_master"))
    for t in SUBJECT_TABLES:
        run(con, f"create or replace table {t} as select * from next_{t}")


def update_subjects(con: duckdb.DuckDBPyConnection, since: dict[str, int]) -> None:
    """Incremental subject master: only the subjects the new versions (after since[type]) touch are recomputed."""
    if not table_exists(con, "subject_rows") or "last_learned_at" not in con.table("subject_rows").columns:
        # first merge, or a warehouse from before subject_rows existed or was grouped
        rebuild_subjects(con, persist_rows=True)
        return
    new_rows = _subject_rows_sql(con, since=since)
    run(con, f"create or replace temp table subject_rows_in as {new_rows}")
    run(con, "insert into subject_rows select * from subject_rows_in")
    run(con, _core_sql("subject_links"))
    # Touched: the subjects of the new rows, and both ends of every new link (an alias subject merges in).
    run(con, """create or replace temp table affected_subjects as
        select coalesce(l.subject_key, r.subject_key) as subject_key
        from subject_rows_in as r left join subject_links as l on l.alias_key = r.subject_key
        union select alias_key from new_subject_links
        union select subject_key from new_subject_links""")
    run(con, "set variable subjects_full_build = false")
    run(con, _core_sql("subject_master"))
    for t in SUBJECT_TABLES:
        run(con, f"delete from {t} where subject_key in (select subject_key from affected_subjects)")
        run(con, f"insert into {t} select * from next_{t}")
