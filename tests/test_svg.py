"""svg: every chart's first paint, a static SVG drawn from its Plotly figure.

Figures come from the real chart builders (charts.SPECS) on the demo data, on one month of
it and on a span with a hole in it: each SVG parses as XML, draws a visible mark when the
chart has data, says its message when it has none, and never repeats an x tick label.
Every string in a figure may come from a stranger (company names): none can add an element
or an attribute, whatever it holds (tests/hostile.py).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from collectwatch import aggregate, charts, render, svg

from .hostile import LONG, MARKUP, PWN, TEXT_PAYLOADS
from .test_charts import BUILDERS, LANGS, build, make

NS = "{http://www.w3.org/2000/svg}"
# Everything figure_svg may draw: no script, no foreignObject, no link, no image.
ELEMENTS = {"svg", "defs", "pattern", "linearGradient", "stop", "g", "path", "rect", "line"}
ELEMENTS |= {"circle", "text"}
# Kinds with something to draw from a single month of the demo.
MARKET_TRENDS = {"family_trend", "top_lenders", "state_map", "behaviour_trend"}
TAG = re.compile(r"<(/?)([A-Za-z][\w:-]*)")


# ── data: the demo, one month of it, and a span with a hole ────────────────────────────


@pytest.fixture(scope="module")
def demo_rows(config):
    from collectwatch.classify import classify
    from collectwatch.ingest import read_inputs
    from collectwatch.pipeline import DEMO_INPUTS

    inputs = [str(charts.paths.ROOT / p) for p in DEMO_INPUTS]
    raw = read_inputs(inputs, config.sources, config.lenders)
    return classify(raw.table, config.taxonomy)


def _subset(config, demo_rows, keep) -> dict:
    table, tags = demo_rows
    month = pd.to_datetime(table["date_received"]).dt.strftime("%Y-%m")
    part = table[month.map(keep)]
    part_tags = tags[tags["complaint_id"].isin(part["complaint_id"])]
    return build(config, part, part_tags, part["date_received"].max())


def _busiest(tables: dict) -> dict:
    """Chart subjects with the most to show in ``tables``."""
    lenders = tables["lenders"].sort_values(["complaints", "lender"], ascending=[False, True])
    behaviours = tables["behaviours"].sort_values("complaints", ascending=False)
    spikes = tables["spikes"]
    spikes = spikes[spikes["lender"].astype("string") != aggregate.MARKET]
    lender = str(lenders["lender_slug"].iloc[0])
    return {
        "market": None,
        "lender": lender,
        "behaviour": str(behaviours["behaviour"].iloc[0]),
        "spiking": str(spikes["lender_slug"].iloc[0]) if len(spikes) else lender,
    }


@pytest.fixture(scope="module")
def datasets(config, demo_rows) -> dict[str, tuple[dict, dict]]:
    """Name → (tables, chart subjects)."""
    one = _subset(config, demo_rows, lambda m: m == "2021-03")
    holed = _subset(
        config, demo_rows, lambda m: "2019-01" <= m <= "2021-06" and not "2020-02" <= m <= "2020-09"
    )
    table, tags = demo_rows
    demo = build(config, table, tags, table["date_received"].max())
    return {name: (t, _busiest(t)) for name, t in (("ten-years", demo), ("one-month", one))} | {
        "holed": (holed, _busiest(holed))
    }


@pytest.fixture(scope="module")
def drawn(datasets, config) -> dict:
    """(dataset, kind, lang) → (chart, its SVG, the SVG parsed)."""
    out = {}
    for name, (tables, picks) in datasets.items():
        for kind in BUILDERS:
            for lang in LANGS:
                chart = make(kind, tables, config.taxonomy, picks, lang)
                text = str(render.static_svg(chart, "Not to scale"))
                out[name, kind, lang] = (chart, text, ET.fromstring(text))
    return out


def marks(root: ET.Element) -> list[ET.Element]:
    """The data drawn: lines, dots, bars and tiles (class "m") with something in them."""
    found = []
    for el in root.iter():
        if "m" not in (el.get("class") or "").split():
            continue
        if el.tag == f"{NS}path" and not re.search(r"[0-9]", el.get("d", "")):
            continue
        found.append(el)
    return found


def texts(root: ET.Element, cls: str) -> list[str]:
    return [el.text or "" for el in root.iter(f"{NS}text") if el.get("class") == cls]


# ── every kind, every dataset ──────────────────────────────────────────────────────────


@pytest.mark.parametrize("name", ["ten-years", "one-month", "holed"])
def test_every_chart_is_one_svg_named_by_its_title(drawn, name):
    for (dataset, kind, _), (chart, text, root) in drawn.items():
        if dataset != name:
            continue
        assert root.tag == f"{NS}svg" and root.get("role") == "img", kind
        assert root.get("aria-label") == chart["title"], kind
        assert text.startswith("<svg ") and text.count("<svg ") == 1 + len(root.findall(f"{NS}svg"))
        assert {el.tag.removeprefix(NS) for el in root.iter()} <= ELEMENTS, kind
        assert int(root.get("height")) >= 100, kind
        # Small beside plotly.js: the largest (the family chart's seven panels) is ~13 kB.
        assert len(text.encode()) < 30_000, (kind, len(text))


@pytest.mark.parametrize("name", ["ten-years", "one-month", "holed"])
def test_every_chart_with_data_draws_a_visible_mark(drawn, name):
    kinds_drawn = set()
    for (dataset, kind, lang), (chart, _, root) in drawn.items():
        if dataset != name:
            continue
        if chart["empty"]:
            assert root.get("data-kind") == "empty", kind
            assert chart["figure"]["layout"]["annotations"][0]["text"] in texts(root, "msg")
            continue
        assert root.get("data-kind") != "empty", kind
        assert marks(root), (name, kind, lang)
        kinds_drawn.add(kind)
    # Every kind has data in the demo, the market charts even in one month.
    expected = set(BUILDERS) if name == "ten-years" else MARKET_TRENDS
    assert expected <= kinds_drawn, sorted(expected - kinds_drawn)


@pytest.mark.parametrize("name", ["ten-years", "one-month", "holed"])
def test_no_x_tick_label_repeats(drawn, name):
    labelled = 0
    for (dataset, kind, lang), (_, _, root) in drawn.items():
        if dataset != name:
            continue
        ticks = [t for t in texts(root, "xt") if t.strip()]
        assert len(ticks) == len(set(ticks)), (name, kind, lang, ticks)
        if root.get("data-kind") == "time":
            assert ticks, (name, kind, lang)
            labelled += 1
    assert labelled >= 4


def test_time_ticks_are_the_figures_own(drawn):
    """The SVG labels the x axis as Plotly will: the layout's tick texts, in order."""
    for (_, kind, _), (chart, _, root) in drawn.items():
        if root.get("data-kind") == "time":
            assert texts(root, "xt") == chart["figure"]["layout"]["xaxis"]["ticktext"], kind


@pytest.mark.parametrize("kind", ["family_trend", "behaviour_trend"])
def test_a_one_month_series_is_a_dot_not_a_bare_line(drawn, kind):
    chart, _, root = drawn["one-month", kind, "en"]
    assert not chart["empty"] and root.get("data-kind") == "time"
    for mark in marks(root):
        assert mark.get("stroke-linecap") == "round", "a single month must show as a dot"


def test_the_family_chart_draws_one_panel_per_family(drawn, config):
    chart, _, root = drawn["ten-years", "family_trend", "en"]
    panels = texts(root, "pn")
    axes = {t.get("yaxis", "y") for t in chart["figure"]["data"]}
    families = {f["name"]["en"] for f in config.taxonomy["families"].values()}
    assert len(panels) == len(axes) >= 5 and set(panels) <= families
    assert len(root.findall(f"{NS}svg")) == len(axes)  # one plot area each


def test_the_state_map_draws_every_state_with_its_note(drawn):
    for kind in ("state_map", "behaviour_state_map"):
        chart, _, root = drawn["ten-years", kind, "en"]
        (grid,) = [el for el in root.findall(f"{NS}svg") if el.find(f"{NS}rect") is not None]
        tiles = dict(zip(grid.findall(f"{NS}text"), grid.findall(f"{NS}rect"), strict=True))
        assert sorted(t.text for t in tiles) == sorted(svg.TILES) and len(tiles) == 51
        assert texts(root, "note") == ["Not to scale"]
        # The state with the most complaints is the darkest tile (the scale is reversed).
        trace = chart["figure"]["data"][0]
        top = max(zip(trace["z"], trace["locations"], strict=True))[1]

        def lightness(rect):
            fill = rect.get("fill")
            return sum(int(fill[i : i + 2], 16) for i in (1, 3, 5)) if fill[0] == "#" else 999

        darkest = min(tiles, key=lambda t: lightness(tiles[t]))
        assert darkest.text == top, kind


def test_the_same_figure_gives_the_same_svg(drawn, datasets, config):
    tables, picks = datasets["holed"]
    again = make("lender_trend", tables, config.taxonomy, picks, "zh")
    assert str(render.static_svg(again, "Not to scale")) == drawn["holed", "lender_trend", "zh"][1]


# ── strangers' strings ─────────────────────────────────────────────────────────────────

HOSTILE = [*TEXT_PAYLOADS, LONG, "A & B <b>Co</b> \"quoted\" 'single'", "\x00\x0b\ufffe nul"]


def assert_inert(text: str) -> ET.Element:
    """The SVG parses, holds only drawing elements and no event handler or link."""
    root = ET.fromstring(text)
    for el in root.iter():
        assert el.tag.removeprefix(NS) in ELEMENTS, el.tag
        for attr in el.attrib:
            assert not attr.lower().startswith("on") and "href" not in attr.lower(), attr
    # As an HTML parser reads it too: every tag is one figure_svg writes.
    assert {m.group(2) for m in TAG.finditer(text)} <= ELEMENTS
    assert "<script" not in text.lower() and "<!--" not in text and "]]>" not in text
    return root


def _renamed(tables: dict, names: list[str]) -> dict:
    """``tables`` with the companies' names, by rank, replaced by ``names`` in turn."""
    slugs = tables["lenders"].sort_values(["rank", "lender"])["lender_slug"].astype(str)
    rename = {s: names[i % len(names)] for i, s in enumerate(slugs)}
    out = {}
    for key, table in tables.items():
        if isinstance(table, pd.DataFrame) and {"lender", "lender_slug"} <= set(table.columns):
            table = table.copy()
            mine = table["lender_slug"].astype("string").isin(rename)
            table["lender"] = table["lender"].astype("object")
            table.loc[mine, "lender"] = table.loc[mine, "lender_slug"].astype(str).map(rename)
        out[key] = table
    return out


def _shown_names(figure: dict) -> set[str]:
    """Trace names and category labels of ``figure``: what a chart draws as text."""
    found = set()
    for trace in figure["data"]:
        found.add(trace.get("name"))
        if trace.get("type") == "bar":
            found |= set(trace.get("y" if trace.get("orientation") == "h" else "x") or [])
    return {n for n in found if isinstance(n, str)}


@pytest.mark.parametrize("lang", LANGS)
def test_hostile_company_names_are_drawn_as_text(datasets, config, lang):
    tables, picks = datasets["ten-years"]
    hostile = _renamed(tables, HOSTILE)
    shown, named = set(), set()
    for kind in BUILDERS:
        chart = make(kind, hostile, config.taxonomy, picks, lang)
        root = assert_inert(str(render.static_svg(chart, PWN)))
        shown |= {"".join(el.itertext()) for el in root.iter(f"{NS}text")}
        named |= _shown_names(chart["figure"]) & set(HOSTILE)
    assert len(named) >= 10, named  # the payloads reached the figures
    for payload in named:
        # Drawn (cut to MAX_LABEL, control characters dropped), never interpreted.
        clean = re.sub(r"[\x00-\x1f\ufffe]", "", payload)
        assert any(clean[:20] in s for s in shown), payload
    if LONG in named:
        assert any(len(s) == svg.MAX_LABEL and s.endswith("…") for s in shown)


def _figures(bad: str) -> list[dict]:
    """One small figure of each drawer with ``bad`` in every string a figure can show."""
    annotation = {"text": bad, "textangle": -90, "x": "2020-02", "xref": "x", "yref": "paper"}
    band = {"type": "rect", "xref": "x", "x0": "2020-01", "x1": "2020-02", "name": bad}
    band |= {"showlegend": True, "fillcolor": bad, "fillpattern": {"shape": "/"}}
    line = {"type": "line", "xref": "x", "x0": 2, "x1": 2, "name": bad, "showlegend": True}
    line |= {"line": {"color": bad, "dash": "dot"}}
    titled = {"title": {"text": bad}, "tickformat": bad}
    time = {
        "data": [
            {"type": "scatter", "mode": "lines", "name": bad, "x": ["2020-01", "2020-03"]}
            | {"y": [1, 2], "line": {"color": bad}},
            {"type": "scatter", "mode": "markers", "name": bad, "x": ["2020-03"], "y": [2]}
            | {"marker": {"color": [bad]}, "yaxis": "y2"},
        ],
        "layout": {
            "xaxis": {"tickvals": ["2020-01-01", "2020-03-01"], "ticktext": [bad, bad + "2"]},
            "yaxis": titled | {"domain": [0.5, 1]},
            "yaxis2": {"domain": [0, 0.4]},
            "shapes": [band],
            "annotations": [annotation, {"text": bad, "yref": "y2 domain"}],
        },
    }
    hbar = {
        "data": [
            {"type": "bar", "orientation": "h", "name": bad, "x": [3, 1], "y": [bad, bad + "x"]}
            | {"marker": {"color": bad}, "error_x": {"array": [1, 1], "color": bad}},
            {"type": "scatter", "mode": "markers", "name": bad, "x": [2], "y": [bad]}
            | {"marker": {"line": {"color": bad}}},
        ],
        "layout": {"xaxis": titled, "shapes": [line], "annotations": [{"y": bad, "text": bad}]},
    }
    vbar = {
        "data": [{"type": "bar", "name": bad, "x": [bad, "TX"], "y": [2, 1]}],
        "layout": {"yaxis": titled},
    }
    tile_map = {
        "data": [
            {"type": "choropleth", "locations": [bad, "TX"], "z": [1, 2]}
            | {"colorbar": {"title": {"text": bad}, "tickformat": bad}}
        ],
        "layout": {},
    }
    empty = {"data": [], "layout": {"height": 160, "annotations": [{"text": bad}]}}
    return [time, hbar, vbar, tile_map, empty]


@pytest.mark.parametrize("bad", HOSTILE, ids=range(len(HOSTILE)))
def test_every_string_of_a_figure_is_escaped(bad):
    for figure in _figures(bad):
        text = svg.figure_svg(figure, bad, uid=bad, note=bad)
        root = assert_inert(text)
        if bad.isprintable():
            cut = bad if len(bad) <= svg.MAX_TITLE else bad[: svg.MAX_TITLE - 1] + "…"
            assert root.get("aria-label") == cut
        ids = [el.get("id") for el in root.iter() if el.get("id")]
        assert all(re.fullmatch(r"[A-Za-z0-9_-]+", i) for i in ids), ids
        if bad in MARKUP:
            assert bad in "".join(root.itertext()), root.get("data-kind")
