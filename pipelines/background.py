"""Work on one background thread beside DuckDB."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor


class SideWork:
    """One background thread for Python-side work that can run while DuckDB (native code, GIL released) goes
    on: feedback workbooks and GX cross-checks during validation, Data Docs during the warehouse steps, file
    hashes during publish. wait() joins it and re-raises the first failure (or, with raise_errors=False,
    only joins it)."""

    def __init__(self, name: str = "validate-side") -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self.jobs: list[Future] = []

    def submit(self, fn: Callable[..., object], *args: object) -> None:
        self.jobs.append(self.pool.submit(fn, *args))

    def wait(self, raise_errors: bool = True) -> None:
        try:
            for job in self.jobs:
                if raise_errors:
                    job.result()
                else:
                    job.exception()
        finally:
            self.pool.shutdown(wait=True)
