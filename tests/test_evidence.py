"""Evidence anyone can audit: the text_tags download and the excerpts on lender pages.

text_tags lists, for every published narrative, each behaviour a text rule read from it and
the words it matched; it is published gzip-compressed (reproducibly) and per lender in the
ZIPs. Lender pages quote the newest narratives, redacted, with the matched words in <mark>;
text from strangers stays text.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zipfile
from pathlib import Path

import frictionless
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from collectwatch import aggregate, classify, evidence, exports, ingest, paths, pipeline
from collectwatch.casestudy import MARKERS
from collectwatch.config import load_config
from collectwatch.text import published

from . import hostile as H
from .conftest import REAL_CFPB

SEP = "\x1f"
REAL_NARRATIVES = REAL_CFPB / "cfpb_2015-2020_sample_with_narratives_6623rows.csv"


def classified(inputs: list[str]):
    config = load_config()
    result = ingest.read_inputs(inputs, config.sources, config.lenders)
    table, tags = classify.classify(result.table, config.taxonomy)
    return table, tags, aggregate.text_tags(table, tags, config.taxonomy)


@pytest.fixture(scope="module")
def demo():
    return classified([str(paths.ROOT / p) for p in pipeline.DEMO_INPUTS])


@pytest.fixture(scope="module")
def real_sample():
    if not REAL_NARRATIVES.exists():
        pytest.skip(f"real sample {REAL_NARRATIVES} is not here")
    return classified([str(REAL_NARRATIVES)])


def keys(df: pd.DataFrame) -> pd.Series:
    return df["source"].astype("string") + SEP + df["complaint_id"].astype("string")


def evidence_sets(df: pd.DataFrame, words: str) -> dict[str, set]:
    out: dict[str, set] = {}
    for k, b, r, w in zip(keys(df), df["behaviour"], df["rule"], df[words], strict=True):
        out.setdefault(k, set()).add((str(b), str(r), str(w)))
    return out


# ── the text_tags table ─────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("data", ["demo", "real_sample"])
def test_text_tags_are_the_text_tags_of_every_published_narrative(data, request):
    table, tags, tt = request.getfixturevalue(data)
    assert len(tt) >= 20, "too few text tags for the test to mean anything"
    assert list(tt.columns) == aggregate.TEXT_TAG_COLUMNS
    has_text = set(keys(table)[published(table["narrative"])])
    text = tags[(tags["kind"] == "text").to_numpy(dtype=bool)]
    text = text[keys(text).isin(has_text).to_numpy(dtype=bool)]
    assert evidence_sets(tt, "matched") == evidence_sets(text, "span")
    assert not tt.duplicated(["source", "complaint_id", "behaviour", "rule"]).any()
    # Who and when come from the complaint itself.
    info = table.assign(_k=keys(table).to_numpy()).set_index("_k")
    k = keys(tt).to_numpy()
    assert (
        tt["lender_slug"].astype(str).to_numpy() == info.loc[k, "lender_slug"].astype(str)
    ).all()
    assert (tt["date_received"].to_numpy() == info.loc[k, "date_received"].to_numpy()).all()


def test_a_complaint_without_published_text_has_no_rows(demo):
    table, tags, tt = demo
    tagged = keys(tt).iloc[0]
    # Its narrative now blank (white space is not a published narrative), its tags unchanged.
    blank = table.copy()
    blank["narrative"] = blank["narrative"].astype("string")
    blank.loc[(keys(blank) == tagged).to_numpy(), "narrative"] = "  \n "
    after = aggregate.text_tags(blank, tags, load_config().taxonomy)
    assert tagged not in set(keys(after))
    assert len(after) == len(tt) - int((keys(tt) == tagged).sum())
    no_text = set(keys(table)[~published(table["narrative"])])
    assert no_text and not no_text & set(keys(tt))


def test_label_tags_are_not_text_evidence(demo):
    _, tags, tt = demo
    assert (tags["kind"] == "label").any()
    assert "label" not in set(tt["rule"].astype(str))


def test_text_tags_is_sorted_by_lender_then_date(demo):
    _, _, tt = demo
    order = tt.sort_values(["lender_slug", "date_received"], kind="stable")
    assert order.index.equals(tt.index)


# ── the gzip download ───────────────────────────────────────────────────────────────────


def test_gz_round_trips_to_the_csv_and_is_byte_reproducible(demo, monkeypatch):
    _, _, tt = demo
    data = exports.csv_gz_bytes(tt)
    assert gzip.decompress(data) == exports.csv_bytes(tt)
    assert exports.csv_gz_bytes(tt.copy()) == data
    # No file name in the header (FLG.FNAME unset) and a zero timestamp.
    assert data[:2] == b"\x1f\x8b" and not data[3] & 0x08 and data[4:8] == b"\0\0\0\0"
    # Written in chunks, the stream still holds one header and the same rows.
    monkeypatch.setattr(exports, "CSV_CHUNK_ROWS", 7)
    assert gzip.decompress(exports.csv_gz_bytes(tt)) == exports.csv_bytes(tt)
    back = pd.read_csv(io.BytesIO(data), compression="gzip", encoding="utf-8-sig", dtype=str)
    assert len(back) == len(tt) and list(back.columns) == list(tt.columns)


def test_gz_neutralises_formulas_like_every_csv():
    df = pd.DataFrame({"matched": ['=HYPERLINK("http://x","y")', "+cmd", "calls"]})
    text = gzip.decompress(exports.csv_gz_bytes(df)).decode("utf-8-sig")
    cells = [row[0] for row in csv.reader(io.StringIO(text))][1:]
    assert cells == ['\'=HYPERLINK("http://x","y")', "'+cmd", "calls"]


def test_datapackage_lists_the_gz_and_frictionless_checks_it(tmp_path, demo):
    _, _, tt = demo
    meta = exports.load_table_meta(tables={"text_tags": tt})
    assert meta["text_tags"]["compression"] == "gz"
    files = exports.downloads(
        {"text_tags": tt},
        {"text_tags": meta["text_tags"]},
        sources_meta=[{"title": "demo"}],
        generated_at="2026-12-02T00:00:00Z",
        title="t",
    )
    assert set(files) == {"text_tags.csv.gz", "datapackage.json"}
    (resource,) = json.loads(files["datapackage.json"])["resources"]
    data = files["text_tags.csv.gz"]
    assert resource["path"] == "text_tags.csv.gz" and resource["compression"] == "gz"
    assert resource["bytes"] == len(data)
    assert resource["hash"] == "sha256:" + exports.sha256(data)
    for name, blob in files.items():
        (tmp_path / name).write_bytes(blob)
    report = frictionless.validate(str(tmp_path / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "note"])[:5]
    # A changed file is noticed.
    changed = gzip.compress(gzip.decompress(data).replace(b",en,", b",zh,", 1), mtime=0)
    (tmp_path / "text_tags.csv.gz").write_bytes(changed)
    assert not frictionless.validate(str(tmp_path / "datapackage.json")).valid


def test_an_unknown_compression_is_a_clear_error(tmp_path):
    from collectwatch.errors import UserError

    text = paths.TABLES_YAML.read_text("utf-8").replace("compression: gz", "compression: zip")
    (tmp_path / "tables.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=r"text_tags\.compression"):
        exports.load_table_meta(tmp_path / "tables.yaml")


# ── choosing and highlighting excerpts ──────────────────────────────────────────────────


def tag_rows(rows: list[tuple]) -> pd.DataFrame:
    """(complaint_id, date, behaviour, family, rule, matched) → a text_tags frame of one
    lender, "acme"."""
    return pd.DataFrame(
        [
            {
                "source": "cfpb",
                "complaint_id": cid,
                "lender": "Acme",
                "lender_slug": "acme",
                "date_received": pd.Timestamp(date),
                "language": "en",
                "behaviour": b,
                "family": f,
                "rule": r,
                "matched": m,
            }
            for cid, date, b, f, r, m in rows
        ]
    )


def complaints(texts: dict[str, str], language: str = "en") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": "cfpb",
            "complaint_id": list(texts),
            "narrative": list(texts.values()),
            "language": language,
        }
    )


def test_excerpts_newest_first_one_per_family_then_the_newest_left():
    tt = tag_rows(
        [
            ("1", "2024-01-01", "repeated_contact", "harassing_contact", "r1", "called me"),
            ("2", "2024-05-01", "repeated_contact", "harassing_contact", "r1", "called me"),
            ("3", "2024-04-01", "repeated_contact", "harassing_contact", "r1", "called me"),
            ("4", "2023-01-01", "debt_not_mine", "debt_not_owed", "r2", "not mine"),
            ("5", "2022-01-01", "threats_other", "abuse_threats", "r3", "threatened"),
        ]
    )
    table = complaints(
        {
            "1": "They called me twice.",
            "2": "They called me at work.",
            "3": "They called me at night.",
            "4": "The debt is not mine.",
            "5": "They threatened me.",
        }
    )
    got = evidence.select(tt, table, ["acme", "nobody"], n=3)
    assert got["nobody"] == []
    # The newest of each of the three families, newest first.
    assert [e["complaint_id"] for e in got["acme"]] == ["2", "4", "5"]
    # With a fourth slot, the newest complaint not yet quoted fills it; all newest first.
    more = evidence.select(tt, table, ["acme"], n=4)["acme"]
    assert [e["complaint_id"] for e in more] == ["2", "3", "4", "5"]
    first = got["acme"][0]
    assert first["parts"] == ("They ", "called me", " at work.")
    assert (first["behaviour"], first["rule"], first["date"]) == (
        "repeated_contact",
        "r1",
        "2024-05-01",
    )


def test_excerpts_are_redacted_and_the_phrase_stays_inside():
    text = (
        "On XX/XX/XXXX they called me at 555-123-4567 and wrote to jane.doe@example.com "
        "about account 12345678901 and my SSN 123-45-6789. "
        + "Filler words here. " * 40
        + "Then they threatened to sue me, again. "
        + "More filler text. " * 40
    )
    tt = tag_rows([("9", "2024-01-01", "threat_sue", "abuse_threats", "r", "threatened to sue")])
    (e,) = evidence.select(tt, complaints({"9": text}), ["acme"])["acme"]
    before, words, after = e["parts"]
    assert words == "threatened to sue"
    html = str(evidence.markup(e, "en"))
    for secret in ("555-123-4567", "jane.doe@example.com", "12345678901", "123-45-6789"):
        assert secret not in html
    assert len(before + words + after) <= evidence.EXCERPT_CHARS + 2  # plus the ellipses
    assert before.startswith("…") and after.endswith("…")
    near = evidence.select(
        tag_rows([("9", "2024-01-01", "repeated_contact", "harassing_contact", "r", "called me")]),
        complaints({"9": text}),
        ["acme"],
    )["acme"][0]
    assert MARKERS["en"] in str(evidence.markup(near, "en"))
    assert MARKERS["zh"] in str(evidence.markup(near, "zh"))


def test_words_lost_to_redaction_pass_the_candidate_over():
    tt = tag_rows(
        [
            ("1", "2024-02-01", "b1", "f1", "r", "threatened"),
            ("2", "2024-01-01", "b2", "f2", "r", "called"),
        ]
    )
    # The newest complaint's matched word is part of an e-mail address, which is redacted.
    table = complaints({"1": "Write to threatened@example.com today.", "2": "They called."})
    assert [e["complaint_id"] for e in evidence.select(tt, table, ["acme"])["acme"]] == ["2"]
    # A phone number inside the matched words is redacted in both, and still found.
    tt = tag_rows([("3", "2024-01-01", "b", "f", "r", "call 555-123-4567 now")])
    (e,) = evidence.select(tt, complaints({"3": "They said call 555 123 4567 now."}), ["acme"])[
        "acme"
    ]
    assert "555" not in "".join(e["parts"]) and e["parts"][1].startswith("call ")


def test_traditional_chinese_is_quoted_in_its_own_script():
    tt = tag_rows([("1", "2024-01-01", "threats_other", "abuse_threats", "zh_threat", "恐吓")])
    tt["language"] = "zh"
    (e,) = evidence.select(tt, complaints({"1": "催收人員恐嚇說要上門找我。"}, "zh"), ["acme"])[
        "acme"
    ]
    assert e["parts"] == ("催收人員", "恐嚇", "說要上門找我。")


@pytest.mark.parametrize(
    "payload",
    [H.SCRIPT, H.CLOSE_SCRIPT, H.IMG, H.SVG, "<mark>", "</mark><script>x</script>", H.RTL],
)
def test_hostile_text_around_the_phrase_stays_inert(payload):
    words = "called me 8 times a day"
    text = f"{payload} They {words} {payload} and {payload}"
    tt = tag_rows([("1", "2024-01-01", "repeated_contact", "harassing_contact", "r", words)])
    (e,) = evidence.select(tt, complaints({"1": text}), ["acme"])["acme"]
    html = str(evidence.markup(e, "en"))
    soup = BeautifulSoup(f"<p>{html}</p>", "html.parser")
    assert [m.get_text() for m in soup.find_all("mark")] == [words]
    assert not soup.find_all(["script", "img", "svg"])
    assert not any(c in soup.get_text() for c in "\u202a\u202b\u202c\u202d\u202e")
    assert payload.replace("\u202e", "").replace("\u202c", "")[:6] in soup.get_text()


def test_hostile_matched_words_are_escaped_inside_the_mark():
    words = "<script>alert(1)</script> called"
    tt = tag_rows([("1", "2024-01-01", "b", "f", "r", words)])
    (e,) = evidence.select(tt, complaints({"1": f"Then {words} me."}), ["acme"])["acme"]
    soup = BeautifulSoup(str(evidence.markup(e, "en")), "html.parser")
    assert [m.get_text() for m in soup.find_all("mark")] == [words]
    assert not soup.find_all("script")


# ── the built site ──────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("evidence") / "site"
    pipeline.build(out=out, quiet=True)
    return out


def read_csv_bytes(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def peer_slugs(site: Path) -> list[str]:
    rows = read_csv_bytes((site / "data" / "lenders.csv").read_bytes())
    return [r["lender_slug"] for r in rows if r["in_peer_group"] == "True"]


@pytest.mark.slow
def test_site_publishes_text_tags_gzipped_and_lists_it(demo_site):
    data = demo_site / "data"
    assert not (data / "text_tags.csv").exists()
    blob = (data / "text_tags.csv.gz").read_bytes()
    rows = read_csv_bytes(gzip.decompress(blob))
    assert rows and set(rows[0]) == set(aggregate.TEXT_TAG_COLUMNS)
    package = json.loads((data / "datapackage.json").read_text("utf-8"))
    (res,) = [r for r in package["resources"] if r["name"] == "text_tags"]
    assert (res["path"], res["compression"], res["bytes"]) == ("text_tags.csv.gz", "gz", len(blob))
    page = BeautifulSoup((data / "index.html").read_text("utf-8"), "html.parser")
    link = page.select_one('a[href="text_tags.csv.gz"]')
    assert link and link.get_text() == "text_tags.csv.gz"
    assert "unpack" in page.get_text() and "Excel" in page.get_text()


@pytest.mark.slow
def test_each_lender_zip_holds_its_own_text_tags_only(demo_site):
    whole = read_csv_bytes(gzip.decompress((demo_site / "data/text_tags.csv.gz").read_bytes()))
    checked = 0
    for slug in peer_slugs(demo_site):
        with zipfile.ZipFile(demo_site / "data" / "lenders" / f"{slug}.zip") as zf:
            rows = read_csv_bytes(zf.read(f"{slug}/text_tags.csv"))
        assert {r["lender_slug"] for r in rows} <= {slug}
        assert rows == [r for r in whole if r["lender_slug"] == slug]
        checked += bool(rows)
    assert checked >= 5


def excerpts_of(page: Path) -> list:
    soup = BeautifulSoup(page.read_text("utf-8"), "html.parser")
    return soup.select("#what-complaints-say figure")


@pytest.mark.slow
def test_lender_pages_highlight_the_words_that_tagged_the_complaint(demo_site):
    whole = read_csv_bytes(gzip.decompress((demo_site / "data/text_tags.csv.gz").read_bytes()))
    tags = {(r["complaint_id"], r["behaviour"], r["rule"]): r for r in whole}
    names = {b: v["name"]["en"] for b, v in load_config().taxonomy["behaviours"].items()}
    by_name = {v: k for k, v in names.items()}
    shown = 0
    for slug in peer_slugs(demo_site):
        figures = excerpts_of(demo_site / "lenders" / slug / "index.html")
        assert len(figures) <= evidence.EXCERPTS
        dates = []
        for fig in figures:
            (mark,) = fig.select("blockquote mark")
            assert mark.get_text() in fig.blockquote.get_text()
            caption = fig.figcaption.get_text(" ", strip=True)
            cid = caption.split(" · ")[0].removeprefix("Complaint ").strip()
            rule = fig.figcaption.code.get_text()
            behaviour = by_name[fig.figcaption.a.get_text()]
            row = tags[(cid, behaviour, rule)]
            assert row["lender_slug"] == slug and row["date_received"] in caption
            # The marked words are the matched words (a Chinese narrative may be quoted
            # in Traditional script, with the same number of characters).
            if row["language"] == "en":
                assert mark.get_text().casefold() == row["matched"].casefold()
            else:
                assert len(mark.get_text()) == len(row["matched"])
            dates.append(row["date_received"])
            shown += 1
        assert dates == sorted(dates, reverse=True), slug
    assert shown >= 10


@pytest.mark.slow
def test_chinese_pages_show_the_chinese_redaction_marker(demo_site):
    found = 0
    for slug in peer_slugs(demo_site):
        en = [
            f.blockquote.get_text()
            for f in excerpts_of(demo_site / "lenders" / slug / "index.html")
        ]
        zh = [
            f.blockquote.get_text()
            for f in excerpts_of(demo_site / "zh" / "lenders" / slug / "index.html")
        ]
        assert [t.replace(MARKERS["en"], MARKERS["zh"]) for t in en] == zh
        found += sum(MARKERS["en"] in t for t in en)
    assert found, "no demo excerpt holds a redaction"


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory) -> Path:
    corpus = H.write_corpus(tmp_path_factory.mktemp("hostile-in") / "complaints.csv")
    out = tmp_path_factory.mktemp("hostile-evidence") / "site"
    pipeline.build(inputs=[str(corpus.path)], out=out, quiet=True, use_cache=False)
    return out


@pytest.mark.slow
def test_hostile_narratives_are_quoted_as_text(hostile_site):
    from .test_hostile import injection_problems

    quoted = 0
    for page in sorted(hostile_site.glob("**/lenders/*/index.html")):
        soup = BeautifulSoup(page.read_text("utf-8"), "html.parser")
        section = soup.select_one("#what-complaints-say")
        assert section is not None, page
        html = str(section)
        assert not injection_problems(html), (page, injection_problems(html))
        for quote in section.select("blockquote"):
            marks = quote.find_all("mark")
            assert len(marks) == 1 and not marks[0].find_all(True), (page, str(quote)[:300])
            quoted += any(p in quote.get_text() for p in (H.SCRIPT, H.IMG, H.SVG))
    assert quoted, "no excerpt quotes a hostile payload (the corpus no longer reaches them)"
    blob = gzip.decompress((hostile_site / "data" / "text_tags.csv.gz").read_bytes())
    cells = [c for row in csv.reader(io.StringIO(blob.decode("utf-8-sig"))) for c in row]
    live = [c for c in cells if c.startswith(exports.FORMULA_TRIGGERS)]
    assert not live, live[:5]
