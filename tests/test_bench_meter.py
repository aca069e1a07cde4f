"""The benchmark's meter counts the memory of the processes a stage starts, not only its own."""

from __future__ import annotations

import subprocess
import sys
import time

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


def test_the_sampler_outlives_short_lived_children():
    """Processes that exit while the sampler lists them (here: hundreds of them) neither stop it nor raise:
    a later child's memory is still counted."""
    meter = Meter()
    meter.begin("churn")
    for _ in range(200):
        subprocess.run([sys.executable, "-c", "pass"], check=True)
    assert meter._tree is not None and meter._tree.is_alive()
    meter.begin("then a big child")
    subprocess.run([sys.executable, "-c", CHILD], check=True)
    meter.end()
    assert meter._tree.is_alive()
    assert meter.stages["then a big child"].peak_rss_mb > meter.stages["churn"].peak_rss_mb + 250


def test_a_child_not_yet_exec_d_is_not_counted_again(monkeypatch):
    """A forked child that has not exec'd yet shares this process's pages: counting its RSS would count ours twice."""
    import benchmarks

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        ours = benchmarks._cmdline()
        monkeypatch.setattr(benchmarks, "_cmdline", lambda pid="self": ours)   # the child still runs our program
        sampler = benchmarks._Sampler(tree=True)
        sampler.start()
        time.sleep(0.2)
        sampler.stop.set()
        sampler.join()
        assert sampler.peak == 0   # no child counted (the tree sampler records nothing without children)
    finally:
        child.kill()
        child.wait()


def test_a_child_that_exits_while_it_is_listed_is_left_out(monkeypatch):
    import benchmarks

    real = benchmarks.Path.glob

    def glob(self, pattern):   # every child's /proc entry vanishes between the listing and the scan
        if str(self) != "/proc/self/task":
            raise FileNotFoundError(self)
        return real(self, pattern)

    monkeypatch.setattr(benchmarks.Path, "glob", glob)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        assert benchmarks._descendants() == [str(child.pid)]
    finally:
        child.kill()
        child.wait()
