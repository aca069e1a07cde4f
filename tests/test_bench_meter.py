"""The benchmark's meter counts the memory of the processes a stage starts, not only its own."""

from __future__ import annotations

import subprocess
import sys

from benchmarks import Meter

CHILD = "import time; block = bytearray(300 * 2**20); block[::4096] = b'x' * len(block[::4096]); time.sleep(1.0)"


def test_a_stage_peak_includes_its_child_processes():
    meter = Meter()
    meter.begin("alone")
    meter.begin("with a child")
    subprocess.run([sys.executable, "-c", CHILD], check=True)
    meter.end()
    alone, with_child = meter.stages["alone"].peak_rss_mb, meter.stages["with a child"].peak_rss_mb
    assert with_child > alone + 250                  # the child's 300 MB (touched, so resident) counted
    assert meter.stages["with a child"].cpu_s > 0    # and its CPU time, once it exited
