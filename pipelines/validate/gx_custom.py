"""Custom Great Expectations (1.24) expectations for credit records, pandas engine only; registered on import.

Each expectation is a GX map expectation backed by a map metric whose pandas condition is vectorised
(identifier and date rules live in pipelines.validate.identifiers). Null values pass, except in
`expect_column_values_to_not_be_null_when` and `expect_multicolumn_values_to_have_one_present_when`,
whose point is to find them.

Two GX details shape the code:
- Metrics set `filter_column_isnull = False` and let nulls pass in the condition instead: GX's default
  filters the whole frame (every column) per expectation, which was most of the run time at 200k rows.
  GX still counts success over non-null rows, as for its own expectations.
- The "…_when" expectations and the resident-ID check read a second column (`when_column`,
  `id_type_column`) outside the GX domain: `_frame_condition` is GX's pandas condition partial with the
  whole compute-domain frame handed to the condition.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any, Literal

import pandas as pd
from great_expectations.core.metric_domain_types import MetricDomainTypes
from great_expectations.core.metric_function_types import (
    MetricPartialFunctionTypes,
    SummarizationMetricNameSuffixes,
)
from great_expectations.core.suite_parameters import SuiteParameterDict
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import (
    ColumnMapExpectation,
    ColumnPairMapExpectation,
    MulticolumnMapExpectation,
    _format_map_output,
    parse_result_format,
)
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    column_condition_partial,
)
from great_expectations.expectations.metrics.map_metric_provider.column_pair_condition_partial import (
    column_pair_condition_partial,
)
from great_expectations.expectations.metrics.map_metric_provider.column_pair_map_metric_provider import (
    ColumnPairMapMetricProvider,
)
from great_expectations.expectations.metrics.map_metric_provider.multicolumn_map_metric_provider import (
    MulticolumnMapMetricProvider,
)
from great_expectations.expectations.metrics.metric_provider import metric_partial
from great_expectations.expectations.metrics.util import get_dbms_compatible_metric_domain_kwargs
from great_expectations.render import LegacyRendererType, RenderedStringTemplateContent
from great_expectations.render.renderer.renderer import renderer

from pipelines.validate import identifiers

_NUMBER = r"-?[0-9]+(?:\.[0-9]+)?"
_CONDITION_KEYS = ("when_column", "when_in", "when_contains")
_UNEXPECTED_COUNT = SummarizationMetricNameSuffixes.UNEXPECTED_COUNT.value

CUSTOM_EXPECTATION_TYPES = (
    "expect_column_values_to_be_credit_date",
    "expect_column_values_to_be_credit_date_not_after",
    "expect_column_values_to_be_decimal_amount",
    "expect_column_values_to_be_delimited_subset_of_set",
    "expect_column_values_to_be_valid_uscc",
    "expect_column_values_to_have_valid_uscc_org_code",
    "expect_column_values_to_be_valid_resident_id",
    "expect_column_values_to_not_be_null_when",
    "expect_column_values_to_be_at_most_when",
    "expect_multicolumn_values_to_have_one_present_when",
    "expect_column_pair_credit_dates_to_be_in_order",
)


# ---------------------------------------------------------------- shared helpers


def _frame_condition(domain_type: MetricDomainTypes) -> Callable[[Callable[..., pd.Series]], Any]:
    """GX pandas map-condition partial whose function gets the whole frame and the domain's column names.

    Same domain and compute frame as GX's column/multicolumn condition partials, so GX's unexpected
    count, values and index metrics line up with the returned "row meets the expectation" series."""

    def wrapper(condition: Callable[..., pd.Series]) -> Any:
        @metric_partial(
            engine=PandasExecutionEngine,
            partial_fn_type=MetricPartialFunctionTypes.MAP_CONDITION_SERIES,
            domain_type=domain_type,
        )
        @wraps(condition)
        def inner(cls, execution_engine, metric_domain_kwargs, metric_value_kwargs, metrics, runtime_configuration):
            domain_kwargs = get_dbms_compatible_metric_domain_kwargs(
                metric_domain_kwargs=metric_domain_kwargs, batch_columns_list=metrics["table.columns"]
            )
            frame, compute_kwargs, accessor_kwargs = execution_engine.get_compute_domain(
                domain_kwargs=domain_kwargs, domain_type=domain_type
            )
            meets = condition(cls, frame, **accessor_kwargs, **metric_value_kwargs)
            return ~meets, compute_kwargs, accessor_kwargs

        return inner

    return wrapper


def _when(frame: pd.DataFrame, when_column: str, when_in: list[str] | None, when_contains: str | None) -> pd.Series:
    """Rows a conditional rule applies to: when_column's value is in when_in or contains when_contains."""
    if when_in is None and when_contains is None:
        raise ValueError("a conditional expectation needs when_in or when_contains")
    values = frame[when_column]
    applies = pd.Series(False, index=frame.index)
    if when_in is not None:
        applies |= values.isin(when_in)
    if when_contains is not None:
        applies |= values.astype("str").str.contains(when_contains, regex=False).fillna(False).astype(bool)
    return applies


def _numbers(values: pd.Series, *, trim: bool) -> pd.Series:
    """Values written as plain decimals (-?digits[.digits]) as floats; NaN for anything else."""
    text = values.astype("str")
    if trim:
        text = text.str.strip()
    return pd.to_numeric(text.where(text.str.fullmatch(_NUMBER).fillna(False).astype(bool)), errors="coerce")


def _delimited_subset_pattern(value_set: list[str], separators: list[str]) -> str:
    """A full-match regex for "one or more items of value_set, split on separators, items trimmed"."""
    space = identifiers.WHITESPACE_CLASS
    sep = "(?:" + "|".join(re.escape(s) for s in separators) + ")"
    item = "(?:" + "|".join(re.escape(v) for v in sorted(value_set, key=len, reverse=True)) + ")"
    gap = f"(?:{space}|{sep})*"
    return f"{gap}{item}(?:{space}*{sep}{gap}{item})*{gap}"


class _Described:
    """Data Docs show a custom expectation as its rule and the clerk's reason (meta), not as raw kwargs."""

    @classmethod
    @renderer(renderer_type=LegacyRendererType.PRESCRIPTIVE)
    def _prescriptive_renderer(cls, configuration=None, result=None, runtime_configuration=None, **kwargs):
        configuration = configuration or (result.expectation_config if result else None)
        meta = (configuration.meta if configuration else None) or {}
        return [
            RenderedStringTemplateContent(
                content_block_type="string_template",
                string_template={
                    "template": "$rule: $reason",
                    "params": {"rule": meta.get("rule", cls.__name__), "reason": meta.get("reason", "")},
                },
            )
        ]


class _NullPasses(ColumnMapMetricProvider):
    """Column metric whose condition itself lets nulls pass (see module docstring)."""

    filter_column_isnull = False


# ---------------------------------------------------------------- single column, null passes


class ColumnValuesCreditDate(_NullPasses):
    condition_metric_name = "column_values.credit_date"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: Any) -> pd.Series:
        return column.isna() | identifiers.parse_credit_date(column).notna()


class ExpectColumnValuesToBeCreditDate(_Described, ColumnMapExpectation):
    """Values are real dates (1900–2099) written YYYY-MM-DD, YYYY/MM/DD, YYYY年MM月DD日 or YYYYMMDD."""

    map_metric = "column_values.credit_date"


class ColumnValuesCreditDateNotAfter(_NullPasses):
    condition_metric_name = "column_values.credit_date_not_after"
    condition_value_keys = ("max_date",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, max_date: Any, **kwargs: Any) -> pd.Series:
        return ~(identifiers.parse_credit_date(column) > pd.Timestamp(str(max_date)[:10]))


class ExpectColumnValuesToBeCreditDateNotAfter(_Described, ColumnMapExpectation):
    """Dates that parse are not after max_date (an ISO date; in the suites the parameter `as_of`)."""

    max_date: str | SuiteParameterDict
    map_metric = "column_values.credit_date_not_after"
    success_keys = ("mostly", "max_date")


class ColumnValuesDecimalAmount(_NullPasses):
    condition_metric_name = "column_values.decimal_amount"
    condition_value_keys = ("min_value", "strict_min", "max_value")

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, min_value=None, strict_min=False, max_value=None, **kwargs) -> pd.Series:
        amount = _numbers(column, trim=True)
        ok = amount.notna()
        if min_value is not None:
            ok &= (amount > min_value) if strict_min else (amount >= min_value)
        if max_value is not None:
            ok &= amount <= max_value
        return column.isna() | ok


class ExpectColumnValuesToBeDecimalAmount(_Described, ColumnMapExpectation):
    """Trimmed values are plain decimals (-?digits[.digits]) within the optional bounds."""

    min_value: float | None = None
    strict_min: bool = False
    max_value: float | None = None
    map_metric = "column_values.decimal_amount"
    success_keys = ("mostly", "min_value", "strict_min", "max_value")


class ColumnValuesDelimitedSubsetOfSet(_NullPasses):
    condition_metric_name = "column_values.delimited_subset_of_set"
    condition_value_keys = ("value_set", "separators")

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, value_set: list[str], separators: list[str], **kwargs) -> pd.Series:
        pattern = _delimited_subset_pattern(value_set, separators)
        return column.isna() | column.astype("str").str.fullmatch(pattern).fillna(False).astype(bool)


class ExpectColumnValuesToBeDelimitedSubsetOfSet(_Described, ColumnMapExpectation):
    """Values split on any separator give at least one item, and every (trimmed) item is in value_set."""

    value_set: list[str]
    separators: list[str]
    map_metric = "column_values.delimited_subset_of_set"
    success_keys = ("mostly", "value_set", "separators")


class ColumnValuesValidUscc(_NullPasses):
    condition_metric_name = "column_values.valid_uscc"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: Any) -> pd.Series:
        return column.isna() | identifiers.uscc_is_valid(column)


class ExpectColumnValuesToBeValidUscc(_Described, ColumnMapExpectation):
    """Normalised values are unified social credit codes (18 chars of the alphabet, correct check char)."""

    map_metric = "column_values.valid_uscc"


class ColumnValuesValidUsccOrgCode(_NullPasses):
    condition_metric_name = "column_values.valid_uscc_org_code"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: Any) -> pd.Series:
        codes = identifiers.normalize_code(column)
        return ~identifiers.uscc_is_valid(codes) | identifiers.uscc_org_code_is_valid(codes)


class ExpectColumnValuesToHaveValidUsccOrgCode(_Described, ColumnMapExpectation):
    """Valid USCCs carry a correct GB 11714 check char at position 17 (invalid USCCs pass: another rule)."""

    map_metric = "column_values.valid_uscc_org_code"


# ---------------------------------------------------------------- conditions on a second column


class ColumnValuesValidResidentId(_NullPasses):
    condition_metric_name = "column_values.valid_resident_id"
    condition_value_keys = ("id_type_column", "id_type_value")

    @_frame_condition(MetricDomainTypes.COLUMN)
    def _pandas(cls, frame: pd.DataFrame, column: str, id_type_column: str, id_type_value: str, **kwargs):
        checked = (frame[id_type_column] == id_type_value).fillna(False).astype(bool) & frame[column].notna()
        return ~checked | identifiers.resident_id_is_valid(frame[column])


class ExpectColumnValuesToBeValidResidentId(_Described, ColumnMapExpectation):
    """Where id_type_column equals id_type_value (身份证), values are valid resident identity numbers."""

    id_type_column: str
    id_type_value: str
    map_metric = "column_values.valid_resident_id"
    success_keys = ("mostly", "id_type_column", "id_type_value")


class ColumnValuesNotNullWhen(_NullPasses):
    condition_metric_name = "column_values.not_null_when"
    condition_value_keys = _CONDITION_KEYS

    @_frame_condition(MetricDomainTypes.COLUMN)
    def _pandas(cls, frame: pd.DataFrame, column: str, when_column, when_in=None, when_contains=None, **kwargs):
        return ~_when(frame, when_column, when_in, when_contains) | frame[column].notna()


class ExpectColumnValuesToNotBeNullWhen(_Described, ColumnMapExpectation):
    """Rows whose when_column is in when_in (or contains when_contains) have a value in column."""

    when_column: str
    when_in: list[str] | None = None
    when_contains: str | None = None
    map_metric = "column_values.not_null_when"
    success_keys = ("mostly", *_CONDITION_KEYS)

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None, execution_engine=None):
        # ColumnMapExpectation judges success over non-null rows only; here the nulls are what fails,
        # so judge over all rows, as GX's own expect_column_values_to_not_be_null does.
        result_format = parse_result_format(self._get_result_format(runtime_configuration=runtime_configuration))
        total = metrics.get("table.row_count") or 0
        unexpected = metrics.get(f"{self.map_metric}.{_UNEXPECTED_COUNT}")
        success = total == 0 or (total - (unexpected or 0)) / total >= self._get_success_kwarg("mostly")

        def metric(suffix: SummarizationMetricNameSuffixes) -> Any:
            return metrics.get(f"{self.map_metric}.{suffix.value}")

        return _format_map_output(
            result_format=result_format,
            success=success,
            element_count=total,
            nonnull_count=None,
            unexpected_count=unexpected,
            unexpected_list=metric(SummarizationMetricNameSuffixes.UNEXPECTED_VALUES),
            unexpected_index_list=metric(SummarizationMetricNameSuffixes.UNEXPECTED_INDEX_LIST),
            unexpected_index_query=metric(SummarizationMetricNameSuffixes.UNEXPECTED_INDEX_QUERY),
            unexpected_index_column_names=result_format.get("unexpected_index_column_names"),
        )


class ColumnValuesAtMostWhen(_NullPasses):
    condition_metric_name = "column_values.at_most_when"
    condition_value_keys = ("max_value", *_CONDITION_KEYS)

    @_frame_condition(MetricDomainTypes.COLUMN)
    def _pandas(cls, frame, column: str, max_value, when_column, when_in=None, when_contains=None, **kwargs):
        too_big = (_numbers(frame[column], trim=False) > max_value).fillna(False).astype(bool)
        return ~(_when(frame, when_column, when_in, when_contains) & too_big)


class ExpectColumnValuesToBeAtMostWhen(_Described, ColumnMapExpectation):
    """Rows meeting the condition whose value is a number have value ≤ max_value."""

    max_value: float
    when_column: str
    when_in: list[str] | None = None
    when_contains: str | None = None
    map_metric = "column_values.at_most_when"
    success_keys = ("mostly", "max_value", *_CONDITION_KEYS)


class MulticolumnValuesOnePresentWhen(MulticolumnMapMetricProvider):
    condition_metric_name = "multicolumn_values.one_present_when"
    condition_value_keys = _CONDITION_KEYS

    @_frame_condition(MetricDomainTypes.MULTICOLUMN)
    def _pandas(cls, frame, column_list: list[str], when_column, when_in=None, when_contains=None, **kwargs):
        return ~_when(frame, when_column, when_in, when_contains) | frame[column_list].notna().any(axis=1)


class ExpectMulticolumnValuesToHaveOnePresentWhen(_Described, MulticolumnMapExpectation):
    """Rows meeting the condition have a value in at least one column of column_list."""

    when_column: str
    when_in: list[str] | None = None
    when_contains: str | None = None
    ignore_row_if: Literal["all_values_are_missing", "any_value_is_missing", "never"] = "never"
    map_metric = "multicolumn_values.one_present_when"
    success_keys = ("mostly", *_CONDITION_KEYS)


# ---------------------------------------------------------------- column pair


class ColumnPairCreditDatesInOrder(ColumnPairMapMetricProvider):
    condition_metric_name = "column_pair_values.credit_dates_in_order"

    @column_pair_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_A: pd.Series, column_B: pd.Series, **kwargs: Any) -> pd.Series:
        earlier, later = identifiers.parse_credit_date(column_A), identifiers.parse_credit_date(column_B)
        return ~(earlier > later)


class ExpectColumnPairCreditDatesToBeInOrder(_Described, ColumnPairMapExpectation):
    """Where both columns parse as credit dates, column_A is on or before column_B."""

    ignore_row_if: Literal["both_values_are_missing", "either_value_is_missing", "neither"] = (
        "either_value_is_missing"  # a missing date cannot be out of order
    )
    map_metric = "column_pair_values.credit_dates_in_order"
    success_keys = ("mostly", "ignore_row_if")
