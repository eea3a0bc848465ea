"""Ingest activity: records read per input and date received, of every product.

The coverage model decides from these which days and months the inputs cover, so every
record with a readable date counts: in scope, out of scope, rejected or duplicate.
"""

from __future__ import annotations

import contextlib
import csv
import json
from collections import Counter
from datetime import date, datetime

import pandas as pd
import pytest

from collectwatch.ingest import read_inputs

from .conftest import REAL_CFPB, real

FORMATS = ["%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%d-%m-%Y"]


def ingest(paths, config, **kw):
    return read_inputs([str(p) for p in paths], config.sources, config.lenders, **kw)


def _csv_dates(path) -> tuple[Counter, int, set[str]]:
    """(records per date, records read, products) of a real CSV, by Python's csv module.

    The header is the first line naming a date-received column; each file's dates are read
    with the one format that parses most of them.
    """
    csv.field_size_limit(2**31 - 1)
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    start = next(
        i
        for i, r in enumerate(rows)
        if any(c.lower().replace("_", " ") == "date received" for c in r)
    )
    header = [c.lower().replace("_", " ") for c in rows[start]]
    at, prod = header.index("date received"), header.index("product")
    records = [r for r in rows[start + 1 :] if r and any(c.strip() for c in r)]
    cells = [r[at].strip() for r in records if len(r) > at]

    def parse(fmt):
        out = []
        for c in cells:
            with contextlib.suppress(ValueError):
                out.append(datetime.strptime(c, fmt).date())
        return out

    best = max((parse(f) for f in FORMATS), key=len)
    products = {r[prod].strip() for r in records if len(r) > prod and r[prod].strip()}
    return Counter(best), len(records), products


@pytest.fixture(scope="module")
def real_files():
    files = sorted(REAL_CFPB.glob("*.csv"))
    if not files:
        pytest.skip("real samples are not here (../shared/data/real)")
    return files


@pytest.fixture(scope="module")
def all_real(real_files, config):
    return ingest(real_files, config)


def _per_input(result, i: int) -> dict[date, int]:
    part = result.activity[result.activity["input"] == i]
    return {d.date(): int(n) for d, n in zip(part["date"], part["rows"], strict=True)}


def test_activity_columns_types_and_order(all_real):
    activity = all_real.activity
    assert list(activity.columns) == ["input", "date", "rows"]
    assert activity["input"].dtype == "int64" and activity["rows"].dtype == "int64"
    assert str(activity["date"].dtype) in ("datetime64[s]", "datetime64[ns]")
    assert (activity["date"] == activity["date"].dt.normalize()).all()
    assert (activity["rows"] > 0).all()
    assert not activity.duplicated(["input", "date"]).any()
    ordered = activity.sort_values(["input", "date"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(activity, ordered)


def test_activity_counts_every_product_on_the_real_samples(all_real, real_files):
    for i, path in enumerate(real_files):
        expected, read, products = _csv_dates(path)
        report = all_real.inputs[i]
        assert report["path"] == str(path)
        got = _per_input(all_real, i)
        assert got == dict(expected), path.name
        assert report["date_min"] == min(expected).isoformat()
        assert report["date_max"] == max(expected).isoformat()
        assert report["products"] == len(products), path.name
        assert report["in_scope_products"] == sum(p.lower() == "debt collection" for p in products)
        # Every record read has a date in these samples, except a cut-off last row's, if any.
        assert sum(got.values()) <= report["rows_read"] == read


def test_the_figures_the_readme_gives(all_real, real_files):
    names = [p.name for p in real_files]
    i = names.index("cfpb_2014_original_14col_schema_8340rows.csv")
    got = _per_input(all_real, i)
    assert sum(got.values()) == 8340
    assert (min(got), max(got)) == (date(2014, 10, 10), date(2014, 11, 13))
    i = names.index("cfpb_2015-2020_sample_with_narratives_6623rows.csv")
    got = _per_input(all_real, i)
    assert sum(got.values()) == 6623
    assert (min(got), max(got)) == (date(2015, 4, 6), date(2020, 3, 19))
    # A file of only other products still says what it covers.
    i = names.index("cfpb_2025_payday_advance_loan_narratives_131rows.csv")
    report = all_real.inputs[i]
    assert report["rows_in_scope"] == 0 and sum(_per_input(all_real, i).values()) == 131
    assert (report["products"], report["in_scope_products"]) == (1, 0)


def test_arrow_and_python_readers_give_the_same_activity(all_real, real_files, monkeypatch, config):
    import collectwatch.ingest.formats as formats

    assert any(r["reader"] == "arrow" for r in all_real.inputs)
    monkeypatch.setattr(formats, "plain_csv", lambda layout: False)
    exact = ingest(real_files, config)  # every CSV through the Python reader
    pd.testing.assert_frame_equal(all_real.activity, exact.activity)
    for fast, slow in zip(all_real.inputs, exact.inputs, strict=True):
        for key in ("products", "in_scope_products", "date_min", "date_max", "date_format"):
            assert fast[key] == slow[key], key


@pytest.mark.parametrize("batch_rows", [25, 100])
def test_batches_do_not_change_the_activity(batch_rows, all_real, real_files, monkeypatch, config):
    import collectwatch.ingest as ingest_module

    monkeypatch.setattr(ingest_module, "BATCH_ROWS", batch_rows)
    names = [p.name for p in real_files]
    pick = ["cfpb_2013_snakecase_variant_999rows.csv", "cfpb_2016-09_standard18_349rows.csv"]
    small = ingest([real_files[names.index(n)] for n in pick], config)
    for j, name in enumerate(pick):
        assert _per_input(small, j) == _per_input(all_real, names.index(name))


def test_a_cache_hit_gives_the_same_activity(tmp_path, real_files, config):
    files = real_files[:4]
    first = ingest(files, config, cache_dir=tmp_path)
    second = ingest(files, config, cache_dir=tmp_path)
    assert {r["cache"] for r in first.inputs} == {"miss"}
    assert {r["cache"] for r in second.inputs} == {"hit"}
    pd.testing.assert_frame_equal(first.activity, second.activity)
    assert first.inputs == [{**r, "cache": "miss"} for r in second.inputs]


def test_a_json_input(config):
    f = real("cfpb_api", "ccdb5-ui_search_hits_25_2021-12.json")
    doc = json.loads(f.read_text(encoding="utf-8"))
    sources = [h["_source"] for h in doc["hits"]["hits"]]
    expected = Counter(date.fromisoformat(s["date_received"][:10]) for s in sources)
    result = ingest([f], config)
    assert _per_input(result, 0) == dict(expected)
    report = result.inputs[0]
    assert report["products"] == len({s["product"] for s in sources if s.get("product")})
    assert report["rows_in_scope"] < sum(expected.values()) == report["rows_read"]


def test_the_date_order_of_a_file_is_the_one_its_in_scope_rows_decide(tmp_path, config):
    """Out-of-scope rows come first, all ambiguous (03/04); the in-scope rows later settle
    day-first (13/04), and the whole file's activity is read day-first."""
    import collectwatch.ingest as ingest_module

    head = "Date received,Product,Company,Complaint ID\n"
    out = [f"03/04/2020,Mortgage,Bank,{n}" for n in range(5)]
    inside = [f"13/04/2020,Debt collection,Agency,{n}" for n in range(5, 8)]
    bad = ["31/31/2020,Mortgage,Bank,9", "31/31/2020,Debt collection,Agency,10"]
    f = tmp_path / "dayfirst.csv"
    f.write_text(head + "\n".join(out + inside + bad) + "\n", encoding="utf-8")
    for batch_rows in (50_000, 2):  # one batch; batches where only later ones are in scope
        ingest_module.BATCH_ROWS, saved = batch_rows, ingest_module.BATCH_ROWS
        try:
            result = ingest([f], config)
        finally:
            ingest_module.BATCH_ROWS = saved
        report = result.inputs[0]
        assert report["date_format"] == "%d/%m/%Y"
        assert _per_input(result, 0) == {date(2020, 4, 3): 5, date(2020, 4, 13): 3}
        # The unreadable dates are not activity, and stay reconciled as before.
        assert (report["rows_out_of_scope"], report["rows_rejected"]) == (6, 1)
        assert (report["products"], report["in_scope_products"]) == (2, 1)
