"""Front-end exchange database channel (前置库): read new rows from record-type tables and land them.

A department writes rows into a table named after the record type (e.g. ``admin_penalty``) in a
PostgreSQL or MySQL/MariaDB database. Each row carries ``dept_code``, a unique ``row_id`` and an
``updated_at`` timestamp, plus the record's fields under canonical names, Chinese template headers
or national field codes (mapped exactly like file headers).

Every (source, table, department) read of new rows becomes one Batch, landed exactly like a file:
raw Parquet under ``landing/raw/<record_type>/<batch_id>.parquet`` with the lineage columns
(``_file_name`` is ``exchange:<table>``, ``_row_number`` the position in the read) and the exchange
row's ``row_id``/``updated_at`` kept as ``extra:row_id``/``extra:updated_at`` so a quarantined row
traces back to the exchange row. The batch id is a sha256 of the rows read: reading the same rows
again (e.g. after a lost watermark) is the same batch and is not landed twice.

Watermarks: ``state/watermarks/<source>/<table>.<department>.json`` holds the last
``(updated_at, row_id)`` read, so ties on ``updated_at`` are handled and a re-written row (new
``updated_at``) is read again. They are kept per department as well as per source and table so that
departments can be collected in parallel (one Airflow mapped task each) without racing on one file.

Rows are streamed (server-side cursor, ``yield_per``) and written to Parquet chunk by chunk; no table
or read is ever held in memory whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.catalog import load_catalog
from pipelines.home import Home
from pipelines.ingest.files import Batch, Rejected, _header_plan, _sql_str, load_batches

ENV_URLS = "CREDIT_EXCHANGE_URLS"
KEY_COLUMNS = ("dept_code", "row_id", "updated_at")
CHUNK_ROWS = 10_000
NO_DEPARTMENT = "_none"           # rows whose dept_code is empty
BLANKS = " \t\r\n\u3000"


def exchange_urls_from_env(environ: dict[str, str] | None = None) -> list[str]:
    """The SQLAlchemy URLs in CREDIT_EXCHANGE_URLS (comma-separated); empty when unset."""
    raw = (environ if environ is not None else os.environ).get(ENV_URLS, "")
    return [u.strip() for u in raw.split(",") if u.strip()]


def connection_url(conn_type: str, host: str | None, port: int | None, login: str | None,
                   password: str | None, schema: str | None, extra: dict | None = None) -> str:
    """A SQLAlchemy URL from an Airflow connection's fields (kept free of Airflow imports).

    ``extra.sqlalchemy_url`` wins when present; otherwise postgres → psycopg2, mysql → pymysql (utf8mb4).
    Airflow keeps the database name of postgres/mysql connections in ``schema``.
    """
    from sqlalchemy.engine import URL

    extra = extra or {}
    if extra.get("sqlalchemy_url"):
        return str(extra["sqlalchemy_url"])
    kind = (conn_type or "").lower()
    if kind in ("postgres", "postgresql"):
        driver, query = "postgresql+psycopg2", {}
    elif kind in ("mysql", "mariadb"):
        driver, query = "mysql+pymysql", {"charset": "utf8mb4"}
    else:
        raise ValueError(f"exchange connections must be postgres or mysql, not {conn_type!r}")
    url = URL.create(driver, username=login or None, password=password or None, host=host or None,
                     port=port or None, database=schema or None, query=query)
    return url.render_as_string(hide_password=False)


def source_key(url: str) -> tuple[str, str]:
    """(stable key, display form) of a source: the URL without its password, so secrets stay out of state."""
    from sqlalchemy.engine import URL, make_url

    u = make_url(url)
    # Neither the password nor the driver (psycopg2 or not) is part of a source's identity.
    shown = URL.create(u.get_backend_name(), username=u.username, host=u.host, port=u.port, database=u.database,
                       query=u.query).render_as_string(hide_password=False)
    return hashlib.sha256(shown.encode()).hexdigest()[:16], shown


# ---------------------------------------------------------------------------------------------------------
# Watermarks


def _watermark_path(home: Home, skey: str, table: str, department: str) -> Path:
    return home.state / "watermarks" / skey / f"{table}.{department}.json"


def _encode_value(v: Any) -> dict:
    if isinstance(v, datetime):
        return {"datetime": v.isoformat()}
    if isinstance(v, date):
        return {"date": v.isoformat()}
    if isinstance(v, int | str):
        return {"value": v}
    if isinstance(v, Decimal):
        return {"decimal": str(v)}
    raise TypeError(f"unsupported watermark value {v!r}")


def _decode_value(d: dict) -> Any:
    if "datetime" in d:
        return datetime.fromisoformat(d["datetime"])
    if "date" in d:
        return date.fromisoformat(d["date"])
    if "decimal" in d:
        return Decimal(d["decimal"])
    return d["value"]


def read_watermark(home: Home, url: str, table: str, department: str) -> tuple[Any, Any] | None:
    """The last (updated_at, row_id) read from this source table for this department, or None."""
    path = _watermark_path(home, source_key(url)[0], table, department)
    if not path.exists():
        return None
    d = json.loads(path.read_text(encoding="utf-8"))
    return _decode_value(d["updated_at"]), _decode_value(d["row_id"])


def _write_watermark(home: Home, url: str, table: str, department: str, mark: tuple[Any, Any],
                     batch_id: str) -> None:
    skey, shown = source_key(url)
    path = _watermark_path(home, skey, table, department)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"source": shown, "table": table, "department": department,
            "updated_at": _encode_value(mark[0]), "row_id": _encode_value(mark[1]),
            "batch_id": batch_id, "read_at": datetime.now(UTC).isoformat(timespec="seconds")}
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(body, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)


# ---------------------------------------------------------------------------------------------------------
# Reading


def _cell(v: Any) -> str | None:
    """Landing keeps strings: dates as ISO, numbers without float noise; trimmed, empty means absent."""
    if v is None:
        return None
    if isinstance(v, datetime):
        text = v.date().isoformat() if v.time() == time.min and v.tzinfo is None else v.isoformat(sep=" ")
    elif isinstance(v, date):
        text = v.isoformat()
    elif isinstance(v, float):
        text = str(int(v)) if v.is_integer() else repr(v)
    elif isinstance(v, Decimal):
        text = format(v, "f")
    elif isinstance(v, bytes | bytearray | memoryview):
        text = bytes(v).decode("utf-8", errors="replace")
    else:
        text = str(v)
    text = text.strip(BLANKS)
    return text or None


def _after(table, mark: tuple[Any, Any] | None):
    from sqlalchemy import and_, or_

    if mark is None:
        return None
    u, r = mark
    return or_(table.c.updated_at > u, and_(table.c.updated_at == u, table.c.row_id > r))


def _departments(conn, table, department: str | None) -> list[str | None]:
    """The dept_code values present (raw, as stored), or the one asked for."""
    from sqlalchemy import select

    if department is not None:
        return [department]
    return [r[0] for r in conn.execute(select(table.c.dept_code).distinct())]


def _dept_rows(engine, table, dept: str | None, mark) -> Iterator[list]:
    """Stream (updated_at, row_id, *fields) rows of one department newer than mark, in watermark order."""
    from sqlalchemy import select

    where = [table.c.dept_code.is_(None) if dept is None else table.c.dept_code == dept]
    if (cond := _after(table, mark)) is not None:
        where.append(cond)
    stmt = select(table).where(*where).order_by(table.c.updated_at, table.c.row_id)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=CHUNK_ROWS).execute(stmt)
        for part in result.partitions():
            yield from part


class _ParquetSink:
    """Chunked writer of string columns plus _row_number; hashes every row it writes."""

    def __init__(self, path: Path, table: str, columns: list[str]):
        self.path, self.columns = path, columns
        self.schema = pa.schema([("_row_number", pa.int64())] + [(c, pa.string()) for c in columns])
        self.writer: pq.ParquetWriter | None = None
        self.hash = hashlib.sha256(json.dumps(["exchange", table, columns], ensure_ascii=False).encode())
        self.rows = 0
        self.buffer: list[list[str | None]] = []

    def add(self, cells: list[str | None]) -> None:
        self.hash.update(json.dumps(cells, ensure_ascii=False).encode())
        self.hash.update(b"\n")
        self.buffer.append(cells)
        if len(self.buffer) >= CHUNK_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")
        arrays = [pa.array(range(self.rows + 1, self.rows + len(self.buffer) + 1), pa.int64())]
        arrays += [pa.array([r[i] for r in self.buffer], pa.string()) for i in range(len(self.columns))]
        self.writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self.schema))
        self.rows += len(self.buffer)
        self.buffer = []

    def close(self) -> None:
        self.flush()
        if self.writer is not None:
            self.writer.close()


def _land(home: Home, batch: Batch, tmp: Path) -> str:
    """Add the constant lineage columns and move the read into landing/raw (streaming, in DuckDB)."""
    from pipelines.validate.sql import connect  # memory-bounded, spills to disk

    assert batch.record_type
    out = home.landing / "raw" / batch.record_type / f"{batch.batch_id}.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    con = connect()
    try:
        con.execute(
            f"copy (select {_sql_str(batch.batch_id)} as _batch_id, {_sql_str(batch.department)} as _department, "
            f"{_sql_str(batch.file_name)} as _file_name, * from read_parquet({_sql_str(str(tmp))})) "
            f"to {_sql_str(str(part))} (format parquet, compression zstd, compression_level 1)"  # insertion order is kept
        ).fetchall()
    finally:
        con.close()
    part.replace(out)
    return str(out.relative_to(home.root))


def _read_department(home: Home, url: str, engine, table, record_type: str, dept_raw: str | None,
                     known: dict[str, Batch], landed_at: str) -> Batch | None:
    """Read one department's new rows of one table into a batch; None when there is nothing new."""
    catalog = load_catalog()
    department = (dept_raw or "").strip(BLANKS) or NO_DEPARTMENT
    mark = read_watermark(home, url, table.name, department)
    field_cols = [c.name for c in table.columns if c.name not in KEY_COLUMNS]
    try:
        plan, unknown = _header_plan(record_type, field_cols)
        problem: Rejected | None = None
    except Rejected as r:  # a table lacking a required column: the rows are kept, the batch rejected
        problem = r
        plan = [(c, catalog.canonical_header(record_type, c) or "extra:" + c) for c in field_cols]
        seen: set[str] = set()
        for i, (h, name) in enumerate(plan):
            if name in seen:
                plan[i] = (h, "extra:" + h)
            seen.add(plan[i][1])
        unknown = [h for h, name in plan if name.startswith("extra:")]
    names = [name for _, name in plan] + ["extra:row_id", "extra:updated_at"]
    positions = [field_cols.index(h) for h, _ in plan]
    cols = list(table.columns.keys())
    i_upd, i_row = cols.index("updated_at"), cols.index("row_id")
    i_fields = [cols.index(c) for c in field_cols]

    work = home.landing / "exchange-work"
    work.mkdir(parents=True, exist_ok=True)
    tmp = work / f"{uuid.uuid4().hex}.parquet"
    sink = _ParquetSink(tmp, table.name, names)
    last: tuple[Any, Any] | None = None
    try:
        for row in _dept_rows(engine, table, dept_raw, mark):
            values = [row[i] for i in i_fields]
            upd = row[i_upd]
            sink.add([_cell(values[p]) for p in positions]
                     + [_cell(row[i_row]), upd.isoformat(sep=" ") if isinstance(upd, datetime) else _cell(upd)])
            last = (row[i_upd], row[i_row])
        sink.close()
        if last is None:
            return None
        sha = sink.hash.hexdigest()
        batch_id = sha[:16]
        if batch_id in known:          # the very same rows were read before: one batch
            _write_watermark(home, url, table.name, department, last, batch_id)
            return None
        batch = Batch(batch_id=batch_id, department=department, file_name=f"exchange:{table.name}",
                      sha256=sha, record_type=record_type, status="landed", landed_at=landed_at,
                      rows=sink.rows, encoding="exchange", unknown_columns=unknown)
        if department not in catalog.departments:
            problem = Rejected("file.unknown_department",
                               f"前置库数据的部门代码“{dept_raw}”未登记，请使用分配的部门代码（dept_code）")
        batch.raw_path = _land(home, batch, tmp)
        if problem is not None:
            batch.status, batch.reason_rule, batch.reason = "rejected", problem.rule, problem.reason
        batch.save(home)
        known[batch_id] = batch
        _write_watermark(home, url, table.name, department, last, batch_id)
        return batch
    finally:
        if sink.writer is not None:
            sink.writer.close()
        tmp.unlink(missing_ok=True)


def _record_tables(engine) -> list[str]:
    from sqlalchemy import inspect

    present = set(inspect(engine).get_table_names())
    return [code for code in load_catalog().record_types if code in present]


def collect_source(home: Home, url: str, department: str | None = None,
                   now: datetime | None = None) -> list[Batch]:
    """Land every new (table, department) read of one exchange database."""
    from sqlalchemy import MetaData, Table, create_engine

    landed_at = (now or datetime.now(UTC)).isoformat(timespec="microseconds")
    engine = create_engine(url, pool_pre_ping=True)
    batches: list[Batch] = []
    known = load_batches(home)
    try:
        for record_type in _record_tables(engine):
            table = Table(record_type, MetaData(), autoload_with=engine)
            if missing := [c for c in KEY_COLUMNS if c not in table.c]:
                raise ValueError(f"exchange table {record_type} at {source_key(url)[1]} lacks {missing}")
            with engine.connect() as conn:
                depts = _departments(conn, table, department)
            for dept in sorted(depts, key=lambda d: (d is None, d or "")):
                b = _read_department(home, url, engine, table, record_type, dept, known, landed_at)
                if b is not None:
                    batches.append(b)
    finally:
        engine.dispose()
    return batches


def collect_exchange(home: Home, urls: Iterable[str], department: str | None = None,
                     now: datetime | None = None) -> list[Batch]:
    """Read every configured exchange database; returns the new batches (landed or rejected).

    With ``department`` only that department's rows are read (one Airflow mapped task per department).
    Writes Parquet and JSON only, never the warehouse.
    """
    out: list[Batch] = []
    for url in urls:
        out += collect_source(home, url, department, now)
    return out
