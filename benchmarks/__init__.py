"""Benchmarks (issue 6): our pass against DuckDB's raw CSV speed and against the usual pandas + GX approach.

`Meter` times the stages of one worker process and measures each stage's own peak RSS: at every stage
start it resets the kernel's high-water mark (`echo 5 > /proc/self/clear_refs`) and at the end reads
`VmHWM` from /proc/self/status. Where the kernel refuses the reset, a sampling thread (every 5 ms) stands in.
Stages are contiguous from the worker's start, so the process peak is the largest stage peak.
Processes the worker starts (the pass's GX worker) count too: a thread samples the RSS of the worker and all
its descendants every 10 ms while any exist, and a stage's peak is the larger of its own high-water mark and
that sum; their CPU time counts once they have exited.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
_IO = Path("/proc/self/io")


def _status_kb(key: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _io() -> tuple[int, int]:
    """Bytes this process read from / wrote to storage (page-cache hits are not reads)."""
    try:
        values = dict(line.split(": ") for line in _IO.read_text().splitlines())
        return int(values["read_bytes"]), int(values["write_bytes"])
    except (OSError, KeyError, ValueError):
        return 0, 0


def _cpu(t: os.times_result) -> float:
    return t.user + t.system + t.children_user + t.children_system


def _reset_hwm() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


@dataclass
class StageFigures:
    name: str
    wall_s: float = 0.0
    cpu_s: float = 0.0            # user + system of this process (DuckDB's threads included)
    peak_rss_mb: float = 0.0      # highest RSS while the stage ran
    read_mb: float = 0.0          # from storage, not the page cache
    written_mb: float = 0.0
    calls: int = 0                # how many times the stage was entered (the baseline loops per record type)


def _descendants(pid: str = "self") -> list[str]:
    """The process ids below pid now; a process that exits while it is listed is left out (never raises:
    the sampler thread calling this must outlive every child process of the pass)."""
    out: list[str] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").glob("*/children"))
    except OSError:   # pid exited between its parent's listing and this one
        return out
    for children in tasks:
        try:
            kids = children.read_text().split()
        except OSError:
            continue
        for kid in kids:
            out += [kid, *_descendants(kid)]
    return out


def _cmdline(pid: str = "self") -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _rss_kb(pid: str = "self") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class _Sampler(threading.Thread):
    """Polls RSS: this process's alone (the fallback when VmHWM cannot be reset, every 5 ms) or, with tree,
    this process's plus its descendants' while it has any (every 10 ms; 0 while it has none)."""

    def __init__(self, tree: bool = False) -> None:
        super().__init__(daemon=True)
        self.peak, self.tree = 0, tree
        self.stop = threading.Event()

    def take(self) -> int:
        peak, self.peak = self.peak, 0
        return peak

    def run(self) -> None:
        own = _cmdline()
        while not self.stop.wait(0.01 if self.tree else 0.005):
            if not self.tree:
                self.peak = max(self.peak, _rss_kb())
            # A child between its (v)fork and its exec still runs our program in our pages: its RSS is ours
            # again (seen as a stage peak of twice the process's own when a test started 200 children).
            elif kids := [k for k in _descendants() if _cmdline(k) != own]:
                self.peak = max(self.peak, _rss_kb() + sum(_rss_kb(k) for k in kids))


@dataclass
class Meter:
    stages: dict[str, StageFigures] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    exact_peaks: bool = True
    profile_dir: Path | None = None        # cProfile each stage into <profile_dir>/<stage>.prof
    _open: tuple | None = None
    _sampler: _Sampler | None = None
    _tree: _Sampler | None = None
    _profiles: dict = field(default_factory=dict)

    def begin(self, name: str) -> None:
        if self._open:
            self.end()
        if self._tree is None:
            self._tree = _Sampler(tree=True)
            self._tree.start()
        self._tree.take()
        if not _reset_hwm():
            self.exact_peaks = False
            self._sampler = _Sampler()
            self._sampler.start()
        t = os.times()
        self._open = (name, time.perf_counter(), _cpu(t), _io())
        if self.profile_dir is not None:
            import cProfile

            prof = self._profiles.setdefault(name, cProfile.Profile())
            prof.enable()

    def end(self) -> None:
        if not self._open:
            return
        name, t0, cpu0, (r0, w0) = self._open
        wall = time.perf_counter() - t0
        if name in self._profiles:
            self._profiles[name].disable()
        t = os.times()
        if self._sampler:
            self._sampler.stop.set()
            self._sampler.join()
            peak_kb = max(self._sampler.peak, _rss_kb())
            self._sampler = None
        else:
            peak_kb = _status_kb("VmHWM")
        r1, w1 = _io()
        s = self.stages.get(name)
        if s is None:
            s = self.stages[name] = StageFigures(name)
            self.order.append(name)
        if self._tree is not None:
            peak_kb = max(peak_kb, self._tree.take())
        s.wall_s += wall
        s.cpu_s += _cpu(t) - cpu0
        s.peak_rss_mb = max(s.peak_rss_mb, peak_kb / 1024)
        s.read_mb += (r1 - r0) / 1e6
        s.written_mb += (w1 - w0) / 1e6
        s.calls += 1
        self._open = None

    class _Ctx:
        def __init__(self, meter: Meter, name: str) -> None:
            self.meter, self.name = meter, name

        def __enter__(self) -> None:
            self.meter.begin(self.name)

        def __exit__(self, *exc: object) -> None:
            self.meter.end()

    def stage(self, name: str) -> Meter._Ctx:
        return Meter._Ctx(self, name)

    def dump_profiles(self) -> None:
        if self.profile_dir is None:
            return
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        for name, prof in self._profiles.items():
            prof.dump_stats(str(self.profile_dir / f"{name}.prof"))

    def as_dict(self) -> dict:
        self.end()
        return {
            "stages": [asdict(self.stages[n]) for n in self.order],
            "peak_rss_mb": max((s.peak_rss_mb for s in self.stages.values()), default=0.0),
            "wall_s": sum(s.wall_s for s in self.stages.values()),
            "exact_peaks": self.exact_peaks,
        }
