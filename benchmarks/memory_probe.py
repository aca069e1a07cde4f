"""Which rule models cannot stay inside DuckDB's memory limit: run them one by one on a home's warehouse.

    .venv/bin/python -m benchmarks.memory_probe HOME [--limit 120MB] [--as-of 2026-11-25]

A model that fails under --limit is reported and re-run without it, so the models after it still run. Used to
find why the 60M pass ran out of memory in the rules at the 2GB limit (a 2.5M warehouse at 120 MB has the same
data-to-memory ratio). Reads and writes only the connection's temp schema: the warehouse is left as it was.
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

import duckdb

from pipelines.home import Home
from pipelines.merge.warehouse import create_current_views
from pipelines.rules.evaluate import MODELS, load_reference_tables, model_statements
from pipelines.validate.sql import connect, run


def probe(home: Home, limit: str, as_of: date) -> list[tuple[str, str, float]]:
    con = connect(home.warehouse)
    out = []
    try:
        create_current_views(con)
        load_reference_tables(con)
        run(con, f"set variable as_of = date '{as_of.isoformat()}'")
        for model in MODELS:
            statements = model_statements(model)
            run(con, f"set memory_limit = '{limit}'")
            t0 = time.perf_counter()
            done = 0
            try:
                for statement in statements:
                    run(con, statement)
                    done += 1
                out.append((model, "ok", time.perf_counter() - t0))
            except duckdb.OutOfMemoryException:
                out.append((model, "OUT OF MEMORY", time.perf_counter() - t0))
                run(con, "reset memory_limit")
                for statement in statements[done:]:
                    run(con, statement)
    finally:
        con.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.memory_probe", description=__doc__.split("\n")[0])
    ap.add_argument("home", type=Path)
    ap.add_argument("--limit", default="120MB")
    ap.add_argument("--as-of", default="2026-11-25")
    args = ap.parse_args()
    for model, status, secs in probe(Home.resolve(args.home), args.limit, date.fromisoformat(args.as_of)):
        print(f"{status:14s} {model:24s} {secs:6.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
