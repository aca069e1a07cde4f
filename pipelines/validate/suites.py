"""GX expectation suites, one per record type, derived from the catalogue and kept as JSON in expectations/.

Every expectation carries meta.rule (the rule name a clerk sees), meta.reason (Chinese) and
meta.severity ("error" quarantines the row; "warning" is reported and the row goes on).
The suite is the contract: the SQL validator compiles it, and GX runs it as written.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.catalog import LIST_SEPARATORS, Field, RecordType, Rule, load_catalog

EXPECTATIONS_DIR = Path(__file__).resolve().parents[2] / "expectations"
AS_OF = {"$PARAMETER": "as_of"}
ID_CARD = "身份证"


def _exp(type_: str, kwargs: dict, rule: str, reason: str, severity: str = "error") -> dict:
    return {"type": type_, "kwargs": kwargs, "meta": {"rule": rule, "reason": reason, "severity": severity}}


def _field_expectations(rt: RecordType, f: Field) -> list[dict]:
    label = f"「{f.zh}」"
    col = f.name
    out: list[dict] = []
    if f.required:
        out.append(_exp("expect_column_values_to_not_be_null", {"column": col},
                        f"{col}.required", f"必填项{label}为空"))
    if f.type == "enum":
        out.append(_exp("expect_column_values_to_be_in_set", {"column": col, "value_set": list(f.values)},
                        f"{col}.code_table", f"{label}的值不在代码表中（可选：{'、'.join(f.values)}）"))
    elif f.type == "enum_list":
        out.append(_exp("expect_column_values_to_be_delimited_subset_of_set",
                        {"column": col, "value_set": list(f.values), "separators": [";", *LIST_SEPARATORS]},
                        f"{col}.code_table", f"{label}含有代码表以外的值（多个值用；或、分隔）"))
    elif f.type == "flag":
        out.append(_exp("expect_column_values_to_be_in_set", {"column": col, "value_set": ["是", "否"]},
                        f"{col}.code_table", f"{label}只能填“是”或“否”"))
    elif f.type == "date":
        out.append(_exp("expect_column_values_to_be_credit_date", {"column": col},
                        f"{col}.date_format",
                        f"{label}不是有效日期（格式：YYYY-MM-DD、YYYY/MM/DD、YYYY年MM月DD日或YYYYMMDD）"))
        if f.not_future:
            out.append(_exp("expect_column_values_to_be_credit_date_not_after",
                            {"column": col, "max_date": AS_OF},
                            f"{col}.not_future", f"{label}晚于数据处理日期，不能是将来的日期"))
    elif f.type == "integer":
        out.append(_exp("expect_column_values_to_match_regex", {"column": col, "regex": r"^\d+$"},
                        f"{col}.integer_format", f"{label}应为非负整数"))
    elif f.type == "amount":
        kwargs: dict = {"column": col}
        bound = ""
        if f.min_exclusive is not None:
            kwargs |= {"min_value": f.min_exclusive, "strict_min": True}
            bound = f"，且须大于{f.min_exclusive:g}"
        elif f.min is not None:
            kwargs |= {"min_value": f.min, "strict_min": False}
            bound = f"，且不能小于{f.min:g}"
        out.append(_exp("expect_column_values_to_be_decimal_amount", kwargs,
                        f"{col}.amount", f"{label}应为以万元为单位的数字{bound}"))
        if f.plausible_max is not None:
            out.append(_exp("expect_column_values_to_be_decimal_amount",
                            {"column": col, "max_value": f.plausible_max},
                            f"{col}.unit_plausible",
                            f"{label}超过{f.plausible_max:g}万元，可能误用“元”为单位，请核实", "warning"))
    elif f.type == "uscc":
        out.append(_exp("expect_column_values_to_be_valid_uscc", {"column": col},
                        f"{col}.uscc_check",
                        f"{label}不是有效的统一社会信用代码（须为18位，字符合法且校验位正确）"))
        out.append(_exp("expect_column_values_to_have_valid_uscc_org_code", {"column": col},
                        f"{col}.org_code_check",
                        f"{label}第9–17位组织机构代码的校验位不符，请核实", "warning"))
    elif f.type == "id_no":
        out.append(_exp("expect_column_values_to_be_valid_resident_id",
                        {"column": col, "id_type_column": "id_type", "id_type_value": ID_CARD},
                        f"{col}.resident_id_check",
                        f"{label}不是有效的居民身份证号码（位数、出生日期或校验位错误）"))
    return out


def _rule_expectation(r: Rule) -> dict:
    when = r.when or {}
    cond = {"when_column": when.get("column")}
    if "in" in when:
        cond["when_in"] = list(when["in"])
    if "contains" in when:
        cond["when_contains"] = when["contains"]
    if r.kind == "required_when":
        return _exp("expect_column_values_to_not_be_null_when", {"column": r.column, **cond}, r.rule, r.reason)
    if r.kind == "any_present":
        return _exp("expect_multicolumn_values_to_have_one_present_when",
                    {"column_list": list(r.columns), **cond}, r.rule, r.reason)
    if r.kind == "date_order":
        return _exp("expect_column_pair_credit_dates_to_be_in_order",
                    {"column_A": r.earlier, "column_B": r.later}, r.rule, r.reason)
    if r.kind == "max_when":
        return _exp("expect_column_values_to_be_at_most_when",
                    {"column": r.column, "max_value": r.max, **cond}, r.rule, r.reason)
    raise ValueError(f"no expectation for rule kind {r.kind}")


def build_suite(rt: RecordType) -> dict:
    """The GX suite for one record type, as the JSON dict GX 1.x reads."""
    expectations = [e for f in rt.fields for e in _field_expectations(rt, f)]
    expectations += [_rule_expectation(r) for r in rt.rules]
    return {"name": rt.code, "expectations": expectations,
            "meta": {"record_type": rt.code, "zh": rt.zh, "generated_from": "pipelines/catalog"}}


def suite_path(record_type: str) -> Path:
    return EXPECTATIONS_DIR / f"{record_type}.json"


def load_suite(record_type: str) -> dict:
    """Read the suite JSON kept in the repository (the contract)."""
    return json.loads(suite_path(record_type).read_text(encoding="utf-8"))


def write_suites() -> list[Path]:
    """Regenerate expectations/*.json from the catalogue (run after changing a catalogue file)."""
    paths = []
    for rt in load_catalog().record_types.values():
        path = suite_path(rt.code)
        path.write_text(json.dumps(build_suite(rt), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in write_suites():
        print(p)
