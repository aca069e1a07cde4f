"""The office's questions: a subject's file, measures that apply, a reproducible inspection draw, point in time."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from pipelines.cli import main
from pipelines.home import Home
from pipelines.rules.pointintime import latest_internal, rules_connection
from pipelines.rules.queries import inspection_sample, measures_for, resolve_subject, subject_file
from pipelines.run import run_pass
from tests.conftest import AS_OF, fill_inbox


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Home:
    home = Home.resolve(tmp_path_factory.mktemp("rules") / "home")
    fill_inbox(home)
    run_pass(home, AS_OF, now=datetime(2026, 11, 25, 8, tzinfo=UTC))
    return home


def test_subject_is_found_by_uscc_org_code_and_identity_number(home):
    con = rules_connection(latest_internal(home), AS_OF)
    assert resolve_subject(con, "91211104ma0t22229x ") == "91211104MA0T22229X"
    assert resolve_subject(con, "MA0T22229") == "91211104MA0T22229X"          # organisation code = USCC[9:17]
    assert resolve_subject(con, "211102198001010011") == "P:211102198001010011"
    assert resolve_subject(con, "91350100M000100Y43") is None


def test_subject_file_explains_each_record(home):
    con = rules_connection(latest_internal(home), AS_OF)
    f = subject_file(con, "91211104MA0T22229X")
    states = {r["decision_no"]: (r["regime"], r["class"], str(r["disclosure_until"]), r["state"]) for r in f["dishonesty"]}
    assert states["盘住建罚〔2022〕3号"] == ("pre_2023_05", "一般", "2023-01-09", "expired")
    assert states["盘市监处罚〔2025〕130号"] == ("2023_05", "严重", "2028-08-31", "public")
    assert {r["state"] for r in f["lists"]} == {"active", "suspended"}
    assert f["grade"][0]["grade"] == "D"


def test_measures_for_a_department(home):
    con = rules_connection(latest_internal(home), AS_OF)
    assert [m["measure_code"] for m in measures_for(con, "91211104MA0T22229X", "cz")] == ["P01", "P03"]
    assert measures_for(con, "91211102MA0Q567843") == []     # its blacklist entry was removed


def test_point_in_time_before_the_list_entry_and_before_the_warehouse_knew(home):
    # On 2025-05-01 the wage-arrears entry (from 2025-06-01) had not started: only the red list's incentives.
    con = rules_connection(latest_internal(home), date(2025, 5, 1))
    assert {m["kind"] for m in measures_for(con, "91211104MA0T22229X")} == {"incentive"}
    # From 2025-06-01 the blacklist suspends the red entry: punishments only.
    con = rules_connection(latest_internal(home), date(2025, 6, 1))
    assert {m["kind"] for m in measures_for(con, "91211104MA0T22229X")} == {"punish"}
    # Known before the first pass, the warehouse held nothing at all.
    con = rules_connection(latest_internal(home), AS_OF, known_at=datetime(2026, 11, 1, tzinfo=UTC))
    assert con.sql("select count(*) from mart_penalties").fetchall() == [(0,)]


def test_inspection_sample_is_reproducible_and_weighted(home):
    con = rules_connection(latest_internal(home), AS_OF)
    a = inspection_sample(con, "scjg", 2, seed=42)
    assert a == inspection_sample(con, "scjg", 2, seed=42) and len(a) == 2
    population = inspection_sample(con, "scjg", 100, seed=1)
    assert {r["grade"] for r in population} <= {"A", "B", "C", "D"} and len(population) == 6
    # The D-grade subject (weight 0.805 vs 0.125) is drawn first for most seeds.
    firsts = [inspection_sample(con, "scjg", 1, seed=s)[0]["grade"] for s in range(40)]
    assert firsts.count("D") > 20


def test_cli_commands_print_the_answers(home, capsys):
    assert main(["--home", str(home.root), "check", "91211104MA0T22229X", "--as-of", "2026-11-25",
                 "--department", "cz"]) == 0
    assert "P01" in capsys.readouterr().out
    assert main(["--home", str(home.root), "subject", "211102198001010011", "--as-of", "2026-11-25"]) == 0
    out = capsys.readouterr().out
    assert "王建国" in out and "grade" in out
    assert main(["--home", str(home.root), "inspect-sample", "--department", "scjg", "--size", "2",
                 "--seed", "3", "--as-of", "2026-11-25"]) == 0
    assert main(["--home", str(home.root), "query", "select count(*) as n from penalties_status"]) == 0




def test_replay_for_the_published_date_reproduces_the_published_rows(home, tmp_path):
    import json

    import duckdb

    assert main(["--home", str(home.root), "replay", "--as-of", "2026-11-25", "--out", str(tmp_path)]) == 0
    latest = home.exports / "public" / json.loads((home.exports / "public" / "latest.json").read_text())["path"]
    for name in ("penalties.parquet", "blacklist.parquet", "redlist.parquet", "licenses.parquet",
                 "commitments.parquet", "other_dishonesty.parquet"):
        published = duckdb.sql(f"select * from '{latest / name}' order by record_id").fetchall()
        assert duckdb.sql(f"select * from '{tmp_path / name}' order by record_id").fetchall() == published
