"""Batches of raw records → canonical rows, plus rejected rows with their reasons.

Vectorised over each batch with pandas; the only per-row Python is padding short rows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .formats import RAW_PREVIEW, Batch, Layout

CANONICAL = [
    "source",
    "complaint_id",
    "date_received",
    "lender",
    "lender_slug",
    "lender_raw",
    "product",
    "sub_product",
    "issue",
    "sub_issue",
    "narrative",
    "state",
    "submitted_via",
    "company_response",
    "timely",
    "language",
]
TEXT_COLUMNS = [
    "lender_raw",
    "product",
    "sub_product",
    "issue",
    "sub_issue",
    "narrative",
    "state",
    "submitted_via",
    "company_response",
]
QUARANTINE_COLUMNS = ["file", "line", "reason", "raw"]
# Canonical columns outside the table that a row without a complaint ID is also compared
# on, against another input holding the same complaint; kept per row as a 64-bit hash of
# the normalised cell (dates as YYYY-MM-DD), in the hidden column "_" + name.
MATCH_EXTRAS = ["zip_code", "date_sent", "disputed", "consent", "tags", "company_public_response"]
EARLIEST = pd.Timestamp("2000-01-01")  # before any complaint database this site reads
LATEST = pd.Timestamp("2100-01-01")


@dataclass
class FileState:
    """What one file's batches share: its date format and synthetic-id counters, and the
    tallies over every record of any product (date cells as written, product values)."""

    date_format: str | None = None
    id_counts: dict[int, int] = field(default_factory=dict)
    date_cells: Counter = field(default_factory=Counter)  # trimmed date cell → records
    products: set[str] = field(default_factory=set)  # trimmed, non-missing product values


def choose_date_format(values: pd.Series, formats: list[str]) -> str:
    """The format that parses the most of ``values``; ties go to the earlier format.

    Decided once per file, so an ambiguous 03/04 is read the same way as the rest of its
    file, never row by row.
    """
    sample = date_part(values.dropna()).head(5000)
    if sample.empty:
        return formats[0]
    scores = [pd.to_datetime(sample, format=f, errors="coerce").notna().sum() for f in formats]
    return formats[max(range(len(formats)), key=lambda i: (scores[i], -i))]


def date_part(values: pd.Series) -> pd.Series:
    """Drop a time of day: ISO 'T…' suffixes and Excel's ' 0:00'."""
    return values.astype("string").str.strip().str.replace(r"[T ].*", "", regex=True)


def _frame(batch: Batch, width: int, keep: pa.Array | None) -> tuple[pd.DataFrame, pd.Series]:
    """Cells by position, and each record's field count; an Arrow batch is cut to ``keep``."""
    if batch.table is not None:
        table = batch.table if keep is None else batch.table.filter(keep)
        frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
        frame.columns = range(width)
        return frame, pd.Series(width, index=frame.index, dtype="int64")
    lengths = pd.Series([len(r) for r in batch.rows], dtype="int64")
    longest = max([width, *lengths])
    padded = [r if len(r) == longest else r + [None] * (longest - len(r)) for r in batch.rows]
    frame = pd.DataFrame(padded, columns=range(longest))
    return frame, lengths


def _arrow_scope(batch: Batch, layout: Layout, sources: dict) -> pa.Array | None:
    """Which records of an Arrow batch can be in scope: a scope product, or none at all.

    Filtering here, before pandas sees a cell, is what keeps a full-database read fast:
    most of the bulk export is other products.
    """
    if batch.table is None or layout.source != "cfpb":
        return None
    pos = next(p for p, c in layout.columns.items() if c == "product")
    product = pc.utf8_lower(pc.utf8_trim_whitespace(batch.table.column(pos)))
    wanted = [p.lower() for p in sources["scope"]["products"]]
    missing = [m.lower() for m in sources["missing_values"]]
    return pc.is_in(product, pa.array(wanted + missing))


def _tally(
    batch: Batch,
    layout: Layout,
    data: pd.DataFrame,
    keep: pa.Array | None,
    missing_values: set[str],
    state: FileState,
) -> None:
    """Count every record's date cell and product, whatever its product, into ``state``.

    ``data`` holds every record unless the Arrow batch was cut to scope (``keep``); then
    the counts come from the uncut Arrow columns: value_counts per batch, and Python only
    over the distinct values, so the cells are cleaned exactly as ``data``'s are.
    """
    for canon in ("date_received", "product"):
        positions = [p for p, c in layout.columns.items() if c == canon]
        if not positions:
            continue
        if keep is None or len(positions) > 1:
            if keep is None:
                col = data[canon]
            else:  # several columns feed one (rare): clean and coalesce as for ``data``
                full = batch.table.select(positions).to_pandas(
                    types_mapper={pa.string(): pd.StringDtype()}.get
                )
                col = None
                for name in full.columns:
                    c = full[name].astype("string").str.strip()
                    c = c.mask(c.isin(missing_values) | c.isna())
                    col = c if col is None else col.fillna(c)
            counts = col.value_counts()
            pairs = zip(counts.index.tolist(), counts.tolist(), strict=True)
        else:
            vc = pc.value_counts(batch.table.column(positions[0]))
            raw = zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist(), strict=True)
            pairs = (
                (v.strip(), n) for v, n in raw if v is not None and v.strip() not in missing_values
            )
        if canon == "date_received":
            for value, n in pairs:
                state.date_cells[value] += int(n)
        else:
            state.products.update(value for value, _ in pairs)


def file_activity(
    state: FileState, layout: Layout, sources: dict
) -> tuple[pd.DataFrame, str | None]:
    """Records per date received over the whole file, any product: (frame of date, rows;
    the date format used).

    The format is the one the file's in-scope rows were read with; a file without any
    in-scope row gets one chosen the same way from all its dates. Dates that do not parse,
    or that no complaint can have (as rejected in canonical_batch), are not counted.
    """
    spec = sources["cfpb"] if layout.source == "cfpb" else sources["sources"][layout.source]
    empty = pd.DataFrame(
        {"date": pd.Series(dtype="datetime64[s]"), "rows": pd.Series(dtype="int64")}
    )
    if not state.date_cells:
        return empty, state.date_format or spec.get("date_format")
    cells = pd.Series(list(state.date_cells), dtype="string")
    counts = np.fromiter(state.date_cells.values(), dtype=np.int64, count=len(cells))
    fmt = state.date_format or spec.get("date_format")
    if fmt is None:
        order = np.argsort(-counts, kind="stable")[:5000]  # the most common dates decide
        fmt = choose_date_format(cells.iloc[order].reset_index(drop=True), spec["date_formats"])
    dates = pd.to_datetime(date_part(cells), format=fmt, errors="coerce")
    ok = (dates.notna() & (dates >= EARLIEST) & (dates < LATEST)).to_numpy()
    if not ok.any():
        return empty, fmt
    frame = pd.DataFrame({"date": dates[ok].to_numpy(), "rows": counts[ok]})
    frame = frame.groupby("date", as_index=False)["rows"].sum().sort_values("date")
    frame["date"] = frame["date"].astype("datetime64[s]")
    frame["rows"] = frame["rows"].astype("int64")
    return frame.reset_index(drop=True), fmt


def _raw_preview(frame: pd.DataFrame, mask: pd.Series) -> pd.Series:
    rows = frame[mask].astype("string").fillna("")
    joined = rows.apply(lambda r: ",".join(r), axis=1) if len(rows) else pd.Series(dtype="string")
    return joined.str.slice(0, RAW_PREVIEW)


def canonical_batch(
    batch: Batch,
    layout: Layout,
    *,
    path: str,
    sources: dict,
    state: FileState,
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """One batch → (in-scope canonical rows, quarantine rows, out-of-scope count).

    A record too wide, or cut short before a required field, is rejected; otherwise a
    record outside scope is only counted, and the rest are checked field by field.
    """
    width = len(layout.header)
    keep = _arrow_scope(batch, layout, sources)
    frame, lengths = _frame(batch, width, keep)
    skipped = 0 if keep is None else batch.table.num_rows - len(frame)
    spec = sources["cfpb"] if layout.source == "cfpb" else sources["sources"][layout.source]
    missing_values = set(sources["missing_values"])

    data = pd.DataFrame(index=frame.index)
    for pos, canon in layout.columns.items():
        col = frame[pos].astype("string").str.strip()
        col = col.mask(col.isin(missing_values) | col.isna())
        data[canon] = data[canon].fillna(col) if canon in data else col
    _tally(batch, layout, data, keep, missing_values, state)

    reasons = pd.Series(pd.NA, index=frame.index, dtype="string")
    out = pd.Series(False, index=frame.index)

    def reject(mask: pd.Series, reason) -> None:
        mask = mask & reasons.isna() & ~out
        if mask.any():
            reasons[mask] = reason if isinstance(reason, str) else reason[mask]

    reject(lengths > width, "row has " + lengths.astype("string") + f" fields, header has {width}")
    required = (
        ["date_received", "lender_raw", "product"]
        if layout.source == "cfpb"
        else [
            "date_received",
            "lender_raw",
        ]
    )
    names = {c: _header_name(layout, c) for c in required}
    short = lengths < width
    gone = {
        c: data[c].isna() if c in data else pd.Series(True, index=frame.index) for c in required
    }
    for canon in required:
        reject(
            gone[canon] & short,
            "truncated row: " + lengths.astype("string") + f" of {width} fields, no {names[canon]}",
        )
    if layout.source == "cfpb":
        scope = {p.lower() for p in sources["scope"]["products"]}
        product = data["product"]
        out |= reasons.isna() & product.notna() & ~product.str.lower().isin(scope).fillna(False)
    elif not spec.get("in_scope", True):
        out |= reasons.isna()
    for canon in required:
        reject(gone[canon], f"missing {names[canon]}")

    candidates = reasons.isna() & ~out
    if state.date_format is None and candidates.any():
        state.date_format = spec.get("date_format") or choose_date_format(
            data["date_received"][candidates], spec["date_formats"]
        )
    fmt = state.date_format or spec.get("date_format") or spec["date_formats"][0]
    dates = pd.to_datetime(date_part(data["date_received"]), format=fmt, errors="coerce")
    reject(dates.isna(), "unparseable date " + data["date_received"].fillna("").str.slice(0, 40))
    # A date the format accepts but no complaint can have (0001-01-01, 9999-12-31) is a
    # broken row, not a data point on a timeline.
    implausible = (dates < EARLIEST) | (dates >= LATEST)
    reject(implausible.fillna(False), "implausible date " + data["date_received"].fillna(""))

    if "complaint_id" in data:
        ids = data["complaint_id"]
        reject(ids.isna(), f"missing {_header_name(layout, 'complaint_id')}")
    else:
        ids = _synthetic_ids(data, state)

    bad = reasons.notna()
    lines = pd.Series(dtype="int64")
    if bad.any():  # line numbers only for the rows that need them
        numbers = batch.line_numbers()
        if keep is not None:
            numbers = numbers[keep.to_numpy(zero_copy_only=False)]
        lines = pd.Series(numbers, index=frame.index)[bad]
    quarantine = pd.DataFrame(
        {
            "file": path,
            "line": lines,
            "reason": reasons[bad],
            "raw": _raw_preview(frame, bad),
        },
        columns=QUARANTINE_COLUMNS,
    )
    if batch.errors:
        errors = pd.DataFrame([(path, *e) for e in batch.errors], columns=QUARANTINE_COLUMNS)
        quarantine = pd.concat([quarantine, errors], ignore_index=True)

    in_scope = reasons.isna() & ~out
    out_of_scope = skipped + int(out.sum())

    rows = pd.DataFrame(index=data.index[in_scope])
    rows["source"] = "cfpb" if layout.source == "cfpb" else layout.source
    rows["complaint_id"] = ids[in_scope].astype("string")
    rows["date_received"] = dates[in_scope].astype("datetime64[s]")
    for col in TEXT_COLUMNS:
        rows[col] = (
            data[col][in_scope]
            if col in data
            else pd.Series(pd.NA, index=rows.index, dtype="string")
        )
    timely = data["timely"][in_scope].str.casefold() if "timely" in data else None
    rows["timely"] = (
        timely.map({"yes": True, "no": False}).astype("boolean")
        if timely is not None
        else pd.Series(pd.NA, index=rows.index, dtype="boolean")
    )
    rows["language"] = spec["language"]
    for extra in MATCH_EXTRAS:
        rows["_" + extra] = _match_hash(data, extra, in_scope, fmt)
    return rows.reset_index(drop=True), quarantine, out_of_scope


def _match_hash(data: pd.DataFrame, column: str, mask: pd.Series, fmt: str) -> pd.Series:
    """A 64-bit hash of each masked row's cell in ``column`` (0 where the file lacks it)."""
    if column not in data:
        return pd.Series(0, index=data.index[mask], dtype="uint64")
    values = data[column][mask]
    text = pd.util.hash_pandas_object(
        values.str.casefold().fillna("\x00"),  # empty and missing are one value
        index=False,
    ).to_numpy(dtype="uint64")
    if column == "date_sent":  # one day in any format is one value
        dates = pd.to_datetime(date_part(values), format=fmt, errors="coerce")
        days = pd.util.hash_pandas_object(dates, index=False).to_numpy(dtype="uint64")
        text = np.where(dates.notna().to_numpy(), days, text)
    return pd.Series(text, index=values.index, dtype="uint64")


def _header_name(layout: Layout, canon: str) -> str:
    for pos, c in layout.columns.items():
        if c == canon:
            return layout.header[pos]
    return canon


def _synthetic_ids(data: pd.DataFrame, state: FileState) -> pd.Series:
    """Files without a complaint id get one from the row's content, numbered among equals.

    The same file read again gets the same ids, so duplicates across copies are caught.
    """
    hashes = pd.util.hash_pandas_object(data.fillna(""), index=False)
    within = hashes.groupby(hashes).cumcount()
    before = hashes.map(state.id_counts).fillna(0).astype("int64")
    for h, n in hashes.value_counts().items():
        state.id_counts[h] = state.id_counts.get(h, 0) + int(n)
    hexes = hashes.map("{:016x}".format).astype("string")  # an empty batch stays typed
    return "row-" + hexes + "-" + (before + within).astype("string")
