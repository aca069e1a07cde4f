"""The demo city through a whole pass: every deliberately broken row and file is held back for its reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb

from pipelines.demo.generate import generate
from pipelines.home import Home
from pipelines.run import run_pass
from tests.conftest import AS_OF


def test_demo_pass_quarantines_exactly_the_broken_rows(tmp_path):
    home = Home.resolve(tmp_path / "home")
    gen = generate(home.root, 4000, AS_OF, seed=11)
    summary = run_pass(home, AS_OF, now=datetime(2026, 11, 25, 8, tzinfo=UTC))
    version = json.loads((home.exports / "internal" / "latest.json").read_text())["path"]
    con = duckdb.connect()
    con.execute(f"create view q as select department, file_name, row_number::varchar as row_number, "
                f"unnest(rules) as rule from '{home.exports / 'internal' / version / 'quarantine.parquet'}'")
    con.execute(f"create view e as select department, file_name, row_number, rule "
                f"from read_csv('{gen.expected_quarantine}', all_varchar=true)")
    assert con.sql("select count(*) from e").fetchall()[0][0] >= 40
    assert con.sql("select * from e except select * from q").fetchall() == []      # each broken row caught
    assert con.sql("select * from q where row_number is not null except select * from e").fetchall() == []
    rejected = {b.file_name for b in summary.rejected_files}
    expected = {r[0] for r in con.sql(f"select file_name from read_csv('{gen.expected_rejected_files}')").fetchall()}
    assert rejected == expected
    # Every record type reaches the warehouse and every public file has rows.
    assert {v.record_type for v in summary.validations} == set(gen.rows_per_record_type)
    assert all(n > 0 for name, n in summary.public.rows.items() if name != "changes.parquet")
    # No public file of the demo city carries a valid identity number; natural persons appear masked.
    from tests.test_end_to_end import identity_numbers_in

    public = home.exports / "public" / json.loads((home.exports / "public" / "latest.json").read_text())["path"]
    masked = 0
    for f in public.glob("*.parquet"):
        rel = con.sql(f"select * from '{f}'")
        values = [v for row in rel.fetchall() for v in row]
        assert identity_numbers_in(values) == [], f.name
        if "id_no_masked" in rel.columns:
            masked += con.sql(f"select count(id_no_masked) from '{f}'").fetchall()[0][0]
    assert masked > 0
    # A public file is a set of records keyed by record_id: one row per record.
    for f in public.glob("*.parquet"):
        if f.name != "changes.parquet":
            rows, ids = con.sql(f"select count(*), count(distinct record_id) from '{f}'").fetchall()[0]
            assert rows > 1 and ids == rows, f.name
