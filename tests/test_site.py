"""The built site, read as a reader's browser would: structure, links, downloads, origins."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest
from bs4 import BeautifulSoup

from collectwatch import paths
from collectwatch.config import load_config

from . import browser_util as bu

pytestmark = pytest.mark.slow

BASE = "http://site.test/"  # pages are resolved against this to check links


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory):
    from collectwatch.pipeline import build

    out = tmp_path_factory.mktemp("demo") / "site"
    report = build(out=out, quiet=True)
    return out, report


def html_pages(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.html") if "pagefind" not in p.parts)


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def page_url(root: Path, page: Path) -> str:
    return BASE + page.relative_to(root).as_posix()


def resolves(root: Path, url: str) -> bool:
    path = unquote(urlparse(url).path)[len(urlparse(BASE).path) :]
    target = root / path
    if path == "" or path.endswith("/"):
        target = target / "index.html"
    return target.resolve().is_relative_to(root.resolve()) and target.is_file()


def test_every_url_of_the_contract_exists(demo_site):
    root, report = demo_site
    tables = json.loads((root / "data/datapackage.json").read_text(encoding="utf-8"))
    lender = next(
        r["lender_slug"]
        for r in csv.DictReader(io.StringIO((root / "data/lenders.csv").read_text("utf-8-sig")))
        if r["in_peer_group"] == "True"
    )
    behaviour = next(iter(load_config().taxonomy["behaviours"]))
    for path in [
        "index.html",
        "lenders/index.html",
        f"lenders/{lender}/index.html",
        "behaviours/index.html",
        f"behaviours/{behaviour}/index.html",
        "methodology/index.html",
        "data/index.html",
        "about/index.html",
        "articles/index.html",
        "404.html",
        "feed.xml",
        "sitemap.xml",
        "data/datapackage.json",
        "data/build-report.json",
        "zh/index.html",
        f"zh/behaviours/{behaviour}/index.html",
        "zh/methodology/index.html",
        f"lenders/{lender}/feed.xml",
        f"behaviours/{behaviour}/feed.xml",
    ]:
        assert (root / path).is_file(), path
    for resource in tables["resources"]:
        assert (root / "data" / resource["path"]).is_file()


def test_every_page_has_title_language_and_banner(demo_site):
    root, report = demo_site
    assert report["synthetic"]
    for page in html_pages(root):
        doc = soup(page)
        assert doc.title and doc.title.get_text(strip=True), page
        lang = doc.html.get("lang")
        assert lang == ("zh-Hans" if page.relative_to(root).parts[0] == "zh" else "en"), page
        assert doc.select_one(".banner"), f"{page} lacks the synthetic-data banner"
        if "embed" not in page.relative_to(root).parts:
            assert doc.select_one("h1"), page
            assert doc.select_one("link[rel=canonical]")["href"].startswith("https://")


def test_every_chart_has_a_table_fallback_and_a_csv(demo_site):
    root, _ = demo_site
    charts = 0
    for page in html_pages(root):
        if "embed" in page.relative_to(root).parts:
            continue  # one page for every chart, filled by site.js (tests/test_chart_reuse.py)
        doc = soup(page)
        for fig in doc.select("figure.chart"):
            charts += 1
            plot = fig.select_one(".plot[data-figure]")
            lang = "zh" if page.relative_to(root).parts[0] == "zh" else "en"
            figure = bu.chart_figure(root, plot["data-figure"], lang)
            assert figure["data"] is not None and "template" not in figure["layout"]
            table = fig.select_one(".table-view table")
            assert table.select("thead th"), f"{page}: chart {fig['id']} has no table"
            link = fig.select_one("a[download]")
            assert link and resolves(root, urljoin(page_url(root, page), link["href"])), (
                f"{page}: CSV of {fig['id']}"
            )
            assert fig.select_one("h3").get_text(strip=True)
            assert fig.select_one(".summary").get_text(strip=True)
    assert charts > 100


def test_chart_csv_matches_its_fallback_table(demo_site):
    root, _ = demo_site
    doc = soup(root / "index.html")
    fig = doc.select_one("figure.chart#top-lenders")
    rows = [[td.get_text() for td in tr.select("td")] for tr in fig.select("tbody tr")]
    data = list(
        csv.DictReader(
            io.StringIO((root / "data/charts/top-lenders.csv").read_text(encoding="utf-8-sig"))
        )
    )
    assert len(rows) == len(data)
    for cells, record in zip(rows, data, strict=True):
        assert record["lender"] in cells
        assert f"{int(record['complaints']):,}" in cells


def test_every_internal_link_and_asset_resolves(demo_site):
    root, _ = demo_site
    broken = []
    for page in html_pages(root):
        doc = soup(page)
        here = page_url(root, page)
        refs = [a.get("href") for a in doc.select("a[href], link[href]")]
        refs += [s.get("src") for s in doc.select("script[src], img[src]")]
        refs += [b.get(k) for b in doc.select("body") for k in ("data-plotly",)]
        for ref in filter(None, refs):
            url = urljoin(here, ref)
            if not url.startswith(BASE) or urlparse(ref).fragment and not urlparse(ref).path:
                continue
            if not resolves(root, url):
                broken.append(f"{page.relative_to(root)} → {ref}")
    assert not broken, broken[:20]


def test_no_page_loads_anything_from_another_origin(demo_site):
    root, _ = demo_site
    for page in html_pages(root):
        doc = soup(page)
        loaded = [s.get("src") for s in doc.select("[src]")]
        loaded += [link.get("href") for link in doc.select("link[rel=stylesheet], link[rel=icon]")]
        for ref in filter(None, loaded):
            assert not urlparse(ref).netloc and not ref.startswith("//"), f"{page}: {ref}"
    css = next((root / "assets").glob("site-*.css")).read_text(encoding="utf-8")
    assert "url(" not in css and "@import" not in css


def test_plotly_is_served_once_with_a_content_hash(demo_site):
    root, _ = demo_site
    bundles = list((root / "assets").glob("plotly-*.min.js"))
    assert len(bundles) == 1
    import hashlib

    digest = hashlib.sha256(bundles[0].read_bytes()).hexdigest()[:10]
    assert bundles[0].name == f"plotly-{digest}.min.js"
    assert (root / "assets/geo/usa_110m.json").is_file()


def test_language_switch_and_hreflang(demo_site):
    root, _ = demo_site
    for rel in ["methodology/index.html", "behaviours/index.html", "index.html"]:
        en, zh = soup(root / rel), soup(root / "zh" / rel)
        switch = en.select_one("a.lang-switch")["href"]
        assert resolves(root, urljoin(page_url(root, root / rel), switch))
        target = urljoin(page_url(root, root / rel), switch)
        assert target == page_url(root, root / "zh" / rel).removesuffix("index.html")
        alternates = {a["hreflang"] for a in en.select("link[rel=alternate][hreflang]")}
        assert alternates == {"en", "zh-Hans"}
        assert zh.select_one("a.lang-switch")


def test_downloads_open_in_excel_and_pandas(demo_site):
    import pandas as pd

    root, _ = demo_site
    for path in (root / "data").glob("*.csv"):
        data = path.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf"), path.name
        pd.read_csv(path, encoding="utf-8-sig")
    with zipfile.ZipFile(next((root / "data/lenders").glob("*.zip"))) as zf:
        assert any(n.endswith("behaviour_mix.csv") for n in zf.namelist())


def test_feeds_and_sitemap_are_valid_xml(demo_site):
    from xml.etree import ElementTree

    root, _ = demo_site
    sitemap = ElementTree.parse(root / "sitemap.xml").getroot()
    locs = [e.text for e in sitemap.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    base = load_config().site["base_url"]
    assert locs and all(loc.startswith(base) for loc in locs)
    assert base + "zh/methodology/" in locs
    feed = ElementTree.parse(root / "feed.xml").getroot()
    entries = feed.findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == len(list(paths.ARTICLES.glob("*.md")))
    for f in root.rglob("feed.xml"):
        ElementTree.parse(f)


def test_articles_state_figures_from_the_tables(demo_site):
    root, _ = demo_site
    doc = soup(root / "articles/night-and-repeated-calls/index.html")
    text = doc.select_one("article").get_text(" ")
    lenders = list(
        csv.DictReader(io.StringIO((root / "data/lenders.csv").read_text(encoding="utf-8-sig")))
    )
    total = sum(int(r["complaints"]) for r in lenders)
    assert f"{total:,}" in text
    assert doc.select("figure.chart")


def test_an_unknown_chart_in_an_article_names_the_article_and_line(tmp_path, monkeypatch):
    from collectwatch import articles
    from collectwatch.errors import UserError

    folder = tmp_path / "content" / "articles"
    folder.mkdir(parents=True)
    (folder / "bad.md").write_text(
        "---\ntitle: T\ndate: 2026-01-01\nsummary: S\nlang: en\ntags: []\n---\n"
        "Intro.\n\n{{ chart('no_such_chart') }}\n",
        encoding="utf-8",
    )
    from collectwatch import aggregate, classify, ingest

    config = load_config()
    result = ingest.read_inputs([str(paths.DEMO / "cfpb_demo.csv")], config.sources, config.lenders)
    table, tags = classify.classify(result.table, config.taxonomy)
    tables = aggregate.build_tables(
        table, tags, config.taxonomy, config.site, table["date_received"].max()
    )
    with pytest.raises(UserError, match=r"bad\.md:10: unknown chart 'no_such_chart'"):
        articles.load(folder, tables, config)
    (folder / "bad.md").write_text(
        "---\ntitle: T\ndate: 2026-01-01\nsummary: S\nlang: en\ntags: []\n---\n"
        "{{ figure('share', lender='Nobody Inc', behaviour='repeated_contact') }}\n",
        encoding="utf-8",
    )
    with pytest.raises(UserError, match=r"bad\.md:8: unknown lender 'Nobody Inc'"):
        articles.load(folder, tables, config)
