"""The functions Airflow tasks call (one each); plain Python, testable without Airflow.

Collection tasks for different departments may run in parallel: they write Parquet and JSON only.
merge_and_publish is the only writer of the DuckDB warehouse (run it in a one-slot pool).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

from pipelines.catalog import load_catalog
from pipelines.home import Home
from pipelines.ingest.files import collect_department
from pipelines.run import PassSummary, merge_and_publish, validate_pending
from pipelines.validate import feedback

log = logging.getLogger(__name__)


def department_codes() -> list[str]:
    """The department registry the collection DAG maps over."""
    return sorted(load_catalog().departments)


def collect_and_validate(home_dir: str, department: str, as_of: str,
                         exchange_urls: list[str] | None = None) -> dict:
    """Land and validate one department's new files and exchange-table rows; returns counts for XCom.

    exchange_urls: SQLAlchemy URLs of the exchange databases (default: CREDIT_EXCHANGE_URLS).
    """
    from pipelines.ingest.exchange import collect_exchange, exchange_urls_from_env

    home = Home.resolve(home_dir)
    result = collect_department(home, department)
    exchange = collect_exchange(home, exchange_urls_from_env() if exchange_urls is None else exchange_urls,
                                department)
    result.landed += [b for b in exchange if b.status == "landed"]
    result.rejected += [b for b in exchange if b.status == "rejected"]
    for b in result.rejected:
        feedback.write_batch_feedback(home, b, None, None)
    summary = PassSummary(date.fromisoformat(as_of))
    validate_pending(home, summary.as_of, summary, lambda *_: None, department=department)
    return {
        "department": department,
        "files_landed": len(result.landed),
        "files_rejected": len(result.rejected),
        "duplicates": len(result.duplicates),
        "rows": sum(v.rows for v in summary.validations),
        "accepted": sum(v.accepted for v in summary.validations),
        "quarantined": sum(v.quarantined for v in summary.validations),
    }


def run_version(run_id: str, run_after: datetime) -> str:
    """A version name from the Airflow run: sortable by the run's time, stable across task retries."""
    safe = "".join(c if c.isalnum() else "-" for c in run_id)[-40:]
    return f"{run_after.astimezone(UTC):%Y%m%dT%H%M%S}Z-{safe}"


def merge_and_publish_task(home_dir: str, as_of: str, run_id: str, run_after: datetime) -> dict:
    """Merge every validated batch, evaluate the rules on as_of, publish a version named after the run."""
    home = Home.resolve(home_dir)
    summary = PassSummary(date.fromisoformat(as_of))
    merge_and_publish(home, summary.as_of, run_after, summary, lambda *_: None, run_version(run_id, run_after))
    assert summary.public and summary.rules
    log.info("rules evaluated %s: %s", summary.rules.mode, summary.rules.reason)
    return {"version": summary.public.version, "public_rows": summary.public.rows,
            "public_path": str(summary.public.path), "rules": summary.rules.mode,
            "rules_reason": summary.rules.reason}
