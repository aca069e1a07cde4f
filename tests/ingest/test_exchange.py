"""Exchange-database channel against the real local PostgreSQL and MariaDB.

Each test creates a throwaway database, fills a table ``admin_penalty`` with the fixture penalties
(PostgreSQL with the Chinese template headers, MariaDB with national codes / canonical names), and checks
watermarks (read once, ties on updated_at, re-written rows read again), lineage, and a whole pass.
"""

from __future__ import annotations

import csv
import json
import uuid
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
import sqlalchemy as sa

from pipelines.catalog import load_catalog
from pipelines.home import Home
from pipelines.ingest.exchange import (
    collect_exchange,
    connection_url,
    exchange_urls_from_env,
    read_watermark,
    source_key,
)
from pipelines.run import run_pass
from tests.conftest import AS_OF, FIXTURES

PG_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
MY_ADMIN = "mysql+pymysql://root@127.0.0.1:3306/test?charset=utf8mb4"
T0 = datetime(2026, 11, 20, 9, 0, 0)
BAD_ROW = 6            # fixture row 6: a USCC with a wrong check character


def fixture_rows() -> tuple[list[str], list[list[str]]]:
    with open(FIXTURES / "admin_penalty.csv", encoding="utf-8", newline="") as f:
        header, *rows = list(csv.reader(f))
    return header, rows


def admin(url: str):
    """An autocommit engine on the server's admin database; fails when the driver or server is missing."""
    try:
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as c:
            c.execute(sa.text("select 1"))
    except Exception as exc:  # driver (airflow extra) and server must be present
        pytest.fail(f"database driver or server not available: {exc}")
    return engine


@pytest.fixture(params=["postgresql", "mariadb"])
def exchange_db(request):
    """(url, backend) of a fresh database, dropped afterwards."""
    name = f"credit_x_{uuid.uuid4().hex[:10]}"
    if request.param == "postgresql":
        eng = admin(PG_ADMIN)
        with eng.connect() as c:
            c.execute(sa.text(f'create database "{name}" encoding \'UTF8\' template template0'))
        url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    else:
        eng = admin(MY_ADMIN)
        with eng.connect() as c:
            c.execute(sa.text(f"create database `{name}` character set utf8mb4 collate utf8mb4_unicode_ci"))
        url = f"mysql+pymysql://root@127.0.0.1:3306/{name}?charset=utf8mb4"
    try:
        yield url, request.param
    finally:
        with eng.connect() as c:
            if request.param == "postgresql":
                c.execute(sa.text(f'drop database if exists "{name}" with (force)'))
            else:
                c.execute(sa.text(f"drop database if exists `{name}`"))
        eng.dispose()


def column_names(backend: str, header: list[str]) -> list[str]:
    """PostgreSQL gets the Chinese headers as submitted; MariaDB the national codes, else canonical names."""
    if backend == "postgresql":
        return header
    rt = load_catalog().record_types["admin_penalty"]
    out = []
    for h in header:
        f = rt.field(load_catalog().canonical_header("admin_penalty", h))
        out.append(f.code or f.name)
    return out


def create_table(url: str, backend: str):
    header, rows = fixture_rows()
    cols = column_names(backend, header)
    md = sa.MetaData()
    text = sa.Text if backend == "postgresql" else sa.String(500)
    table = sa.Table(
        "admin_penalty", md,
        sa.Column("row_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("dept_code", sa.String(20), nullable=False, index=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False, index=True),
        *[sa.Column(c, text) for c in cols],
    )
    engine = sa.create_engine(url)
    md.create_all(engine)
    return engine, table, cols, rows


def as_db_rows(cols, rows, start_id=1, updated_at=T0, dept="scjg"):
    return [{"row_id": start_id + i, "dept_code": dept, "updated_at": updated_at,
             **{c: (v or None) for c, v in zip(cols, r, strict=True)}} for i, r in enumerate(rows)]


def raw_rows(home: Home, batch):
    con = duckdb.connect()
    try:
        rel = con.sql(f"select * from read_parquet('{home.root / batch.raw_path}') order by _row_number")
        return [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]
    finally:
        con.close()


def test_read_once_ties_rewrites_and_lineage(exchange_db, tmp_path):
    url, backend = exchange_db
    engine, table, cols, rows = create_table(url, backend)
    # Every row written in the same instant: only row_id orders them (ties on updated_at).
    with engine.begin() as c:
        c.execute(table.insert(), as_db_rows(cols, rows))
    home = Home.resolve(tmp_path / "home")

    [batch] = collect_exchange(home, [url])
    assert (batch.status, batch.department, batch.record_type, batch.rows) == ("landed", "scjg", "admin_penalty",
                                                                             len(rows))
    assert batch.file_name == "exchange:admin_penalty" and batch.unknown_columns == []
    landed = raw_rows(home, batch)
    assert [r["_row_number"] for r in landed] == list(range(1, len(rows) + 1))
    assert {r["_batch_id"] for r in landed} == {batch.batch_id}
    assert {r["_file_name"] for r in landed} == {"exchange:admin_penalty"}
    assert [r["extra:row_id"] for r in landed] == [str(i) for i in range(1, len(rows) + 1)]
    assert landed[0]["decision_no"] == rows[0][5] and landed[0]["decision_date"] == "2025-03-01"
    assert landed[1]["fine_amount"] is None            # empty cells are absent, as in files
    assert read_watermark(home, url, "admin_penalty", "scjg") == (T0, len(rows))

    assert collect_exchange(home, [url]) == []         # nothing new: nothing read

    # A new row in the same instant as the watermark (a tie) is read, and only it.
    with engine.begin() as c:
        c.execute(table.insert(), as_db_rows(cols, rows[:1], start_id=100))
    [tie] = collect_exchange(home, [url])
    assert tie.rows == 1 and [r["extra:row_id"] for r in raw_rows(home, tie)] == ["100"]
    with engine.begin() as c:
        c.execute(table.delete().where(table.c.row_id == 100))

    # A department re-writes one row: a new updated_at, so exactly that row is read again.
    with engine.begin() as c:
        c.execute(table.update().where(table.c.row_id == 3).values(updated_at=T0 + timedelta(minutes=5)))
    [again] = collect_exchange(home, [url])
    assert again.rows == 1 and again.batch_id != batch.batch_id
    [row] = raw_rows(home, again)
    assert row["extra:row_id"] == "3" and row["decision_no"] == rows[2][5] and row["_row_number"] == 1
    assert collect_exchange(home, [url]) == []

    # Another department's rows are a batch of their own; a department filter reads only its own rows.
    with engine.begin() as c:
        c.execute(table.insert(), as_db_rows(cols, rows[:2], start_id=200, updated_at=T0, dept="zj"))
    assert collect_exchange(home, [url], department="scjg") == []
    [zj] = collect_exchange(home, [url], department="zj")
    assert (zj.department, zj.rows) == ("zj", 2)

    # Unknown department codes are landed (nothing is lost) but rejected with a reason.
    with engine.begin() as c:
        c.execute(table.insert(), as_db_rows(cols, rows[:1], start_id=300, dept="nobody"))
    [unknown] = collect_exchange(home, [url])
    assert unknown.status == "rejected" and unknown.reason_rule == "file.unknown_department"
    assert "nobody" in unknown.reason and unknown.raw_path
    engine.dispose()


def test_watermark_survives_and_same_rows_are_one_batch(exchange_db, tmp_path):
    url, backend = exchange_db
    engine, table, cols, rows = create_table(url, backend)
    with engine.begin() as c:
        c.execute(table.insert(), as_db_rows(cols, rows[:3]))
    home = Home.resolve(tmp_path / "home")
    [first] = collect_exchange(home, [url])
    # Lose the watermark: the same rows are read again but are the same batch, so nothing is landed twice.
    for p in (home.state / "watermarks").rglob("*.json"):
        p.unlink()
    assert collect_exchange(home, [url]) == []
    assert read_watermark(home, url, "admin_penalty", "scjg") is not None
    assert len(list((home.landing / "raw" / "admin_penalty").glob("*.parquet"))) == 1
    assert first.batch_id in {p.stem for p in (home.landing / "batches").glob("*.json")}
    engine.dispose()


@pytest.fixture(scope="module")
def reference_penalties(tmp_path_factory):
    """The public penalties of a pass over the same rows submitted as a file."""
    home = Home.resolve(tmp_path_factory.mktemp("ref") / "home")
    header, rows = fixture_rows()
    with open(home.inbox / "scjg" / "admin_penalty_2025-11.csv", "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header] + rows)
    run_pass(home, AS_OF, now=datetime(2026, 11, 25, 8, tzinfo=UTC))
    return public_penalties(home)


def public_penalties(home: Home) -> list[tuple]:
    latest = json.loads((home.exports / "public" / "latest.json").read_text())
    con = duckdb.connect()
    try:
        return con.sql(
            f"select decision_no, subject_name, fine_amount, severity, disclosure_until from read_parquet("
            f"'{home.exports / 'public' / latest['path'] / 'penalties.parquet'}') order by all").fetchall()
    finally:
        con.close()


def test_run_pass_publishes_exchange_penalties(exchange_db, tmp_path, monkeypatch, reference_penalties):
    url, backend = exchange_db
    engine, table, cols, rows = create_table(url, backend)
    with engine.begin() as c:
        c.execute(table.insert(), as_db_rows(cols, rows))
    engine.dispose()
    monkeypatch.setenv("CREDIT_EXCHANGE_URLS", f" {url} ,")
    home = Home.resolve(tmp_path / "home")
    summary = run_pass(home, AS_OF, now=datetime(2026, 11, 25, 8, tzinfo=UTC))
    assert summary.files_read == 1
    [v] = summary.validations
    assert (v.rows, v.quarantined) == (len(rows), 2)
    assert public_penalties(home) == reference_penalties
    assert {r[0] for r in reference_penalties} >= {"盘市监处罚〔2025〕130号", "盘市监处罚〔2024〕57号"}

    # A quarantined row traces back to its exchange row through extra:row_id.
    con = duckdb.connect()
    try:
        traced = con.sql(
            f"select q.row_number, r.\"extra:row_id\" from read_parquet('{home.quarantine_dir / 'rows' / '*.parquet'}') q "
            f"join read_parquet('{home.landing / 'raw' / 'admin_penalty' / '*.parquet'}') r "
            "on r._batch_id = q.batch_id and r._row_number = q.row_number order by 1").fetchall()
    finally:
        con.close()
    assert traced[0] == (BAD_ROW, str(BAD_ROW))

    # Re-running reads nothing new from the exchange database.
    again = run_pass(home, AS_OF, now=datetime(2026, 11, 25, 9, tzinfo=UTC))
    assert again.files_read == 0 and public_penalties(home) == reference_penalties


def test_urls_from_env_and_airflow_connections():
    assert exchange_urls_from_env({"CREDIT_EXCHANGE_URLS": "a://x, ,b://y"}) == ["a://x", "b://y"]
    assert exchange_urls_from_env({}) == []
    assert connection_url("postgres", "db", 5432, "u", "p@ss", "ex") == "postgresql+psycopg2://u:p%40ss@db:5432/ex"
    assert connection_url("mysql", "db", None, "root", None, "ex") == "mysql+pymysql://root@db/ex?charset=utf8mb4"
    assert connection_url("generic", None, None, None, None, None, {"sqlalchemy_url": "sqlite://"}) == "sqlite://"
    with pytest.raises(ValueError):
        connection_url("http", "h", None, None, None, None)
    # The watermark key ignores the password and the driver.
    assert source_key("postgresql+psycopg2://u:a@h/db")[0] == source_key("postgresql://u:b@h/db")[0]
    assert "a@" not in source_key("postgresql+psycopg2://u:a@h/db")[1]
