"""Tidy tables → download bytes: spreadsheet-safe CSV, Table Schemas, a Data Package, citations.

Pure functions: nothing here writes a file (render does). Column descriptions live in
``data/tables.yaml``; :func:`load_table_meta` reads it and insists every published column
is described.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
from pathlib import Path

import pandas as pd

from . import paths
from .config import LANG_TEXT, STR, read_yaml
from .errors import UserError

TABLES_YAML = paths.TABLES_YAML
TABLES_SCHEMA = {
    "*": {
        "title": LANG_TEXT,
        "description": LANG_TEXT,
        "primary_key?": [STR],
        "compression?": STR,
        "fields": {"*": STR},
    }
}

# A cell starting with one of these is a live formula in Excel, LibreOffice and Google
# Sheets (OWASP "CSV injection"). A leading apostrophe makes the spreadsheet show it as text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
FLOAT_DECIMALS = 6  # shares to a millionth; more digits are noise, not precision

CC0 = {
    "name": "CC0-1.0",
    "path": "https://creativecommons.org/publicdomain/zero/1.0/",
    "title": "Creative Commons Zero v1.0 Universal (public domain dedication)",
}
CFPB = "Consumer Financial Protection Bureau, Consumer Complaint Database"
RESOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
# Tables too large for a plain download (data/tables.yaml ``compression``) are published
# gzip-compressed; "gz" is the Frictionless name of the format.
COMPRESSIONS = ("gz",)
GZIP_LEVEL = 6  # level 9 takes over twice as long for a file 4% smaller
CSV_CHUNK_ROWS = 100_000  # rows written to the gzip stream at a time: bounds memory


# ── CSV ────────────────────────────────────────────────────────────────────────────────


def neutralise(text: pd.Series) -> pd.Series:
    """Prefix ``'`` to every text cell that a spreadsheet would run as a formula."""
    if isinstance(text.dtype, pd.CategoricalDtype):  # neutralise each label once
        labels = neutralise(pd.Series(text.cat.categories, dtype="string"))
        if labels.is_unique:
            return text.cat.rename_categories(list(labels))
    text = text.astype("string")
    live = text.str.startswith(FORMULA_TRIGGERS).fillna(False).to_numpy(dtype=bool)
    if not live.any():  # the usual case, and much cheaper than a masked copy
        return text
    out = text.copy()
    out[live] = "'" + text[live]
    return out


def csv_column(s: pd.Series) -> pd.Series:
    """One column as it should be written: dates as YYYY-MM-DD, floats rounded, text safe.

    Numbers and booleans are written as they are (a negative number stays a number); only
    text is neutralised.
    """
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_integer_dtype(s):
        return s
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.strftime("%Y-%m-%d")
    if pd.api.types.is_float_dtype(s):
        return s.round(FLOAT_DECIMALS)
    return neutralise(s)


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Every column as :func:`csv_column` writes it; slices of it stay safe."""
    return pd.DataFrame({col: csv_column(df[col]) for col in df.columns}, index=df.index)


def csv_bytes(df: pd.DataFrame, *, safe: bool = False) -> bytes:
    """A table → CSV bytes: UTF-8 with a BOM, ``\\n`` line ends, NA as an empty cell.

    The BOM makes Excel read the file as UTF-8, so Chinese text shows correctly. ``safe``
    says ``df`` already came from :func:`safe_frame` (or is a slice of one).
    """
    text = (df if safe else safe_frame(df)).to_csv(index=False, lineterminator="\n", na_rep="")
    return text.encode("utf-8-sig")


def csv_gz_bytes(df: pd.DataFrame) -> bytes:
    """A table → the gzip-compressed bytes of exactly :func:`csv_bytes` (spreadsheet-safe).

    Reproducible: the gzip header holds no file name and a zero timestamp, so the same
    table gives the same bytes (with the same zlib). Written in chunks of CSV_CHUNK_ROWS
    rows, so the uncompressed CSV never sits in memory whole.
    """
    buf = io.BytesIO()
    with gzip.GzipFile(
        filename="", mode="wb", fileobj=buf, compresslevel=GZIP_LEVEL, mtime=0
    ) as gz:
        gz.write("\ufeff".encode())  # the BOM csv_bytes writes, once
        for start in range(0, max(len(df), 1), CSV_CHUNK_ROWS):
            part = safe_frame(df.iloc[start : start + CSV_CHUNK_ROWS])
            text = part.to_csv(index=False, header=start == 0, lineterminator="\n", na_rep="")
            gz.write(text.encode("utf-8"))
    return buf.getvalue()


def file_name(name: str, info: dict) -> str:
    """The download file of table ``name`` given its data/tables.yaml entry:
    ``<name>.csv``, or ``<name>.csv.gz`` when the entry sets ``compression: gz``."""
    return f"{name}.csv.gz" if info.get("compression") == "gz" else f"{name}.csv"


# ── Table Schema and Data Package ──────────────────────────────────────────────────────


def field_type(s: pd.Series) -> str:
    """The Table Schema type of a column, as :func:`csv_bytes` writes it."""
    if pd.api.types.is_bool_dtype(s):
        return "boolean"
    if pd.api.types.is_integer_dtype(s):
        return "integer"
    if pd.api.types.is_float_dtype(s):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "date"
    return "string"


def table_schema(
    df: pd.DataFrame, descriptions: dict[str, str], primary_key: list[str] | None = None
) -> dict:
    """A Frictionless Table Schema for ``df``: each column's name, type and description.

    Raises ValueError for a column without a description (check with
    :func:`load_table_meta` first to get a message that names the YAML file).
    """
    missing = [c for c in df.columns if not descriptions.get(c)]
    if missing:
        raise ValueError(f"no description for columns {missing}")
    schema = {
        "fields": [
            {"name": str(col), "type": field_type(df[col]), "description": descriptions[col]}
            for col in df.columns
        ],
        "missingValues": [""],
    }
    if primary_key:
        schema["primaryKey"] = list(primary_key)
    return schema


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def resource(
    name: str,
    data: bytes,
    schema: dict,
    *,
    title: str = "",
    description: str = "",
    compression: str | None = None,
) -> dict:
    """A Data Package resource descriptor for one CSV file written next to datapackage.json.

    ``data`` is the file's bytes as published. With ``compression="gz"`` the file is
    ``<name>.csv.gz`` and the descriptor says so (Frictionless ``compression``); ``bytes``
    and ``hash`` then describe the compressed file, as Frictionless checks them.
    """
    if not RESOURCE_NAME.match(name):
        raise ValueError(f"resource name {name!r}: use lowercase letters, digits and -_. only")
    if compression is not None and compression not in COMPRESSIONS:
        raise ValueError(f"compression {compression!r}: use one of {', '.join(COMPRESSIONS)}")
    out = {
        "name": name,
        "path": file_name(name, {"compression": compression}),
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8-sig",
        "hash": f"sha256:{sha256(data)}",
        "bytes": len(data),
        "schema": schema,
    }
    if compression:
        out["compression"] = compression
    if title:
        out["title"] = title
    if description:
        out["description"] = description
    return out


def datapackage(
    resources: list[dict], *, sources_meta: list[dict], generated_at: str, title: str
) -> dict:
    """A Frictionless Data Package descriptor.

    ``resources``: dicts with ``name``, ``data`` (the file's bytes), ``schema`` and optional
    ``title``, ``description`` and ``compression``, or descriptors already made by :func:`resource`.
    ``sources_meta``: one dict per input with ``title``, ``path`` (file or URL) and
    optionally ``retrieved`` (date) and ``sha256``. ``generated_at``: ISO 8601 timestamp.
    """
    sources = []
    for i, src in enumerate(sources_meta):
        if not src.get("title"):
            raise ValueError(f"sources_meta[{i}] has no title")
        entry = {"title": src["title"]}
        for key in ("path", "retrieved"):
            if src.get(key):
                entry[key] = str(src[key])
        if src.get("sha256"):
            entry["sha256"] = src["sha256"]
        sources.append(entry)
    descriptors = [
        r
        if "path" in r
        else resource(
            r["name"],
            r["data"],
            r["schema"],
            title=r.get("title", ""),
            description=r.get("description", ""),
            compression=r.get("compression"),
        )
        for r in resources
    ]
    names = [r["name"] for r in descriptors]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate resource names in {names}")
    return {
        "profile": "tabular-data-package",
        "name": package_name(title),
        "title": title,
        "created": generated_at,
        "licenses": [CC0],
        "sources": sources,
        "resources": descriptors,
    }


def package_name(title: str) -> str:
    """A title → a Data Package name (lowercase, ``-_.`` only); "collectwatch" if none is left."""
    name = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return name or "collectwatch"


def citation(
    title: str,
    url: str,
    retrieved: str,
    generated: str,
    *,
    source: str = CFPB,
    site: str = "collectwatch",
) -> str:
    """Suggested citation for one dataset: what it is, where from, when, and who processed it."""
    return (
        f"{title}. Derived from {source}, retrieved {retrieved}; "
        f"aggregated by {site} on {generated}. {url}"
    )


# ── table descriptions (data/tables.yaml) ──────────────────────────────────────────────


def load_table_meta(
    path: Path | str = TABLES_YAML, tables: dict[str, pd.DataFrame] | None = None
) -> dict:
    """Read table titles and column descriptions from ``path``.

    With ``tables``, also checks that every table and every column in it is described,
    and that no described column has disappeared; raises UserError naming the file and the
    key (``counts_monthly.fields.month``) otherwise. ``compression``, when set, must be
    one of :data:`COMPRESSIONS`.
    """
    meta = read_yaml(Path(path), TABLES_SCHEMA) or {}
    for name, info in meta.items():
        if "compression" in info and info["compression"] not in COMPRESSIONS:
            raise UserError(
                f"{path}: {name}.compression is {info['compression']!r}; "
                f"use {' or '.join(COMPRESSIONS)}, or leave it out for a plain CSV"
            )
    for name, df in (tables or {}).items():
        if name not in meta:
            raise UserError(f"{path}: missing key {name} (no description of table {name})")
        fields = meta[name]["fields"]
        for col in df.columns:
            if not str(fields.get(col) or "").strip():
                raise UserError(f"{path}: missing key {name}.fields.{col} (no description)")
        for col in fields:
            if col not in df.columns:
                raise UserError(f"{path}: unknown key {name}.fields.{col} (no such column)")
        for col in meta[name].get("primary_key", []):
            if col not in df.columns:
                raise UserError(f"{path}: {name}.primary_key names unknown column {col}")
    return meta


def table_files(
    tables: dict[str, pd.DataFrame], meta: dict, lang: str = "en"
) -> tuple[dict[str, bytes], list[dict]]:
    """Every table as ``<name>.csv`` (``<name>.csv.gz`` when its meta sets ``compression:
    gz``): file name → bytes, and the tables' resource descriptors, in ``tables`` order.

    ``meta`` is :func:`load_table_meta`'s result (checked against ``tables``).
    """
    files: dict[str, bytes] = {}
    resources = []
    for name, df in tables.items():
        info = meta[name]
        compression = info.get("compression")
        data = csv_gz_bytes(df) if compression == "gz" else csv_bytes(df)
        files[file_name(name, info)] = data
        schema = table_schema(df, info["fields"], info.get("primary_key"))
        resources.append(
            resource(
                name,
                data,
                schema,
                title=info["title"][lang],
                description=info["description"][lang],
                compression=compression,
            )
        )
    return files, resources


def package_json(
    resources: list[dict], *, sources_meta: list[dict], generated_at: str, title: str
) -> bytes:
    """datapackage.json's bytes: :func:`datapackage` as indented UTF-8 JSON."""
    package = datapackage(
        resources, sources_meta=sources_meta, generated_at=generated_at, title=title
    )
    return (json.dumps(package, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def downloads(
    tables: dict[str, pd.DataFrame],
    meta: dict,
    *,
    sources_meta: list[dict],
    generated_at: str,
    title: str,
    lang: str = "en",
) -> dict[str, bytes]:
    """Every table (see :func:`table_files`) plus a ``datapackage.json`` that lists them:
    file name → bytes."""
    files, resources = table_files(tables, meta, lang)
    files["datapackage.json"] = package_json(
        resources, sources_meta=sources_meta, generated_at=generated_at, title=title
    )
    return files


# ── chart CSVs (data/charts/<id>.csv) ──────────────────────────────────────────────────

# One Table Schema per kind of chart, in schemas/<kind>.json next to datapackage.json: a full
# build has a CSV for every chart of every company, and each resource names its kind's file
# instead of repeating the schema.
SCHEMA_FOLDER = "schemas"


def chart_schema(fields, descriptions: dict[str, str]) -> dict:
    """The Table Schema of one kind of chart's CSVs. ``fields``: (name, Table Schema type)
    in CSV order; ``descriptions``: column name → text (KeyError for an undescribed one)."""
    return {
        "fields": [
            {"name": name, "type": kind, "description": descriptions[name]} for name, kind in fields
        ],
        "missingValues": [""],  # a month the inputs do not cover has no count
    }


def chart_resources(
    charts: list[dict], schemas: dict[str, dict]
) -> tuple[dict[str, bytes], list[dict]]:
    """Resources for chart CSVs, and the schema files they point at.

    ``charts``: dicts with ``name`` (the chart id), ``path`` (relative to datapackage.json),
    ``data`` (the CSV's bytes), ``kind`` and ``title``; ``schemas``: kind → Table Schema.
    Returns ``schemas/<kind>.json`` → bytes for each kind used, and one resource per chart,
    in ``charts`` order.
    """
    files: dict[str, bytes] = {}
    resources = []
    for chart in charts:
        schema_path = f"{SCHEMA_FOLDER}/{chart['kind']}.json"
        if schema_path not in files:
            text = json.dumps(schemas[chart["kind"]], indent=2, ensure_ascii=False) + "\n"
            files[schema_path] = text.encode("utf-8")
        if not RESOURCE_NAME.match(chart["name"]):
            raise ValueError(f"chart id {chart['name']!r} is not a resource name")
        resources.append(
            {
                "name": chart["name"],
                "path": chart["path"],
                "profile": "tabular-data-resource",
                "title": chart["title"],
                "encoding": "utf-8-sig",
                "hash": f"sha256:{sha256(chart['data'])}",
                "bytes": len(chart["data"]),
                "schema": schema_path,
            }
        )
    return files, resources
