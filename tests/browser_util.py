"""Helpers for the browser tests: find Chromium, build and serve sites, drive pages.

Playwright's async API runs on one event loop in a background thread (:class:`Chromium`),
so a test can visit several pages at once in one browser and still be plain, synchronous
pytest code: ``chromium.run(coroutine)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.server
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from collectwatch import charts, paths

SOURCE_DATE_EPOCH = "1790000000"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# Pages open at once: rendering charts is CPU-bound, so about one per core (plus one that
# waits on the network).
TABS = min(6, (os.cpu_count() or 2) + 1)
POLL_MS = 50  # checking every animation frame makes the page render more, for nothing
# Waits for the browser (navigation, charts, a selector): long enough that a loaded machine
# never reaches them; a broken page still fails, just later. None of them is under test.
TIMEOUT_MS = 120_000
CHART_TIMEOUT = 60.0  # seconds for a page's charts to draw once a reader reaches for them
# A whole visit (load, scroll, charts, state) that takes longer is recorded as an error
# instead of holding up the crawl: a script that never returns (a page's own, or ours).
VISIT_TIMEOUT = 600.0
NARROW = {"width": 360, "height": 740}
WIDE = {"width": 1280, "height": 900}
ARTIFACTS = paths.ROOT / "test-artifacts"
NO_CHROMIUM = (
    "NO CHROMIUM FOUND — browser tests SKIPPED. Install Debian's `chromium` package "
    "(.ci/run does) or point $CHROMIUM_PATH at a Chromium binary."
)

# What a page shows once settled: every chart container (drawn by plotly.js, its static
# SVG gone, or not), the page's width, and whether a payload ran.
STATE_JS = """() => ({
  plots: Array.from(document.querySelectorAll('.plot[data-figure]')).map(p => ({
    id: p.getAttribute('data-figure'),
    rendered: p.getAttribute('data-rendered') === '1'
      && p.classList.contains('js-plotly-plot') && !!p.querySelector('svg.main-svg')
      && !p.querySelector('svg.cw-chart'),
    failed: p.closest('.chart') ? p.closest('.chart').classList.contains('show-table') : false,
  })),
  scrollWidth: document.scrollingElement.scrollWidth,
  pwned: String(typeof window.__pwned),
})"""

# Reach for each chart in turn, as a reader with a mouse does: scroll it into view and
# point at it (a chart is its static SVG until then; plotly.js draws it on that intent).
# A chart with several resolutions is drawn at each: its switch picks one, then the pointer.
PICK_VIEW_JS = """(p) => {
  const pick = p.closest('.chart')
    && p.closest('.chart').querySelector('.resolution input[value="' + p.dataset.view + '"]');
  if (pick && !pick.checked) pick.click();
}"""
USE_CHARTS_JS = """async () => {
  const frame = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const plots = Array.from(document.querySelectorAll('.plot[data-figure]'));
  for (const p of plots) {
    (PICK_VIEW)(p);
    p.scrollIntoView({block: 'center'});
    p.dispatchEvent(new PointerEvent('pointerenter', {pointerType: 'mouse'}));
    await frame();
  }
  window.scrollTo(0, document.scrollingElement.scrollHeight);
  await frame();
  window.scrollTo(0, 0);
  return plots.length;
}""".replace("PICK_VIEW", PICK_VIEW_JS)

# Each chart as the page first shows it: its static SVG (size, marks) or plotly.js's chart.
CHARTS_STATE_JS = """() => Array.from(document.querySelectorAll('.plot[data-figure]')).map(p => {
  const svg = p.querySelector('svg.cw-chart');
  const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  return {
    id: p.closest('.chart').id,
    view: p.dataset.view,
    shown: p.getClientRects().length > 0,
    svg: !!svg && getComputedStyle(svg).display !== 'none',
    width: box.width, height: box.height,
    marks: svg ? svg.querySelectorAll('.m').length : 0,
    empty: svg ? svg.getAttribute('data-kind') === 'empty' : false,
    plotly: p.classList.contains('js-plotly-plot') || !!p.getAttribute('data-rendered'),
  };
})"""

SETTLED_JS = """() => Array.from(document.querySelectorAll('.plot[data-figure]')).every(p =>
  p.getAttribute('data-rendered') === '1'
  || (p.closest('.chart') && p.closest('.chart').classList.contains('show-table')))"""


# ── Chromium ────────────────────────────────────────────────────────────────────────────


def find_chromium() -> str | None:
    """$CHROMIUM_PATH if set (and present), else a Chromium on the PATH, else None."""
    env = os.environ.get("CHROMIUM_PATH")
    if env:
        return env if Path(env).is_file() else shutil.which(env)
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Chromium:
    """One headless Chromium, driven by Playwright's async API on a background loop."""

    def __init__(self, executable: str) -> None:
        from playwright.async_api import async_playwright

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

        async def start():
            pw = await async_playwright().start()
            browser = await pw.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS, headless=True
            )
            return pw, browser

        self.playwright, self.browser = self.run(start(), timeout=600)
        # Every context this browser opens (any test's) waits up to TIMEOUT_MS, not
        # Playwright's 30 s: a default that a loaded machine can reach.
        opener = self.browser.new_context

        async def new_context_with_timeouts(**options):
            context = await opener(**options)
            context.set_default_timeout(TIMEOUT_MS)
            context.set_default_navigation_timeout(TIMEOUT_MS)
            return context

        self.browser.new_context = new_context_with_timeouts

    def run(self, coro, timeout: float = 3 * 3600):
        """Run ``coro`` on the browser's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        async def stop():
            await self.browser.close()
            await self.playwright.stop()

        try:
            self.run(stop(), timeout=60)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)


# ── building and serving sites ──────────────────────────────────────────────────────────


def start_build(out: Path, *args: str | Path) -> subprocess.Popen:
    """Start ``python build.py ARGS --out OUT --quiet`` (reproducible build time)."""
    return subprocess.Popen(
        [sys.executable, str(paths.ROOT / "build.py"), *map(str, args), "--out", str(out)]
        + ["--quiet"],
        cwd=paths.ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH},
    )


def finish_build(proc: subprocess.Popen, out: Path, timeout: float = 600) -> Path:
    """Wait for a build started by :func:`start_build`; fail loudly if it failed."""
    stdout, stderr = proc.communicate(timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(
            f"build of {out} exited {proc.returncode}:\n{stderr[-3000:]}\n{stdout[-1000:]}"
        )
    return out


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def end_headers(self):
        # As GitHub Pages does: let the browser reuse assets for a while.
        self.send_header("Cache-Control", "max-age=600")
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass

    def log_request(self, code="-", size="-"):
        # Every error response, whoever asked (the browser's own favicon.ico request too).
        if str(code).isdigit() and int(code) >= 400:
            self.server.errors.append(f"{int(code)} {self.path}")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    errors: list[str]

    def handle_error(self, request, client_address):
        # A browser that cancels a request (navigation) resets the connection: not a failure.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Served:
    """A folder served over HTTP on 127.0.0.1 (a free port) from a background thread."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        handler = functools.partial(_Quiet, directory=str(self.folder))
        self.server = _Server(("127.0.0.1", 0), handler)
        self.server.errors = []
        host, port = self.server.server_address[:2]
        self.origin = f"http://{host}:{port}"
        self.url = self.origin + "/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def errors(self) -> list[str]:
        """Requests answered with an error status ("404 /path")."""
        return list(self.server.errors)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def page_file(path: str) -> str:
    """A URL path of :func:`html_pages` → its file, relative to the site root."""
    path = path.split("?")[0]
    return path + "index.html" if path == "" or path.endswith("/") else path


EMBED = "embed/?chart="  # the embed page showing one chart


def html_pages(folder: Path) -> list[str]:
    """Every HTML page of a built site, as URL paths relative to its root ("lenders/x/"),
    with the embed page once as is and once for each chart in its language
    ("embed/?chart=<id>")."""
    pages = []
    for file in sorted(Path(folder).rglob("*.html")):
        rel = file.relative_to(folder).as_posix()
        if rel == "index.html":
            pages.append("")
        elif rel.endswith("/index.html"):
            pages.append(rel[: -len("index.html")])
        else:
            pages.append(rel)
    for file in sorted((Path(folder) / "data" / "charts").glob("*.js")):
        for lang in chart_data(folder, file.stem)["text"]:
            pages.append(("zh/" if lang == "zh" else "") + EMBED + file.stem)
    return pages


# ── chart data files ────────────────────────────────────────────────────────────────────

CHART_SCRIPT = re.compile(
    re.escape("(window.collectwatchCharts=window.collectwatchCharts||{})")
    + r'\[("[^"]*")\]=(.*);\n\Z',
    re.S,
)


def chart_data(folder: Path, chart_id: str) -> dict:
    """What a chart's data file (data/charts/<id>.js) files under its id."""
    text = (Path(folder) / "data" / "charts" / f"{chart_id}.js").read_text("utf-8")
    match = CHART_SCRIPT.match(text)
    assert match, f"data/charts/{chart_id}.js is not a chart data file"
    assert json.loads(match.group(1)) == chart_id, f"data/charts/{chart_id}.js files another id"
    return json.loads(match.group(2))


def chart_figure(folder: Path, chart_id: str, lang: str) -> dict:
    """A chart's figure in ``lang``, put together from its data file as site.js does."""
    data = chart_data(folder, chart_id)
    return charts.overlay(data["figure"], data["text"][lang]["patch"])


PLOT = re.compile(r'<div class="plot"[^>]* data-figure="([^"]+)"')


def page_charts(folder: Path, path: str) -> list[str]:
    """The ids of the charts a page (a URL path of :func:`html_pages`) draws."""
    if EMBED in path:
        return [path.split(EMBED)[1]]
    return PLOT.findall((Path(folder) / page_file(path)).read_text("utf-8"))


# ── which pages to visit ────────────────────────────────────────────────────────────────


def language(path: str) -> str:
    return "zh" if path == "zh/" or path.startswith("zh/") else "en"


def template_key(path: str) -> str:
    """The kind of page a URL path is, by where it lives: "en lenders/*" for every English
    lender page, "zh lenders" for the Chinese lenders index, "en 404.html", "en " for the
    home page, "en embed/*" for the embed page showing a chart. One template makes each
    kind."""
    lang = language(path)
    rest = path[3:] if lang == "zh" else path
    parts = [p for p in rest.split("/") if p]
    if not parts:
        return f"{lang} "
    return f"{lang} {parts[0]}" + ("/*" * (len(parts) - 1))


def chart_kinds(folder: Path, path: str) -> set[str]:
    """The kinds of chart on a page: the chart id's first and last words (``lender-…-trend``)
    and its Plotly trace types (none for a chart with too little data to draw)."""
    kinds = set()
    lang = language(path)
    for fid in page_charts(folder, path):
        words = fid.split("-")
        traces = chart_figure(folder, fid, lang).get("data") or []
        types = "+".join(sorted({str(t.get("type", "scatter")) for t in traces})) or "empty"
        kinds.add(f"{lang} {words[0]}…{words[-1]} [{types}]")
    return kinds


@dataclass
class Sample:
    """The pages a crawl visits, and why."""

    pages: list[str]
    templates: dict[str, str]  # template key → the page that covers it
    charts: dict[str, str]  # chart kind → the page that covers it
    random: list[str]
    seed: int

    def describe(self) -> str:
        return (
            f"{len(self.pages)} pages: {len(self.templates)} templates, {len(self.charts)} "
            f"chart kinds, {len(self.random)} more at random (seed {self.seed})"
        )


def sample_pages(folder: Path, pages: list[str], *, extra: int, seed: int) -> Sample:
    """Every template (in each language) and every chart kind at least once, plus ``extra``
    other pages drawn with ``seed``: the same pages for the same site and seed."""
    rng = random.Random(seed)
    kinds = {p: chart_kinds(folder, p) for p in pages}
    chosen: dict[str, None] = {}  # ordered set
    templates: dict[str, str] = {}
    by_template: dict[str, list[str]] = {}
    for p in pages:
        by_template.setdefault(template_key(p), []).append(p)
    for key, members in sorted(by_template.items()):
        templates[key] = pick = rng.choice(members)
        chosen[pick] = None
    charts: dict[str, str] = {}
    for p in chosen:
        for kind in sorted(kinds[p]):
            charts.setdefault(kind, p)
    every_kind = sorted(set().union(*kinds.values())) if kinds else []
    for kind in every_kind:
        if kind not in charts:
            charts[kind] = pick = rng.choice([p for p in pages if kind in kinds[p]])
            chosen[pick] = None
            for k in kinds[pick]:
                charts.setdefault(k, pick)
    rest = [p for p in pages if p not in chosen]
    more = rng.sample(rest, min(extra, len(rest)))
    chosen.update(dict.fromkeys(more))
    return Sample(sorted(chosen), templates, charts, sorted(more), seed)


# ── visiting pages ──────────────────────────────────────────────────────────────────────


async def new_context(browser, **options):
    """A browser context whose waits all have :data:`TIMEOUT_MS`."""
    context = await browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    return context


@dataclass
class Visit:
    """What one page did in the browser."""

    url: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    plots: list[dict] = field(default_factory=list)
    scroll_width: int = 0
    pwned: str = "undefined"
    error: str | None = None

    @property
    def unrendered(self) -> list[str]:
        return [
            p["id"] + (" (fell back to table)" if p["failed"] else "")
            for p in self.plots
            if not p["rendered"]
        ]


class Tab:
    """A browser page reused for many visits; records what each visit does."""

    def __init__(self, page) -> None:
        self.page = page
        self.current = Visit("")
        self.inflight: set = set()
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.current.console_errors.append(f"uncaught: {exc}"))
        page.on("request", self._request)
        page.on("requestfinished", self._finished)
        page.on("requestfailed", self._failed)
        page.on("response", self._response)
        page.on("dialog", self._dialog)

    @classmethod
    async def open(cls, context) -> Tab:
        return cls(await context.new_page())

    def _console(self, msg) -> None:
        if msg.type == "error":
            where = msg.location.get("url", "") if msg.location else ""
            self.current.console_errors.append(f"{msg.text} [{where}]")

    def _request(self, request) -> None:
        self.inflight.add(request)
        self.current.requests.append(request.url)

    def _finished(self, request) -> None:
        self.inflight.discard(request)

    def _failed(self, request) -> None:
        self.inflight.discard(request)
        self.current.failed_requests.append(f"{request.url}: {request.failure}")

    def _response(self, response) -> None:
        if response.status >= 400:
            self.current.failed_requests.append(f"{response.url}: HTTP {response.status}")

    def _dialog(self, dialog) -> None:
        self.current.dialogs.append(f"{dialog.type}: {dialog.message}")
        asyncio.ensure_future(dialog.dismiss())

    async def settle(self, timeout: float = 60.0) -> None:
        """Wait until no request of this page is in flight (or ``timeout`` passes), so that
        a late answer (or its cancellation) is not put down to the next page."""
        end = time.monotonic() + timeout
        while self.inflight and time.monotonic() < end:
            await asyncio.sleep(0.05)

    async def visit(self, url: str, *, chart_timeout: float = CHART_TIMEOUT) -> Visit:
        """Load ``url``, draw every chart by pointing at it, and record what happened."""
        await self.settle()
        self.inflight.clear()
        self.current = visit = Visit(url)
        try:
            await asyncio.wait_for(self._visit(visit, chart_timeout), VISIT_TIMEOUT)
        except TimeoutError:
            visit.error = f"the visit took over {VISIT_TIMEOUT:.0f} s"
            with contextlib.suppress(Exception):
                await self.page.goto("about:blank", timeout=TIMEOUT_MS)
        return visit

    async def _visit(self, visit: Visit, chart_timeout: float) -> None:
        from playwright.async_api import Error as PlaywrightError

        url, page = visit.url, self.page
        try:
            await page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
            if EMBED in url:  # the embed page puts its chart in from the chart's data file
                await page.wait_for_selector(
                    ".plot[data-figure]", state="attached", timeout=chart_timeout * 1000
                )
            await page.evaluate(USE_CHARTS_JS)
            with contextlib.suppress(PlaywrightError):  # reported below as unrendered charts
                await page.wait_for_function(
                    SETTLED_JS, timeout=chart_timeout * 1000, polling=POLL_MS
                )
            state = await page.evaluate(STATE_JS)
            visit.plots, visit.scroll_width = state["plots"], state["scrollWidth"]
            visit.pwned = state["pwned"]
            await self.settle()
        except PlaywrightError as exc:
            visit.error = str(exc).splitlines()[0]


async def crawl(
    browser, base_url: str, pages: Iterable[str], *, tabs: int = TABS, viewport=NARROW
) -> list[Visit]:
    """Visit every page (URL paths under ``base_url``) with ``tabs`` pages at once."""
    context = await new_context(browser, viewport=viewport)
    queue: asyncio.Queue[str] = asyncio.Queue()
    for path in pages:
        queue.put_nowait(path)
    visits: list[Visit] = []

    async def worker() -> None:
        tab = await Tab.open(context)
        while not queue.empty():
            path = queue.get_nowait()
            visits.append(await tab.visit(base_url + path))
        await tab.settle()
        await tab.page.close()

    try:
        await asyncio.gather(*(worker() for _ in range(tabs)))
    finally:
        await context.close()
    return sorted(visits, key=lambda v: v.url)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:"


def foreign_requests(visit: Visit, own_origin: str) -> list[str]:
    """Requests of ``visit`` that went anywhere but ``own_origin`` (data: URLs are inline)."""
    return [u for u in visit.requests if origin(u) != own_origin and not u.startswith("data:")]


def summarise(problems: dict[str, list[str]], what: str, limit: int = 15) -> str:
    """An assertion message: how many pages had ``what``, and the first few with details."""
    lines = [f"{len(problems)} page(s) with {what}:"]
    for url, items in list(problems.items())[:limit]:
        shown = "; ".join(str(i)[:300] for i in items[:5])
        more = f" (+{len(items) - 5} more)" if len(items) > 5 else ""
        lines.append(f"  {url}: {shown}{more}")
    if len(problems) > limit:
        lines.append(f"  … and {len(problems) - limit} more page(s)")
    return "\n".join(lines)
