"""Tables, charts and report → the site's files, computed first and then written atomically.

The only stage that writes into the output folder. :func:`plan` computes every page,
download and feed as bytes in memory (Pelican's generate_context); :func:`write_site` then
writes them into a temporary sibling folder, indexes it for search, and swaps it in for the
old site in one step, so a failed or killed build never leaves a half-written site.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import json
import os
import posixpath
import shutil
import subprocess
import sys
import time
import unicodedata
import zipfile
from datetime import datetime
from pathlib import Path

import jinja2
import markdown
import pandas as pd
from markupsafe import Markup

from . import articles, casestudy, charts, claims, evidence, exports, fmt, paths, svg
from .errors import UserError
from .evaluate import MIN_SUPPORT, read_gold_results
from .progress import cpu_seconds

LANGS = ("en", "zh")


def _plotly_js() -> Path:
    # A partial plotly.js (scatter, bar, choropleth) built by tools/plotly-bundle and committed,
    # so the build needs no Node and phones download a third of the full bundle.
    return paths.STATIC / "plotly" / "plotly-custom.min.js"


# ── helpers the templates use ───────────────────────────────────────────────────────────


def page_file(path: str) -> str:
    """URL path of a page ("lenders/x/") → the file that serves it ("lenders/x/index.html")."""
    return path + "index.html" if path == "" or path.endswith("/") else path


def relative(from_path: str, to_path: str) -> str:
    """A link from the page at ``from_path`` to ``to_path`` (both relative to the site root).

    Links are relative so the site works from any folder or sub-path (e.g. GitHub Pages).
    """
    base = posixpath.dirname(page_file(from_path))
    target = posixpath.relpath(to_path or ".", base or ".")
    if to_path.endswith("/") or to_path == "":
        target = target.rstrip("/") + "/"
    return "./" if target == "./" else target


def lang_path(path: str, lang: str) -> str:
    """The same page in ``lang``: English at the root, Chinese under zh/."""
    bare = path[3:] if path.startswith("zh/") else path
    return bare if lang == "en" else "zh/" + bare


def static_svg(chart: dict, note: str = "") -> Markup:
    """A chart's first paint: its figure as a static SVG (``note``: said under a tile map).

    figure_svg escapes every string it draws, so its output can go into a page as is.
    """
    return Markup(svg.figure_svg(chart["figure"], chart["title"], chart["id"], note))


def environment(ui: dict) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(paths.TEMPLATES),
        autoescape=jinja2.select_autoescape(("html", "xml")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(int=fmt.count, pct=fmt.pct)
    env.globals.update(ui_strings=ui)
    return env


# ── the plan: every file of the site, as bytes ──────────────────────────────────────────


class Site:
    """Files to write, keyed by path relative to the site root."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.pages: list[dict] = []  # for the sitemap
        self.charts: dict[str, dict] = {}  # chart id → kind and title, for the data package
        self.figures: dict[str, dict] = {}  # chart id → language → what its data file holds

    def add(self, path: str, data: bytes | str) -> None:
        if path in self.files:
            raise ValueError(f"two outputs claim {path}")
        if ".." in path.split("/") or path.startswith("/"):
            raise ValueError(f"output path escapes the site: {path!r}")
        self.files[path] = data.encode("utf-8") if isinstance(data, str) else data


def asset_name(name: str, data: bytes) -> str:
    """site.css → site-1a2b3c4d.css: a content hash in the name lets browsers cache forever."""
    stem, dot, ext = name.partition(".")
    return f"{stem}-{hashlib.sha256(data).hexdigest()[:10]}{dot}{ext}"


def plan(*, tables, table, tags, quarantine, report, config, evaluation, crosswalk) -> Site:
    """Compute every file of the site. Nothing is written here."""
    site = Site()
    ui = config.ui
    env = environment(ui)
    generated = report["generated_at"]

    assets = {}
    for name, src in (
        ("plotly.min.js", _plotly_js()),
        ("site.css", paths.STATIC / "site.css"),
        ("site.js", paths.STATIC / "site.js"),
        ("lenders.js", paths.STATIC / "lenders.js"),  # the lenders index only
    ):
        data = src.read_bytes()
        assets[name] = "assets/" + asset_name(name, data)
        site.add(assets[name], data)
    site.add("assets/geo/usa_110m.json", (paths.STATIC / "geo" / "usa_110m.json").read_bytes())

    # Downloads: every table, the crosswalk and the quarantine, described in one package.
    published = {**tables, "label_crosswalk": crosswalk, "quarantine": quarantine}
    meta = exports.load_table_meta(tables=published)
    sources_meta = [
        {
            "title": _source_title(item, config),
            "path": item["path"],
            "retrieved": (report.get("download") or {}).get("retrieved_at")
            or report["generated_at"][:10],
            "sha256": item["sha256"],
        }
        for item in report["inputs"]
    ]
    title = config.site["title"]["en"]
    table_files, resources = exports.table_files(published, meta)
    for name, data in table_files.items():
        site.add(f"data/{name}", data)
    citation = exports.citation(
        title=title,
        url=config.site["base_url"] + "data/",
        retrieved=sources_meta[0]["retrieved"] if sources_meta else generated[:10],
        generated=generated[:10],
    )

    lenders = tables["lenders"]
    with_pages = lenders[lenders["in_peer_group"]]
    slices = by_lender(tables, with_pages["lender_slug"].astype(str))
    quotes = evidence.select(tables["text_tags"], table, with_pages["lender_slug"].astype(str))
    for slug, bundle in lender_bundles(tables, with_pages["lender_slug"].astype(str), generated):
        site.add(f"data/lenders/{slug}.zip", bundle)

    common = {
        "report": report,
        "site": config.site,
        "assets": assets,
        "synthetic": report["synthetic"],
        "data_as_of": report["data_as_of"],
        "generated_at": generated,
        "taxonomy": config.taxonomy,
        "citation": citation,
        "table_meta": meta,
        "coverage": claims.view(tables["date_coverage"], report["coverage"]),
        "chart_text": charts.config_text(config),
    }
    book, report["articles_skipped"] = articles.load(paths.ARTICLES, tables, config)
    order = casestudy.select(tables, config.site)
    studies = {
        s: casestudy.facts(s, tables, table, tags, config.taxonomy, config.site) for s in order
    }
    for lang in LANGS:
        ctx = Pages(env, site, ui, lang, common)
        ctx.overview(tables)
        ctx.lenders_index(lenders)
        for row in with_pages.itertuples(index=False):
            ctx.lender(
                {**tables, **slices[row.lender_slug]},
                row,
                row.lender_slug in studies,
                quotes[row.lender_slug],
            )
        ctx.behaviours_index(tables)
        for bid in config.taxonomy["behaviours"]:
            ctx.behaviour(tables, bid, crosswalk)
        ctx.methodology(evaluation, crosswalk)
        ctx.data_page(published, quarantine)
        ctx.about()
        ctx.search()
        ctx.articles(book)
        ctx.case_studies(tables, table, tags, config, order, studies)
        ctx.not_found()
        ctx.embed()
    for name, data in data_files(site.figures).items():
        site.add(name, data)
    # The package lists the tables and every chart CSV the pages wrote (data/charts/).
    schema_files, chart_resources = exports.chart_resources(
        _chart_entries(site), _chart_schemas(common["chart_text"])
    )
    for name, data in schema_files.items():
        site.add(f"data/{name}", data)
    site.add(
        "data/datapackage.json",
        exports.package_json(
            resources + chart_resources,
            sources_meta=sources_meta,
            generated_at=generated,
            title=title,
        ),
    )
    _feeds(env, site, book, tables, config, generated)
    site.add(
        "sitemap.xml",
        env.get_template("sitemap.xml").render(pages=site.pages, base=config.site["base_url"]),
    )
    return site


def data_files(figures: dict[str, dict]) -> dict[str, bytes]:
    """data/charts/<id>.js for every chart: its numbers once, beside its CSV, with the
    words, title, summary, source and page of each language it appears in
    (charts.split_languages)."""
    files = {}
    for cid, by_lang in sorted(figures.items()):
        shared, patches = charts.split_languages({k: v["figure"] for k, v in by_lang.items()})
        text = {
            lang: {k: v for k, v in item.items() if k != "figure"}
            | {"patch": patches.get(lang, {})}
            for lang, item in by_lang.items()
        }
        files[f"data/charts/{cid}.js"] = charts.chart_script(cid, {"figure": shared, "text": text})
    return files


def _chart_entries(site: Site) -> list[dict]:
    """Every chart CSV the pages wrote, by id, with its kind and title (exports.chart_resources)."""
    return [
        {"name": cid, "path": f"charts/{cid}.csv", "data": site.files[f"data/charts/{cid}.csv"]}
        | info
        for cid, info in sorted(site.charts.items())
    ]


def _chart_schemas(text: dict) -> dict[str, dict]:
    """Each registered kind of chart → the Table Schema of its CSVs (English descriptions)."""
    descriptions = {name: value["en"] for name, value in text["columns"].items()}
    return {spec.kind: exports.chart_schema(spec.fields, descriptions) for spec in charts.REGISTRY}


def _source_title(item: dict, config) -> str:
    if item.get("source") == "cfpb":
        return exports.CFPB
    return config.sources.get("sources", {}).get(item.get("source"), {}).get("title", item["path"])


def by_lender(tables: dict, slugs) -> dict[str, dict[str, pd.DataFrame]]:
    """Each lender's slice of every lender-level table, split in one pass per table.

    A slice holds the lender's rows and the market rows (no slug), so chart functions given
    ``{**tables, **slice}`` do the same work for a lender page whatever the number of
    lenders: without the split, every page would scan every table.
    """
    slices: dict[str, dict[str, pd.DataFrame]] = {slug: {} for slug in slugs}
    for name, df in tables.items():
        if "lender_slug" not in df.columns:
            continue
        key = df["lender_slug"].astype("string")
        market = df[key.isna()]
        groups = dict(list(df[key.notna()].groupby(key[key.notna()], sort=False)))
        for slug in slices:
            part = groups.get(slug)
            slices[slug][name] = market if part is None else pd.concat([part, market])
    return slices


def lender_bundles(tables: dict, slugs, generated: str):
    """(slug, zip) for each lender: its rows of every lender-level table, as CSVs.

    Each table is made spreadsheet-safe and split by lender once, not once per lender.
    Entries carry the build's timestamp, so the zips are reproducible.
    """
    stamp = datetime.fromisoformat(generated.replace("Z", "+00:00")).timetuple()[:6]
    parts = {}
    for name, df in tables.items():
        if "lender_slug" in df.columns:
            safe = exports.safe_frame(df)
            key = df["lender_slug"].astype("string")
            parts[name] = (safe.iloc[:0], dict(list(safe.groupby(key, sort=False))))
    for slug in slugs:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, (empty, groups) in parts.items():
                info = zipfile.ZipInfo(f"{slug}/{name}.csv", date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, exports.csv_bytes(groups.get(slug, empty), safe=True))
        yield slug, buf.getvalue()


# ── the lenders index ───────────────────────────────────────────────────────────────────

LENDERS_INDEX_ROWS = 50  # site.yaml's lenders_index_rows when it is left out
# Letter pages, in the order the navigation lists them: a company goes under the first
# Latin letter or digit of its name (accents dropped, leading punctuation skipped), or under
# "other" when its name starts with another script (Chinese, Cyrillic…) or has neither.
LETTERS = (*"abcdefghijklmnopqrstuvwxyz", "0-9", "other")
LENDER_FIELDS = ("lender", "slug", "complaints", "rank", "narratives", "first_date", "last_date")


def first_letter(name: str) -> str:
    """The key of the letter page that lists ``name``: "a"–"z", "0-9" or "other"."""
    for ch in unicodedata.normalize("NFKD", str(name)):
        if ch.isascii() and ch.isalpha():
            return ch.lower()
        if ch.isascii() and ch.isdigit():
            return "0-9"
        if ch.isalnum():
            return "other"
    return "other"


def name_key(name: str) -> str:
    """Alphabetical order of names: without case or accents."""
    text = unicodedata.normalize("NFKD", str(name))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()


def letter_groups(lenders: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Letter key → its companies in alphabetical order, for the letters that have any."""
    names = lenders["lender"].astype(str)
    keys = names.map(first_letter)
    order = sorted(range(len(lenders)), key=lambda i: (name_key(names.iloc[i]), names.iloc[i]))
    ordered, keys = lenders.iloc[order], keys.iloc[order].to_numpy()
    return {k: ordered[keys == k] for k in LETTERS if (keys == k).any()}


def letter_label(key: str) -> str:
    """What the navigation shows for a letter key: "A", "0–9" or "#"."""
    return {"0-9": "0–9", "other": "#"}.get(key, key.upper())


def lenders_data_js(lenders: pd.DataFrame) -> bytes:
    """Every company, one compact row each, as a script that lenders.js reads; a script
    rather than JSON so that it loads from file:// too. Rows are in the order of the
    server-rendered table (rank, then name)."""
    rows = [
        [
            str(r.lender),
            str(r.lender_slug) if r.in_peer_group else None,
            int(r.complaints),
            int(r.rank),
            int(r.narratives),
            r.first_date.strftime("%Y-%m-%d") if not pd.isna(r.first_date) else None,
            r.last_date.strftime("%Y-%m-%d") if not pd.isna(r.last_date) else None,
        ]
        for r in lenders.itertuples(index=False)
    ]
    body = charts.figure_json({"fields": list(LENDER_FIELDS), "rows": rows})
    return f"window.collectwatchLenders={body};\n".encode()


class Pages:
    """Builds the pages of one language into ``site``."""

    def __init__(self, env, site: Site, ui: dict, lang: str, common: dict) -> None:
        self.env, self.site, self.lang, self.common = env, site, lang, common
        self.ui = {k: v[lang] for k, v in ui.items()}
        self.charts_written: set[str] = set()

    def path(self, bare: str) -> str:
        return lang_path(bare, self.lang)

    def render(
        self,
        bare: str,
        template: str,
        *,
        title: str,
        description: str = "",
        alternate: bool = True,
        **extra,
    ) -> None:
        path = self.path(bare)
        other = "zh" if self.lang == "en" else "en"

        def url(target: str) -> str:
            return relative(path, target)

        html = self.env.get_template(template).render(
            **self.common,
            **extra,
            lang=self.lang,
            ui=self.ui,
            path=path,
            url=url,
            lurl=lambda target: url(lang_path(target, self.lang)),
            title=title,
            description=description or self.ui["site_tagline"],
            canonical=self.common["site"]["base_url"] + path,
            alternate_path=lang_path(bare, other) if alternate else None,
            alternate_lang=other,
            chart_block=lambda chart: self.chart_block(chart, path),
        )
        self.site.add(page_file(path), html)
        self.site.pages.append(
            {
                "path": path,
                "lang": self.lang,
                "alternate": lang_path(bare, other) if alternate else None,
            }
        )

    def chart_block(self, chart: dict, page: str) -> Markup:
        """A chart's figure, summary, table fallback and links, for the page at ``page``.

        The first use of a chart (and of each of its views) adds its CSV (exactly the numbers
        drawn) and files its figure and text in this language for its data file
        (``data_files``), which both this page and the embed page load.
        """
        panes = [
            {
                "key": dict(charts.SPECS[view["kind"]].options).get("resolution", "month"),
                "chart": view,
                "svg": static_svg(view, self.ui["tile_map_note"]),
                "csv": f"data/charts/{view['id']}.csv",
            }
            for view in (chart, *chart.get("views", ()))
        ]
        if chart["id"] not in self.charts_written:
            self.charts_written.add(chart["id"])
            for pane in panes:
                view = pane["chart"]
                if pane["csv"] not in self.site.files:
                    self.site.add(pane["csv"], exports.csv_bytes(view["data"]))
                    self.site.charts[view["id"]] = {"kind": view["kind"], "title": view["title"]}
                self.site.figures.setdefault(view["id"], {})[self.lang] = {
                    "figure": view["figure"],
                    "title": view["title"],
                    "summary": chart["summary"],
                    "source": chart["source"],
                    "page": f"{page}#{chart['id']}",
                }
        embed = self.common["site"]["base_url"] + self.path("embed/") + f"?chart={chart['id']}"
        return Markup(
            self.env.get_template("_chart.html").render(
                chart=chart,
                panes=panes,
                ui=self.ui,
                url=lambda t: relative(page, t),
                embed_url=embed,
                data_as_of=self.common["data_as_of"],
            )
        )

    def embed(self) -> None:
        """embed/?chart=<id>: the one page that shows any chart in a frame on another site,
        drawn at once from the chart's data file (its figure and text in this language)."""
        bare = self.path("embed/")
        self.site.add(
            page_file(bare),
            self.env.get_template("embed.html").render(
                **self.common,
                lang=self.lang,
                ui=self.ui,
                url=lambda t: relative(bare, t),
                canonical=self.common["site"]["base_url"] + bare,
                lenders_path=self.path("lenders/"),
                home_path=self.path(""),
            ),
        )

    def prose(self, name: str) -> Markup:
        """content/pages/<name>.<lang>.md as HTML (editorial text, no figures)."""
        text = (paths.PAGES / f"{name}.{self.lang}.md").read_text(encoding="utf-8")
        return Markup(markdown.markdown(text, extensions=["tables"]))

    # -- page types --------------------------------------------------------------------

    def charts_of(
        self, scope: str, tables, subject: str | None = None, section: str = "charts"
    ) -> list[dict]:
        """The charts (charts.REGISTRY) that a page of ``scope`` draws in ``section``, for
        ``subject`` (a company's slug, a behaviour's id; None for the market). The spikes
        section leaves out a chart with nothing to show: its table already says so."""

        def build(spec: charts.ChartSpec) -> dict:
            chart = spec.build(
                tables,
                self.common["taxonomy"],
                subject,
                self.lang,
                text=self.common["chart_text"],
                site=self.common["site"],
            )
            if spec.views and not chart["empty"]:
                chart["views"] = [build(charts.SPECS[kind]) for kind in spec.views]
            return chart

        built = [build(spec) for spec in charts.on_page(scope, section)]
        return built if section == "charts" else [c for c in built if not c["empty"]]

    def overview(self, tables) -> None:
        lenders = tables["lenders"]
        spikes = tables["spikes"]
        latest = claims.latest_first(spikes).head(10)
        self.render(
            "",
            "index.html",
            title=self.common["site"]["title"][self.lang],
            charts=self.charts_of("market", tables),
            headline={
                "complaints": int(lenders["complaints"].sum()),
                "lenders": len(lenders),
                "first": lenders["first_date"].min(),
                "last": lenders["last_date"].max(),
                "narratives": int(lenders["narratives"].sum()),
            },
            spikes=latest,
            spike_charts=self.charts_of("market", tables, section="spikes"),
        )

    def lenders_index(self, lenders) -> None:
        """/lenders/: the companies with the most complaints, the letter navigation, and
        every company as a script for lenders.js; /lenders/letter/<key>/: every company of
        one first letter, so that every lender page is reachable without JavaScript."""
        ordered = lenders.sort_values(["rank", "lender"])
        data = lenders_data_js(ordered)
        data_path = "assets/" + asset_name("lenders-data.js", data)
        if data_path not in self.site.files:  # one file for both languages
            self.site.add(data_path, data)
        groups = letter_groups(ordered)
        letters = [
            {"key": key, "label": letter_label(key), "count": len(groups.get(key, ()))}
            for key in LETTERS
        ]
        shown = int(self.common["site"].get("lenders_index_rows", LENDERS_INDEX_ROWS))
        self.render(
            "lenders/",
            "lenders.html",
            title=self.ui["nav_lenders"],
            lenders=ordered.head(shown),
            total=len(ordered),
            with_pages=int(ordered["in_peer_group"].sum()),
            page_size=shown,
            letters=letters,
            data_file=data_path,
        )
        for key, group in groups.items():
            label = letter_label(key)
            self.render(
                f"lenders/letter/{key}/",
                "lenders_letter.html",
                title=self.ui["lenders_letter_title"].format(letter=label),
                lenders=group,
                letter=key,
                letter_label=label,
                letters=letters,
            )

    def lender(self, tables, row, has_case_study: bool = False, quotes=()) -> None:
        """``quotes``: the lender's excerpts from :func:`evidence.select`."""
        tax = self.common["taxonomy"]
        slug = row.lender_slug
        spikes = tables["spikes"]
        mine = claims.latest_first(spikes[spikes["lender_slug"].astype("string") == slug])
        self.render(
            f"lenders/{slug}/",
            "lender.html",
            title=str(row.lender),
            lender=row,
            charts=self.charts_of("lender", tables, slug),
            spikes=mine,
            spike_charts=self.charts_of("lender", tables, slug, "spikes") if len(mine) else [],
            case_study_path=self.path(f"case-studies/{slug}/") if has_case_study else None,
            excerpts=evidence.view(quotes, tax, self.lang),
        )

    def behaviours_index(self, tables) -> None:
        self.render(
            "behaviours/",
            "behaviours.html",
            title=self.ui["nav_behaviours"],
            behaviours=tables["behaviours"],
        )

    def behaviour(self, tables, bid: str, crosswalk) -> None:
        tax = self.common["taxonomy"]
        info = tax["behaviours"][bid]
        self.render(
            f"behaviours/{bid}/",
            "behaviour.html",
            title=info["name"][self.lang],
            description=info["description"][self.lang],
            bid=bid,
            info=info,
            family=tax["families"][info["family"]],
            labels=crosswalk[crosswalk["behaviour"] == bid],
            charts=self.charts_of("behaviour", tables, bid),
        )

    def methodology(self, evaluation, crosswalk) -> None:
        bench = paths.DATA / "spike_benchmark.json"  # written by benchmarks/spikes.py
        self.render(
            "methodology/",
            "methodology.html",
            title=self.ui["nav_methodology"],
            evaluation=evaluation,
            gold=read_gold_results(),  # committed by `make eval`: the build never reads ../shared
            crosswalk=crosswalk,
            prose=self.prose("methodology"),
            min_support=MIN_SUPPORT,
            spike_benchmark=json.loads(bench.read_text("utf-8")) if bench.exists() else None,
        )

    def data_page(self, published, quarantine) -> None:
        files = [
            {
                "name": name,
                "file": exports.file_name(name, self.common["table_meta"][name]),
                "path": "data/" + exports.file_name(name, self.common["table_meta"][name]),
                "rows": len(df),
                "meta": self.common["table_meta"][name],
            }
            for name, df in published.items()
        ]
        self.render(
            "data/",
            "data.html",
            title=self.ui["nav_data"],
            files=files,
            quarantine_rows=len(quarantine),
        )

    def about(self) -> None:
        self.render("about/", "about.html", title=self.ui["nav_about"], prose=self.prose("about"))

    def search(self) -> None:
        self.render("search/", "search.html", title=self.ui["nav_search"])

    def articles(self, book) -> None:
        mine = [a for a in book if a["lang"] == self.lang]
        self.render("articles/", "articles.html", title=self.ui["nav_articles"], items=mine)
        for art in mine:
            twin = any(a["slug"] == art["slug"] and a["lang"] != self.lang for a in book)
            self.render(
                f"articles/{art['slug']}/",
                "article.html",
                title=art["title"],
                description=art["summary"],
                article=art,
                body=Markup(art["render"](self.chart_block_for(f"articles/{art['slug']}/"))),
                alternate=twin,
            )

    def case_studies(self, tables, table, tags, config, order, studies) -> None:
        cases = [
            casestudy.build(
                slug,
                self.lang,
                tables,
                table,
                tags,
                config,
                order=order,
                date=self.common["generated_at"][:10],
                computed=studies[slug],
            )
            for slug in order
        ]
        self.render(
            "case-studies/", "case_studies.html", title=self.ui["nav_case_studies"], cases=cases
        )
        for case in cases:
            self.render(
                f"case-studies/{case['slug']}/",
                "case_study.html",
                title=case["title"],
                description=case["description"],
                case=case,
            )

    def chart_block_for(self, bare: str):
        path = self.path(bare)
        return lambda chart: self.chart_block(chart, path)

    def not_found(self) -> None:
        self.render("404.html", "404.html", title=self.ui["not_found_title"])


def _feeds(env, site: Site, book, tables, config, generated: str) -> None:
    base = config.site["base_url"]
    feed = env.get_template("feed.xml")
    entries = [
        {
            "title": a["title"],
            "url": base + lang_path(f"articles/{a['slug']}/", a["lang"]),
            "updated": a["date"],
            "summary": a["summary"],
        }
        for a in sorted(book, key=lambda a: a["date"], reverse=True)
    ]
    site.add(
        "feed.xml",
        feed.render(
            title=config.site["title"]["en"],
            url=base,
            self_url=base + "feed.xml",
            updated=generated,
            entries=entries,
        ),
    )
    spikes = tables["spikes"]
    names = {b: v["name"]["en"] for b, v in config.taxonomy["behaviours"].items()}

    def spike_entries(rows, page):
        return [
            {
                "title": f"{r.lender}: {names.get(r.behaviour, r.behaviour)} spiked in "
                f"{str(r.month)[:7]} ({int(r.complaints)} complaints, baseline "
                f"{float(r.baseline):g})",
                "url": base + page,
                "updated": str(r.month)[:10] + "T00:00:00Z",
                "summary": "",
            }
            for r in claims.latest_first(rows).itertuples(index=False)
        ]

    lenders = tables["lenders"]
    slugs, behaviours = spikes["lender_slug"].astype("string"), spikes["behaviour"].astype("string")
    feeds = [
        (f"lenders/{r.lender_slug}/", f"Spikes: {r.lender}", slugs == r.lender_slug)
        for r in lenders[lenders["in_peer_group"]].itertuples(index=False)
    ]
    feeds += [
        (f"behaviours/{bid}/", f"Spikes: {names[bid]}", behaviours == bid)
        for bid in config.taxonomy["behaviours"]
    ]
    for page, title, mask in feeds:
        site.add(
            page + "feed.xml",
            feed.render(
                title=title,
                url=base + page,
                self_url=base + page + "feed.xml",
                updated=generated,
                entries=spike_entries(spikes[mask.fillna(False)], page),
            ),
        )


# ── writing ──────────────────────────────────────────────────────────────────────────────


def write_site(
    site: Site,
    out: Path,
    report: dict,
    *,
    timings: dict,
    started: float,
    cpu: dict | None = None,
    search: bool = True,
) -> None:
    """Write ``site`` into a fresh folder, index it for search, then swap it in for ``out``.

    ``timings`` and ``cpu``: wall and CPU seconds of the stages before; the report gets them
    with this stage's (``render``) added, and the wall time of the whole build (``total``).
    """
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(out)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        clock, cpu_clock = time.perf_counter(), cpu_seconds()
        for rel, data in site.files.items():
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if search:
            index_for_search(tmp)
        report["site"] = site_size(tmp)
        now = time.perf_counter()
        report["timings"] = {
            **timings,
            "render": round(now - clock, 3),
            "total": round(now - started, 3),
        }
        report["cpu"] = {**(cpu or {}), "render": round(cpu_seconds() - cpu_clock, 3)}
        (tmp / "data" / "build-report.json").write_text(
            json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
        )
        swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def site_size(folder: Path) -> dict:
    """Bytes and files of a written site (the build report itself not counted), which the
    publish gate checks against the host's limits."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    return {"bytes": sum(p.stat().st_size for p in files), "files": len(files) + 1}


def index_for_search(folder: Path) -> None:
    """Build the Pagefind index (pagefind/ inside the site); no server, works offline."""
    proc = subprocess.run(
        [sys.executable, "-m", "pagefind", "--site", str(folder), "--silent"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise UserError(f"pagefind: search indexing failed: {proc.stderr.strip()[:300]}")
    # Pagefind lists languages in no fixed order; sort them so builds are reproducible.
    entry = folder / "pagefind" / "pagefind-entry.json"
    if entry.exists():
        data = json.loads(entry.read_text(encoding="utf-8"))
        entry.write_text(json.dumps(data, sort_keys=True, separators=(",", ":")), encoding="utf-8")


def _remove_stale(out: Path) -> None:
    """Leftovers of builds that were killed before their swap (never a live build's)."""
    for pattern in (f".{out.name}.tmp-*", f".{out.name}.old-*"):
        for stale in out.parent.glob(pattern):
            if not _alive(stale.name.rsplit("-", 1)[-1]):
                shutil.rmtree(stale, ignore_errors=True)


def _alive(pid: str) -> bool:
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def swap_in(new: Path, out: Path) -> None:
    """Replace ``out`` by ``new`` so that ``out`` always holds one whole site.

    Linux's renameat2(RENAME_EXCHANGE) swaps the two folders in one step; elsewhere two
    renames leave a moment with no ``out`` at all, but never a mix of old and new.
    """
    if not out.exists():
        os.rename(new, out)
        return
    if _exchange(new, out):
        shutil.rmtree(new)  # `new` now holds the old site
        return
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    os.rename(out, old)
    os.rename(new, out)
    shutil.rmtree(old)


def _exchange(a: Path, b: Path) -> bool:
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0
