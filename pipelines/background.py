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
        self._ahead = 0   # calls sent by start() whose answers are not read yet
        self.in_process = os.environ.get("CREDIT_GX_PROCESS", "1") == "0"

    def start(self, fn: Callable[..., object], *args: object) -> None:
        """Send fn(*args) to the worker (started now) and return at once: e.g. GX's import, while the caller
        goes on with other work. The next call() waits for it first and raises its failure. In process: nothing."""
        if self.in_process:
            return
        with self._lock:
            self._send(fn, args)
            self._ahead += 1

    def call(self, fn: Callable[..., T], *args: object) -> T:
        """fn(*args) (fn a module-level function) in the GX process; its exceptions are raised here."""
        if self.in_process:
            return fn(*args)
        with self._lock:
            proc = self._send(fn, args)
            assert proc.stdout
            failed: BaseException | None = None
            try:
                while self._ahead:   # the answers of the calls start() sent come first; the first failure wins
                    self._ahead -= 1
                    ok, value = pickle.load(proc.stdout)
                    failed = failed or (None if ok else value)
                ok, value = pickle.load(proc.stdout)
            except EOFError as e:
                raise RuntimeError(f"the GX worker process ended (exit code {proc.poll()}); its error is above") from e
        if failed is not None:
            raise failed
        if ok:
            return cast(T, value)
        raise value

    def _send(self, fn: Callable[..., object], args: tuple) -> subprocess.Popen[bytes]:
        """Write one request to the worker, starting it first if needed (the caller holds the lock)."""
        if self._proc is None:
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(
                p for p in (str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH")) if p))
            self._proc = subprocess.Popen([sys.executable, "-m", "pipelines.background"], env=env,
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            self._ahead = 0
        proc = self._proc
        assert proc.stdin
        try:
            pickle.dump((fn, args), proc.stdin)
            proc.stdin.flush()
        except BrokenPipeError as e:
            raise RuntimeError(f"the GX worker process ended (exit code {proc.poll()}); its error is above") from e
        return proc

    @property
    def running(self) -> bool:
        """Whether the worker process is started (and not closed)."""
        return self._proc is not None

    def finish(self) -> None:
        """Wait for the calls start() sent, stop the process, and raise the first of their failures."""
        with self._lock:
            proc, self._proc = self._proc, None
            ahead, self._ahead = self._ahead, 0
        if proc is None:
            return
        assert proc.stdin and proc.stdout
        failed: BaseException | None = None
        try:
            for _ in range(ahead):
                ok, value = pickle.load(proc.stdout)
                failed = failed or (None if ok else value)
        except EOFError:
            failed = RuntimeError(f"the GX worker process ended (exit code {proc.poll()}); its error is above")
        finally:
            proc.stdin.close()
            proc.stdout.read()
            proc.wait()
        if failed is not None:
            raise failed

    def close(self) -> None:
        """Stop the process (after its last call); a later call starts a new one."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None:
            assert proc.stdin and proc.stdout
            proc.stdin.close()
            proc.stdout.read()   # answers nobody asked for (start() without a call) must not block its exit
            proc.wait()


def _serve() -> None:
    """The GX worker: run each pickled (fn, args) from stdin, answer (ok, result or exception) on stdout."""
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)   # what the libraries print goes to stderr, never into the answers
    requests = sys.stdin.buffer
    while True:
        try:
            fn, args = pickle.load(requests)
        except EOFError:   # the caller closed: every answer is out; skip tearing GX's modules down (~0.7 s)
            channel.flush()
            sys.stderr.flush()
            os._exit(0)
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
