"""The SQL flags agree with GX row by row, where the SQL checks a column once per distinct value and joins the
answer back to every row holding it (dates, amounts, code lists) and compares dates parsed once per value."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from pipelines.validate.gx_runner import run_suite_json
from pipelines.validate.sql import connect, flag_query

AS_OF = dt.date(2025, 6, 1)


def _rule(i: int, type_: str, **kwargs) -> dict:
    return {"type": type_, "kwargs": kwargs, "meta": {"rule": f"r{i}", "reason": "测试", "severity": "error"}}


SUITE = {"name": "probe", "expectations": [
    _rule(0, "expect_column_values_to_be_credit_date", column="decision_date"),
    _rule(1, "expect_column_values_to_be_credit_date_not_after", column="decision_date",
          max_date={"$PARAMETER": "as_of"}),
    _rule(2, "expect_column_pair_credit_dates_to_be_in_order", column_A="decision_date", column_B="valid_until"),
    # valid_until has no check of its own: only the pair parses it
    _rule(3, "expect_column_values_to_be_decimal_amount", column="fine_amount", min_value=0, strict_min=False),
    _rule(4, "expect_column_values_to_be_decimal_amount", column="fine_amount", max_value=10000),
    _rule(5, "expect_column_values_to_be_delimited_subset_of_set", column="penalty_types",
          value_set=["警告", "罚款", "没收违法所得"], separators=[";", "；", "、"]),
    _rule(6, "expect_column_values_to_not_be_null", column="penalty_types"),
]}

# Values repeat across rows, as in real submissions: each distinct one is checked once, every row gets the answer.
ROWS = {
    "decision_date": ["2024-03-05", "2024-02-30", "2024-03-05", None, "2025年07月01日", "2024-02-30", "20250531",
                      "2024-05-01", "不详", "2024/12/31"],
    "valid_until": ["2024-03-04", "2024-12-31", None, "2024-01-01", "2026-01-01", "2024-12-31", "2025-05-30",
                    "2024/04/30", "2020-01-01", "2024-03-04"],
    "fine_amount": ["12.5", "-1", "12.5", None, "20000", "1e3", " 3.25 ", "-1", "0", "12.5"],
    "penalty_types": ["罚款；警告", "罚款", "罚款；吊销", None, "警告、罚款", "；", "罚款", "罚款；吊销", "罚款; 警告 ", "罚款"],
}


def test_per_value_sql_flags_are_exactly_gx_failing_rows(tmp_path):
    frame = pd.DataFrame(ROWS, dtype=object)
    gx = run_suite_json(SUITE, frame, AS_OF, tmp_path, "probe", result_format="COMPLETE")

    con = connect()
    try:
        con.register("frame", frame.assign(_row=range(len(frame))))
        sql = flag_query(SUITE, AS_OF, "frame")
        assert "credit_date(\"decision_date\")" not in sql   # parsed per distinct value, not per row
        got = dict(con.sql(f"select r, list(_row order by _row) from (select _row, unnest(_rules) as r from ({sql})) "
                           "group by r").fetchall())
    finally:
        con.close()
    want = {rule: sorted(rows) for rule, rows in gx.unexpected_index_lists.items() if rows}
    assert got == want
    assert set(want) == {"r0", "r1", "r2", "r3", "r4", "r5", "r6"}   # every rule fails somewhere
