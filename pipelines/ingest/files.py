"""File-drop channel: find new files under inbox/<department>/ and land their raw rows as Parquet.

Landing never interprets values: every cell stays a string, headers are mapped to canonical
names, unknown columns are kept as submitted, and each row carries its lineage
(batch id, department, file name, row number; the file's sha256 is in the batch manifest).
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from pipelines.catalog import load_catalog
from pipelines.home import Home
from pipelines.validate.sql import PARQUET

CHUNK = 16 << 20
SUFFIXES = {".csv", ".xlsx"}
LINEAGE = ("_batch_id", "_department", "_file_name", "_row_number")
BLANKS = " \t\r\n\u3000"
WORKERS = 2          # files landed at a time
DUCKDB_THREADS = 1   # per file: files are small, so WORKERS files at one thread each keep the cores busiest


@dataclass
class Batch:
    """One submitted file (or exchange-table read): the unit of landing, validation and feedback."""

    batch_id: str
    department: str
    file_name: str
    sha256: str
    record_type: str | None
    status: str                      # landed | rejected
    landed_at: str
    rows: int = 0
    encoding: str | None = None
    unknown_columns: list[str] = field(default_factory=list)
    reason_rule: str | None = None
    reason: str | None = None
    raw_path: str | None = None
    also_seen_as: list[str] = field(default_factory=list)

    def manifest_path(self, home: Home) -> Path:
        return home.landing / "batches" / f"{self.batch_id}.json"

    def save(self, home: Home) -> None:
        path = self.manifest_path(home)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Batch:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


class Rejected(Exception):
    """The whole file cannot be read; rule is a stable name, reason is for the department clerk."""

    def __init__(self, rule: str, reason: str):
        super().__init__(reason)
        self.rule, self.reason = rule, reason


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


class Batches(MutableMapping[str, Batch]):
    """Every batch manifest of a home by batch id, each read from its JSON file only when it is asked for.

    A daily pass lands ~50 files, and a home keeps every manifest ever written (one per batch, named by its
    id): reading them all wherever a step needs a few made each pass read every manifest ~28 times (once per
    department collected, once per record type merged), a cost that grew with every day the platform ran
    (11,030 reads after a 10M city's first week). The ids come from the file names; a manifest is parsed once,
    on first access. Batches added here (a new landing) are held in memory, beside the ones on disk.
    """

    def __init__(self, home: Home) -> None:
        self._dir = home.landing / "batches"
        self._ids = {p.stem for p in self._dir.glob("*.json")} if self._dir.is_dir() else set()
        self._loaded: dict[str, Batch] = {}

    def __contains__(self, batch_id: object) -> bool:
        return batch_id in self._ids

    def __getitem__(self, batch_id: str) -> Batch:
        if batch_id not in self._ids:
            raise KeyError(batch_id)
        if batch_id not in self._loaded:
            self._loaded[batch_id] = Batch.load(self._dir / f"{batch_id}.json")
        return self._loaded[batch_id]

    def __setitem__(self, batch_id: str, batch: Batch) -> None:
        self._ids.add(batch_id)
        self._loaded[batch_id] = batch

    def __delitem__(self, batch_id: str) -> None:
        self._ids.discard(batch_id)
        self._loaded.pop(batch_id, None)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._ids))

    def __len__(self) -> int:
        return len(self._ids)


def load_batches(home: Home) -> Batches:
    """Every batch of the home by id (manifests read on access: Batches)."""
    return Batches(home)


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) first, then GB18030 (a superset of GBK); never a silent guess."""
    with open(path, "rb") as f:
        head = f.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head:
        raise Rejected("file.encoding", "文件编码无法识别（仅支持UTF-8或GB18030/GBK编码的CSV）")
    if _decodes(path, "utf-8"):
        return "utf-8"
    if _decodes(path, "gb18030"):
        return "gb18030"
    raise Rejected("file.encoding", "文件编码无法识别：既不是UTF-8也不是GB18030/GBK编码")


def _transcode(path: Path, encoding: str, target: Path) -> None:
    """To UTF-8 for DuckDB (it cannot read GB18030): iconv streams ~3x faster than Python's codec."""
    iconv = shutil.which("iconv")
    if iconv:
        with open(target, "wb") as dst:
            done = subprocess.run([iconv, "-f", encoding.upper(), "-t", "UTF-8", str(path)], stdout=dst,
                                  stderr=subprocess.PIPE, check=False)
        if done.returncode == 0:
            return
    with open(path, encoding=encoding, newline="") as src, open(target, "w", encoding="utf-8", newline="") as dst:
        shutil.copyfileobj(src, dst, CHUNK)


def _xlsx_to_csv(path: Path, target: Path) -> None:
    """First sheet; the header is the first non-empty row. Excel dates become ISO strings."""
    import csv

    from python_calamine import CalamineWorkbook

    try:
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
        rows = sheet.to_python(skip_empty_area=True)
    except Exception as exc:  # calamine raises several types for a damaged workbook
        raise Rejected("file.unreadable", f"Excel文件无法读取：{exc}") from exc

    def cell(v: object) -> str:
        if v is None:
            return ""
        if isinstance(v, datetime):
            return v.date().isoformat() if v.time() == datetime.min.time() else v.isoformat(sep=" ")
        if hasattr(v, "isoformat"):
            return v.isoformat()  # type: ignore[attr-defined]
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    start = next((i for i, r in enumerate(rows) if any(c not in (None, "") for c in r)), None)
    if start is None:
        raise Rejected("file.empty", "Excel文件第一个工作表没有数据")
    with open(target, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([cell(c) for c in r] for r in rows[start:])


def _header_plan(record_type: str, headers: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """(submitted header, canonical name) pairs for every column, plus the unknown headers."""
    catalog = load_catalog()
    plan: list[tuple[str, str]] = []
    unknown: list[str] = []
    used: set[str] = set()
    for h in headers:
        canonical = catalog.canonical_header(record_type, h)
        if canonical is None or canonical in used:
            unknown.append(h)
            name = "extra:" + h
        else:
            name = canonical
            used.add(canonical)
        plan.append((h, name))
    rt = catalog.record_types[record_type]
    missing = [f.zh for f in rt.fields if f.required and f.name not in used]
    if missing:
        raise Rejected("file.missing_required_columns", "表头缺少必填列：" + "、".join(missing))
    return plan, unknown


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def land_file(home: Home, department: str, path: Path, sha: str, landed_at: str,
              db: duckdb.DuckDBPyConnection) -> Batch:
    """Land one file as raw Parquet; a file that cannot be read becomes a rejected batch with its reason.

    db is an in-memory DuckDB; the file is read through a cursor of its own, so files can land concurrently.
    """
    catalog = load_catalog()
    batch = Batch(batch_id=sha[:16], department=department, file_name=path.name, sha256=sha,
                  record_type=catalog.record_type_for_file(path.name), status="rejected", landed_at=landed_at)
    try:
        if department not in catalog.departments:
            raise Rejected("file.unknown_department", f"未知的报送部门目录“{department}”，请使用分配的部门代码目录")
        if path.suffix.lower() not in SUFFIXES:
            raise Rejected("file.unsupported_format", "仅接受 .csv 或 .xlsx 文件")
        if batch.record_type is None:
            raise Rejected("file.unknown_record_type",
                           "文件名须以信息类型代码开头（如 admin_penalty_2025-11.csv），未能识别：" + path.name)
        with tempfile.TemporaryDirectory(dir=home.landing) as tmp:
            source = path
            if path.suffix.lower() == ".xlsx":
                batch.encoding = "xlsx"
                source = Path(tmp) / "sheet.csv"
                _xlsx_to_csv(path, source)
            else:
                batch.encoding = detect_encoding(path)
                if batch.encoding == "gb18030":
                    source = Path(tmp) / "utf8.csv"
                    _transcode(path, "gb18030", source)
            with db.cursor() as con:
                batch.rows, batch.unknown_columns, batch.raw_path = _land_csv(home, batch, source, con)
        batch.status = "landed"
    except Rejected as r:
        batch.reason_rule, batch.reason = r.rule, r.reason
    batch.save(home)
    return batch


def _land_csv(home: Home, batch: Batch, source: Path, con: duckdb.DuckDBPyConnection) -> tuple[int, list[str], str]:
    assert batch.record_type

    def scan(ragged: bool) -> str:
        # Ragged rows (fewer cells than the header) are padded with nulls and then fail validation;
        # DuckDB can only pad with its single-threaded reader, so that is the fallback.
        options = "null_padding=true, parallel=false" if ragged else "null_padding=false"
        return (f"read_csv({_sql_str(str(source))}, header=true, all_varchar=true, delim=',', quote='\"', "
                f"escape='\"', strict_mode=false, {options})")

    try:
        headers = [r[0] for r in con.execute(f"describe select * from {scan(True)}").fetchall()]
    except duckdb.Error as exc:
        raise Rejected("file.not_a_table", f"文件不是可读取的逗号分隔表格：{str(exc).splitlines()[0]}") from exc
    plan, unknown = _header_plan(batch.record_type, headers)
    cells = ", ".join(f"{_cell(h)} as {_quote(name)}" for h, name in plan)
    out = home.landing / "raw" / batch.record_type / f"{batch.batch_id}.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    for ragged in (False, True):
        try:
            # COPY answers with the number of rows it wrote.
            [(rows,)] = con.execute(
                f"copy (select {_sql_str(batch.batch_id)} as _batch_id, "
                f"{_sql_str(batch.department)} as _department, {_sql_str(batch.file_name)} as _file_name, "
                f"row_number() over () as _row_number, {cells} from {scan(ragged)}) "
                f"to {_sql_str(str(tmp))} ({PARQUET})"
            ).fetchall()
            break
        except duckdb.Error as exc:
            if ragged:
                raise Rejected("file.not_a_table",
                               f"文件内容无法按表格读取：{str(exc).splitlines()[0]}") from exc
    tmp.replace(out)
    return rows, unknown, str(out.relative_to(home.root))


def _cell(column: str) -> str:
    """One cell, trimmed of BLANKS at both ends (full-width spaces too); empty means not submitted.

    trim() with a character list is slow per value, so it only runs where the first or the last character is
    U+3000 or below '!' (the other BLANKS, or the value is empty). The byte-wise comparisons with '!' and
    U+3000/U+3001 decide on the first character, and x[-1] is the last one: both far cheaper than the trim.
    """
    c = _quote(column)
    edges = f"{c} < '!' or ({c} >= '\u3000' and {c} < '\u3001') or {c}[-1] < '!' or {c}[-1] = '\u3000'"
    return f"nullif(case when {edges} then trim({c}, '{BLANKS}') else {c} end, '')"


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


@dataclass
class ScanResult:
    landed: list[Batch]
    rejected: list[Batch]
    duplicates: list[tuple[str, str]]   # (file, batch id it duplicates)


def _file_index(home: Home, department: str) -> tuple[Path, dict]:
    path = home.state / "file_index" / f"{department}.json"
    return path, (json.loads(path.read_text(encoding="utf-8")) if path.exists() else {})


def _hash_and_land(home: Home, work: list[tuple[str, Path, str]], known: MutableMapping[str, Batch],
                   landed: Callable[[int, int], None] | None = None) -> tuple[list[str], dict[Path, Batch]]:
    """The sha256 of every (department, path, landed_at) of work, and the batch of each path whose content is new
    (the first path in work's order with it).

    WORKERS files are hashed and landed at a time, each through its own cursor of one in-memory DuckDB, in one pool
    for every department (a pool per department left a core idle while each department's last file landed); the
    largest files first, so the pool does not end on one large file alone. landed(done, total) after each file.
    """
    if not work:
        return [], {}
    with duckdb.connect(config={"threads": DUCKDB_THREADS}) as db, ThreadPoolExecutor(WORKERS) as pool:
        shas = list(pool.map(sha256_of, [path for _, path, _ in work]))
        first: dict[str, tuple[str, Path, str, str]] = {}
        for (department, path, landed_at), sha in zip(work, shas, strict=True):
            if sha[:16] not in known:
                first.setdefault(sha[:16], (department, path, sha, landed_at))
        todo = sorted(first.values(), key=lambda w: -_size(w[1]))
        landing = {pool.submit(land_file, home, department, path, sha, landed_at, db): path
                   for department, path, sha, landed_at in todo}
        batches: dict[Path, Batch] = {}
        for done, future in enumerate(as_completed(landing), 1):
            batches[landing[future]] = future.result()
            if landed:
                landed(done, len(landing))
        return shas, batches


def _size(path: Path) -> int:
    """The file's size, for the landing order only (0 if it went away since it was hashed: landing it then raises)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _changed_files(home: Home, department: str, index: dict) -> list[tuple[Path, str, os.stat_result]]:
    """(path, inbox-relative name, stat) of every file of the department folder that is new or changed since the
    file index saw it, in name order."""
    files = sorted(p for p in (home.inbox / department).rglob("*") if p.is_file() and not p.name.startswith((".", "~$")))
    changed = []
    for path in files:
        rel = str(path.relative_to(home.inbox))
        st = path.stat()
        seen = index.get(rel)
        if seen and seen["size"] == st.st_size and seen["mtime_ns"] == st.st_mtime_ns:
            continue  # already handled, unchanged
        changed.append((path, rel, st))
    return changed


def new_inbox_bytes(home: Home) -> int:
    """The bytes of every inbox file the next collection will read (new or changed since it was indexed)."""
    return sum(st.st_size for dept in departments_in_inbox(home)
               for _, _, st in _changed_files(home, dept, _file_index(home, dept)[1]))


def collect_departments(home: Home, departments: list[str], now: datetime | None = None,
                        landed: Callable[[int, int], None] | None = None) -> dict[str, ScanResult]:
    """Land every new file of the department folders; each department's result. Writes Parquet and JSON only (no
    warehouse).

    Files land concurrently, all departments' in one pool, with the same outcome as landing them one by one in
    department and then name order: the first file with a content is its batch, a later one a duplicate of it; the
    batches of the i-th department carry now + i microseconds as their landed_at, so versions still order by
    department before file name (as when each department's collection took its own time). landed(done, total)
    after each file landed.
    """
    now = now or datetime.now(UTC)
    known = load_batches(home)   # read on access: only the manifests of contents seen again are parsed
    plans = []
    for i, department in enumerate(departments):
        index_path, index = _file_index(home, department)
        landed_at = (now + timedelta(microseconds=i)).isoformat(timespec="microseconds")
        plans.append((department, index_path, index, _changed_files(home, department, index), landed_at))
    work = [(department, path, landed_at) for department, _, _, changed, landed_at in plans for path, _, _ in changed]
    shas, batches = _hash_and_land(home, work, known, landed)
    sha_of = {path: sha for (_, path, _), sha in zip(work, shas, strict=True)}
    results: dict[str, ScanResult] = {}
    for department, index_path, index, changed, _ in plans:
        result = results[department] = ScanResult([], [], [])
        for path, rel, st in changed:
            sha = sha_of[path]
            index[rel] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha}
            batch_id = sha[:16]
            if batch_id in known:
                # Same content again: one batch. Remember the other name for traceability.
                prior = known[batch_id]
                if path.name != prior.file_name and path.name not in prior.also_seen_as:
                    prior.also_seen_as.append(path.name)
                    prior.save(home)
                result.duplicates.append((rel, batch_id))
                continue
            batch = batches[path]
            known[batch_id] = batch
            (result.landed if batch.status == "landed" else result.rejected).append(batch)
        index_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = index_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(index, ensure_ascii=False), encoding="utf-8")
        tmp.replace(index_path)
    return results


def collect_department(home: Home, department: str, now: datetime | None = None) -> ScanResult:
    """Land every new file of one department folder (collect_departments of that one)."""
    return collect_departments(home, [department], now)[department]


def departments_in_inbox(home: Home) -> list[str]:
    """Every folder under inbox/, known or not (unknown ones are rejected file by file)."""
    return sorted(p.name for p in home.inbox.iterdir() if p.is_dir())

