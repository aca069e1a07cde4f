"""The subject master: one subject per USCC across name spellings, legacy identifiers linked."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from pipelines.home import Home
from pipelines.run import run_pass
from tests.conftest import AS_OF

HEADER = ("统一社会信用代码,组织机构代码,工商注册号,行政相对人名称,行政相对人类别,行政许可决定文书名称,行政许可决定文书号,许可类别,许可内容,"
          "许可决定日期,有效期自,有效期至,许可机关,许可机关统一社会信用代码,当前状态,数据来源单位,数据来源单位统一社会信用代码")
AUTH = "盘锦市行政审批局,11211100628643909U"


def row(uscc: str, org: str, reg: str, name: str, no: str) -> str:
    return (f"{uscc},{org},{reg},{name},法人及非法人组织,决定书,{no},普通,内容,2025-01-01,2025-01-01,2099-12-31,"
            f"{AUTH},有效,{AUTH}")


def test_names_and_legacy_identifiers_resolve_to_one_subject(tmp_path):
    home = Home.resolve(tmp_path / "home")
    rows = [
        row("91211100MA0Q12343C", "", "211100000012345", "盘锦兴隆商贸（集团）有限公司", "L-1"),
        row("91211100MA0Q12343C", "", "", "盘锦兴隆商贸(集团)有限公司", "L-2"),      # half-width brackets
        row("", "MA0Q12343", "", "盘锦兴隆商贸有限公司", "L-3"),                     # old name, organisation code only
        row("", "", "211100000012345", "盘锦兴隆商贸有限公司", "L-4"),               # registration number only
    ]
    (home.inbox / "xzsp" / "admin_license_subjects.csv").write_text("\n".join([HEADER, *rows]) + "\n",
                                                                  encoding="utf-8")
    run_pass(home, AS_OF, now=datetime(2026, 11, 25, 8, tzinfo=UTC))
    con = duckdb.connect(str(home.warehouse), read_only=True)
    subjects = con.sql("select subject_key, names_seen from subjects").fetchall()
    assert len(subjects) == 1 and subjects[0][0] == "91211100MA0Q12343C"
    assert set(subjects[0][1]) == {"盘锦兴隆商贸（集团）有限公司", "盘锦兴隆商贸(集团)有限公司", "盘锦兴隆商贸有限公司"}
    normalized = con.sql("select count(distinct name_normalized) from subject_names").fetchall()[0][0]
    assert normalized == 2          # the two bracket spellings are one name
    links = dict(con.sql("select alias_key, subject_key from subject_links").fetchall())
    assert links["ORG:MA0Q12343"] == links["REG:211100000012345"] == "91211100MA0Q12343C"


def test_a_warehouse_without_subject_records_still_publishes(tmp_path):
    home = Home.resolve(tmp_path / "home")
    (home.inbox / "cz" / "debt_payment_x.csv").write_text("清偿记录编号,台账编号,清偿日期,清偿金额（万元）\nQC1,QQ9,2025-06-30,10\n",
                                                         encoding="utf-8")
    summary = run_pass(home, AS_OF, now=datetime(2026, 11, 25, 8, tzinfo=UTC))
    assert summary.public is not None and summary.public.rows["penalties.parquet"] == 0


def test_incremental_subject_master_equals_a_full_rebuild(tmp_path):
    from pipelines.merge.warehouse import open_warehouse, rebuild_subjects

    home = Home.resolve(tmp_path / "home")
    rows = [
        row("", "MA0Q12343", "", "盘锦兴隆商贸有限公司", "L-3"),                     # first: organisation code only
        row("", "", "211100000012345", "盘锦兴隆商贸有限公司", "L-4"),
        row("91211104MA0T22229X", "", "", "盘锦恒信建筑工程有限公司", "L-9"),
        row("91211100MA0Q12343C", "", "211100000012345", "盘锦兴隆商贸（集团）有限公司", "L-1"),  # later: links both
    ]
    for i, (lo, hi) in enumerate(((0, 3), (3, 4))):
        (home.inbox / "xzsp" / f"admin_license_{i}.csv").write_text("\n".join([HEADER, *rows[lo:hi]]) + "\n",
                                                                   encoding="utf-8")
        run_pass(home, AS_OF, now=datetime(2026, 11, 25, 8 + i, tzinfo=UTC))
    con = open_warehouse(home)
    tables = ("subjects", "subject_names", "subject_departments", "subject_links")
    incremental = {t: sorted(map(str, con.sql(f"select * from {t}").fetchall())) for t in tables}
    rebuild_subjects(con, persist_rows=True)
    full = {t: sorted(map(str, con.sql(f"select * from {t}").fetchall())) for t in tables}
    con.close()
    assert incremental == full
    assert len(incremental["subjects"]) == 2      # the ORG:/REG: subject merged into its USCC


def test_subject_rows_hold_each_distinct_subject_once_and_an_ungrouped_table_is_rebuilt(tmp_path):
    from pipelines.merge.warehouse import open_warehouse

    home = Home.resolve(tmp_path / "home")
    same = row("91211104MA0T22229X", "", "", "盘锦恒信建筑工程有限公司", "L-{}")
    (home.inbox / "xzsp" / "admin_license_a.csv").write_text(
        "\n".join([HEADER, *(same.format(i) for i in range(5))]) + "\n", encoding="utf-8")
    run_pass(home, AS_OF, now=datetime(2026, 11, 25, 8, tzinfo=UTC))
    con = open_warehouse(home)
    # Five licences of one subject, one department: one subject row, learned at the first pass.
    assert con.sql("select subject_key, first_learned_at = last_learned_at from subject_rows").fetchall() == [
        ("91211104MA0T22229X", True)]
    # A warehouse from before the grouping (one row per version, learned_at) is rebuilt on the next merge.
    con.execute("create or replace table subject_rows as select subject_key, subject_name, subject_category, uscc, "
                "id_no, org_code, business_reg_no, first_learned_at as learned_at, department from subject_rows")
    con.close()
    (home.inbox / "xzsp" / "admin_license_b.csv").write_text(
        "\n".join([HEADER, same.format(9).replace("盘锦恒信建筑工程有限公司", "盘锦恒信建筑有限公司")]) + "\n",
        encoding="utf-8")
    run_pass(home, AS_OF, now=datetime(2026, 11, 26, 8, tzinfo=UTC))
    con = duckdb.connect(str(home.warehouse), read_only=True)
    got = con.sql("select subject_name, first_learned_at::date::varchar, last_learned_at::date::varchar "
                  "from subject_rows order by 1").fetchall()
    assert got == [("盘锦恒信建筑工程有限公司", "2026-11-25", "2026-11-25"), ("盘锦恒信建筑有限公司", "2026-11-26", "2026-11-26")]
    subject = con.sql("select subject_name, names_seen, first_seen_at::date::varchar from subjects").fetchall()
    assert subject == [("盘锦恒信建筑有限公司", ["盘锦恒信建筑工程有限公司", "盘锦恒信建筑有限公司"], "2026-11-25")]
