"""The DAGs end to end with `airflow dags test` (SQLite metadata, no executor) against a pass of `run_pass`.

The home gets the fixture files; one exchange database (local PostgreSQL, reached through an Airflow
connection named in the Variable ``credit_exchange_conn_ids``) adds two penalties of another department.
The public export the DAGs publish must equal the one `run_pass` publishes from an identical home.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from datetime import UTC, datetime

import duckdb
import pytest
import sqlalchemy as sa

from pipelines.home import Home
from pipelines.run import run_pass
from tests.conftest import AS_OF, fill_inbox
from tests.dags.airflow_env import airflow, airflow_env, export_rows, latest

# The monthly reports cover one month: the quality report the batches *landed* in it (the wall clock's month,
# here), the debt report an export evaluated in it. So the passes are evaluated for today, never before AS_OF.
RUN_AS_OF = max(AS_OF, datetime.now(UTC).date())

PG = "postgresql+psycopg2://postgres@127.0.0.1:5432"
# Two penalties handed in through the exchange database by 住建局 (zj): national field codes, Chinese subject headers.
EXCHANGE_ROWS = [
    {"行政相对人名称": "盘锦恒信建筑工程有限公司", "行政相对人类别": "法人及非法人组织", "统一社会信用代码": "91211104MA0T22229X",
     "CF_WSH": "盘住建罚〔2025〕901号", "CF_WFXW": "违法施工", "CF_SY": "未取得施工许可擅自施工",
     "CF_YJ": "《建筑法》第六十四条", "CF_CFLB": "罚款", "CF_NR": "罚款3万元", "CF_NR_FK": "3",
     "CF_JDRQ": "2025-10-10", "CF_CFJG": "盘锦市住房和城乡建设局", "CF_CFJGDM": "11211100826024164P",
     "CF_SJLY": "盘锦市住房和城乡建设局", "CF_SJLYDM": "11211100826024164P"},
    {"行政相对人名称": "盘锦兴隆商贸有限公司", "行政相对人类别": "法人及非法人组织", "统一社会信用代码": "91211100MA0Q12343C",
     "CF_WSH": "盘住建罚〔2025〕902号", "CF_WFXW": "违法施工", "CF_SY": "擅自改变房屋承重结构",
     "CF_YJ": "《建设工程质量管理条例》第六十九条", "CF_CFLB": "罚款", "CF_NR": "罚款5万元", "CF_NR_FK": "5",
     "CF_JDRQ": "2025-11-02", "CF_CFJG": "盘锦市住房和城乡建设局", "CF_CFJGDM": "11211100826024164P",
     "CF_SJLY": "盘锦市住房和城乡建设局", "CF_SJLYDM": "11211100826024164P"},
]


@pytest.fixture(scope="module")
def exchange_url():
    name = f"credit_x_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(f"{PG}/test", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(sa.text(f'create database "{name}" encoding \'UTF8\' template template0'))
    except Exception as exc:  # the local PostgreSQL must be running
        pytest.fail(f"PostgreSQL not reachable: {exc}")
    url = f"{PG}/{name}"
    cols = {c: c for c in EXCHANGE_ROWS[0]}
    engine = sa.create_engine(url)
    md = sa.MetaData()
    table = sa.Table("admin_penalty", md, sa.Column("row_id", sa.Integer, primary_key=True),
                     sa.Column("dept_code", sa.Text), sa.Column("updated_at", sa.DateTime),
                     *[sa.Column(c, sa.Text) for c in cols.values()])
    md.create_all(engine)
    with engine.begin() as c:
        c.execute(table.insert(), [{"row_id": i + 1, "dept_code": "zj", "updated_at": datetime(2026, 11, 24, 10),
                                    **{cols[k]: v for k, v in r.items()}} for i, r in enumerate(EXCHANGE_ROWS)])
    engine.dispose()
    yield url, name
    with admin.connect() as c:
        c.execute(sa.text(f'drop database if exists "{name}" with (force)'))
    admin.dispose()


@pytest.fixture(scope="module")
def dag_runs(tmp_path_factory, exchange_url):
    url, db = exchange_url
    root = tmp_path_factory.mktemp("dags_e2e")
    home = Home.resolve(root / "home")
    fill_inbox(home)
    conn = json.dumps({"conn_type": "postgres", "host": "127.0.0.1", "port": 5432, "login": "postgres",
                       "schema": db})
    env = airflow_env(root / "airflow", home.root,
                      AIRFLOW_CONN_CREDIT_EXCHANGE=conn, AIRFLOW_VAR_CREDIT_EXCHANGE_CONN_IDS="credit_exchange")
    log = root / "airflow.log"
    month = RUN_AS_OF.strftime("%Y-%m")
    airflow(env, "db", "migrate", log=log)
    airflow(env, "pools", "set", "credit_warehouse", "1", "single DuckDB writer", log=log)
    as_of = json.dumps({"as_of": RUN_AS_OF.isoformat()})
    airflow(env, "dags", "test", "credit_collect", "-c", as_of, log=log)
    airflow(env, "dags", "test", "credit_publish", "-c", as_of, log=log)
    airflow(env, "dags", "test", "credit_monthly_reports", "-c", json.dumps({"month": month}), log=log)
    airflow(env, "dags", "test", "credit_collect", "-c", as_of, log=log)      # nothing new this time

    # The same submissions through one `credit run`-style pass.
    ref = Home.resolve(root / "ref")
    fill_inbox(ref)
    old = os.environ.get("CREDIT_EXCHANGE_URLS")
    os.environ["CREDIT_EXCHANGE_URLS"] = url
    try:
        run_pass(ref, RUN_AS_OF, now=datetime.now(UTC))
    finally:
        if old is None:
            os.environ.pop("CREDIT_EXCHANGE_URLS")
        else:
            os.environ["CREDIT_EXCHANGE_URLS"] = old
    return home, ref, root / "airflow" / "airflow.db", month


def test_public_export_equals_a_single_pass(dag_runs):
    home, ref, _, _ = dag_runs
    got, want = export_rows(latest(home.root)), export_rows(latest(ref.root))
    assert got.keys() == want.keys() and "penalties.parquet" in got
    for name in want:
        assert got[name] == want[name], name
    manifest = json.loads((latest(home.root) / "manifest.json").read_text())
    assert manifest["as_of"] == RUN_AS_OF.isoformat() and "manual" in manifest["version"]


def test_exchange_and_file_penalties_are_published(dag_runs):
    home, _, _, _ = dag_runs
    con = duckdb.connect()
    try:
        decisions = {r[0] for r in con.sql(
            f"select decision_no from read_parquet('{latest(home.root) / 'penalties.parquet'}')").fetchall()}
        batches = con.sql(f"select department, file_name, status, rows from read_parquet("
                          f"'{latest(home.root, 'internal') / 'batches.parquet'}') order by all").fetchall()
    finally:
        con.close()
    assert {"盘住建罚〔2025〕901号", "盘住建罚〔2025〕902号", "盘市监处罚〔2025〕130号"} <= decisions
    assert ("zj", "exchange:admin_penalty", "landed", 2) in batches
    assert len(batches) == 11


def test_nothing_new_emits_no_asset_event_and_reports_are_written(dag_runs):
    home, _, airflow_db, month = dag_runs
    with sqlite3.connect(airflow_db) as db:
        states = [r[0] for r in db.execute(
            "select ti.state from task_instance ti join dag_run dr on dr.run_id = ti.run_id and dr.dag_id = ti.dag_id "
            "where ti.dag_id = 'credit_collect' and ti.task_id = 'mark_staged' order by dr.run_after")]
        mapped = db.execute("select count(*) from task_instance where dag_id = 'credit_collect' "
                            "and task_id = 'collect' and state = 'success'").fetchone()[0]
        events = db.execute("select count(*) from asset_event e join asset a on a.id = e.asset_id "
                            "where a.uri like 'credit://staged%'").fetchone()[0]
    assert states == ["success", "skipped"]
    assert mapped == 2 * 15 and events == 1

    out = home.root / "reports" / "quality" / month
    con = duckdb.connect()
    try:
        depts = con.sql(f"select department, sum(rows), sum(quarantined) from read_parquet("
                        f"'{out / 'department_quality.parquet'}') group by all order by all").fetchall()
        want = con.sql(f"select department, sum(rows), sum(quarantined) from read_parquet("
                       f"'{latest(home.root, 'internal') / 'batches.parquet'}') group by all order by all").fetchall()
    finally:
        con.close()
    assert depts == want and ("zj", 2, 0) in depts
    from openpyxl import load_workbook

    wb = load_workbook(out / "department_quality.xlsx")
    assert wb.sheetnames == ["部门汇总", "明细"]
    assert [c.value for c in wb["部门汇总"][1]][:3] == ["部门代码", "部门名称", "报送批次数"]
