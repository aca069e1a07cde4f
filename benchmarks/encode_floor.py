"""What a pass's Parquet writes cost by themselves: the floor under any design that writes the same files.

    python -m benchmarks.encode_floor HOME [--version V] [--repeats 2] [--json FILE]

Every Parquet file of the home's landing and of one internal export version (default: the latest; after a full pass
and nothing else, that pass's) is read back and written again as zstd Parquet, with DuckDB's default threads, into
a scratch folder removed afterwards. Nothing is computed in between: the seconds are the encoding (and the cheap
decoding) of those rows alone. Grouped by why the files exist:

- landing: the submitted rows as landed (trimmed, with their lineage; the CSV parse is the anchor's, not here)
- history: every version of every record (the publication contract: "all records with their full history")
- public rows: the public files' rows, written once as segments and glued into the public files
- contract files: the five internal files the publication contract names
- rule state: each record's decisions, which the next daily pass builds on
- other: the rest of the internal version (subject tables, batches, ...)
- history, native: the history files again, each record type's inserted into a native table of a scratch DuckDB
  database file and checkpointed (the warehouse's own copy of every version)

Public files themselves are not re-encoded: a pass glues them from the segments without decoding (pq_glue).
The best of --repeats runs is reported per group.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from pipelines.home import Home
from pipelines.publish.exports import HISTORY_DIR, read_latest
from pipelines.publish.segments import SEGMENTS_DIR
from pipelines.publish.state import STATE_DIR
from pipelines.validate.sql import lit

# publication-contract.md, "Internal exports": the files an internal version always has.
CONTRACT_FILES = ("quarantine", "discipline_targets", "subject_grades", "debt_ledger", "gov_dishonesty")
GROUPS = ("landing", "history", "public rows", "contract files", "rule state", "other")
NATIVE = "history, native"


def group_files(home: Home, version_dir: Path) -> dict[str, list[Path]]:
    """The Parquet files of the landing and of version_dir, by group (GROUPS)."""
    groups: dict[str, list[Path]] = {g: [] for g in GROUPS}
    groups["landing"] = sorted(home.landing.rglob("*.parquet"))
    for f in sorted(version_dir.rglob("*.parquet")):
        top = f.relative_to(version_dir).parts[0]
        group = {HISTORY_DIR: "history", SEGMENTS_DIR: "public rows", STATE_DIR: "rule state"}.get(top)
        if group is None:
            group = "contract files" if f.stem in CONTRACT_FILES and f.parent == version_dir else "other"
        groups[group].append(f)
    return groups


def measure(groups: dict[str, list[Path]], repeats: int = 2) -> dict[str, dict]:
    """Per group: files, rows, and the best wall seconds of re-encoding them all."""
    con = duckdb.connect()
    con.execute("set preserve_insertion_order = false")
    scratch = Path(tempfile.mkdtemp(prefix="encode-floor-"))
    out: dict[str, dict] = {}

    def copy_all(files: list[Path]) -> float:
        t0 = time.perf_counter()
        for i, f in enumerate(files):
            con.execute(f"copy (select * from read_parquet({lit(str(f))})) to "
                        f"{lit(str(scratch / f'{i}.parquet'))} (format parquet, compression zstd)")
        return time.perf_counter() - t0

    try:
        for name, files in groups.items():
            rows = sum(pq.read_metadata(f).num_rows for f in files)
            out[name] = {"files": len(files), "rows": rows,
                         "seconds": _best(repeats, scratch, lambda files=files: copy_all(files))}
        if "history" in groups:
            out[NATIVE] = dict(out["history"],
                               seconds=_best(repeats, scratch, lambda: _native(groups["history"], scratch)))
    finally:
        con.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return out


def _best(repeats: int, scratch: Path, once: Callable[[], float]) -> float:
    """The fewest seconds once() reports over repeats runs, scratch emptied after each."""
    best = None
    for _ in range(repeats):
        s = once()
        best = s if best is None else min(best, s)
        for p in scratch.iterdir():
            p.unlink()
    return round(best or 0.0, 2)


def _native(files: list[Path], scratch: Path) -> float:
    """Seconds of inserting the history files into native tables (one per record type, from its folder of parts)
    of a scratch database file and checkpointing."""
    con = duckdb.connect(str(scratch / "native.duckdb"))
    con.execute("set preserve_insertion_order = false")
    t0 = time.perf_counter()
    for i, folder in enumerate(sorted({f.parent for f in files})):
        con.execute(f"create table h{i} as select * from read_parquet({lit(str(folder / '*.parquet'))})")
    con.execute("checkpoint")
    s = time.perf_counter() - t0
    con.close()
    return s


def report(figures: dict[str, dict]) -> str:
    lines = ["| group | files | rows | re-encode s |", "|---|---:|---:|---:|"]
    for name, f in figures.items():
        lines.append(f"| {name} | {f['files']} | {f['rows']:,} | {f['seconds']:.1f} |")
    lines.append(f"| **all** | {sum(f['files'] for f in figures.values())} | "
                 f"{sum(f['rows'] for f in figures.values()):,} | **{sum(f['seconds'] for f in figures.values()):.1f}** |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("home", type=Path)
    ap.add_argument("--version", default=None, help="internal export version (default: the latest)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args(argv)
    home = Home.resolve(args.home)
    if args.version is None:
        latest = read_latest(home, "internal")
        if latest is None:
            ap.error(f"{home.root} has no internal export version: run a pass first")
        args.version = latest["version"]
    version_dir = home.exports / "internal" / "versions" / args.version
    if not version_dir.is_dir():
        ap.error(f"no internal export version {args.version} in {home.root}")
    figures = measure(group_files(home, version_dir), args.repeats)
    print(f"Internal version {args.version} of {home.root}; best of {args.repeats}:")
    print(report(figures))
    if args.json:
        args.json.write_text(json.dumps({"version": args.version, "groups": figures}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
