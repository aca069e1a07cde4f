"""Rules for any as_of and any state of knowledge, evaluated away from the warehouse writer.

The internal export carries every version of every record (history/<type>/part-*.parquet, with learned_at;
superseded_at is derived as the warehouse has it, see exports.history_relation). Loading that history into an
in-memory DuckDB and running the same rule models answers "what did the public site show on 2025-03-01?"
(known_at = that day) or "what applies today, knowing what we know now?" (known_at = None), without touching
the single-writer warehouse file.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb

from pipelines.home import Home
from pipelines.merge.warehouse import create_current_views, rebuild_subjects
from pipelines.publish.exports import history_relation, history_types, read_latest, superseded_relation
from pipelines.rules.evaluate import evaluate
from pipelines.validate.sql import connect, run


class NothingPublished(RuntimeError):
    """No internal export yet: run a pass first."""


def latest_internal(home: Home) -> Path:
    latest = read_latest(home, "internal")
    if not latest:
        raise NothingPublished("nothing published yet: run `credit run` first")
    return home.exports / "internal" / latest["path"]


def rules_connection(version_dir: Path, as_of: date, known_at: datetime | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB holding the export's history and every rule table evaluated for as_of."""
    con = connect()
    for rt in history_types(version_dir):
        # The (small) map of superseded versions once, not on every read of the view.
        run(con, f"create temp table {rt}_superseded as {superseded_relation(version_dir, rt)}")
        run(con, f"create view {rt}_history as {history_relation(version_dir, rt, superseded=f'{rt}_superseded')}")
    create_current_views(con, known_at)
    rebuild_subjects(con, known_at)
    evaluate(con, as_of)
    return con
