"""Ingest: every real CFPB export flavour becomes reconciled canonical rows."""

from __future__ import annotations

import copy
import os

import pandas as pd
import pytest

from collectwatch.errors import UserError
from collectwatch.ingest import read_inputs
from collectwatch.ingest.lenders import resolve_lenders, slugify
from collectwatch.ingest.normalise import CANONICAL, choose_date_format

from .conftest import REAL_CFPB, real

# (file, rows in the file, Debt collection rows) as counted in ../shared/data/real/README.md
REAL_CSVS = [
    ("cfpb_2013_kaggle_snakecase_1000rows.csv", 1000, 210),
    ("cfpb_2013_snakecase_variant_999rows.csv", 999, 116),
    ("cfpb_2014_original_14col_schema_8340rows.csv", 8340, 2118),
    ("cfpb_2013-2017_14col_no_narrative_3186rows.csv", 3186, 625),
    ("cfpb_2016-09_standard18_349rows.csv", 349, 105),
    ("cfpb_2015-2020_sample_with_narratives_6623rows.csv", 6623, 1231),
    ("cfpb_2023_excel_resaved_underscore_headers_3999rows.csv", 3999, 217),
    ("cfpb_2023-09_export_head_TRUNCATED_1MiB.csv", 2068, 87),
    ("cfpb_2023_payday_title_personal_loan_narratives_2827rows.csv", 2827, 0),
    ("cfpb_2025_payday_advance_loan_narratives_131rows.csv", 131, 0),
]
BUCKETS = ("rows_in_scope", "rows_out_of_scope", "rows_rejected", "rows_duplicate")


def ingest(paths, config, **kw):
    return read_inputs([str(p) for p in paths], config.sources, config.lenders, **kw)


def reconciles(report: dict) -> bool:
    return report["rows_read"] == sum(report[k] for k in BUCKETS)


@pytest.fixture(scope="module")
def all_real(config):
    return ingest([real("cfpb", name) for name, _, _ in REAL_CSVS], config)


def test_every_real_csv_gives_the_readme_counts(all_real):
    by_file = {r["path"].rsplit("/", 1)[-1]: r for r in all_real.inputs}
    for name, rows, dc in REAL_CSVS:
        report = by_file[name]
        assert report["rows_read"] == rows, name
        # 7 rows of the file without complaint IDs are also in the 2013 snake_case variant.
        assert report["rows_in_scope"] + report["rows_duplicate"] == dc, name
        assert reconciles(report), report
    assert len(all_real.table) == 4709 - 7


def test_canonical_columns_and_types(all_real):
    table = all_real.table
    assert list(table.columns) == CANONICAL
    assert table["date_received"].min() >= pd.Timestamp("2011-12-01")
    assert table["date_received"].max() <= pd.Timestamp("2023-12-31")
    assert table["complaint_id"].notna().all()
    assert not table.duplicated(["source", "complaint_id"]).any()
    assert set(table["product"].str.casefold()) == {"debt collection"}
    assert set(table["language"]) == {"en"}


def test_each_date_format_is_read_as_its_file_writes_it(all_real, config):
    formats = {r["path"].rsplit("/", 1)[-1]: r["date_format"] for r in all_real.inputs}
    assert formats["cfpb_2023_excel_resaved_underscore_headers_3999rows.csv"] == "%d-%m-%Y"
    assert formats["cfpb_2013_snakecase_variant_999rows.csv"] == "%m/%d/%y"
    assert formats["cfpb_2015-2020_sample_with_narratives_6623rows.csv"] == "%Y-%m-%d"
    # Day-first file: 27-04-2023 must be April 27th, not a failure or month 27.
    excel = ingest(
        [real("cfpb", "cfpb_2023_excel_resaved_underscore_headers_3999rows.csv")], config
    )
    dates = excel.table["date_received"]
    assert dates.min() >= pd.Timestamp("2012-08-06") and dates.max() == pd.Timestamp("2023-04-27")
    assert (dates.dt.day > 12).any() and excel.inputs[0]["rows_rejected"] == 0


def test_ambiguous_day_month_order_is_decided_once_per_file():
    formats = ["%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y"]
    # One unambiguous day-first value decides for the whole file.
    assert choose_date_format(pd.Series(["03/04/2020", "13/04/2020"]), formats) == "%d/%m/%Y"
    assert choose_date_format(pd.Series(["03/04/2020", "04/13/2020"]), formats) == "%m/%d/%Y"
    # All ambiguous: month-first, as the CFPB writes dates.
    assert choose_date_format(pd.Series(["03/04/2020", "05/06/2021"]), formats) == "%m/%d/%Y"
    assert choose_date_format(pd.Series(["2021-12-11T12:00:00-05:00"]), formats) == "%Y-%m-%d"


def test_preamble_lines_before_the_header_are_skipped(all_real):
    report = next(r for r in all_real.inputs if "6623rows" in r["path"])
    assert report["preamble_lines"] == 2
    assert report["rows_read"] == 6623


def test_truncated_last_row_is_quarantined_with_its_line(all_real):
    q = all_real.quarantine
    cut = q[q["file"].str.endswith("TRUNCATED_1MiB.csv")]
    assert len(cut) == 1
    assert cut["reason"].iloc[0].startswith("truncated row: 2 of 18 fields")
    assert cut["line"].iloc[0] > 2068  # physical line, after embedded newlines


def test_short_row_missing_only_an_optional_trailing_field_is_kept(all_real):
    # The 2014 file's last row lacks its empty trailing "Consumer disputed?".
    report = next(r for r in all_real.inputs if "8340rows" in r["path"])
    assert report["rows_rejected"] == 0


def test_none_and_na_literals_mean_missing(all_real, config):
    result = ingest(
        [real("cfpb", "cfpb_2023_payday_title_personal_loan_narratives_2827rows.csv")], config
    )
    assert result.inputs[0]["rows_out_of_scope"] == 2827
    table = all_real.table
    assert not table["sub_issue"].isin(["None", "N/A", "null"]).any()
    assert not table["state"].isin(["None", "N/A"]).any()


def test_embedded_newlines_inside_quoted_narratives(all_real):
    narratives = all_real.table["narrative"].dropna()
    assert narratives.str.contains("\n").sum() > 10


def test_non_utf8_bytes_do_not_stop_the_read(tmp_path, config):
    src = real("cfpb", "cfpb_2016-09_standard18_349rows.csv").read_bytes()
    lines = src.split(b"\n")
    # A cp1252 apostrophe (0x92) and e-acute (0xe9), as a Windows re-save writes them.
    lines[3] = lines[3].replace(b",Web,", b",Web\x92s caf\xe9,", 1)
    f = tmp_path / "cp1252.csv"
    f.write_bytes(b"\n".join(lines))
    result = ingest([f], config)
    report = result.inputs[0]
    assert report["encoding"] == "cp1252"
    assert report["rows_read"] == 349 and reconciles(report)
    via = pd.concat([result.table["submitted_via"], result.quarantine["raw"]]).dropna()
    assert via.str.contains("’s café").any() or report["rows_out_of_scope"] == 244


def test_json_flavours(config):
    files = {
        "ccdb5-ui_search_hits_25_2021-12.json": ("json:hits", 25, 14),
        "ccdb5-ui_search_hits_10_debt_collector_query.json": ("json:hits", 10, 8),
        "ccdb5-ui_document_detail_3146099.json": ("json:document", 1, 0),
        "ccdb-data-pipeline_s3_bulk_json_fixture_2019.json": ("json:bulk", 10, 0),
        "socrata_rows_json_2013_119rows.json": ("json:socrata", 119, 14),
    }
    result = ingest([real("cfpb_api", f) for f in files], config)
    for report in result.inputs:
        kind, rows, dc = files[report["path"].rsplit("/", 1)[-1]]
        assert (report["format"], report["rows_read"], report["rows_in_scope"]) == (kind, rows, dc)
        assert reconciles(report)
    bulk = next(r for r in result.inputs if "bulk" in r["path"])
    # Its one record with an empty date_received is about another product: rows outside
    # scope are counted, not checked, so it is out of scope rather than rejected.
    assert (bulk["rows_rejected"], bulk["rows_out_of_scope"]) == (0, 10)
    socrata = next(r for r in result.inputs if "socrata" in r["path"])
    assert socrata["encoding"] == "cp1252"
    hits = result.table[result.table["complaint_id"] == "4937041"]
    assert hits["date_received"].iloc[0] == pd.Timestamp("2021-11-22")


@pytest.mark.parametrize(
    "name",
    [
        "ccdb5-api_trends_yearly_product_issue.json",
        "ccdb5-api_trends_company_filter_equifax.json",
        "ccdb5-ui_aggregations_2021-12.json",
        "ccdb5-ui_geo_state_aggregations.json",
    ],
)
def test_aggregation_json_is_refused(name, config):
    with pytest.raises(UserError, match="aggregations"):
        ingest([real("cfpb_api", name)], config)


def test_duplicates_across_files_keep_the_first(config):
    f = real("cfpb", "cfpb_2016-09_standard18_349rows.csv")
    result = ingest([f, f], config)
    first, second = result.inputs
    assert first["rows_in_scope"] == 105 and first["rows_duplicate"] == 0
    assert second["rows_in_scope"] == 0 and second["rows_duplicate"] == 105
    assert len(result.table) == 105
    assert reconciles(first) and reconciles(second)


def test_files_without_complaint_id_still_deduplicate(config):
    f = real("cfpb", "cfpb_2013-2017_14col_no_narrative_3186rows.csv")
    result = ingest([f, f], config)
    assert result.inputs[1]["rows_duplicate"] == 625
    assert result.table["complaint_id"].str.startswith("row-").all()


def test_zip_input(tmp_path, config):
    import zipfile

    f = real("cfpb", "cfpb_2016-09_standard18_349rows.csv")
    z = tmp_path / "complaints.csv.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(f, "complaints.csv")
    result = ingest([z], config)
    assert result.inputs[0]["format"] == "csv in zip"
    assert result.inputs[0]["rows_in_scope"] == 105


def test_configured_source_heimao(config):
    result = ingest([real("cn", "heimao_example_structured_3rows.csv")], config)
    report = result.inputs[0]
    assert report["source"] == "heimao" and report["rows_in_scope"] == 3
    table = result.table
    assert set(table["language"]) == {"zh"}
    assert set(table["lender"]) == {"信*飞App"}
    assert table["narrative"].str.contains("催收").any()


def test_configured_source_in_gb18030(tmp_path, config):
    text = real("cn", "heimao_example_structured_3rows.csv").read_text(encoding="utf-8")
    f = tmp_path / "heimao_gb.csv"
    f.write_bytes(text.encode("gb18030"))
    sources = copy.deepcopy(config.sources)
    sources["sources"]["heimao"]["encoding"] = "gb18030"
    result = read_inputs([str(f)], sources, config.lenders)
    assert result.table["narrative"].str.contains("威胁恐吓").any()


def test_lender_names_fold(config):
    raw = pd.Series(
        [
            "EQUIFAX, INC.",
            "Equifax",
            "Acme Recovery, LLC",
            "ACME RECOVERY LLC",
            "Acme Recovery",
            "眾信金融",
            "众信金融",
            "众信金融有限公司",
        ],
        dtype="string",
    )
    named, folds = resolve_lenders(raw, config.lenders)
    lender = named["lender"].tolist()
    assert lender[0] == lender[1] == "Equifax"  # listed in data/lenders.yaml
    assert len(set(lender[2:5])) == 1
    assert len(set(lender[5:8])) == 1
    assert sorted(folds[lender[5]]) == sorted(["眾信金融", "众信金融", "众信金融有限公司"])
    slugs = named["lender_slug"]
    assert slugs.str.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*").all()
    assert named.drop_duplicates()["lender_slug"].is_unique


@pytest.mark.parametrize("name", ["../../etc/passwd", "..", "<script>", "", "   ", "信*飞"])
def test_slugs_never_escape(name):
    slug = slugify(name)
    assert slug and "/" not in slug and ".." not in slug
    assert slug.replace("-", "").isalnum() and slug.isascii()


@pytest.mark.parametrize("name", ["Letter", "LETTER Inc.", "letter"])
def test_a_company_named_letter_does_not_take_the_letter_pages_folder(name):
    # /lenders/letter/<key>/ are the lenders index's letter pages.
    slug = slugify(name)
    assert slug != "letter" and slug.startswith("letter")


def test_cache_hit_gives_the_same_table(tmp_path, config):
    f = real("cfpb", "cfpb_2015-2020_sample_with_narratives_6623rows.csv")
    first = ingest([f], config, cache_dir=tmp_path)
    second = ingest([f], config, cache_dir=tmp_path)
    assert first.inputs[0]["cache"] == "miss" and second.inputs[0]["cache"] == "hit"
    pd.testing.assert_frame_equal(first.table, second.table)
    assert first.folds == second.folds and first.folds  # names resolved once, then recalled
    assert len(list(tmp_path.glob("lenders-*.json"))) == 1
    assert second.inputs[0]["rows_read"] == 6623


def test_every_real_input_reconciles(config):
    files = sorted(REAL_CFPB.glob("*.csv"))
    result = ingest(files, config)
    assert all(reconciles(r) for r in result.inputs)
    assert sum(r["rows_read"] for r in result.inputs) == 29522


@pytest.mark.parametrize("batch_rows", [1, 7])
def test_tiny_batches_give_the_same_table(batch_rows, monkeypatch, config, tmp_path):
    import collectwatch.ingest as ingest_module

    # The file's first 240 rows (32 of them debt collection): with one row a batch, the whole
    # file would be 3,186 batches, the slowest test in the suite for no extra coverage.
    whole_file = real("cfpb", "cfpb_2013-2017_14col_no_narrative_3186rows.csv")
    head = whole_file.read_bytes().splitlines(keepends=True)[:241]
    files = [tmp_path / "head.csv"]
    files[0].write_bytes(b"".join(head))
    whole = ingest(files, config)
    monkeypatch.setattr(ingest_module, "BATCH_ROWS", batch_rows)
    small = ingest(files, config)
    pd.testing.assert_frame_equal(whole.table, small.table)
    assert whole.inputs[0]["rows_read"] == small.inputs[0]["rows_read"] == 240
    assert whole.inputs[0]["rows_in_scope"] == small.inputs[0]["rows_in_scope"] == 32


def test_a_byte_order_mark_overrides_the_configured_encoding(tmp_path, config):
    # Found by fuzzing: a UTF-16 heimao file was read as the configured UTF-8.
    text = real("cn", "heimao_example_structured_3rows.csv").read_text(encoding="utf-8")
    f = tmp_path / "heimao_utf16.csv"
    f.write_bytes(text.encode("utf-16"))
    result = ingest([f], config)
    assert result.inputs[0]["encoding"] == "utf-16"
    assert result.inputs[0]["rows_read"] == 3 and len(result.table) == 3
    assert result.table["narrative"].str.contains("威胁恐吓").any()


def _exact_only(monkeypatch):
    """Make every CSV go through the Python reader, the reference for the Arrow one."""
    import collectwatch.ingest.formats as formats

    monkeypatch.setattr(formats, "plain_csv", lambda layout: False)


def _same_result(fast, exact):
    pd.testing.assert_frame_equal(fast.table, exact.table)
    pd.testing.assert_frame_equal(fast.quarantine, exact.quarantine)
    strip = [{k: v for k, v in r.items() if k != "reader"} for r in fast.inputs]
    assert strip == [{k: v for k, v in r.items() if k != "reader"} for r in exact.inputs]
    assert fast.folds == exact.folds


def test_arrow_reader_matches_the_python_reader_on_every_real_csv(monkeypatch, config):
    files = sorted(REAL_CFPB.glob("*.csv"))
    fast = ingest(files, config)
    readers = {r["path"].rsplit("/", 1)[-1]: r["reader"] for r in fast.inputs}
    # Clean UTF-8 exports take the fast reader; the truncated export (a short last row),
    # the 2014 file (a 13-field last row) and the one with unzip's lines before the header
    # do not.
    assert readers["cfpb_2023_excel_resaved_underscore_headers_3999rows.csv"] == "arrow"
    slow = {
        "cfpb_2023-09_export_head_TRUNCATED_1MiB.csv",
        "cfpb_2014_original_14col_schema_8340rows.csv",
        "cfpb_2015-2020_sample_with_narratives_6623rows.csv",
    }
    assert {name for name, r in readers.items() if r == "python"} == slow
    _exact_only(monkeypatch)
    _same_result(fast, ingest(files, config))


def _awkward_csv(path, *, extra: str = "") -> None:
    """Official header, CRLF endings, line breaks of every kind inside quoted cells, rows
    out of scope and rows to reject after them (their lines must still be right)."""
    from .hostile import HEADER

    header = ",".join(HEADER)
    rows = []
    for i in range(40):
        product = "Debt collection" if i % 3 else "Mortgage"
        text = ["one\r\ntwo", "a\nb\nc", "lone\rreturn", "", '"quoted" ""twice""'][i % 5]
        date = "2021-03-04" if i % 7 else "not a date"
        company = "" if i == 25 else f"Acme {i % 4} LLC"
        cells = [
            date,
            product,
            "",
            "Attempts to collect debt not owed",
            "",
            text,
            "",
            company,
            "TX",
            "",
            "",
            "",
            "Web",
            date,
            "Closed with explanation",
            "Yes",
            "N/A",
            str(1000 + i),
        ]
        rows.append(",".join('"' + c.replace('"', '""') + '"' for c in cells))
        if i == 30 and extra:
            rows.append(extra)
    path.write_bytes(("\r\n".join([header, *rows]) + "\r\n").encode("utf-8"))


@pytest.mark.parametrize("batch_rows", [1, 4, 50_000])
def test_arrow_reader_counts_lines_like_the_python_reader(
    batch_rows, tmp_path, monkeypatch, config
):
    import collectwatch.ingest as ingest_module

    f = tmp_path / "awkward.csv"
    _awkward_csv(f)
    monkeypatch.setattr(ingest_module, "BATCH_ROWS", batch_rows)
    fast = ingest([f], config)
    assert fast.inputs[0]["reader"] == "arrow"
    assert fast.inputs[0]["rows_rejected"] >= 4  # bad dates and the missing company
    _exact_only(monkeypatch)
    exact = ingest([f], config)
    _same_result(fast, exact)
    # The lines themselves, checked by hand for the row without a company (row 25).
    lines = fast.quarantine.set_index("reason")["line"]
    # Rows 0-24 hold five of each cell: CRLF (1 break), LF LF (2), a lone CR (1), none.
    assert lines["missing Company"] == 2 + 25 + 5 * (1 + 2 + 1)


@pytest.mark.parametrize(
    "extra",
    ["", '"2021-03-04","Debt collection","too","short"'],
    ids=["blank line", "short row"],
)
def test_what_arrow_cannot_read_exactly_goes_to_the_python_reader(
    extra, tmp_path, monkeypatch, config
):
    f = tmp_path / "ragged.csv"
    _awkward_csv(f, extra=extra or "\r\n")
    fast = ingest([f], config)
    assert fast.inputs[0]["reader"] == "python"
    _exact_only(monkeypatch)
    _same_result(fast, ingest([f], config))


def test_arrow_reader_matches_on_the_demo_and_hostile_files(tmp_path, monkeypatch, config):
    from collectwatch.paths import ROOT

    from .hostile import write_corpus

    hostile = tmp_path / "hostile.csv"
    write_corpus(hostile)
    files = [ROOT / "data" / "demo" / "cfpb_demo.csv", hostile]
    fast = ingest(files, config)
    # The hostile corpus holds a 20-field row on purpose: the Python reader takes it over.
    assert [r["reader"] for r in fast.inputs] == ["arrow", "python"]
    _exact_only(monkeypatch)
    _same_result(fast, ingest(files, config))


def test_an_edited_input_is_parsed_again(tmp_path, config):
    f = tmp_path / "export.csv"
    src = real("cfpb", "cfpb_2016-09_standard18_349rows.csv").read_bytes()
    f.write_bytes(src)
    cache = tmp_path / "cache"
    cache.mkdir()
    first = ingest([f], config, cache_dir=cache)
    f.write_bytes(src.replace(b"Debt collection", b"Mortgage", 1))  # same size
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))
    second = ingest([f], config, cache_dir=cache)
    assert second.inputs[0]["cache"] == "miss"
    assert second.inputs[0]["sha256"] != first.inputs[0]["sha256"]
    assert len(second.table) == len(first.table) - 1


def _reference_read(path, config) -> pd.DataFrame:
    """The whole file read at once by pandas' own CSV parser, scoped by hand: a reference
    that shares none of the streaming code. Columns are the canonical names."""
    from collectwatch.ingest.formats import match_header

    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    _, columns = match_header(list(raw.columns), config.sources)
    frame = raw.iloc[:, list(columns)].set_axis(list(columns.values()), axis=1)
    missing = set(config.sources["missing_values"])
    frame = frame.apply(lambda col: col.str.strip().where(~col.str.strip().isin(missing)))
    scope = {p.lower() for p in config.sources["scope"]["products"]}
    return frame[frame["product"].str.lower().isin(scope)]


def test_streaming_ingest_matches_a_whole_file_reference_read(config):
    files = [
        real("cfpb", name)
        for name in (
            "cfpb_2013_kaggle_snakecase_1000rows.csv",
            "cfpb_2013-2017_14col_no_narrative_3186rows.csv",
            "cfpb_2016-09_standard18_349rows.csv",
            "cfpb_2023_excel_resaved_underscore_headers_3999rows.csv",
        )
    ]
    for path in files:
        ref = _reference_read(path, config)
        got = ingest([path], config).table
        assert len(got) == len(ref) > 0, path.name
        if "complaint_id" in ref:  # the 14-column file has none; ids are made up then
            assert sorted(got["complaint_id"]) == sorted(ref["complaint_id"]), path.name
        columns = [
            c for c in ("lender_raw", "issue", "sub_issue", "state", "narrative") if c in ref
        ]
        assert _rows(got, columns) == _rows(ref, columns), path.name


def _rows(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    cells = frame[columns].astype(object)
    return sorted(map(tuple, cells.where(cells.notna(), "").to_numpy().tolist()))
