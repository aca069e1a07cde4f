"""The DAG files import cleanly, cheaply, and every DAG carries tags, docs, retries and timeouts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import airflow  # noqa: F401  (installed by `make test`: missing must fail, not skip)
import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
EXPECTED = {"credit_collect", "credit_publish", "credit_monthly_reports"}


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow")))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == EXPECTED


def test_every_dag_has_tags_docs_retries_and_timeouts(dagbag):
    for dag in dagbag.dags.values():
        assert dag.tags, dag.dag_id
        assert dag.doc_md and len(dag.doc_md.strip()) > 40, dag.dag_id
        assert dag.max_active_runs == 1, dag.dag_id
        for t in dag.tasks:
            assert t.retries >= 1, (dag.dag_id, t.task_id)
            assert t.execution_timeout is not None, (dag.dag_id, t.task_id)


def test_shape_of_the_dags(dagbag):
    collect = dagbag.dags["credit_collect"]
    mapped = collect.get_task("collect")
    assert type(mapped).__name__.endswith("MappedOperator")           # dynamic task mapping over departments
    assert [a.uri.rstrip("/") for a in collect.get_task("mark_staged").outlets] == ["credit://staged"]
    publish = dagbag.dags["credit_publish"]
    [t] = publish.tasks
    assert (t.pool, t.pool_slots) == ("credit_warehouse", 1)
    assert "credit://exports/public" in [a.uri.rstrip("/") for a in t.outlets]
    assert "credit://staged" in repr(publish.timetable.asset_condition)
    assert [t.task_id for t in dagbag.dags["credit_monthly_reports"].tasks] == ["department_quality", "debt_clearance"]


def test_parsing_imports_nothing_heavy(tmp_path):
    """DAG parsing must stay cheap: no DuckDB, Great Expectations, pandas or pipelines at top level."""
    code = (
        "import runpy, sys\n"
        f"runpy.run_path({str(DAGS / 'credit_dags.py')!r})\n"
        "heavy = [m for m in ('duckdb', 'great_expectations', 'pandas', 'pipelines')"
        " if m in sys.modules]\n"
        "print(heavy)\n"
        "sys.exit(1 if heavy else 0)\n"
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
