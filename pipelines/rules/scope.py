"""Scoped rule evaluation: re-decide only the subjects whose answer can have changed since the last version.

Every rule decides about one subject at a time: a record's window, its repairs, its list removals, the red/black
conflict and the grade all join on subject_key (repair and removal targets are matched within the subject). So
on a pass after a published version, the rules run on the records of the subjects in *scope* only:

- subjects of every record version merged since that version (and the subject of each version it superseded:
  a correction may move a record to another subject), the subjects the merge re-resolved (affected_subjects),
- when as_of moved from the previous version's, subjects with any date (a record's own, or a window or term
  end the rules derived, from the previous status files) between the two dates: only there can a comparison
  with as_of turn out differently,
- every debtor of the debt ledger when as_of moved or debts or payments arrived (the debt rules depend on as_of and
  run in full; a debtor's grade follows its overdue debts). Only debt_payments_checked, which does not depend on
  as_of, is scoped, by ledger item: the items with a new payment or ledger version are checked again, every other
  item's payments are the previous version's (scoped_debt_payments).

The four record marts (RECORD_MARTS: penalties, licenses, commitments, other dishonesty) decide each record on its
own (its columns, as_of and its applied repair), so within the subjects in scope they re-decide only the records in
*record_scope*: records with a version merged since, records with a date (their own, or a window end from the
previous status files) between the two dates, and the records whose applied repair differs from the previous
version's (extend_record_scope, once the repairs are re-decided).
The grades, which need every public record of a subject, take the scope subjects' other public records from the
previous version (carry_dishonesty).

Everything else is taken from the previous internal version, which holds every rule table the next version
needs (ASSEMBLED, the status files and the public files): rows of subjects outside the scope are the previous
version's rows, unchanged. The status files and most assembled tables are rule state there (a base and the
rows re-decided since, pipelines/publish/state.py): the publish writes the scope's rows beside the linked base.
The previous version is used only when it was written by the same rules (the fingerprint of the rule SQL, the
catalogue and DuckDB's version) over this warehouse's history (its history parts are a prefix of the history
tables); anything else, or CREDIT_RULES_FULL=1, evaluates every subject. The test
suite holds scoped and full evaluation to identical exports (tests/rules/test_scoped_rules.py).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from pipelines.catalog import CATALOG_DIR, load_catalog
from pipelines.home import Home
from pipelines.validate.sql import WAREHOUSE_DIR, lit, q, run

# Rule tables keyed by subject_key that the export carries whole (file name = table name + .parquet): on a scoped
# pass each is the scope's rows plus the previous version's rows of every other subject, unsorted like the models
# (exported files are sets; sorting that union ran DuckDB 2.0 out of memory at 1GB).
ASSEMBLED = ("dishonesty_windows", "repair_outcomes", "list_removals_checked", "list_memberships",
             "discipline_targets", "subject_grades")
# Models over whole tables (not one subject): on a scoped pass they run after the assembly, over every subject.
GLOBAL_MODELS = ("discipline_feedback_coverage", "pending_references")
# Above this share of all subjects, evaluating everything is cheaper than scoping and assembling.
MAX_SCOPE_SHARE = 0.5
# Record type → the mart that decides each of its records on the record alone (with as_of and its applied repair):
# a scoped pass re-decides only their records in record_scope, not every record of the subjects in rule_scope.
RECORD_MARTS = {"admin_penalty": "mart_penalties", "other_dishonesty": "mart_other_dishonesty",
                "admin_license": "mart_licenses", "commitment": "mart_commitments"}


def fingerprint() -> str:
    """What the rules' answers depend on besides the data: their SQL, the catalogue and the engine."""
    from pipelines.publish.contract import INTERNAL_SCHEMA_VERSION, PUBLIC_FILES, SCHEMA_VERSION, STATUS_FILES

    h = hashlib.sha256()
    for p in sorted([*WAREHOUSE_DIR.rglob("*.sql"), *CATALOG_DIR.rglob("*.csv"), *CATALOG_DIR.rglob("*.yaml")]):
        h.update(p.relative_to(p.parents[1]).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    h.update(repr((duckdb.__version__, SCHEMA_VERSION, INTERNAL_SCHEMA_VERSION, PUBLIC_FILES, STATUS_FILES)).encode())
    return h.hexdigest()


@dataclass
class Previous:
    """The latest published versions, when the rules can build on them."""
    public_dir: Path
    internal_dir: Path
    as_of: date
    internal_files: list[dict]


@dataclass
class RuleRun:
    """How the rules ran: mode 'full' (every subject) or 'scoped' (previous is what the rest is taken from)."""
    mode: str
    reason: str
    previous: Previous | None = None
    scope_subjects: int | None = None

    @property
    def scoped(self) -> bool:
        return self.mode == "scoped"

    def manifest(self) -> dict:
        return {"fingerprint": fingerprint(), "mode": self.mode, "reason": self.reason,
                "scope_subjects": self.scope_subjects}


def previous_versions(home: Home) -> Previous | str:
    """The previous public and internal versions to build on, or why there is none."""
    from pipelines.publish.contract import INTERNAL_SCHEMA_VERSION, PUBLIC_FILES
    from pipelines.publish.exports import read_latest
    from pipelines.publish.state import state_parts, state_tables

    if os.environ.get("CREDIT_RULES_FULL", "").strip() not in ("", "0"):
        return "CREDIT_RULES_FULL is set"
    pub, internal = read_latest(home, "public"), read_latest(home, "internal")
    if not (pub and internal):
        return "no previous version"
    if pub["version"] != internal["version"]:
        return "the latest public and internal versions differ"
    pub_dir, int_dir = home.exports / "public" / pub["path"], home.exports / "internal" / internal["path"]
    try:
        pm = json.loads((pub_dir / "manifest.json").read_text(encoding="utf-8"))
        im = json.loads((int_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "the previous manifests cannot be read"
    if im.get("schema_version") != INTERNAL_SCHEMA_VERSION or (im.get("rules") or {}).get("fingerprint") != fingerprint():
        return "the previous version was written by other rules"
    if pm.get("as_of") != im.get("as_of"):
        return "the previous versions were evaluated on different dates"
    missing = [p.name for p in [pub_dir / pf.name for pf in PUBLIC_FILES]
               + [int_dir / f"{t}.parquet" for t in ASSEMBLED if t not in state_tables()] if not p.is_file()]
    missing += [f"the state of {t}" for t in state_tables() if state_parts(int_dir, t) is None]
    if missing:
        return f"the previous version lacks {', '.join(missing)}"
    return Previous(pub_dir, int_dir, date.fromisoformat(im["as_of"]), im["files"])


def define_scope(con: duckdb.DuckDBPyConnection, as_of: date, prev: Previous) -> str | None:
    """Create temp table rule_scope (subject_key); None when it could be built, else why the rules run in full."""
    from pipelines.merge.warehouse import table_exists
    from pipelines.publish.contract import STATUS_FILES
    from pipelines.publish.exports import history_parts
    from pipelines.publish.state import internal_relation

    if con.sql("select getvariable('subjects_full_build')").fetchall()[0][0]:
        return "the merge rebuilt the subject master"   # every subject's name and identifiers may have changed
    parts = history_parts(prev.internal_files)
    keys, records = [], ["select null::varchar as record_id where false"]
    debts_moved = as_of != prev.as_of
    for rt in load_catalog().record_types.values():
        hist = f"{rt.code}_history"
        if not table_exists(con, hist):
            continue
        mine = parts.get(rt.code, [])
        since = mine[-1].last if mine else 0
        held = con.sql(f"select count(*) from {hist} where version_seq <= {since}").fetchall()[0][0]
        if held != sum(p.rows for p in mine):
            return f"the previous version's {rt.code} history is not this warehouse's"
        if rt.has_subject:
            keys.append(_touched(hist, "subject_key", since))
            if rt.code in RECORD_MARTS:
                records.append(f"select record_id from {hist} where version_seq > {since}")
        elif con.sql(f"select count(*) from {hist} where version_seq > {since}").fetchall()[0][0]:
            debts_moved = True
    if debts_moved and table_exists(con, "debt_ledger_history"):   # a debtor's grade follows its overdue debts
        keys.append("select debtor_uscc as subject_key from debt_ledger_history")
    if table_exists(con, "affected_subjects"):   # the merge ran on this connection
        # (a record's subject_key and subject columns are its own, set when it was staged: the record marts read
        # nothing of the subject master, so its changes re-decide subjects, not records)
        keys.append("select subject_key from affected_subjects")
    crossing = ["select null::varchar as subject_key, null::varchar as record_id, false as by_record where false"]
    if as_of != prev.as_of:
        lo, hi = sorted((as_of, prev.as_of))
        between = f"between date {lit(lo.isoformat())} and date {lit(hi.isoformat())}"
        sources = [(code, code in RECORD_MARTS) for code in _subject_types()]
        sources += [(f"({internal_relation(prev.internal_dir, sf.name)})", sf.mart in RECORD_MARTS.values())
                    for sf in STATUS_FILES]
        for src, by_record in sources:
            dates = [c[0] for c in con.sql(f"describe select * from {src}").fetchall() if c[1] == "DATE"]
            if dates:
                crossing.append(f"select subject_key, record_id, {by_record} from {src} where "
                                + " or ".join(f"{q(d)} {between}" for d in dates))
    # Every source is read once: the subjects and the record marts' records with a date between the two dates.
    run(con, "create or replace temp table date_crossings as " + " union all ".join(crossing))
    keys.append("select subject_key from date_crossings")
    # the record marts' records with a version merged since (what scoped_windows re-decides), before the dates add more
    run(con, "create or replace temp table merged_records as select distinct record_id from ("
             + " union all ".join(records) + ") where record_id is not null")
    records.append("select record_id from date_crossings where by_record")
    run(con, "create or replace temp table rule_scope as select distinct subject_key from ("
             + " union all ".join(keys) + ") where subject_key is not null")
    run(con, "create or replace temp table record_scope as select distinct record_id from ("
             + " union all ".join(records) + ") where record_id is not null")
    run(con, "drop table date_crossings")
    n = con.sql("select count(*) from rule_scope").fetchall()[0][0]
    total = con.sql("select count(*) from subjects").fetchall()[0][0] if table_exists(con, "subjects") else 0
    if n > MAX_SCOPE_SHARE * total:
        return f"{n:,} of {total:,} subjects in scope"
    return None


def _subject_types() -> list[str]:
    """The record types about one subject each (their current views carry subject_key)."""
    return [rt.code for rt in load_catalog().record_types.values() if rt.has_subject]


def outside_scope(prev: Previous, table: str) -> str:
    """The rows of a previous internal table (with subject_key) about the subjects the rules did not re-decide.
    Rows without a subject are always re-decided (the shadowed inputs keep them)."""
    from pipelines.publish.state import internal_relation

    return (f"select p.* from ({internal_relation(prev.internal_dir, f'{table}.parquet')}) as p "
            f"anti join rule_scope as s on s.subject_key = p.subject_key where p.subject_key is not null")


def _touched(hist: str, column: str, since: int) -> str:
    """column of the versions merged after since and of the version each such record had at since (both sides of a
    correction). Older versions are not read: the previous version's rules already took the record from their
    subjects. A record corrected every day onto another subject brought every earlier day's subject back into scope:
    at 10M, 69k subjects on the first daily pass and 281k on the twentieth, +11.5k a day (20261204T121943)."""
    return (f"select {column} from (select {column}, version_seq, max(version_seq) filter (version_seq <= {since}) "
            f"over (partition by record_id) as held from {hist} "
            f"where record_id in (select record_id from {hist} where version_seq > {since})) "
            f"where version_seq > {since} or version_seq = held")


def _within(key: str, scope: str, by: str | None = None) -> str:
    """The condition of a shadow: the row's key is null, or its by column (default: the key) is in the scope table."""
    by = by or key
    return f"{key} is null or {by} in (select {by} from {scope})"


def _shadow(con: duckdb.DuckDBPyConnection, names: list[str], where: str) -> list[str]:
    """Temp views over the named tables or views that keep only the rows meeting where (the rule models resolve
    temp first)."""
    db = con.sql("select current_database()").fetchall()[0][0]
    for name in names:
        run(con, f"create or replace temp view {name} as select * from {q(db)}.main.{name} where {where}")
    return names


def shadow_inputs(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Temp views that hide every record outside rule_scope from the rule models."""
    return _shadow(con, _subject_types() + ["subjects"], _within("subject_key", "rule_scope"))


def shadow_records(con: duckdb.DuckDBPyConnection, narrow: bool) -> None:
    """The record marts' inputs shadowed to record_scope (narrow) or back to rule_scope (their subjects)."""
    present = [rt for rt in RECORD_MARTS if rt in _subject_types()]
    _shadow(con, present, _within("subject_key", "record_scope", by="record_id") if narrow
            else _within("subject_key", "rule_scope"))


def extend_record_scope(con: duckdb.DuckDBPyConnection, prev: Previous) -> None:
    """Add to record_scope every record whose applied repair (applied_repairs, just re-decided for the subjects in
    scope) differs from the previous version's: a new or corrected repair, a repair whose window opened, or a
    repair that another record made ambiguous."""
    from pipelines.publish.state import internal_relation

    run(con, f"""insert into record_scope
        with before as materialized (
            select target_record_id, min(repair_date) as repaired_on
            from ({internal_relation(prev.internal_dir, 'repair_outcomes.parquet')})
            where outcome = 'applied' and subject_key in (select subject_key from rule_scope) group by all),
        now as (select target_record_id, repaired_on from applied_repairs)
        select target_record_id from (
            (select * from now except select * from before) union all (select * from before except select * from now))
        except select record_id from record_scope""")


def carry_dishonesty(con: duckdb.DuckDBPyConnection, prev: Previous) -> None:
    """carried_dishonesty (what subject_grades reads beside the marts): the public penalties and other dishonesty
    records of the subjects in scope that the marts did not re-decide, as the previous version showed them."""
    from pipelines.publish.state import PUBLIC_ROWS, state_relation

    shown = f"({state_relation(prev.internal_dir, PUBLIC_ROWS)})"
    parts = []
    for name, mart, doc_no in (("penalties.parquet", "mart_penalties", "decision_no"),
                               ("other_dishonesty.parquet", "mart_other_dishonesty", "event_no")):
        parts.append(f"""
            select s.subject_key, p.{doc_no} as doc_no, p.severity
            from read_parquet({lit(str(prev.public_dir / name))}) as p
            join (select record_id, subject_key from {shown} where file = {lit(name)}
                  and subject_key in (select subject_key from rule_scope)) as s using (record_id)
            where p.record_id not in (select record_id from {mart})""")
    run(con, "create or replace temp table carried_dishonesty as " + " union all ".join(parts))


def drop_shadows(con: duckdb.DuckDBPyConnection, names: list[str]) -> None:
    for name in names:
        run(con, f"drop view if exists temp.main.{name}")


def _same_columns(con: duckdb.DuckDBPyConnection, mine: str, theirs: str) -> bool:
    """Whether two relations (a table name, or a parenthesised query) have the same column names and types."""
    def columns(relation: str) -> list[tuple]:
        return [c[:2] for c in con.sql(f"describe select * from {relation}").fetchall()]
    return columns(mine) == columns(theirs)


def assemblable(con: duckdb.DuckDBPyConnection, prev: Previous) -> str | None:
    """None when every ASSEMBLED table has the columns of its previous file, else which does not."""
    from pipelines.publish.state import internal_relation

    for table in ASSEMBLED:
        if not _same_columns(con, table, f"({internal_relation(prev.internal_dir, f'{table}.parquet')})"):
            return f"the previous {table}.parquet has other columns"
    return None


def reset(con: duckdb.DuckDBPyConnection) -> None:
    """Drop what an earlier scoped evaluation on this connection left (the models create tables of these names)."""
    views = {r[0] for r in con.sql("select view_name from duckdb_views() where temporary").fetchall()}
    run(con, "drop table if exists temp.main.carried_dishonesty")   # subject_grades creates it empty when absent
    run(con, f"drop table if exists temp.main.{WINDOWS_RECORDS}")
    run(con, f"drop table if exists temp.main.{DEBT_PAYMENTS}__scope")
    for table in ASSEMBLED:
        if table in views:
            run(con, f"drop view temp.main.{table}")
        run(con, f"drop table if exists temp.main.{table}__scope")


def assemble(con: duckdb.DuckDBPyConnection, prev: Previous) -> None:
    """Each ASSEMBLED table becomes a view: the scope's rows, then every other subject's previous rows."""
    for table in ASSEMBLED:
        run(con, f"alter table temp.main.{table} rename to {table}__scope")
        run(con, f"""create or replace temp view {table} as
            select * from {table}__scope
            union all
            {outside_scope(prev, table)}""")


WINDOWS = "dishonesty_windows"
# The windows a scoped pass decided itself: those of the records with a version merged since (and of the records
# without a subject), what the rule state of dishonesty_windows keeps by record (pipelines/publish/exports.py).
WINDOWS_RECORDS = f"{WINDOWS}__records"


def scoped_windows(con: duckdb.DuckDBPyConnection, prev: Previous, run_model: Callable[[str], None]) -> bool:
    """Build dishonesty_windows for the subjects in rule_scope, deciding only the windows of merged_records.

    A record's class, regime and window depend on its own columns and the catalogue alone (not on as_of, its
    subject or other records; the catalogue and the SQL are in the fingerprint the previous version was written
    by): every other record of the subjects in scope keeps its window from the previous version's state. At 10M a
    daily batch of 100k put ~70k subjects and their ~800k penalties and other dishonesty records in scope, against
    ~60k records merged. False, leaving no dishonesty_windows, when the previous state has other columns (the
    caller then decides every window of the subjects in scope)."""
    from pipelines.publish.state import state_relation

    present: list[str] = [rt for rt in ("admin_penalty", "other_dishonesty") if rt in _subject_types()]
    _shadow(con, present, _within("subject_key", "merged_records", by="record_id"))
    try:
        run_model(WINDOWS)
    finally:
        _shadow(con, present, _within("subject_key", "rule_scope"))   # back to shadow_inputs' scope
    previous = f"({state_relation(prev.internal_dir, WINDOWS)})"
    if not _same_columns(con, WINDOWS, previous):
        run(con, f"drop table temp.main.{WINDOWS}")
        return False
    run(con, f"alter table temp.main.{WINDOWS} rename to {WINDOWS_RECORDS}")
    run(con, f"""create temp table {WINDOWS} as
        select * from {WINDOWS_RECORDS}
        union all
        select p.* from {previous} as p
        where p.subject_key in (select subject_key from rule_scope)
          and p.record_id not in (select record_id from {WINDOWS_RECORDS})""")
    return True


DEBT_PAYMENTS = "debt_payments_checked"


def scoped_debt_payments(con: duckdb.DuckDBPyConnection, prev: Previous, run_model: Callable[[str], None]) -> bool:
    """Build debt_payments_checked for the ledger items with a payment or ledger version merged since prev (the
    items both versions of a corrected record name), with every other item's rows from prev's state of
    debt_payments; the items' own rows stay as debt_payments_checked__scope (the publish keeps them by ledger item).
    False, leaving no debt_payments_checked, when that state is missing or has other columns (the caller then runs
    the model over every item)."""
    from pipelines.merge.warehouse import table_exists
    from pipelines.publish.exports import history_parts
    from pipelines.publish.state import DEBT_PAYMENTS as STATE
    from pipelines.publish.state import state_parts, state_relation

    if state_parts(prev.internal_dir, STATE) is None:
        return False
    parts = history_parts(prev.internal_files)
    touched = ["select null::varchar as ledger_no where false"]
    for rt in ("debt_payment", "debt_ledger"):
        hist = f"{rt}_history"
        if table_exists(con, hist):
            mine = parts.get(rt, [])
            since = mine[-1].last if mine else 0
            touched.append(_touched(hist, "ledger_no", since))
    run(con, "create or replace temp table debt_scope as select distinct ledger_no from ("
             + " union all ".join(touched) + ") where ledger_no is not null")
    # an item's payments are checked against each other and its amount only
    shadowed = _shadow(con, ["debt_payment", "debt_ledger"], _within("ledger_no", "debt_scope"))
    try:
        run_model(DEBT_PAYMENTS)
    finally:
        drop_shadows(con, shadowed)
    previous = f"({state_relation(prev.internal_dir, STATE)})"
    if not _same_columns(con, DEBT_PAYMENTS, previous):
        run(con, f"drop table temp.main.{DEBT_PAYMENTS}")
        return False
    run(con, f"alter table temp.main.{DEBT_PAYMENTS} rename to {DEBT_PAYMENTS}__scope")
    run(con, f"""create or replace temp table {DEBT_PAYMENTS} as
        select * from {DEBT_PAYMENTS}__scope
        union all
        select p.* from {previous} as p
        anti join debt_scope as s on s.ledger_no = p.ledger_no
        where p.ledger_no is not null""")
    return True   # {DEBT_PAYMENTS}__scope stays: what the publish keeps as the state's delta
