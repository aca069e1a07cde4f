"""Run a record type's GX suite (expectations/<record_type>.json) over a pandas frame, and render Data Docs.

- `run_suite` validates in a process-wide *ephemeral* GX context (nothing written by GX itself) and
  writes the validation result JSON to `results_dir/<batch_id>.json`. The suite parameter `as_of`
  (`{"$PARAMETER": "as_of"}` in the JSON) is passed as a GX expectation parameter at run time.
  Columns the suite names but the frame lacks are added as all-null first, so optional columns may be
  absent; columns no expectation names are not passed to GX.
- `build_data_docs` renders Data Docs from those stored result files: it opens a *file* GX context
  (created on first use under `context_root`, by default `docs_dir.parent`, i.e. `<root>/gx/`), puts
  every stored result into that context's validation-result store, and builds one site whose HTML lands
  in `docs_dir` (index.html at its top).

GX is imported inside the functions: `import great_expectations` costs seconds, too slow for DAG parsing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, cast

import pandas as pd

from pipelines.home import write_atomic
from pipelines.validate.suites import load_suite, suite_path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

DATASOURCE = "credit_frames"
DOCS_SITE = "credit_docs"
# kwargs of an expectation that name a column of the frame
_COLUMN_KWARGS = ("column", "column_A", "column_B", "when_column", "id_type_column")
ResultFormat = Literal["BOOLEAN_ONLY", "BASIC", "SUMMARY", "COMPLETE"] | dict[str, Any]


@dataclass(frozen=True)
class SuiteRun:
    """What one validation of a frame against a record type's suite found."""

    success: bool
    unexpected_counts: dict[str, int]  # meta.rule → rows GX reported as unexpected
    element_count: int
    result_path: Path
    severities: dict[str, str] = field(default_factory=dict)  # meta.rule → "error" | "warning"
    unexpected_index_lists: dict[str, list[Any]] = field(default_factory=dict)  # only with result_format COMPLETE


class SuiteError(RuntimeError):
    """An expectation could not be evaluated (unknown type, bad kwargs, an error in a metric)."""


def suite_columns(suite: dict) -> list[str]:
    """Every column the suite's expectations refer to, in first-use order."""
    names: dict[str, None] = {}
    for expectation in suite["expectations"]:
        kwargs = expectation["kwargs"]
        for key in _COLUMN_KWARGS:
            if kwargs.get(key):
                names[kwargs[key]] = None
        for name in kwargs.get("column_list", []):
            names[name] = None
    return list(names)


@cache
def _ephemeral_context() -> Any:
    import great_expectations as gx

    import pipelines.validate.gx_custom  # noqa: F401  (registers the custom expectations)

    context = gx.get_context(mode="ephemeral")
    _quiet(context)
    context.data_sources.add_pandas(DATASOURCE)
    return context


def warm_up() -> None:
    """Import GX and build its context now (seconds), e.g. in the GX worker while DuckDB validates."""
    _ephemeral_context()


def _quiet(context: Any) -> None:
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)


def _batch_definition(record_type: str) -> Any:
    datasource = _ephemeral_context().data_sources.get(DATASOURCE)
    try:
        asset = datasource.get_asset(record_type)
    except LookupError:
        asset = datasource.add_dataframe_asset(record_type)
    try:
        return asset.get_batch_definition("whole")
    except KeyError:
        return asset.add_batch_definition_whole_dataframe("whole")


def run_suite(
    record_type: str,
    frame: pd.DataFrame,
    as_of: dt.date,
    results_dir: Path,
    batch_id: str,
    *,
    result_format: ResultFormat = "BASIC",
) -> SuiteRun:
    """Validate `frame` against the record type's suite; write the GX result to results_dir/<batch_id>.json."""
    return run_suite_json(load_suite(record_type), frame, as_of, results_dir, batch_id, result_format=result_format)


def run_suite_json(
    suite_json: dict,
    frame: pd.DataFrame,
    as_of: dt.date,
    results_dir: Path,
    batch_id: str,
    *,
    result_format: ResultFormat = "BASIC",
) -> SuiteRun:
    """Like run_suite, for a suite given as its JSON dict (its name is the record type)."""
    from great_expectations.core import ExpectationSuite
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.validator.v1_validator import Validator

    _ephemeral_context()
    record_type = suite_json["name"]
    columns = suite_columns(suite_json)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        frame = frame.assign(**{c: pd.Series(None, index=frame.index, dtype=object) for c in missing})
    frame = frame[columns]  # GX filters and hashes whole frames: columns no expectation reads only cost time
    suite = ExpectationSuite(**suite_json)
    # What Batch.validate() does inside, minus its first get_batch(): GX fingerprints (hashes) the
    # whole frame on every batch load, ~0.5 s per 200k rows.
    validator = Validator(
        batch_definition=_batch_definition(record_type),
        batch_parameters={"dataframe": frame},
        result_format=result_format,
    )
    result = validator.validate_expectation_suite(suite, expectation_parameters={"as_of": as_of.isoformat()})
    meta = cast(dict[str, Any], result.meta)  # a TypedDict in GX's stubs; extra keys serialise fine
    # run_id names the run in Data Docs (and keys it in build_data_docs)
    meta["run_id"] = RunIdentifier(run_name=batch_id, run_time=dt.datetime.now(dt.UTC))
    meta |= {"batch_id": batch_id, "as_of": as_of.isoformat(), "record_type": record_type,
             "columns_added_as_null": missing}

    results_dir.mkdir(parents=True, exist_ok=True)
    result_path = results_dir / f"{batch_id}.json"
    result_path.write_text(json.dumps(result.to_json_dict(), ensure_ascii=False, indent=1), encoding="utf-8")

    counts: dict[str, int] = {}
    indexes: dict[str, list[Any]] = {}
    severities: dict[str, str] = {}
    failures: list[str] = []
    for expectation_result in result.results:
        config = expectation_result.expectation_config
        assert config is not None
        rule = (config.meta or {}).get("rule", config.type)
        if expectation_result.exception_info.get("raised_exception"):
            failures.append(f"{rule} ({config.type}): {expectation_result.exception_info.get('exception_message')}")
            continue
        for info in expectation_result.exception_info.values():  # metric errors are keyed by metric id
            if isinstance(info, dict) and info.get("raised_exception"):
                failures.append(f"{rule} ({config.type}): {info.get('exception_message')}")
        details = expectation_result.result
        counts[rule] = counts.get(rule, 0) + int(details.get("unexpected_count") or 0)
        severities[rule] = (config.meta or {}).get("severity", "error")
        if "unexpected_index_list" in details:
            indexes[rule] = list(details["unexpected_index_list"])
    if failures:
        raise SuiteError(f"{record_type}: {len(failures)} expectation(s) errored, see {result_path}: "
                         + "; ".join(failures))
    return SuiteRun(
        success=bool(result.success),
        unexpected_counts=counts,
        element_count=len(frame),
        result_path=result_path,
        severities=severities,
        unexpected_index_lists=indexes,
    )


STORED_RESULTS = ".stored-results.json"   # in docs_dir: result file name → its key in the validation store
# The index page links the most recent results only (those of the last ~20 passes: a pass adds one per record type).
# GX's index builder loads every result it links (its JSON, through marshmallow) on each build, so an unbounded index
# costs the GX worker, which renders beside the warehouse steps, more CPU every pass: with 1,500 stored results of a
# 10M city, adding a pass's ten took 4.4-4.6 s unbounded, 3.9-5.1 s at 1,000 linked and 1.8-2.0 s at 100. Older
# results keep their pages (docs_dir/validations/...); only the index stops listing them.
INDEX_RESULTS = 200


def build_data_docs(results_dir: Path, docs_dir: Path, context_root: Path | None = None) -> Path:
    """Render GX Data Docs for every result JSON in results_dir into docs_dir; returns docs_dir/index.html.

    Incremental: results rendered by an earlier call (listed in docs_dir/.stored-results.json) are neither
    parsed nor rendered again; results no longer in results_dir leave the store and the index. The index links
    the INDEX_RESULTS most recent results (by run time).
    """
    import great_expectations as gx
    from great_expectations.core import ExpectationSuite
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    import pipelines.validate.gx_custom  # noqa: F401  (renderers need the custom expectation classes)

    docs_dir = docs_dir.resolve()
    context = gx.get_context(mode="file", project_root_dir=context_root or docs_dir.parent)
    _quiet(context)
    site: Any = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "validation_results_limit": INDEX_RESULTS},
    }
    if DOCS_SITE not in context.list_data_docs_sites():
        context.add_data_docs_site(DOCS_SITE, site)
    elif context.list_data_docs_sites()[DOCS_SITE] != site:
        context.update_data_docs_site(DOCS_SITE, site)

    # Which result files the store (and the site) already hold: parsing and rendering every stored result on
    # every pass grows with the number of passes ever run; only new results are stored and rendered.
    ledger_path = docs_dir / STORED_RESULTS
    index = docs_dir / "index.html"
    stored: dict[str, list] = (json.loads(ledger_path.read_text(encoding="utf-8"))
                               if ledger_path.exists() and index.exists() else {})
    files = {p.name: p for p in results_dir.glob("*.json")}
    store = context.validation_results_store
    removed = sorted(stored.keys() - files.keys())
    for name in removed:  # results removed from results_dir leave the store and the index too
        key = ValidationResultIdentifier.from_tuple(tuple(stored.pop(name)))
        if store.has_key(key):
            store.remove_key(key)
    schema = ExpectationSuiteValidationResultSchema()
    new: list[Any] = []
    suites: dict[str, Any] = {}
    for name in sorted(files.keys() - stored.keys()):
        path = files[name]
        result = schema.load(json.loads(path.read_text(encoding="utf-8")))
        suite_name = result.suite_name
        if suite_name not in suites and suite_path(suite_name).exists():  # the suite gets its own page
            context.suites.add_or_update(ExpectationSuite(**load_suite(suite_name)))
            suites[suite_name] = ExpectationSuiteIdentifier(name=suite_name)
        run_id = result.meta.get("run_id")
        if not isinstance(run_id, RunIdentifier):
            run_id = RunIdentifier(**(run_id or {"run_name": path.stem, "run_time": "1970-01-01T00:00:00+00:00"}))
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite_name),
            run_id=run_id,
            batch_identifier=path.stem,
        )
        store.set(key, result)
        stored[name] = list(key.to_tuple())
        new.append(key)
    if new or removed or not index.exists():
        # The first build renders every stored resource; later ones only the new pages, and the index.
        full = not index.exists()
        if full:
            keys = {tuple(k) for k in stored.values()}
            for stale in store.list_keys():
                if stale.to_tuple() not in keys:
                    store.remove_key(stale)
        context.build_data_docs(site_names=[DOCS_SITE],
                                resource_identifiers=None if full else new + list(suites.values()))
    docs_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(ledger_path, json.dumps(stored, ensure_ascii=False))
    return docs_dir / "index.html"
