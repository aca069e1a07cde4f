"""Compile a GX suite (expectations/<record_type>.json) into one DuckDB pass that flags every row.

Each expectation type used in the suites has a SQL translation here: the predicate that is true
when a row FAILS it. One query over a batch's raw Parquet yields, per row, the list of broken
rules and their Chinese reasons; GX runs the same suite on the same rows and must agree
(pipelines/validate/batch.py compares the counts).
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb

WAREHOUSE_DIR = Path(__file__).resolve().parents[2] / "warehouse"
# COPY options of every Parquet file the project writes for itself (landed, staged, the internal export): the
# fastest zstd level, and Parquet 2.x encodings (DELTA_LENGTH_BYTE_ARRAY for text), which DuckDB writes ~12%
# faster and reads ~10% faster than 1.0's at the same size (penalties at 10M, 1.8M rows: 4.3 s against 5.0 s).
# pyarrow and pandas read them. Public files are written with PUBLIC_PARQUET: 1.0 encodings, which every
# Parquet reader a public site may use understands.
PARQUET = "format parquet, compression zstd, compression_level 1, parquet_version v2"
PUBLIC_PARQUET = "format parquet, compression zstd, compression_level 1"


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: object) -> str:
    """A SQL literal for a string or number from a suite."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def _in_list(values: list) -> str:
    return "(" + ", ".join(lit(v) for v in values) + ")"


# Identifier checks are computed once per distinct submitted value (identifiers repeat: the same
# authority, unit or subject on many rows) and joined back; see flag_query.
IDENTIFIER_EXPECTATIONS = ("expect_column_values_to_be_valid_uscc", "expect_column_values_to_have_valid_uscc_org_code",
                           "expect_column_values_to_be_valid_resident_id")
IDENTIFIER_CHECKS = {"uscc_ok": "uscc_valid_n(n)", "org_ok": "uscc_org_code_valid_n(n)", "rid_ok": "rid_valid_n(n)"}


def checked(column: str, check: str) -> str:
    """The joined result of an identifier check (a key of IDENTIFIER_CHECKS) for a column's value."""
    return q(f"__{check}_{column}")


def _when(kw: dict) -> str:
    col = q(kw["when_column"])
    if "when_in" in kw:
        return f"coalesce({col} in {_in_list(kw['when_in'])}, false)"
    return f"coalesce(contains({col}, {lit(kw['when_contains'])}), false)"


def _amount_fails(kw: dict) -> str:
    c = q(kw["column"])
    bad = [f"not is_decimal_text({c})"]
    if kw.get("min_value") is not None:
        op = "<=" if kw.get("strict_min") else "<"
        bad.append(f"try_cast({c} as double) {op} {kw['min_value']!r}")
    if kw.get("max_value") is not None:
        bad.append(f"try_cast({c} as double) > {kw['max_value']!r}")
    return f"{c} is not null and ({' or '.join(bad)})"


FAILS: dict[str, Callable[[dict, date], str]] = {
    "expect_column_values_to_not_be_null": lambda kw, _: f"{q(kw['column'])} is null",
    "expect_column_values_to_be_in_set":
        lambda kw, _: f"{q(kw['column'])} is not null and {q(kw['column'])} not in {_in_list(kw['value_set'])}",
    "expect_column_values_to_match_regex":
        lambda kw, _: f"{q(kw['column'])} is not null and not regexp_matches({q(kw['column'])}, {lit(kw['regex'])})",
    "expect_column_values_to_be_delimited_subset_of_set":
        lambda kw, _: (f"{q(kw['column'])} is not null and (len(code_list({q(kw['column'])})) = 0 or not "
                       f"list_has_all({lit(list(kw['value_set']))}::varchar[], code_list({q(kw['column'])})))"),
    "expect_column_values_to_be_credit_date":
        lambda kw, _: f"{q(kw['column'])} is not null and credit_date({q(kw['column'])}) is null",
    "expect_column_values_to_be_credit_date_not_after":
        lambda kw, as_of: f"coalesce(credit_date({q(kw['column'])}) > date '{as_of.isoformat()}', false)",
    "expect_column_values_to_be_decimal_amount": lambda kw, _: _amount_fails(kw),
    "expect_column_values_to_be_valid_uscc":
        lambda kw, _: f"{q(kw['column'])} is not null and not {checked(kw['column'], 'uscc_ok')}",
    "expect_column_values_to_have_valid_uscc_org_code":
        lambda kw, _: (f"coalesce({checked(kw['column'], 'uscc_ok')} "
                       f"and not {checked(kw['column'], 'org_ok')}, false)"),
    "expect_column_values_to_be_valid_resident_id":
        lambda kw, _: (f"{q(kw['column'])} is not null and coalesce({q(kw['id_type_column'])} = "
                       f"{lit(kw['id_type_value'])}, false) and not {checked(kw['column'], 'rid_ok')}"),
    "expect_column_values_to_not_be_null_when":
        lambda kw, _: f"{_when(kw)} and {q(kw['column'])} is null",
    "expect_multicolumn_values_to_have_one_present_when":
        lambda kw, _: f"{_when(kw)} and " + " and ".join(f"{q(c)} is null" for c in kw["column_list"]),
    "expect_column_pair_credit_dates_to_be_in_order":
        lambda kw, _: f"coalesce(credit_date({q(kw['column_A'])}) > credit_date({q(kw['column_B'])}), false)",
    "expect_column_values_to_be_at_most_when":
        lambda kw, _: (f"{_when(kw)} and is_decimal_text({q(kw['column'])}) and "
                       f"try_cast({q(kw['column'])} as double) > {kw['max_value']!r}"),
}


def connect(database: str | Path = ":memory:", read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the project's macros loaded and memory bounded.

    DuckDB spills to disk past CREDIT_DUCKDB_MEMORY_LIMIT (default 1GB), so peak memory stays bounded
    as data grows; spill files go to the system temp folder.
    """
    config: dict[str, str | bool | int | float | list[str]] = {
        "memory_limit": os.environ.get("CREDIT_DUCKDB_MEMORY_LIMIT", "1GB"),
        "temp_directory": str(Path(tempfile.gettempdir()) / "credit-duckdb-spill"),
    }
    con = duckdb.connect(str(database), read_only=read_only, config=config)
    if not read_only:
        con.execute((WAREHOUSE_DIR / "macros.sql").read_text(encoding="utf-8"))
    return con


_shared: duckdb.DuckDBPyConnection | None = None
_shared_lock = threading.Lock()


def shared_cursor() -> duckdb.DuckDBPyConnection:
    """A new connection (cursor) to this process's one in-memory DuckDB, made by connect() on first use.

    Opening a database costs ~17 ms here, a cursor next to nothing: for small reads that come often in a process
    that does nothing else with DuckDB (the GX worker's sample per record type; the database stays open until the
    process ends). Each cursor is its own connection, so threads may hold one each; tables and views made through
    one are seen by all of them, so make them temp.
    """
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = connect()
        return _shared.cursor()


# Expectations about one column whose check costs more than a comparison (regular expressions, date parsing,
# splitting code lists): checked once per distinct submitted value and joined back to the rows using it, as
# the identifiers are. Values repeat (5,571 decision dates, 29 penalty-type lists and 20,331 fine amounts in
# 2.8M penalties at 10M); the date parse of a column is shared by every rule comparing it with another date.
PER_VALUE_EXPECTATIONS = ("expect_column_values_to_match_regex", "expect_column_values_to_be_delimited_subset_of_set",
                          "expect_column_values_to_be_credit_date", "expect_column_values_to_be_credit_date_not_after",
                          "expect_column_values_to_be_decimal_amount")
DATE_PAIR_EXPECTATIONS = ("expect_column_pair_credit_dates_to_be_in_order",)


def _per_value(suite: dict) -> tuple[dict[str, list[int]], set[str]]:
    """(column -> indexes of its expectations checked per distinct value, the columns whose parsed date is
    joined back for a date pair); a date column of a pair with no expectation of its own has an empty list."""
    columns: dict[str, list[int]] = {}
    dates: set[str] = set()
    for i, e in enumerate(suite["expectations"]):
        if e["type"] in PER_VALUE_EXPECTATIONS:
            columns.setdefault(e["kwargs"]["column"], []).append(i)
        elif e["type"] in DATE_PAIR_EXPECTATIONS:
            for c in (e["kwargs"]["column_A"], e["kwargs"]["column_B"]):
                columns.setdefault(c, [])
                dates.add(c)
    return columns, dates


def flag_query(suite: dict, as_of: date, source: str, only_flagged: bool = False) -> str:
    """One query over source adding _rules/_reasons (errors) and _warn_rules/_warn_reasons (warnings).

    Each expectation's predicate is evaluated once, as a boolean column, then gathered into lists; with
    only_flagged, only rows breaking some rule are returned and the lists are built for those alone.
    """
    checks: list[str] = []
    lists: dict[str, tuple[list[str], list[str]]] = {"error": ([], []), "warning": ([], [])}
    per_value, pair_dates = _per_value(suite)
    value_checked = {i: c for c, idx in per_value.items() for i in idx}
    for i, e in enumerate(suite["expectations"]):
        meta = e["meta"]
        flag = f"__fails_{i}"
        if i in value_checked:
            checks.append(f"{_value_flag(i)} as {flag}")
        else:
            predicate = FAILS[e["type"]](e["kwargs"], as_of)
            for c in pair_dates:   # a date pair compares the dates parsed once per value
                predicate = predicate.replace(f"credit_date({q(c)})", _value_date(c))
            checks.append(f"{predicate} as {flag}")
        reason = lit(meta["reason"])
        column = e["kwargs"].get("column")
        if column and e["type"] != "expect_column_values_to_not_be_null":
            # Show the clerk what was submitted.
            reason = f"{reason} || '（填报值：' || coalesce({q(column)}, '空') || '）'"
        rules, reasons = lists[meta["severity"]]
        rules.append(f"case when {flag} then {lit(meta['rule'])} end")
        reasons.append(f"case when {flag} then {reason} end")

    def gather(items: list[str]) -> str:
        if not items:
            return "[]::varchar[]"
        return f"list_filter([{', '.join(items)}]::varchar[], lambda x: x is not null)"

    idents = sorted({e["kwargs"]["column"] for e in suite["expectations"] if e["type"] in IDENTIFIER_EXPECTATIONS})
    joined = [checked(c, k) for c in idents for k in IDENTIFIER_CHECKS]
    joined += [_value_date(c) for c in sorted(pair_dates)]
    joined += [_value_flag(i) for i in value_checked]
    helpers = ", ".join([f"__fails_{i}" for i in range(len(checks))] + joined)
    picks, joins, ctes = [], [], []
    if idents:
        # Each distinct identifier value is normalised and checked once, then joined to every row using it.
        values = f"select distinct unnest([{', '.join(q(c) for c in idents)}]) as v from rows_in"
        results = ", ".join(f"{expr} as {name}" for name, expr in IDENTIFIER_CHECKS.items())
        ctes.append(f"ids as (select v, {results} from (select v, norm_code(v) as n from ({values}) "
                    f"where v is not null))")
        picks += [f"j{i}.{k} as {checked(c, k)}" for i, c in enumerate(idents) for k in IDENTIFIER_CHECKS]
        joins += [f"left join ids as j{i} on j{i}.v = rows_in.{q(c)}" for i, c in enumerate(idents)]
    for n, (c, idx) in enumerate(per_value.items()):
        # The column's checks on each distinct value v (null included: "is not null and ..." checks say false).
        exprs = [f"credit_date(v) as {_value_date(c)}"] if c in pair_dates else []
        for i in idx:
            e = suite["expectations"][i]
            exprs.append(f"{FAILS[e['type']](e['kwargs'] | {'column': 'v'}, as_of)} as {_value_flag(i)}")
        ctes.append(f"v{n} as (select v, {', '.join(exprs)} from (select distinct {q(c)} as v from rows_in))")
        picks += [f"v{n}.{_value_date(c)}"] if c in pair_dates else []
        picks += [f"v{n}.{_value_flag(i)}" for i in idx]
        joins.append(f"left join v{n} on v{n}.v is not distinct from rows_in.{q(c)}")
    rows = f"select rows_in.*, {', '.join(picks)} from rows_in {' '.join(joins)}" if picks else "select * from rows_in"
    return (
        f"with rows_in as not materialized (select * from {source}){''.join(', ' + c for c in ctes)} "
        f"select * exclude ({helpers}), {gather(lists['error'][0])} as _rules, {gather(lists['error'][1])} as _reasons, "
        f"{gather(lists['warning'][0])} as _warn_rules, {gather(lists['warning'][1])} as _warn_reasons "
        f"from (select *, {', '.join(checks)} from ({rows}))"
        + (f" where {' or '.join(f'__fails_{i}' for i in range(len(checks)))}" if only_flagged and checks else "")
    )


def _value_date(column: str) -> str:
    return q(f"__date_{column}")


def _value_flag(i: int) -> str:
    return q(f"__value_fails_{i}")


def ensure_columns(con: duckdb.DuckDBPyConnection, relation: str, names: list[str],
                   added: dict[str, str] | None = None) -> str:
    """Select from relation adding every catalogue column it lacks as null (optional columns may be absent)."""
    have = {r[0] for r in con.sql(f"describe select * from {relation}").fetchall()}
    extra = [f"null::varchar as {q(n)}" for n in names if n not in have]
    extra += [f"{expr} as {q(name)}" for name, expr in (added or {}).items()]
    return f"(select *{', ' if extra else ''}{', '.join(extra)} from {relation})"


def run(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> None:
    """Execute a statement and drain its result (DuckDB 2.0 refuses new work while one is pending)."""
    con.execute(sql, params or []).fetchall()
