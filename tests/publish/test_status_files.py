"""The rule tables behind the status files: what the rules decided per record, the record's own columns in history."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.publish.contract import STATUS_FILES
from pipelines.rules.evaluate import status_view

LISTS = next(sf for sf in STATUS_FILES if sf.mart == "mart_lists")


def _rules(extra: str = "") -> duckdb.DuckDBPyConnection:
    """A current list entry (its own valid_to left empty) and the rule table deciding its effective term."""
    con = duckdb.connect()
    con.execute("create table list_entry as select 'r1' as record_id, 7::bigint as version_seq, 'S1' as subject_key, "
                "'U1' as uscc, null::varchar as id_no, 'BL-1' as decision_no, null::date as valid_to, '市监局' as authority")
    con.execute("create table lists_status as select record_id, version_seq, subject_key, uscc, null as id_no_masked, "
                "'black' as colour, '严重违法失信名单' as list_name, authority as source_unit, "
                f"date '2029-06-30' as valid_to, 'active' as state, null as hidden_reason {extra} from list_entry")
    return con


def test_the_mart_view_is_the_record_with_what_the_rules_decided():
    con = _rules()
    con.execute(status_view(con, LISTS))
    row = con.sql("select * from mart_lists")
    got = dict(zip(row.columns, row.fetchall()[0], strict=True))
    assert got["decision_no"] == "BL-1" and got["authority"] == "市监局"          # the record's own
    assert str(got["valid_to"]) == "2029-06-30" and got["state"] == "active"     # the rules' term wins over the record's
    assert sorted(row.columns) == sorted(set(LISTS.columns) | {"decision_no", "id_no", "authority"})


def test_a_rule_column_the_status_file_does_not_declare_is_refused():
    # It would be in no file: not in the status file (not declared) and not in history (not the record's).
    con = _rules(", 'x' as repair_hint")
    with pytest.raises(ValueError, match=r"lists_status has the columns .*repair_hint.*StatusFile.derived"):
        status_view(con, LISTS)
