"""Every SQL statement of daily passes timed: where a daily pass's time goes, and what grows with the city.

    python -m benchmarks.daily_statements HOME --days 1-3 [--init ROWS] [--daily 100000] [--out FILE.jsonl]
                                          [--profile TEXT ...]
    python -m benchmarks.daily_statements --compare A.jsonl B.jsonl

--init ROWS first generates a city of ROWS rows in HOME (seed 7, as-of 2026-11-25) and runs its full pass. Day k: a
batch of --daily rows (seed 7 + k) is copied into the inbox under new names and a pass runs for as-of + k days, in
this process (no worker process or startup per pass, unlike benchmarks.run: figures are not comparable with its).
Each output line (JSON) is one day: its wall time, the seconds of SQL per stage, and every statement (its first 80
characters, closed quoted literals blanked) with its summed time. --profile writes DuckDB's JSON profile of every
statement containing TEXT beside the output (<out>.profile-<n>.json and .sql). --compare lists the statements whose
mean time per pass grew most from A to B (say a 2.5M city's days against a 10M city's).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import sys
import time
from pathlib import Path

from benchmarks.run import AS_OF as _AS_OF
from benchmarks.run import add_daily, wrap_sql_run

AS_OF = dt.date.fromisoformat(_AS_OF)
_NEXT = {"收集 collect": "validate", "校验 validate": "merge", "入库 merge": "rules", "规则 rules": "publish"}


def _key(sql: str) -> str:
    flat = " ".join(sql.split())[:90]
    return re.sub(r"/\S*?/(exports|quarantine|landing|staged|state)/", r"HOME/\1/", re.sub(r"'[^']*'", "'?'", flat))[:80]


def run_days(home: Path, first: int, last: int, daily: int, out: Path, profile: list[str]) -> None:
    from pipelines.demo.generate import generate
    from pipelines.home import Home

    log: list[tuple[str, str, float]] = []
    stage = ["collect"]
    profiled = [0]

    def wrap(original):
        def timed(con, sql, params=None):
            t0 = time.perf_counter()
            watch = params is None and any(p in sql for p in profile)
            if watch:
                profiled[0] += 1
                stem = f"{out.stem}.profile-{profiled[0]}"
                out.with_name(f"{stem}.sql").write_text(sql, encoding="utf-8")
                con.execute(f"set enable_profiling = 'json'; set profiling_output = '{out.with_name(stem + '.json')}'")
            try:
                return original(con, sql, params)
            finally:
                if watch:
                    con.execute("pragma disable_profiling")
                log.append((stage[0], _key(sql), time.perf_counter() - t0))
        return timed

    wrap_sql_run(wrap)
    from pipelines.run import run_pass

    for k in range(first, last + 1):
        batch = out.with_name(f".batch-{k}")
        shutil.rmtree(batch, ignore_errors=True)
        generate(batch, daily, AS_OF, seed=7 + k)
        add_daily(batch, home, f"day{k}")
        shutil.rmtree(batch, ignore_errors=True)
        log.clear()
        stage[0] = "collect"
        t0 = time.perf_counter()

        def progress(name: str, done: int, total: int) -> None:
            if done == total and name in _NEXT:
                stage[0] = _NEXT[name]

        run_pass(Home.resolve(home), AS_OF + dt.timedelta(days=k), progress)
        wall = time.perf_counter() - t0
        statements: dict[tuple[str, str], float] = {}
        stages: dict[str, float] = {}
        for st, key, s in log:
            statements[(st, key)] = statements.get((st, key), 0.0) + s
            stages[st] = stages.get(st, 0.0) + s
        line = {"day": k, "wall_s": round(wall, 3), "sql_s": {s: round(v, 3) for s, v in stages.items()},
                "statements": [[st, key, round(s, 4)] for (st, key), s in sorted(statements.items(), key=lambda x: -x[1])]}
        with open(out, "a", encoding="utf-8") as f:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
        print(f"day {k}: {wall:.1f} s; SQL by stage {line['sql_s']}", flush=True)


def _means(path: Path) -> dict[tuple[str, str], float]:
    days = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    total: dict[tuple[str, str], float] = {}
    for d in days:
        for st, key, s in d["statements"]:
            total[(st, key)] = total.get((st, key), 0.0) + s
    return {k: v / len(days) for k, v in total.items()}


def compare(a: Path, b: Path, top: int = 40) -> str:
    ma, mb = _means(a), _means(b)
    rows = sorted(((mb.get(k, 0.0) - ma.get(k, 0.0), k) for k in ma.keys() | mb.keys()), reverse=True)
    lines = [f"SQL a pass: {sum(ma.values()):.2f} s in {a.name}, {sum(mb.values()):.2f} s in {b.name}",
             "growth s | a s | b s | stage | statement"]
    for d, k in rows[:top]:
        lines.append(f"{d:+.2f} | {ma.get(k, 0.0):.2f} | {mb.get(k, 0.0):.2f} | {k[0]} | {k[1]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("home", nargs="?", type=Path)
    ap.add_argument("--days", default="1-3", help="first-last day (default 1-3)")
    ap.add_argument("--init", type=int, default=0, help="generate a city of this many rows and pass it first")
    ap.add_argument("--daily", type=int, default=100_000)
    ap.add_argument("--out", type=Path, default=None, help="JSON lines (default HOME/../daily_statements.jsonl)")
    ap.add_argument("--profile", action="append", default=[], help="profile statements containing this text")
    ap.add_argument("--compare", nargs=2, type=Path)
    args = ap.parse_args(argv)
    if args.compare:
        print(compare(*args.compare))
        return 0
    if not args.home:
        ap.error("HOME is required (or --compare A B)")
    home = args.home.resolve()
    out = (args.out or home.parent / "daily_statements.jsonl").resolve()
    if args.init:
        from pipelines.demo.generate import generate
        from pipelines.home import Home
        from pipelines.run import run_pass

        generate(home, args.init, AS_OF, seed=7)
        t0 = time.perf_counter()
        run_pass(Home.resolve(home), AS_OF)
        print(f"full pass of {args.init:,} rows: {time.perf_counter() - t0:.1f} s", flush=True)
    first, _, last = args.days.partition("-")
    run_days(home, int(first), int(last or first), args.daily, out, args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
