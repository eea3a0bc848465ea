"""Charts in Chromium as a reader and a journalist use them: time axes that never repeat a
label (one month, a span with a hole, more than ten years), a visible mark in every chart
of a one-month build, PNG and SVG downloads that carry the chart's title, and permalinks.
Charts cost nothing until used: a page shows each chart as a static SVG and loads plotly.js
only when a reader reaches for a chart (pointer, tap, focus, its button, a download or a
permalink), then draws that chart alone.

Sites are built in-process from data generated here (and the demo), and served on
127.0.0.1.
"""

from __future__ import annotations

import contextlib
import csv
import random
import re
import struct
import zlib
from datetime import date, timedelta
from pathlib import Path

import pytest

from collectwatch.pipeline import build

from . import browser_util as bu
from .layouts import HEADER

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
CHROMIUM = bu.find_chromium()
if CHROMIUM is None:
    pytest.skip(bu.NO_CHROMIUM, allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402 (after the skip)

pytestmark = pytest.mark.browser

LENDERS = ["Northgate Collections LLC", "Harbor Point Recovery", "Meridian Credit Services"]
ISSUES = [
    ("Communication tactics", "Frequent or repeated calls"),
    ("Attempts to collect debt not owed", "Debt is not yours"),
    (
        "Threatened to contact someone or share information improperly",
        "Talked to a third-party about your debt",
    ),
]
# Draw every chart on the page (point at each) and report, per chart, its x tick labels
# and its marks.
CHARTS_JS = """async () => {
  const plots = Array.from(document.querySelectorAll('.plot[data-figure]'));
  for (const p of plots) {
    (PICK_VIEW)(p);
    p.scrollIntoView();
    p.dispatchEvent(new PointerEvent('pointerenter', {pointerType: 'mouse'}));
    await new Promise(r => setTimeout(r, 30));
  }
  const deadline = Date.now() + 120000;
  while (plots.some(p => !p.getAttribute('data-rendered') && !p.closest('.show-table'))
         && Date.now() < deadline) {
    await new Promise(r => setTimeout(r, 100));
  }
  return plots.map(p => ({
    id: p.getAttribute('data-figure'),
    rendered: !!p.getAttribute('data-rendered'),
    empty: ((window.collectwatchCharts || {})[p.getAttribute('data-figure')].figure.data
            || []).length === 0,
    ticks: Array.from(p.querySelectorAll('.xtick text')).map(t => t.textContent),
    marks: p.querySelectorAll('.scatterlayer .point, .barlayer .point path, '
                              + '.choroplethlocation, .scatterlayer .js-line').length,
  }));
}""".replace("PICK_VIEW", bu.PICK_VIEW_JS)


def _rows(days: list[date], per_day: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows, cid = [], seed * 1_000_000
    for day in days:
        for _ in range(per_day):
            cid += 1
            issue, sub = rng.choice(ISSUES)
            rows.append(
                {
                    "Date received": day.isoformat(),
                    "Product": "Debt collection",
                    "Sub-product": "Other debt",
                    "Issue": issue,
                    "Sub-issue": sub,
                    "Company": rng.choice(LENDERS),
                    "State": rng.choice(["CA", "TX", "NY"]),
                    "Submitted via": "Web",
                    "Company response to consumer": "Closed with explanation",
                    "Timely response?": "Yes",
                    "Complaint ID": str(cid),
                }
            )
    return rows


def _site(tmp: Path, rows: list[dict]) -> Path:
    source = tmp / "input.csv"
    with source.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=HEADER, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    out = tmp / "site"
    build(inputs=[str(source)], out=out, quiet=True, use_cache=False)
    return out


def _days(first: date, last: date, skip=lambda d: False) -> list[date]:
    out, day = [], first
    while day <= last:
        if not skip(day):
            out.append(day)
        day += timedelta(days=1)
    return out


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> dict[str, Path]:
    one = tmp_path_factory.mktemp("one-month")
    holed = tmp_path_factory.mktemp("holed")
    demo = tmp_path_factory.mktemp("demo")
    hole = (date(2020, 2, 1), date(2020, 9, 30))

    def in_hole(day: date) -> bool:
        return hole[0] <= day <= hole[1]

    return {
        "one-month": _site(one, _rows(_days(date(2021, 3, 1), date(2021, 3, 31)), 3, 1)),
        "holed": _site(
            holed,
            _rows(
                _days(date(2019, 1, 1), date(2021, 6, 30), lambda d: hole[0] <= d <= hole[1]), 2, 2
            ),
        ),
        "ten-years": build(out=demo / "site", quiet=True) and demo / "site",
    }


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=bu.CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# What a chart costs once used: plotly.js and the chart's data file.
ASKED = re.compile(r"/assets/plotly-[0-9a-f]+\.min\.js$|/data/charts/([a-z0-9_-]+)\.js$")
# Read down the whole page and back up, as a reader scrolling past every chart does.
READ_JS = """async () => {
  const frame = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  for (let y = 0; y < document.scrollingElement.scrollHeight; y += 300) {
    window.scrollTo(0, y); await frame();
  }
  window.scrollTo(0, 0); await frame();
}"""


def _first_lender(site: Path) -> str:
    # A lender page, not the index's letter pages (lenders/letter/<key>/).
    return sorted(p.name for p in (site / "lenders").iterdir() if (p / "index.html").is_file())[0]


@contextlib.contextmanager
def _page(browser, site: Path, path: str, *, file_url: bool = False, **options):
    """A fresh page at ``path`` of ``site`` (served on 127.0.0.1, or from a file:// URL),
    loaded and idle, and what it asks for of plotly.js and the charts' data files, in order
    ("plotly" or a chart's id)."""
    with contextlib.ExitStack() as stack:
        if file_url:
            url = (site / bu.page_file(path)).as_uri()
        else:
            url = stack.enter_context(bu.Served(site)).url + path
        context = browser.new_context(**{"viewport": bu.WIDE, **options})
        stack.callback(context.close)
        page = context.new_page()
        page.set_default_timeout(bu.TIMEOUT_MS)
        asked: list[str] = []

        def ask(request) -> None:
            if found := ASKED.search(request.url):
                asked.append(found.group(1) or "plotly")

        page.on("request", ask)
        page.goto(url, wait_until="networkidle")
        yield page, asked


def _drawn(page) -> list[bool]:
    """Per chart on the page: drawn by plotly.js (True) or still its static SVG (False)."""
    charts = page.evaluate(bu.CHARTS_STATE_JS)
    for chart in charts:
        assert chart["svg"] != chart["plotly"], chart  # one or the other, never both
    return [chart["plotly"] for chart in charts]


def _charts(browser, site: Path, page_path: str) -> list[dict]:
    with bu.Served(site) as served:
        page = browser.new_page(viewport=bu.WIDE)
        page.set_default_timeout(bu.TIMEOUT_MS)
        page.goto(served.url + page_path)
        result = page.evaluate(CHARTS_JS)
        page.close()
    return result


PAGES = ["", "zh/", "behaviours/repeated_contact/", "zh/behaviours/repeated_contact/"]


@pytest.mark.parametrize("kind", ["one-month", "holed", "ten-years"])
def test_no_time_axis_repeats_a_tick_label(sites, browser, kind):
    site = sites[kind]
    lender = _first_lender(site)
    seen = 0
    for path in [*PAGES, f"lenders/{lender}/", f"zh/lenders/{lender}/"]:
        for chart in _charts(browser, site, path):
            assert chart["rendered"] or chart["empty"], (kind, path, chart["id"])
            ticks = [t for t in chart["ticks"] if t.strip()]
            assert len(ticks) == len(set(ticks)), (kind, path, chart["id"], ticks)
            seen += bool(ticks)
    assert seen >= 4


def test_a_one_month_build_draws_a_mark_in_every_chart(sites, browser):
    site = sites["one-month"]
    lender = _first_lender(site)
    for path in ["", f"lenders/{lender}/", "behaviours/repeated_contact/"]:
        for chart in _charts(browser, site, path):
            if chart["empty"]:
                continue  # a chart with nothing to draw says so in words
            assert chart["marks"] > 0, (path, chart["id"])


def _png_text(data: bytes) -> dict[str, str]:
    """The iTXt chunks of a PNG, keyword → text."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, at = {}, 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        if kind == b"iTXt":
            key, rest = body.split(b"\0", 1)
            out[key.decode()] = rest[4:].decode("utf-8")
        at += 12 + length
    return out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_png_and_svg_downloads_carry_the_title(sites, browser, tmp_path, lang):
    site = sites["ten-years"]
    path = "" if lang == "en" else "zh/"
    with _page(browser, site, path, accept_downloads=True) as (page, asked):
        assert not asked  # a download is what loads plotly.js here
        figure = page.locator("figure.chart").first
        title = figure.locator("figcaption h3").inner_text()
        got = {}
        for fmt in ("png", "svg"):
            with page.expect_download() as info:
                figure.locator(f".download-image[data-format={fmt}]").click()
            path = tmp_path / f"chart.{fmt}"
            info.value.save_as(path)
            got[fmt] = (info.value.suggested_filename, path.read_bytes())
        assert asked.count("plotly") == asked.count(_plot_id(figure)) == 1 and _drawn(page)[0]
    name, png = got["png"]
    assert name.endswith(".png") and len(png) > 10_000
    meta = _png_text(png)
    assert meta["Title"] == title and "CFPB" in meta["Source"]
    name, svg = got["svg"]
    assert name.endswith(".svg")
    text = svg.decode("utf-8")
    assert text.startswith("<svg") and title in text.replace("&amp;", "&")


def test_a_permalink_opens_its_chart(sites, browser):
    site = sites["ten-years"]
    with bu.Served(site) as served:
        page = browser.new_page(viewport=bu.NARROW)
        page.set_default_timeout(bu.TIMEOUT_MS)
        page.goto(served.url)
        last = page.locator("figure.chart").last
        chart_id = last.get_attribute("id")
        href = last.locator("a.permalink").get_attribute("href")
        assert href == f"#{chart_id}"
        page.goto(served.url + href)
        page.wait_for_selector(f"#{chart_id} .plot[data-rendered]")
        top = page.evaluate(f"document.getElementById('{chart_id}').getBoundingClientRect().top")
        assert abs(top) < 5  # scrolled to it
        drawn = _drawn(page)
        assert drawn[-1] and not any(drawn[:-1])  # the linked chart alone
        page.close()


# ── charts cost nothing until used ──────────────────────────────────────────────────────


def _plot_id(locator) -> str:
    """The chart id (its data file's name) of the first plot in ``locator``."""
    return locator.locator(".plot[data-figure]").first.get_attribute("data-figure")


@pytest.mark.parametrize("which", ["lender", "zh-overview"])
def test_charts_are_static_svgs_and_plotly_loads_on_intent(sites, browser, which):
    site = sites["ten-years"]
    path = {"lender": f"lenders/{_first_lender(site)}/", "zh-overview": "zh/"}[which]
    with _page(browser, site, path) as (page, asked):
        page.evaluate(READ_JS)  # scrolling past every chart is no intent
        page.wait_for_load_state("networkidle")
        charts = page.evaluate(bu.CHARTS_STATE_JS)
        assert charts and not asked, asked
        for chart in charts:
            assert chart["svg"] and not chart["plotly"], chart
            assert chart["shown"] == (chart["view"] == "month"), chart  # one view at a time
            if chart["shown"]:
                assert chart["width"] > 300 and chart["height"] >= 100, chart
            assert chart["marks"] > 0 or chart["empty"], chart
        # Pointing at the first chart loads plotly.js and its data file, once each, and
        # draws that chart alone.
        page.locator(".plot[data-figure]").first.hover()
        page.wait_for_selector(".plot[data-rendered]")
        assert _drawn(page) == [True] + [False] * (len(charts) - 1)
        assert sorted(asked) == sorted(["plotly", _plot_id(page)])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_embed_page_draws_any_chart_from_its_data_file(sites, browser, lang):
    """embed/?chart=<id> is one page for every chart: a frame on another site shows the
    chart drawn at once, with the title, summary and links of the page it comes from."""
    site = sites["ten-years"]
    prefix = "zh/" if lang == "zh" else ""
    lender = f"{prefix}lenders/{_first_lender(site)}/"
    with _page(browser, site, lender) as (page, _):
        figure = page.locator("figure.chart").nth(1)
        chart_id = figure.get_attribute("id")
        title = figure.locator("figcaption h3").inner_text()
        summary = figure.locator(".summary").inner_text()
        snippet = figure.locator("details.embed input").input_value()
    assert f"{prefix}embed/?chart={chart_id}" in snippet
    with _page(browser, site, f"{prefix}embed/?chart={chart_id}") as (page, asked):
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.wait_for_selector(".plot[data-rendered]")
        assert sorted(asked) == sorted(["plotly", chart_id])
        assert page.title() == title
        assert page.locator("figcaption h3").inner_text() == title
        assert page.locator(".summary").inner_text() == summary
        assert not page.locator(".embed-missing").is_visible()
        csv = page.locator("a.csv").get_attribute("href")
        csv_file = (site / prefix / "embed" / csv).resolve()
        assert csv_file == (site / "data" / "charts" / f"{chart_id}.csv").resolve()
        back = page.locator("a.page").evaluate("a => a.href")
        assert back.endswith(f"/{lender}#{chart_id}")
        assert not errors
    # From disk too; and an id that names no chart (or tries to leave data/charts/) loads
    # nothing and says so.
    embed_file = (site / prefix / "embed" / "index.html").as_uri()
    with contextlib.closing(browser.new_page()) as page:
        page.set_default_timeout(bu.TIMEOUT_MS)
        page.goto(f"{embed_file}?chart={chart_id}")
        page.wait_for_selector(".plot[data-rendered]")
        for bad in ("no-such-chart", "../../index", "x%22%3E%3Cscript%3E"):
            scripts: list[str] = []
            page.on("request", lambda r, s=scripts: s.append(r.url) if ".js" in r.url else None)
            page.goto(f"{embed_file}?chart={bad}", wait_until="load")
            page.wait_for_load_state("networkidle")
            assert page.locator(".embed-missing").is_visible(), bad
            assert not page.locator("figure.chart").is_visible(), bad
            assert not [u for u in scripts if "/data/charts/" in u and "no-such" not in u], bad


TOUCH = {"has_touch": True, "is_mobile": True, "viewport": bu.NARROW}


@pytest.mark.parametrize("how", ["focus", "tap", "button", "touch-scroll"])
def test_each_way_of_reaching_for_a_chart_draws_it(sites, browser, how):
    site = sites["ten-years"]
    options = TOUCH if how in ("tap", "touch-scroll") else {}
    with _page(browser, site, f"lenders/{_first_lender(site)}/", **options) as (page, asked):
        second = page.locator("figure.chart").nth(1)
        if how == "focus":  # the keyboard: Tab reaches a link of the chart
            second.locator("a.permalink").focus()
        elif how == "tap":
            second.locator(".plot").tap()
        elif how == "button":
            assert second.locator(".draw-chart").is_visible()
            second.locator(".draw-chart").click()
        else:  # a finger that scrolls the page over a chart does not reach for it
            second.scroll_into_view_if_needed()
            box = second.locator(".plot").bounding_box()
            cdp = page.context.new_cdp_session(page)
            gesture = {"x": box["x"] + box["width"] / 2, "y": box["y"] + 40}
            gesture |= {"yDistance": -300, "gestureSourceType": "touch", "speed": 600}
            cdp.send("Input.synthesizeScrollGesture", gesture)
            page.wait_for_load_state("networkidle")
            assert page.evaluate("window.scrollY") > 0  # the page did scroll
            assert not asked and not any(_drawn(page))
            return
        page.wait_for_selector(f"#{second.get_attribute('id')} .plot[data-rendered]")
        drawn = _drawn(page)
        assert drawn[1] and not drawn[0] and not any(drawn[2:])
        assert sorted(asked) == sorted(["plotly", _plot_id(second)])
        assert not second.locator(".draw-chart").is_visible()  # nothing left to ask for
        if how == "button":  # the keyboard's focus moved on to the chart it drew
            assert page.evaluate("document.activeElement.classList.contains('plot')")


def test_without_javascript_a_chart_is_its_svg_and_its_table(sites, browser):
    site = sites["ten-years"]
    lender = f"lenders/{_first_lender(site)}/"
    with _page(browser, site, lender, java_script_enabled=False) as (page, asked):
        charts = page.evaluate(bu.CHARTS_STATE_JS)
        assert charts and not asked
        for chart in charts:
            assert chart["svg"] and chart["marks"] > 0, chart
            assert chart["height"] >= 100 or not chart["shown"], chart
        assert page.locator(".table-view").first.is_visible()
        assert not page.locator(".draw-chart").first.is_visible()  # it needs the script


def test_a_chart_draws_from_a_file_url(sites, browser):
    site = sites["ten-years"]
    with _page(browser, site, f"lenders/{_first_lender(site)}/", file_url=True) as (page, asked):
        assert not asked
        page.locator(".plot[data-figure]").first.hover()
        page.wait_for_selector(".plot[data-rendered]")
        assert sorted(asked) == sorted(["plotly", _plot_id(page)])
        assert _drawn(page)[0]


VIEWS = ["month", "quarter", "year"]


@pytest.mark.parametrize("script", [True, False], ids=["script", "no-script"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_reader_picks_the_trend_per_month_quarter_or_year(sites, browser, lang, script):
    """The switch is CSS: with or without script it shows one view at a time, with its own
    title and CSV, and never loads plotly.js. Once the chart is interactive, the picked
    view is drawn by plotly.js in its turn."""
    site = sites["ten-years"]
    path = "" if lang == "en" else "zh/"
    with _page(browser, site, path, java_script_enabled=script) as (page, asked):
        fig = page.locator("#market-family-trend")

        def shown() -> list[str]:
            return [v for v in VIEWS if fig.locator(f".plot[data-view={v}]").is_visible()]

        assert shown() == ["month"]
        for view in [*VIEWS[1:], "month"]:
            fig.locator(f".resolution input[value={view}]").check()
            assert shown() == [view]
            plot = fig.locator(f".plot[data-view={view}]")
            assert fig.locator("figcaption h3").inner_text() == plot.get_attribute("data-title")
            csv = [
                a.get_attribute("href") for a in fig.locator("a[download]").all() if a.is_visible()
            ]
            suffix = "" if view == "month" else f"-{view}"
            assert csv == [
                f"{'../' if lang == 'zh' else ''}data/charts/market-family-trend{suffix}.csv"
            ]
            box = plot.locator("svg.cw-chart").bounding_box()
            assert box["width"] > 300 and plot.locator("svg.cw-chart .m").count() > 0
        assert not asked
        if not script:
            return
        fig.locator(".draw-chart").click()
        page.wait_for_selector("#market-family-trend .plot[data-view=month][data-rendered]")
        fig.locator(".resolution input[value=year]").check()
        page.wait_for_selector("#market-family-trend .plot[data-view=year][data-rendered]")
        drawn = [fig.locator(f".plot[data-view={v}][data-rendered]").count() for v in VIEWS]
        assert drawn == [1, 0, 1] and shown() == ["year"]
        # Each once; the quarter's data is never loaded (the pointer, left where the button
        # was, may also reach the chart below).
        for once in ("plotly", "market-family-trend", "market-family-trend-year"):
            assert asked.count(once) == 1, asked
        assert "market-family-trend-quarter" not in asked
