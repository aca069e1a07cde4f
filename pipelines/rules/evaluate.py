"""The credit rules, evaluated on one as_of date: the single place that decides what is disclosed.

The rules are SQL models in warehouse/marts/, run in order against the current records; their
outputs (mart_* tables) carry `hidden_reason` (null = public on as_of) for the publisher.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

import duckdb

from pipelines.catalog import load_catalog
from pipelines.rules.scope import (
    DEBT_PAYMENTS,
    GLOBAL_MODELS,
    RECORD_MARTS,
    WINDOWS,
    Previous,
    RuleRun,
    assemblable,
    assemble,
    carry_dishonesty,
    define_scope,
    drop_shadows,
    extend_record_scope,
    reset,
    scoped_debt_payments,
    scoped_windows,
    shadow_inputs,
    shadow_records,
)
from pipelines.validate.sql import WAREHOUSE_DIR, run

MODELS = (
    "_regimes",
    "dishonesty_windows",
    "repair_outcomes",
    "list_memberships",
    "mart_penalties",
    "mart_other_dishonesty",
    "mart_licenses",
    "mart_lists",
    "mart_commitments",
    "debt_payments_checked",
    "debt_ledger_status",
    "discipline_targets",
    "discipline_feedback_coverage",
    "subject_grades",
    "pending_references",
)


def load_reference_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Departments, list types and measures from the catalogue, as warehouse tables."""
    catalog = load_catalog()
    tables = {
        "departments": [vars(d) for d in catalog.departments.values()],
        "list_types": [vars(lt) for lt in catalog.list_types.values()],
        "measures": [vars(m) | {"list_types": list(m.list_types)} for m in catalog.measures.values()],
    }
    import pyarrow as pa

    for name, rows in tables.items():
        con.register("catalog_rows", pa.Table.from_pylist(rows))
        run(con, f"create or replace table {name} as select * from catalog_rows")
        con.unregister("catalog_rows")


def evaluate(con: duckdb.DuckDBPyConnection, as_of: date, previous: Previous | str | None = None) -> RuleRun:
    """Run every rule model for as_of: over every subject, or, given the previous versions to build on
    (scope.previous_versions), over the subjects whose answer can have changed since (pipelines/rules/scope.py)."""
    load_reference_tables(con)
    run(con, f"set variable as_of = date '{as_of.isoformat()}'")
    run(con, f"set variable part_rows = {part_rows(con)}")
    reset(con)
    if not isinstance(previous, Previous):
        _run_models(con, MODELS)
        return RuleRun("full", previous or "no previous version given")
    if why := define_scope(con, as_of, previous):
        _run_models(con, MODELS)
        return RuleRun("full", why)
    def one(model: str) -> None:
        _run_models(con, [model])

    shadows = shadow_inputs(con)
    try:
        narrow = extended = False   # the record marts' inputs shadowed to record_scope; record_scope complete
        for model in (m for m in MODELS if m not in GLOBAL_MODELS):
            if (model in RECORD_MARTS.values()) != narrow:
                if not extended:   # the repairs are re-decided by the first record mart
                    extend_record_scope(con, previous)
                    extended = True
                narrow = not narrow
                shadow_records(con, narrow)
            if model == "subject_grades":
                carry_dishonesty(con, previous)
            if not (model == DEBT_PAYMENTS and scoped_debt_payments(con, previous, one)
                    or model == WINDOWS and scoped_windows(con, previous, one)):
                _run_models(con, [model])
    finally:
        drop_shadows(con, shadows)
    if why := assemblable(con, previous):
        _run_models(con, MODELS)
        return RuleRun("full", why)
    assemble(con, previous)
    _run_models(con, GLOBAL_MODELS)
    n = con.sql("select count(*) from rule_scope").fetchall()[0][0]
    r = con.sql("select count(*) from record_scope").fetchall()[0][0]
    return RuleRun("scoped", f"{n:,} subjects re-evaluated since version of {previous.as_of}, {r:,} records of "
                             f"the record marts re-decided", previous, n)


def _run_models(con: duckdb.DuckDBPyConnection, models: Sequence[str]) -> None:
    for model in models:
        for statement in model_statements(model):
            try:
                parts = _parts(con, statement)
                for part in range(parts or 1):
                    if parts:
                        run(con, f"set variable part = {part}")
                    run(con, statement)
            except duckdb.Error as e:   # which rule and which of its statements, in the traceback
                e.add_note(f"in the rule model warehouse/marts/{model}.sql, the statement {_head(statement)!r}")
                raise


# A statement that reads this variable runs once per part, 0 … getvariable('parts') - 1 (which the model sets before,
# from its input's rows and getvariable('part_rows')): for aggregates whose results cannot spill, such as the grade
# reasons' lists (warehouse/marts/subject_grades.sql). At 60M, 17.4M reasons in one part ran out of the 1GB limit; a
# 10M warehouse under a 170MB limit (the same share of it) completed in parts of 680k rows.
PART = "getvariable('part')"
PART_ROWS_PER_GIB = 4_000_000   # rows per part per GiB of the connection's memory limit
_UNITS = {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def memory_limit_gib(con: duckdb.DuckDBPyConnection) -> float:
    """The connection's memory limit in GiB."""
    number, unit = con.sql("select current_setting('memory_limit')").fetchall()[0][0].split()
    return float(number) * _UNITS[unit] / _UNITS["GiB"]


def part_rows(con: duckdb.DuckDBPyConnection) -> int:
    """The rows of a partitioned statement's input per part, in proportion to the memory limit."""
    return max(10_000, int(PART_ROWS_PER_GIB * memory_limit_gib(con)))


def _parts(con: duckdb.DuckDBPyConnection, statement: str) -> int | None:
    """getvariable('parts') if the statement reads the variable part (outside comments), else None (it runs once)."""
    if PART not in re.sub(r"--[^\n]*", "", statement):
        return None
    parts = con.sql("select getvariable('parts')").fetchall()[0][0]
    if not parts:
        raise ValueError("a statement reads the variable part, but no statement before it set the variable parts")
    return parts


def model_statements(model: str) -> list[str]:
    """The statements of a rule model, as they run.

    Rule tables hold one as_of's answer and are rebuilt every run: they live in the connection's temp schema
    (memory, spilling to disk), never in the warehouse file (2.5x faster at 1M rows).
    """
    sql = (WAREHOUSE_DIR / "marts" / f"{model}.sql").read_text(encoding="utf-8")
    sql = sql.replace("create or replace table ", "create or replace temp table ")
    return [statement.query for statement in duckdb.extract_statements(sql)]


def _head(sql: str) -> str:
    """The first line of a statement that is not a comment."""
    return next((line.strip() for line in sql.splitlines() if line.strip() and not line.strip().startswith("--")), "")
