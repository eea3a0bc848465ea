"""Hostile input: a site built from a corpus of attacks shows them as text and runs none.

The corpus (tests/hostile.py) puts script injection, formulas, path traversal, RTL overrides
and a 100,000-character string into every free-text field of a CFPB export. The site built
from it with the real CLI must escape all of it in HTML, keep ``</script>`` inside chart data files
as data, publish CSVs without a live formula, and write nothing outside its folder. Article
front matter is attacked through an in-process build whose articles folder holds hostile
articles. In Chromium, no page may set ``window.__pwned`` or open a dialog.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from collectwatch import paths
from collectwatch.errors import UserError

from . import browser_util as bu
from . import hostile as H

# Elements no template uses and no hostile text may create.
FORBIDDEN_TAGS = {
    "iframe", "frame", "frameset", "object", "embed", "applet", "img", "svg", "math",
    "base", "style", "template", "video", "audio", "source", "portal",
}  # fmt: skip
# The one place <svg> belongs: a chart's static first paint (collectwatch/svg.py), the
# child of its .plot, made of drawing elements only.
CHART_SVG_TAGS = {
    "svg", "defs", "pattern", "lineargradient", "stop", "g", "path", "rect", "line", "circle",
    "text",
}  # fmt: skip
URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background"}
OWN_SCRIPT_SRC = re.compile(
    r"^(\.\./)*(assets/(site|lenders)-[0-9a-f]{10}\.js|pagefind/pagefind-ui\.js)$"
)
LIVE_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
# Payloads that must never appear verbatim in an HTML file (only escaped).
RAW_MARKERS = [
    H.SCRIPT, H.CLOSE_SCRIPT, H.IMG, H.SVG, H.SVG_SCRIPT, "<iframe srcdoc", H.COMMENT,
    'href="javascript:',
]  # fmt: skip


# ── fixtures ────────────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def min_rows(config) -> int:
    return int(config.site["min_lender_complaints"])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, min_rows) -> H.Corpus:
    return H.write_corpus(
        tmp_path_factory.mktemp("hostile-in") / "complaints.csv", min_rows=min_rows
    )


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory, corpus) -> Path:
    """The site built from the corpus by the real CLI, alone in its parent folder."""
    out = tmp_path_factory.mktemp("hostile-out") / "site"
    proc = bu.start_build(out, "--input", corpus.path, "--no-cache")
    return bu.finish_build(proc, out)


HOSTILE_ARTICLES = {
    "hostile-en.md": {
        "title": H.SCRIPT + " " + H.CLOSE_SCRIPT,
        "date": "2026-01-01",
        "summary": H.IMG + " " + H.ATTR_BREAK + ' " onmouseover="window.__pwned=1',
        "lang": "en",
        "tags": [H.SVG, H.JS_URL, H.RTL, H.IFRAME, H.LONG[:2000]],
    },
    "hostile-zh.md": {
        "title": "</title><script>window.__pwned=1</script>催收",
        "date": "2026-01-02",
        "summary": H.SVG_SCRIPT + H.COMMENT + "]]></summary><script>window.__pwned=1</script>",
        "lang": "zh",
        "tags": [H.MD_LINK, H.TEMPLATE, H.FORMULAS[0]],
    },
}
ARTICLE_BODY = """Across {{ figure("complaints") }} complaints in this build.

{{ chart("top_lenders") }}
"""


def write_article(folder: Path, name: str, meta: dict, body: str = ARTICLE_BODY) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    # JSON is YAML: every payload is quoted exactly.
    front = "\n".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in meta.items())
    (folder / name).write_text(f"---\n{front}\n---\n{body}", encoding="utf-8")


@pytest.fixture(scope="module")
def article_site(tmp_path_factory, corpus) -> Path:
    """A site built in-process from the corpus, with hostile articles as its only articles."""
    from collectwatch import pipeline

    folder = tmp_path_factory.mktemp("hostile-articles")
    for name, meta in HOSTILE_ARTICLES.items():
        write_article(folder, name, meta)
    out = tmp_path_factory.mktemp("article-out") / "site"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(paths, "ARTICLES", folder)
        mp.setenv("SOURCE_DATE_EPOCH", bu.SOURCE_DATE_EPOCH)
        pipeline.build(inputs=[str(corpus.path)], out=out, use_cache=False)
    return out


# ── checks ──────────────────────────────────────────────────────────────────────────────


def injection_problems(html: str) -> list[str]:
    """Markup in ``html`` that the site's templates never produce: foreign scripts, event
    handlers, ``javascript:`` URLs, embedded frames and images."""
    problems = []
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(True):
        chart = (
            tag if "cw-chart" in (tag.get("class") or []) else tag.find_parent(class_="cw-chart")
        )
        in_chart = (
            chart is not None
            and chart.name == "svg"
            and "plot" in (chart.parent.get("class") or [])
            and tag.name in CHART_SVG_TAGS
        )
        if tag.name in FORBIDDEN_TAGS and not in_chart:
            problems.append(f"<{tag.name}> element: {str(tag)[:120]}")
        if chart is not None and not in_chart:
            problems.append(f"<{tag.name}> in a chart's SVG: {str(tag)[:120]}")
        for attr, value in tag.attrs.items():
            text = " ".join(value) if isinstance(value, list) else str(value)
            if attr.lower().startswith("on"):
                problems.append(f"{attr}= on <{tag.name}>: {text[:80]}")
            url = re.sub(r"[\x00-\x20]", "", text).lower()
            if attr.lower() in URL_ATTRS and url.startswith(("javascript:", "vbscript:")):
                problems.append(f"{attr}={text[:80]} on <{tag.name}>")
            if attr.lower() == "srcdoc":
                problems.append(f"srcdoc on <{tag.name}>")
        if tag.name == "script":
            problems += _script_problems(tag)
    for marker in RAW_MARKERS:
        if marker in html:
            problems.append(f"raw payload in the source: {marker[:60]}")
    return problems


def _script_problems(tag) -> list[str]:
    src = tag.get("src")
    if src is not None:
        ok = OWN_SCRIPT_SRC.match(src) and not tag.string
        return [] if ok else [f"foreign script src={src[:80]}"]
    return [f"inline script: {str(tag)[:120]}"]


def html_files(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def site_problems(files: list[Path]) -> dict[str, list[str]]:
    found = {}
    for file in files:
        problems = injection_problems(file.read_text(encoding="utf-8"))
        if problems:
            found[str(file)] = problems
    return found


def in_articles(path: str) -> bool:
    return "/articles/" in path.replace("\\", "/") and not path.rstrip("/").endswith(
        ("/articles", "/articles/index.html")
    )


def live_formulas(data: bytes, name: str) -> list[str]:
    """Text cells of a CSV that a spreadsheet would run as a formula."""
    text = data.decode("utf-8-sig")
    found = []
    for line, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        for col, cell in enumerate(row, start=1):
            if cell.startswith(LIVE_PREFIXES) and not NUMBER.match(cell):
                found.append(f"{name}:{line}:{col}: {cell[:60]!r}")
    return found


def lenders_table(site: Path) -> list[dict]:
    text = (site / "data" / "lenders.csv").read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def unneutralise(cell: str) -> str:
    """A downloaded text cell → the original value (the ``'`` a formula got removed)."""
    return cell[1:] if cell.startswith("'") and cell[1:2] in LIVE_PREFIXES else cell


def find_strings(obj, needle: str) -> bool:
    if isinstance(obj, str):
        return needle in obj
    if isinstance(obj, dict):
        return any(find_strings(v, needle) for v in obj.values())
    if isinstance(obj, list):
        return any(find_strings(v, needle) for v in obj)
    return False


# ── the corpus ──────────────────────────────────────────────────────────────────────────


def test_corpus_is_a_cfpb_export_with_enough_rows(corpus, min_rows):
    with corpus.path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == H.HEADER and len(H.HEADER) == 18
    per_company = {}
    for row in rows[1:]:
        per_company[row[7]] = per_company.get(row[7], 0) + 1
    for name in [*H.MARKUP, H.RTL, H.LONG, H.TRAVERSAL, H.DOTS, *H.FORMULAS]:
        assert per_company.get(name, 0) >= min_rows, name[:60]
    assert max(map(len, (c for r in rows for c in r))) == 100_000


def test_build_reconciles_every_row(hostile_site, corpus):
    report = json.loads((hostile_site / "data" / "build-report.json").read_text("utf-8"))
    (item,) = report["inputs"]
    assert item["rows_read"] == corpus.rows
    assert item["rows_rejected"] == corpus.rejected
    assert item["rows_out_of_scope"] == corpus.out_of_scope
    assert item["rows_read"] == sum(
        item[k] for k in ("rows_in_scope", "rows_out_of_scope", "rows_rejected", "rows_duplicate")
    )


# ── escaping ────────────────────────────────────────────────────────────────────────────


def test_hostile_companies_get_pages_that_show_their_names_as_text(hostile_site):
    lenders = {unneutralise(r["lender"]): r for r in lenders_table(hostile_site)}
    expected = [*H.MARKUP, H.RTL, H.LONG, H.TRAVERSAL, H.DOTS, "=HYPERLINK", "+cmd", "-2+3"]
    for name in expected:
        matches = [n for n in lenders if n == name or (len(name) < 12 and n.startswith(name))]
        assert matches, f"no lender row for {name[:60]!r}"
        row = lenders[matches[0]]
        assert row["in_peer_group"] == "True", f"{name[:60]!r} got no page"
        page = hostile_site / "lenders" / row["lender_slug"] / "index.html"
        soup = BeautifulSoup(page.read_text("utf-8"), "html.parser")
        assert soup.h1.get_text() == matches[0], f"{page}: h1 is not the name as text"
        assert soup.title.get_text().startswith(matches[0])


def test_no_injected_markup_outside_articles(hostile_site):
    files = [f for f in html_files(hostile_site) if not in_articles(str(f))]
    assert len(files) > 100
    problems = site_problems(files)
    assert not problems, bu.summarise(problems, "injected markup")


def test_no_injected_markup_in_article_prose(hostile_site):
    files = [f for f in html_files(hostile_site) if in_articles(str(f))]
    assert files
    problems = site_problems(files)
    assert not problems, bu.summarise(problems, "injected markup")


def test_script_close_survives_into_chart_data_files_as_data(hostile_site):
    """A chart's data file is a script: no string in it may end it, open a comment or a
    line, and the ``</script>`` company name comes back out of it as the same text."""
    found = []
    for file in sorted((hostile_site / "data" / "charts").glob("*.js")):
        text = file.read_text("utf-8")
        assert not re.search("</script|<!--|\u2028|\u2029", text, re.I), file.name
        data = bu.chart_data(hostile_site, file.stem)
        for lang, words in data["text"].items():
            figure = bu.chart_figure(hostile_site, file.stem, lang)
            if find_strings(figure, H.CLOSE_SCRIPT) or find_strings(words, H.CLOSE_SCRIPT):
                found.append(f"{file.name} ({lang})")
    assert len(found) > 10, found


def test_case_studies_quote_narrative_payloads_as_text(hostile_site):
    pages = sorted(hostile_site.glob("**/case-studies/*/index.html"))
    if not pages:
        pytest.skip("this build has no case studies")
    quoted = []
    for page in pages:
        text = BeautifulSoup(page.read_text("utf-8"), "html.parser").get_text()
        if any(p in text for p in (H.SCRIPT, H.SVG, H.CLOSE_SCRIPT)):
            quoted.append(page)
    assert quoted, "no case study quotes a hostile narrative (the corpus no longer reaches them)"


def test_hostile_article_front_matter_is_escaped(article_site):
    en, zh = HOSTILE_ARTICLES["hostile-en.md"], HOSTILE_ARTICLES["hostile-zh.md"]
    pages = {
        "en": article_site / "articles" / "hostile-en" / "index.html",
        "zh": article_site / "zh" / "articles" / "hostile-zh" / "index.html",
    }
    for lang, meta in (("en", en), ("zh", zh)):
        html = pages[lang].read_text("utf-8")
        assert not injection_problems(html), injection_problems(html)
        soup = BeautifulSoup(html, "html.parser")
        assert soup.h1.get_text() == meta["title"]
        assert soup.title.get_text().startswith(meta["title"])
        assert soup.find("meta", attrs={"name": "description"})["content"] == meta["summary"]
        assert soup.find("meta", property="og:title")["content"] == meta["title"]
        assert soup.find("p", class_="lede").get_text() == meta["summary"]
        assert [t.get_text() for t in soup.select(".meta .tag")] == meta["tags"]
        index = article_site / ("zh/" if lang == "zh" else "") / "articles" / "index.html"
        listing = BeautifulSoup(index.read_text("utf-8"), "html.parser")
        assert meta["title"] in [a.get_text() for a in listing.select("article.teaser h2 a")]
    problems = site_problems(html_files(article_site))
    assert not problems, bu.summarise(problems, "injected markup")
    feed = ET.parse(article_site / "feed.xml").getroot()
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = {
        e.findtext("a:title", namespaces=ns): e.findtext("a:summary", namespaces=ns)
        for e in feed.findall("a:entry", ns)
    }
    assert entries == {en["title"]: en["summary"], zh["title"]: zh["summary"]}


def test_hostile_article_slug_is_refused_cleanly(tmp_path, corpus):
    from collectwatch import pipeline

    folder = tmp_path / "articles"
    meta = {**HOSTILE_ARTICLES["hostile-en.md"], "slug": "../../escape"}
    write_article(folder, "sneaky.md", meta)
    parent = tmp_path / "out"
    parent.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(paths, "ARTICLES", folder)
        try:
            pipeline.build(inputs=[str(corpus.path)], out=parent / "site", use_cache=False)
            error = None
        except (UserError, ValueError) as exc:
            error = exc
    assert not list(parent.iterdir()), "a refused build left files behind"
    assert not list(tmp_path.glob("**/escape*"))
    assert isinstance(error, UserError), f"not a UserError: {error!r}"
    assert "sneaky.md" in str(error)


# ── downloads and paths ─────────────────────────────────────────────────────────────────


def test_downloads_carry_no_live_formula(hostile_site):
    data = hostile_site / "data"
    checked, live = [], []
    for file in sorted(data.rglob("*.csv")):
        checked.append(file.relative_to(hostile_site).as_posix())
        live += live_formulas(file.read_bytes(), checked[-1])
    for bundle in sorted((data / "lenders").glob("*.zip")):
        with zipfile.ZipFile(bundle) as zf:
            for member in zf.namelist():
                if member.endswith(".csv"):
                    checked.append(f"{bundle.name}!{member}")
                    live += live_formulas(zf.read(member), checked[-1])
    assert "data/quarantine.csv" in checked
    assert any(c.startswith("data/charts/") for c in checked)
    assert any("!" in c for c in checked), "no per-lender zip was checked"
    assert not live, f"{len(live)} live formula cell(s):\n" + "\n".join(live[:30])
    # The payloads did reach the downloads, neutralised.
    lenders = (data / "lenders.csv").read_text("utf-8-sig")
    assert "'=HYPERLINK(" in lenders and "'+cmd" in lenders and "'@SUM(1)" in lenders
    quarantine = (data / "quarantine.csv").read_text("utf-8-sig")
    assert "'=HYPERLINK(" in quarantine or "'@SUM" in quarantine


def test_slugs_stay_inside_the_site(hostile_site):
    root = hostile_site.resolve()
    assert [p.name for p in hostile_site.parent.iterdir()] == ["site"], "files beside the site"
    for file in hostile_site.rglob("*"):
        assert not file.is_symlink(), file
        assert file.resolve().is_relative_to(root), file
        assert file.name not in {"passwd", ".."}, file
    rows = lenders_table(hostile_site)
    slugs = [r["lender_slug"] for r in rows]
    assert len(set(slugs)) == len(slugs)
    for slug in slugs:
        assert SLUG.match(slug) and len(slug) <= 80, slug
    pages = {p.name for p in (hostile_site / "lenders").iterdir() if p.is_dir()}
    # Every lender page, and the index's letter pages (lenders/letter/<key>/).
    assert pages == {r["lender_slug"] for r in rows if r["in_peer_group"] == "True"} | {"letter"}
    for bundle in (hostile_site / "data" / "lenders").glob("*.zip"):
        with zipfile.ZipFile(bundle) as zf:
            for member in zf.namelist():
                assert not member.startswith("/") and ".." not in member.split("/"), member


def test_feeds_and_sitemap_are_well_formed(hostile_site):
    files = sorted(hostile_site.rglob("*.xml"))
    assert len(files) > 20
    for file in files:
        ET.parse(file)  # raises on a name that broke the XML


# ── in the browser ──────────────────────────────────────────────────────────────────────


def crawled(site: Path, crawl: dict) -> list[str]:
    """The pages of the CLI-built site that the browser visits: with ``--crawl=all`` every
    one; else every page but the embed page's charts (embed/?chart=<id>), which show a
    chart of a page visited anyway (the same data file), and of those every template and
    chart kind and a seeded sample."""
    pages = bu.html_pages(site)
    if crawl["mode"] == "all":
        return pages
    embeds = [p for p in pages if bu.template_key(p).split(" ")[1].startswith("embed")]
    sample = bu.sample_pages(site, embeds, extra=crawl["sample"], seed=crawl["seed"])
    return sorted(set(pages) - set(embeds) | set(sample.pages))


@pytest.fixture(scope="module")
def hostile_visits(
    chromium, hostile_site, article_site, crawl_settings
) -> dict[str, list[bu.Visit]]:
    """The pages of the CLI-built site (see :func:`crawled`), and the article pages of the
    hostile-article site."""
    visits = {}
    for key, site, pages in (
        ("cli", hostile_site, crawled(hostile_site, crawl_settings)),
        ("articles", article_site, [p for p in bu.html_pages(article_site) if "articles/" in p]),
    ):
        with bu.Served(site) as served:
            visits[key] = chromium.run(bu.crawl(chromium.browser, served.url, pages))
    return visits


def _executed(visits) -> dict[str, list[str]]:
    found = {}
    for v in visits:
        problems = [f"window.__pwned is {v.pwned}"] if v.pwned != "undefined" else []
        problems += [f"dialog {d}" for d in v.dialogs]
        problems += [f"not loaded: {v.error}"] if v.error else []
        if problems:
            found[v.url] = problems
    return found


@pytest.mark.browser
def test_nothing_executes_in_the_browser(hostile_visits, hostile_site):
    visits = [v for v in hostile_visits["cli"] if not in_articles(v.url)]
    assert len(visits) > 100
    visits += hostile_visits["articles"]  # hostile front matter: title, summary, tags
    assert len(hostile_visits["articles"]) >= 4
    problems = _executed(visits)
    assert not problems, bu.summarise(problems, "executed payloads")


@pytest.mark.browser
def test_nothing_executes_in_article_pages(hostile_visits):
    visits = [v for v in hostile_visits["cli"] if in_articles(v.url)]
    assert visits
    problems = _executed(visits)
    assert not problems, bu.summarise(problems, "executed payloads")


@pytest.mark.browser
def test_payloads_show_as_text_in_the_browser(chromium, hostile_site):
    rows = {unneutralise(r["lender"]): r["lender_slug"] for r in lenders_table(hostile_site)}

    async def headings(base):
        context = await chromium.browser.new_context(viewport=bu.WIDE)
        page = await context.new_page()
        seen = {}
        for name in (H.SCRIPT, H.CLOSE_SCRIPT, H.IMG, H.SVG, H.IFRAME, H.MD_LINK, H.RTL):
            await page.goto(f"{base}lenders/{rows[name]}/")
            seen[name] = await page.locator("h1").inner_text()
        await context.close()
        return seen

    with bu.Served(hostile_site) as served:
        seen = chromium.run(headings(served.url))
    for name, shown in seen.items():
        # The RTL override is a formatting character: innerText keeps it.
        assert shown.strip() == name.strip(), (name, shown)
