"""The built sites in a real browser: the demo and real-sample sites in Chromium.

Each site is built once per test run by the CLI (conftest's ``built_site``) and served on
127.0.0.1. The crawled pages are loaded at 360 px wide, their charts scrolled into view and
pointed at (which has plotly.js draw them), and checked for console errors, failed or
foreign requests, undrawn charts and horizontal scrolling. Which pages are crawled:

* ``--crawl=sample`` (the default, ``make test``): every page template in both languages,
  every kind of chart, and a seeded random sample of the rest (``--crawl-sample=N`` pages,
  ``--crawl-seed=S``);
* ``--crawl=all`` (``make test-all``, the nightly publish workflow): every HTML page.

Selected pages check the lenders table, search, the language switch and accessibility
(axe-core), and screenshots go to test-artifacts/.

Needs Chromium: $CHROMIUM_PATH, or Debian's /usr/bin/chromium (.ci/run installs it).
"""

from __future__ import annotations

import time
import warnings

import pytest

from collectwatch import paths

from . import browser_util as bu

pytest.importorskip("playwright.async_api", reason="playwright is not installed")
CHROMIUM = bu.find_chromium()
if CHROMIUM is None:
    warnings.warn(bu.NO_CHROMIUM, stacklevel=1)
    pytest.skip(bu.NO_CHROMIUM, allow_module_level=True)

pytestmark = pytest.mark.browser

REAL_CFPB = paths.REAL_DATA / "cfpb"
SITES = ["demo", "real"]
AXE_IMPACTS = ("serious", "critical")


# ── sites and the browser ───────────────────────────────────────────────────────────────


class SiteUnderTest:
    def __init__(self, name: str, folder, served: bu.Served, crawl: dict) -> None:
        self.name, self.folder, self.served = name, folder, served
        self.url, self.origin = served.url, served.origin
        self.pages = bu.html_pages(folder)
        self.sample = None
        if crawl["mode"] == "all":
            self.crawl_pages = self.pages
        else:
            self.sample = bu.sample_pages(
                folder, self.pages, extra=crawl["sample"], seed=crawl["seed"]
            )
            self.crawl_pages = self.sample.pages

    def first(self, prefix: str) -> str:
        """The first page under ``prefix`` ("lenders/") that is not the index itself."""
        for page in self.pages:
            if page.startswith(prefix) and page != prefix and page.count("/") == 2:
                return page
        pytest.fail(f"{self.name}: no page under {prefix}")


def _site(built_site, crawl_settings, name: str):
    args = []
    if name == "real":
        inputs = sorted(REAL_CFPB.glob("*.csv")) if REAL_CFPB.is_dir() else []
        if not inputs:
            pytest.skip(f"real samples not here ({REAL_CFPB}); the real-data site is not tested")
        args = ["--input", *inputs]
    out = built_site(*args)
    with bu.Served(out) as served:
        yield SiteUnderTest(name, out, served, crawl_settings)


@pytest.fixture(scope="session")
def demo_site(built_site, crawl_settings):
    yield from _site(built_site, crawl_settings, "demo")


@pytest.fixture(scope="session")
def real_site(built_site, crawl_settings):
    yield from _site(built_site, crawl_settings, "real")


@pytest.fixture(scope="session", params=SITES)
def site(request) -> SiteUnderTest:
    return request.getfixturevalue(f"{request.param}_site")


@pytest.fixture(scope="module")
def chromium():
    browser = bu.Chromium(CHROMIUM)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def crawls() -> dict:
    return {}


@pytest.fixture
def crawl(site, chromium, crawls) -> list[bu.Visit]:
    """The crawled pages of ``site`` (all, or the sample) visited once per session (at
    360 px wide)."""
    if site.name not in crawls:
        started = time.perf_counter()
        visits = chromium.run(bu.crawl(chromium.browser, site.url, site.crawl_pages))
        took = time.perf_counter() - started
        what = site.sample.describe() if site.sample else "every page"
        print(f"\n{site.name}: {len(visits)} of {len(site.pages)} pages in {took:.0f} s ({what})")
        crawls[site.name] = visits
    return crawls[site.name]


def problems(visits, check) -> dict[str, list[str]]:
    found = {}
    for v in visits:
        items = check(v)
        if items:
            found[v.url] = items
    return found


async def open_page(chromium, url: str, *, viewport=bu.WIDE, draw: bool = True):
    """A fresh context and page at ``url`` (charts drawn); the caller closes the context."""
    context = await bu.new_context(chromium.browser, viewport=viewport)
    page = await context.new_page()
    await page.goto(url, wait_until="load")
    if draw:
        await page.evaluate(bu.USE_CHARTS_JS)
        await page.wait_for_function(bu.SETTLED_JS, polling=bu.POLL_MS)
    return context, page


# ── every page ──────────────────────────────────────────────────────────────────────────


def test_every_page_loads(site, crawl):
    assert [v.url for v in crawl] == sorted(site.url + p for p in site.crawl_pages)
    if site.name == "demo":
        assert len(site.pages) > 300
    found = problems(crawl, lambda v: [v.error] if v.error else [])
    assert not found, bu.summarise(found, "navigation errors")


def test_crawl_covers_every_template_and_chart_kind(site):
    """The sample (make test) leaves out pages, never a kind of page or of chart."""
    every_template = {bu.template_key(p) for p in site.pages}
    assert {"en ", "zh ", "en lenders/*", "zh lenders/*"} <= every_template
    crawled = set(site.crawl_pages)
    assert {bu.template_key(p) for p in crawled} == every_template
    kinds = set()
    for p in site.pages:
        if p in crawled:
            kinds |= bu.chart_kinds(site.folder, p)
        elif site.sample is None:
            pytest.fail(f"--crawl=all left out {p}")
    missing = set()
    for p in site.pages:
        if p not in crawled:
            missing |= bu.chart_kinds(site.folder, p) - kinds
    assert not missing, f"chart kinds no crawled page has: {sorted(missing)}"
    assert any("[choropleth]" in k for k in kinds) and any("[bar]" in k for k in kinds)


def _favicon(message: str) -> bool:
    return message.endswith("/favicon.ico]") and "404" in message


def test_no_console_errors(crawl):
    # A 404 for /favicon.ico is left to test_every_page_declares_an_icon.
    found = problems(crawl, lambda v: [m for m in v.console_errors if not _favicon(m)])
    assert not found, bu.summarise(found, "console errors")


def test_every_page_declares_an_icon(site):
    missing = [
        p
        for p in site.pages
        if '<link rel="icon"' not in (site.folder / bu.page_file(p)).read_text("utf-8")
    ]
    assert not missing, f"{len(missing)} page(s) without an icon link, e.g. {missing[:5]}"


def test_no_failed_requests(crawl):
    found = problems(crawl, lambda v: v.failed_requests)
    assert not found, bu.summarise(found, "failed requests")


def test_server_answered_every_request(site, crawl):
    """The server's own log: no error status for any request, the browser's own included."""
    errors = [e for e in site.served.errors if not e.endswith("/favicon.ico")]
    assert not errors, f"{len(errors)} request(s) failed at the server: {errors[:20]}"


def test_no_request_leaves_the_site(site, crawl):
    found = problems(crawl, lambda v: bu.foreign_requests(v, site.origin))
    assert not found, bu.summarise(found, "requests to other origins")
    assert sum(len(v.requests) for v in crawl) > len(crawl)  # requests were recorded


def test_every_chart_is_drawn(crawl):
    found = problems(crawl, lambda v: v.unrendered)
    assert not found, bu.summarise(found, "undrawn charts")
    assert sum(len(v.plots) for v in crawl) > len(crawl) / 2


def test_pages_fit_360_px(crawl):
    found = problems(
        crawl, lambda v: [f"scrollWidth {v.scroll_width}"] if v.scroll_width > 361 else []
    )
    assert not found, bu.summarise(found, "horizontal scrolling at 360 px")


# ── selected pages ──────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("lang", "term"),
    [("en", None), ("zh", "催收")],
    ids=["english", "chinese"],
)
def test_search_finds_a_term(site, chromium, lang, term):
    import json

    prefix = "zh/" if lang == "zh" else ""
    if term is None:  # a lender's name: on every English lender page
        rows = (site.folder / "data" / "lenders.csv").read_text("utf-8-sig").splitlines()
        name = rows[1].split(",")[0].strip('"')
        term = next(w for w in name.split() if len(w) >= 4 and w.isalpha())
    url = f"{site.url}{prefix}search/?q={term}"

    async def run():
        context, page = await open_page(chromium, url, draw=False)
        try:
            results = page.locator(".pagefind-ui__result-link")
            await results.first.wait_for()
            return await results.evaluate_all("as => as.map(a => a.href)")
        finally:
            await context.close()

    links = chromium.run(run())
    assert links, f"no results for {term!r} on {url}"
    own = [h for h in links if h.startswith(site.url + prefix)]
    if lang == "en":
        own = [h for h in own if not h.startswith(site.url + "zh/")]
    assert own == links, f"results for {term!r} in the other language: {json.dumps(links)}"


@pytest.mark.parametrize("start", ["behaviour", "zh/methodology/", "lender", "zh/data/"])
def test_language_switch_leads_to_the_same_page(site, chromium, start):
    path = {"behaviour": site.first("behaviours/"), "lender": site.first("lenders/")}.get(
        start, start
    )
    target = path[3:] if path.startswith("zh/") else "zh/" + path

    async def run():
        context, page = await open_page(chromium, site.url + path, draw=False)
        try:
            async with page.expect_navigation():
                await page.locator("a.lang-switch").click()
            return page.url, await page.evaluate("document.documentElement.lang")
        finally:
            await context.close()

    url, lang = chromium.run(run())
    assert url == site.url + target
    assert lang == ("en" if path.startswith("zh/") else "zh-Hans")


def test_charts_offer_no_upload_to_another_site(site, chromium):
    async def run():
        context, page = await open_page(chromium, site.url)
        try:
            return await page.evaluate(
                "() => Array.from(document.querySelectorAll('.plot .modebar-btn'))"
                ".map(b => b.getAttribute('data-title') || '')"
            )
        finally:
            await context.close()

    titles = chromium.run(run())
    assert titles, "no chart drew a mode bar: check the selector"
    cloud = [t for t in titles if "cloud" in t.lower() or "share" in t.lower()]
    assert not cloud, f"{len(cloud)} chart button(s) upload to Plotly Cloud: {sorted(set(cloud))}"


def _axe_pages(site) -> list[str]:
    lender, behaviour = site.first("lenders/"), site.first("behaviours/")
    return ["", lender, behaviour, "methodology/", "data/", "zh/", "zh/" + lender]


@pytest.fixture(scope="session")
def axe_cache() -> dict:
    return {}


@pytest.fixture
def axe_violations(site, chromium, axe_cache) -> dict[str, list[dict]]:
    """Serious and critical axe-core violations of selected pages (charts drawn), by URL."""
    if site.name in axe_cache:
        return axe_cache[site.name]
    from axe_playwright_python.async_playwright import Axe

    axe = Axe()

    async def run():
        found = {}
        context = await bu.new_context(chromium.browser, viewport=bu.WIDE)
        page = await context.new_page()
        try:
            for path in _axe_pages(site):
                await page.goto(site.url + path, wait_until="load")
                await page.evaluate(bu.USE_CHARTS_JS)
                await page.wait_for_function(bu.SETTLED_JS, polling=bu.POLL_MS)
                result = await axe.run(page)
                found[site.url + path] = [
                    v for v in result.response["violations"] if v["impact"] in AXE_IMPACTS
                ]
        finally:
            await context.close()
        return found

    axe_cache[site.name] = chromium.run(run())
    return axe_cache[site.name]


def _chart_nesting(violation: dict, node: dict) -> bool:
    """The known bug: Plotly's controls inside the role="img" chart container."""
    target = " ".join(node["target"])
    return violation["id"] == "nested-interactive" and ("plot" in target or "figure" in target)


def _axe_report(violations: dict, keep) -> dict[str, list[str]]:
    found = {}
    for url, items in violations.items():
        for v in items:
            nodes = [n for n in v["nodes"] if keep(v, n)]
            if nodes:
                targets = ", ".join(" ".join(n["target"]) for n in nodes[:8])
                found.setdefault(url, []).append(
                    f"{v['id']} ({v['impact']}): {v['help']} — targets {targets}"
                )
    return found


def test_accessibility_axe(axe_violations):
    assert len(axe_violations) == 7
    found = _axe_report(axe_violations, lambda v, n: not _chart_nesting(v, n))
    assert not found, bu.summarise(found, "serious or critical axe violations")


def test_accessibility_axe_chart_containers(axe_violations):
    found = _axe_report(axe_violations, _chart_nesting)
    assert not found, bu.summarise(found, "serious or critical axe violations")


def test_screenshots(site, chromium):
    """Artefacts for a human look: the overview, a lender, Chinese pages, a case study."""
    shots = {
        "overview": "",
        "lender": site.first("lenders/"),
        "zh-overview": "zh/",
        "zh-lender": "zh/" + site.first("lenders/"),
    }
    studies = sorted(site.folder.glob("zh/case-studies/*/index.html"))
    if studies:
        shots["zh-case-study"] = studies[0].parent.relative_to(site.folder).as_posix() + "/"
    bu.ARTIFACTS.mkdir(exist_ok=True)

    async def run():
        saved = []
        context = await bu.new_context(chromium.browser, viewport=bu.WIDE)
        page = await context.new_page()
        try:
            for name, path in shots.items():
                await page.goto(site.url + path, wait_until="load")
                await page.evaluate(bu.USE_CHARTS_JS)
                await page.wait_for_function(bu.SETTLED_JS, polling=bu.POLL_MS)
                file = bu.ARTIFACTS / f"{site.name}-{name}.png"
                await page.screenshot(path=str(file), full_page=True)
                saved.append(file)
        finally:
            await context.close()
        return saved

    saved = chromium.run(run())
    for file in saved:
        assert file.stat().st_size > 10_000, file
    if not studies:
        print(f"\n{site.name}: no zh/case-studies/ page yet, so no case-study screenshot")
