"""Input files → header layout and batches of raw records (CSV, CSV in zip, CFPB JSON flavours).

Everything about bytes lives here: finding the data inside a zip, guessing the encoding,
skipping preamble lines before the header, matching the header to a configured source, and
streaming records with the line they started on. Nothing here interprets cell values.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import os
import re
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..errors import UserError

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

BOM_ENCODINGS = ("utf-8-sig", "utf-16")
SNIFF_BYTES = 1 << 20  # enough to judge encoding and find the header
MAX_PREAMBLE = 30  # header must sit within the first lines
RAW_PREVIEW = 300  # characters of a rejected row kept in the quarantine file


def fold_name(name: str) -> str:
    """Column-name key: case and everything but letters and digits ignored."""
    return re.sub(r"[^0-9a-z]", "", str(name).casefold())


@dataclass
class Input:
    """One stream of records: a file, or one member of a zip."""

    path: str  # as the user gave it; zip members as "archive.zip!member.csv"
    sha256: str
    container: str  # "file" or "zip"
    opener: Callable[[], BinaryIO]


@dataclass
class Layout:
    """How to read one input: decided once per file from its first bytes."""

    kind: str  # csv, json:hits, json:bulk, json:socrata, json:document
    source: str  # "cfpb" or a configured source id
    encoding: str
    header: list[str]
    columns: dict[int, str]  # position in the record → canonical column
    preamble_lines: int = 0
    records: list | None = None  # JSON inputs are small enough to hold whole


@dataclass
class Batch:
    """Raw records with the line (or JSON record number) each started on.

    The records are either ``rows`` (lists of cells, any width) or, from the Arrow reader,
    ``table``: every record of the batch as text columns in header order.
    """

    rows: list[list] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # line, reason, raw
    table: pa.Table | None = None
    first_line: int = 0  # where the table's first record starts

    def __len__(self) -> int:
        """Records in the batch, rejected ones included."""
        records = self.table.num_rows if self.table is not None else len(self.rows)
        return records + len(self.errors)

    def line_numbers(self) -> np.ndarray:
        """The line each record starts on (worked out on demand for an Arrow batch)."""
        if self.table is None:
            return np.asarray(self.lines, dtype=np.int64)
        breaks = np.zeros(self.table.num_rows, dtype=np.int64)
        for col in self.table.columns:
            n, r, rn = (pc.count_substring(col, sep).to_numpy() for sep in ("\n", "\r", "\r\n"))
            breaks += n + r - rn  # \r\n is one line ending, not two
        return self.first_line + np.arange(len(breaks)) + np.cumsum(breaks) - breaks


class NotPlainCSV(Exception):
    """The Arrow reader met something only the exact reader handles; read the file again."""


def sha256_of(path: Path, memo_dir: Path | None = None) -> str:
    """The file's SHA-256; with ``memo_dir``, remembered while size, mtime and inode hold.

    Hashing the full export takes seconds on every build; an unchanged file (same size,
    modification time and inode, as make and rsync judge it) is not read again.
    """
    if memo_dir is None:
        return _sha256(path)
    st = path.stat()
    stamp = f"{path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}"
    memo = memo_dir / f"sha256-{hashlib.sha256(stamp.encode()).hexdigest()[:32]}"
    if memo.exists():
        return memo.read_text(encoding="ascii").strip()
    digest = _sha256(path)
    tmp = memo.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(digest, encoding="ascii")
    os.replace(tmp, memo)
    return digest


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def expand(path: str, memo_dir: Path | None = None) -> list[Input]:
    """A path given on the command line → the inputs inside it (zip members, or itself)."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"{path}: no such file")
    if p.is_dir():
        raise UserError(f"{path}: is a folder; name the files inside it")
    try:
        size = p.stat().st_size
        with open(p, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
    if size == 0:
        raise UserError(f"{path}: file is empty")
    digest = sha256_of(p, memo_dir)
    if magic != b"PK\x03\x04":
        return [Input(path, digest, "file", lambda: open(p, "rb"))]
    try:
        with zipfile.ZipFile(p) as zf:
            members = [
                i.filename
                for i in zf.infolist()
                if not i.is_dir() and i.filename.lower().endswith((".csv", ".json"))
            ]
    except zipfile.BadZipFile as exc:
        raise UserError(f"{path}: not a readable zip: {exc}") from None
    if not members:
        raise UserError(f"{path}: zip holds no .csv or .json file")

    def opener(member: str) -> Callable[[], BinaryIO]:
        def open_member() -> BinaryIO:
            zf = zipfile.ZipFile(p)
            return zf.open(member)

        return open_member

    return [Input(f"{path}!{m}", digest, "zip", opener(m)) for m in sorted(members)]


def guess_encoding(head: bytes) -> str:
    """BOMs first; then UTF-8 if the first MiB decodes; else Windows-1252 (Excel re-saves)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def _read_head(inp: Input) -> bytes:
    try:
        with inp.opener() as fh:
            return fh.read(SNIFF_BYTES)
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise UserError(f"{inp.path}: cannot read: {exc}") from None


def _alias_index(sources: dict) -> dict[str, str]:
    return {
        fold_name(alias): canon
        for canon, aliases in sources["cfpb"]["columns"].items()
        for alias in [canon, *aliases]
    }


def match_header(cells: list[str], sources: dict) -> tuple[str, dict[int, str]] | None:
    """Which source a header row belongs to, and its column positions; None if no match."""
    folded = [fold_name(c) for c in cells]
    for sid, spec in sources.get("sources", {}).items():
        wanted = {fold_name(c) for c in spec["match_columns"]}
        if wanted <= set(folded):
            by_name = {fold_name(v): k for k, v in spec["columns"].items()}
            return sid, {i: by_name[f] for i, f in enumerate(folded) if f in by_name}
    aliases = _alias_index(sources)
    # Several columns may feed one canonical column (JSON records that name the id
    # "complaint_id" in some records and "public_id" in others); the first non-empty wins.
    columns = {i: aliases[f] for i, f in enumerate(folded) if f in aliases}
    if len(set(columns.values())) >= 3:
        return "cfpb", columns
    return None


def required_columns(source: str, sources: dict) -> list[str]:
    if source == "cfpb":
        return list(sources["cfpb"]["required"])
    return ["date_received", "lender_raw", "narrative"]


def _check_required(inp: Input, layout: Layout, sources: dict) -> None:
    missing = [
        c for c in required_columns(layout.source, sources) if c not in layout.columns.values()
    ]
    if missing:
        names = ", ".join(_display_name(c, layout.source, sources) for c in missing)
        raise UserError(f"{inp.path}: missing required columns: {names}")


def _display_name(canon: str, source: str, sources: dict) -> str:
    if source == "cfpb":
        aliases = sources["cfpb"]["columns"].get(canon) or [canon]
        return aliases[0]
    return sources["sources"][source]["columns"].get(canon, canon)


def layout_of(inp: Input, sources: dict) -> Layout:
    """Decide how to read ``inp`` from its first bytes; UserError if it isn't complaints."""
    head = _read_head(inp)
    if not head.strip():
        raise UserError(f"{inp.path}: file is empty")
    if _text_start(head) in ("{", "["):
        layout = _json_layout(inp, sources)
    else:
        layout = _csv_layout(inp, head, sources)
    _check_required(inp, layout, sources)
    return layout


def _text_start(head: bytes) -> str:
    """The first non-blank character, after any byte-order mark (JSON or CSV?)."""
    text = head.decode(guess_encoding(head), errors="replace").lstrip("\ufeff \t\r\n")
    return text[:1]


def _csv_layout(inp: Input, head: bytes, sources: dict) -> Layout:
    encoding = guess_encoding(head)
    text = head.decode(encoding, errors="replace")
    lines = re.split(r"\r\n|\r|\n", text)[:MAX_PREAMBLE]
    for n, line in enumerate(lines):
        try:
            cells = next(csv.reader([line]), [])
        except csv.Error:
            continue
        found = match_header(cells, sources)
        if found:
            source, columns = found
            if source != "cfpb" and encoding not in BOM_ENCODINGS:
                # A byte-order mark settles the encoding; otherwise the source's setting does.
                encoding = sources["sources"][source]["encoding"]
            return Layout("csv", source, encoding, cells, columns, preamble_lines=n)
    expected = ", ".join(sources["cfpb"]["columns"][c][0] for c in sources["cfpb"]["required"])
    raise UserError(
        f"{inp.path}: no header row found in the first {MAX_PREAMBLE} lines "
        f"(expected columns such as {expected}); not a complaint export"
    )


def _load_json(inp: Input):
    try:
        with inp.opener() as fh:
            data = fh.read()
    except OSError as exc:
        raise UserError(f"{inp.path}: cannot read: {exc}") from None
    encoding = guess_encoding(data[:SNIFF_BYTES])
    try:
        return json.loads(data.decode(encoding, errors="replace").lstrip("\ufeff")), encoding
    except json.JSONDecodeError as exc:
        raise UserError(f"{inp.path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    except RecursionError:
        raise UserError(f"{inp.path}: JSON is nested too deeply to be a complaint export") from None


def _json_layout(inp: Input, sources: dict) -> Layout:
    doc, encoding = _load_json(inp)
    kind, records = _json_records(inp, doc)
    if kind == "json:socrata":
        columns = (doc["meta"].get("view") or {}).get("columns")
        if not isinstance(columns, list) or not all(isinstance(c, dict) for c in columns):
            raise UserError(f"{inp.path}: Socrata rows.json without meta.view.columns")
        header = [str(c.get("fieldName") or c.get("name", "")) for c in columns]
        rows = records
    else:
        header = sorted({k for r in records if isinstance(r, dict) for k in r})
        rows = [[r.get(k) for k in header] if isinstance(r, dict) else None for r in records]
    found = match_header(header, sources)
    if not found:
        raise UserError(
            f"{inp.path}: JSON records have none of the complaint fields (date_received, "
            "product, company); describe other datasets in data/sources.yaml"
        )
    source, columns = found
    return Layout(kind, source, encoding, header, columns, records=rows)


def _json_records(inp: Input, doc) -> tuple[str, list]:
    """Recognise the CFPB JSON flavours; refuse aggregation responses."""
    if isinstance(doc, list):
        return "json:bulk", doc
    if not isinstance(doc, dict):
        raise UserError(f"{inp.path}: JSON is neither a list nor an object of complaints")
    hits = doc.get("hits")
    if isinstance(hits, dict) and isinstance(hits.get("hits"), list):
        found = [h.get("_source") if isinstance(h, dict) else None for h in hits["hits"]]
        if found:
            return ("json:document" if len(found) == 1 else "json:hits"), found
        if doc.get("aggregations"):
            names = ", ".join(repr(str(n)) for n in sorted(doc["aggregations"])[:4])
            raise UserError(
                f"{inp.path}: holds aggregations ({names}, …), not complaints; "
                "export complaint records (CSV, or JSON with hits) instead"
            )
        raise UserError(f"{inp.path}: the search response holds no complaints (hits is empty)")
    if "_source" in doc:
        return "json:document", [doc["_source"]]
    if isinstance(doc.get("meta"), dict) and isinstance(doc.get("data"), list):
        return "json:socrata", doc["data"]
    if "complaint_id" in doc or "date_received" in doc:
        return "json:document", [doc]
    if "aggregations" in doc:
        raise UserError(f"{inp.path}: holds aggregations, not complaints")
    raise UserError(
        f"{inp.path}: JSON is not a complaint export "
        "(expected search hits, a list of complaints, or Socrata rows.json)"
    )


def batches(inp: Input, layout: Layout, size: int, *, exact: bool = False) -> Iterator[Batch]:
    """Stream records of ``inp`` in batches of at most ``size``.

    A plain UTF-8 CSV goes through Arrow's C++ reader, several times faster than Python's;
    it raises NotPlainCSV (possibly after some batches) on anything it can't read exactly
    as the Python reader would, and the caller starts again with ``exact=True``.
    """
    if layout.records is not None:
        yield from _json_batches(layout, size)
    elif exact or not plain_csv(layout):
        yield from _csv_batches(inp, layout, size)
    else:
        yield from _arrow_batches(inp, layout, size)


def _json_batches(layout: Layout, size: int) -> Iterator[Batch]:
    batch = Batch()
    for n, rec in enumerate(layout.records, start=1):
        if isinstance(rec, list):
            batch.rows.append([_clean(v) for v in rec])
            batch.lines.append(n)
        else:
            batch.errors.append((n, "record is not an object or list", str(rec)[:RAW_PREVIEW]))
        if len(batch.rows) >= size:
            yield batch
            batch = Batch()
    yield batch


def _clean(value) -> str:
    """A JSON value as text; lone surrogates (from \\ud800 escapes) become U+FFFD."""
    if value is None:
        return ""
    return str(value).encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _csv_batches(inp: Input, layout: Layout, size: int) -> Iterator[Batch]:
    with inp.opener() as raw:
        text = io.TextIOWrapper(raw, encoding=layout.encoding, errors="replace", newline="")
        for _ in range(layout.preamble_lines + 1):  # preamble, then the header itself
            _skip_record_line(text)
        reader = csv.reader(text)
        offset = layout.preamble_lines + 1
        batch = Batch()
        last = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                batch.errors.append((offset + last + 1, f"unreadable CSV: {exc}", ""))
                last = reader.line_num
                continue
            start = offset + last + 1
            last = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line: not a record
            batch.rows.append(row)
            batch.lines.append(start)
            if len(batch.rows) >= size:
                yield batch
                batch = Batch()
        yield batch


def plain_csv(layout: Layout) -> bool:
    """Whether the Arrow reader is tried first: a CSV in UTF-8 with the header on line 1."""
    return (
        layout.kind == "csv"
        and layout.encoding in ("utf-8", "utf-8-sig")
        and layout.preamble_lines == 0
    )


ARROW_BLOCK = 8 << 20  # bytes per Arrow block: bounded memory, whatever the file size


def _arrow_batches(inp: Input, layout: Layout, size: int) -> Iterator[Batch]:
    """Records of a plain CSV via Arrow, with the physical line each started on.

    Arrow skips blank lines and can't say where a malformed record sits, so a record of the
    wrong width (a blank line is one) or bytes that aren't UTF-8 end this reader with
    NotPlainCSV; the line numbers then stay exactly those of the Python reader.
    """
    width = len(layout.header)
    names = [f"c{i}" for i in range(width)]
    try:
        with inp.opener() as raw:
            reader = pacsv.open_csv(
                raw,
                read_options=pacsv.ReadOptions(
                    column_names=names,
                    skip_rows=layout.preamble_lines + 1,
                    block_size=ARROW_BLOCK,
                ),
                parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
                convert_options=pacsv.ConvertOptions(
                    column_types={n: pa.string() for n in names},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            line = layout.preamble_lines + 2  # where the first record starts
            for record_batch in reader:
                if _has_empty_record(record_batch):
                    raise NotPlainCSV("a blank line or a record of empty cells")
                table = pa.Table.from_batches([record_batch])
                for start in range(0, table.num_rows, size):
                    part = table.slice(start, size)
                    yield Batch(table=part, first_line=line)
                    line += part.num_rows + _breaks_in(part)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise NotPlainCSV(str(exc)) from None


def _has_empty_record(batch: pa.RecordBatch) -> bool:
    """Arrow reads a blank line as a record of empty cells, which Python's reader skips."""
    empty = None
    for col in batch.columns:
        blank = pc.equal(pc.binary_length(col), 0)
        empty = blank if empty is None else pc.and_(empty, blank)
        if not pc.any(empty).as_py():
            return False
    return True


def _breaks_in(table: pa.Table) -> int:
    """Line breaks inside the cells of ``table``, counted as Python's reader counts lines.

    Counted on the raw bytes of each column: much faster than per cell, and enough to
    carry the line count from one batch to the next.
    """
    total = 0
    for column in table.columns:
        for chunk in column.chunks:
            if not len(chunk) or chunk.buffers()[2] is None:
                continue
            offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)
            lo, hi = offsets[chunk.offset], offsets[chunk.offset + len(chunk)]
            data = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)[lo:hi]
            total += int(np.count_nonzero(data == 10))
            returns = int(np.count_nonzero(data == 13))
            if returns:  # \r\n is one line ending; count pairs within cells only
                pairs = pc.sum(pc.count_substring(chunk, "\r\n")).as_py() or 0
                total += returns - pairs
    return total


def _skip_record_line(text: io.TextIOBase) -> None:
    """Skip one physical line (the header is matched on single lines, so one is enough)."""
    text.readline()
