"""What is published (publication-contract.md), as data: files, their source marts and their columns."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.catalog import load_catalog

SCHEMA_VERSION = "1.0"
# The internal export's own layout version. 2.0: record history is history/<type>/part-<first>-<last>.parquet
# (immutable parts by version_seq, without superseded_at) instead of one history_<type>.parquet per type;
# read it through pipelines.publish.exports.history_relation, which derives superseded_at.
# 3.0: <type>_status.parquet holds what the rules decided per record (record_id, version_seq, subject_key and
# the StatusFile.derived columns), not the record's columns again: analyst.duckdb's <type>_status view joins it to
# the record version in history by version_seq (the whole status row, as before).
# 4.0: the status files and the rule tables dishonesty_windows, repair_outcomes, list_removals_checked and
# list_memberships are rule state: state/<table>/base-<version>.parquet, with delta-/scope-<version>.parquet when
# the rules were scoped (pipelines/publish/state.py); read them through state.internal_relation, or the
# analyst.duckdb views of the same names. public_rows (the hash of every public row) is state too: what the next
# scoped pass compares for changes.parquet.
# 4.1: the state of the status files of the record marts (penalties, licenses, commitments, other dishonesty) and of
# public_rows is kept by record: their scope-<version>.parquet names record_ids, not subject_keys (a state table's
# key is the column of its scope file; state.state_relation reads either).
# 4.2: the state of dishonesty_windows is kept by record too (a scoped pass decides the windows of the records merged
# since, not of every record of the subjects in scope: pipelines/rules/scope.py, scoped_windows).
# 4.3: debt_payments (the checked payments of the debt ledger) is rule state kept by ledger item, state/debt_payments/,
# not debt_payments.parquet (a scoped pass checks again only the items with a payment or ledger version merged since).
# 4.4: public_segments/<public file stem>/seg-<version>-<n>.parquet: the segments each public file is glued from
# (pipelines/publish/segments.py), so that a scoped version rewrites only the segments its changes touch.
INTERNAL_SCHEMA_VERSION = "4.4"

COMMON_COLUMNS = ("record_id", "subject_name", "subject_category", "uscc", "id_no_masked", "source_unit")


@dataclass(frozen=True)
class PublicFile:
    name: str
    mart: str
    where: str
    columns: tuple[str, ...]
    # The date a row leaves the file on by the rules, if it has one (a window's or a term's end): its segments are
    # written in this order, so that a day's expiries fall in the one or two segments that hold that date
    # (pipelines/publish/segments.py).
    leaves: str | None = None

    @property
    def all_columns(self) -> tuple[str, ...]:
        return COMMON_COLUMNS + self.columns


PUBLIC_FILES = (
    PublicFile("penalties.parquet", "mart_penalties", "true", (
        "decision_no", "violation_type", "violation_facts", "legal_basis", "penalty_types", "penalty_content",
        "fine_amount", "confiscated_amount", "decision_date", "disclosure_until", "authority", "severity"),
        "disclosure_until"),
    PublicFile("licenses.parquet", "mart_licenses", "true", (
        "decision_no", "license_category", "certificate_name", "license_no", "license_content", "decision_date",
        "valid_from", "valid_to", "authority", "status"), "valid_to"),
    PublicFile("blacklist.parquet", "mart_lists", "colour = 'black'", (
        "list_type", "list_name", "decision_no", "reason", "decision_date", "valid_from", "valid_to", "authority"),
        "valid_to"),
    PublicFile("redlist.parquet", "mart_lists", "colour = 'red'", (
        "list_type", "list_name", "decision_no", "reason", "decision_date", "valid_from", "valid_to", "authority"),
        "valid_to"),
    PublicFile("commitments.parquet", "mart_commitments", "true", (
        "commitment_no", "commitment_type", "matter", "content", "commit_date", "fulfilment")),
    PublicFile("other_dishonesty.parquet", "mart_other_dishonesty", "true", (
        "event_no", "category", "description", "amount", "event_date", "severity", "disclosure_until"),
        "disclosure_until"),
)

@dataclass(frozen=True)
class StatusFile:
    """An internal <type>_status.parquet: per current record of a status mart, what the rules decided on as_of.

    derived: the mart's columns the rules compute or rename (a column of the same name in the record, such as
    a list entry's valid_to, is the record's own value and differs); every other mart column is the record's
    own and is read from its version in history.
    """
    name: str
    mart: str
    record_type: str
    derived: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return ("record_id", "version_seq", "subject_key") + self.derived


_SHOWN = ("uscc", "id_no_masked")   # uscc blanked for natural persons, the masked identity number
STATUS_FILES = (
    StatusFile("penalties_status.parquet", "mart_penalties", "admin_penalty",
               _SHOWN + ("disclosure_until", "severity", "regime", "hidden_reason")),
    StatusFile("licenses_status.parquet", "mart_licenses", "admin_license", _SHOWN + ("hidden_reason",)),
    StatusFile("lists_status.parquet", "mart_lists", "list_entry",
               _SHOWN + ("colour", "list_name", "source_unit", "valid_to", "state", "hidden_reason")),
    StatusFile("commitments_status.parquet", "mart_commitments", "commitment",
               _SHOWN + ("source_unit", "hidden_reason")),
    StatusFile("other_dishonesty_status.parquet", "mart_other_dishonesty", "other_dishonesty",
               _SHOWN + ("disclosure_until", "hidden_reason")),
)

# Why a record left a public file, as changes.parquet names it; anything else counts as a correction.
DELETE_REASONS = {"repaired": "repaired", "expired": "expired", "removed": "removed", "withdrawn": "withdrawn",
                  "suspended": "suspended"}

EXTRA_LABELS = {
    "record_id": "记录标识", "id_no_masked": "证件号码（脱敏）", "list_name": "名单名称",
    "disclosure_until": "公示截止日期", "severity": "失信严重程度", "op": "变更类型", "file": "文件",
    "reason": "原因", "source_unit": "数据来源单位",
}


def column_label(name: str) -> str:
    """The Chinese label of a published column (catalogue header where one exists)."""
    if name in EXTRA_LABELS:
        return EXTRA_LABELS[name]
    for rt in load_catalog().record_types.values():
        for f in rt.fields:
            if f.name == name:
                return f.zh
    return name
