"""benchmarks.daily_statements: every statement of daily passes timed, by stage, and compared between two cities."""

from __future__ import annotations

import json

from benchmarks.daily_statements import compare, main


def test_daily_passes_have_every_statement_timed_by_stage(tmp_path):
    out = tmp_path / "days.jsonl"
    assert main([str(tmp_path / "home"), "--init", "3000", "--days", "1-2", "--daily", "300", "--out", str(out),
                 "--profile", "insert into subject_grades"]) == 0
    days = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [d["day"] for d in days] == [1, 2]
    for d in days:
        assert {"validate", "merge", "rules", "publish"} <= set(d["sql_s"])
        stages = {st for st, _, _ in d["statements"]}
        assert stages <= {"collect", "validate", "merge", "rules", "publish"}
        merged = [key for st, key, _ in d["statements"] if st == "merge" and key.startswith("insert into")]
        assert any("_history by name" in key for key in merged)   # the new versions went into history
        assert abs(sum(s for _, _, s in d["statements"]) - sum(d["sql_s"].values())) < 0.01
        assert d["wall_s"] >= sum(d["sql_s"].values())
    profile = json.loads((tmp_path / "days.profile-1.json").read_text(encoding="utf-8"))
    assert profile["operator"]   # DuckDB's own profile of the statement asked for
    assert (tmp_path / "days.profile-1.sql").read_text(encoding="utf-8").startswith("insert into subject_grades")

    report = compare(out, out).splitlines()
    assert report[0].startswith("SQL a pass:") and all(line.startswith("+0.00 |") for line in report[2:])
