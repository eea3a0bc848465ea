"""Duplicates without complaint IDs: a row of an ID-less export that another input also
holds is one complaint, not two (matched on every field both inputs have, as a multiset)."""

from __future__ import annotations

import contextlib
import csv
import random
import re
from collections import Counter
from datetime import date, datetime, timedelta

import pytest

from collectwatch.ingest import read_inputs

from .conftest import REAL_CFPB
from .layouts import HEADER, NO_ID

BUCKETS = ("rows_in_scope", "rows_out_of_scope", "rows_rejected", "rows_duplicate")


def ingest(paths, config, **kw):
    return read_inputs([str(p) for p in paths], config.sources, config.lenders, **kw)


def reconciles(report: dict) -> bool:
    return report["rows_read"] == sum(report[k] for k in BUCKETS)


def _write(path, header, rows) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(h, "") for h in header])


def _row(n: int, **kw) -> dict:
    row = {
        "Date received": "2016-09-12",
        "Product": "Debt collection",
        "Sub-product": "Medical",
        "Issue": "Communication tactics",
        "Sub-issue": "Frequent or repeated calls",
        "Company": "Acme Recovery, Inc.",
        "State": "TX",
        "ZIP code": "75006",
        "Consumer consent provided?": "N/A",
        "Submitted via": "Web",
        "Date sent to company": "2016-09-13",
        "Company response to consumer": "Closed with explanation",
        "Timely response?": "Yes",
        "Consumer disputed?": "No",
        "Complaint ID": str(n),
    }
    row.update(kw)
    return row


# --- the real samples ------------------------------------------------------------------

# Header names of the real files → one name per field, written out here rather than taken
# from data/sources.yaml, so the expectation does not share the code under test.
FIELD = {
    "datereceived": "received",
    "product": "product",
    "subproduct": "sub_product",
    "issue": "issue",
    "subissue": "sub_issue",
    "company": "company",
    "state": "state",
    "zipcode": "zip",
    "submittedvia": "via",
    "datesenttocompany": "sent",
    "companyresponsetoconsumer": "response",
    "companyresponse": "response",
    "timelyresponse": "timely",
    "consumerdisputed": "disputed",
    "consumerconsentprovided": "consent",
    "tags": "tags",
    "companypublicresponse": "public_response",
    "consumercomplaintnarrative": "narrative",
    "complaintid": "id",
}
MISSING = {"", "N/A", "None"}


def _date(text: str) -> date | None:
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%d-%m-%Y"):
        with contextlib.suppress(ValueError):
            return datetime.strptime(text, fmt).date()
    return None


def _debt_collection_rows(path) -> tuple[list[str], list[dict]]:
    """(fields the file has, its Debt collection rows as normalised field → value)."""
    csv.field_size_limit(2**31 - 1)
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    start = next(
        i
        for i, r in enumerate(rows)
        if any(re.sub(r"[\W_]", "", c.lower()) == "product" for c in r)
    )
    names = [FIELD.get(re.sub(r"[\W_]", "", c.lower())) for c in rows[start]]
    out = []
    for r in rows[start + 1 :]:
        row = {}
        for name, cell in zip(names, r, strict=False):
            if name is None:
                continue
            cell = cell.strip()
            if name in ("received", "sent"):
                row[name] = _date(cell) or cell
            else:
                row[name] = None if cell in MISSING else cell.casefold()
        if row.get("product") == "debt collection":
            out.append(row)
    return [n for n in names if n], out


def test_the_real_samples_shared_rows_are_counted_once(config):
    files = sorted(REAL_CFPB.glob("*.csv"))
    if not files:
        pytest.skip("real samples are not here (../shared/data/real)")
    parsed = {p: _debt_collection_rows(p) for p in files}
    without = [p for p in files if "id" not in parsed[p][0]]
    assert [p.name for p in without] == ["cfpb_2013-2017_14col_no_narrative_3186rows.csv"]
    fields, rows = parsed[without[0]]
    left = Counter()
    for row in rows:
        left[tuple(sorted(row.items(), key=str))] += 1
    expected = 0
    for other in files:
        if other in without:
            continue
        other_fields, other_rows = parsed[other]
        shared = sorted(set(fields) & set(other_fields) - {"narrative", "id"})
        theirs = Counter(tuple(r.get(f) for f in shared) for r in other_rows)
        for key in list(left):
            row = dict(key)
            mine = tuple(row.get(f) for f in shared)
            n = min(left[key], theirs[mine])
            if n:
                expected += n
                left[key] -= n
                theirs[mine] -= n
    assert expected == 7  # as the brief of issue #12 counted them

    result = ingest(files, config)
    by_name = {r["path"].rsplit("/", 1)[-1]: r for r in result.inputs}
    assert by_name[without[0].name]["rows_duplicate"] == expected
    assert all(reconciles(r) for r in result.inputs)
    assert len(result.table) == sum(len(rows) for _, rows in parsed.values()) - expected
    # The copies kept are those with a real complaint ID.
    kept = result.table[result.table["complaint_id"].isin(["467801", "475728", "469501"])]
    assert len(kept) == 3


# --- synthetic pairs ----------------------------------------------------------------------


def test_min_k_j_and_the_copy_with_an_id_is_kept(tmp_path, config):
    x, y, z = _row(0), _row(0, State="CA", **{"ZIP code": "90001"}), _row(0, State="NY")
    with_ids = tmp_path / "with_ids.csv"
    _write(with_ids, HEADER, [{**x, "Complaint ID": "1"}, {**x, "Complaint ID": "2"}, y])
    no_ids = tmp_path / "no_ids.csv"
    # Dates as the old export writes them: the same day, another format.
    old = {"Date received": "9/12/2016", "Date sent to company": "9/13/2016"}
    _write(no_ids, NO_ID, [{**r, **old} for r in (x, x, x, y, z, z)])
    # The ID-less input first: the copies with IDs still win.
    result = ingest([no_ids, with_ids], config)
    first, second = result.inputs
    assert first["rows_duplicate"] == 3  # min(3, 2) of x, min(1, 1) of y
    assert first["rows_in_scope"] == 3  # one x, and both z: equal rows of one file are kept
    assert (second["rows_in_scope"], second["rows_duplicate"]) == (3, 0)
    assert all(reconciles(r) for r in result.inputs)
    assert len(result.table) == 6
    assert (result.table["complaint_id"].str.startswith("row-")).sum() == 3


def test_identical_rows_inside_one_file_are_kept(tmp_path, config):
    f = tmp_path / "no_ids.csv"
    _write(f, NO_ID, [_row(0)] * 4)
    result = ingest([f], config)
    assert (result.inputs[0]["rows_in_scope"], result.inputs[0]["rows_duplicate"]) == (4, 0)


def test_a_field_both_inputs_have_must_match(tmp_path, config):
    with_ids = tmp_path / "with_ids.csv"
    _write(with_ids, HEADER, [_row(1, **{"ZIP code": "75007"}), _row(2, Company="Other LLC")])
    no_ids = tmp_path / "no_ids.csv"
    _write(no_ids, NO_ID, [_row(0), _row(0, Company="OTHER LLC")])
    result = ingest([with_ids, no_ids], config)
    # A different ZIP code is another complaint; a company's case is not a difference.
    assert result.inputs[1]["rows_duplicate"] == 1
    assert len(result.table) == 3


def test_between_two_inputs_without_ids_the_earlier_is_kept(tmp_path, config):
    a = tmp_path / "a.csv"
    _write(a, NO_ID, [_row(0), _row(0, State="CA")])
    b = tmp_path / "b.csv"  # another layout: no ZIP code, so ZIP codes are not compared
    _write(b, [h for h in NO_ID if h != "ZIP code"], [_row(0, **{"ZIP code": "1"})])
    result = ingest([a, b], config)
    assert [r["rows_duplicate"] for r in result.inputs] == [0, 1]
    result = ingest([b, a], config)
    assert [r["rows_duplicate"] for r in result.inputs] == [0, 1]
    assert len(result.table) == 2


def _generated(n: int, seed: int = 12) -> list[dict]:
    """Rows with IDs from a small vocabulary, so that some differ only by their ID."""
    rng = random.Random(seed)
    start = date(2015, 1, 1)
    rows = []
    for i in range(n):
        received = start + timedelta(days=rng.randrange(60))
        rows.append(
            _row(
                100_000 + i,
                **{
                    "Date received": received.isoformat(),
                    "Date sent to company": (
                        received + timedelta(days=rng.randrange(3))
                    ).isoformat(),
                    "Sub-product": rng.choice(["Medical", "Credit card", "I do not know"]),
                    "Issue": rng.choice(
                        ["Communication tactics", "Disclosure verification of debt"]
                    ),
                    "Company": rng.choice(["Acme Recovery, Inc.", "Midland Funding", "ERC"]),
                    "State": rng.choice(["TX", "CA"]),
                    "ZIP code": rng.choice(["75006", "90001", ""]),
                    "Submitted via": rng.choice(["Web", "Phone"]),
                    "Consumer disputed?": rng.choice(["Yes", "No"]),
                    "Product": rng.choice(["Debt collection"] * 4 + ["Mortgage"]),
                },
            )
        )
    return rows


def test_an_id_less_re_export_leaves_the_complaint_count_unchanged(tmp_path, config):
    rows = _generated(3000)
    full = tmp_path / "full.csv"
    _write(full, HEADER, rows)
    picked = random.Random(7).sample(rows, 400)

    def us_date(iso: str) -> str:
        d = date.fromisoformat(iso)
        return f"{d.month}/{d.day}/{d.year}"

    again = [
        {
            **r,
            "Date received": us_date(r["Date received"]),
            "Date sent to company": us_date(r["Date sent to company"]),
        }
        for r in picked
    ]
    reexport = tmp_path / "reexport_no_ids.csv"
    _write(reexport, NO_ID, again)
    alone = ingest([full], config)
    both = ingest([full, reexport], config)
    keys = Counter(tuple(v for k, v in r.items() if k != "Complaint ID") for r in rows)
    assert any(n > 1 for n in keys.values())  # some rows differ only by their ID
    assert len(both.table) == len(alone.table)
    in_scope = sum(r["Product"] == "Debt collection" for r in picked)
    assert both.inputs[1]["rows_duplicate"] == in_scope
    assert all(reconciles(r) for r in both.inputs)
    # Given first, the re-export still yields to the rows with IDs.
    reverse = ingest([reexport, full], config)
    assert len(reverse.table) == len(alone.table)
    assert not reverse.table["complaint_id"].str.startswith("row-").any()
