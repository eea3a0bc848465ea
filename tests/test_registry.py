"""The chart registry: every chart is declared once (charts.REGISTRY), and the pages, the
articles, the charts.yaml check and the data package all read that one declaration.

- charts.yaml must hold the text of every registered chart and nothing else: a build stops
  with one line naming the key, before it reads any input;
- every page draws the charts of its scope, and articles can embed any registered kind;
- every chart CSV under data/charts/ is in datapackage.json, with its kind's Table Schema,
  and the whole package validates with frictionless.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from collections import Counter
from pathlib import Path

import frictionless
import pytest
import yaml
from bs4 import BeautifulSoup

from collectwatch import aggregate, articles, charts, classify, ingest, paths
from collectwatch.pipeline import DEMO_INPUTS

from .test_cli import one_line_error

# ── the declaration ────────────────────────────────────────────────────────────────────


def test_every_kind_is_declared_once_with_a_known_scope_and_section():
    kinds = [spec.kind for spec in charts.REGISTRY]
    assert len(kinds) == len(set(kinds)) == len(charts.SPECS)
    for spec in charts.REGISTRY:
        assert spec.scope in charts.SCOPES, spec.kind
        assert spec.section in charts.SECTIONS, spec.kind
        assert spec.tables and spec.text and spec.fields, spec.kind
        names = [name for name, _ in spec.fields]
        assert len(names) == len(set(names)), spec.kind
    # Every scope's pages draw something, and the spikes are drawn (not only tested).
    for scope in charts.SCOPES:
        assert charts.on_page(scope), scope
    assert {s.kind for s in charts.on_page("market", "spikes")} == {"market_spikes"}
    assert {s.kind for s in charts.on_page("lender", "spikes")} == {"lender_spikes"}


# ── charts.yaml against the registry, through the command line ─────────────────────────


def config_with_chart_text(tmp_path: Path, edit) -> Path:
    """A site.yaml whose files.charts is a copy of data/charts.yaml changed by ``edit``."""
    text = yaml.safe_load(paths.CHARTS_YAML.read_text(encoding="utf-8"))
    edit(text)
    (tmp_path / "charts.yaml").write_text(yaml.safe_dump(text, allow_unicode=True), "utf-8")
    site = yaml.safe_load(paths.SITE_YAML.read_text(encoding="utf-8"))
    site["files"] = {**site.get("files", {}), "charts": "charts.yaml"}
    cfg = tmp_path / "site.yaml"
    cfg.write_text(yaml.safe_dump(site, allow_unicode=True), encoding="utf-8")
    return cfg


def drop(*keys: str):
    def edit(text: dict) -> None:
        node = text
        for key in keys[:-1]:
            node = node[key]
        del node[keys[-1]]

    return edit


def add_chart_entry(text: dict) -> None:
    text["charts"]["pie_chart"] = {"title": {"en": "A pie", "zh": "饼图"}}


def add_column(text: dict) -> None:
    text["columns"]["colour"] = {"en": "Colour.", "zh": "颜色。"}


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (drop("charts", "spikes", "none"), "missing key charts.spikes.none"),
        (drop("charts", "lender_mix", "title_family"), "key charts.lender_mix.title_family"),
        (drop("charts", "behaviour_state_map"), "missing key charts.behaviour_state_map.title"),
        (drop("charts", "top_lenders", "title", "zh"), "missing key charts.top_lenders.title.zh"),
        (drop("columns", "baseline"), "missing key columns.baseline"),
        (add_chart_entry, "unknown key charts.pie_chart.title"),
        (add_column, "unknown key columns.colour"),
    ],
    ids=[
        "chart-text",
        "shared-entry",
        "whole-chart",
        "chinese",
        "column",
        "entry-without-chart",
        "column-without-chart",
    ],
)
def test_chart_text_that_does_not_match_the_registry_stops_the_build_first(
    run_cli, tmp_path, edit, key
):
    cfg = config_with_chart_text(tmp_path, edit)
    out = tmp_path / "out"
    # The input does not exist: the chart text is checked before any input is read.
    proc = run_cli("--config", cfg, "--input", tmp_path / "nope.csv", "--out", out)
    one_line_error(proc, "charts.yaml", key)
    assert "nope.csv" not in proc.stderr
    assert not out.exists()


# ── pages and articles read the registry ───────────────────────────────────────────────


@pytest.fixture(scope="module")
def demo_tables(config) -> dict:
    inputs = [str(paths.ROOT / p) for p in DEMO_INPUTS]
    result = ingest.read_inputs(inputs, config.sources, config.lenders)
    table, tags = classify.classify(result.table, config.taxonomy)
    return aggregate.build_tables(
        table, tags, config.taxonomy, config.site, table["date_received"].max()
    )


def test_an_article_can_embed_every_registered_chart(demo_tables, config):
    figures = articles.Figures(demo_tables, config.taxonomy, charts.config_text(config))
    lenders = demo_tables["lenders"]
    lender = str(lenders.loc[lenders["in_peer_group"], "lender"].iloc[0])
    behaviour = next(iter(config.taxonomy["behaviours"]))
    subject = {"market": {}, "lender": {"lender": lender}, "behaviour": {"behaviour": behaviour}}
    for spec in charts.REGISTRY:
        for lang in ("en", "zh"):
            chart = figures.chart(spec.kind, lang, **subject[spec.scope])
            assert chart["kind"] == spec.kind and chart["title"]


def test_an_article_chart_without_its_subject_names_what_it_takes(demo_tables, config):
    figures = articles.Figures(demo_tables, config.taxonomy)
    with pytest.raises(articles.ArticleError, match=r"'lender_mix' takes lender= \(given: none\)"):
        figures.chart("lender_mix", "en")
    with pytest.raises(articles.ArticleError, match=r"'top_lenders' takes no argument"):
        figures.chart("top_lenders", "en", behaviour="repeated_contact")
    with pytest.raises(articles.ArticleError, match=r"unknown chart 'pie'.*lender_spikes"):
        figures.chart("pie", "en")


# ── the built site: pages draw every chart, the package lists every CSV ────────────────


@pytest.fixture(scope="module")
def demo_site(built_site) -> Path:
    return built_site()


@pytest.fixture(scope="module")
def package(demo_site) -> dict:
    return json.loads((demo_site / "data/datapackage.json").read_text(encoding="utf-8"))


def chart_resources(package: dict) -> list[dict]:
    return [r for r in package["resources"] if r["path"].startswith("charts/")]


def kind_of(resource: dict) -> str:
    return Path(resource["schema"]).stem


def rows(site: Path, name: str) -> list[dict]:
    text = (site / "data" / name).read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.slow
def test_the_whole_data_package_validates_with_frictionless(demo_site):
    report = frictionless.validate(str(demo_site / "data/datapackage.json"))
    assert report.valid, report.flatten(["resourcePath", "rowNumber", "fieldName", "note"])[:10]
    assert report.stats["tasks"] > 200  # the tables and every chart CSV


@pytest.mark.slow
def test_every_chart_csv_is_listed_in_the_data_package(demo_site, package):
    data = demo_site / "data"
    on_disk = {p.relative_to(data).as_posix() for p in (data / "charts").rglob("*.csv")}
    listed = {r["path"] for r in chart_resources(package)}
    assert on_disk == listed and len(listed) > 200
    names = [r["name"] for r in package["resources"]]
    assert len(names) == len(set(names))


@pytest.mark.slow
def test_every_page_draws_the_charts_of_its_scope(demo_site, package, config):
    """One CSV per chart drawn: each lender page drew every lender chart, each behaviour
    page every behaviour chart, and the spikes charts appear where there are spikes."""
    kinds = Counter(kind_of(r) for r in chart_resources(package))
    lenders = [r for r in rows(demo_site, "lenders.csv") if r["in_peer_group"] == "True"]
    spikes = rows(demo_site, "spikes.csv")
    with_spikes = {r["lender_slug"] for r in spikes if r["lender_slug"]}
    count = {"market": 1, "lender": len(lenders), "behaviour": len(config.taxonomy["behaviours"])}
    for spec in charts.REGISTRY:
        if spec.section == "charts":
            assert kinds[spec.kind] == count[spec.scope], spec.kind
    assert kinds["lender_spikes"] == len(with_spikes & {r["lender_slug"] for r in lenders}) > 0
    assert kinds["market_spikes"] == 1
    # The spikes charts sit in their page's spikes section, above its table.
    slug = sorted(with_spikes & {r["lender_slug"] for r in lenders})[0]
    for page, chart_id in (
        ("index.html", "market-spikes"),
        (f"lenders/{slug}/index.html", f"lender-{slug}-spikes"),
    ):
        doc = BeautifulSoup((demo_site / page).read_text(encoding="utf-8"), "html.parser")
        section = doc.select_one("table.spikes").find_parent("section")
        assert [f["id"] for f in section.select("figure.chart")] == [chart_id], page
    # A chart's views (other resolutions) have a CSV wherever the chart is drawn.
    views = {view: s.kind for s in charts.REGISTRY if s.section for view in s.views}
    assert views
    for view, parent in views.items():
        assert kinds[view] == kinds[parent], view
    # Kinds drawn by no page are the article-only ones, and articles did not use them here.
    drawn = {s.kind for s in charts.REGISTRY if s.section}
    assert set(kinds) <= drawn | set(views)


@pytest.mark.slow
def test_each_chart_csv_has_its_kinds_schema_from_the_registry(demo_site, package):
    text = charts.load_text()
    for resource in chart_resources(package):
        spec = charts.SPECS[kind_of(resource)]
        schema = json.loads((demo_site / "data" / resource["schema"]).read_text("utf-8"))
        assert [(f["name"], f["type"]) for f in schema["fields"]] == list(spec.fields)
        assert [f["description"] for f in schema["fields"]] == [
            text["columns"][name]["en"] for name, _ in spec.fields
        ]
        assert schema["missingValues"] == [""]
        assert resource["title"]
        header = (demo_site / "data" / resource["path"]).read_text("utf-8-sig").split("\n")[0]
        assert header.split(",") == [name for name, _ in spec.fields]


@pytest.mark.slow
def test_frictionless_notices_a_chart_csv_that_breaks_its_schema(demo_site, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(demo_site / "data", data)
    package = json.loads((data / "datapackage.json").read_text(encoding="utf-8"))
    resource = next(r for r in chart_resources(package) if kind_of(r) == "family_trend")
    path = data / resource["path"]
    lines = path.read_bytes().split(b"\n")
    cells = lines[1].split(b",")
    cells[2] = b"many"  # complaints: an integer
    lines[1] = b",".join(cells)
    broken = b"\n".join(lines)
    path.write_bytes(broken)
    # The hash and size are updated, so only the schema can notice.
    resource["hash"] = "sha256:" + hashlib.sha256(broken).hexdigest()
    resource["bytes"] = len(broken)
    (data / "datapackage.json").write_text(json.dumps(package), encoding="utf-8")
    report = frictionless.validate(str(data / "datapackage.json"))
    assert not report.valid
    errors = {(task.name, e.type, e.field_name) for task in report.tasks for e in task.errors}
    assert (resource["name"], "type-error", "complaints") in errors
