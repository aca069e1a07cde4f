"""Rules for any as_of and any state of knowledge, evaluated away from the warehouse writer.

The internal export carries every version of every record (history_<type>.parquet, with learned_at and
superseded_at). Loading that history into an in-memory DuckDB and running the same rule models answers
"what did the public site show on 2025-03-01?" (known_at = that day) or "what applies today, knowing
what we know now?" (known_at = None), without touching the single-writer warehouse file.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb

from pipelines.home import Home
from pipelines.merge.warehouse import create_current_views, rebuild_subjects
from pipelines.publish.exports import read_latest
from pipelines.rules.evaluate import evaluate
from pipelines.validate.sql import connect, lit, run


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
    for f in sorted(version_dir.glob("history_*.parquet")):
        rt = f.stem.removeprefix("history_")
        run(con, f"create view {rt}_history as select * from read_parquet({lit(str(f))})")
    create_current_views(con, known_at)
    rebuild_subjects(con, known_at)
    evaluate(con, as_of)
    return con
