"""The benchmark's Markdown report says what a finished pass warned about, not only what a failed one died of."""

import json
from pathlib import Path

from benchmarks.run import markdown

RESULT = Path(__file__).parents[1] / "benchmarks" / "results" / "20261204T114707.json"
WARNING = ("sorting penalties.parquet's segments by disclosure_until ran out of memory (Out of Memory Error: failed "
           "to pin block of size 256.0 KiB (953.7 MiB/953.6 MiB used)); written in no order\n")


def test_a_finished_pass_that_warned_says_so():
    r = json.loads(RESULT.read_text())
    quiet = markdown(r)
    r["ours"]["log_tail"] = WARNING
    md = markdown(r)
    assert "Our pass logged" not in quiet
    assert f"- `{WARNING.strip()}`" in md
    assert md.count("ran out of memory") == 1
