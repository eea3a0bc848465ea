"""The lenders index at any scale: letter pages that link every lender without JavaScript,
and lenders.js, which filters and sorts the whole list and shows one page of rows at a time.

The sites are built by the real CLI: the demo with ``lenders_index_rows: 10`` (so its 40
companies fill four pages of the script's list), and the hostile corpus (tests/hostile.py),
whose company names attack the letter pages and the data file. Browser tests drive a real
Chromium over a loopback server, and once from file://.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from collectwatch import charts, paths
from collectwatch.render import (
    LETTERS,
    first_letter,
    lenders_data_js,
    letter_groups,
    name_key,
)

from . import browser_util as bu
from . import hostile as H

ROWS = 10  # lenders_index_rows of the demo build here


# ── the pure parts ──────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Northwind Recovery, LLC", "n"),
        ("northwind", "n"),
        ("Émile Collections", "e"),  # accents dropped
        ("Ｆｕｌｌｗｉｄｔｈ Inc", "f"),  # compatibility forms folded
        ('"Quoted" Recovery', "q"),  # leading punctuation skipped
        ("  (The) Agency", "t"),
        ("1st Franklin Financial", "0-9"),
        ("３Ｍ", "0-9"),
        ("速借通App", "other"),
        ("Быстрые деньги", "other"),
        ("..", "other"),
        ("", "other"),
        (H.SCRIPT, "s"),
        (H.RTL, "l"),  # the override is a format character, not a letter
        ("\t=1+1", "0-9"),
    ],
)
def test_first_letter(name, key):
    assert first_letter(name) == key
    assert key in LETTERS


def test_letter_groups_hold_every_company_once_in_alphabetical_order():
    import pandas as pd

    names = ["beta", "Alpha", "Ärger", "alpha 2", "9 Lives", "速借通", "Zed", "azure"]
    frame = pd.DataFrame({"lender": names, "rank": range(len(names))})
    groups = letter_groups(frame)
    assert sorted(n for g in groups.values() for n in g["lender"]) == sorted(names)
    assert list(groups["a"]["lender"]) == ["Alpha", "alpha 2", "Ärger", "azure"]
    assert list(groups) == [k for k in LETTERS if k in groups]  # navigation order
    assert list(groups["0-9"]["lender"]) == ["9 Lives"]
    assert list(groups["other"]["lender"]) == ["速借通"]
    assert name_key("Ärger") == "arger"


@pytest.mark.parametrize("name", [*H.TEXT_PAYLOADS, H.LONG[:300], "line\u2028break\u2029", "\\"])
def test_script_json_keeps_a_hostile_name_as_data(name):
    text = charts.figure_json({"rows": [[name]]})
    assert not re.search(r"[<>&\u2028\u2029]", text), text[:200]
    assert json.loads(text) == {"rows": [[name]]}


# ── the demo site, with ten rows a page ─────────────────────────────────────────────────


@pytest.fixture(scope="module")
def demo(built_site, tmp_path_factory) -> Path:
    settings = yaml.safe_load(paths.SITE_YAML.read_text(encoding="utf-8"))
    settings["lenders_index_rows"] = ROWS
    config = tmp_path_factory.mktemp("lenders-config") / "site.yaml"
    config.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return built_site("--config", config)


def published_lenders(site: Path) -> list[dict]:
    text = (site / "data" / "lenders.csv").read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def letter_pages(site: Path, prefix: str = "") -> list[Path]:
    return sorted((site / prefix / "lenders" / "letter").glob("*/index.html"))


def listed(pages: list[Path]) -> tuple[Counter, Counter]:
    """(lender page slug → links to it, unlinked name → rows) over the letter pages."""
    links, plain = Counter(), Counter()
    for page in pages:
        for row in soup(page).select("#lenders-table tbody tr"):
            first = row.find("td")
            link = first.find("a")
            if link:
                assert link.get_text() == first.get_text()
                links[link["href"].strip("/").split("/")[-1]] += 1
            else:
                plain[first.get_text()] += 1
    return links, plain


@pytest.mark.parametrize("prefix", ["", "zh/"], ids=["en", "zh"])
def test_every_lender_page_is_linked_from_exactly_one_letter_page(demo, prefix):
    lenders = published_lenders(demo)
    with_pages = {r["lender_slug"] for r in lenders if r["in_peer_group"] == "True"}
    without = Counter(r["lender"] for r in lenders if r["in_peer_group"] != "True")
    assert with_pages and without, "the demo needs companies with and without a page"
    pages = letter_pages(demo, prefix)
    links, plain = listed(pages)
    assert set(links) == with_pages
    assert set(links.values()) == {1}, [s for s, n in links.items() if n > 1]
    assert plain == without  # listed, unlinked, once
    for slug in with_pages:  # and every link leads to a page
        assert (demo / prefix / "lenders" / slug / "index.html").is_file()


def test_letter_pages_list_their_letter_only_in_alphabetical_order(demo):
    keys = [p.parent.name for p in letter_pages(demo)]
    assert "other" in keys  # the demo's Chinese companies
    assert set(keys) <= set(LETTERS)
    for page in letter_pages(demo):
        names = [r.find("td").get_text() for r in soup(page).select("#lenders-table tbody tr")]
        assert names, page
        assert {first_letter(n) for n in names} == {page.parent.name}
        assert names == sorted(names, key=lambda n: (name_key(n), n))


@pytest.mark.parametrize("prefix", ["", "zh/"], ids=["en", "zh"])
def test_letter_navigation_links_each_letter_with_companies(demo, prefix):
    have = {p.parent.name for p in letter_pages(demo, prefix)}
    for page in [demo / prefix / "lenders" / "index.html", *letter_pages(demo, prefix)]:
        nav = soup(page).select_one("nav.letters")
        hrefs = [a["href"] for a in nav.select("a")]
        targets = {Path(os.path.normpath(page.parent / h)).name for h in hrefs}
        assert targets == have, page
        assert len(nav.select("li")) == len(LETTERS)  # empty letters shown, not linked
        current = nav.select('a[aria-current="page"]')
        assert len(current) == (0 if page.parent.name == "lenders" else 1), page


def test_letter_pages_have_a_chinese_twin(demo):
    en, zh = letter_pages(demo), letter_pages(demo, "zh")
    assert [p.parent.name for p in en] == [p.parent.name for p in zh]
    page = soup(zh[0])
    assert page.html["lang"] == "zh-Hans"
    assert page.select_one("h1").get_text().startswith("机构")
    twin = page.select_one('link[rel="alternate"][hreflang="en"]')["href"]
    assert twin.endswith(f"lenders/letter/{zh[0].parent.name}/")
    assert "机构" in soup(demo / "zh" / "lenders" / "index.html").select_one("h1").get_text()


def test_index_shows_the_top_companies_and_ships_all_of_them_as_data(demo):
    lenders = published_lenders(demo)
    page = soup(demo / "lenders" / "index.html")
    rows = page.select("#lenders-table tbody tr")
    assert len(rows) == ROWS < len(lenders)
    by_rank = sorted(lenders, key=lambda r: (int(r["rank"]), r["lender"]))
    assert [r.find("td").get_text() for r in rows] == [r["lender"] for r in by_rank[:ROWS]]
    assert page.select_one('th[aria-sort="ascending"]').get_text() == "Rank"
    # The data file: every company, in the same order, from a script (works from file://).
    src = page.select_one("#lenders-index")["data-src"]
    data = (demo / "lenders" / src).resolve().read_text(encoding="utf-8")
    assert data.startswith("window.collectwatchLenders=") and data.endswith(";\n")
    parsed = json.loads(data[len("window.collectwatchLenders=") : -2])
    assert [r[0] for r in parsed["rows"]] == [r["lender"] for r in by_rank]
    assert {r[1] for r in parsed["rows"]} - {None} == {
        r["lender_slug"] for r in lenders if r["in_peer_group"] == "True"
    }
    scripts = [s["src"] for s in page.select("script[src]")]
    assert any(re.search(r"assets/lenders-[0-9a-f]{10}\.js$", s) for s in scripts)
    # lenders.js is loaded on the index only
    other = soup(demo / "behaviours" / "index.html").select("script[src]")
    assert not any("lenders-" in s["src"] for s in other)


def test_the_data_file_is_smaller_than_the_lenders_table(demo):
    data = next((demo / "assets").glob("lenders-data-*.js")).stat().st_size
    assert data < (demo / "data" / "lenders.csv").stat().st_size


def test_lenders_data_js_escapes_hostile_names():
    import pandas as pd

    frame = pd.DataFrame(
        {
            "lender": [H.CLOSE_SCRIPT, H.COMMENT],
            "lender_slug": ["a", "b"],
            "in_peer_group": [True, False],
            "complaints": [3, 2],
            "rank": [1, 2],
            "narratives": [1, 0],
            "first_date": pd.to_datetime(["2024-01-01", "2024-02-01"]),
            "last_date": pd.to_datetime(["2024-03-01", "2024-04-01"]),
        }
    )
    text = lenders_data_js(frame).decode()
    assert "<" not in text and ">" not in text
    rows = json.loads(text[len("window.collectwatchLenders=") : -2])["rows"]
    assert rows[0][:3] == [H.CLOSE_SCRIPT, "a", 3] and rows[1][1] is None


# ── hostile names ───────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def hostile(built_site, tmp_path_factory, config) -> Path:
    corpus = H.write_corpus(
        tmp_path_factory.mktemp("hostile-lenders") / "complaints.csv",
        min_rows=int(config.site["min_lender_complaints"]),
    )
    return built_site("--input", corpus.path, "--no-cache")


def test_hostile_names_on_letter_pages_are_text(hostile):
    from .test_hostile import injection_problems

    shown = Counter()
    for prefix in ("", "zh/"):
        pages = letter_pages(hostile, prefix)
        for page in pages:
            html = page.read_text(encoding="utf-8")
            assert not injection_problems(html), (page, injection_problems(html)[:3])
            for row in soup(page).select("#lenders-table tbody tr"):
                shown[prefix, row.find("td").get_text()] += 1
        links, _ = listed(pages)
        assert set(links.values()) == {1}
    for name in (H.SCRIPT, H.CLOSE_SCRIPT, H.IMG, H.SVG, H.IFRAME, H.ATTR_BREAK, H.MD_LINK):
        assert shown["", name] == 1 and shown["zh/", name] == 1, name


# ── in the browser ──────────────────────────────────────────────────────────────────────


READY = "document.getElementById('lenders-index').getAttribute('data-ready') === '1'"
CELLS = """(col) => Array.from(document.querySelectorAll('#lenders-table tbody tr'))
  .map(r => r.cells[col].textContent)"""


async def ready_page(chromium, url: str, **options):
    context = await bu.new_context(chromium.browser, viewport=bu.NARROW, **options)
    page = await context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(url, wait_until="load")
    await page.locator("#lender-filter").focus()  # reaching for the list loads it
    await page.wait_for_function(READY, polling=bu.POLL_MS)
    return context, page, errors


def number(text: str) -> float:
    return float("inf") if text == "–" else float(text.rstrip("%").replace(",", ""))


@pytest.mark.browser
def test_only_one_page_of_rows_and_paging_through_all(demo, chromium):
    total = len(published_lenders(demo))

    async def run():
        with bu.Served(demo) as served:
            context, page, errors = await ready_page(chromium, served.url + "lenders/")
            try:
                seen, counts, statuses = [], [], []
                while True:
                    counts.append(await page.locator("#lenders-table tbody tr").count())
                    seen += await page.evaluate(CELLS, 0)
                    statuses.append(await page.locator("#lenders-status").inner_text())
                    nxt = page.locator(".pager button[data-step='1']")
                    if await nxt.is_disabled():
                        break
                    await nxt.click()
                prev_disabled = await page.locator(".pager [data-step='-1']").is_disabled()
                heading = await page.locator("#lenders-heading").inner_text()
                return seen, counts, statuses, prev_disabled, heading, errors
            finally:
                await context.close()

    seen, counts, statuses, prev_disabled, heading, errors = chromium.run(run())
    assert not errors
    assert counts[:-1] == [ROWS] * (len(counts) - 1) and 0 < counts[-1] <= ROWS
    assert sorted(seen) == sorted(r["lender"] for r in published_lenders(demo))
    assert statuses[0] == f"{total} lenders. Showing 1–{ROWS}."
    assert statuses[-1] == f"{total} lenders. Showing {ROWS * (len(counts) - 1) + 1}–{total}."
    assert not prev_disabled and heading == f"All {total} lenders"


@pytest.mark.browser
@pytest.mark.parametrize("how", ["scrolled", "all-button", "tap", "filter-link"])
def test_the_list_loads_only_when_a_reader_reaches_for_it(demo, chromium, how):
    """Opened and read down, the index costs its top rows and nothing more: the list of
    every company is fetched once, by the "all lenders" button, a tap on the list, or a
    link with ?filter=."""
    total = len(published_lenders(demo))

    async def run():
        with bu.Served(demo) as served:
            touch = {"has_touch": True, "is_mobile": True} if how == "tap" else {}
            context = await bu.new_context(chromium.browser, viewport=bu.NARROW, **touch)
            page = await context.new_page()
            asked = []
            page.on("request", lambda r: asked.append(r.url) if "lenders-data" in r.url else 0)
            query = "?filter=a" if how == "filter-link" else ""
            try:
                await page.goto(served.url + "lenders/" + query, wait_until="networkidle")
                await page.evaluate("window.scrollTo(0, document.scrollingElement.scrollHeight)")
                await page.wait_for_load_state("networkidle")
                before = len(asked)
                rows = await page.locator("#lenders-table tbody tr").count()
                if how == "all-button":
                    await page.locator(".lenders-all").click()
                elif how == "tap":
                    await page.locator("#lenders-table tbody tr td.num").first.tap()
                if how != "scrolled":
                    await page.wait_for_function(READY, polling=bu.POLL_MS)
                    await page.locator("#lender-filter").focus()  # once loaded, loaded once
                    await page.wait_for_load_state("networkidle")
                return before, rows, len(asked), await page.locator(".pager").is_visible()
            finally:
                await context.close()

    before, rows, after, pager = chromium.run(run())
    if how == "filter-link":
        assert before == after == 1
        return
    assert before == 0 and rows == ROWS
    if how == "scrolled":
        assert after == 0 and not pager
    else:
        assert after == 1 and pager and total > ROWS


@pytest.mark.browser
def test_filter_and_sort_the_whole_list(demo, chromium):
    lenders = published_lenders(demo)
    by_rank = sorted(lenders, key=lambda r: (int(r["rank"]), r["lender"]))
    last = by_rank[-1]["lender"]  # not on the first page
    word = max(re.findall(r"\w{4,}", last), key=len)
    matching = [r["lender"] for r in lenders if word.lower() in r["lender"].lower()]
    fewest = min(int(r["complaints"]) for r in lenders)

    async def run():
        with bu.Served(demo) as served:
            context, page, errors = await ready_page(chromium, served.url + "lenders/")
            try:
                out = {"first_page": await page.evaluate(CELLS, 0)}
                box = page.locator("#lender-filter")
                await box.fill(word)
                out["filtered"] = await page.evaluate(CELLS, 0)
                out["status"] = await page.locator("#lenders-status").inner_text()
                out["live"] = await page.locator("#lenders-status").get_attribute("aria-live")
                await box.fill("zzzz-no-such-lender")
                out["none"] = await page.locator("#lenders-status").inner_text()
                out["none_rows"] = await page.locator("#lenders-table tbody tr").count()
                await box.fill("")
                # Sort by complaints with the keyboard: the smallest of the whole list first.
                head = page.locator("th[data-key='complaints']")
                await head.locator("button").focus()
                await page.keyboard.press("Enter")
                out["down"] = await page.evaluate(CELLS, 1)
                out["down_sort"] = await head.get_attribute("aria-sort")
                await page.keyboard.press("Enter")
                out["up"] = await page.evaluate(CELLS, 1)
                out["up_sort"] = await head.get_attribute("aria-sort")
                out["rank_sort"] = await page.locator("th[data-key='rank']").get_attribute(
                    "aria-sort"
                )
                await page.locator("th[data-key='name'] button").click()
                out["names"] = await page.evaluate(CELLS, 0)
                out["rows"] = await page.locator("#lenders-table tbody tr").count()
                return out, errors
            finally:
                await context.close()

    out, errors = chromium.run(run())
    assert not errors
    assert last not in out["first_page"]
    assert sorted(out["filtered"]) == sorted(matching) and last in out["filtered"]
    assert out["status"] == f"{len(matching)} lenders match. Showing 1–{len(matching)}."
    assert out["live"] == "polite"
    assert out["none"] == "No lender matches." and out["none_rows"] == 0
    down = [number(v) for v in out["down"]]
    assert down == sorted(down, reverse=True) and out["down_sort"] == "descending"
    up = [number(v) for v in out["up"]]
    assert up == sorted(up) and up[0] == fewest and out["up_sort"] == "ascending"
    assert out["rank_sort"] is None
    assert len(out["names"]) == out["rows"] == ROWS
    first = sorted((r["lender"] for r in lenders), key=lambda n: n.casefold())[:1]
    assert out["names"][:1] == first


@pytest.mark.browser
def test_without_javascript_every_lender_is_reachable_by_letter(demo, chromium):
    with_pages = {r["lender_slug"] for r in published_lenders(demo) if r["in_peer_group"] == "True"}

    async def run():
        with bu.Served(demo) as served:
            context = await bu.new_context(chromium.browser, java_script_enabled=False)
            page = await context.new_page()
            try:
                await page.goto(served.url + "lenders/")
                filter_shown = await page.locator("#lender-filter").is_visible()
                filter_shown |= await page.locator(".pager").is_visible()  # no dead buttons
                letters = await page.eval_on_selector_all(
                    "nav.letters a", "as => as.map(a => a.href)"
                )
                reached = set()
                for url in letters:
                    await page.goto(url)
                    hrefs = await page.eval_on_selector_all(
                        "#lenders-table tbody a", "as => as.map(a => a.href)"
                    )
                    reached |= {h.rstrip("/").split("/")[-1] for h in hrefs}
                # and a lender page is really there
                await page.goto(served.url + f"lenders/{sorted(reached)[0]}/")
                title = await page.locator("h1").inner_text()
                return filter_shown, reached, title, served.errors
            finally:
                await context.close()

    filter_shown, reached, title, errors = chromium.run(run())
    assert not filter_shown
    assert reached == with_pages
    assert title and not errors


@pytest.mark.browser
def test_the_index_works_from_file(demo, chromium):
    async def run():
        context, page, errors = await ready_page(
            chromium, (demo / "lenders" / "index.html").as_uri()
        )
        try:
            await page.locator("#lender-filter").fill(published_lenders(demo)[-1]["lender"])
            return await page.evaluate(CELLS, 0), errors
        finally:
            await context.close()

    names, errors = chromium.run(run())
    assert names == [published_lenders(demo)[-1]["lender"]] and not errors


@pytest.mark.browser
def test_hostile_names_stay_text_in_the_script_list(hostile, chromium):
    names = [H.SCRIPT, H.CLOSE_SCRIPT, H.IMG, H.SVG, H.IFRAME, H.ATTR_BREAK, H.COMMENT]

    async def run():
        with bu.Served(hostile) as served:
            context, page, errors = await ready_page(chromium, served.url + "lenders/")
            try:
                shown = {}
                for name in names:
                    await page.locator("#lender-filter").fill(name)
                    shown[name] = await page.evaluate(CELLS, 0)
                pwned = await page.evaluate("String(typeof window.__pwned)")
                dialogs = await page.evaluate("document.querySelectorAll('img, iframe').length")
                return shown, pwned, dialogs, errors
            finally:
                await context.close()

    shown, pwned, elements, errors = chromium.run(run())
    assert pwned == "undefined" and elements == 0 and not errors
    for name, cells in shown.items():
        assert name in cells, (name, cells)
