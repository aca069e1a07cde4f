"""The pipeline's home directory: every path the pipeline reads or writes lives under it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pipelines.catalog import load_catalog


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def resolve(cls, home: str | Path | None = None) -> Home:
        """From --home, else CREDIT_HOME, else ./credit-home; created and initialised when missing."""
        root = Path(home or os.environ.get("CREDIT_HOME") or "credit-home").expanduser().resolve()
        h = cls(root)
        h.init()
        return h

    def init(self) -> None:
        for d in (self.inbox, self.landing, self.staged, self.quarantine_dir, self.validation, self.feedback,
                  self.exports / "public" / "versions", self.exports / "internal" / "versions", self.state):
            d.mkdir(parents=True, exist_ok=True)
        for dept in load_catalog().departments:
            (self.inbox / dept).mkdir(exist_ok=True)

    inbox = property(lambda self: self.root / "inbox")
    landing = property(lambda self: self.root / "landing")          # raw Parquet + batch manifests
    staged = property(lambda self: self.root / "staged")            # the rows validation held back, per set
    quarantine_dir = property(lambda self: self.root / "quarantine")
    validation = property(lambda self: self.root / "validation")    # GX results and Data Docs
    feedback = property(lambda self: self.root / "feedback")        # .xlsx per batch for departments
    exports = property(lambda self: self.root / "exports")
    state = property(lambda self: self.root / "state")
    warehouse = property(lambda self: self.root / "warehouse" / "credit.duckdb")


def write_atomic(path: Path, text: str) -> None:
    """Write text so that readers see the old file or the whole new one, never a part."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
