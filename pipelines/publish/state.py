"""The rule state of the internal export, kept as a base and a cumulative delta per table.

Tables whose rows are all about one subject each (the <type>_status files and the rule tables the scoped rules
assemble, and the public rows' hashes: state_tables()) are what a daily version rewrote whole although the rules re-decided only the subjects in
scope. Each is stored in the version as

    state/<table>/base-<version>.parquet    its rows as the version that wrote it had them (later versions link it)
    state/<table>/delta-<version>.parquet   the rows of every subject re-decided since that base, as decided now
    state/<table>/scope-<version>.parquet   those subjects (subject_key), with the ones that now have no rows

and read as: the base's rows of subjects not in scope, then the delta (state_relation). The status files of the
record marts, dishonesty_windows and public_rows are kept by record instead (their scope file names record_ids: a
scoped pass re-decides those marts' records and the windows of the records merged since, not every record of the
subjects in scope; pipelines/rules/scope.py), and debt_payments by ledger item: a table's key is the column of its
scope file. Rows without a subject (for debt_payments, without a ledger item: NULL_KEYS) are re-decided by every
pass, so only the newest delta (or base) holds them. A pass after a full evaluation, or
one whose delta has grown past what carrying it is worth (compacts()), writes a new base instead. Every version is
complete and immutable, like the history parts: a reader needs nothing but the version's own directory.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.validate.sql import lit

STATE_DIR = "state"
# Rule tables the scoped rules assemble that are kept as state; discipline_targets and subject_grades are files the
# publication contract names, so they stay whole files.
STATE_RULE_TABLES = ("dishonesty_windows", "repair_outcomes", "list_removals_checked", "list_memberships")
# The hash of every public row per record (exports.public_row_hashes): what a scoped pass compares its re-decided
# rows with for changes.parquet, instead of reading the previous public files again.
PUBLIC_ROWS = "public_rows"
# The checked payments of the debt ledger (rule table debt_payments_checked), kept by ledger item: a scoped pass
# checks again the items with a payment or ledger version merged since (rules.scope.scoped_debt_payments).
DEBT_PAYMENTS = "debt_payments"
# The column whose null rows every pass re-decides (the rules' shadows always keep them): subject_key unless named.
NULL_KEYS = {DEBT_PAYMENTS: "ledger_no"}


def null_key(table: str) -> str:
    return NULL_KEYS.get(table, "subject_key")
COMPACT_SHARE = 0.5


def compacts(delta_rows: int, base_rows: int, fresh_rows: int, previous_delta_rows: int) -> bool:
    """Whether a pass writes a new base instead of carrying its delta: delta_rows, the cumulative delta it would
    write; base_rows, the base's; fresh_rows, the rows it re-decided itself; previous_delta_rows, the delta it
    builds on (0 when it builds on a base alone).

    The delta holds the day's re-decided rows (F, written whatever the policy) and the rows carried from earlier
    days (C = delta - F), which grow by about g = delta - previous delta a day. A new base costs the base's rows (B)
    once and drops C to nothing. Over k days between bases the carried rows written add up to about g·k²/2, plus B:
    least per day at k = √(2B/g), when C reaches √(2·B·g). So a new base once C exceeds √(2·B·g), and never a
    delta past COMPACT_SHARE of the base. A fixed share suits one city size only: six daily passes at 10M carried
    the list memberships' delta to 42% of its base, growing by ~3% of it a day, and the penalties' status delta
    grew ~1% a day for weeks to come (BENCHMARKS.md, thirteenth session). A delta that does not grow is carried
    (up to the share)."""
    if delta_rows > COMPACT_SHARE * base_rows:
        return True
    carried, growth = delta_rows - fresh_rows, delta_rows - previous_delta_rows
    return growth > 0 and carried > math.sqrt(2 * base_rows * growth)


def state_tables() -> tuple[str, ...]:
    """Every table kept as state: the status files (by their stem), STATE_RULE_TABLES, PUBLIC_ROWS and
    DEBT_PAYMENTS."""
    from pipelines.publish.contract import STATUS_FILES

    return (tuple(sf.name.removesuffix(".parquet") for sf in STATUS_FILES) + STATE_RULE_TABLES
            + (PUBLIC_ROWS, DEBT_PAYMENTS))


@dataclass(frozen=True)
class StateParts:
    base: Path
    delta: Path | None = None
    scope: Path | None = None


def state_parts(version_dir: Path, table: str) -> StateParts | None:
    """The parts of table in a version, or None when the version does not keep it as state."""
    d = version_dir / STATE_DIR / table
    bases, deltas, scopes = (sorted(d.glob(f"{kind}-*.parquet")) for kind in ("base", "delta", "scope"))
    if len(bases) != 1 or len(deltas) > 1 or len(scopes) != len(deltas):
        return None
    return StateParts(bases[0], deltas[0] if deltas else None, scopes[0] if scopes else None)


def scope_key(scope: Path) -> str:
    """The key a state table's delta replaces base rows by: the one column of its scope file."""
    import pyarrow.parquet as pq

    return pq.read_schema(scope).names[0]


def state_relation(version_dir: Path, table: str) -> str:
    """The rows of a state table in a version (a query). Raises if the version lacks it."""
    parts = state_parts(version_dir, table)
    if parts is None:
        raise FileNotFoundError(f"no state of {table} in {version_dir}")
    if parts.delta is None:
        return f"select * from read_parquet({lit(str(parts.base))})"
    assert parts.scope is not None   # a delta always comes with its scope (state_parts)
    key = scope_key(parts.scope)
    scope = f"select {key} from read_parquet({lit(str(parts.scope))})"
    return (f"{_outside(parts.base, scope, key, null_key(table))} "
            f"union all select * from read_parquet({lit(str(parts.delta))})")


def _outside(base: Path | str, scope_sql: str, key: str = "subject_key", nullable: str = "subject_key") -> str:
    """The rows of a base (a file, or a query) whose key is not in scope_sql (rows whose nullable column is null are
    always in the delta)."""
    rows = f"read_parquet({lit(str(base))})" if isinstance(base, Path) else f"({base})"
    return (f"select b.* from {rows} as b anti join ({scope_sql}) as s using ({key}) "
            f"where b.{nullable} is not null")


def internal_relation(version_dir: Path, name: str) -> str:
    """The rows of an internal export's table by its file name (e.g. penalties_status.parquet), wherever it is
    stored: a state table through state_relation, any other file as it is."""
    table = name.removesuffix(".parquet")
    if table in state_tables():
        return state_relation(version_dir, table)
    return f"select * from read_parquet({lit(str(version_dir / name))})"


def link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:   # another file system, or links not supported: a copy is the same immutable file
        shutil.copy2(src, dst)


def _rows(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    return con.sql(f"select count(*) from read_parquet({lit(str(path))})").fetchall()[0][0]


def write_state(con: duckdb.DuckDBPyConnection, staging: Path, version: str, table: str, rows_sql: str,
                previous: Path | None, copy: Callable[[str, Path], None], key: str = "subject_key",
                scope_sql: str = "select subject_key from rule_scope") -> list[tuple[Path, Path | None]]:
    """Write table's state into the staging version; [(written or linked file, its source when linked)].

    rows_sql: the table's rows when previous is None (every subject evaluated), else the rows of the keys in
    scope_sql only (key: subject_key, the subjects in rule_scope by default, record_id or ledger_no), every other
    key's rows being previous's (the previous internal version). copy(query, path) writes a query to a Parquet file.
    """
    nullable = null_key(table)
    out = staging / STATE_DIR / table
    out.mkdir(parents=True, exist_ok=True)
    base = out / f"base-{version}.parquet"
    prev = state_parts(previous, table) if previous else None
    if previous is not None and prev is None:
        raise FileNotFoundError(f"the previous version {previous} has no state of {table}")
    if prev is None:
        copy(rows_sql, base)
        return [(base, None)]
    if prev.scope is not None and scope_key(prev.scope) != key:   # kept by another key: start a new base
        assert previous is not None
        copy(f"{rows_sql} union all {_outside(state_relation(previous, table), scope_sql, key, nullable)}", base)
        return [(base, None)]
    kept = ""
    if prev.delta is not None:   # earlier re-decisions of keys not re-decided now
        kept = (f" union all select d.* from read_parquet({lit(str(prev.delta))}) as d "
                f"anti join ({scope_sql}) as s using ({key}) where d.{nullable} is not null")
    delta_sql = rows_sql + kept
    all_scope = scope_sql
    if prev.scope is not None:
        all_scope += f" union select {key} from read_parquet({lit(str(prev.scope))})"
    delta, scope = out / f"delta-{version}.parquet", out / f"scope-{version}.parquet"
    copy(delta_sql, delta)
    fresh = con.sql(f"select count(*) from ({rows_sql})").fetchall()[0][0]
    before = _rows(con, prev.delta) if prev.delta is not None else 0
    if compacts(_rows(con, delta), _rows(con, prev.base), fresh, before):   # cheaper to start a new base
        copy(f"select * from read_parquet({lit(str(delta))}) union all {_outside(prev.base, all_scope, key, nullable)}",
             base)
        delta.unlink()
        return [(base, None)]
    linked = out / prev.base.name
    link(prev.base, linked)
    copy(f"select distinct {key} from ({all_scope})", scope)
    return [(linked, prev.base), (delta, None), (scope, None)]
