"""The `credit` command: run a pass, generate a demo city, query the latest analyst database."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipelines.catalog import load_catalog
from pipelines.home import Home

console = Console()


def _as_of(text: str | None) -> date:
    return date.fromisoformat(text) if text else datetime.now(UTC).date()


def _run(home: Home, as_of: date):
    from pipelines.run import run_pass

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        summary = run_pass(home, as_of, progress)
    print_summary(home, summary)
    return summary


def print_summary(home: Home, summary) -> None:
    catalog = load_catalog()
    console.print(f"[bold]as-of[/] {summary.as_of}   files read {summary.files_read}   "
                  f"duplicate files skipped {summary.duplicates}   files rejected {len(summary.rejected_files)}")
    table = Table(title="rows accepted / quarantined this pass")
    for col in ("department", "record type", "files", "rows", "accepted", "quarantined", "warnings"):
        table.add_column(col, justify="right" if col not in ("department", "record type") else "left")
    agg: dict[tuple[str, str], list[int]] = {}
    for v in summary.validations:
        b = summary.batches[v.batch_id]
        a = agg.setdefault((b.department, v.record_type), [0, 0, 0, 0, 0])
        for i, n in enumerate((1, v.rows, v.accepted, v.quarantined, v.warned)):
            a[i] += n
    for (dept, rt), a in sorted(agg.items()):
        name = catalog.departments[dept].name if dept in catalog.departments else dept
        table.add_row(f"{dept} {name}", f"{rt} {catalog.record_types[rt].zh}", *map(str, a))
    console.print(table)
    for b in summary.rejected_files:
        console.print(f"[red]rejected file[/] {b.department}/{b.file_name}: {b.reason}")
    if summary.rules:
        console.print(f"rules evaluated {'on the changed subjects only' if summary.rules.scoped else 'in full'}: "
                      f"{summary.rules.reason}")
    if summary.public:
        console.print(f"[bold green]published[/] version {summary.public.version}")
        console.print(f"  public exports:   {summary.public.path}")
        console.print(f"  internal exports: {summary.internal.path}")
        console.print(f"  analyst database: {summary.internal.path / 'analyst.duckdb'}  (credit query \"...\")")
        console.print(f"  feedback files:   {home.feedback}")


def cmd_run(args) -> int:
    _run(Home.resolve(args.home), _as_of(args.as_of))
    return 0


def cmd_demo(args) -> int:
    from pipelines.demo.generate import generate

    home = Home.resolve(args.home)
    as_of = _as_of(args.as_of)
    with console.status(f"generating a demo city of {args.rows:,} rows in {home.inbox} ..."):
        gen = generate(home.root, args.rows, as_of, seed=args.seed)
    console.print(f"generated {sum(gen.rows_per_record_type.values()):,} rows in {len(gen.files)} files "
                  f"({gen.broken_rows} deliberately broken)")
    _run(home, as_of)
    return 0


def cmd_query(args) -> int:
    import duckdb

    home = Home.resolve(args.home)
    from pipelines.publish.exports import read_latest

    latest = read_latest(home, "internal")
    if not latest:
        console.print("[red]nothing published yet: run `credit run` first[/]")
        return 2
    db = home.exports / "internal" / latest["path"] / "analyst.duckdb"
    con = duckdb.connect(str(db), read_only=True)
    try:
        rel = con.sql(args.sql)
        if rel is None:
            return 0
        table = Table(title=f"{db}")
        for c in rel.columns:
            table.add_column(c)
        for row in rel.limit(args.limit).fetchall():
            table.add_row(*("" if v is None else str(v) for v in row))
        console.print(table)
    finally:
        con.close()
    return 0


def _rules_for(args):
    """Rule tables for args.as_of / args.known_at: the published version's own when it was evaluated for that
    date with current knowledge (instant), else re-evaluated in memory from the exported history."""
    import duckdb

    from pipelines.rules.pointintime import latest_internal, rules_connection

    home = Home.resolve(args.home)
    version = latest_internal(home)
    as_of = _as_of(args.as_of)
    known_at = datetime.fromisoformat(args.known_at).replace(tzinfo=UTC) if getattr(args, "known_at", None) else None
    manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    if known_at is None and manifest["as_of"] == as_of.isoformat() and (version / "analyst.duckdb").exists():
        return duckdb.connect(str(version / "analyst.duckdb"), read_only=True)
    return rules_connection(version, as_of, known_at)


def _table(title: str, rows: list[dict]) -> None:
    if not rows:
        console.print(f"[dim]{title}: none[/]")
        return
    table = Table(title=title, title_justify="left")
    for c in rows[0]:
        table.add_column(c)
    for r in rows:
        table.add_row(*("" if v is None else str(v) for v in r.values()))
    console.print(table)


def _subject_key(con, identifier: str) -> str | None:
    from pipelines.rules.queries import resolve_subject

    key = resolve_subject(con, identifier)
    if key is None:
        console.print(f"[red]no subject on file for {identifier}[/]")
    return key


def cmd_subject(args) -> int:
    from pipelines.rules.queries import subject_file

    con = _rules_for(args)
    key = _subject_key(con, args.identifier)
    if key is None:
        return 1
    file = subject_file(con, key)
    s = file["subject"][0]
    console.print(f"[bold]{s['subject_name']}[/]  {s['subject_category']}  key {key}  as-of {_as_of(args.as_of)}"
                  + (f"  known-at {args.known_at}" if args.known_at else ""))
    console.print("names seen: " + "、".join(n["subject_name"] for n in file["names"]))
    if file["grade"]:
        g = file["grade"][0]
        console.print(f"grade [bold]{g['grade']}[/] (inspection ratio {g['inspection_ratio_min']}–"
                      f"{g['inspection_ratio_max']}): " + "；".join(g["reasons"] or ["无负面或激励记录"]))
    for section, title in (("dishonesty", "penalties and other dishonesty (regime, class, window, state)"),
                           ("lists", "list memberships"), ("measures", "measures that apply"),
                           ("gov_dishonesty", "government dishonesty (overdue arrears owed by this body)"),
                           ("licenses", "licences"), ("commitments", "commitments")):
        _table(title, file[section])
    return 0


def cmd_check(args) -> int:
    from pipelines.rules.queries import measures_for

    con = _rules_for(args)
    key = _subject_key(con, args.identifier)
    if key is None:
        return 1
    rows = measures_for(con, key, args.department)
    _table(f"measures applying to {key} on {_as_of(args.as_of)}", rows)
    if not rows:
        console.print("no joint-discipline or incentive measure applies")
    return 0


def cmd_inspect_sample(args) -> int:
    from pipelines.rules.queries import inspection_sample

    con = _rules_for(args)
    rows = inspection_sample(con, args.department, args.size, args.seed)
    _table(f"双随机 draw for {args.department}: {len(rows)} subjects, seed {args.seed}", rows)
    return 0


def cmd_replay(args) -> int:
    """Write the public files exactly as the rules give them for --as-of with what was known at --known-at."""
    from pipelines.publish.contract import PUBLIC_FILES
    from pipelines.validate.sql import lit, q, run

    con = _rules_for(args)
    out = Path(args.out).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for pf in PUBLIC_FILES:
        cols = ", ".join(q(c) for c in pf.all_columns)
        run(con, f"copy (select {cols} from {pf.mart} where {pf.where} and hidden_reason is null order by record_id) "
                 f"to {lit(str(out / pf.name))} (format parquet)")
        rows.append({"file": pf.name, "rows": con.sql(f"select count(*) from {lit(str(out / pf.name))}").fetchall()[0][0]})
    _table(f"public view on {_as_of(args.as_of)}" + (f" as known at {args.known_at}" if args.known_at else "")
           + f" → {out}", rows)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="credit", description="Credit-information aggregation pipeline")
    parser.add_argument("--home", help="pipeline home directory (default: $CREDIT_HOME or ./credit-home)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="one whole pass: ingest, validate, merge, rules, publish")
    p.add_argument("--home", default=argparse.SUPPRESS)
    p.add_argument("--as-of", help="evaluation date YYYY-MM-DD (default: today)")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("demo", help="generate a realistic city's submissions, then run a pass")
    p.add_argument("--home", default=argparse.SUPPRESS)
    p.add_argument("--rows", type=int, default=50_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--as-of")
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("query", help="run SQL against the latest internal analyst database (read-only)")
    p.add_argument("--home", default=argparse.SUPPRESS)
    p.add_argument("sql")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_query)
    for name, func, help_ in (("subject", cmd_subject, "a subject's full credit file and why each record shows"),
                              ("check", cmd_check, "which measures apply to a subject today, and on what basis")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--home", default=argparse.SUPPRESS)
        p.add_argument("identifier", help="USCC, identity number, organisation code or registration number")
        p.add_argument("--as-of", help="evaluation date (default: today)")
        p.add_argument("--known-at", help="evaluate with what the warehouse knew at this time (ISO)")
        p.set_defaults(func=func)
    sub.choices["check"].add_argument("--department", help="only measures this department implements")
    p = sub.add_parser("replay", help="the public files as the rules give them for a past date and state of knowledge")
    p.add_argument("--home", default=argparse.SUPPRESS)
    p.add_argument("--as-of", required=True)
    p.add_argument("--known-at", help="what the warehouse knew at this time (ISO; default: now)")
    p.add_argument("--out", required=True, help="folder for the Parquet files")
    p.set_defaults(func=cmd_replay)
    p = sub.add_parser("inspect-sample", help="a reproducible 双随机 draw weighted by grade")
    p.add_argument("--home", default=argparse.SUPPRESS)
    p.add_argument("--department", required=True)
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--as-of")
    p.set_defaults(func=cmd_inspect_sample)
    from pipelines.reports.debts import add_commands as add_debt_report_commands

    add_debt_report_commands(sub)
    args = parser.parse_args(argv)
    from pipelines.rules.pointintime import NothingPublished

    try:
        return args.func(args)
    except NothingPublished as exc:
        console.print(f"[red]{exc}[/]")
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the pass could not complete: say so plainly, keep the trace for operators
        console.print_exception(max_frames=5)
        console.print(f"[bold red]credit {args.command} failed:[/] {exc}")
        if args.command in ("run", "demo"):
            console.print("nothing was half-published: exports/*/latest.json still points at the previous version")
        return 1


if __name__ == "__main__":
    sys.exit(main())

