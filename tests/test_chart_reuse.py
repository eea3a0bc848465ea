"""Charts in Chromium as a reader and a journalist use them: time axes that never repeat a
label (one month, a span with a hole, more than ten years), a visible mark in every chart
of a one-month build, PNG and SVG downloads that carry the chart's title, and permalinks.

Sites are built in-process from data generated here (and the demo), and served on
127.0.0.1.
"""

from __future__ import annotations

import csv
import random
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
# Draw every chart on the page and report, per chart, its x tick labels and its marks.
CHARTS_JS = """async () => {
  const plots = Array.from(document.querySelectorAll('.plot[data-figure]'));
  for (const p of plots) { p.scrollIntoView(); await new Promise(r => setTimeout(r, 30)); }
  const deadline = Date.now() + 120000;
  while (plots.some(p => !p.getAttribute('data-rendered') && !p.closest('.show-table'))
         && Date.now() < deadline) {
    await new Promise(r => setTimeout(r, 100));
  }
  return plots.map(p => ({
    id: p.getAttribute('data-figure'),
    rendered: !!p.getAttribute('data-rendered'),
    empty: (JSON.parse(document.getElementById(p.getAttribute('data-figure')).textContent)
            .data || []).length === 0,
    ticks: Array.from(p.querySelectorAll('.xtick text')).map(t => t.textContent),
    marks: p.querySelectorAll('.scatterlayer .point, .barlayer .point path, '
                              + '.choroplethlocation, .scatterlayer .js-line').length,
  }));
}"""


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
    lender = sorted(p.name for p in (site / "lenders").iterdir() if p.is_dir())[0]
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
    lender = sorted(p.name for p in (site / "lenders").iterdir() if p.is_dir())[0]
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
    with bu.Served(site) as served:
        page = browser.new_page(viewport=bu.WIDE, accept_downloads=True)
        page.set_default_timeout(bu.TIMEOUT_MS)
        page.goto(served.url + ("" if lang == "en" else "zh/"))
        figure = page.locator("figure.chart").first
        title = figure.locator("figcaption h3").inner_text()
        got = {}
        for fmt in ("png", "svg"):
            with page.expect_download() as info:
                figure.locator(f".download-image[data-format={fmt}]").click()
            path = tmp_path / f"chart.{fmt}"
            info.value.save_as(path)
            got[fmt] = (info.value.suggested_filename, path.read_bytes())
        page.close()
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
        page.close()
