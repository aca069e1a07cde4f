"""A whole pass over the hand-written fixtures: what is published, quarantined and traced, and re-runs."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import duckdb
import pytest

from pipelines.home import Home
from pipelines.publish.state import internal_relation
from pipelines.run import run_pass
from tests.conftest import AS_OF, FIXTURES, fill_inbox


def dicts(rel):
    return [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]


def rows(path, query="select * from t"):
    con = duckdb.connect()
    con.execute(f"create view t as select * from read_parquet('{path}')")
    return dicts(con.sql(query))


@pytest.fixture(scope="module")
def passed(tmp_path_factory):
    home = Home.resolve(tmp_path_factory.mktemp("e2e") / "home")
    fill_inbox(home)
    summary = run_pass(home, AS_OF, now=datetime(2026, 11, 25, 8, tzinfo=UTC))
    return home, summary


def public(home, name):
    latest = json.loads((home.exports / "public" / "latest.json").read_text())
    return rows(home.exports / "public" / latest["path"] / name)


def internal(home, name):
    """Rows of an internal table by its file name (rule state such as penalties_status.parquet is a base and a
    delta: read through internal_relation)."""
    latest = json.loads((home.exports / "internal" / "latest.json").read_text())
    return dicts(duckdb.connect().sql(internal_relation(home.exports / "internal" / latest["path"], name)))


def analyst(home, view):
    """Rows of a view of the latest internal version's analyst database (status views join the record history)."""
    latest = json.loads((home.exports / "internal" / "latest.json").read_text())
    con = duckdb.connect(str(home.exports / "internal" / latest["path"] / "analyst.duckdb"), read_only=True)
    try:
        return dicts(con.sql(f"select * from {view}"))
    finally:
        con.close()


def test_penalties_published_are_exactly_the_disclosable_ones(passed):
    home, _ = passed
    got = {r["decision_no"] for r in public(home, "penalties.parquet")}
    # 101号: repair dated before the 3-month minimum does not count; 57号: natural person, masked;
    # 130号: 吊销 makes it 严重. Hidden: warning-only, minor, expired (old regime 1 year), withdrawn, repaired.
    assert got == {"盘市监处罚〔2025〕101号", "盘市监处罚〔2024〕57号", "盘市监处罚〔2025〕130号"}
    person = next(r for r in public(home, "penalties.parquet") if r["decision_no"] == "盘市监处罚〔2024〕57号")
    assert person["id_no_masked"] == "211102********0011" and person["uscc"] is None
    serious = next(r for r in public(home, "penalties.parquet") if r["decision_no"].endswith("130号"))
    assert serious["severity"] == "严重" and str(serious["disclosure_until"]) == "2028-08-31"


def test_hidden_penalties_carry_their_reason(passed):
    home, _ = passed
    status = {r["decision_no"]: r["hidden_reason"] for r in analyst(home, "penalties_status")}
    assert status["盘市监处罚〔2025〕102号"] == "not_disclosable"      # 警告 only
    assert status["盘市监处罚〔2025〕9号"] == "minor"
    assert status["盘住建罚〔2022〕3号"] == "expired"
    assert status["盘市监处罚〔2024〕88号"] == "withdrawn"
    assert status["盘市监处罚〔2024〕30号"] == "repaired"
    assert status["盘市监处罚〔2026〕15号"] == "not_disclosable"     # 轻微 from 2026-04-01


def test_lists_removal_and_red_suspension(passed):
    home, _ = passed
    black = {r["decision_no"] for r in public(home, "blacklist.parquet")}
    red = {r["decision_no"] for r in public(home, "redlist.parquet")}
    assert black == {"盘人社认〔2025〕5号"}                 # the market_serious entry was removed
    assert red == {"盘税认〔2026〕1号"}                     # honest_model suspended: its subject is blacklisted
    lists = {r["decision_no"]: r["state"] for r in analyst(home, "lists_status")}
    assert lists["盘发改认〔2025〕2号"] == "suspended" and lists["盘市监认〔2024〕4号"] == "removed"
    wage = next(r for r in public(home, "blacklist.parquet") if r["list_type"] == "wage_arrears")
    assert str(wage["valid_to"]) == "2028-05-31"           # default term of 36 months


def test_licenses_commitments_other_dishonesty(passed):
    home, _ = passed
    assert {r["decision_no"] for r in public(home, "licenses.parquet")} == {
        "盘审批食经〔2024〕12号", "盘审批建〔2025〕7号"}
    assert {r["commitment_no"] for r in public(home, "commitments.parquet")} == {"CN2025001"}
    other = public(home, "other_dishonesty.parquet")
    assert [(r["event_no"], r["id_no_masked"]) for r in other] == [("SW2025001", "211102********0011")]


def test_every_broken_row_is_quarantined_with_its_rule_and_traceable(passed):
    home, _ = passed
    q = internal(home, "quarantine.parquet")
    got = {(r["record_type"], r["row_number"], tuple(r["rules"])) for r in q}
    expected = {
        ("admin_penalty", 6, ("uscc.uscc_check",)),
        ("admin_penalty", 7, ("fine_amount.required_when_fine",)),
        ("admin_license", 4, ("valid_to.not_before_valid_from",)),
        ("list_entry", 5, ("list_type.code_table",)),
        ("commitment", 3, ("breach_content.required_when_breached",)),
        ("other_dishonesty", 2, ("id_no.resident_id_check",)),
        ("discipline_feedback", 2, ("measure_code.code_table",)),
        ("list_removal", 2, ("refers_to.unknown",)),
        ("repair", 2, ("repair.before_minimum",)),
        ("repair", 3, ("refers_to.unknown",)),
    }
    assert expected <= got
    for r in q:
        assert r["file_name"].endswith(".csv") and r["department"] and r["reasons"]
        assert re.search(r"[\u4e00-\u9fff]", r["reasons"])


def test_every_submitted_row_is_accounted_for(passed):
    home, summary = passed
    submitted = sum(v.rows for v in summary.validations)
    assert submitted == sum(len(open(p, encoding="utf-8").read().splitlines()) - 1
                            for p in FIXTURES.glob("*.csv"))
    assert all(v.accepted + v.quarantined == v.rows for v in summary.validations)
    batches = internal(home, "batches.parquet")
    assert {b["status"] for b in batches} == {"landed"} and len(batches) == 10


def test_feedback_file_lists_rejected_rows_in_chinese(passed):
    from openpyxl import load_workbook

    home, _ = passed
    [path] = list((home.feedback / "scjg").glob("*admin_penalty*.xlsx"))
    wb = load_workbook(path)
    detail = list(wb["退回明细"].iter_rows(values_only=True))
    assert detail[0][:3] == ("行号", "问题规则", "原因说明")
    assert {r[0] for r in detail[1:]} == {6, 7}
    assert any("统一社会信用代码" in r[2] for r in detail[1:])


def test_manifest_and_latest_pointer(passed):
    home, _ = passed
    latest = json.loads((home.exports / "public" / "latest.json").read_text())
    version_dir = home.exports / "public" / latest["path"]
    manifest = json.loads((version_dir / "manifest.json").read_text())
    assert manifest["as_of"] == "2026-11-25" and manifest["previous_version"] is None
    for f in manifest["files"]:
        assert (version_dir / f["name"]).stat().st_size == f["bytes"]
        assert f["rows"] == len(rows(version_dir / f["name"]))
    assert not list((home.exports / "public" / "versions").glob(".tmp-*"))


def test_first_version_changes_add_every_public_row(passed):
    home, _ = passed
    changes = public(home, "changes.parquet")
    want = sorted(("add", f, r["record_id"], None) for f in ("penalties.parquet", "licenses.parquet",
                  "blacklist.parquet", "redlist.parquet", "commitments.parquet", "other_dishonesty.parquet")
                  for r in public(home, f))
    assert len(want) >= 9 and len({w[1] for w in want}) >= 5
    assert sorted((c["op"], c["file"], c["record_id"], c["reason"]) for c in changes) == want


def test_rerun_with_nothing_new_changes_no_public_row_and_correction_updates_exactly_it(tmp_path):
    home = Home.resolve(tmp_path / "home")
    fill_inbox(home)
    run_pass(home, AS_OF, now=datetime(2026, 11, 25, 8, tzinfo=UTC))
    before = {f: public(home, f) for f in ("penalties.parquet", "blacklist.parquet", "licenses.parquet")}
    run_pass(home, AS_OF, now=datetime(2026, 11, 25, 9, tzinfo=UTC))
    assert {f: public(home, f) for f in before} == before
    assert public(home, "changes.parquet") == []

    # A department corrects one penalty: same key, new content.
    lines = (FIXTURES / "admin_penalty.csv").read_text(encoding="utf-8").splitlines()
    corrected = [lines[0]] + [lines[1].replace("罚款2.5万元", "罚款2.8万元").replace(",2.5,", ",2.8,")]
    (home.inbox / "scjg" / "admin_penalty_2025-11_correction.csv").write_text("\n".join(corrected) + "\n",
                                                                             encoding="utf-8")
    run_pass(home, AS_OF, now=datetime(2026, 11, 25, 10, tzinfo=UTC))
    changes = public(home, "changes.parquet")
    old = {r["record_id"]: r for r in before["penalties.parquet"]}
    new = {r["record_id"]: r for r in public(home, "penalties.parquet")}
    assert [(c["op"], c["file"]) for c in changes] == [("update", "penalties.parquet")]
    rid = changes[0]["record_id"]
    assert new[rid]["decision_no"] == "盘市监处罚〔2025〕101号" and float(new[rid]["fine_amount"]) == 2.8
    assert {k: v for k, v in new.items() if k != rid} == {k: v for k, v in old.items() if k != rid}

    # Both versions are kept in the warehouse history with the time each was learned.
    hist = internal(home, "penalties_status.parquet")
    assert len([r for r in hist if r["record_id"] == rid]) == 1
    con = duckdb.connect(str(home.warehouse), read_only=True)
    versions = con.sql(f"select learned_at, superseded_at from admin_penalty_history where record_id = '{rid}' "
                       "order by version_seq").fetchall()
    con.close()
    assert len(versions) == 2 and versions[0][1] is not None and versions[1][1] is None


def identity_numbers_in(values) -> list[str]:
    """Every 18-character run that is a valid resident identity number (check character and birth date)."""
    from pipelines.validate.identifiers import resident_id_is_valid

    found = [m for v in values for m in re.findall(r"\d{17}[\dX]", str(v))]
    return [m for m, ok in zip(found, resident_id_is_valid(found), strict=True) if ok]


def test_no_public_file_contains_an_identity_number(passed):
    home, _ = passed
    latest = json.loads((home.exports / "public" / "latest.json").read_text())
    assert identity_numbers_in(["王建国 211102198001010011"]) == ["211102198001010011"]   # the scan can fail
    scanned = 0
    for f in (home.exports / "public" / latest["path"]).glob("*.parquet"):
        values = [v for r in rows(f) for v in r.values()]
        scanned += len(values)
        assert identity_numbers_in(values) == [], f.name
    assert scanned > 100
    # The natural persons are there, masked.
    masked = {r["id_no_masked"] for r in public(home, "penalties.parquet")} - {None}
    assert masked == {"211102********0011"}




def test_internal_contract_files(passed):
    home, _ = passed
    targets = internal(home, "discipline_targets.parquet")
    wage = {(t["implementing_dept"], t["measure_code"]) for t in targets if t["list_type"] == "wage_arrears"}
    assert wage == {("cz", "P01"), ("ggzy", "P02"), ("cz", "P03"), ("jr", "P04"), ("scjg", "P06"), ("fgw", "P07")}
    assert all(t["uscc"] == "91211104MA0T22229X" for t in targets if t["list_type"] == "wage_arrears")
    assert {t["measure_code"] for t in targets if t["list_type"] == "tax_a"} == {"I01", "I02", "I03"}
    coverage = {(c["implementing_dept"], c["measure_code"]): c["with_feedback"]
                for c in internal(home, "discipline_feedback_coverage.parquet")}
    assert coverage[("cz", "P01")] == 1 and coverage[("jr", "P04")] == 0

    grades = {g["subject_key"]: g for g in internal(home, "subject_grades.parquet")}
    assert grades["91211104MA0T22229X"]["grade"] == "D"          # on the wage-arrears blacklist
    assert grades["91211100MA0Q12343C"]["grade"] == "B"          # red list, but a disclosed penalty
    assert float(grades["91211104MA0T22229X"]["inspection_ratio_min"]) == 0.61
    # Every subject is graded once; reasons are sorted and only subjects without any fact have none (B).
    subjects = internal(home, "subjects.parquet")
    assert sorted(grades) == sorted(s["subject_key"] for s in subjects)
    assert all(list(g["reasons"]) == sorted(g["reasons"]) for g in grades.values())
    assert any(len(g["reasons"]) > 1 for g in grades.values())
    assert all(g["grade"] == "B" for g in grades.values() if len(g["reasons"]) == 0)
    assert any(r.startswith("黑名单：") for r in grades["91211104MA0T22229X"]["reasons"])

    ledger = {d["ledger_no"]: d for d in internal(home, "debt_ledger.parquet")}
    assert ledger["QQ2025001"]["status"] == "已清偿" and str(ledger["QQ2025001"]["outstanding_amount"]) == "0.0000"
    assert str(ledger["QQ2025001"]["repaid_amount"]) == "1250.5678"
    assert ledger["QQ2025002"]["status"] == "未清偿" and str(ledger["QQ2025002"]["due_date"]) == "2025-04-11"
    assert str(ledger["QQ2025003"]["due_date"]) == "2025-04-15"
    assert "QQ2025004" not in ledger                              # agreed 90 days for a 机关: quarantined
    gov = internal(home, "gov_dishonesty.parquet")
    assert [(g["debtor_uscc"], g["ledger_no"]) for g in gov] == [("11211100826024164P", "QQ2025003")]
    q = {(r["record_type"], r["row_number"], tuple(r["rules"])) for r in internal(home, "quarantine.parquet")}
    assert ("debt_payment", 3, ("refers_to.unknown",)) in q
    assert ("debt_ledger", 4, ("agreed_term_days.public_body_max_60",)) in q


def test_a_corrected_resubmission_resolves_the_quarantined_row(tmp_path):
    home = Home.resolve(tmp_path / "home")
    fill_inbox(home)
    run_pass(home, AS_OF, now=datetime(2026, 11, 25, 8, tzinfo=UTC))
    before = {(r["record_type"], r["row_number"]) for r in internal(home, "quarantine.parquet")}
    assert ("admin_penalty", 7) in before                     # 121号: 罚款 without the amount
    lines = (FIXTURES / "admin_penalty.csv").read_text(encoding="utf-8").splitlines()
    fixed = lines[7].replace("罚款0.2万元,,", "罚款0.2万元,0.2,")
    (home.inbox / "scjg" / "admin_penalty_fix.csv").write_text(f"{lines[0]}\n{fixed}\n", encoding="utf-8")
    run_pass(home, AS_OF, now=datetime(2026, 11, 25, 9, tzinfo=UTC))
    after = {(r["file_name"], r["row_number"]) for r in internal(home, "quarantine.parquet")}
    assert ("admin_penalty_2025-11.csv", 7) not in after and ("admin_penalty_2025-11.csv", 6) in after
    assert "盘市监处罚〔2025〕121号" in {r["decision_no"] for r in public(home, "penalties.parquet")}


def test_public_files_use_parquet_1_encodings_and_internal_files_read_back_with_pyarrow(passed):
    """Public sites may load the files with any Parquet reader: no 2.x-only encodings there. The project's own
    files use them (faster in DuckDB) and still read with pyarrow and pandas."""
    import pyarrow.parquet as pq

    home, _ = passed
    for audience in ("public", "internal"):
        latest = json.loads((home.exports / audience / "latest.json").read_text())
        version_dir = home.exports / audience / latest["path"]
        manifest = json.loads((version_dir / "manifest.json").read_text())
        for f in manifest["files"]:
            meta = pq.ParquetFile(version_dir / f["name"]).metadata
            encodings = {e for g in range(meta.num_row_groups) for c in range(meta.num_columns)
                         for e in meta.row_group(g).column(c).encodings}
            if audience == "public":
                assert not {e for e in encodings if e.startswith("DELTA") or e == "BYTE_STREAM_SPLIT"}, f["name"]
            assert pq.read_table(version_dir / f["name"]).num_rows == f["rows"], f["name"]
    status = internal(home, "penalties_status.parquet")
    assert status and {"record_id", "hidden_reason"} <= status[0].keys()


def test_a_pass_reads_only_the_manifests_of_its_new_batches(tmp_path, monkeypatch):
    """A home keeps every batch's manifest; a later pass must not read them all (once per department and record
    type, it did: a cost growing with every day the platform runs). Only the new batch's manifest is read, and
    the pass merges it as before."""
    from pipelines.ingest.files import Batch, load_batches

    home = Home.resolve(tmp_path / "home")
    fill_inbox(home)
    run_pass(home, AS_OF, now=datetime(2026, 11, 25, 8, tzinfo=UTC))
    old = set(load_batches(home))
    assert len(old) == 10
    lines = (FIXTURES / "admin_penalty.csv").read_text(encoding="utf-8").splitlines()
    (home.inbox / "scjg" / "admin_penalty_2025-11_resend.csv").write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    read: list[str] = []
    original = Batch.load.__func__

    def counted(cls, path):
        read.append(path.stem)
        return original(cls, path)

    monkeypatch.setattr(Batch, "load", classmethod(counted))
    run_pass(home, AS_OF, now=datetime(2026, 11, 25, 9, tzinfo=UTC))
    [new] = set(load_batches(home)) - old
    assert set(read) == {new}
    assert len(read) <= 3   # start_validation, the merge's staged rows, the merge's batch register
    con = duckdb.connect(str(home.warehouse), read_only=True)
    merged = con.sql(f"select status, merged_at is not null, accepted from batches where batch_id = '{new}'").fetchall()
    con.close()
    assert merged == [("landed", True, 1)]


def test_retention_keeps_the_newest_versions_and_the_latest_reads_whole(tmp_path, monkeypatch):
    """CREDIT_KEEP_VERSIONS prunes old export versions after a publish (unset: every version is kept); what stays
    reads whole although its files were hard links to the pruned versions'."""
    home = Home.resolve(tmp_path / "home")
    fill_inbox(home)
    monkeypatch.delenv("CREDIT_KEEP_VERSIONS", raising=False)
    run_pass(home, AS_OF, now=datetime(2026, 11, 25, 8, tzinfo=UTC))
    run_pass(home, AS_OF, now=datetime(2026, 11, 25, 9, tzinfo=UTC))

    def versions(audience):
        return sorted(p.name for p in (home.exports / audience / "versions").iterdir())

    assert [len(versions(a)) for a in ("public", "internal")] == [2, 2]
    first, second = versions("internal")
    penalties = public(home, "penalties.parquet")
    status = internal(home, "penalties_status.parquet")
    (home.exports / "internal" / "versions" / ".tmp-unfinished").mkdir()   # a failed pass's staging: not a version

    monkeypatch.setenv("CREDIT_KEEP_VERSIONS", "x")
    with pytest.raises(ValueError, match="CREDIT_KEEP_VERSIONS"):
        run_pass(home, AS_OF, now=datetime(2026, 11, 25, 10, tzinfo=UTC))
    assert versions("internal") == [".tmp-unfinished", first, second]   # nothing published, nothing pruned
    assert json.loads((home.exports / "internal" / "latest.json").read_text())["version"] == second
    monkeypatch.setenv("CREDIT_KEEP_VERSIONS", "2")
    run_pass(home, AS_OF, now=datetime(2026, 11, 25, 11, tzinfo=UTC))
    for audience in ("public", "internal"):
        kept = [v for v in versions(audience) if not v.startswith(".")]
        latest = json.loads((home.exports / audience / "latest.json").read_text())["version"]
        assert first not in kept and second in kept and latest in kept and len(kept) == 2
    assert ".tmp-unfinished" in versions("internal")
    assert public(home, "penalties.parquet") == penalties
    assert internal(home, "penalties_status.parquet") == status
