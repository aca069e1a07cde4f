"""benchmarks.encode_floor: a pass's Parquet files re-encoded by group, every file counted once, nothing left behind."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from benchmarks.encode_floor import main
from tests.conftest import AS_OF, fill_inbox


def test_every_file_of_a_pass_is_re_encoded_once_in_its_group(home, tmp_path, capsys, monkeypatch):
    from pipelines.run import run_pass

    fill_inbox(home)
    summary = run_pass(home, AS_OF, now=datetime(2026, 11, 25, 8, tzinfo=UTC))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "scratch"))
    (tmp_path / "scratch").mkdir()

    figures_path = tmp_path / "floor.json"
    assert main([str(home.root), "--repeats", "1", "--json", str(figures_path)]) == 0
    figures = json.loads(figures_path.read_text(encoding="utf-8"))
    assert figures["version"] == summary.internal.version
    groups = figures["groups"]

    # The internal version's files, each in one group, with the rows its manifest gives.
    manifest = json.loads((summary.internal.path / "manifest.json").read_text(encoding="utf-8"))
    by_group: dict[str, int] = {}
    for entry in manifest["files"]:
        top = entry["name"].split("/")[0]
        group = {"history": "history", "public_segments": "public rows", "state": "rule state"}.get(top)
        if group is None:
            group = "contract files" if entry["name"] in {
                "quarantine.parquet", "discipline_targets.parquet", "subject_grades.parquet", "debt_ledger.parquet",
                "gov_dishonesty.parquet"} else "other"
        by_group[group] = by_group.get(group, 0) + entry["rows"]
    assert {g: groups[g]["rows"] for g in by_group} == by_group
    assert groups["contract files"]["files"] == 5
    assert groups["history"]["rows"] == sum(summary.internal.rows[n] for n in summary.internal.rows
                                            if n.startswith("history/"))

    assert groups["history, native"]["rows"] == groups["history"]["rows"]

    # The landing: every landed row once.
    landed = duckdb.sql(f"select count(*) from read_parquet('{home.landing}/**/*.parquet')").fetchall()[0][0]
    assert groups["landing"]["rows"] == landed > 0
    assert all(g["seconds"] >= 0 for g in groups.values())
    assert "| **all** |" in capsys.readouterr().out
    assert list((tmp_path / "scratch").iterdir()) == []   # the re-encoded copies are gone
    assert Path(summary.internal.path).is_dir()           # and the version itself untouched
