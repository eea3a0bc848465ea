"""casestudy: the source article's eight sections in both languages, every figure equal to
its published CSV cell, redaction of personal details, escaping of hostile text, thin data,
and a deterministic choice of lenders."""

from __future__ import annotations

import csv
import io
import posixpath
import re
import shutil

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from collectwatch import aggregate, casestudy, exports, paths
from collectwatch.classify import classify
from collectwatch.errors import UserError
from collectwatch.ingest import read_inputs
from collectwatch.pipeline import DEMO_INPUTS

from .conftest import real

REAL_2014 = ("cfpb", "cfpb_2014_original_14col_schema_8340rows.csv")
LANGS = ("en", "zh")
ZH_NUMERALS = "一二三四五六七八"
# The seed article's skeleton: section → its numbered subsections.
SUBSECTIONS = {1: 2, 2: 2, 3: 3, 4: 3, 5: 3, 6: 3, 7: 4, 8: 0}
PCT = re.compile(r"\d+(?:\.\d+)?%")


# ── fixtures ────────────────────────────────────────────────────────────────────────────


def _dataset(config, inputs) -> dict:
    raw = read_inputs([str(p) for p in inputs], config.sources, config.lenders)
    table, tags = classify(raw.table, config.taxonomy)
    tables = aggregate.build_tables(
        table, tags, config.taxonomy, config.site, table["date_received"].max()
    )
    return {"table": table, "tags": tags, "tables": tables}


@pytest.fixture(scope="module")
def demo(config):
    return _dataset(config, [paths.ROOT / p for p in DEMO_INPUTS])


@pytest.fixture(scope="module")
def real2014(config):
    return _dataset(config, [real(*REAL_2014)])


@pytest.fixture(scope="module", params=["demo", "real2014"])
def subject(request, config):
    """(dataset, slug): the first lender select() picks in the demo and the 2014 sample."""
    data = request.getfixturevalue(request.param)
    order = casestudy.select(data["tables"], config.site)
    assert order, f"{request.param}: select() picked no lender"
    return data, order[0], order


def build(data, slug, lang, config, **kw):
    return casestudy.build(slug, lang, data["tables"], data["table"], data["tags"], config, **kw)


def soup(case) -> BeautifulSoup:
    return BeautifulSoup(str(case["html"]), "html.parser")


def page_path(slug: str, lang: str) -> str:
    return ("" if lang == "en" else "zh/") + f"case-studies/{slug}/"


def csv_rows(tables: dict, name: str) -> list[dict]:
    """A table as published: csv_bytes, read back as text cells."""
    text = exports.csv_bytes(tables[name]).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def fmt_pct(x: float) -> str:
    return f"{100 * x:.1f}%"


# ── selection ───────────────────────────────────────────────────────────────────────────


def test_select_is_deterministic_and_picks_over_represented_lenders(demo, config):
    tables = demo["tables"]
    order = casestudy.select(tables, config.site)
    assert order == casestudy.select(tables, config.site)
    assert len(order) == config.site["case_studies"]["auto"]
    shuffled = {n: df.sample(frac=1, random_state=7) for n, df in tables.items()}
    assert casestudy.select(shuffled, config.site) == order

    fm = tables["family_mix"]
    seed = fm[fm["family"].astype(str).isin(casestudy.SEED_FAMILIES) & fm["above_peers"]]
    best = (seed["share_lo"] - seed["peer_median"]).groupby(seed["lender_slug"].astype(str)).max()
    assert set(order) <= set(best.index)
    # Ranked by the strongest over-representation: no unpicked lender beats a picked one.
    assert best[order].is_monotonic_decreasing
    assert best.drop(order).max() <= best[order].min()


def test_select_honours_configured_lenders_first(demo, config):
    lenders = demo["tables"]["lenders"]
    small = lenders[~lenders["in_peer_group"]].iloc[0]
    big = lenders.iloc[0]
    site = {
        **config.site,
        "case_studies": {"lenders": [str(small["lender"]).upper(), big["lender_slug"]], "auto": 2},
    }
    order = casestudy.select(demo["tables"], site)
    assert order[:2] == [small["lender_slug"], big["lender_slug"]]
    assert len(order) == 4 and len(set(order)) == 4
    auto = casestudy.select(demo["tables"], {**site, "case_studies": {"lenders": [], "auto": 4}})
    assert order[2:] == [s for s in auto if s not in order[:2]][:2]


def test_select_unknown_lender_names_the_file_and_key(demo, config):
    site = {**config.site, "case_studies": {"lenders": ["No Such Collector LLC"], "auto": 0}}
    with pytest.raises(UserError) as exc:
        casestudy.select(demo["tables"], site)
    assert "data/site.yaml" in str(exc.value) and "case_studies.lenders" in str(exc.value)


# ── structure ───────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("lang", LANGS)
def test_golden_structure_eight_sections_in_order(subject, config, lang):
    data, slug, order = subject
    case = build(data, slug, lang, config, order=order)
    assert not case["thin"]
    assert case["slug"] == slug and case["lang"] == lang
    assert case["next_slug"] == order[(order.index(slug) + 1) % len(order)]
    assert case["title"] and case["date"]

    headings = [(h.name, h.get_text(strip=True)) for h in soup(case).find_all(["h2", "h3"])]
    expected = []
    for n, subs in SUBSECTIONS.items():
        expected.append(("h2", f"{n}. " if lang == "en" else f"{ZH_NUMERALS[n - 1]}、"))
        expected += [("h3", f"{n}.{k} ") for k in range(1, subs + 1)]
    assert len(headings) == len(expected), headings
    for (tag, text), (want_tag, prefix) in zip(headings, expected, strict=True):
        assert tag == want_tag and text.startswith(prefix), (text, prefix)
        assert len(text) > len(prefix)  # a title after the number


@pytest.mark.parametrize("lang", LANGS)
def test_page_opens_with_date_source_and_framing_and_ends_with_next_link(subject, config, lang):
    data, slug, order = subject
    case = build(data, slug, lang, config, order=order, date="2026-12-01")
    paras = soup(case).find_all("p")
    dateline = paras[0].get_text()
    assert ("2026" in dateline) and ("Source" in dateline or "来源" in dateline)
    assert case["lender"] in paras[1].get_text()  # the framing paragraph names the lender
    links = soup(case).find_all("a")
    nxt = links[-1]
    target = posixpath.normpath(posixpath.join(page_path(slug, lang), nxt["href"]))
    assert target == page_path(case["next_slug"], lang).rstrip("/")


# ── figures ─────────────────────────────────────────────────────────────────────────────


def _matches(cell: str, value) -> bool:
    if value is None:
        return cell == ""
    if isinstance(value, bool):
        return cell == str(value)
    if isinstance(value, int):
        return int(cell) == value
    if isinstance(value, float):
        return abs(float(cell) - value) <= 1e-6
    return cell in (value, "'" + value)  # text cells may be neutralised for spreadsheets


def test_every_table_figure_equals_its_published_csv_cell(subject, config):
    data, slug, _ = subject
    tables = data["tables"]
    f = casestudy.facts(slug, tables, data["table"], data["tags"], config.taxonomy, config.site)
    assert f["cells"], "facts recorded no table cells"
    published: dict = {}  # (table, key columns) → key values → the rows with them
    for cell in f["cells"]:
        cols = tuple(cell["key"])
        if (cell["table"], cols) not in published:
            index: dict = {}
            for r in csv_rows(tables, cell["table"]):
                index.setdefault(tuple(r[c] for c in cols), []).append(r)
            published[cell["table"], cols] = index
        hits = published[cell["table"], cols].get(tuple(cell["key"].values()), [])
        assert len(hits) == 1, cell
        assert _matches(hits[0][cell["column"]], cell["value"]), (cell, hits[0][cell["column"]])


@pytest.mark.parametrize("lang", LANGS)
def test_page_states_the_csv_figures(subject, config, lang):
    data, slug, order = subject
    tables = data["tables"]
    case = build(data, slug, lang, config, order=order)
    text = soup(case).get_text(" ")
    lender = next(r for r in csv_rows(tables, "lenders") if r["lender_slug"] == slug)
    assert f"{int(lender['complaints']):,}" in text
    for fam in casestudy.SEED_FAMILIES:
        row = next(
            r
            for r in csv_rows(tables, "family_mix")
            if r["lender_slug"] == slug and r["family"] == fam
        )
        for col in ("share", "peer_median", "others_share"):
            assert fmt_pct(float(row[col])) in text, (fam, col)
        lo, hi = fmt_pct(float(row["share_lo"])), fmt_pct(float(row["share_hi"]))
        assert f"{lo}–{hi}" in text, fam
    resp = next(r for r in csv_rows(tables, "responses") if r["lender_slug"] == slug)
    if int(resp["closed_total"]):
        assert fmt_pct(float(resp["relief_rate"])) in text
    total = next(r for r in csv_rows(tables, "coverage") if r["dimension"] == "all")
    assert f"{int(total['complaints']):,}" in text


def _floats(value):
    if isinstance(value, float):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _floats(v)
    elif isinstance(value, list):
        for v in value:
            yield from _floats(v)


@pytest.mark.parametrize("lang", LANGS)
def test_every_percentage_on_the_page_comes_from_facts(subject, config, lang):
    data, slug, order = subject
    f = casestudy.facts(
        slug, data["tables"], data["table"], data["tags"], config.taxonomy, config.site
    )
    case = build(data, slug, lang, config, order=order, computed=f)
    allowed = {fmt_pct(x) for x in _floats(f)} | {fmt_pct(abs(x)) for x in _floats(f)}
    allowed.add(f"{100 * f['level']:.0f}%")
    main = soup(case)
    for quote in main.find_all("blockquote"):  # consumers' own words are not our figures
        quote.decompose()
    found = PCT.findall(main.get_text(" "))
    assert found
    assert set(found) <= allowed, set(found) - allowed


@pytest.mark.parametrize("lang", LANGS)
def test_links_point_at_published_files(subject, config, lang):
    data, slug, order = subject
    case = build(data, slug, lang, config, order=order)
    here = page_path(slug, lang)
    csvs = 0
    for a in soup(case).find_all("a", href=True):
        href = a["href"]
        if href.startswith("https://"):
            continue
        target = posixpath.normpath(posixpath.join(here, href))
        if target.endswith(".csv"):
            csvs += 1
            name = target.removeprefix("data/").removesuffix(".csv")
            assert target.startswith("data/") and name in data["tables"], target
        elif target.endswith(".zip"):
            assert target == f"data/lenders/{slug}.zip"
        else:
            assert target.startswith(here[: -len(f"{slug}/")].rstrip("/")), target
    assert csvs >= 10


# ── excerpts and narratives ─────────────────────────────────────────────────────────────


def test_demo_case_quotes_redacted_dated_excerpts(demo, config):
    order = casestudy.select(demo["tables"], config.site)
    f = casestudy.facts(
        order[0], demo["tables"], demo["table"], demo["tags"], config.taxonomy, config.site
    )
    table = demo["table"]
    for fam in casestudy.SEED_FAMILIES:
        excerpts = f["families"][fam]["excerpts"]
        assert 2 <= len(excerpts) <= casestudy.EXCERPTS, fam
        for e in excerpts:
            row = table[table["complaint_id"].astype(str) == e["complaint_id"]].iloc[0]
            assert row["lender_slug"] == order[0]
            assert e["date"] == row["date_received"].date().isoformat()
            assert len(e["text"]) <= casestudy.EXCERPT_CHARS + 1
    ids = [e["complaint_id"] for fam in f["families"].values() for e in fam["excerpts"]]
    assert len(ids) == len(set(ids)), "one complaint quoted twice"
    again = casestudy.facts(
        order[0], demo["tables"], table, demo["tags"], config.taxonomy, config.site
    )
    assert again["families"] == f["families"]
    case = build(demo, order[0], "en", config, order=order, computed=f)
    quotes = soup(case).find_all("blockquote")
    assert len(quotes) == sum(len(v["excerpts"]) for v in f["families"].values())
    sources = soup(case).select("p.excerpt-source")
    assert len(sources) == len(quotes)
    assert all(e["complaint_id"] in case["html"] for e in f["families"][fam]["excerpts"])


def test_real_2014_case_explains_missing_narratives(real2014, config):
    order = casestudy.select(real2014["tables"], config.site)
    for lang in LANGS:
        case = build(real2014, order[0], lang, config, order=order)
        links = [a["href"] for a in soup(case).find_all("a", href=True)]
        assert casestudy.RULES["narrative_policy"][1] in links
        assert not soup(case).find_all("blockquote")


def test_channels_count_narratives_in_both_scripts(demo, config):
    """A Traditional-script narrative counts for the Simplified channel patterns."""
    lenders = demo["tables"]["lenders"]
    zh_slug = next(
        s
        for s in casestudy.select(demo["tables"], config.site)
        if (demo["table"].loc[demo["table"]["lender_slug"] == s, "language"] == "zh").all()
    )
    f = casestudy.facts(
        zh_slug, demo["tables"], demo["table"], demo["tags"], config.taxonomy, config.site
    )
    row = lenders[lenders["lender_slug"] == zh_slug].iloc[0]
    assert f["narratives"] == int(row["narratives"]) > 0
    calls = f["channels"]["calls"]
    texts = demo["table"].loc[demo["table"]["lender_slug"] == zh_slug, "narrative"]
    simple = casestudy.to_simplified_series(texts.astype("string"))
    expected = int(simple.str.contains("电话|来电|打给|致电|呼死你|语音", regex=True).sum())
    assert calls["mentions"] == expected
    assert calls["narratives"] == f["narratives"]
    assert calls["share"] == pytest.approx(expected / f["narratives"])


def test_debt_types_channels_and_harm_are_published_cells(subject, config):
    """Section 1.2's debt types, section 3's channels and 6.1's harm words are cells of
    lender_debt_types, lender_channels and lender_harm (which the CSV test then checks),
    not counts made on the side."""
    data, slug, order = subject
    tables = data["tables"]
    f = casestudy.facts(slug, tables, data["table"], data["tags"], config.taxonomy, config.site)
    used = {(c["table"], c["column"]) for c in f["cells"]}
    for name in ("lender_channels", "lender_harm"):
        assert {(name, col) for col in ("narratives", "mentions", "share")} <= used, name
    channels = {c["id"].rsplit("_", 1)[0] for c in config.taxonomy["channels"]}
    assert set(f["channels"]) == channels
    assert set(f["harm"]) == {"personal_harm"}

    rows = data["table"][data["table"]["lender_slug"] == slug]
    subs = rows["sub_product"].astype("string")
    assert f["products_known"] == int(subs.notna().sum())
    if f["products_known"]:
        assert ("lender_debt_types", "complaints") in used
    published = [r for r in csv_rows(tables, "lender_debt_types") if r["lender_slug"] == slug]
    assert sorted((p["key"], p["complaints"]) for p in f["products"]) == sorted(
        (r["debt_type"], int(r["complaints"])) for r in published
    )
    # Old and new CFPB wordings of one kind of debt are one row ("Medical", "Medical debt").
    wordings = set(subs.dropna().str.casefold())
    if {"medical", "medical debt"} <= wordings:
        medical = [p for p in f["products"] if p["key"] == "medical"]
        assert medical[0]["complaints"] == int(
            subs.str.casefold().isin(["medical", "medical debt"]).sum()
        )

    case = build(data, slug, "en", config, order=order, computed=f)
    links = {a["href"] for a in soup(case).find_all("a", href=True)}
    shown = {"lender_debt_types": f["products"], "lender_channels": f["narratives"]}
    shown["lender_harm"] = f["narratives"]  # without narratives, sections 3 and 6.1 say so
    for name, stated in shown.items():
        assert any(h.endswith(f"data/{name}.csv") for h in links) == bool(stated), name


# ── redaction ───────────────────────────────────────────────────────────────────────────

M = "[R]"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("write to jane.doe+debt@mail.example.com today", f"write to {M} today"),
        ("call (555) 123-4567 now", f"call {M} now"),
        ("call 555-123-4567 now", f"call {M} now"),
        ("call +1 555 123 4567 now", f"call {M} now"),
        ("call 555.123.4567 now", f"call {M} now"),
        ("打13812345678找我", f"打{M}找我"),
        ("手机 +86 13912345678。", f"手机 {M}。"),
        ("SSN 123-45-6789 on file", f"SSN {M} on file"),
        ("身份证号11010519491231002X已泄露", f"身份证号{M}已泄露"),
        ("身份证号110105194912310021已泄露", f"身份证号{M}已泄露"),
        ("card 4111 1111 1111 1111 used", f"card {M} used"),
        ("card 4111-1111-1111-1111 used", f"card {M} used"),
        ("account 12345678 closed", f"account {M} closed"),
        ("account #000123456789 closed", f"account #{M} closed"),
        ("on XX/XX/XXXX they called", f"on {M} they called"),
        ("I spoke to XXXX XXXX XXXX at the firm", f"I spoke to {M} at the firm"),
        ("their number is ( XXXX ) XXXX-XXXX.", f"their number is {M}."),
        ("account ending XXXX1234 was sold", f"account ending {M} was sold"),
        ("paid {$XXXX} on XX/XX/2019", f"paid {{${M}}} on {M}/2019"),
    ],
)
def test_redact_each_pattern(raw, expected):
    assert casestudy.redact(raw, marker=M) == expected


@pytest.mark.parametrize(
    "keep",
    [
        "I owed $1500.00 since 2019 and paid 250 a month",
        "They called 29 times in 6 days at 7:00am",
        "借款38500元逾期98天",
        "XXL and TAXXES are words",
    ],
)
def test_redact_leaves_ordinary_text_alone(keep):
    assert casestudy.redact(keep, marker=M) == keep


def test_redact_collapses_whitespace_and_caps_at_a_word_boundary():
    text = "They   called\n\nagain. " + " ".join(f"word{i}" for i in range(200))
    out = casestudy.redact(text, limit=120)
    assert out.startswith("They called again. ")
    assert len(out) <= 120 and out.endswith("…")
    assert out[:-1].split(" ")[-1] in text.split()  # no word cut in half
    zh = casestudy.redact("催收" * 300, limit=100)
    assert len(zh) == 100 and zh.endswith("…")
    assert casestudy.redact("short", limit=100) == "short"


def test_redact_default_marker_and_one_marker_per_run():
    out = casestudy.redact("XXXX XXXX, XX/XX/XXXX and XXXX")
    assert out == "[redacted] and [redacted]"


# ── hostile input ───────────────────────────────────────────────────────────────────────

HOSTILE = (
    "<script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3)) **b**"
    " {: onclick=alert(4) }"
)


@pytest.fixture(scope="module")
def hostile(demo, config):
    """The demo's top lender renamed to HTML and Markdown, its quoted narratives too."""
    order = casestudy.select(demo["tables"], config.site)
    slug = order[0]
    f = casestudy.facts(
        slug, demo["tables"], demo["table"], demo["tags"], config.taxonomy, config.site
    )
    quoted = {e["complaint_id"] for fam in f["families"].values() for e in fam["excerpts"]}
    table = demo["table"].copy()
    table["narrative"] = table["narrative"].astype("object")
    hit = table["complaint_id"].astype(str).isin(quoted).to_numpy()
    table.loc[hit, "narrative"] = HOSTILE + " " + table.loc[hit, "narrative"].astype(str)
    tables = dict(demo["tables"])
    lenders = tables["lenders"].copy()
    lenders["lender"] = lenders["lender"].astype("object")
    lenders.loc[lenders["lender_slug"] == slug, "lender"] = "<b>Evil</b> & [Co](javascript:x)"
    tables["lenders"] = lenders
    return {"table": table, "tags": demo["tags"], "tables": tables}, slug, order


@pytest.mark.parametrize("lang", LANGS)
def test_hostile_text_comes_out_escaped(hostile, config, lang):
    data, slug, order = hostile
    case = build(data, slug, lang, config, order=order)
    page = soup(case)
    assert not page.find_all(["script", "img", "b"])
    for a in page.find_all("a", href=True):
        assert not a["href"].lower().startswith("javascript"), a
    text = page.get_text(" ")
    assert "<script>alert(1)</script>" in text
    assert "<img src=x onerror=alert(2)>" in text
    assert "[x](javascript:alert(3))" in text
    assert "{: onclick=alert(4) }" in text and "**b**" in text
    assert not page.find_all(attrs={"onclick": True}) and not page.find_all("strong", string="b")
    assert "<b>Evil</b> & [Co](javascript:x)" in text
    assert "&lt;script&gt;" in case["html"]
    assert case["title"].startswith("<b>Evil</b>")  # plain text; the page template escapes it


def test_markdown_cannot_be_injected():
    import markdown

    html = markdown.markdown(str(casestudy.md_text("# h\n\n- [a](javascript:b) *c* `d` <e>")))
    page = BeautifulSoup(html, "html.parser")
    assert not page.find_all(["h1", "ul", "a", "em", "code", "e"])
    assert page.get_text() == "# h - [a](javascript:b) *c* `d` <e>"


# ── thin data ───────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("lang", LANGS)
def test_thin_lender_gets_a_page_that_says_so(demo, config, lang):
    lenders = demo["tables"]["lenders"]
    small = lenders[~lenders["in_peer_group"]].sort_values("lender_slug").iloc[0]
    case = build(demo, small["lender_slug"], lang, config)
    assert case["thin"] is True
    page = soup(case)
    assert not page.find_all(["h2", "h3", "blockquote"])
    text = page.get_text(" ")
    assert not PCT.search(text), "a thin page must not state percentages"
    assert f"{int(small['complaints']):,}" in text
    assert str(config.site["min_lender_complaints"]) in text


def test_unknown_slug_is_a_user_error(demo, config):
    with pytest.raises(UserError):
        casestudy.facts(
            "no-such-lender",
            demo["tables"],
            demo["table"],
            demo["tags"],
            config.taxonomy,
            config.site,
        )


# ── editorial sections ──────────────────────────────────────────────────────────────────


def test_editorial_markdown_replaces_sections_5_and_7(demo, config, tmp_path, monkeypatch):
    for lang in LANGS:
        shutil.copy(paths.CASE_STUDIES / f"case-study.{lang}.md", tmp_path)
    order = casestudy.select(demo["tables"], config.site)
    slug = order[0]
    (tmp_path / slug).mkdir()
    (tmp_path / slug / "causes.en.md").write_text(
        "### 5.1 Growth\n\nReporting by a maintainer.\n", encoding="utf-8"
    )
    monkeypatch.setattr(paths, "CASE_STUDIES", tmp_path)
    case = build(demo, slug, "en", config, order=order)
    h3 = [h.get_text() for h in soup(case).find_all("h3")]
    assert "5.1 Growth" in h3 and "5.2 Management and oversight" not in h3
    assert "Reporting by a maintainer." in soup(case).get_text()
    assert "7.1 When and how often collectors may call" in h3  # no recommendations file
    zh = build(demo, slug, "zh", config, order=order)  # the English file is not used in Chinese
    assert "5.1 回款压力" in [h.get_text() for h in soup(zh).find_all("h3")]


def test_chinese_edition_uses_taxonomy_names_and_no_stray_spaces(demo, config):
    order = casestudy.select(demo["tables"], config.site)
    case = build(demo, order[0], "zh", config, order=order)
    text = soup(case).get_text()
    assert config.taxonomy["behaviours"]["repeated_contact"]["name"]["zh"] in text
    assert not re.search(r"[\u4e00-\u9fff]\n[\u4e00-\u9fff]", case["html"])


def test_facts_are_plain_python(subject, config):
    data, slug, _ = subject
    f = casestudy.facts(
        slug, data["tables"], data["table"], data["tags"], config.taxonomy, config.site
    )

    def walk(v):
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        else:
            assert v is None or type(v) in (str, int, float, bool), type(v)

    walk(f)
    assert pd.Timestamp(f["first_date"]) <= pd.Timestamp(f["last_date"])
