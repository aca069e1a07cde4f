"""CeleryExecutor natively: PostgreSQL metadata, Redis broker, two workers, the DAGs scheduled for real.

Starts api-server, scheduler, dag-processor and two `airflow celery worker` processes (concurrency 1,
different hostnames) and unpauses credit_publish and credit_collect; the scheduled collection run lands
the fixture files across both workers and updates credit://staged, which triggers credit_publish. The published export must equal a single `run_pass`
on an identical home. Every process group is stopped at the end and no process is left behind.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import uuid
from datetime import date
from pathlib import Path

import psutil
import pytest
import redis
import sqlalchemy as sa
from airflow.providers import celery as celery_provider  # noqa: F401  (installed by `make test`: missing must fail, not skip)

from pipelines.home import Home
from pipelines.run import run_pass
from tests.conftest import fill_inbox
from tests.dags.airflow_env import AIRFLOW, REPO, airflow, airflow_env, export_rows, latest

PG = "postgresql+psycopg2://postgres@127.0.0.1:5432"
REDIS_DB = 13                 # a database number of its own on the shared local Redis; plus a queue per run,
                              # so concurrent runs of this test never take each other's tasks
FLOW_TIMEOUT = 420            # seconds for the whole scheduled flow
WORKERS = ("worker1", "worker2")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """Airflow components, each in its own session (process group), stopped group by group."""

    def __init__(self, env: dict[str, str], logs: Path, marker: str):
        self.env, self.logs, self.marker = env, logs, marker
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *args: str, **extra: str) -> None:
        log = open(self.logs / f"{name}.log", "w", encoding="utf-8")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen([AIRFLOW, *args], env={**self.env, **extra}, stdout=log,
                                            stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True)

    def check_alive(self) -> None:
        dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
        if dead:
            raise AssertionError(f"airflow components died: {dead}\n{self.tails()}")

    def tails(self, lines: int = 25) -> str:
        out = []
        for f in sorted(self.logs.glob("*.log")):
            text = f.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
            out.append(f"----- {f.name}\n" + "\n".join(text))
        return "\n".join(out)

    def ours(self) -> list[psutil.Process]:
        """Every live process started for this test (found by the marker in its environment)."""
        found = []
        for p in psutil.process_iter(["pid"]):
            try:
                if p.environ().get("CREDIT_TEST_MARKER") == self.marker:
                    found.append(p)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return found

    def stop(self) -> list[str]:
        """SIGINT each group, then SIGTERM, then SIGKILL what is left; returns what needed SIGKILL."""
        for sig, grace in ((signal.SIGINT, 30), (signal.SIGTERM, 15)):
            for p in self.procs.values():
                if p.poll() is None:
                    try:
                        os.killpg(p.pid, sig)
                    except ProcessLookupError:
                        pass
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and (any(p.poll() is None for p in self.procs.values())
                                                   or self.ours()):
                time.sleep(0.5)
        left = self.ours()
        for p in left:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        for p in self.procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=30)
        psutil.wait_procs(left, timeout=10)
        return [" ".join(p.info.get("cmdline") or []) if hasattr(p, "info") else str(p.pid) for p in left]


@pytest.fixture
def metadata_db():
    name = f"credit_af_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(f"{PG}/test", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(sa.text(f'create database "{name}"'))
        broker = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
        broker.ping()
    except Exception as exc:  # the local servers must be running (CI uses this machine's)
        pytest.fail(f"PostgreSQL/Redis not reachable (start them: see the env notes): {exc}")
    queue = f"credit-test-{uuid.uuid4().hex[:10]}"
    try:
        yield f"{PG}/{name}", queue
    finally:
        for key in broker.scan_iter(match=f"*{queue}*"):
            broker.delete(key)
        for key in broker.scan_iter(match="_kombu.binding.*"):   # this run's workers' broadcast bindings
            if broker.type(key) == b"set":
                if mine := [m for m in broker.smembers(key) if queue.encode() in m]:
                    broker.srem(key, *mine)
        with admin.connect() as c:
            c.execute(sa.text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


def wait_for(what: str, check, procs: Processes, deadline: float, every: float = 2.0):
    while True:
        result = check()
        if result:
            return result
        procs.check_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{procs.tails()}")
        time.sleep(every)


def test_celery_workers_run_departments_in_parallel(tmp_path, metadata_db):
    metadata_db, queue = metadata_db
    home = Home.resolve(tmp_path / "home")
    fill_inbox(home)
    logs = tmp_path / "logs"
    logs.mkdir()
    port = free_port()
    marker = uuid.uuid4().hex
    env = airflow_env(
        tmp_path / "airflow", home.root,
        AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=metadata_db,
        AIRFLOW__CELERY__BROKER_URL=f"redis://127.0.0.1:6379/{REDIS_DB}",
        AIRFLOW__CELERY__RESULT_BACKEND="db+" + metadata_db,
        AIRFLOW__OPERATORS__DEFAULT_QUEUE=queue,
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
        AIRFLOW__API__PORT=str(port),
        AIRFLOW__API__HOST="127.0.0.1",
        AIRFLOW__API__WORKERS="1",
        AIRFLOW__API__SECRET_KEY=secrets.token_hex(16),
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(32),
        AIRFLOW__CORE__HOSTNAME_CALLABLE="tests.dags.worker_hostname.hostname",
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True",
        AIRFLOW__CORE__PARALLELISM="8",
        AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
        AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES="1",
        AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK="False",
        CREDIT_TEST_MARKER=marker,
    )
    airflow(env, "db", "migrate", log=logs / "cli.log")
    airflow(env, "pools", "set", "credit_warehouse", "1", "single DuckDB writer", log=logs / "cli.log")

    procs = Processes(env, logs, marker)
    engine = sa.create_engine(metadata_db)

    def q(sql: str, **params):
        with engine.connect() as c:
            return c.execute(sa.text(sql), params).fetchall()

    started = time.monotonic()
    try:
        procs.start("api-server", "api-server", "--port", str(port))
        procs.start("scheduler", "scheduler")
        procs.start("dag-processor", "dag-processor")
        for w in WORKERS:
            procs.start(w, "celery", "worker", "--concurrency", "1", "--celery-hostname", f"{w}-{queue}@%h",
                        "--queues", queue, "--without-mingle", "--without-gossip",
                        CREDIT_TEST_WORKER=w)
        deadline = started + FLOW_TIMEOUT
        wait_for("the DAGs to be parsed", lambda: len(q(
            "select dag_id from dag where dag_id like 'credit_%' and not is_stale")) == 3, procs, deadline)

        # Publishing waits for the asset; unpausing collection starts its latest hourly run at once.
        airflow(env, "dags", "unpause", "credit_publish", log=logs / "cli.log")
        airflow(env, "dags", "unpause", "credit_collect", log=logs / "cli.log")
        wait_for("a successful credit_collect run", lambda: q(
            "select 1 from dag_run where dag_id = 'credit_collect' and state = 'success'") or _failed(q, procs),
            procs, deadline)
        wait_for("the asset-triggered credit_publish run", lambda: q(
            "select 1 from dag_run where dag_id = 'credit_publish' and run_type = 'asset_triggered' "
            "and state = 'success'") or _failed(q, procs), procs, deadline)
        wait_for("credit_publish to go idle", lambda: not q(
            "select 1 from dag_run where dag_id = 'credit_publish' and state in ('queued', 'running')"),
            procs, deadline)
        flow_seconds = time.monotonic() - started

        hosts = q("select hostname, count(*) from task_instance where dag_id = 'credit_collect' "
                  "and task_id = 'collect' and state = 'success' group by hostname")
        publish = q("select hostname, pool, state from task_instance where dag_id = 'credit_publish'")
    finally:
        leftovers = procs.stop()
        engine.dispose()

    assert leftovers == [], f"processes needed SIGKILL: {leftovers}"
    assert not procs.ours()
    counts = dict(hosts)
    assert sum(counts.values()) == 15, counts
    assert set(counts) == set(WORKERS), f"mapped department tasks ran on {counts}"
    assert {p[1] for p in publish} == {"credit_warehouse"} and {p[2] for p in publish} == {"success"}

    manifest = json.loads((latest(home.root) / "manifest.json").read_text())
    assert manifest["previous_version"] is None           # one publication: the asset-triggered run
    ref = Home.resolve(tmp_path / "ref")
    fill_inbox(ref)
    run_pass(ref, date.fromisoformat(manifest["as_of"]))
    got, want = export_rows(latest(home.root)), export_rows(latest(ref.root))
    assert got.keys() == want.keys()
    for name in want:
        assert got[name] == want[name], name
    print(f"celery flow took {flow_seconds:.0f}s; department tasks per worker: {counts}")


def _failed(q, procs: Processes):
    bad = q("select dag_id, run_id, state from dag_run where state = 'failed'")
    if bad:
        tis = q("select dag_id, task_id, map_index, state, hostname from task_instance "
                "where state in ('failed', 'upstream_failed', 'up_for_retry')")
        raise AssertionError(f"failed runs {bad}; task instances {tis}\n{procs.tails()}")
    return None
