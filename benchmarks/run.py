"""Issue 6 benchmark: one city's files through our pass, the raw DuckDB anchor and the usual pandas + GX baseline.

    python -m benchmarks.run --rows N [--incremental-sizes a,b,c] [--daily 100000] [--daily-repeats K] [--daily-days D]
                             [--out DIR] [--skip-baseline]

Every measured thing runs in its own worker process (`python -m benchmarks.run _worker TASK SPEC.json`), so its
peak RSS is its own; inside a worker each stage's peak is measured separately (see benchmarks/__init__.py).
The parent reaps each worker with wait4 and kills it when it passes --mem-limit-gb or --timeout-s.
Results: <out>/<timestamp>.json and <out>/<timestamp>.md (the Markdown is also printed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks import Meter

REPO = Path(__file__).resolve().parents[1]
AS_OF = "2026-11-25"
# our stages in order, and the baseline step each one is compared with (None: the baseline has no such step)
OUR_STAGES: list[tuple[str, list[str], str | None]] = [
    ("startup (imports, home)", ["startup"], "startup"),
    ("ingest (收集 collect)", ["collect"], "read"),
    ("validate (校验), all of it", ["validate", "gx_check", "data_docs"], "validate"),
    ("  batches: SQL flags, split, type (+ side thread: feedback, GX)", ["validate"], None),
    ("  side thread left after the SQL: feedback + GX cross-check", ["gx_check"], None),
    ("  GX Data Docs (in the GX worker; a small input's behind the warehouse steps: the wait at the end)", ["data_docs"], None),
    ("merge (入库)", ["merge"], "merge"),
    ("rules (规则)", ["rules"], None),
    ("publish (发布)", ["publish"], "write"),
]


# ------------------------------------------------------------------------------------------------ workers


def _w_generate(spec: dict, meter: Meter) -> dict:
    from pipelines.demo.generate import generate

    with meter.stage("generate"):
        s = generate(Path(spec["home"]), spec["rows"], dt.date.fromisoformat(spec["as_of"]), seed=spec["seed"])
    return {"files": len(s.files), "rows": sum(s.rows_per_record_type.values()),
            "rows_per_record_type": s.rows_per_record_type, "broken_rows": s.broken_rows}


def _csv_encodings(home: Path) -> dict[Path, str]:
    """Encoding of every inbox CSV: from the demo manifest, else detected like the ingest does."""
    from pipelines.ingest.files import Rejected, detect_encoding

    known: dict[Path, str] = {}
    manifest = home / "demo" / "files.csv"
    if manifest.exists():
        import csv

        with open(manifest, encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f):
                if r["format"] == "csv":
                    known[home / "inbox" / r["department"] / r["file_name"]] = r["encoding"]
    out = {}
    for p in sorted((home / "inbox").rglob("*.csv")):
        enc = known.get(p)
        if enc is None:
            try:
                enc = detect_encoding(p)
            except Rejected:
                enc = "unreadable"
        out[p] = enc
    return out


def _read_opts(ragged: bool) -> str:
    # the ingest's own read_csv options (pipelines/ingest/files.py), so the anchor parses exactly as it does
    extra = "null_padding=true, parallel=false" if ragged else "null_padding=false"
    return f"header=true, all_varchar=true, delim=',', quote='\"', escape='\"', strict_mode=false, {extra}"


def _w_anchor(spec: dict, meter: Meter) -> dict:
    """Raw DuckDB on the same files: transcode GB18030 (iconv), scan every column, COPY to zstd Parquet."""
    import duckdb

    home, work = Path(spec["home"]), Path(spec["work"])
    work.mkdir(parents=True, exist_ok=True)
    files, skipped = [], []
    with meter.stage("transcode"):
        for i, (path, enc) in enumerate(_csv_encodings(home).items()):
            if enc == "gb18030":
                target = work / f"utf8_{i}.csv"
                with open(target, "wb") as dst:
                    subprocess.run(["iconv", "-f", "GB18030", "-t", "UTF-8", str(path)], stdout=dst, check=True)
                files.append((path, target))
            elif enc == "unreadable":
                skipped.append(str(path))
            else:
                files.append((path, path))

    def one(con, sql_for, i: int, orig: Path, src: Path) -> tuple[int, bool]:
        """(rows, whether the ragged reader was needed) of one file; (0, False) and skipped if unreadable."""
        for ragged in (False, True):
            try:
                got = con.sql(sql_for(i, f"read_csv('{src}', {_read_opts(ragged)})")).fetchall()
                return (got[0][0] if got else 0), ragged
            except duckdb.Error:
                if ragged:
                    skipped.append(str(orig))
        return 0, False

    def each(stage: str, sql_for) -> tuple[int, int]:
        rows = fallbacks = 0
        with meter.stage(stage):
            con = duckdb.connect()
            for i, (orig, src) in enumerate(files):
                n, ragged = one(con, sql_for, i, orig, src)
                rows, fallbacks = rows + n, fallbacks + ragged
            con.close()
        return rows, fallbacks

    read_rows, _ = each("read", lambda i, src: f"select count(*), sum(hash(columns(*))) from {src}")
    out = work / "parquet"
    out.mkdir(exist_ok=True)

    def copy_sql(i: int, src: str) -> str:
        return f"copy (select * from {src}) to '{out / f'{i}.parquet'}' (format parquet, compression zstd)"

    copy_rows, fallbacks = each("copy", copy_sql)
    csv_bytes = sum(p.stat().st_size for p, _ in files)
    parquet_bytes = sum(p.stat().st_size for p in out.glob("*.parquet"))
    # The same COPY with both cores kept busy the way our collect lands files (two files at a time, one DuckDB thread
    # each): file by file, DuckDB's own threads leave part of the second core idle (CPU ~1.25 of 2).
    shutil.rmtree(out)
    out.mkdir()
    with meter.stage("copy_pairs"):
        db = duckdb.connect(config={"threads": 1})

        def copy_one(i: int, orig: Path, src: Path) -> int:
            with db.cursor() as cur:
                return one(cur, copy_sql, i, orig, src)[0]

        with ThreadPoolExecutor(2) as pool:
            pair_rows = sum(pool.map(copy_one, range(len(files)), *zip(*files, strict=True)))
        db.close()
    shutil.rmtree(work, ignore_errors=True)
    return {"csv_files": len(files), "csv_bytes": csv_bytes, "rows": read_rows, "copy_rows": copy_rows,
            "copy_pairs_rows": pair_rows,
            "gb18030_files": sum(1 for p, s in files if p != s), "ragged_fallbacks": fallbacks,
            "parquet_bytes": parquet_bytes, "skipped": sorted(set(skipped)),
            "duckdb_threads": duckdb.connect().sql("select current_setting('threads')").fetchall()[0][0]}


_SQL_LOG: list[tuple[str, str, float]] = []


def wrap_sql_run(wrap) -> None:
    """Replace pipelines.validate.sql.run, through which the pipeline sends every statement, by wrap(run) in every
    module of the pass (each imported run by name)."""
    import importlib

    import pipelines.validate.sql as sqlmod

    original = sqlmod.run
    wrapped = wrap(original)
    importlib.import_module("pipelines.run")   # the pass and every module it uses
    for name, mod in list(sys.modules.items()):
        if name.startswith("pipelines.") and getattr(mod, "run", None) is original:
            mod.run = wrapped  # type: ignore[attr-defined]


def _instrument_sql(meter: Meter) -> None:
    """Profile mode: time every statement the pipeline sends through pipelines.validate.sql.run."""
    def wrap(original):
        def timed(con, sql, params=None):
            t0 = time.perf_counter()
            try:
                return original(con, sql, params)
            finally:
                stage = meter._open[0] if meter._open else "?"
                _SQL_LOG.append((stage, " ".join(sql.split())[:200], time.perf_counter() - t0))
        return timed

    wrap_sql_run(wrap)


_SIDE_BUSY: dict[str, list[float]] = {}   # side-thread job → its durations (s), for the report


def _hook_side_jobs() -> None:
    """Time the jobs validation hands to its side thread (GX cross-check per record type, feedback workbook per
    batch): the side thread is not profiled and its waits only show what is left after the SQL."""
    import pipelines.run as runmod
    import pipelines.validate.batch as batchmod

    for mod, attr, key in ((runmod, "cross_check_type", "gx_cross_check"), (batchmod, "write_feedback", "feedback")):
        original = getattr(mod, attr, None)
        if original is None:
            continue

        def wrapped(*a, _original=original, _key=key, **kw):
            t0 = time.perf_counter()
            try:
                return _original(*a, **kw)
            finally:
                _SIDE_BUSY.setdefault(_key, []).append(time.perf_counter() - t0)

        setattr(mod, attr, wrapped)


def _hook_pass_steps(meter: Meter, drop_inbox: bool) -> None:
    """Time the steps run_pass calls as stages, by wrapping pipelines.run's module globals (looked up at call
    time), so the pass measured is run_pass itself and no pipeline code changes.

    collect, start_validation and merge_and_publish begin their stage (the rules and publish stages begin from
    the pass's progress callbacks); the waits inside them (finish_side_work: the feedback workbooks and GX
    cross-checks still running; render_data_docs / finish_docs: the Data Docs) are stages of their own, after
    which the interrupted stage resumes. A wait the pipeline no longer has is simply not split out.
    drop_inbox: delete the inbox once it has landed (it is never read again: the disk for 60M)."""
    import pipelines.run as runmod

    def hook(attr: str, stage: str, resume: bool, after=None) -> None:
        original = getattr(runmod, attr, None)
        if original is None:
            return

        def wrapped(*a, **kw):
            interrupted = meter._open[0] if resume and meter._open else None
            meter.begin(stage)
            try:
                out = original(*a, **kw)
            finally:
                if interrupted:
                    meter.begin(interrupted)
            if after:
                after(*a)
            return out

        setattr(runmod, attr, wrapped)

    def drop(home, *_):
        shutil.rmtree(home.inbox, ignore_errors=True)

    hook("collect", "collect", False, drop if drop_inbox else None)
    hook("start_validation", "validate", False)
    hook("merge_and_publish", "merge", False)
    for attr, stage in (("finish_side_work", "gx_check"), ("render_data_docs", "data_docs"),
                        ("finish_docs", "data_docs")):
        hook(attr, stage, True)


def _w_ours(spec: dict, meter: Meter) -> dict:
    as_of = dt.date.fromisoformat(spec["as_of"])
    os.environ.update(spec.get("env") or {})
    with meter.stage("startup"):
        import pipelines.run as runmod
        from pipelines.home import Home

        home = Home.resolve(spec["home"])
    if spec.get("profile"):
        _instrument_sql(meter)
    _hook_pass_steps(meter, bool(spec.get("drop_inbox")))
    _hook_side_jobs()

    def progress(stage: str, done: int, total: int) -> None:
        if stage.endswith("merge"):
            meter.begin("rules")
        elif stage.endswith("rules"):
            meter.begin("publish")
        elif stage.endswith("publish"):
            meter.end()

    meter.begin("collect")   # from here: start_gx_early, then collect
    try:
        summary = runmod.run_pass(home, as_of, progress, dt.datetime.now(dt.UTC))
    finally:
        meter.end()
    meter.dump_profiles()
    wh = home.warehouse
    out = {
        "files_read": summary.files_read, "files_rejected": len(summary.rejected_files),
        "duplicates": summary.duplicates, "rows": sum(v.rows for v in summary.validations),
        "accepted": sum(v.accepted for v in summary.validations),
        "quarantined": sum(v.quarantined for v in summary.validations),
        "public_rows": summary.public.rows if summary.public else {},
        "warehouse_bytes": wh.stat().st_size if wh.exists() else 0,
        "side_thread": {k: {"jobs": len(v), "busy_s": sum(v)} for k, v in _SIDE_BUSY.items()},
        "rules": summary.rules and {"mode": summary.rules.mode, "reason": summary.rules.reason},
        "state": _state_summary(home),
    }
    if spec.get("profile"):
        out["sql"] = _SQL_LOG
    return out


def _state_summary(home) -> dict:
    """The rule state the pass left in the latest internal version, per table: its base's and delta's rows, and
    whether this version wrote a new base (else it linked the previous one and wrote a delta)."""
    import pyarrow.parquet as pq

    from pipelines.publish.exports import read_latest
    from pipelines.publish.state import STATE_DIR, state_parts

    latest = read_latest(home, "internal")
    if not latest:
        return {}
    vdir = home.exports / "internal" / latest["path"]
    out = {}
    for d in sorted((vdir / STATE_DIR).iterdir()) if (vdir / STATE_DIR).is_dir() else []:
        parts = state_parts(vdir, d.name)
        if parts is None:
            continue
        new_base = parts.base.name == f"base-{latest['version']}.parquet"
        written = [p for p in (parts.delta, parts.scope) if p is not None] + ([parts.base] if new_base else [])
        out[d.name] = {"base_rows": pq.read_metadata(parts.base).num_rows,
                       "delta_rows": pq.read_metadata(parts.delta).num_rows if parts.delta else 0,
                       "new_base": new_base, "bytes": sum(p.stat().st_size for p in written)}
    return out


def _w_baseline(spec: dict, meter: Meter) -> dict:
    from benchmarks.baseline import run_baseline

    with meter.stage("startup"):
        import pandas  # noqa: F401

        import pipelines.catalog  # noqa: F401
    out = Path(spec["out"])
    try:
        return run_baseline(Path(spec["home"]), out, dt.date.fromisoformat(spec["as_of"]), meter)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _w_same_exports(spec: dict, meter: Meter) -> dict:
    from benchmarks.same_exports import compare

    with meter.stage("compare"):
        return {"tables": compare(Path(spec["a"]), Path(spec["b"]))}


WORKERS = {"generate": _w_generate, "anchor": _w_anchor, "ours": _w_ours, "baseline": _w_baseline,
           "same_exports": _w_same_exports}


def _worker(task: str, spec_path: Path) -> int:
    meter = Meter()
    meter.begin("startup")  # interpreter-level imports until the task's first stage
    spec = json.loads(spec_path.read_text())
    if spec.get("profile"):
        meter.profile_dir = Path(spec["profile"])
    extra = WORKERS[task](spec, meter)
    figures = meter.as_dict()
    Path(spec["result"]).write_text(json.dumps(figures | {"result": extra}, ensure_ascii=False, default=str))
    return 0


# ------------------------------------------------------------------------------------------------ parent


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Runner:
    def __init__(self, work: Path, mem_limit_mb: float, timeout_s: float, log) -> None:
        self.work, self.mem_limit_mb, self.timeout_s, self.log = work, mem_limit_mb, timeout_s, log
        self.n = 0

    def __call__(self, task: str, spec: dict, label: str) -> dict:
        self.n += 1
        spec_path = self.work / f"spec_{self.n:02d}_{task}.json"
        spec["result"] = str(self.work / f"result_{self.n:02d}_{task}.json")
        spec_path.write_text(json.dumps(spec))
        logf = self.work / f"log_{self.n:02d}_{task}.txt"
        self.log(f"[{time.strftime('%H:%M:%S')}] {label} ...")
        load_before = os.getloadavg()
        env = os.environ | {"PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        if spec.get("duckdb_memory_limit"):
            env["CREDIT_DUCKDB_MEMORY_LIMIT"] = spec["duckdb_memory_limit"]
        t0 = time.perf_counter()
        with open(logf, "w") as lf:
            proc = subprocess.Popen([sys.executable, "-m", "benchmarks.run", "_worker", task, str(spec_path)],
                                    cwd=REPO, stdout=lf, stderr=subprocess.STDOUT, env=env)
            killed, watched_peak = None, 0.0
            while True:
                pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                rss = _rss_mb(proc.pid)
                watched_peak = max(watched_peak, rss)
                if rss > self.mem_limit_mb and not killed:
                    killed = f"memory: RSS {rss:,.0f} MB passed --mem-limit-gb"
                    os.kill(proc.pid, signal.SIGKILL)
                elif time.perf_counter() - t0 > self.timeout_s and not killed:
                    killed = f"timeout: still running after {self.timeout_s:.0f} s"
                    os.kill(proc.pid, signal.SIGKILL)
                time.sleep(0.05)
            proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out: dict = {"task": task, "label": label, "process_wall_s": wall, "exit": proc.returncode,
                     "ru_maxrss_mb": ru.ru_maxrss / 1024, "cpu_s": ru.ru_utime + ru.ru_stime,
                     "loadavg_before": load_before, "loadavg_after": os.getloadavg()}
        logged = logf.read_text(errors="replace")
        if logged.strip():   # a pass that finished may still have warned (say, a sort given up for memory)
            out["log_tail"] = logged[-3000:]
        if proc.returncode == 0 and Path(spec["result"]).exists():
            out |= json.loads(Path(spec["result"]).read_text())
            self.log(f"    done in {wall:.1f} s, peak RSS {out['peak_rss_mb']:,.0f} MB, "
                     f"load {load_before[0]:.2f} → {out['loadavg_after'][0]:.2f}")
        else:
            out["failed"] = killed or f"exit status {proc.returncode}"
            out["peak_rss_mb"] = max(watched_peak, out["ru_maxrss_mb"])
            self.log(f"    FAILED ({out['failed']}) after {wall:.1f} s; log {logf}")
        return out


def machine() -> dict:
    import duckdb
    import pandas
    import pyarrow

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    try:
        from importlib.metadata import version

        gx = version("great_expectations")
    except Exception:  # noqa: BLE001
        gx = "?"
    try:
        git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        git += " (uncommitted changes)" if dirty else ""
    except (OSError, subprocess.SubprocessError):
        git = "?"
    return {"git": git, "nproc": os.cpu_count(), "memory_gb": round(mem / 1024 / 1024, 1), "cpu_model": cpu,
            "kernel": platform.release(), "python": platform.python_version(), "duckdb": duckdb.__version__,
            "pandas": pandas.__version__, "pyarrow": pyarrow.__version__, "great_expectations": gx}


def _stage(res: dict, name: str) -> dict | None:
    return next((s for s in res.get("stages", []) if s["name"] == name), None)


def _combined(res: dict | None, names: list[str]) -> dict | None:
    """Several stages as one: summed wall and CPU, the highest peak."""
    got = [s for s in (res or {}).get("stages", []) if s["name"] in names]
    if not got:
        return None
    return {"wall_s": sum(s["wall_s"] for s in got), "cpu_s": sum(s["cpu_s"] for s in got),
            "peak_rss_mb": max(s["peak_rss_mb"] for s in got)}


def _sum_stages(res: dict, names: list[str]) -> float:
    return sum(s["wall_s"] for s in res.get("stages", []) if s["name"] in names)


def _input_stats(home: Path) -> dict:
    files = [p for p in (home / "inbox").rglob("*") if p.is_file()]
    return {"files": len(files), "bytes": sum(p.stat().st_size for p in files),
            "csv_files": sum(p.suffix == ".csv" for p in files), "xlsx_files": sum(p.suffix == ".xlsx" for p in files)}


def add_daily(scratch: Path, home: Path, tag: str) -> int:
    """Copy a generated day's files into home's inbox under new names (so they are new files)."""
    n = 0
    for p in sorted((scratch / "inbox").rglob("*")):
        if p.is_file():
            dest = home / "inbox" / p.parent.name / f"{p.stem}_{tag}{p.suffix}"
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, dest)
            n += 1
    return n


# ------------------------------------------------------------------------------------------------ report


def _f(x: float | None, fmt: str = ",.1f") -> str:
    return "—" if x is None else format(x, fmt)


def _ratio(a: float | None, b: float | None) -> str:
    return "—" if not a or not b else f"{a / b:.2f}×"


def _side_line(side: dict) -> str:
    gx, fb = side.get("gx_cross_check", {}), side.get("feedback", {})
    return (f"Side thread busy (overlapping the validation SQL): GX cross-check {gx.get('busy_s', 0):.1f} s over "
            f"{gx.get('jobs', 0)} record types, feedback workbooks {fb.get('busy_s', 0):.1f} s for {fb.get('jobs', 0)} "
            "batches.")


def _logged(task: dict) -> list[str]:
    """The non-blank lines of the tail of a task's log."""
    return [line for line in (task.get("log_tail") or "").splitlines() if line.strip()]


def markdown(r: dict) -> str:
    m, n = r["machine"], r["rows"]
    L = [f"# Benchmark {r['timestamp']} — {n:,} rows", "",
         f"Machine: {m['nproc']} cores ({m['cpu_model']}), {m['memory_gb']} GB, Linux {m['kernel']}; Python "
         f"{m['python']}, DuckDB {m['duckdb']}, pandas {m['pandas']}, pyarrow {m['pyarrow']}, GX {m['great_expectations']}; "
         f"code at {m.get('git', '?')}.",
         f"Command: `{r['command']}`", f"Load average at start {r['loadavg_start'][0]:.2f} / end {r['loadavg_end'][0]:.2f} "
         "(1-min; this box has 2 cores, above ~0.5 other work was running).", ""]
    if r.get("duckdb_memory_limit"):
        L += [f"Our pass ran with CREDIT_DUCKDB_MEMORY_LIMIT={r['duckdb_memory_limit']} (DuckDB's memory limit "
              "on the pipeline's connections; it spills past it).", ""]
    if r.get("drop_inbox"):
        L += ["The inbox was deleted once our pass had landed it (`--drop-inbox`: for disk space; the pass never "
              "reads it again), so no incremental case ran.", ""]
    inp, gen = r["input"], r["generate"]
    L += [f"Input: {inp['files']} files ({inp['csv_files']} CSV, {inp['xlsx_files']} XLSX), {inp['bytes'] / 1e6:,.0f} MB, "
          f"{gen.get('result', {}).get('rows', 0):,} data rows (generated in {_f(gen.get('wall_s'))} s).", ""]
    ours, base, anchor = r["ours"], r.get("baseline"), r["anchor"]
    if ours.get("failed"):   # nothing to compare: say where and why it stopped
        done = ", ".join(f"{s['name']} {s['wall_s']:.1f} s / {s['peak_rss_mb']:,.0f} MB" for s in ours.get("stages", []))
        lines = _logged(ours)
        last = [line for line in lines if "Error" in line or "Exception" in line][-1:] or lines[-1:]
        L += ["## Our full pass did NOT finish", "",
              f"{ours['failed']} after {ours['process_wall_s']:.1f} s, peak RSS {ours['peak_rss_mb']:,.0f} MB"
              + (f"; stages finished: {done}" if done else "") + ".", "",
              f"Its error: `{last[0] if last else '—'}` (the log's tail is in the JSON).", ""]
        return "\n".join(L)
    L += ["## Full pass: ours vs the usual pandas + GX baseline (same inbox)", "",
          "Wall = seconds; RSS = the stage's own peak resident memory (MB); CPU = process CPU-seconds ÷ wall "
          "(2.0 = both cores busy). Speed-up = baseline wall ÷ ours; memory ÷ = baseline peak ÷ ours.", "",
          "| stage | ours wall | ours RSS | ours CPU | baseline step | base wall | base RSS | speed-up | memory ÷ |",
          "|---|---:|---:|---:|---|---:|---:|---:|---:|"]
    for label, names, bname in OUR_STAGES:
        s = _combined(ours, names)
        b = _stage(base, bname) if base and bname and not base.get("failed") else None
        cpu = s["cpu_s"] / s["wall_s"] if s and s["wall_s"] else None
        L.append(f"| {label} | {_f(s and s['wall_s'])} | {_f(s and s['peak_rss_mb'], ',.0f')} | "
                 f"{_f(cpu, '.2f')} | {bname or ''} | {_f(b and b['wall_s'])} | "
                 f"{_f(b and b['peak_rss_mb'], ',.0f')} | {_ratio(b and b['wall_s'], s and s['wall_s'])} | "
                 f"{_ratio(b and b['peak_rss_mb'], s and s['peak_rss_mb'])} |")
    bw = base.get("wall_s") if base and not base.get("failed") else None
    bp = base.get("peak_rss_mb") if base and not base.get("failed") else None
    no_rules = ours["wall_s"] - _sum_stages(ours, ["rules"])
    L.append(f"| **total** | **{_f(ours['wall_s'])}** | **{_f(ours['peak_rss_mb'], ',.0f')}** | "
             f"{_f(ours['cpu_s'] / ours['process_wall_s'], '.2f')} | total | **{_f(bw)}** | **{_f(bp, ',.0f')}** | "
             f"**{_ratio(bw, ours['wall_s'])}** | **{_ratio(bp, ours['peak_rss_mb'])}** |")
    L.append(f"| total without rules (the baseline has none) | {_f(no_rules)} | | | | {_f(bw)} | | {_ratio(bw, no_rules)} | |")
    L.append("")
    if base and base.get("failed"):
        L += [f"Baseline did not finish: {base['failed']} (peak seen {base['peak_rss_mb']:,.0f} MB).", ""]
    elif base:
        br = base["result"]
        L += [f"Baseline: {br['rows_read']:,} rows read, {br['rows_dropped_by_gx']:,} dropped by GX (error rules), "
              f"{sum(br['rows_written'].values()):,} written after keep-latest; {len(br['files_skipped'])} files skipped.", ""]
    o = ours["result"]
    L += [f"Ours: {o['files_read']} files, {o['rows']:,} rows validated, {o['accepted']:,} accepted, "
          f"{o['quarantined']:,} quarantined, {o['files_rejected']} files rejected, {o['duplicates']} duplicates; "
          f"warehouse {o['warehouse_bytes'] / 1e6:,.0f} MB.", ""]
    if o.get("side_thread"):
        L += [_side_line(o["side_thread"]), ""]
    if ours.get("log_tail"):
        L += ["Our pass logged (its first lines; the log's tail is in the JSON):", ""]
        L += [f"- `{line.strip()[:300]}`" for line in _logged(ours)[:5]] + [""]
    alt = r.get("ours_alt")
    if alt:
        L += _alt_section(r, ours, alt, bw, bp)
    a = anchor.get("result", {})
    copy, read, tr = _stage(anchor, "copy"), _stage(anchor, "read"), _stage(anchor, "transcode")
    pairs = _stage(anchor, "copy_pairs")
    coll = _stage(ours, "collect")
    if copy:
        mbps = a["csv_bytes"] / 1e6
        L += ["## Raw DuckDB anchor (same CSV files, same run)", "",
              "| operation | wall s | peak RSS MB | MB/s | CPU |", "|---|---:|---:|---:|---:|",
              f"| iconv GB18030 → UTF-8 ({a['gb18030_files']} files) | {_f(tr['wall_s'])} | {_f(tr['peak_rss_mb'], ',.0f')} | | |",
              f"| DuckDB read_csv, every column scanned | {_f(read['wall_s'])} | {_f(read['peak_rss_mb'], ',.0f')} | "
              f"{mbps / read['wall_s']:,.0f} | {read['cpu_s'] / read['wall_s']:.2f} |",
              f"| DuckDB COPY CSV → zstd Parquet | {_f(copy['wall_s'])} | {_f(copy['peak_rss_mb'], ',.0f')} | "
              f"{mbps / copy['wall_s']:,.0f} | {copy['cpu_s'] / copy['wall_s']:.2f} |"]
        if pairs:
            L += [f"| the same COPY, two files at a time (one DuckDB thread each, as collect lands them) | "
                  f"{_f(pairs['wall_s'])} | {_f(pairs['peak_rss_mb'], ',.0f')} | {mbps / pairs['wall_s']:,.0f} | "
                  f"{pairs['cpu_s'] / pairs['wall_s']:.2f} |"]
        L += ["", f"{a['csv_files']} CSV files, {mbps:,.0f} MB, {a['rows']:,} rows (XLSX files are not in the anchor; "
              f"{len(a['skipped'])} unreadable files skipped).", "",
              f"- our ingest (collect) ÷ anchor COPY: **{coll['wall_s'] / copy['wall_s']:.2f}×**; "
              f"÷ anchor read: {coll['wall_s'] / read['wall_s']:.2f}×",
              f"- our full pass ÷ anchor COPY: **{ours['wall_s'] / copy['wall_s']:.2f}×** "
              f"(÷ anchor COPY + transcode: {ours['wall_s'] / (copy['wall_s'] + tr['wall_s']):.2f}×); issue target ≤ 3× at 10M"]
        if pairs:
            L += [f"- against the COPY with both cores busy: collect **{coll['wall_s'] / pairs['wall_s']:.2f}×**, "
                  f"full pass **{ours['wall_s'] / pairs['wall_s']:.2f}×**"]
        L += [""]
    inc = r.get("incremental") or []
    if inc:
        L += [f"## Incremental: a daily batch of {r['daily']:,} generated rows into a warehouse of N rows", "",
              f"The daily pass runs the next day (as_of {_next_day(r['as_of'])}) after the full pass at N "
              f"(as_of {r['as_of']}).", "",
              "| warehouse N | daily pass s | collect | validate | side wait | docs wait | merge | rules | publish | "
              "peak RSS MB | warehouse MB | full pass at N (setup) s |", "|---:|" * 1 + "---:|" * 11]
        repeated = any(it.get("daily_repeats") for it in inc)
        for it in inc:
            d = it["daily_pass"]
            if d.get("failed"):
                L.append(f"| {it['n']:,} | failed: {d['failed']} |" + " |" * 10)
                continue
            cells = [_f(_stage(d, s) and _stage(d, s)["wall_s"]) for s in
                     ("collect", "validate", "gx_check", "data_docs", "merge", "rules", "publish")]
            L.append(f"| {it['n']:,} | **{_f(d['wall_s'])}** | {' | '.join(cells)} | {_f(d['peak_rss_mb'], ',.0f')} | "
                     f"{d['result']['warehouse_bytes'] / 1e6:,.0f} | {_f(it.get('setup_pass_s'))} |")
        ok = [it for it in inc if not it["daily_pass"].get("failed")]
        if repeated:
            L += ["", f"The same daily pass {r.get('daily_repeats', 1)} times at each N (the first, in the table, on the "
                  "warehouse itself; the others on copies of it made before any ran), wall seconds:", ""]
            for it in ok:
                walls = daily_walls(it)
                L.append(f"- N = {it['n']:,}: {' / '.join(_f(w) for w in walls)} → median **{_f(statistics.median(walls))}** s"
                         + (f" ({len(it['daily_repeats']) + 1 - len(walls)} did not finish)"
                            if len(walls) < len(it["daily_repeats"]) + 1 else ""))
        side = [f"- N = {it['n']:,}: " + _side_line(it["daily_pass"]["result"]["side_thread"])
                + (f" Rules: {rl['mode']} ({rl['reason']})." if (rl := it["daily_pass"]["result"].get("rules")) else "")
                for it in ok if it["daily_pass"]["result"].get("side_thread")]
        if side:
            L += ["", *side]
        for it in ok:
            f = it.get("daily_pass_full_rules")
            if f and not f.get("failed"):
                d = it["daily_pass"]
                cells = [f"{_f(_stage(x, s) and _stage(x, s)['wall_s'])}" for x in (f, d) for s in ("rules", "publish")]
                L += ["", f"Side by side at N = {it['n']:,}, the same daily pass on a copy of the warehouse with "
                      f"CREDIT_RULES_FULL=1: **{_f(f['wall_s'])} s** (rules {cells[0]}, publish {cells[1]}) vs scoped "
                      f"**{_f(d['wall_s'])} s** (rules {cells[2]}, publish {cells[3]}): "
                      f"{_ratio(f['wall_s'], d['wall_s'])} faster."]
                same = it.get("same_exports")
                if same:
                    from benchmarks.same_exports import summary

                    L += ["", "The two published the same (`benchmarks/same_exports.py`): "
                          + (f"the check failed ({same['failed']})." if same.get("failed")
                             else summary(same["result"]["tables"]))]
        for it in ok:
            if later := it.get("later_days"):
                walls = [it["daily_pass"], *later]
                done = [d["wall_s"] for d in walls if not d.get("failed")]
                L += ["", f"Day after day at N = {it['n']:,}: the daily pass of record (day 1) and then "
                      f"{len(later)} more days, each a new batch of {r['daily']:,} rows on the same warehouse, as_of "
                      "one day later (the rule state and the public segments carry the earlier days), wall seconds:",
                      "", "| day | wall s | collect | validate | merge | rules | publish | peak RSS MB | rules ran "
                      "| state delta rows | state MB written | new bases |",
                      "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|"]
                for k, d in enumerate(walls, start=1):
                    if d.get("failed"):
                        L.append(f"| {k} | did not finish ({d['failed']}) | | | | | | | | | | |")
                        continue
                    cells = [_f(_stage(d, s) and _stage(d, s)["wall_s"])
                             for s in ("collect", "validate", "merge", "rules", "publish")]
                    mode = (d["result"].get("rules") or {}).get("mode", "—")
                    state = d["result"].get("state") or {}
                    deltas = sum(t["delta_rows"] for t in state.values())
                    written = sum(t["bytes"] for t in state.values()) / 1e6
                    bases = ", ".join(n for n, t in state.items() if t["new_base"] and k > 1) or "—"
                    L.append(f"| {k} | **{_f(d['wall_s'])}** | {' | '.join(cells)} | {_f(d['peak_rss_mb'], ',.0f')} "
                             f"| {mode} | {deltas:,} | {written:,.1f} | {bases} |")
                if done:
                    L += ["", f"Median over the days: **{_f(statistics.median(done))} s**, the slowest "
                          f"{_f(max(done))} s."]
        if len(ok) >= 2:
            lo, hi = ok[0], ok[-1]
            grow = hi["daily_pass"]["wall_s"] / lo["daily_pass"]["wall_s"]
            L += ["", f"From N = {lo['n']:,} to {hi['n']:,} (×{hi['n'] / lo['n']:.1f}) the daily pass grew ×{grow:.2f}"
                  + (f" (the medians: ×{statistics.median(daily_walls(hi)) / statistics.median(daily_walls(lo)):.2f})." if repeated else ".")]
        L.append("")
    return "\n".join(L)


def daily_walls(item: dict) -> list[float]:
    """Wall seconds of every daily pass at one N that finished: the one of record first, then the repeats."""
    return [d["wall_s"] for d in [item["daily_pass"], *item.get("daily_repeats", [])] if not d.get("failed")]


def _alt_section(r: dict, ours: dict, alt: dict, bw: float | None, bp: float | None) -> list[str]:
    """Our pass once more, same inbox and run, under another DuckDB memory limit."""
    limit = r["also_memory_limit"]
    first = r.get("duckdb_memory_limit") or "the default (1GB)"
    L = [f"## Our full pass at CREDIT_DUCKDB_MEMORY_LIMIT={limit} (same inbox, same run)", ""]
    if alt.get("failed"):
        return L + [f"Did not finish: {alt['failed']} after {alt['process_wall_s']:.1f} s, peak RSS "
                    f"{alt['peak_rss_mb']:,.0f} MB.", ""]
    L += [f"| stage | wall s at {first} | wall s at {limit} | peak RSS MB at {first} | peak RSS MB at {limit} |",
          "|---|---:|---:|---:|---:|"]
    for label, names, _ in OUR_STAGES:
        a, b = _combined(ours, names), _combined(alt, names)
        L.append(f"| {label} | {_f(a and a['wall_s'])} | {_f(b and b['wall_s'])} | "
                 f"{_f(a and a['peak_rss_mb'], ',.0f')} | {_f(b and b['peak_rss_mb'], ',.0f')} |")
    L += [f"| **total** | **{_f(ours['wall_s'])}** | **{_f(alt['wall_s'])}** | **{_f(ours['peak_rss_mb'], ',.0f')}** | "
          f"**{_f(alt['peak_rss_mb'], ',.0f')}** |", "",
          f"At {limit}: speed-up vs the baseline **{_ratio(bw, alt['wall_s'])}**, memory ÷ **{_ratio(bp, alt['peak_rss_mb'])}** "
          f"(at {first}: {_ratio(bw, ours['wall_s'])}, {_ratio(bp, ours['peak_rss_mb'])}).", ""]
    return L


# ------------------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_worker":
        return _worker(argv[1], Path(argv[2]))
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=200_000, help="rows of the demo city (default 200000)")
    ap.add_argument("--incremental-sizes", default=None,
                    help="warehouse sizes N for the daily-batch case, e.g. 250000,500000,1000000 "
                         "(default: rows/4, rows/2, rows; 'none' to skip)")
    ap.add_argument("--daily", type=int, default=100_000, help="rows of the daily batch (default 100000)")
    ap.add_argument("--daily-days", type=int, default=1,
                    help="at the largest N, run this many daily passes day after day (each a new batch, as_of one "
                         "day later) and report each (default 1: the first day only)")
    ap.add_argument("--daily-repeats", type=int, default=1,
                    help="run each daily pass this many times, each on a copy of the same warehouse, and report "
                         "every time and their median (default 1)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    ap.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "credit-bench",
                    help="scratch space for the generated homes (deleted afterwards unless --keep)")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--as-of", default=AS_OF)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--mem-limit-gb", type=float, default=None,
                    help="kill a worker whose RSS passes this (default: 70%% of the machine's memory)")
    ap.add_argument("--timeout-s", type=float, default=3 * 3600, help="kill a worker running longer (default 3 h)")
    ap.add_argument("--profile", action="store_true",
                    help="instead of the comparison: cProfile our pass per stage and time every SQL statement")
    ap.add_argument("--keep", action="store_true", help="keep the generated homes under --work")
    ap.add_argument("--duckdb-memory-limit", default=None,
                    help="CREDIT_DUCKDB_MEMORY_LIMIT for our pass (e.g. 1GB; the pipeline's default is 1GB)")
    ap.add_argument("--also-memory-limit", default=None,
                    help="in the same run, our full pass once more on a copy of the same inbox with this "
                         "CREDIT_DUCKDB_MEMORY_LIMIT (e.g. 1GB), reported beside the first")
    ap.add_argument("--drop-inbox", action="store_true",
                    help="delete the inbox once our full pass has landed it (disk for 60M; it is not read again, "
                         "so the incremental case is then skipped)")
    args = ap.parse_args(argv)
    if args.drop_inbox:
        args.incremental_sizes = "none"

    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    work = args.work / stamp
    work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    mach = machine()
    limit_mb = (args.mem_limit_gb or mach["memory_gb"] * 0.7) * 1024

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    run = Runner(work, limit_mb, args.timeout_s, log)
    report: dict = {"timestamp": stamp, "rows": args.rows, "daily": args.daily, "daily_repeats": args.daily_repeats,
                    "daily_days": args.daily_days,
                    "as_of": args.as_of,
                    "duckdb_memory_limit": args.duckdb_memory_limit, "drop_inbox": args.drop_inbox,
                    "command": "python -m benchmarks.run " + " ".join(argv), "machine": mach,
                    "loadavg_start": os.getloadavg(), "mem_limit_mb": limit_mb}
    try:
        main_home = work / f"city_{args.rows}"
        report["generate"] = run("generate", {"home": str(main_home), "rows": args.rows, "as_of": args.as_of,
                                              "seed": args.seed}, f"generate {args.rows:,} rows")
        report["input"] = _input_stats(main_home)
        if args.profile:
            return _profile(run, main_home, args, stamp, report, work)
        report["anchor"] = run("anchor", {"home": str(main_home), "work": str(work / "anchor")},
                               "anchor: DuckDB CSV → Parquet")
        if not args.skip_baseline:
            report["baseline"] = run("baseline", {"home": str(main_home), "out": str(work / "baseline"),
                                                  "as_of": args.as_of}, "baseline: pandas + GX")
        alt_home = work / f"city_{args.rows}_alt"
        if args.also_memory_limit:   # an untouched copy of the inbox, before our first pass lands it
            shutil.copytree(main_home, alt_home)
        report["ours"] = run("ours", {"home": str(main_home), "as_of": args.as_of, "drop_inbox": args.drop_inbox,
                                      "duckdb_memory_limit": args.duckdb_memory_limit}, "ours: full pass")
        if args.also_memory_limit:
            report["also_memory_limit"] = args.also_memory_limit
            report["ours_alt"] = run("ours", {"home": str(alt_home), "as_of": args.as_of,
                                              "duckdb_memory_limit": args.also_memory_limit},
                                     f"ours: full pass at CREDIT_DUCKDB_MEMORY_LIMIT={args.also_memory_limit}")
            shutil.rmtree(alt_home, ignore_errors=True)
        report["incremental"] = _incremental(run, args, work, main_home)
    finally:
        report["loadavg_end"] = os.getloadavg()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    (args.out / f"{stamp}.json").write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    text = markdown(report)
    (args.out / f"{stamp}.md").write_text(text + "\n", encoding="utf-8")
    print(text)
    print(f"\nwritten: {args.out / f'{stamp}.json'} and .md", file=sys.stderr)
    return 0


def _next_day(as_of: str, days: int = 1) -> str:
    """The daily pass runs the next day (the k-th daily, k days later): its rules see as_of move (windows and overdue
    days with it)."""
    return (dt.date.fromisoformat(as_of) + dt.timedelta(days=days)).isoformat()


def _incremental(run: Runner, args, work: Path, main_home: Path) -> list[dict]:
    if args.incremental_sizes == "none" or args.daily <= 0:
        return []
    sizes = ([int(s) for s in args.incremental_sizes.split(",")] if args.incremental_sizes
             else [args.rows // 4, args.rows // 2, args.rows])
    daily_home = work / "daily"
    run("generate", {"home": str(daily_home), "rows": args.daily, "as_of": args.as_of, "seed": args.seed + 1},
        f"generate the daily batch ({args.daily:,} rows)")

    def daily(at: Path, n: int, env: dict | None = None, label: str = "") -> dict:
        """The daily pass (the next day) into the home at, a warehouse of n rows."""
        return run("ours", {"home": str(at), "as_of": _next_day(args.as_of), "env": env or {},
                            "duckdb_memory_limit": args.duckdb_memory_limit},
                   f"incremental: daily {args.daily:,} into {n:,}{label}")

    out = []
    for n in sorted(sizes):
        item: dict = {"n": n}
        if n == args.rows:
            home = main_home  # passed once already by the full-pass measurement
        else:
            home = work / f"city_{n}"
            run("generate", {"home": str(home), "rows": n, "as_of": args.as_of, "seed": args.seed},
                f"incremental: generate {n:,} rows")
            setup = run("ours", {"home": str(home), "as_of": args.as_of,
                                 "duckdb_memory_limit": args.duckdb_memory_limit}, f"incremental: full pass at {n:,}")
            item["setup_pass"] = setup
        item["setup_pass_s"] = (item.get("setup_pass") or {}).get("wall_s")
        item["daily_files"] = add_daily(daily_home, home, "daily")
        twin = work / f"city_{n}_full_rules" if n == max(sizes) else None
        # The same daily pass again on copies of the same warehouse (--daily-repeats): one pass on a shared VM is
        # one sample of its noise; each copy is made before any of them runs, so every pass starts from the same files.
        repeats = [work / f"city_{n}_repeat_{i}" for i in range(2, args.daily_repeats + 1)]
        for copy in ([twin] if twin else []) + repeats:   # twin: the same daily pass with every subject's rules evaluated
            shutil.copytree(home, copy)
        if twin or repeats:
            os.sync()   # the copies' dirty pages reach the disk before any daily pass is timed
        # The daily pass of record runs first, right after the copy is synced: run after the twin's pass and the
        # deletion of its ~10 GB copy, every stage of it was slower, those that do not depend on N too (collect
        # 4.6 s at 10M against 2.6 s at 5M in 20261202T235034; not shown to be the cause, see BENCHMARKS.md).
        item["daily_pass"] = daily(home, n)
        item["daily_repeats"] = []
        for i, copy in enumerate(repeats, start=2):
            item["daily_repeats"].append(daily(copy, n, label=f" (repeat {i} of {args.daily_repeats}, on a copy)"))
        if twin:
            item["daily_pass_full_rules"] = daily(twin, n, {"CREDIT_RULES_FULL": "1"},
                                                  ", rules evaluated in full (CREDIT_RULES_FULL=1)")
            if not (item["daily_pass"].get("failed") or item["daily_pass_full_rules"].get("failed")):
                # (not timed) the scoped pass must publish what the full evaluation publishes, at this size too
                item["same_exports"] = run("same_exports", {"a": str(home), "b": str(twin)},
                                           "check: the scoped daily pass's exports against the full evaluation's")
        for copy in ([twin] if twin else []) + repeats:   # deleted after every timed pass at this N
            shutil.rmtree(copy, ignore_errors=True)
        if n == max(sizes) and args.daily_days > 1:
            item["later_days"] = _later_days(run, args, work, home, n)
        out.append(item)
        if home != main_home:
            shutil.rmtree(home, ignore_errors=True)
    return out


def _later_days(run: Runner, args, work: Path, home: Path, n: int) -> list[dict]:
    """Days 2..--daily-days at the largest N, one after another on the warehouse itself: each a new generated
    batch of --daily rows, as_of one day later. The office runs the daily pass every day, so what it costs once the
    rule state carries earlier days' deltas and the public files earlier days' segments is the figure that holds."""
    days = []
    for k in range(2, args.daily_days + 1):
        batch = work / f"daily_day{k}"
        run("generate", {"home": str(batch), "rows": args.daily, "as_of": args.as_of, "seed": args.seed + k},
            f"generate day {k}'s batch ({args.daily:,} rows)")
        add_daily(batch, home, f"day{k}")
        shutil.rmtree(batch, ignore_errors=True)
        days.append(run("ours", {"home": str(home), "as_of": _next_day(args.as_of, k),
                                 "duckdb_memory_limit": args.duckdb_memory_limit},
                        f"incremental: day {k} of {args.daily_days}, daily {args.daily:,} into {n:,}"))
    return days


def _profile(run: Runner, home: Path, args, stamp: str, report: dict, work: Path) -> int:
    """cProfile dumps (<stage>.prof) stay under --work/<stamp>/profile: kept only with --keep.

    Profiles the full pass over --rows, then (unless --daily 0) the daily batch into that warehouse."""
    pdir = work / "profile"
    res = run("ours", {"home": str(home), "as_of": args.as_of, "profile": str(pdir / "full")}, "ours: profiled pass")
    report["ours_profiled"] = res
    L = [f"# Profile of our pass, {args.rows:,} rows ({stamp})", "",
         "cProfile per stage (timings inflated by the profiler) and every SQL statement sent through "
         "`pipelines.validate.sql.run` (not inflated: DuckDB runs natively).", ""]
    L += _profile_section(res, pdir / "full", "full pass")
    if args.daily > 0:
        daily_home = work / "daily"
        run("generate", {"home": str(daily_home), "rows": args.daily, "as_of": args.as_of, "seed": args.seed + 1},
            f"generate the daily batch ({args.daily:,} rows)")
        add_daily(daily_home, home, "daily")
        res = run("ours", {"home": str(home), "as_of": _next_day(args.as_of), "profile": str(pdir / "daily")},
                  f"ours: profiled daily {args.daily:,} into {args.rows:,}")
        report["ours_profiled_daily"] = res
        L += [f"# Daily batch of {args.daily:,} rows into the {args.rows:,}-row warehouse", ""]
        L += _profile_section(res, pdir / "daily", "daily")
    text = "\n".join(L)
    (args.out / f"{stamp}-profile.md").write_text(text + "\n", encoding="utf-8")
    (args.out / f"{stamp}-profile.json").write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    print(text)
    return 0


def _profile_section(res: dict, pdir: Path, label: str) -> list[str]:
    import io
    import pstats

    L = []
    for s in res.get("stages", []):
        L.append(f"## {label} — {s['name']}: {s['wall_s']:.1f} s wall, {s['cpu_s']:.1f} s CPU, "
                 f"peak {s['peak_rss_mb']:,.0f} MB")
        prof = pdir / f"{s['name']}.prof"
        if prof.exists():
            buf = io.StringIO()
            pstats.Stats(str(prof), stream=buf).sort_stats("tottime").print_stats(15)
            L += ["", "```", *[line for line in buf.getvalue().splitlines() if line.strip()][-18:], "```"]
        sql = sorted((x for x in res.get("result", {}).get("sql", []) if x[0] == s["name"]), key=lambda x: -x[2])
        if sql:
            total = sum(x[2] for x in sql)
            L += ["", f"SQL statements: {len(sql)}, {total:.1f} s in all; the slowest:", "",
                  "| s | statement |", "|---:|---|"]
            L += [f"| {x[2]:.2f} | `{x[1][:160].replace('|', '¦')}` |" for x in sql[:12]]
        L.append("")
    return L


if __name__ == "__main__":
    sys.exit(main())
