"""exports: spreadsheet-safe CSV, Table Schemas, a valid Data Package, citations, tables.yaml."""

from __future__ import annotations

import csv
import io
import json

import frictionless
import numpy as np
import pandas as pd
import pytest

from collectwatch import exports
from collectwatch.aggregate import build_tables
from collectwatch.errors import UserError
from collectwatch.exports import csv_bytes, datapackage, load_table_meta, table_schema

from .test_aggregate import AS_OF, SITE, TAXONOMY, classified, tags

BOM = b"\xef\xbb\xbf"
TYPES = {"string": "str", "integer": "Int64", "number": "Float64", "boolean": "boolean"}


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return build_tables(classified(), tags(), TAXONOMY, SITE, AS_OF)


@pytest.fixture(scope="module")
def meta(tables) -> dict:
    return load_table_meta(tables=tables)


def cells(data: bytes) -> list[list[str]]:
    """CSV bytes → rows of cells exactly as a CSV reader sees them."""
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def normalise(df: pd.DataFrame, schema: dict) -> pd.DataFrame:
    """Both sides of a round trip → the same dtypes, as the Table Schema types say."""
    out = {}
    for field in schema["fields"]:
        col, kind = df[field["name"]], field["type"]
        if kind == "date":
            out[field["name"]] = pd.to_datetime(col).astype("datetime64[s]")
        elif kind == "number":
            out[field["name"]] = col.astype("Float64").round(exports.FLOAT_DECIMALS)
        else:
            out[field["name"]] = col.astype(TYPES[kind])
    return pd.DataFrame(out)


def read_back(data: bytes, schema: dict) -> pd.DataFrame:
    kinds = {f["name"]: f["type"] for f in schema["fields"]}
    return pd.read_csv(
        io.BytesIO(data),
        encoding="utf-8-sig",
        dtype={n: TYPES[k] for n, k in kinds.items() if k != "date"},
        parse_dates=[n for n, k in kinds.items() if k == "date"],
        keep_default_na=False,
        na_values=[""],
    )


def assert_round_trips(df: pd.DataFrame) -> None:
    schema = table_schema(df, {c: c for c in df.columns})
    back = normalise(read_back(csv_bytes(df), schema), schema)
    pd.testing.assert_frame_equal(back, normalise(df, schema))


# ── csv_bytes ──────────────────────────────────────────────────────────────────────────


def test_csv_starts_with_a_bom_and_ends_every_line_with_lf():
    data = csv_bytes(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    assert data.startswith(BOM)
    assert data[len(BOM) :] == b"a,b\n1,x\n2,y\n"
    assert b"\r" not in data


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_triggers_in_text_cells_are_neutralised(trigger):
    payload = trigger + 'HYPERLINK("http://evil.example","x")'
    df = pd.DataFrame({"lender": [payload, "Acme"], "n": [1, 2]})
    rows = cells(csv_bytes(df))
    assert rows[1] == ["'" + payload, "1"]
    assert rows[2] == ["Acme", "2"]


def test_categorical_text_is_neutralised_too():
    df = pd.DataFrame({"lender": pd.Categorical(["=cmd", "ok"])})
    assert cells(csv_bytes(df))[1] == ["'=cmd"]


def test_numbers_stay_numbers_even_when_negative():
    df = pd.DataFrame(
        {
            "change": pd.array([-3, 4], dtype="int64"),
            "nullable": pd.array([-1, None], dtype="Int64"),
            "ratio": pd.array([-0.5, 1.25], dtype="Float64"),
            "label": ["-3", "+4"],
        }
    )
    rows = cells(csv_bytes(df))
    assert rows[1] == ["-3", "-1", "-0.5", "'-3"]
    assert rows[2] == ["4", "", "1.25", "'+4"]


def test_chinese_text_survives_and_excel_sees_utf8():
    df = pd.DataFrame({"name_zh": ["暴力催收", "爆通讯录", "呼死你"], "n": [1, 2, 3]})
    data = csv_bytes(df)
    assert data.startswith(BOM)
    assert "暴力催收".encode() in data
    assert_round_trips(df)


def test_missing_values_are_empty_dates_iso_and_floats_rounded():
    df = pd.DataFrame(
        {
            "month": pd.to_datetime(["2024-01-01", None]).astype("datetime64[s]"),
            "share": pd.array([1 / 3, None], dtype="Float64"),
            "plain": [np.nan, 2 / 3],
            "text": pd.array([None, "x"], dtype="string"),
            "flag": pd.array([True, None], dtype="boolean"),
        }
    )
    rows = cells(csv_bytes(df))
    assert rows[1] == ["2024-01-01", "0.333333", "", "", "True"]
    assert rows[2] == ["", "", "0.666667", "x", ""]
    text = csv_bytes(df).decode("utf-8-sig").lower()
    assert "nan" not in text and "<na>" not in text and "nat" not in text


def test_a_mixed_table_round_trips():
    df = pd.DataFrame(
        {
            "lender": pd.Categorical(["Acme", "Beta", "All lenders"]),
            "slug": pd.array(["acme", "beta", None], dtype="string"),
            "month": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]).astype(
                "datetime64[s]"
            ),
            "complaints": [3, 0, 12],
            "share": pd.array([0.6, None, 0.123456789], dtype="Float64"),
            "provisional": [False, False, True],
            "note": ['含逗号, 和 "引号"', "line\nbreak", ""],
        }
    )
    # An empty string comes back as missing: CSV cannot tell them apart.
    df.loc[2, "note"] = None
    assert_round_trips(df)


def test_every_aggregate_table_round_trips(tables):
    for name, df in tables.items():
        try:
            assert_round_trips(df)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None


def test_empty_tables_write_a_header_only():
    empty = build_tables(classified().iloc[:0], None, TAXONOMY, SITE, AS_OF)["counts_monthly"]
    data = csv_bytes(empty)
    assert data == BOM + (",".join(empty.columns) + "\n").encode()


# ── Table Schema and Data Package ──────────────────────────────────────────────────────


def test_table_schema_types_and_descriptions(tables, meta):
    schema = table_schema(tables["counts_monthly"], meta["counts_monthly"]["fields"])
    kinds = {f["name"]: f["type"] for f in schema["fields"]}
    assert kinds == {
        "lender": "string",
        "lender_slug": "string",
        "behaviour": "string",
        "family": "string",
        "month": "date",
        "complaints": "integer",
        "all_complaints": "integer",
        "share": "number",
        "provisional": "boolean",
        "coverage": "string",
    }
    assert all(f["description"] for f in schema["fields"])
    assert schema["missingValues"] == [""]


def test_table_schema_refuses_an_undescribed_column():
    with pytest.raises(ValueError, match="b"):
        table_schema(pd.DataFrame({"a": [1], "b": [2]}), {"a": "described"})


SOURCES = [
    {
        "title": "CFPB Consumer Complaint Database (bulk CSV)",
        "path": "https://files.consumerfinance.gov/ccdb/complaints.csv.zip",
        "retrieved": "2024-05-01",
        "sha256": "0" * 64,
    }
]


def write_package(folder, tables, meta) -> dict[str, bytes]:
    files = exports.downloads(
        tables,
        meta,
        sources_meta=SOURCES,
        generated_at="2024-05-02T06:00:00Z",
        title="Debt collection complaints: tables",
    )
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return files


def test_datapackage_validates_with_frictionless(tmp_path, tables, meta):
    files = write_package(tmp_path, tables, meta)
    assert set(files) == {exports.file_name(n, meta[n]) for n in tables} | {"datapackage.json"}
    report = frictionless.validate(str(tmp_path / "datapackage.json"))
    assert report.valid, report.flatten(["resourcePath", "rowNumber", "fieldName", "note"])[:10]


def test_frictionless_notices_a_changed_csv(tmp_path, tables, meta):
    write_package(tmp_path, tables, meta)
    path = tmp_path / "lenders.csv"
    path.write_bytes(path.read_bytes().replace(b"Acme,acme,5", b"Acme,acme,6"))
    report = frictionless.validate(str(tmp_path / "datapackage.json"))
    assert not report.valid
    assert "hash-count" in {row[0] for row in report.flatten(["type"])}


def test_frictionless_notices_a_wrong_type(tmp_path):
    df = pd.DataFrame({"n": [1, 2]})
    data = csv_bytes(df).replace(b"2\n", b"two\n")
    package = datapackage(
        [{"name": "t", "data": data, "schema": table_schema(df, {"n": "a count"})}],
        sources_meta=SOURCES,
        generated_at="2024-05-02T06:00:00Z",
        title="t",
    )
    (tmp_path / "t.csv").write_bytes(data)
    (tmp_path / "datapackage.json").write_text(json.dumps(package))
    assert not frictionless.validate(str(tmp_path / "datapackage.json")).valid


def test_datapackage_descriptor(tables, meta):
    files = exports.downloads(
        tables, meta, sources_meta=SOURCES, generated_at="2024-05-02T06:00:00Z", title="Tables"
    )
    package = json.loads(files["datapackage.json"])
    assert package["name"] == "tables" and package["title"] == "Tables"
    assert package["created"] == "2024-05-02T06:00:00Z"
    assert package["licenses"] == [exports.CC0] and package["licenses"][0]["name"] == "CC0-1.0"
    assert package["sources"] == SOURCES
    monthly = next(r for r in package["resources"] if r["name"] == "counts_monthly")
    data = files["counts_monthly.csv"]
    assert monthly["path"] == "counts_monthly.csv"
    assert (monthly["format"], monthly["mediatype"], monthly["encoding"]) == (
        "csv",
        "text/csv",
        "utf-8-sig",
    )
    assert monthly["hash"] == "sha256:" + exports.sha256(data)
    assert monthly["bytes"] == len(data)
    assert monthly["title"] == meta["counts_monthly"]["title"]["en"]
    assert monthly["schema"]["primaryKey"] == ["lender", "behaviour", "month"]


@pytest.mark.parametrize("name", ["Counts", "counts monthly", "计数", "-lead", ""])
def test_resource_names_are_lowercase_with_dash_underscore_dot_only(name):
    with pytest.raises(ValueError, match="resource name"):
        exports.resource(name, b"", {"fields": []})


def test_package_name_from_any_title():
    assert exports.package_name("Debt Collection: Tables 2024") == "debt-collection-tables-2024"
    assert exports.package_name("催收投诉趋势") == "collectwatch"


def test_sources_need_a_title():
    with pytest.raises(ValueError, match=r"sources_meta\[0\]"):
        datapackage([], sources_meta=[{"path": "x"}], generated_at="2024", title="t")


def test_citation_names_the_source_the_dates_and_the_processing():
    text = exports.citation(
        "Complaints by lender and month",
        "https://example.org/data/counts_monthly.csv",
        "2024-05-01",
        "2024-05-02",
    )
    assert text.startswith("Complaints by lender and month.")
    assert "Consumer Financial Protection Bureau" in text
    assert "retrieved 2024-05-01" in text and "2024-05-02" in text
    assert "collectwatch" in text and text.endswith("/data/counts_monthly.csv")


# ── data/tables.yaml ───────────────────────────────────────────────────────────────────


def test_tables_yaml_describes_every_table_and_column(tables):
    meta = load_table_meta(tables=tables)  # raises UserError on any gap
    for name in tables:
        assert meta[name]["title"]["en"] and meta[name]["title"]["zh"]
        assert meta[name]["description"]["en"] and meta[name]["description"]["zh"]


def write_yaml(tmp_path, fields: dict, *, table="t") -> str:
    lines = [
        f"{table}:",
        "  title: {en: T, zh: 表}",
        "  description: {en: D, zh: 描述}",
        "  fields:",
        *[f"    {k}: {v}" for k, v in fields.items()],
    ]
    path = tmp_path / "tables.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_column_without_description_is_a_user_error_naming_file_and_key(tmp_path):
    path = write_yaml(tmp_path, {"a": "first"})
    with pytest.raises(UserError, match=r"tables\.yaml: missing key t\.fields\.b"):
        load_table_meta(path, {"t": pd.DataFrame({"a": [1], "b": [2]})})


def test_an_empty_description_counts_as_missing(tmp_path):
    path = write_yaml(tmp_path, {"a": "first", "b": "''"})
    with pytest.raises(UserError, match=r"t\.fields\.b"):
        load_table_meta(path, {"t": pd.DataFrame({"a": [1], "b": [2]})})


def test_a_table_without_description_is_a_user_error(tmp_path):
    path = write_yaml(tmp_path, {"a": "first"})
    with pytest.raises(UserError, match=r"tables\.yaml: missing key other"):
        load_table_meta(path, {"other": pd.DataFrame({"a": [1]})})


def test_a_described_column_that_is_gone_is_a_user_error(tmp_path):
    path = write_yaml(tmp_path, {"a": "first", "old": "removed column"})
    with pytest.raises(UserError, match=r"unknown key t\.fields\.old"):
        load_table_meta(path, {"t": pd.DataFrame({"a": [1]})})


def test_a_malformed_entry_is_a_user_error(tmp_path):
    path = tmp_path / "tables.yaml"
    path.write_text("t:\n  title: only English\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"tables\.yaml"):
        load_table_meta(path)
