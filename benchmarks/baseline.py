"""The approach a team would usually write, on the same inbox: pandas + GX on whole frames.

Per record type (the memory-friendly way to write it):
  read      every file with pandas (`read_csv(dtype=str)`, UTF-8 first and GB18030 when that fails to decode;
            `read_excel` for .xlsx), map headers with the catalogue, trim cells, empty → null
  validate  the record type's GX suite on the whole DataFrame of each file (`run_suite`, result_format
            COMPLETE so the rows breaking an error-severity expectation can be dropped)
  merge     concat the file frames, keep the latest row per record key (`sort_values` + `drop_duplicates`)
  write     `DataFrame.to_parquet` (pyarrow, pandas' default compression)

Files it cannot use (unknown record type or department, undecodable, not a table, required columns missing)
are skipped and counted, as our pass rejects them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import pandas as pd

from benchmarks import Meter

TRIM = " \t\r\n\u3000"


def _inbox_files(inbox: Path) -> list[tuple[str, Path]]:
    return sorted((p.parent.name, p) for p in inbox.rglob("*")
                  if p.is_file() and p.suffix.lower() in (".csv", ".xlsx") and not p.name.startswith((".", "~$")))


def _read(path: Path) -> pd.DataFrame:
    if path.suffix.lower() == ".xlsx":
        raw = pd.read_excel(path, dtype=str, header=None, engine="calamine")
        raw = raw.dropna(how="all").reset_index(drop=True)
        frame = raw.iloc[1:].reset_index(drop=True)
        frame.columns = [str(c) for c in raw.iloc[0]]
        return frame
    opts = dict(dtype=str, keep_default_na=False, na_values=[""])
    try:
        return pd.read_csv(path, encoding="utf-8-sig", **opts)
    except UnicodeDecodeError:
        return pd.read_csv(path, encoding="gb18030", **opts)


def _map_headers(catalog, record_type: str, frame: pd.DataFrame) -> pd.DataFrame | None:
    rename: dict[str, str] = {}
    for col in frame.columns:
        name = catalog.canonical_header(record_type, str(col))
        if name and name not in rename.values():
            rename[col] = name
    frame = frame[list(rename)].rename(columns=rename)
    rt = catalog.record_types[record_type]
    if any(f.required and f.name not in frame.columns for f in rt.fields):
        return None
    for col in frame.columns:
        s = frame[col].str.strip(TRIM)
        frame[col] = s.where(s != "")
    return frame


def _subject_key(frame: pd.DataFrame) -> pd.Series:
    def norm(col: str) -> pd.Series:
        if col not in frame.columns:
            return pd.Series(None, index=frame.index, dtype=object)
        s = frame[col].str.replace(r"[\s\u3000]", "", regex=True).str.upper()
        return s.where(s != "")

    person = "P:" + norm("id_no")
    org = norm("uscc").fillna("ORG:" + norm("org_code")).fillna("REG:" + norm("business_reg_no"))
    org = org.fillna("NAME:" + frame["subject_name"])
    return person.where(frame["subject_category"] == "自然人", org)


def run_baseline(home: Path, out: Path, as_of: dt.date, meter: Meter) -> dict:
    from pipelines.catalog import load_catalog
    from pipelines.validate.gx_runner import run_suite

    catalog = load_catalog()
    by_type: dict[str, list[tuple[str, Path]]] = defaultdict(list)
    skipped: list[tuple[str, str, str]] = []
    for dept, path in _inbox_files(home / "inbox"):
        rt = catalog.record_type_for_file(path.name)
        if rt is None or dept not in catalog.departments:
            skipped.append((dept, path.name, "record type or department unknown"))
            continue
        by_type[rt].append((dept, path))
    out.mkdir(parents=True, exist_ok=True)
    results_dir = out / "gx_results"
    rows_in = rows_dropped = 0
    rows_out: dict[str, int] = {}
    for rt, files in sorted(by_type.items()):
        frames = []
        for dept, path in files:
            with meter.stage("read"):
                try:
                    frame = _map_headers(catalog, rt, _read(path))
                except Exception as exc:  # noqa: BLE001  (undecodable, not a table: the file is skipped)
                    frame, why = None, f"{type(exc).__name__}: {str(exc)[:80]}"
                else:
                    why = "required columns missing"
            if frame is None:
                skipped.append((dept, path.name, why))
                continue
            rows_in += len(frame)
            with meter.stage("validate"):
                run = run_suite(rt, frame, as_of, results_dir, f"{dept}_{path.stem}", result_format="COMPLETE")
                bad: set = set()
                for rule, idx in run.unexpected_index_lists.items():
                    if run.severities.get(rule) == "error":
                        bad.update(idx)
                rows_dropped += len(bad)
                frames.append(frame.drop(index=list(bad)) if bad else frame)
        if not frames:
            continue
        with meter.stage("merge"):
            merged = pd.concat(frames, ignore_index=True)
            del frames
            if catalog.record_types[rt].has_subject:
                merged["subject_key"] = _subject_key(merged)
            key = list(catalog.record_types[rt].key)
            merged["_seq"] = range(len(merged))
            merged = merged.sort_values(key + ["_seq"]).drop_duplicates(subset=key, keep="last")
            merged = merged.drop(columns="_seq")
        with meter.stage("write"):
            merged.to_parquet(out / f"{rt}.parquet", index=False)
            rows_out[rt] = len(merged)
        del merged
    return {"rows_read": rows_in, "rows_dropped_by_gx": rows_dropped, "rows_written": rows_out,
            "files_skipped": [list(s) for s in skipped]}

