"""Airflow 3 DAGs of the credit platform: thin TaskFlow wrappers around pipelines.tasks / pipelines.reports.

credit_collect          hourly; one mapped task per department lands + validates its new files and exchange rows
credit_publish          on the asset credit://staged (new batches, or a new day): merge + rules + publish,
                        in the one-slot pool ``credit_warehouse`` (the DuckDB file has a single writer)
credit_monthly_reports  monthly; department data-quality report from the latest internal export

Nothing heavy is imported at parse time: the pipelines package (DuckDB, Great Expectations) is imported
inside the tasks. The home directory comes from CREDIT_HOME (default ~/credit-home) on the worker.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from airflow.sdk import (
    Asset,
    CronTriggerTimetable,
    Param,
    TriggerRule,
    dag,
    get_current_context,
    task,
)

STAGED = Asset("credit://staged")                      # new validated batches are waiting for the merge
PUBLIC_EXPORT = Asset("credit://exports/public")       # a new public export version is live
INTERNAL_EXPORT = Asset("credit://exports/internal")   # a new internal export version is live
WAREHOUSE_POOL = "credit_warehouse"                    # create with 1 slot: airflow pools set credit_warehouse 1 ...
START = datetime(2026, 1, 1, tzinfo=UTC)
TAGS = ["credit"]

AS_OF_PARAM = Param(
    None, type=["null", "string"], format="date",
    description="Evaluation date YYYY-MM-DD; empty means the run's date (UTC date of run_after).",
)


def default_args(timeout: timedelta) -> dict:
    return {
        "owner": "credit-office",
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": timeout,
    }


def home_dir() -> str:
    """The pipeline home on this worker: CREDIT_HOME, default ~/credit-home (a shared volume in production)."""
    return os.path.expanduser(os.environ.get("CREDIT_HOME") or "~/credit-home")


def run_as_of(context) -> str:
    """The as-of date: the `as_of` param when given, else the UTC date of the run (asset runs have no logical date)."""
    given = (context.get("params") or {}).get("as_of")
    if given:
        return str(given)
    return context["dag_run"].run_after.astimezone(UTC).date().isoformat()


def published_as_of(home: str) -> str | None:
    """The as-of date of the live public export (None before the first publication)."""
    import json
    from pathlib import Path

    latest = Path(home) / "exports" / "public" / "latest.json"
    if not latest.exists():
        return None
    version = latest.parent / json.loads(latest.read_text(encoding="utf-8"))["path"]
    return json.loads((version / "manifest.json").read_text(encoding="utf-8")).get("as_of")


def exchange_urls() -> list[str]:
    """SQLAlchemy URLs of the exchange databases: CREDIT_EXCHANGE_URLS plus the Airflow connections named in
    CREDIT_EXCHANGE_CONN_IDS or the Variable ``credit_exchange_conn_ids`` (comma-separated conn ids)."""
    from airflow.sdk import Connection, Variable

    from pipelines.ingest.exchange import connection_url, exchange_urls_from_env

    urls = exchange_urls_from_env()
    ids = os.environ.get("CREDIT_EXCHANGE_CONN_IDS") or Variable.get("credit_exchange_conn_ids", default="") or ""
    for conn_id in (i.strip() for i in ids.split(",")):
        if conn_id:
            c = Connection.get(conn_id)
            urls.append(connection_url(c.conn_type, c.host, c.port, c.login, c.password, c.schema,
                                       c.extra_dejson))
    return urls


# --------------------------------------------------------------------------------------------------------
@dag(
    dag_id="credit_collect",
    schedule=CronTriggerTimetable("0 * * * *", timezone="UTC"),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(timedelta(hours=2)),
    params={"as_of": AS_OF_PARAM},
    tags=TAGS + ["collect"],
    doc_md="""
### credit_collect — land and validate every department's new submissions

Hourly. `departments` reads the department registry at run time; `collect` is mapped over it
(one task per department, in parallel on any worker): it lands the department's new files from
`inbox/<dept>/` and its new rows from the exchange databases, validates them and writes
Parquet/JSON only — never the warehouse. `mark_staged` then updates the asset `credit://staged`
when anything new was landed, which triggers `credit_publish` once per collection run.
A department that fails does not hold the others back (they are still published);
`all_departments_ok` fails the run so it shows red.
`mark_staged` also updates the asset when the live export's as-of date is older than this run's
(the first collection of each UTC day), so disclosure windows, list terms and overdue debts are
re-evaluated daily even when nothing was submitted; otherwise it is skipped and nothing is published.

Params: `as_of` (YYYY-MM-DD) overrides the evaluation date used by validation (default: the run's UTC date).
Exchange sources: env `CREDIT_EXCHANGE_URLS`, and Airflow connections listed in env
`CREDIT_EXCHANGE_CONN_IDS` or the Variable `credit_exchange_conn_ids`.
""",
)
def credit_collect():
    @task
    def departments() -> list[str]:
        from pipelines.tasks import department_codes

        return department_codes()

    @task(map_index_template="{{ department }}", max_active_tis_per_dagrun=8)
    def collect(department: str) -> dict:
        from pipelines.tasks import collect_and_validate

        context = get_current_context()
        context["department"] = department  # type: ignore[typeddict-unknown-key]  # names the mapped task
        return collect_and_validate(home_dir(), department, run_as_of(context), exchange_urls())

    @task(trigger_rule=TriggerRule.ALL_DONE, outlets=[STAGED])
    def mark_staged(results) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        context = get_current_context()
        done = [r for r in results if r]
        new = sum(r["files_landed"] + r["files_rejected"] for r in done)
        as_of, published = run_as_of(context), published_as_of(home_dir())
        summary = {"departments": len(done), "new_batches": new, "as_of": as_of, "published_as_of": published,
                   "accepted": sum(r["accepted"] for r in done), "quarantined": sum(r["quarantined"] for r in done)}
        if not new and published == as_of:
            raise AirflowSkipException(f"nothing new and the export is current: {summary}")
        return summary

    @task
    def all_departments_ok(results) -> int:
        return len(list(results))

    collected = collect.expand(department=departments())
    mark_staged(collected)
    all_departments_ok(collected)


# --------------------------------------------------------------------------------------------------------
@dag(
    dag_id="credit_publish",
    schedule=[STAGED],
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(timedelta(hours=3)),
    params={"as_of": AS_OF_PARAM},
    tags=TAGS + ["publish", "warehouse"],
    doc_md="""
### credit_publish — merge, evaluate the rules, publish a new export version

Runs when `credit://staged` is updated: a collection landed something, or it is the first collection
of a new UTC day (so the rules are re-evaluated on the new date even when nothing was submitted).
Trigger it by hand with `{"as_of": "YYYY-MM-DD"}` to publish as of another date. The single task runs in the pool `credit_warehouse` (**1 slot**: DuckDB allows one
writer; create it with `airflow pools set credit_warehouse 1 "single DuckDB writer"`).
The export version is named after the run (`<run_after>Z-<run_id>`), so a retried task rewrites the
same version. `as_of` = the `as_of` param, else the run's UTC date (asset-triggered runs have no
logical date; `run_after` is used). Emits `credit://exports/public` and `credit://exports/internal`.
""",
)
def credit_publish():
    @task(pool=WAREHOUSE_POOL, pool_slots=1, outlets=[PUBLIC_EXPORT, INTERNAL_EXPORT])
    def merge_and_publish() -> dict:
        from pipelines.tasks import merge_and_publish_task

        context = get_current_context()
        run = context["dag_run"]
        return merge_and_publish_task(home_dir(), run_as_of(context), run.run_id, run.run_after)

    merge_and_publish()


# --------------------------------------------------------------------------------------------------------
@dag(
    dag_id="credit_monthly_reports",
    schedule=CronTriggerTimetable("0 2 1 * *", timezone="UTC"),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(timedelta(hours=1)),
    params={"month": Param(None, type=["null", "string"], pattern=r"^\d{4}-\d{2}$",
                           description="Report month YYYY-MM; empty means the month before the run's date.")},
    tags=TAGS + ["reports"],
    doc_md="""
### credit_monthly_reports — monthly reports for the credit office

On the 1st of each month (02:00 UTC), for the month just ended (param `month` overrides):

* `department_quality`: rows accepted and quarantined per department and record type, from the
  latest internal export's `batches.parquet` → `reports/quality/<YYYY-MM>/department_quality.{parquet,xlsx}`.
* `debt_clearance`: the 清欠 monthly report per debtor body and in total, with the year to date →
  `reports/debts/<YYYY-MM>/debt_report.{parquet,xlsx,html}`.

Reads exports only; never opens the warehouse, so it needs no pool.
""",
)
def credit_monthly_reports():
    def report_month() -> str:
        from pipelines.reports.quality import previous_month

        context = get_current_context()
        month = (context.get("params") or {}).get("month")
        return month or previous_month(context["dag_run"].run_after.astimezone(UTC).date())

    @task
    def department_quality() -> dict:
        from pipelines.reports.quality import write_quality_report

        return write_quality_report(home_dir(), report_month())

    @task
    def debt_clearance() -> dict:
        from pipelines.reports.debts import debt_report

        report = debt_report(home_dir(), report_month())
        return {"month": report.month, "as_of": str(report.as_of),
                "paths": {k: str(v) for k, v in report.paths.items()}}

    department_quality()
    debt_clearance()


credit_collect()
credit_publish()
credit_monthly_reports()
