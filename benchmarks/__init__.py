"""Benchmarks (issue 6): our pass against DuckDB's raw CSV speed and against the usual pandas + GX approach.

`Meter` times the stages of one worker process and measures each stage's own peak RSS: at every stage
start it resets the kernel's high-water mark (`echo 5 > /proc/self/clear_refs`) and at the end reads
`VmHWM` from /proc/self/status. Where the kernel refuses the reset, a sampling thread (every 5 ms) stands in.
Stages are contiguous from the worker's start, so the process peak is the largest stage peak.
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


class _Sampler(threading.Thread):
    """Fallback when VmHWM cannot be reset: poll VmRSS."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, _status_kb("VmRSS"))
            time.sleep(0.005)


@dataclass
class Meter:
    stages: dict[str, StageFigures] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    exact_peaks: bool = True
    profile_dir: Path | None = None        # cProfile each stage into <profile_dir>/<stage>.prof
    _open: tuple | None = None
    _sampler: _Sampler | None = None
    _profiles: dict = field(default_factory=dict)

    def begin(self, name: str) -> None:
        if self._open:
            self.end()
        if not _reset_hwm():
            self.exact_peaks = False
            self._sampler = _Sampler()
            self._sampler.start()
        t = os.times()
        self._open = (name, time.perf_counter(), t.user + t.system, _io())
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
            peak_kb = max(self._sampler.peak, _status_kb("VmRSS"))
            self._sampler = None
        else:
            peak_kb = _status_kb("VmHWM")
        r1, w1 = _io()
        s = self.stages.get(name)
        if s is None:
            s = self.stages[name] = StageFigures(name)
            self.order.append(name)
        s.wall_s += wall
        s.cpu_s += (t.user + t.system) - cpu0
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
