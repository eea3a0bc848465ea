"""Page weight and Lighthouse scores of built sites, as a phone on a slow network sees them.

    python benchmarks/audit.py                          # builds the demo (and the real samples)
    python benchmarks/audit.py --site demo=site --site real=out/real

For each site, six kinds of page (overview, the lenders index, a lender, a behaviour, an
article, a case study), in English and Chinese, are served from 127.0.0.1 by a small server
that gzips text as GitHub Pages does, and audited by Lighthouse (mobile form factor,
simulated throttling) from ``tools/audit/node_modules`` (``make audit`` runs ``npm ci`` there
first). Lighthouse does not touch the page, so its bytes are what a first view costs: every
chart is a static SVG until a reader reaches for it, and only then is the chart library
fetched. The script therefore also counts, from the files themselves, what
each page costs with every chart drawn: its HTML, stylesheet, scripts, and the chart library
and map outline when it has charts, all gzipped (``first visit``), and what is left to fetch
after the overview in the same language is in the browser's cache (``after overview``).

Results replace the section between the audit markers in ``docs/benchmarks.md`` (added at
the end when missing); the rest of the file is left alone. Needs Node, npm and Chromium
(``$CHROME_PATH``, default ``/usr/bin/chromium``); nothing here is part of ``make test``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import gzip
import http.server
import json
import mimetypes
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import sections  # benchmarks/, this script's folder

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "audit"
DOC = ROOT / "docs" / "benchmarks.md"
REAL_INPUTS = ROOT.parent / "shared" / "data" / "real" / "cfpb"
START, END = sections.markers("audit")

KINDS = ("overview", "lenders index", "lender", "behaviour", "article", "case study")
# Where each kind's pages are listed; the first one listed is audited.
INDEXES = {
    "lender": "lenders/",
    "behaviour": "behaviours/",
    "article": "articles/",
    "case study": "case-studies/",
}
LANG_PREFIX = {"en": "", "zh": "zh/"}
GZIP_TYPES = ("text/", "application/javascript", "application/json", "image/svg+xml")
GZIP_LEVEL = 6  # what common static hosts use
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage"
LIGHTHOUSE_TIMEOUT = 300  # seconds for one page; the machine may be shared


class UsageError(Exception):
    """Bad arguments or a missing tool: one line for the user, exit code 2."""


# ── serving a site the way a static host does ───────────────────────────────────────────


@functools.lru_cache(maxsize=4096)
def _gzipped(path: Path, mtime_ns: int) -> bytes:
    return gzip.compress(path.read_bytes(), compresslevel=GZIP_LEVEL, mtime=0)


def gzip_size(path: Path) -> int:
    """Bytes of ``path`` on the wire: gzipped if its type is text-like, else as is."""
    if compressible(path):
        return len(_gzipped(path, path.stat().st_mtime_ns))
    return path.stat().st_size


def compressible(path: Path) -> bool:
    kind = mimetypes.guess_type(path.name)[0] or ""
    return kind.startswith(GZIP_TYPES)


class _Handler(http.server.BaseHTTPRequestHandler):
    """GET files under ``self.server.folder``: folders serve index.html, text is gzipped."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 (the base class's naming)
        folder: Path = self.server.folder
        rel = unquote(urlsplit(self.path).path).lstrip("/")
        target = (folder / rel).resolve()
        if not target.is_relative_to(folder):
            return self._send(404, b"not found", "text/plain")
        if target.is_dir():
            if rel and not rel.endswith("/"):
                self.send_response(301)
                self.send_header("Location", "/" + rel + "/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            target = target / "index.html"
        if not target.is_file():
            return self._send(404, b"not found", "text/plain")
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if compressible(target) and "gzip" in self.headers.get("Accept-Encoding", ""):
            return self._send(200, _gzipped(target, target.stat().st_mtime_ns), kind, "gzip")
        return self._send(200, target.read_bytes(), kind)

    def _send(self, status: int, body: bytes, kind: str, encoding: str | None = None):
        self.send_response(status)
        self.send_header("Content-Type", kind + ("; charset=utf-8" if "text" in kind else ""))
        if encoding:
            self.send_header("Content-Encoding", encoding)
            self.send_header("Vary", "Accept-Encoding")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=600")  # as GitHub Pages sends
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


class Server:
    """``folder`` served on 127.0.0.1 at a free port from a background thread."""

    def __init__(self, folder: Path) -> None:
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.folder = Path(folder).resolve()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ── which pages, and what each one loads ────────────────────────────────────────────────


def pick_pages(site: Path, prefix: str) -> dict[str, str]:
    """kind → the page audited in one language (a path relative to the site root).

    ``prefix`` is the language's folder ("" or "zh/"); each kind's first listed page is
    taken. A kind with no page in that language (articles are written in English only) is
    left out.
    """
    pages = {"overview": prefix}
    if (site / prefix / "lenders" / "index.html").is_file():
        pages["lenders index"] = prefix + "lenders/"
    for kind, index in INDEXES.items():
        listing = site / prefix / index / "index.html"
        if not listing.is_file():
            continue
        first = re.search(r'href="([a-z0-9_-]+/)"', listing.read_text(encoding="utf-8"))
        if first:
            pages[kind] = prefix + index + first.group(1)
    return pages


def resources(site: Path, page: str) -> set[str]:
    """Site paths a reader's browser fetches for ``page`` once every chart on it is drawn.

    The HTML, its stylesheets, scripts and images; for a page with charts also the chart
    library (named in ``data-plotly``) and, for a map, the US outline (``data-geo``).
    """
    html = (site / page / "index.html").read_text(encoding="utf-8")
    base = "http://site.test/" + page
    refs = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    refs += re.findall(r'<(?:script|img)\b[^>]*\bsrc="([^"]+)"', html)
    refs += re.findall(r'\bdata-src="([^"]+)"', html)  # a script's data (the lenders index)
    if 'data-figure="' in html:
        refs += re.findall(r'data-plotly="([^"]+)"', html)
        if '"type":"choropleth"' in html.replace(" ", ""):
            refs += [u + "usa_110m.json" for u in re.findall(r'data-geo="([^"]+)"', html)]
    paths = {page + "index.html"}
    for ref in refs:
        url = urljoin(base, ref)
        if url.startswith("http://site.test/"):  # data: URIs and other origins cost nothing here
            paths.add(unquote(urlsplit(url).path).lstrip("/"))
    return paths


def weigh(site: Path, files: set[str]) -> int:
    return sum(gzip_size(site / f) for f in files)


# ── Lighthouse ──────────────────────────────────────────────────────────────────────────


def lighthouse(url: str, report: Path, chrome: str, reuse: bool = False) -> dict:
    """Run Lighthouse on ``url`` (mobile), keep its JSON at ``report``, return the figures.

    With ``reuse``, a report already at ``report`` is read instead (to finish a run that
    stopped part way); the load then is the one recorded with it.
    """
    saved = report.with_suffix(".summary")
    if reuse and saved.is_file():
        return json.loads(saved.read_text(encoding="utf-8"))
    if reuse and report.is_file():  # the load was not recorded
        return {**summarise(json.loads(report.read_text(encoding="utf-8"))), "load": None}
    cmd = [
        "npx", "--no-install", "lighthouse", url,
        "--output=json", f"--output-path={report}",
        "--form-factor=mobile", "--only-categories=performance,accessibility",
        f"--chrome-flags={CHROME_FLAGS}", "--quiet", "--max-wait-for-load=60000",
    ]  # fmt: skip
    env = {**os.environ, "CHROME_PATH": chrome}
    load = os.getloadavg()[0]
    done = subprocess.run(
        cmd, cwd=TOOL, env=env, capture_output=True, text=True, timeout=LIGHTHOUSE_TIMEOUT
    )
    if done.returncode != 0 or not report.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"lighthouse failed on {url}: {' | '.join(tail)}")
    figures = {**summarise(json.loads(report.read_text(encoding="utf-8"))), "load": load}
    saved.write_text(json.dumps(figures), encoding="utf-8")
    return figures


def summarise(lhr: dict) -> dict:
    """A Lighthouse result (its JSON) → the few figures the report shows."""
    audits, cats = lhr["audits"], lhr["categories"]
    requests = audits["network-requests"]["details"]["items"]

    def score(cat: str):
        value = cats[cat]["score"]
        return None if value is None else round(100 * value)

    return {
        "performance": score("performance"),
        "accessibility": score("accessibility"),
        "tbt_ms": audits["total-blocking-time"]["numericValue"],
        "lcp_ms": audits["largest-contentful-paint"]["numericValue"],
        "lh_bytes": sum(r.get("transferSize") or 0 for r in requests),
        "requests": len(requests),
        "chart_lib": any("/assets/plotly-" in r["url"] for r in requests),
        "runtime_error": (lhr.get("runtimeError") or {}).get("message"),
        "lighthouse": lhr.get("lighthouseVersion"),
    }


# ── one site ────────────────────────────────────────────────────────────────────────────


def first_chart(site: Path, page: str) -> str | None:
    """The id of the page's first chart, to open the page scrolled to it; None without one."""
    html = (site / page / "index.html").read_text(encoding="utf-8")
    found = re.search(r'<figure class="chart" id="([^"]+)"', html)
    return found.group(1) if found else None


@dataclass
class Row:
    kind: str
    lang: str
    page: str
    first_visit: int
    after_overview: int | None
    lh: dict
    lh_chart: dict | None  # the page opened at its first chart (#id), which draws it


def audit_sites(
    sites: list[tuple[str, Path]], reports: Path, chrome: str, reuse: bool = False
) -> dict:
    """label → one :class:`Row` per audited page of that site.

    The sites take turns page by page (every site's overview, then every site's lender
    page, …), so that a change in the machine's load between the start and the end of a
    long run weighs on all of them alike rather than on whichever came last.
    """
    servers = {label: Server(folder) for label, folder in sites}
    picked = {
        (label, prefix): pick_pages(folder, prefix)
        for label, folder in sites
        for prefix in LANG_PREFIX.values()
    }
    rows: dict[str, list[Row]] = {label: [] for label, _ in sites}
    try:
        for lang, prefix in LANG_PREFIX.items():
            for kind in KINDS:
                for label, site in sites:
                    page = picked[label, prefix].get(kind)
                    if page is None:
                        continue
                    mine, overview = resources(site, page), resources(site, prefix)
                    url = servers[label].url + page
                    name = reports / re.sub(r"\W+", "-", label).strip("-")
                    name.mkdir(parents=True, exist_ok=True)
                    name = name / f"{lang}-{kind.replace(' ', '-')}"
                    chart = first_chart(site, page)
                    print(f"  {label}: {lang} {kind} /{page}", file=sys.stderr, flush=True)
                    rows[label].append(
                        Row(
                            kind=kind,
                            lang=lang,
                            page="/" + page,
                            first_visit=weigh(site, mine),
                            after_overview=None
                            if kind == "overview"
                            else weigh(site, mine - overview),
                            lh=lighthouse(url, name.with_suffix(".json"), chrome, reuse),
                            lh_chart=chart
                            and lighthouse(
                                f"{url}#{chart}", Path(f"{name}-chart.json"), chrome, reuse
                            ),
                        )
                    )
    finally:
        for server in servers.values():
            server.close()
    return rows


# ── the report ──────────────────────────────────────────────────────────────────────────


def kib(n: int | None) -> str:
    return "–" if n is None else f"{n / 1024:,.1f}"


def figures(lh: dict | None) -> str:
    """performance | TBT | LCP | bytes of one Lighthouse run, as table cells."""
    if not lh:
        return "– | – | – | – | –"
    lib = " (with plotly.js)" if lh["chart_lib"] else ""
    load = "–" if lh["load"] is None else f"{lh['load']:.1f}"
    return (
        f"{lh['performance']} | {lh['tbt_ms']:,.0f} ms | {lh['lcp_ms'] / 1000:.1f} s "
        f"| {kib(lh['lh_bytes'])} KiB{lib} | {load}"
    )


def table(rows: list[Row]) -> list[str]:
    out = [
        "| page | lang | accessibility | performance | TBT | LCP | bytes | load | at first "
        "chart: performance | TBT | LCP | bytes | load | first visit, all charts "
        "| after overview |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        after = "–" if r.after_overview is None else f"{kib(r.after_overview)} KiB"
        out.append(
            f"| {r.kind} `{r.page}` | {r.lang} | {r.lh['accessibility']} | {figures(r.lh)} "
            f"| {figures(r.lh_chart)} | {kib(r.first_visit)} KiB | {after} |"
        )
    return out


def section(results: dict[str, list[Row]], loads: tuple[str, str], when: str) -> str:
    versions = {r.lh["lighthouse"] for rows in results.values() for r in rows}
    lines = [
        START,
        "## Page weight and Lighthouse (mobile)",
        "",
        "Measured by `benchmarks/audit.py` (`make audit`), not by `make bench`: each page is "
        "served from 127.0.0.1 with gzip and audited by Lighthouse "
        f"{', '.join(sorted(filter(None, versions)))} with its mobile form factor and simulated "
        "throttling (slow 4G, 4× CPU slowdown). Every chart is a static SVG until a reader "
        "reaches for it (pointer, tap, focus, a download or a permalink); only then is "
        "plotly.js fetched and the chart drawn. So each page with charts is audited twice: "
        "as opened (its first view; *bytes* are what Lighthouse saw transferred, marked when "
        "that included plotly.js) and *at first chart*, opened at the permalink `#id` of its "
        "first chart, which loads plotly.js and draws it. *First visit, all charts* "
        "counts the "
        "page's HTML, stylesheet, scripts, and for a page with charts the chart library and "
        "map outline, all gzipped; *after overview* is what is left to fetch once the overview "
        "in the same language is cached. TBT and LCP come from Lighthouse's simulation and "
        "vary with the machine's load: *load* is the 1-minute load average as each run started "
        "(– when the figures were taken from a report saved before loads were recorded). A "
        "kind of page with no page in a language (articles are in English only) has no row.",
        "",
        f"- Run: {when}; {os.cpu_count()} cores, {platform.platform()}",
        f"- Load average (1 min, 5 min, 15 min) at start: {loads[0]}; at end: {loads[1]}",
        "",
    ]
    for label, rows in results.items():
        lines += [f"### {label}", "", *table(rows), ""]
    lines.append(END)
    return "\n".join(lines) + "\n"


# ── command line ────────────────────────────────────────────────────────────────────────


def parse_site(value: str) -> tuple[str, Path]:
    label, sep, folder = value.partition("=")
    if not sep or not label or not folder:
        raise UsageError(f"--site wants LABEL=FOLDER, got {value!r}")
    if not (Path(folder) / "index.html").is_file():
        raise UsageError(f"--site {value}: no index.html in {folder} (build the site first)")
    return label, Path(folder)


def build(out: Path, *inputs: Path) -> Path:
    args = [sys.executable, str(ROOT / "build.py"), "--out", str(out), "--quiet"]
    if inputs:
        args[2:2] = ["--input", *map(str, inputs)]
    subprocess.run(args, cwd=ROOT, check=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--site",
        action="append",
        default=[],
        metavar="LABEL=FOLDER",
        help="audit this built site under this heading (repeatable); default: build the demo "
        "and, when ../shared/data/real is there, the real samples into a temp folder",
    )
    ap.add_argument("--doc", type=Path, default=DOC, help="report file (default %(default)s)")
    ap.add_argument(
        "--reports", type=Path, help="keep Lighthouse's JSON reports here (default: discarded)"
    )
    ap.add_argument(
        "--reuse-reports",
        action="store_true",
        help="with --reports: take pages already audited there from their saved reports "
        "(to finish a run that stopped part way)",
    )
    args = ap.parse_args(argv)
    try:
        sites = [parse_site(s) for s in args.site]
        chrome = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
        if not Path(chrome).is_file():
            raise UsageError(f"no Chromium at {chrome}: set CHROME_PATH")
        if not (TOOL / "node_modules" / ".bin" / "lighthouse").exists():
            raise UsageError(f"Lighthouse is not installed: run `npm ci` in {TOOL}")
    except UsageError as e:
        print(f"audit: {e}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="collectwatch-audit-") as tmp:
        tmp = Path(tmp)
        if not sites:
            print("building the demo site…", file=sys.stderr, flush=True)
            sites.append(("demo data", build(tmp / "demo")))
            real = sorted(REAL_INPUTS.glob("*.csv"))
            if real:
                print("building the real samples…", file=sys.stderr, flush=True)
                sites.append(("real samples", build(tmp / "real", *real)))
        loads = [", ".join(f"{x:.1f}" for x in os.getloadavg())]
        when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        print(f"auditing {', '.join(label for label, _ in sites)}", file=sys.stderr, flush=True)
        results = audit_sites(
            sites,
            args.reports or tmp / "reports",
            chrome,
            args.reuse_reports and bool(args.reports),
        )
        loads.append(", ".join(f"{x:.1f}" for x in os.getloadavg()))
    sections.write_section(args.doc, "audit", section(results, (loads[0], loads[1]), when))
    print(f"wrote {args.doc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
