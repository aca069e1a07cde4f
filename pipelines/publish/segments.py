"""Public files glued from segments, so that a daily version rewrites the segments its changes touch, not the file.

The publication contract names one file per kind (penalties.parquet, ...), and a version's file must hold every
row disclosable on its as_of. Written whole, a daily version re-encodes every row of every file (at 10M records,
1.8M penalties and 2.3M licences: ~7 s of a daily pass) although a day changes a few thousand of them.

So each public file is kept, in the internal export, as segments of about one row group each:

    public_segments/<file stem>/seg-<version>-<n>.parquet

and the public file is those segments glued together by copying their encoded row groups (pq_glue: no row is
decoded or encoded again; 77 MB of penalties in ~0.1 s). A scoped version (the rules re-decided some records and
changes.parquet says which public rows were added, updated or deleted) hard-links every previous segment that holds
none of the updated or deleted rows, and writes new segments for the rest: the rows kept from the segments it
drops, and the added and updated rows from the marts. Segments smaller than SMALL_SEGMENT_ROWS are always rewritten
with them, so days of small additions are folded together instead of piling up as tiny row groups. Any other
version (the first, or one whose rules ran in full) writes every row as new segments.

The segments carry the public file's rows and columns (masked, like the file); they are not published.

Order: a file whose rows leave it on a date the rules compute (PublicFile.leaves: a penalty's disclosure_until, a
licence's or list entry's valid_to) is written to its segments in that date's order, so each segment holds a range
of leave dates and a day's expiries fall in the one or two segments that hold that date. Written in the marts'
order, the fourth daily version of a 10M city rewrote 7 of 16 penalty segments and 5 of 20 licence segments (2.15 s
and 0.70 s of SQL on a slow hour); in leave-date order 2 and 2 (0.73 s and 0.34 s). The rows a version rewrites (the kept rows of the segments it drops, the added
and updated rows) are sorted again, so additions, corrections and repairs, which fall anywhere, do not undo the
order. The sort is paid where every row is written (a full evaluation): measured on this VM, penalties of a 10M city
(1.8M rows) 2.8 s unsorted against 5.3 s sorted (BENCHMARKS.md, thirteenth session). A sort holds the rows it sorts,
so a file of more than SORT_ROWS_PER_GIB rows per GiB of the memory limit is sorted in pieces, each a range of leave
dates cut at approximate quantiles and read with its own scan. Beside a 60M city's rule tables even pieces of ~1M
rows ran DuckDB out of its 1GB limit: a sort that runs out of memory is given up, and that file and every later one
of the pass are written in no order (their daily versions then rewrite most of their segments, as before the order).

Memory: pq_glue 0.3.0 builds the glued file in memory before writing it (measured: 270 MB of anonymous memory to
glue a 270 MB file), so while a file is glued the process holds its size on top of DuckDB's buffers. The files are
glued one at a time: the publish peak grows with the largest public file, not with all of them. At 60M records
(licences ~13.5M rows, ~0.5 GB) the pass peaked at 1,980 MB in the publish and 1,634 MB in the rules
(benchmarks/results/20261203T163741), against 1,620 MB in the publish before segments: consistent with that file
held in memory while glued.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pq_glue
import pyarrow.parquet as pq

from pipelines.publish.contract import PublicFile
from pipelines.publish.state import link
from pipelines.rules.evaluate import memory_limit_gib
from pipelines.rules.scope import Previous
from pipelines.validate.sql import PUBLIC_PARQUET, lit, q, run

log = logging.getLogger(__name__)

SEGMENTS_DIR = "public_segments"
# Rows per segment: one DuckDB row group. Smaller segments (the rows a day adds, the rest of a rewritten segment)
# are rewritten with the next version's new rows.
SEGMENT_ROWS = 122_880
SMALL_SEGMENT_ROWS = SEGMENT_ROWS // 2
# The most rows one sort holds per GiB of the memory limit: a file with more is sorted in pieces (_pieces); at the
# 1GB default a 10M city's files (2.3M licences at most) sort in one piece. A 60M city's pass ran out of memory
# sorting beside its rule tables whatever the piece: 13.5M licences in one (benchmarks/results/20261203T220417), a
# file of under 2.8M rows (20261203T223246), pieces of ~0.93M rows (20261204T045632); so a sort that runs out of
# memory leaves the file, and the rest of the pass, in no order (SORTS_RAN_OUT). 0: never sorted.
SORT_ROWS_PER_GIB = 3_000_000
# A connection variable set once a sort of segments ran out of memory: the pass's later files are not sorted.
SORTS_RAN_OUT = "segment_sorts_ran_out"


def segment_dir(version_dir: Path, pf: PublicFile) -> Path:
    return version_dir / SEGMENTS_DIR / pf.name.removesuffix(".parquet")


def segment_entries(manifest_files: list[dict], pf: PublicFile) -> list[dict]:
    """The manifest entries of pf's segments in an internal version, in the order they are glued."""
    prefix = f"{SEGMENTS_DIR}/{pf.name.removesuffix('.parquet')}/"
    return [e for e in manifest_files if e["name"].startswith(prefix)]


def _files(paths: list[Path]) -> str:
    return "[" + ", ".join(lit(str(p)) for p in paths) + "]"


def _columns(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[str, str]]:
    return [(c[0], c[1]) for c in con.sql(f"describe {sql}").fetchall()]


def _reusable(con: duckdb.DuckDBPyConnection, rows_sql: str, prev_dir: Path, entries: list[dict]) -> bool:
    """Whether the previous segments can be glued with segments written now: in place, and with the columns
    (names and types) the rows have now."""
    columns = _columns(con, rows_sql)
    return bool(entries) and all(
        (prev_dir / e["name"]).is_file() and (prev_dir / e["name"]).stat().st_size == e["bytes"]
        and [(c["name"], c["type"]) for c in e["columns"]] == columns for e in entries)


def _pieces(con: duckdb.DuckDBPyConnection, sql: str, order: str) -> list[tuple[str, bool]]:
    """sql's rows in pieces of at most about SORT_ROWS_PER_GIB rows per GiB of the memory limit each, as (condition
    on the column order, whether to sort by it): each piece holds a range of the column after the one before, and
    the rows where it is null come last, in no order. A sort then holds one piece at a time, whatever the file's
    size. The ranges are cut at approximate quantiles (a streaming sketch of the column), so a piece holds about its
    share; a value shared by more rows than a piece (one expiry date of many licences) stays in one piece. With
    SORT_ROWS_PER_GIB 0, one piece in no order."""
    budget = int(SORT_ROWS_PER_GIB * memory_limit_gib(con))
    if budget <= 0:
        return [("true", False)]
    rows = con.sql(f"select count(*) from ({sql})").fetchall()[0][0]
    col = q(order)
    if rows <= budget:
        return [("true", True)]
    k = -(-rows // budget)
    cuts = ", ".join(str(i / k) for i in range(1, k))
    typ = dict(_columns(con, f"({sql})"))[order]
    found = con.sql(f"select approx_quantile({col}, [{cuts}]) from ({sql})").fetchall()[0][0] or []
    bounds = [f"cast({lit(str(b))} as {typ})" for b in sorted({b for b in found if b is not None})]
    if not bounds:
        return [("true", False)]   # every row's column is null
    return ([(f"{col} < {bounds[0]}", True)]
            + [(f"{col} >= {lo} and {col} < {hi}", True) for lo, hi in zip(bounds, bounds[1:], strict=False)]
            + [(f"{col} >= {bounds[-1]}", True), (f"{col} is null", False)])


def _sorts_ran_out(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.sql(f"select getvariable({lit(SORTS_RAN_OUT)})").fetchall()[0][0])


def _copy_pieces(con: duckdb.DuckDBPyConnection, sql: str, nulls: str, pieces: list[tuple[str, bool]], order: str,
                 scratch: Path) -> None:
    for j, (where, ordered) in enumerate(pieces):
        piece = f"select * from ({sql}) where {where} union all select {nulls} where random() < 0"
        if ordered:
            piece = f"select * from ({piece}) order by {q(order)} nulls last"
        run(con, f"copy ({piece}) to {lit(str(scratch))} ({PUBLIC_PARQUET}, row_group_size {SEGMENT_ROWS}, "
                 f"row_groups_per_file 1, filename_pattern 'seg_{j:05d}_{{i}}', overwrite_or_ignore true)")


def _write_segments(con: duckdb.DuckDBPyConnection, sql: str, dest: Path, version: str,
                    order: str | None = None) -> list[Path]:
    """sql's rows as segments of at most SEGMENT_ROWS rows in dest (none when it has no rows), in the order of the
    column order if given (sorted in pieces: _pieces)."""
    scratch = dest / f".new-{version}"
    shutil.rmtree(scratch, ignore_errors=True)
    # Every column OPTIONAL, so that every segment has one Parquet schema (pq_glue glues only such files): DuckDB
    # writes a column REQUIRED when the plan's statistics say it has no null (a table scan, a filter of one), and
    # OPTIONAL otherwise (a union with read_parquet of several files). A row of nulls the plan cannot rule out
    # (and that never comes: random() is never below 0) makes every column one that can be null.
    nulls = ", ".join("null" for _ in _columns(con, f"({sql})"))
    unordered = [("true", False)]
    pieces = _pieces(con, sql, order) if order and not _sorts_ran_out(con) else unordered
    try:
        _copy_pieces(con, sql, nulls, pieces, str(order), scratch)
    except duckdb.OutOfMemoryException as e:
        if pieces == unordered:
            raise
        # The sort ran out beside the rule tables (a 60M city at 1GB, even in pieces of ~1M rows): write this file
        # and every later one of the pass in no order, as the segments were before they had one.
        # One line: DuckDB's advice after its message (threads, memory_limit) is not the operator's to act on here.
        log.warning("sorting %s's segments by %s ran out of memory (%s); written in no order", dest.name, order,
                    str(e).splitlines()[0])
        run(con, f"set variable {SORTS_RAN_OUT} = true")
        shutil.rmtree(scratch, ignore_errors=True)
        _copy_pieces(con, sql, nulls, unordered, str(order), scratch)
    written = sorted(scratch.glob("seg_*.parquet"), key=lambda p: tuple(int(n) for n in p.stem.split("_")[1:]))
    out: list[Path] = []
    for p in written:
        if pq.read_metadata(p).num_rows:
            out.append(p.rename(dest / f"seg-{version}-{len(out):05d}.parquet"))
    shutil.rmtree(scratch)
    return out


def write_public_file(con: duckdb.DuckDBPyConnection, pf: PublicFile, rows_sql: str, path: Path,
                      internal_staging: Path, version: str, entry: Callable[[Path, str], dict],
                      previous: Previous | None = None, changes: str | None = None) -> list[dict]:
    """Write the public file pf at path, glued from its segments; the segments' internal manifest entries.

    rows_sql: the rows the rules decided in this pass (pf's rows in its mart). previous: the versions the rules
    built on, and changes: a table of this version's changes (op, file, record_id) from them, when the rules were
    scoped: the segments without an
    updated or deleted row are linked from it, the rows of every other segment not updated or deleted are written
    again with the added and updated rows of rows_sql (with no segments to build on: rows_sql and the previous
    file's rows of every other record). Otherwise every row of rows_sql is written. entry(path, name) gives a
    written segment's manifest entry."""
    dest = segment_dir(internal_staging, pf)
    dest.mkdir(parents=True, exist_ok=True)
    name_of = lambda p: p.relative_to(internal_staging).as_posix()  # noqa: E731
    kept: list[tuple[Path, dict]] = []
    new_sql = rows_sql
    if previous and changes is not None:
        prev_dir = previous.internal_dir
        entries = segment_entries(previous.internal_files, pf)
        if not _reusable(con, rows_sql, prev_dir, entries):   # the previous file's rows the rules did not re-decide
            new_sql = (f"{rows_sql} union all select p.* from read_parquet({lit(str(previous.public_dir / pf.name))}) as p "
                       f"anti join ({rows_sql}) as m on m.record_id = p.record_id")
        else:
            paths = [prev_dir / e["name"] for e in entries]
            gone = f"select record_id from {changes} where file = {lit(pf.name)} and op <> 'add'"
            hit = {r[0] for r in con.sql(
                f"select distinct filename from read_parquet({_files(paths)}, filename = true) "
                f"where record_id in ({gone})").fetchall()}
            hit |= {str(p) for p, e in zip(paths, entries, strict=True) if e["rows"] < SMALL_SEGMENT_ROWS}
            kept = [(p, e) for p, e in zip(paths, entries, strict=True) if str(p) not in hit]
            cols = ", ".join(q(c) for c in pf.all_columns)
            new_sql = (f"select {cols} from ({rows_sql}) where record_id in "
                       f"(select record_id from {changes} where file = {lit(pf.name)} and op <> 'delete')")
            if rewritten := [p for p in paths if str(p) in hit]:
                new_sql += (f" union all select {cols} from read_parquet({_files(rewritten)}) as s "
                            f"anti join ({gone}) as g on g.record_id = s.record_id")
    segments: list[Path] = []
    out: list[dict] = []
    for p, e in kept:
        link(p, dest / p.name)
        segments.append(dest / p.name)
        out.append(dict(e))
    for p in _write_segments(con, new_sql, dest, version, pf.leaves):
        segments.append(p)
        out.append(entry(p, name_of(p)))
    path.unlink(missing_ok=True)
    if segments:
        pq_glue.concat([str(p) for p in segments], str(path))
    else:   # no row at all: the file still has its columns
        run(con, f"copy ({rows_sql}) to {lit(str(path))} ({PUBLIC_PARQUET})")
    return out
