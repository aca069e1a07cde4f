"""The questions the credit office asks of the rule results: a subject's file, its measures, an inspection draw."""

from __future__ import annotations

import duckdb

from pipelines.validate.sql import lit


def resolve_subject(con: duckdb.DuckDBPyConnection, identifier: str) -> str | None:
    """subject_key for a USCC, identity number (15 or 18), organisation code or business registration number."""
    v = lit(identifier)
    row = con.sql(f"""
        select subject_key from subjects where subject_key in (norm_code({v}), 'P:' || rid18({v}), 'P:' || norm_code({v}))
        union all
        select subject_key from subject_links where alias_key in ('ORG:' || norm_code({v}), 'REG:' || norm_code({v}))
        limit 1""").fetchall()
    return row[0][0] if row else None


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    rel = con.sql(sql)
    return [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]


def subject_file(con: duckdb.DuckDBPyConnection, subject_key: str) -> dict:
    """Everything on file for one subject on the evaluated as_of, with the reason for each record's state."""
    k = lit(subject_key)
    return {
        "subject": _rows(con, f"select * from subjects where subject_key = {k}"),
        "names": _rows(con, f"select subject_name, first_seen_at, last_seen_at from subject_names "
                            f"where subject_key = {k} order by first_seen_at"),
        "dishonesty": _rows(con, f"""
            select w.record_type, w.decision_no, w.decision_date, w.class, w.regime, w.is_disclosable,
                   w.repairable_from, w.disclosure_until,
                   coalesce(p.hidden_reason, o.hidden_reason, 'public') as state
            from dishonesty_windows as w
            left join mart_penalties as p using (record_id)
            left join mart_other_dishonesty as o using (record_id)
            where w.subject_key = {k} order by w.decision_date"""),
        "licenses": _rows(con, f"select decision_no, license_content, valid_from, valid_to, status, "
                               f"coalesce(hidden_reason, 'public') as state from mart_licenses "
                               f"where subject_key = {k} order by decision_date"),
        "commitments": _rows(con, f"select commitment_no, commitment_type, commit_date, fulfilment, "
                                  f"coalesce(hidden_reason, 'public') as state from mart_commitments "
                                  f"where subject_key = {k} order by commit_date"),
        "lists": _rows(con, f"select list_type, list_name, colour, decision_no, valid_from, effective_valid_to, "
                            f"removed_on, repaired_on, state from list_memberships where subject_key = {k} "
                            f"order by valid_from"),
        "measures": measures_for(con, subject_key),
        "gov_dishonesty": _rows(con, f"select ledger_no, contract_no, overdue_days, outstanding_amount, "
                                     f"dishonest_since from gov_dishonesty where debtor_uscc = {k}"),
        "grade": _rows(con, f"select grade, inspection_ratio_min, inspection_ratio_max, reasons from subject_grades "
                            f"where subject_key = {k}"),
    }


def measures_for(con: duckdb.DuckDBPyConnection, subject_key: str, department: str | None = None) -> list[dict]:
    """Which measures apply to the subject on as_of, by which department, on what basis."""
    dept = f"and implementing_dept = {lit(department)}" if department else ""
    return _rows(con, f"""
        select implementing_dept, measure_code, measure_name, kind, list_type, basis_decision_no, valid_from, valid_to
        from discipline_targets where subject_key = {lit(subject_key)} {dept}
        order by implementing_dept, measure_code""")


def inspection_sample(con: duckdb.DuckDBPyConnection, department: str, size: int, seed: int) -> list[dict]:
    """A reproducible 双随机 draw of subjects weighted by grade (weight = the grade's mid sampling ratio).

    The population is every subject with a record submitted by the department. Weighted sampling without
    replacement (Efraimidis–Spirakis): each subject gets key u^(1/w) with u from a seeded hash; the
    largest keys win, so the same seed and data give the same draw.
    """
    return _rows(con, f"""
        with population as (
            select distinct subject_key from subject_departments where department = {lit(department)}
        ),
        weighted as (
            select g.subject_key, g.subject_name, g.grade,
                   (g.inspection_ratio_min + g.inspection_ratio_max) / 2 as weight,
                   ((hash({seed}::bigint, g.subject_key) % 1000000007) + 1) / 1000000008.0 as u
            from subject_grades as g join population using (subject_key)
        )
        select subject_key, subject_name, grade, round(weight, 3) as weight
        from weighted
        order by pow(u, 1.0 / greatest(weight, 0.0001)) desc, subject_key
        limit {int(size)}""")
