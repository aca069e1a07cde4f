"""Helpers for the Airflow tests: an isolated AIRFLOW_HOME, CLI calls, and export comparison."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def airflow_env(airflow_home: Path, credit_home: Path, **extra: str) -> dict[str, str]:
    """Environment for airflow subprocesses: private home and config, this repo's DAGs, no examples."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CREDIT_"))}
    env.update({
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "CREDIT_HOME": str(credit_home),
        "PYTHONPATH": str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
    })
    env.update(extra)
    return env


def airflow(env: dict[str, str], *args: str, timeout: float = 300, log: Path | None = None) -> str:
    """Run one airflow CLI command; raise with its output's tail when it fails."""
    r = subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    if log is not None:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"$ airflow {' '.join(args)}\n{r.stdout}\n{r.stderr}\n")
    if r.returncode != 0:
        raise AssertionError(f"airflow {' '.join(args)} exited {r.returncode}:\n{(r.stdout + r.stderr)[-6000:]}")
    return r.stdout


def latest(home: Path, audience: str = "public") -> Path:
    pointer = json.loads((home / "exports" / audience / "latest.json").read_text(encoding="utf-8"))
    return home / "exports" / audience / pointer["path"]


def export_rows(version_dir: Path) -> dict[str, list[tuple]]:
    """Every Parquet file of an export version, rows sorted: comparable across runs and versions."""
    out = {}
    con = duckdb.connect()
    try:
        for f in sorted(version_dir.glob("*.parquet")):
            out[f.name] = con.sql(f"select * from read_parquet('{f}') order by all").fetchall()
    finally:
        con.close()
    return out
