"""charts: every chart built from the demo tables draws exactly its data, compactly, in both
languages, with provisional months and label revisions marked; empty inputs do not raise."""

from __future__ import annotations

import json
import re

import pandas as pd
import plotly.graph_objects as go
import pytest

from collectwatch import aggregate, charts
from collectwatch.classify import classify
from collectwatch.ingest import read_inputs
from collectwatch.pipeline import DEMO_INPUTS

TEXT = charts.load_text()
LANGS = ("en", "zh")
CJK = re.compile(r"[\u4e00-\u9fff]")
MAX_FIGURE_BYTES = 40_000  # the largest demo figure is about 18 kB


# ── fixtures: the demo data, classified and aggregated ─────────────────────────────────


@pytest.fixture(scope="module")
def classified(config):
    inputs = [str(charts.paths.ROOT / p) for p in DEMO_INPUTS]
    raw = read_inputs(inputs, config.sources, config.lenders)
    return classify(raw.table, config.taxonomy)


def build(config, table: pd.DataFrame, tags: pd.DataFrame, as_of) -> dict:
    return aggregate.build_tables(table, tags, config.taxonomy, config.site, as_of)


@pytest.fixture(scope="module")
def tables(config, classified):
    table, tags = classified
    return build(config, table, tags, table["date_received"].max())


@pytest.fixture(scope="module")
def taxonomy(config):
    return config.taxonomy


@pytest.fixture(scope="module")
def picks(tables):
    """Which lender, behaviour and spiking lender to chart: chosen from the data."""
    lenders = tables["lenders"]
    peers = lenders[lenders["in_peer_group"]].sort_values(["rank", "lender"])
    behaviours = tables["behaviours"].sort_values("complaints", ascending=False)
    sp = tables["spikes"]
    sp = sp[sp["lender"].astype("string") != aggregate.MARKET]
    return {
        "market": None,
        "lender": str(peers["lender_slug"].iloc[0]),
        "behaviour": str(behaviours["behaviour"].iloc[0]),
        "spiking": str(sp["lender_slug"].iloc[0]) if len(sp) else None,
    }


# Every registered chart, by kind; each is built for the subject its scope takes.
BUILDERS = charts.SPECS
TIME_KINDS = {s.kind for s in charts.REGISTRY if ("month", "yearmonth") in s.fields}


def make(kind: str, tables: dict, taxonomy: dict, picks: dict, lang: str) -> dict:
    """Chart ``kind`` for the picked lender or behaviour (the spiking lender for spikes)."""
    spec = charts.SPECS[kind]
    pick = "spiking" if kind == "lender_spikes" else spec.scope
    return spec.build(tables, taxonomy, picks.get(pick), lang)


@pytest.fixture(scope="module")
def built(tables, taxonomy, picks):
    return {
        (kind, lang): make(kind, tables, taxonomy, picks, lang)
        for kind in BUILDERS
        for lang in LANGS
    }


def walk(node, path=()):
    """Every (path, value) in a nested dict/list."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, (*path, i))
    else:
        yield path, node


def col(data: pd.DataFrame, name: str) -> list:
    return charts.values(data[name])


def name_of(taxonomy, kind, key, lang):
    return taxonomy[kind][key]["name"][lang]


def parse_number(cell: str):
    """'1,234' → 1234, '12.3%' → 12.3 (percent), '' → None."""
    cell = cell.strip()
    if not cell:
        return None
    if cell.endswith("%"):
        return float(cell[:-1])
    return int(cell.replace(",", ""))


def pct(share) -> float | None:
    return None if share is None else round(share * 100, 1)


# ── every chart: shape of the contract ─────────────────────────────────────────────────


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", BUILDERS)
def test_chart_contract_and_compact_json(built, kind, lang):
    chart = built[kind, lang]
    assert set(chart) == {
        *("id", "kind", "title", "summary", "figure", "data", "table", "source", "facts", "empty")
    }
    assert chart["kind"] == kind
    assert not chart["source"].lower().startswith(("source", "来源"))  # the page adds it
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", chart["id"]), chart["id"]
    assert not chart["empty"], f"{kind} should have something to draw from the demo data"
    fig = chart["figure"]
    # Stdlib JSON, no NaN, no numpy.
    plain = json.dumps(fig, allow_nan=False)
    text = charts.figure_json(fig)
    assert json.loads(text) == json.loads(plain)
    assert len(text) < MAX_FIGURE_BYTES, f"{kind}: {len(text)} bytes"
    # No template of any kind, and no fixed width (the figure fills its container).
    assert all("template" not in path for path, _ in walk(fig))
    assert "width" not in fig["layout"] and fig["layout"]["autosize"] is True
    # Plotly itself accepts every property.
    go.Figure(fig)
    # Floats rounded, dates short.
    for path, value in walk(fig):
        if isinstance(value, float):
            assert value == round(value, 4), (path, value)
    for trace in fig["data"]:
        if trace.get("mode") == "lines":
            assert all(re.fullmatch(r"\d{4}-\d{2}", x) for x in trace["x"])


def test_theme_is_shared_and_transparent(built):
    layouts = [c["figure"]["layout"] for c in built.values()]
    for layout in layouts:
        assert "Noto Sans CJK SC" in layout["font"]["family"]
        assert layout["paper_bgcolor"] == layout["plot_bgcolor"] == "rgba(0,0,0,0)"
        assert layout["legend"]["orientation"] == "h"
        assert layout["colorway"] == charts.PALETTE
    assert len({json.dumps(lay["margin"]) for lay in layouts}) == 1


def test_ids_are_unique_and_the_same_in_every_language(built):
    for lang in LANGS:
        ids = [built[kind, lang]["id"] for kind in BUILDERS]
        assert len(ids) == len(set(ids))
    for kind in BUILDERS:
        en, zh = built[kind, "en"], built[kind, "zh"]
        assert en["id"] == zh["id"]
        # One CSV serves both languages.
        pd.testing.assert_frame_equal(en["data"], zh["data"])


# ── the numbers drawn are the numbers in `data` and in the table ───────────────────────


def lines(fig):
    return [t for t in fig["data"] if t.get("mode") == "lines"]


@pytest.mark.parametrize("kind", sorted(TIME_KINDS))
def test_time_chart_draws_its_data(built, kind):
    chart = built[kind, "en"]
    data, traces = chart["data"], lines(chart["figure"])
    series = list(dict.fromkeys(data["series"]))
    assert len(traces) == len(series)
    for trace, s in zip(traces, series, strict=True):
        rows = data[data["series"] == s]
        assert trace["x"] == col(rows, "month")
        assert trace["y"] == col(rows, "complaints")
    # The table: one row per month, one column per series, the same counts.
    table = chart["table"]
    months = sorted(set(data["month"]))
    assert [row[0][:7] for row in table["rows"]] == months
    for j, s in enumerate(series, start=1):
        rows = data[data["series"] == s].set_index("month")["complaints"]
        got = [parse_number(row[j]) for row in table["rows"]]
        assert got == [None if m not in rows.index else int(rows[m]) for m in months]


def test_spike_markers_sit_on_the_spike_months(built, tables):
    for kind in ("market_spikes", "lender_spikes"):
        chart = built[kind, "en"]
        data = chart["data"]
        marks = next(t for t in chart["figure"]["data"] if t.get("mode") == "markers")
        spiked = data[data["spike"]]
        assert marks["x"] == col(spiked, "month")
        assert marks["y"] == col(spiked, "complaints")
        assert marks["customdata"] == charts.values(spiked["baseline"], 2)
    # Every market spike of the drawn behaviours is marked.
    sp = tables["spikes"]
    sp = sp[sp["lender"].astype("string") == aggregate.MARKET]
    data = built["market_spikes", "en"]["data"]
    drawn = sp[sp["behaviour"].astype("string").isin(set(data["series"]))]
    marked = data[data["spike"]]
    assert sorted(zip(marked["series"], marked["month"], strict=True)) == sorted(
        zip(
            drawn["behaviour"].astype(str),
            drawn["month"].dt.strftime("%Y-%m"),
            strict=True,
        )
    )


def test_top_lenders_draws_its_data(built):
    chart = built["top_lenders", "en"]
    data, (bar,) = chart["data"], chart["figure"]["data"]
    assert bar["x"] == col(data, "complaints")
    assert bar["y"] == col(data, "lender")
    assert bar["customdata"] == col(data, "lender_slug")
    assert [[parse_number(r[0]), r[1], parse_number(r[2])] for r in chart["table"]["rows"]] == [
        [r.rank, r.lender, r.complaints] for r in data.itertuples()
    ]


def check_interval_bars(bar, data):
    assert bar["x"] == col(data, "share")
    hi = [round(s + e, 4) for s, e in zip(bar["x"], bar["error_x"]["array"], strict=True)]
    lo = [round(s - e, 4) for s, e in zip(bar["x"], bar["error_x"]["arrayminus"], strict=True)]
    assert hi == col(data, "share_hi")
    assert lo == col(data, "share_lo")


def check_share_cells(cells, shares):
    assert [parse_number(c) for c in cells] == [pct(s) for s in shares]


@pytest.mark.parametrize("kind", ["lender_mix", "lender_family_mix"])
def test_lender_mix_draws_its_data(built, taxonomy, kind):
    chart = built[kind, "en"]
    data = chart["data"]
    bar, median = chart["figure"]["data"]
    group = "behaviours" if kind == "lender_mix" else "families"
    names = [name_of(taxonomy, group, c, "en") for c in data["category"]]
    assert bar["y"] == median["y"] == names
    check_interval_bars(bar, data)
    assert median["x"] == col(data, "peer_median")
    rows = chart["table"]["rows"]
    assert [r[0] for r in rows] == names
    assert [parse_number(r[1]) for r in rows] == col(data, "complaints")
    check_share_cells([r[2] for r in rows], col(data, "share"))
    assert [r[3] for r in rows] == [
        f"{lo * 100:.1f}%–{hi * 100:.1f}%"
        for lo, hi in zip(col(data, "share_lo"), col(data, "share_hi"), strict=True)
    ]
    check_share_cells([r[4] for r in rows], col(data, "peer_median"))


def test_lender_responses_draw_their_data(built, tables, picks):
    chart = built["lender_responses", "en"]
    data = chart["data"]
    mine, market = chart["figure"]["data"]
    assert mine["x"] == col(data, "share")
    assert market["x"] == col(data, "market_share")
    assert mine["y"] == [TEXT["outcomes"][r]["en"] for r in data["response"]]
    rows = chart["table"]["rows"]
    assert [parse_number(r[1]) for r in rows] == col(data, "complaints")
    check_share_cells([r[2] for r in rows], col(data, "share"))
    check_share_cells([r[3] for r in rows], col(data, "market_share"))
    # The timely row is the responses table's timely rate.
    responses = tables["responses"]
    row = responses[responses["lender_slug"].astype("string") == picks["lender"]].iloc[0]
    timely = data[data["response"] == "timely"].iloc[0]
    assert timely["share"] == round(float(row["timely_rate"]), 4)


def test_lender_states_draw_their_data(built):
    chart = built["lender_states", "en"]
    data, (bar,) = chart["data"], chart["figure"]["data"]
    assert bar["x"] == col(data, "state")
    assert bar["y"] == col(data, "complaints")
    assert [[r[0], parse_number(r[1])] for r in chart["table"]["rows"]] == [
        [s, n] for s, n in zip(col(data, "state"), col(data, "complaints"), strict=True)
    ]


def test_behaviour_top_lenders_draw_their_data(built, tables, picks):
    chart = built["behaviour_top_lenders", "en"]
    data, (bar,) = chart["data"], chart["figure"]["data"]
    assert bar["y"] == col(data, "lender")
    check_interval_bars(bar, data)
    (line,) = [s for s in chart["figure"]["layout"]["shapes"] if s["type"] == "line"]
    assert line["x0"] == line["x1"] == col(data, "peer_median")[0]
    rows = chart["table"]["rows"]
    assert [r[0] for r in rows] == col(data, "lender")
    check_share_cells([r[2] for r in rows], col(data, "share"))
    # Only peer-group lenders, highest share first.
    mix = tables["behaviour_mix"]
    peers = set(mix.loc[mix["in_peer_group"], "lender"].astype(str))
    assert set(data["lender"]) <= peers
    assert col(data, "share") == sorted(col(data, "share"), reverse=True)


@pytest.mark.parametrize("kind", ["state_map", "behaviour_state_map"])
def test_state_map_draws_its_data(built, kind):
    chart = built[kind, "en"]
    data, (trace,) = chart["data"], chart["figure"]["data"]
    assert trace["type"] == "choropleth" and trace["locationmode"] == "USA-states"
    assert trace["locations"] == col(data, "state")
    z = "share" if kind == "behaviour_state_map" else "complaints"
    assert trace["z"] == col(data, z)
    assert set(data["state"]) <= charts.US_STATES
    geo = chart["figure"]["layout"]["geo"]
    assert geo["scope"] == "usa"
    rows = chart["table"]["rows"]
    assert [parse_number(r[1]) for r in rows] == col(data, "complaints")
    if z == "share":
        check_share_cells([r[3] for r in rows], col(data, "share"))


# ── provisional months and label revisions ─────────────────────────────────────────────


def revision_dates(taxonomy) -> list[str]:
    return sorted(str(e["start"]) for e in taxonomy["eras"])[1:]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", sorted(TIME_KINDS))
def test_time_charts_shade_provisional_months_and_mark_revisions(built, taxonomy, kind, lang):
    chart = built[kind, lang]
    data, layout = chart["data"], chart["figure"]["layout"]
    shapes = layout["shapes"]
    provisional = sorted(set(data.loc[data["provisional"], "month"]))
    assert provisional, "the demo data ends with provisional months"
    (rect,) = [s for s in shapes if s["type"] == "rect"]
    assert rect["name"] == TEXT["common"]["provisional"][lang] and rect["showlegend"]
    assert rect["x0"][:7] <= provisional[0] and rect["x1"][:7] >= provisional[-1]
    # It covers no complete month's point.
    complete = sorted(set(data.loc[~data["provisional"], "month"]))
    assert rect["x0"] > complete[-1]

    first, last = min(data["month"]), max(data["month"])
    inside = [d for d in revision_dates(taxonomy) if first <= d[:7] <= last]
    assert inside, "the demo data spans the label revisions"
    lines_ = [s for s in shapes if s["type"] == "line"]
    assert [s["x0"] for s in lines_] == inside
    assert all(s["line"]["dash"] == "dot" for s in lines_)
    labels = [
        a for a in layout["annotations"] if a["text"] == TEXT["common"]["labels_revised"][lang]
    ]
    assert [a["x"] for a in labels] == inside


def test_revisions_outside_the_range_are_not_marked(tables, taxonomy):
    dates = revision_dates(taxonomy)
    # Only the months strictly between the first two revisions, none provisional.
    lo, hi = pd.Timestamp(dates[0]), pd.Timestamp(dates[1])
    fm = tables["family_monthly"]
    inner = fm[(fm["month"] > lo) & (fm["month"] + pd.offsets.MonthEnd(0) < hi)]
    chart = charts.family_trend({**tables, "family_monthly": inner}, taxonomy, "en")
    shapes = chart["figure"]["layout"]["shapes"]
    assert not [s for s in shapes if s["type"] in ("line", "rect")]
    # Only the small multiples' panel names, no revision label.
    notes = chart["figure"]["layout"]["annotations"]
    assert all(a["xref"].endswith(" domain") for a in notes)
    assert TEXT["common"]["provisional_note"]["en"] not in chart["summary"]


# ── summaries: one sentence, with a number computed from the tables ────────────────────


def last_12_complete(frame: pd.DataFrame, value: str = "complaints") -> int:
    done = frame[~frame["provisional"]].sort_values("month")
    return int(done[value].tail(12).sum())


def expected_fact(kind, tables, picks, taxonomy):
    """(facts key, value computed here from the tables, how the summary writes it)."""
    slug = picks["lender"]
    if kind.startswith("family_trend"):  # its quarter and year views say the same
        fm = tables["family_monthly"]
        totals = {f: last_12_complete(fm[fm["family"] == f]) for f in taxonomy["families"]}
        top = max(totals.values())
        return "recent", top, f"{top:,}"
    if kind == "top_lenders":
        n = int(tables["lenders"]["complaints"].max())
        return "complaints", n, f"{n:,}"
    if kind == "state_map":
        sb = tables["state_behaviour"]
        sb = sb[sb["state"].isin(charts.US_STATES)]
        n = int(sb.groupby("state")["state_complaints"].first().max())
        return "complaints", n, f"{n:,}"
    if kind == "behaviour_state_map":
        sb = tables["state_behaviour"]
        sb = sb[sb["state"].isin(charts.US_STATES) & (sb["behaviour"] == picks["behaviour"])]
        n = int(sb["complaints"].max())
        return "complaints", n, f"{n:,}"
    if kind == "lender_trend":
        lm = tables["lender_monthly"]
        n = last_12_complete(lm[lm["lender_slug"] == slug])
        return "recent", n, f"{n:,}"
    if kind in ("lender_mix", "lender_family_mix"):
        mix = tables["behaviour_mix" if kind == "lender_mix" else "family_mix"]
        rows = mix[mix["lender_slug"] == slug]
        above = rows[rows["above_peers"]]
        if len(above):
            pick = above.loc[(above["share_lo"] - above["peer_median"]).astype(float).idxmax()]
        else:
            pick = rows.loc[rows["share"].astype(float).idxmax()]
        share = round(float(pick["share"]), 4)
        return "share", share, f"{share * 100:.1f}%"
    if kind == "lender_responses":
        r = tables["responses"]
        rate = round(float(r.loc[r["lender_slug"] == slug, "timely_rate"].iloc[0]), 4)
        return "timely_rate", rate, f"{rate * 100:.1f}%"
    if kind == "lender_states":
        ls = tables["lender_states"]
        n = int(ls.loc[ls["lender_slug"] == slug, "complaints"].max())
        return "complaints", n, f"{n:,}"
    if kind == "behaviour_trend":
        mm = tables["market_monthly"]
        n = last_12_complete(mm[mm["behaviour"] == picks["behaviour"]])
        return "recent", n, f"{n:,}"
    if kind == "behaviour_top_lenders":
        mix = tables["behaviour_mix"]
        rows = mix[(mix["behaviour"] == picks["behaviour"]) & mix["in_peer_group"]]
        share = round(float(rows["share"].max()), 4)
        return "share", share, f"{share * 100:.1f}%"
    if kind in ("market_spikes", "lender_spikes"):
        sp = tables["spikes"]
        if kind == "market_spikes":
            sp = sp[sp["lender"] == aggregate.MARKET]
        else:
            sp = sp[sp["lender_slug"] == picks["spiking"]]
        latest = sp.sort_values(["month", "score"], ascending=False).iloc[0]
        n = int(latest["complaints"])
        return "complaints", n, f"{n:,}"
    raise AssertionError(kind)


def one_sentence(summary: str, names: list[str]) -> bool:
    for name in names:  # "Cobalt Ridge Financial, Inc. drew…" is still one sentence
        summary = summary.replace(name, "X")
    body, end = summary[:-1], summary[-1]
    return end in ".。" and not re.search(r"[.!?](\s|$)|[。！？]", body)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", BUILDERS)
def test_summary_is_one_sentence_with_a_number_from_the_data(
    built, tables, picks, taxonomy, kind, lang
):
    chart = built[kind, lang]
    key, value, written = expected_fact(kind, tables, picks, taxonomy)
    assert chart["facts"][key] == value
    assert written in chart["summary"], (written, chart["summary"])
    names = [str(n) for n in tables["lenders"]["lender"]]
    assert one_sentence(chart["summary"], names), chart["summary"]


def test_trend_summary_mentions_provisional_months(built):
    for lang in LANGS:
        note = TEXT["common"]["provisional_note"][lang]
        assert note in built["family_trend", lang]["summary"]


# ── languages ──────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("kind", BUILDERS)
def test_zh_charts_speak_chinese(built, kind):
    en, zh = built[kind, "en"], built[kind, "zh"]
    assert CJK.search(zh["title"]) and not CJK.search(en["title"].split(":")[-1])
    assert CJK.search(zh["summary"]) and CJK.search(zh["source"])
    for path, value in walk(zh["figure"]):
        if path[-2:] == ("title", "text"):
            assert CJK.search(value), (path, value)
    assert all(CJK.search(c) or c.isupper() for c in zh["table"]["columns"][:1])


# ── figure_json is safe inside <script> ────────────────────────────────────────────────


def test_figure_json_cannot_break_out_of_a_script_element():
    hostile = 'Evil </script><script>alert(1)</script> <!-- & "Co" >'
    fig = {"data": [{"type": "bar", "name": hostile, "x": [1], "y": [hostile]}], "layout": {}}
    text = charts.figure_json(fig)
    for bad in ("<", ">", "&", "</script", "<!--"):
        assert bad not in text
    assert "\\u003c/script\\u003e" in text and "\\u003c!--" in text
    assert json.loads(text) == fig
    assert ", " not in text and '": ' not in text  # compact separators


# ── a chart's numbers once, its words per language ─────────────────────────────────────


@pytest.mark.parametrize("kind", BUILDERS)
def test_a_chart_splits_into_shared_numbers_and_each_languages_words(built, kind):
    figures = {lang: built[kind, lang]["figure"] for lang in LANGS}
    shared, overlays = charts.split_languages(figures)
    for lang in LANGS:
        assert charts.overlay(shared, overlays.get(lang, {})) == figures[lang]
    # The numbers are shared: an overlay holds words alone, and is a small part of the figure.
    for lang in LANGS:
        laid = overlays.get(lang, {})
        numbers = [v for _, v in walk(laid) if isinstance(v, (int, float)) and v is not True]
        assert not numbers, (kind, lang, numbers[:5])
        assert len(charts.figure_json(laid)) < len(charts.figure_json(figures[lang])) / 2, kind


@pytest.mark.parametrize(
    ("en", "zh"),
    [
        ({"a": [1, 2], "b": "x"}, {"a": [1, 2], "b": "y"}),  # one word differs
        ({"a": [1, None, "n"]}, {"a": [1, None, "名"]}),  # in a list, beside a gap
        ({"a": {"k": 1}}, {"a": {"k": 1, "j": 2}}),  # other keys
        ({"a": [1, 2]}, {"a": [1]}),  # another length
        ({"a": "x"}, {"a": None}),  # a value against nothing
        ([1, {"t": "a"}], [1, {"t": "b"}]),
        ("en", {"zh": 1}),  # nothing in common
        ({"same": [1, 2]}, {"same": [1, 2]}),
    ],
)
def test_split_languages_round_trips_whatever_the_shapes(en, zh):
    shared, overlays = charts.split_languages({"en": en, "zh": zh})
    assert charts.overlay(shared, overlays.get("en", {})) == en
    assert charts.overlay(shared, overlays.get("zh", {})) == zh


def test_a_chart_data_file_is_a_script_no_string_can_end(tmp_path):
    hostile = 'Evil </script><!-- \u2028 "]=1;alert(1)//'
    data = {"figure": {"data": [{"name": hostile}]}, "text": {"en": {"title": hostile}}}
    text = charts.chart_script("lender-x-trend", data).decode()
    assert text.startswith('(window.collectwatchCharts=window.collectwatchCharts||{})["lender-x-')
    for bad in ("</script", "<!--", "\u2028"):
        assert bad not in text
    body = text.split("=", 2)[2].rstrip(";\n")  # after the id's "]="
    assert json.loads(body) == data


def test_a_hostile_company_name_stays_inside_the_json(tables, taxonomy):
    lenders = tables["lenders"].copy()
    lenders["lender"] = lenders["lender"].astype(str)
    lenders.loc[lenders.index[0], "lender"] = "</script><!--x"
    chart = charts.top_lenders({**tables, "lenders": lenders}, taxonomy, "en")
    assert "</script><!--x" in chart["figure"]["data"][0]["y"]
    assert "</" not in charts.figure_json(chart["figure"])


def test_no_nan_reaches_the_figure(tables, taxonomy, picks):
    # A lender with no timeliness data has an NA rate: it must become null, not NaN.
    responses = tables["responses"].copy()
    mine = responses["lender_slug"].astype("string") == picks["lender"]
    responses.loc[mine, ["timely_known", "timely_yes"]] = 0
    chart = charts.lender_responses({**tables, "responses": responses}, taxonomy, picks["lender"])
    json.dumps(chart["figure"], allow_nan=False)
    timely = chart["data"][chart["data"]["response"] == "timely"]
    assert timely["share"].isna().all()
    assert chart["figure"]["data"][0]["x"][-1] is None


# ── nothing to draw ────────────────────────────────────────────────────────────────────


def check_empty(chart, lang="en"):
    assert chart["empty"]
    assert chart["table"]["rows"] == []
    assert chart["data"].empty
    assert chart["figure"]["data"] == []
    assert chart["summary"] in (
        TEXT["common"]["empty"][lang],
        TEXT["charts"]["spikes"]["none"][lang],
    )
    json.dumps(chart["figure"], allow_nan=False)
    charts.figure_json(chart["figure"])


@pytest.mark.parametrize("rows", [0, 1], ids=["no-complaints", "one-complaint"])
@pytest.mark.parametrize("lang", LANGS)
def test_tiny_inputs_give_empty_charts_not_errors(config, classified, rows, lang):
    table, tags = classified
    tiny = table.iloc[:rows]
    tiny_tags = tags[tags["complaint_id"].isin(tiny["complaint_id"])]
    tables = build(config, tiny, tiny_tags, table["date_received"].max())
    slug = str(tiny["lender_slug"].iloc[0]) if rows else "nobody"
    behaviour = next(iter(config.taxonomy["behaviours"]))
    picks = {"market": None, "lender": slug, "behaviour": behaviour, "spiking": slug}
    for kind in BUILDERS:
        chart = make(kind, tables, config.taxonomy, picks, lang)
        check_empty(chart, lang)
        assert chart["title"], kind


def test_a_one_complaint_lender_among_many_gets_empty_charts(tables, taxonomy):
    lenders = tables["lenders"]
    smallest = lenders.sort_values("complaints").iloc[0]
    if int(smallest["complaints"]) >= charts.MIN_COMPLAINTS:
        pytest.skip("no lender with a single complaint in the demo data")
    slug = str(smallest["lender_slug"])
    for make in (charts.lender_trend, charts.lender_mix, charts.lender_responses):
        check_empty(make(tables, taxonomy, slug, "en"))


def test_a_lender_without_spikes_says_so(tables, taxonomy):
    sp = tables["spikes"]
    lenders = tables["lenders"]
    quiet = lenders[
        lenders["in_peer_group"] & ~lenders["lender_slug"].isin(set(sp["lender_slug"].dropna()))
    ]
    chart = charts.spikes(tables, taxonomy, str(quiet["lender_slug"].iloc[0]), "en")
    check_empty(chart)
    assert chart["summary"] == TEXT["charts"]["spikes"]["none"]["en"]


def test_a_company_trend_starts_with_its_largest_families(built, taxonomy):
    chart = built["lender_trend", "en"]
    traces = lines(chart["figure"])
    visible = [t for t in traces if t.get("visible", True) is True]
    assert visible[0]["name"] == TEXT["common"]["all_complaints"]["en"]
    assert 1 < len(visible) <= charts.LENDER_FAMILIES + 1
    # The visible families are the company's largest.
    data = chart["data"]
    sizes = data[data["series"] != "all"].groupby("series")["complaints"].sum()
    trace_of = {t["name"]: t for t in traces}
    shown = {
        s: trace_of[name_of(taxonomy, "families", s, "en")].get("visible", True) is True
        for s in sizes.index
    }
    assert min(sizes[s] for s in sizes.index if shown[s]) >= max(
        (sizes[s] for s in sizes.index if not shown[s]), default=0
    )


def test_family_trend_is_small_multiples_one_panel_per_family(built, taxonomy):
    # Seven lines on one plot hid which kind of conduct grew: each family gets its own
    # panel, its own y scale and its name above it, on one shared time axis.
    for lang in LANGS:
        fig = built["family_trend", lang]["figure"]
        traces = [t for t in fig["data"] if t.get("mode", "").startswith("lines")]
        axes = [(t.get("xaxis", "x"), t.get("yaxis", "y")) for t in traces]
        assert len(set(axes)) == len(traces) >= 2
        layout = fig["layout"]
        domains = [tuple(layout["yaxis" + y[1:]]["domain"]) for _, y in axes]
        # No two panels overlap.
        assert all(a[0] > b[1] for a, b in zip(domains, domains[1:], strict=False)), domains
        assert all(layout["xaxis" + x[1:]].get("matches", "x") == "x" for x, _ in axes)
        names = {a["text"] for a in layout["annotations"] if a["xref"].endswith(" domain")}
        assert names == {t["name"] for t in traces}


class Reads(dict):
    """The aggregate tables, noting which ones a chart reads."""

    def __init__(self, tables: dict) -> None:
        super().__init__(tables)
        self.read: set[str] = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)


@pytest.mark.parametrize("kind", sorted(charts.SPECS))
def test_a_chart_reads_exactly_the_tables_it_declares(tables, taxonomy, picks, kind):
    # The registry's ``tables`` is what a reader (and a later lazy loader) can rely on.
    seen = Reads(tables)
    make(kind, seen, taxonomy, picks, "en")
    assert seen.read == set(charts.SPECS[kind].tables)
