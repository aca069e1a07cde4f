"""The internal status files: what the rules decided per record, the record's own columns left to history."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.publish.contract import STATUS_FILES
from pipelines.publish.exports import status_query

PENALTIES = next(sf for sf in STATUS_FILES if sf.mart == "mart_penalties")


def _warehouse(extra: str = "") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create table admin_penalty_history as select 'r1' as record_id, 7::bigint as version_seq, "
                "'S1' as subject_key, '罚〔2025〕1号' as decision_no, date '2025-01-02' as decision_date")
    con.execute("create view admin_penalty as select * from admin_penalty_history")   # as merge's current view
    con.execute("create table mart_penalties as select record_id, version_seq, subject_key, decision_no, decision_date, "
                "'U1' as uscc, null as id_no_masked, date '2028-01-01' as disclosure_until, '一般' as severity, "
                f"'2023_05' as regime, null as hidden_reason {extra} from admin_penalty_history")
    return con


def test_the_status_file_holds_the_keys_and_what_the_rules_derived():
    con = _warehouse()
    rel = con.sql(status_query(con, PENALTIES))
    assert rel.columns == ["record_id", "version_seq", "subject_key", "uscc", "id_no_masked", "disclosure_until",
                           "severity", "regime", "hidden_reason"]
    assert rel.fetchall()[0][:4] == ("r1", 7, "S1", "U1")


def test_a_rule_column_neither_declared_nor_the_records_own_is_refused():
    # It would be in no file: not in the status file (not declared) and not in history (not the record's).
    con = _warehouse(", 'x' as repair_hint")
    with pytest.raises(ValueError, match=r"\['repair_hint'\].*StatusFile.derived of penalties_status.parquet"):
        status_query(con, PENALTIES)
