"""Work beside DuckDB: one background thread, and one process for Great Expectations."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar, cast

T = TypeVar("T")


class SideWork:
    """One background thread for Python-side work that can run while DuckDB (native code, GIL released) goes
    on: feedback workbooks and the calls to the GX worker during validation, file hashes during publish.
    wait() joins it and re-raises the first failure."""

    def __init__(self, name: str = "validate-side") -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self.jobs: list[Future] = []

    def submit(self, fn: Callable[..., object], *args: object) -> None:
        self.jobs.append(self.pool.submit(fn, *args))

    def wait(self) -> None:
        try:
            for job in self.jobs:
                job.result()
        finally:
            self.pool.shutdown(wait=True)


class GxProcess:
    """A worker process for the Great Expectations side of a pass (the cross-checks and the Data Docs).

    GX, what it imports and what its contexts keep (~0.3-0.5 GB) live in that process and are given back to
    the system when it exits (close()), instead of staying in the process that then holds DuckDB's buffer
    pool through merge, rules and publish. The worker is `python -m pipelines.background` (a fresh
    interpreter: no fork beside DuckDB's threads, no re-run of the caller's main script), started on the first
    call; calls and results travel pickled over its stdin/stdout. CREDIT_GX_PROCESS=0 runs the calls in the
    calling process instead, with the same results.
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self.in_process = os.environ.get("CREDIT_GX_PROCESS", "1") == "0"

    def call(self, fn: Callable[..., T], *args: object) -> T:
        """fn(*args) (fn a module-level function) in the GX process; its exceptions are raised here."""
        if self.in_process:
            return fn(*args)
        with self._lock:
            if self._proc is None:
                env = dict(os.environ, PYTHONPATH=os.pathsep.join(
                    p for p in (str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH")) if p))
                self._proc = subprocess.Popen([sys.executable, "-m", "pipelines.background"], env=env,
                                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            proc = self._proc
            assert proc.stdin and proc.stdout
            try:
                pickle.dump((fn, args), proc.stdin)
                proc.stdin.flush()
                ok, value = pickle.load(proc.stdout)
            except (EOFError, BrokenPipeError) as e:
                raise RuntimeError(f"the GX worker process ended (exit code {proc.poll()}); its error is above") from e
        if ok:
            return cast(T, value)
        raise value

    def close(self) -> None:
        """Stop the process (after its last call); a later call starts a new one."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None:
            assert proc.stdin
            proc.stdin.close()
            proc.wait()


def _serve() -> None:
    """The GX worker: run each pickled (fn, args) from stdin, answer (ok, result or exception) on stdout."""
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)   # what the libraries print goes to stderr, never into the answers
    requests = sys.stdin.buffer
    while True:
        try:
            fn, args = pickle.load(requests)
        except EOFError:
            return
        try:
            answer: tuple[bool, object] = (True, fn(*args))
        except Exception as e:  # noqa: BLE001  (every failure goes back to the caller)
            answer = (False, e)
        try:
            data = pickle.dumps(answer)
        except Exception as e:  # noqa: BLE001  (what cannot travel goes back as text)
            what = answer[1]
            text = ("".join(traceback.format_exception(what)) if isinstance(what, BaseException)
                    else f"the result of {getattr(fn, '__qualname__', fn)!s} cannot be sent back: {e}")
            data = pickle.dumps((False, RuntimeError(text)))
        channel.write(data)
        channel.flush()


if __name__ == "__main__":
    _serve()
