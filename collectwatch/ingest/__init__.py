"""Input files → one reconciled canonical complaint table (cached as Parquet per input).

Every record read ends in exactly one bucket: in scope, out of scope, rejected (kept in the
quarantine table with file, line and reason) or duplicate (a (source, complaint_id) already
kept from an earlier row or file; for a file without complaint IDs, also a row another
input holds, see _same_content). Duplicates are judged among in-scope rows, after the
other buckets.
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..progress import progress as progress_bar
from .formats import Input, Layout, NotPlainCSV, batches, expand, layout_of, plain_csv
from .lenders import candidate_merges, resolve_lenders
from .normalise import (
    CANONICAL,
    MATCH_EXTRAS,
    QUARANTINE_COLUMNS,
    FileState,
    canonical_batch,
    file_activity,
)

CACHE_VERSION = "5"  # bump when the canonical rows an input yields change
BATCH_ROWS = 50_000

ARROW_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("complaint_id", pa.string()),
        ("date_received", pa.date32()),
        ("lender_raw", pa.string()),
        ("product", pa.string()),
        ("sub_product", pa.string()),
        ("issue", pa.string()),
        ("sub_issue", pa.string()),
        ("narrative", pa.string()),
        ("state", pa.string()),
        ("submitted_via", pa.string()),
        ("company_response", pa.string()),
        ("timely", pa.bool_()),
        ("language", pa.string()),
        *((f"_{name}", pa.uint64()) for name in MATCH_EXTRAS),
    ]
)


@dataclass
class IngestResult:
    """The canonical table and everything the build report needs about how it was made."""

    table: pd.DataFrame
    inputs: list[dict]
    quarantine: pd.DataFrame
    folds: dict[str, list[str]]
    # Records read per (input, date received), every product and bucket alike (rows whose
    # date does not parse are left out): columns input (index into ``inputs``), date, rows.
    activity: pd.DataFrame
    # Lender names that may be one company (acronym, prefix, near), for a maintainer to
    # review; see lenders.candidate_merges. Nothing is merged from them.
    candidate_merges: list[dict]


def read_inputs(
    paths: list[str],
    sources: dict,
    lenders: dict,
    *,
    cache_dir: Path | None = None,
    progress: bool = False,
) -> IngestResult:
    """Read every path (CSV, CSV.zip, CFPB JSON, configured sources) into one table.

    Raises UserError, before anything is written, for a missing or unreadable input, a
    file without the required columns, or a JSON file of aggregations.
    """
    inputs = [inp for p in paths for inp in expand(p, cache_dir)]
    layouts = [layout_of(inp, sources) for inp in inputs]  # fail fast on every input
    frames, reports, quarantines, activities = [], [], [], []
    for i, (inp, layout) in enumerate(zip(inputs, layouts, strict=True)):
        table, report, quarantine, activity = _read_one(inp, layout, sources, cache_dir, progress)
        table["_input"] = i
        frames.append(table)
        reports.append(report)
        quarantines.append(quarantine)
        activities.append(activity.assign(input=i))

    table = pd.concat(frames, ignore_index=True) if frames else _empty()
    dup = table.duplicated(["source", "complaint_id"], keep="first").to_numpy(copy=True)
    dup |= _same_content(table, layouts, ~dup)
    inputs_of = table["_input"].to_numpy()
    for i, report in enumerate(reports):
        n = int(dup[inputs_of == i].sum())
        report["rows_duplicate"] = n
        report["rows_in_scope"] -= n
        assert report["rows_read"] == sum(
            report[k]
            for k in ("rows_in_scope", "rows_out_of_scope", "rows_rejected", "rows_duplicate")
        ), report
    table = table[~dup].reset_index(drop=True)
    named, folds, candidates = _resolve(table["lender_raw"], lenders, cache_dir)
    table["lender"] = named["lender"].astype("string")
    table["lender_slug"] = named["lender_slug"].astype("string")
    quarantine = pd.concat(quarantines, ignore_index=True) if quarantines else None
    if quarantine is None or quarantine.empty:
        quarantine = pd.DataFrame(columns=QUARANTINE_COLUMNS)
    # One set of types whether the rows were just parsed or came from a cached JSON file.
    quarantine = quarantine.astype(
        {"file": "string", "line": "int64", "reason": "string", "raw": "string"}
    )
    activity = pd.concat(activities, ignore_index=True) if activities else _no_activity()
    activity = activity.astype({"input": "int64", "date": "datetime64[s]", "rows": "int64"})
    activity = activity[["input", "date", "rows"]].sort_values(["input", "date"])
    return IngestResult(
        table[CANONICAL], reports, quarantine, folds, activity.reset_index(drop=True), candidates
    )


def _no_activity() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "input": pd.Series(dtype="int64"),
            "date": pd.Series(dtype="datetime64[s]"),
            "rows": pd.Series(dtype="int64"),
        }
    )


def _activity_to_json(activity: pd.DataFrame) -> list:
    return [[d.date().isoformat(), int(n)] for d, n in zip(*activity.values.T, strict=True)]


def _activity_from_json(pairs: list) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.Series([d for d, _ in pairs], dtype="datetime64[s]"),
            "rows": pd.Series([n for _, n in pairs], dtype="int64"),
        }
    )


# What a row without a complaint ID is compared on (those of them both inputs have): every
# field read from the file, not the ones this project derives or assigns.
DERIVED = {"source", "complaint_id", "lender", "lender_slug", "language"}
MATCH_COLUMNS = [c for c in CANONICAL if c not in DERIVED] + MATCH_EXTRAS


def _same_content(table: pd.DataFrame, layouts: list[Layout], kept: np.ndarray) -> np.ndarray:
    """Rows of inputs without a complaint ID that another input also holds.

    Such a row is compared with the kept rows of every other input of its source, on the
    MATCH_COLUMNS both inputs have (text compared without case), as a multiset: k equal
    rows in this input and j in the other are min(k, j) duplicates, the first ones in file
    order. The copy with a real complaint ID is kept; between two inputs without IDs, the
    earlier input's. Equal rows within one input stay separate complaints.
    """
    drop = np.zeros(len(table), dtype=bool)
    without = [i for i, lay in enumerate(layouts) if "complaint_id" not in lay.columns.values()]
    if not without:
        return drop
    fields = [[c for c in MATCH_COLUMNS if c in set(lay.columns.values())] for lay in layouts]
    alive = kept.copy()
    inputs_of = table["_input"].to_numpy()
    dates = table["date_received"].to_numpy()
    for a in without:
        winners = [b for b in range(len(layouts)) if b not in without] + [
            b for b in without if b < a
        ]
        for b in winners:
            if layouts[b].source != layouts[a].source:
                continue
            rows_a = np.flatnonzero(alive & (inputs_of == a))
            if not len(rows_a):
                break
            in_b = alive & (inputs_of == b) & np.isin(dates, dates[rows_a])
            if not in_b.any():
                continue
            shared = [c for c in fields[a] if c in fields[b]]
            key_a = _match_key(table.iloc[rows_a], shared)
            key_b = _match_key(table[in_b], shared)
            limit = key_a.map(key_b.value_counts()).fillna(0).to_numpy()
            rank = key_a.groupby(key_a).cumcount().to_numpy()
            hit = rows_a[rank < limit]
            drop[hit] = True
            alive[hit] = False
    return drop


def _match_key(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """One 64-bit hash per row over ``columns``, text without case."""
    parts = {}
    for c in columns:
        col = frame[c if c in frame else f"_{c}"]
        parts[c] = col.str.casefold() if isinstance(col.dtype, pd.StringDtype) else col
    return pd.util.hash_pandas_object(pd.DataFrame(parts), index=False).reset_index(drop=True)


def _resolve_now(raw: pd.Series, lenders: dict):
    named, folds = resolve_lenders(raw, lenders)
    candidates = candidate_merges(named["lender"].value_counts(), lenders["legal_suffixes"])
    return named, folds, candidates


def _resolve(raw: pd.Series, lenders: dict, cache_dir: Path | None):
    """resolve_lenders and the candidate merges, remembered in the cache for the same name
    counts and lenders.yaml.

    Display names depend on how often each spelling occurs, so the counts are the key.
    """
    if cache_dir is None:
        return _resolve_now(raw, lenders)
    counts = raw.value_counts().sort_index()
    blob = json.dumps(
        [CACHE_VERSION, lenders, counts.index.tolist(), counts.tolist()], ensure_ascii=False
    )
    memo = cache_dir / f"lenders-{hashlib.sha256(blob.encode()).hexdigest()[:32]}.json"
    if memo.exists():
        saved = json.loads(memo.read_text(encoding="utf-8"))
        names = saved["names"]
        at = pd.Index(list(names)).get_indexer(raw)  # every name is there: same counts
        pairs = np.array(list(names.values()), dtype=object).reshape(-1, 2)[at]
        named = pd.DataFrame({"lender": pairs[:, 0], "lender_slug": pairs[:, 1]}, index=raw.index)
        return named, saved["folds"], saved["candidates"]
    named, folds, candidates = _resolve_now(raw, lenders)
    pairs = pd.DataFrame({"raw": raw, **named}).drop_duplicates("raw")
    columns = (pairs["raw"], pairs["lender"], pairs["lender_slug"])
    names = {r: [n, s] for r, n, s in zip(*columns, strict=True)}
    tmp = memo.with_suffix(f".{os.getpid()}.tmp")
    saved = {"names": names, "folds": folds, "candidates": candidates}
    tmp.write_text(json.dumps(saved, ensure_ascii=False), "utf-8")
    os.replace(tmp, memo)
    return named, folds, candidates


def _empty() -> pd.DataFrame:
    frame = ARROW_SCHEMA.empty_table().to_pandas()
    frame["_input"] = pd.Series(dtype="int64")
    return frame


def _cache_key(inp: Input, sources: dict) -> str:
    blob = json.dumps(
        [CACHE_VERSION, inp.sha256, inp.path.rsplit("!", 1)[-1], sources],
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _read_one(inp, layout, sources, cache_dir, progress):
    key = _cache_key(inp, sources)
    meta_path = cache_dir / f"{key}.json" if cache_dir else None
    parquet_path = cache_dir / f"{key}.parquet" if cache_dir else None
    if meta_path and meta_path.exists() and parquet_path.exists():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        table = _to_pandas(pq.read_table(parquet_path))
        quarantine = pd.DataFrame(meta.pop("quarantine"), columns=QUARANTINE_COLUMNS)
        activity = _activity_from_json(meta.pop("activity"))
        meta.update(path=inp.path, cache="hit")
    else:
        table, meta, quarantine, activity = _parse(inp, layout, sources, parquet_path, progress)
        if meta_path:
            tmp = meta_path.with_suffix(f".json.{os.getpid()}.tmp")  # one per process
            saved = {
                **meta,
                "quarantine": quarantine.to_dict("records"),
                "activity": _activity_to_json(activity),
            }
            tmp.write_text(json.dumps(saved, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, meta_path)
        meta["cache"] = "miss" if cache_dir else "off"
    return table, meta, quarantine, activity


def _parse(inp: Input, layout: Layout, sources: dict, parquet_path: Path | None, progress: bool):
    try:
        state, counts, table, quarantine = _stream(inp, layout, sources, parquet_path, progress)
        reader = "arrow" if plain_csv(layout) else "python"
    except NotPlainCSV:
        state, counts, table, quarantine = _stream(
            inp, layout, sources, parquet_path, progress, exact=True
        )
        reader = "python"
    activity, date_format = file_activity(state, layout, sources)
    scope = {p.lower() for p in sources["scope"]["products"]} if layout.source == "cfpb" else set()
    meta = {
        "path": inp.path,
        "sha256": inp.sha256,
        "source": layout.source,
        "format": layout.kind if inp.container == "file" else f"{layout.kind} in zip",
        "encoding": layout.encoding,
        # The in-scope rows' format; for a file without any, the one its dates were read with.
        "date_format": state.date_format or date_format,
        "preamble_lines": layout.preamble_lines,
        "reader": reader,
        **counts,
        "products": len(state.products),
        "in_scope_products": sum(p.lower() in scope for p in state.products),
        "date_min": activity["date"].min().date().isoformat() if len(activity) else None,
        "date_max": activity["date"].max().date().isoformat() if len(activity) else None,
    }
    return table, meta, quarantine, activity


def _stream(inp, layout, sources, parquet_path, progress, *, exact=False):
    """Batches → canonical rows, appended to Parquet when caching (and read back from it,
    so the batches' memory is not held twice), else kept as Arrow tables."""
    state = FileState()
    counts = {"rows_read": 0, "rows_in_scope": 0, "rows_out_of_scope": 0, "rows_rejected": 0}
    quarantines, parts = [], []
    tmp = parquet_path.with_suffix(f".parquet.{os.getpid()}.tmp") if parquet_path else None
    bar = progress_bar(None, inp.path, progress, unit="rows")
    try:
        with pq.ParquetWriter(tmp, ARROW_SCHEMA) if tmp else nullcontext() as writer:
            for batch in batches(inp, layout, BATCH_ROWS, exact=exact):
                rows, quarantine, out = canonical_batch(
                    batch, layout, path=inp.path, sources=sources, state=state
                )
                counts["rows_read"] += len(batch)
                counts["rows_in_scope"] += len(rows)
                counts["rows_out_of_scope"] += out
                counts["rows_rejected"] += len(quarantine)
                arrow = pa.Table.from_pandas(rows, schema=ARROW_SCHEMA, preserve_index=False)
                if writer:
                    writer.write_table(arrow)
                else:
                    parts.append(arrow)
                quarantines.append(quarantine)
                bar.update(len(batch))
    except BaseException:
        if tmp:
            tmp.unlink(missing_ok=True)
        raise
    finally:
        bar.close()
    pa.default_memory_pool().release_unused()  # the batches' memory, back to the system
    if tmp:
        os.replace(tmp, parquet_path)
        table = pq.read_table(parquet_path)
    else:
        table = pa.concat_tables(parts) if parts else ARROW_SCHEMA.empty_table()
    quarantine = (
        pd.concat(quarantines, ignore_index=True)
        if quarantines  # a file of only a header has no batch at all
        else pd.DataFrame(columns=QUARANTINE_COLUMNS)
    )
    return state, counts, _to_pandas(table), quarantine


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    # One dtype for text whether the rows were just parsed or read back from the cache.
    frame = table.to_pandas(
        ignore_metadata=True,
        date_as_object=False,
        types_mapper={pa.string(): pd.StringDtype()}.get,
    )
    frame["date_received"] = frame["date_received"].astype("datetime64[s]")
    frame["timely"] = frame["timely"].astype("boolean")
    return frame
