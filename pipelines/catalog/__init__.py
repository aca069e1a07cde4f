"""The catalogue: record types, departments, list types and measures, loaded and checked once."""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

CATALOG_DIR = Path(__file__).parent
RECORD_TYPES_DIR = CATALOG_DIR / "record_types"

FIELD_TYPES = {"string", "enum", "enum_list", "date", "amount", "integer", "flag", "uscc", "id_no"}
RULE_KINDS = {"required_when", "any_present", "date_order", "max_when"}
# Separators departments use between several penalty types (submission-contract.md).
LIST_SEPARATORS = ("；", "、")


class CatalogError(ValueError):
    """The catalogue files contradict themselves or the contract."""


@dataclass(frozen=True)
class Field:
    name: str
    zh: str
    type: str
    required: bool = False
    code: str | None = None
    aliases: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    min: float | None = None
    min_exclusive: float | None = None
    plausible_max: float | None = None
    not_future: bool = False
    default: str | None = None

    @property
    def headers(self) -> tuple[str, ...]:
        """Every header spelling that maps to this field (Chinese, national code, canonical, aliases)."""
        names = [self.name, self.zh, *self.aliases]
        if self.code:
            names.append(self.code)
        return tuple(names)


@dataclass(frozen=True)
class Rule:
    rule: str
    kind: str
    reason: str
    column: str | None = None
    columns: tuple[str, ...] = ()
    when: dict | None = None
    earlier: str | None = None
    later: str | None = None
    max: float | None = None


@dataclass(frozen=True)
class RecordType:
    code: str
    zh: str
    has_subject: bool
    key: tuple[str, ...]
    fields: tuple[Field, ...]
    rules: tuple[Rule, ...]
    refers_to: dict | None = None

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.code} has no field {name!r}")

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    uscc: str


@dataclass(frozen=True)
class ListType:
    code: str
    name: str
    colour: str
    issuer_dept: str
    default_term_months: int
    early_removal_min_months: int | None


@dataclass(frozen=True)
class Measure:
    code: str
    name: str
    kind: str
    implementing_dept: str
    list_types: tuple[str, ...]


@dataclass(frozen=True)
class Catalog:
    record_types: dict[str, RecordType]
    departments: dict[str, Department]
    list_types: dict[str, ListType]
    measures: dict[str, Measure]
    header_index: dict[str, dict[str, str]] = field(default_factory=dict)

    def canonical_header(self, record_type: str, header: str) -> str | None:
        """Map a submitted header (any of the three forms) to its canonical field name."""
        return self.header_index[record_type].get(normalize_header(header))

    def record_type_for_file(self, file_name: str) -> str | None:
        """The record type a file name starts with; the longest code wins (list_entry vs list_...)."""
        stem = file_name.lower()
        matches = [code for code in self.record_types if stem.startswith(code)]
        return max(matches, key=len) if matches else None


def normalize_header(header: str) -> str:
    """Headers match regardless of surrounding spaces, full-width forms and bracket style."""
    text = unicodedata.normalize("NFKC", str(header)).strip()
    return text.replace(" ", "").replace("\u3000", "").lower()


def _read_csv(name: str) -> list[dict[str, str]]:
    with open(CATALOG_DIR / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _field(raw: dict, lookups: dict[str, tuple[str, ...]]) -> Field:
    raw = dict(raw)
    if raw.get("type") not in FIELD_TYPES:
        raise CatalogError(f"field {raw.get('name')!r} has unknown type {raw.get('type')!r}")
    if "values_from" in raw:
        raw["values"] = lookups[raw.pop("values_from")]
    raw["values"] = tuple(raw.get("values", ()))
    raw["aliases"] = tuple(raw.get("aliases", ()))
    if raw["type"] in {"enum", "enum_list"} and not raw["values"]:
        raise CatalogError(f"enum field {raw['name']!r} has no values")
    return Field(**raw)


def _rule(raw: dict, names: set[str]) -> Rule:
    raw = dict(raw)
    if raw.get("kind") not in RULE_KINDS:
        raise CatalogError(f"rule {raw.get('rule')!r} has unknown kind {raw.get('kind')!r}")
    raw["columns"] = tuple(raw.get("columns", ()))
    rule = Rule(**raw)
    used = {rule.column, rule.earlier, rule.later, *rule.columns, (rule.when or {}).get("column")} - {None}
    if missing := used - names:
        raise CatalogError(f"rule {rule.rule!r} names unknown columns {sorted(map(str, missing))}")
    return rule


@cache
def load_catalog() -> Catalog:
    """Load every catalogue file, check it, and build the header index."""
    departments = {r["code"]: Department(**r) for r in _read_csv("departments.csv")}
    list_types = {
        r["code"]: ListType(
            code=r["code"], name=r["name"], colour=r["colour"], issuer_dept=r["issuer_dept"],
            default_term_months=int(r["default_term_months"]),
            early_removal_min_months=int(r["early_removal_min_months"]) if r["early_removal_min_months"] else None,
        )
        for r in _read_csv("list_types.csv")
    }
    measures = {
        r["code"]: Measure(
            code=r["code"], name=r["name"], kind=r["kind"], implementing_dept=r["implementing_dept"],
            list_types=tuple(r["list_types"].split(";")),
        )
        for r in _read_csv("measures.csv")
    }
    for m in measures.values():
        if m.implementing_dept not in departments:
            raise CatalogError(f"measure {m.code} names unknown department {m.implementing_dept}")
        if unknown := set(m.list_types) - set(list_types):
            raise CatalogError(f"measure {m.code} names unknown list types {sorted(unknown)}")
    for lt in list_types.values():
        if lt.colour not in {"red", "black"} or lt.issuer_dept not in departments:
            raise CatalogError(f"list type {lt.code} has a bad colour or issuer")

    lookups = {"list_types": tuple(list_types), "measures": tuple(measures)}
    subject = yaml.safe_load((RECORD_TYPES_DIR / "_subject.yaml").read_text(encoding="utf-8"))
    record_types: dict[str, RecordType] = {}
    for path in sorted(RECORD_TYPES_DIR.glob("[!_]*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        if raw["code"] != path.stem:
            raise CatalogError(f"{path.name} declares code {raw['code']!r}")
        raw_fields = (subject["fields"] if raw["has_subject"] else []) + raw["fields"]
        fields = tuple(_field(f, lookups) for f in raw_fields)
        names = {f.name for f in fields}
        if len(names) != len(fields):
            raise CatalogError(f"{path.name} repeats a field name")
        raw_rules = (subject["rules"] if raw["has_subject"] else []) + raw.get("rules", [])
        rules = tuple(_rule(r, names) for r in raw_rules)
        key_names = set(raw["key"]) - {"subject_key"}
        if missing := key_names - names:
            raise CatalogError(f"{path.name} key names unknown fields {sorted(missing)}")
        record_types[raw["code"]] = RecordType(
            code=raw["code"], zh=raw["zh"], has_subject=raw["has_subject"], key=tuple(raw["key"]),
            fields=fields, rules=rules, refers_to=raw.get("refers_to"),
        )

    header_index: dict[str, dict[str, str]] = {}
    for rt in record_types.values():
        index: dict[str, str] = {}
        for f in rt.fields:
            for h in f.headers:
                k = normalize_header(h)
                if index.get(k, f.name) != f.name:
                    raise CatalogError(f"{rt.code}: header {h!r} maps to two fields")
                index[k] = f.name
        header_index[rt.code] = index
    return Catalog(record_types, departments, list_types, measures, header_index)
