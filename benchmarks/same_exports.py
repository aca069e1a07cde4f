"""Whether two homes published the same thing: the scoped daily pass against its twin with every rule run in full.

The test suite holds scoped and full evaluation to identical exports on a fixture city
(tests/rules/test_scoped_rules.py); the benchmark checks the same on the city it times, at its size, with
`compare(scoped_home, full_home)`. The two passes ran one after the other on copies of one warehouse, so the
times each stamped on what it merged (learned_at, _landed_at, first_seen_at: TIMESTAMP WITH TIME ZONE columns)
differ by design and are left out; every other column of every row must match, as multisets:

- public: every file of the latest version (the record files and changes.parquet);
- internal: every file of the latest version outside history/ and public_segments/ (the record history is the
  warehouse's, not the rules'; the segments are the public files, compared above), and every rule state table
  read as its rows (base less the delta's keys, plus the delta), however each pass stored it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

SKIPPED_DIRS = ("history", "public_segments", "state")


def latest_version(root: Path, audience: str) -> Path:
    """The folder of the latest published version of a home (its root) for audience."""
    from pipelines.home import Home
    from pipelines.publish.exports import read_latest

    home = Home(root)
    latest = read_latest(home, audience)
    if latest is None:
        raise FileNotFoundError(f"{root} has published no {audience} version")
    return home.exports / audience / latest["path"]


def _relations(version_dir: Path, audience: str) -> dict[str, str]:
    """name → query of every compared table of a version."""
    from pipelines.publish.state import state_relation, state_tables
    from pipelines.validate.sql import lit

    out = {p.relative_to(version_dir).as_posix(): f"select * from read_parquet({lit(str(p))})"
           for p in sorted(version_dir.rglob("*.parquet"))
           if not set(p.relative_to(version_dir).parts[:-1]) & set(SKIPPED_DIRS)}
    if audience == "internal":
        for table in state_tables():
            try:
                out[f"state/{table}"] = state_relation(version_dir, table)
            except FileNotFoundError:   # a version written without this state: compared as missing
                pass
    return out


def compare(a: Path, b: Path, memory_limit: str = "2GB") -> list[dict]:
    """One entry per compared table: its rows in a and b, and the rows of each not in the other (multisets,
    timestamptz columns left out); a table only one side has counts all its rows as differing."""
    con = duckdb.connect(config={"memory_limit": memory_limit})
    con.execute("set enable_progress_bar = false")
    out = []
    try:
        for audience in ("public", "internal"):
            ra, rb = (_relations(latest_version(x, audience), audience) for x in (a, b))
            for name in sorted(ra.keys() | rb.keys()):
                entry: dict = {"audience": audience, "name": name}
                rows = {side: con.sql(f"select count(*) from ({rel[name]})").fetchall()[0][0] if name in rel else None
                        for side, rel in (("a", ra), ("b", rb))}
                entry |= {"rows_a": rows["a"], "rows_b": rows["b"]}
                if None in rows.values():
                    entry |= {"only_a": rows["a"] or 0, "only_b": rows["b"] or 0, "left_out": []}
                    out.append(entry)
                    continue
                cols = con.sql(f"describe {ra[name]}").fetchall()
                kept = [c[0] for c in cols if c[1] != "TIMESTAMP WITH TIME ZONE"]
                sel = ", ".join('"' + c.replace('"', '""') + '"' for c in kept)
                for side, x, y in (("only_a", ra[name], rb[name]), ("only_b", rb[name], ra[name])):
                    entry[side] = con.sql(f"select count(*) from (select {sel} from ({x}) except all "
                                          f"select {sel} from ({y}))").fetchall()[0][0]
                entry["left_out"] = [c[0] for c in cols if c[0] not in kept]
                out.append(entry)
    finally:
        con.close()
    return out


def summary(entries: list[dict]) -> str:
    """One line: how many tables and rows were compared, and which tables differ."""
    differ = [e for e in entries if e["only_a"] or e["only_b"]]
    rows = sum(e["rows_a"] or 0 for e in entries)
    left_out = sorted({c for e in entries for c in e["left_out"]})
    head = (f"{len(entries)} tables, {rows:,} rows compared (left out: the passes' own timestamps "
            f"{', '.join(left_out) or '—'})")
    if not differ:
        return head + ": **identical**."
    return head + ": **differ** in " + "; ".join(
        f"{e['audience']}/{e['name']} ({e['only_a']:,} rows only in the scoped pass, {e['only_b']:,} only in the "
        f"full one)" for e in differ) + "."
