"""Tables + complaints → case studies: one lender's story in the source article's eight sections.

Pure functions, nothing is written here. :func:`select` picks the lenders to profile,
:func:`facts` computes every figure a case study states, :func:`build` renders one edition
from ``content/case-studies/case-study.<lang>.md`` (Markdown with Jinja2, so editors change
the wording without touching code) and :func:`redact` cleans complaint text for quoting.

Figures come from the published aggregate tables, and every cell read is recorded in
``facts["cells"]`` (table, key, column, value) so that a test can compare it with the CSV.
That includes the debt types, the contact channels and the harm words (lender_debt_types,
lender_channels, lender_harm). Only the excerpts, and how many peers come from the CFPB,
are taken from the complaints themselves.

The facts also decide what may be *said*, so that a template never judges truth itself:
which year is complete and may be compared (:mod:`claims` coverage), which entry of a list
may be called the commonest (:func:`claims.leader`: a unique, non-zero leader; ties and
zeros get their own sentences) and where a narrative was already quoted.
"""

from __future__ import annotations

import re
from datetime import date as Date
from functools import cache
from urllib.parse import quote

import jinja2
import markdown
import numpy as np
import pandas as pd
from markupsafe import Markup, escape

from . import claims, fmt, paths
from .aggregate import MARKET, pattern_group, wilson
from .errors import UserError
from .text import published, to_simplified_series

LANGS = ("en", "zh")
# The source article's section 4: 4.1 frequent harassment, 4.2 threats, 4.3 disclosure.
SEED_FAMILIES = ("harassing_contact", "abuse_threats", "third_party_disclosure")
# Behaviours a subsection names even when the company has none (4.1: night-time, frequency).
FOCUS = {"harassing_contact": ("inconvenient_hours", "repeated_contact")}
MIN_NARRATIVES = 10  # fewer published narratives than this: counts, no percentages
MIN_FINDING = 5  # a behaviour above peers is a finding from this many complaints on
EXCERPTS = 3  # quotes per subsection of section 4, at most
LISTED = 3  # entries a ranked list names (debt types, states, forms), at most
# Debt types that say nothing about the debt: never named as the commonest kind.
VAGUE = ("do_not_know", "other")
EXCERPT_CHARS = 300
SUMMARY_BEHAVIOURS = 2  # behaviours outside the flagged families in the summary, at most
LEVEL = 0.95  # confidence level of every interval (aggregate.Z95 = 1.96)
MARKERS = {"en": "[redacted]", "zh": "[已隐去]"}
# The CFPB publishes narratives only under its 2015 policy (80 FR 15572, 24 March 2015);
# older complaints never have text, which is not the company's doing.
NARRATIVE_POLICY = "2015-03-24"

_USC = "https://uscode.house.gov/view.xhtml?req=granuleid:USC-prelim-title15-section{}&num=0&edition=prelim"
RULES = {
    "1692c(a)(1)": ("15 U.S.C. §1692c(a)(1)", _USC.format("1692c")),
    "1692c(b)": ("15 U.S.C. §1692c(b)", _USC.format("1692c")),
    "1692c(c)": ("15 U.S.C. §1692c(c)", _USC.format("1692c")),
    "1692d": ("15 U.S.C. §1692d", _USC.format("1692d")),
    "1692e": ("15 U.S.C. §1692e", _USC.format("1692e")),
    "1692f(1)": ("15 U.S.C. §1692f(1)", _USC.format("1692f")),
    "1692g": ("15 U.S.C. §1692g", _USC.format("1692g")),
    "1006.14(b)(2)": (
        "12 CFR 1006.14(b)(2)",
        "https://www.ecfr.gov/current/title-12/part-1006/section-1006.14#p-1006.14(b)(2)",
    ),
    "narrative_policy": (
        "80 FR 15572",
        "https://www.federalregister.gov/documents/2015/03/24/2015-06722/"
        "disclosure-of-consumer-complaint-narrative-data",
    ),
    "complaint": ("consumerfinance.gov/complaint", "https://www.consumerfinance.gov/complaint/"),
}

# ── redaction ──────────────────────────────────────────────────────────────────────────

_MARK = "\ue000"  # one private-use character stands for a redaction until the end
_PII = [
    re.compile(p)
    for p in (
        r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",  # e-mail
        r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)",  # US SSN
        r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])",  # Chinese resident ID
        r"(?<!\d)\d{4}([ -]?)\d{4}\1\d{4}\1\d{1,4}(?!\d)",  # card, 4-4-4-4
        r"(?<!\d)\d{4}[ -]\d{6}[ -]\d{5}(?!\d)",  # card, 4-6-5
        r"(?<![\d+])(?:\+?86[\s-]?)?1[3-9]\d{9}(?!\d)",  # Chinese mobile
        r"(?<![\d+])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?!\d)",  # US phone
        r"(?<!\d)\d{8,}(?!\d)",  # account-number-like digit runs
    )
]
# CFPB's own redactions: XXXX, XX/XX/XXXX, XXXX XXXX, masked numbers like XXXX1234.
_CFPB_X = re.compile(r"(?<![A-Za-z0-9])X{2,}\d*(?![A-Za-z])")
_MARK_PAREN = re.compile(rf"\(\s*{_MARK}\s*\)")
_MARK_RUN = re.compile(rf"{_MARK}(?:[\s/\-.,:]*{_MARK})+")


def _scrub(text: str) -> str:
    """Redact ``text`` with :data:`_MARK`; whitespace collapsed to single spaces."""
    text = re.sub(r"\s+", " ", str(text)).strip()
    for pattern in _PII:
        text = pattern.sub(_MARK, text)
    text = _CFPB_X.sub(_MARK, text)
    # "( XXXX ) XXXX-XXXX" and "XX/XX/XXXX" are one redaction, shown once.
    return _MARK_RUN.sub(_MARK, _MARK_PAREN.sub(_MARK, text))


def _cap(text: str, limit: int, lead: bool = False) -> str:
    """``text`` at most ``limit`` characters, cut at a word boundary with an ellipsis."""
    body = text
    if len(body) > limit:
        cut = limit - 1
        space = body.rfind(" ", 0, cut + 1)
        if space > limit * 0.6:  # Chinese has no spaces: then cut anywhere
            cut = space
        body = body[:cut].rstrip(" ,;:-—，、；：") + "…"
    return ("…" + body) if lead else body


def redact(text: str, limit: int = EXCERPT_CHARS, marker: str = MARKERS["en"]) -> str:
    """Complaint text → text safe to publish, at most ``limit`` characters (plus markers).

    Removes e-mail addresses, phone numbers (US formats, Chinese mobiles), US SSNs, Chinese
    ID numbers, card numbers and other runs of 8 or more digits, and shows CFPB's ``XXXX``
    redactions (``XX/XX/XXXX``, ``XXXX XXXX``) as one ``marker``. Whitespace is collapsed.
    Returns plain text: escaping is the template's job.
    """
    return _cap(_scrub(text), limit).replace(_MARK, marker)


def _window(text: str, span: str, limit: int) -> str:
    """A scrubbed text cut to about ``limit`` characters around the first ``span``."""
    at = text.casefold().find(span.casefold()) if span else -1
    if at < 0 or len(text) <= limit:
        return _cap(text, limit)
    start = max(0, at - (limit - len(span)) // 3)
    if start:
        space = text.find(" ", start, at)
        start = space + 1 if space >= 0 else start
    return _cap(text[start:], limit - (1 if start else 0), lead=start > 0)


# ── selection ──────────────────────────────────────────────────────────────────────────


def _over(tables: dict) -> pd.DataFrame:
    """Per peer lender, how far its strongest seed family stands above peers.

    ``excess`` = Wilson lower bound − peer median, over the rows flagged above_peers.
    """
    fm = tables["family_mix"]
    rows = fm[fm["family"].astype("string").isin(SEED_FAMILIES) & fm["above_peers"]]
    excess = (rows["share_lo"] - rows["peer_median"]).astype("float64")
    return (
        pd.DataFrame({"slug": rows["lender_slug"].astype("string"), "excess": excess})
        .groupby("slug", sort=True)["excess"]
        .agg(best="max", total="sum")
        .reset_index()
    )


def select(tables: dict, site: dict) -> list[str]:
    """Lender slugs to profile: the configured ones, then the ``auto`` most over-represented.

    ``site["case_studies"]["lenders"]`` names lenders by display name (case-insensitive)
    or slug, in the order given; an unknown one is a UserError. The automatic picks are
    peer-group lenders with at least one seed family above peers, ranked by their largest
    (Wilson lower bound − peer median), then the sum of those, then complaints, then slug.
    """
    conf = site.get("case_studies") or {}
    lenders = tables["lenders"]
    slugs = lenders["lender_slug"].astype(str).tolist()
    by_name = {str(n).casefold(): s for n, s in zip(lenders["lender"], slugs, strict=True)}
    known = set(slugs)
    out: list[str] = []
    for name in conf.get("lenders", []):
        slug = name if name in known else by_name.get(str(name).casefold())
        if slug is None:
            raise UserError(
                f"data/site.yaml: case_studies.lenders names {name!r}, which is not a lender "
                "in this data (use a display name or slug from lenders.csv)"
            )
        if slug not in out:
            out.append(slug)
    auto = int(conf.get("auto", 0))
    if auto > 0:
        size = dict(zip(slugs, lenders["complaints"].astype("int64"), strict=True))
        ranked = _over(tables)
        ranked["complaints"] = ranked["slug"].map(size)
        ranked = ranked.sort_values(
            ["best", "total", "complaints", "slug"], ascending=[False, False, False, True]
        )
        picks = [s for s in ranked["slug"] if s not in out][:auto]
        out += picks
    return out


# ── facts ──────────────────────────────────────────────────────────────────────────────


def _native(value):
    """A table cell → int, float, bool, ISO date string, str or None (NA)."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp | np.datetime64 | Date):
        return None if pd.isna(value) else pd.Timestamp(value).date().isoformat()
    if not isinstance(value, str) and pd.isna(value):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value)
    return str(value)


class _Cells:
    """Reads cells of the published tables and remembers which (for the CSV test)."""

    def __init__(self, tables: dict) -> None:
        self.t = tables
        self.used: list[dict] = []

    def rows(self, name: str, frame: pd.DataFrame | None = None, **key) -> pd.DataFrame:
        df = self.t[name] if frame is None else frame
        mask = np.ones(len(df), dtype=bool)
        for col, val in key.items():
            mask &= (df[col].astype("string") == str(val)).fillna(False).to_numpy(dtype=bool)
        return df[mask]

    def get(self, name: str, key: dict, columns, frame: pd.DataFrame | None = None) -> dict:
        """``columns`` of the row of table ``name`` with ``key``; all None without a row."""
        rows = self.rows(name, frame, **key)
        if rows.empty:
            return dict.fromkeys(columns)
        return self.record(name, key, rows.iloc[0], columns)

    def record(self, name: str, key: dict, row: pd.Series, columns) -> dict:
        out = {}
        for col in columns:
            out[col] = _native(row[col])
            self.used.append(
                {
                    "table": name,
                    "key": {k: str(v) for k, v in key.items()},
                    "column": col,
                    "value": out[col],
                }
            )
        return out


MIX = ["complaints", "lender_complaints", "share", "share_lo", "share_hi", "others_share"]
MIX += ["peer_median", "ratio_to_peers", "in_peer_group", "above_peers"]


def _compare(lo, hi, other) -> str | None:
    """ "above"/"below" when ``other`` lies outside [lo, hi], else "similar"."""
    if lo is None or hi is None or other is None:
        return None
    return "above" if lo > other else "below" if hi < other else "similar"


def _texts(rows: pd.DataFrame) -> pd.DataFrame:
    """The lender's complaints with published text; ``match`` is the text rules run on
    (Simplified for Chinese, as classify does)."""
    out = rows[published(rows["narrative"])].copy()
    out["match"] = out["narrative"].astype("string")
    zh = (out["language"].astype("string") == "zh").fillna(False).to_numpy(dtype=bool)
    if zh.any():
        out.loc[zh, "match"] = to_simplified_series(out.loc[zh, "narrative"]).to_numpy()
    return out


def _mentions(cells: _Cells, name: str, column: str, slug: str, entries: list) -> dict:
    """The lender's rows of ``lender_channels`` or ``lender_harm`` (``column``: channel or
    harm): group → its name (from the taxonomy's ``entries``) and the table's counts."""
    names = {}
    for entry in entries:
        names.setdefault(pattern_group(entry), entry["name"])
    rows = cells.rows(name, lender_slug=slug)
    out = {}
    for _, r in rows.iterrows():
        key = str(r[column])
        got = cells.record(
            name,
            {"lender_slug": slug, column: key},
            r,
            ["narratives", "mentions", "share", "share_lo", "share_hi"],
        )
        out[key] = {"key": key, "name": names.get(key, {"en": key, "zh": key}), **got}
    return out


def _excerpts(
    texts: pd.DataFrame, tags: pd.DataFrame, family: str, order, used: dict, section: str
) -> dict:
    """Quotes for ``family`` in ``section`` ("4.1") and what to say when there are none.

    Up to EXCERPTS quotes, one complaint each, taking the family's behaviours in turn
    (``order``); within a behaviour, complaints whose label names the family first, then
    the newest, then by complaint ID. A complaint already in ``used`` (key → the section
    that quoted it) is not quoted again; the ones picked are added to it.

    Returns ``{"excerpts": [...], "quoted_in": [{"section", "complaint_id"}, ...],
    "labelled": n}``: ``quoted_in`` lists the lender's narratives that the text rules
    tag with the family but that an earlier section already quoted, and ``labelled``
    counts narratives whose complaint form names the family although no text rule found
    it in the words. "No narrative describes this" is true only when all three are empty.
    """
    out: dict = {"excerpts": [], "quoted_in": [], "labelled": 0}
    if tags is None or tags.empty or texts.empty:
        return out
    sep = "\x1f"
    tkey = texts["source"].astype("string") + sep + texts["complaint_id"].astype("string")
    published_keys = set(tkey)
    fam = tags[tags["family"].astype("string") == family]
    fkey = fam["source"].astype("string") + sep + fam["complaint_id"].astype("string")
    is_text = (fam["kind"] == "text").to_numpy(dtype=bool)
    on_page = fkey.isin(published_keys).to_numpy(dtype=bool)
    mine, key = fam[is_text & on_page], fkey[is_text & on_page]
    labelled_keys = set(fkey[~is_text & on_page])
    out["labelled"] = len(labelled_keys - set(key))
    if mine.empty:
        return out
    info = texts.assign(_key=tkey.to_numpy()).set_index("_key")
    cand = pd.DataFrame(
        {
            "key": key.to_numpy(dtype=object),
            "behaviour": mine["behaviour"].astype("string").to_numpy(dtype=object),
            "span": mine["span"].astype("string").fillna("").to_numpy(dtype=object),
        }
    )
    cand["date"] = info.loc[cand["key"], "date_received"].to_numpy()
    cand["id"] = info.loc[cand["key"], "complaint_id"].astype("string").to_numpy(dtype=object)
    rank = {b: i for i, b in enumerate(order)}
    cand["rank"] = cand["behaviour"].map(rank).fillna(len(rank)).astype("int64")
    # Prefer complaints whose form label names the same family: the consumer's own choice
    # backs the words quoted (text rules can misread "nobody threatened me").
    cand["confirmed"] = cand["key"].isin(labelled_keys)
    cand = cand.sort_values(
        ["rank", "confirmed", "date", "id", "span"], ascending=[True, False, False, True, True]
    )
    earlier = {k: used[k] for k in cand["key"] if k in used}
    out["quoted_in"] = sorted(
        (
            {"section": where, "complaint_id": str(info.loc[k, "complaint_id"])}
            for k, where in earlier.items()
        ),
        key=lambda q: (q["section"], q["complaint_id"]),
    )
    queues = [list(g.itertuples(index=False)) for _, g in cand.groupby("rank", sort=True)]
    picked = []
    while len(picked) < EXCERPTS and any(queues):
        for queue in queues:
            while queue and queue[0].key in used:
                queue.pop(0)
            if queue and len(picked) < EXCERPTS:
                row = queue.pop(0)
                used[row.key] = section
                picked.append(_quote(info.loc[row.key], row))
    out["excerpts"] = picked
    return out


def _quote(complaint: pd.Series, tag) -> dict:
    """One excerpt: the redacted text around the tag's matched words, with its source."""
    original = _scrub(complaint["narrative"])
    simple = _scrub(complaint["match"])
    # Rules match Simplified text; quote the consumer's own script when the two align.
    if len(simple) == len(original):
        at = simple.casefold().find(str(tag.span).casefold())
        span = original[at : at + len(tag.span)] if at >= 0 else tag.span
        text = _window(original, span, EXCERPT_CHARS)
    else:
        text = _window(simple, tag.span, EXCERPT_CHARS)
    return {
        "complaint_id": str(complaint["complaint_id"]),
        "source": str(complaint["source"]),
        "date": _native(complaint["date_received"]),
        "language": _native(complaint["language"]),
        "behaviour": str(tag.behaviour),
        "text": text,
    }


def _comparable_years(years, provisional, periods: claims.Periods) -> list[int]:
    """Years → the ones that may be compared: complete (every month covered) and not
    provisional, ascending."""
    return sorted(
        int(y)
        for y, p in zip(years, provisional, strict=True)
        if not bool(p) and periods.complete_year(int(y))
    )


def _trend(
    cells: _Cells, yearly: pd.DataFrame, behaviour: str, slug: str, periods: claims.Periods
) -> dict:
    """The behaviour's share of the lender's complaints in the later of its two latest
    complete, consecutive years against the earlier (``counts_yearly``); direction only
    when the Wilson intervals part.

    ``latest`` is False when a later complete year exists whose year before is not
    complete. When no such pair exists, ``year`` is None, ``years`` lists the complete
    years with complaints and ``reason`` is "short" (fewer than two of them) or
    "not_consecutive" (none directly after another: a hole or a partial year lies
    between them).
    """
    rows = yearly[yearly["behaviour"].astype("string") == behaviour]
    rows = rows[(rows["all_complaints"] > 0).to_numpy(dtype=bool)]
    years = _comparable_years(rows["year"], rows["provisional"], periods)
    pairs = [y for y in years if y - 1 in years]
    out: dict = {"behaviour": behaviour, "years": years, "year": None, "reason": None}
    if not pairs:
        out["reason"] = "not_consecutive" if len(years) > 1 else "short"
        return out
    year = max(pairs)
    cols = ["complaints", "all_complaints", "share"]
    now = cells.record(
        "counts_yearly",
        {"lender_slug": slug, "behaviour": behaviour, "year": year},
        rows[rows["year"] == year].iloc[0],
        cols,
    )
    before = cells.record(
        "counts_yearly",
        {"lender_slug": slug, "behaviour": behaviour, "year": year - 1},
        rows[rows["year"] == year - 1].iloc[0],
        cols,
    )
    lo, hi = wilson(now["complaints"], now["all_complaints"])
    plo, phi = wilson(before["complaints"], before["all_complaints"])
    out.update(
        year=year,
        prev_year=year - 1,
        **now,
        **{f"prev_{k}": v for k, v in before.items()},
        direction="up" if lo > phi else "down" if hi < plo else "similar",
        # A later complete year exists but not the one before it: say why these two.
        latest=year == years[-1],
    )
    return out


def _head(values: list, limit: int) -> int:
    """How many of ``values`` (best first) a list may name, at most ``limit``, without
    splitting a tie: naming two of three states with one complaint each would pick two
    at random."""
    n = min(limit, len(values))
    while 0 < n < len(values) and values[n] == values[n - 1]:
        n -= 1
    return n


def _ranking(items: list[dict], value: str, name: str, limit: int = LISTED) -> dict:
    """Entries (dicts, best first) → what a sentence may say of the top ones.

    ``kind`` is :func:`claims.leader`'s answer: "leader" (one entry is highest and not
    zero), "tie", "zero" or "none" (no entries). ``shown`` is what to list: for a leader,
    it and those after it up to ``limit`` without splitting a tie; for a tie, the tied
    entries if there are at most ``limit``. ``tied`` counts the entries sharing the top
    ``value``; ``rest`` counts the entries not shown; ``entries`` is every entry.
    """
    out = {"kind": "none", "value": None, "tied": 0, "shown": [], "rest": 0, "entries": items}
    if not items:
        return out
    frame = pd.DataFrame({"v": [i[value] for i in items], "n": [str(i[name]) for i in items]})
    lead = claims.leader(frame, "v", "n")
    top = [i for i in items if lead["value"] is not None and i[value] == lead["value"]]
    out.update(kind=lead["kind"], value=_native(lead["value"]), tied=len(top))
    if lead["kind"] == "leader":
        out["shown"] = items[: _head([i[value] for i in items], limit)]
    elif lead["kind"] == "tie" and len(top) <= limit:
        out["shown"] = top
    if isinstance(out["value"], float) and out["value"].is_integer():
        out["value"] = int(out["value"])
    out["rest"] = len(items) - len(out["shown"])
    return out


def _trend_behaviour(common: list, taxonomy: dict, fid: str) -> str:
    """The family's most common behaviour for the lender, a specific one if there is any
    (the family's "unspecified" general behaviour says least about what happened)."""
    general = taxonomy["families"][fid]["general"]
    specific = [v["behaviour"] for v in common if v["behaviour"] != general]
    return specific[0] if specific else common[0]["behaviour"]


def _span(periods: claims.Periods, first, last) -> dict:
    """How much of the data's span (ISO dates ``first`` … ``last``) the inputs cover:
    ``span_months``, ``span_covered`` (fully covered months) and ``span_gaps``, True when
    a month strictly inside the span is not fully covered. The first and last months are
    left out of ``span_gaps``: the dates "between X and Y" already say the data starts
    and ends mid-month."""
    if first is None or last is None:
        return {"span_months": 0, "span_covered": 0, "span_gaps": False}
    m0, m1 = (int(claims.month_of([str(d)[:10]])[0]) for d in (first, last))
    months = range(m0, m1 + 1)
    covered = len(months) if periods.covered is None else sum(m in periods.covered for m in months)
    return {
        "span_months": len(months),
        "span_covered": covered,
        "span_gaps": m1 - m0 > 1 and periods.gaps(m0 + 1, m1 - 1),
    }


def facts(
    slug: str,
    tables: dict,
    table: pd.DataFrame,
    tags: pd.DataFrame,
    taxonomy: dict,
    site: dict,
) -> dict:
    """Every figure the case study of ``slug`` states, as plain Python values.

    Figures are cells of the published tables (listed in ``"cells"``), debt types,
    channels and harm words included; only the excerpts come from the lender's narratives
    (``table``, ``tags``). ``thin`` is True when the lender has fewer
    complaints than ``site["min_lender_complaints"]``; ``narratives_thin`` when it has
    fewer than MIN_NARRATIVES published narratives.

    What the templates may claim: ``market["year"]`` is the last complete, settled year
    (every month covered in ``date_coverage``), ``market["prev"]`` the year before only
    when it is complete too, else ``market["prev_reason"]`` says why not ("not_covered",
    "before_data"); ``market["peak"]`` and ``market["top_behaviours"]``,
    ``products_top``, ``states_top`` and each family's ``forms`` carry a leader answer
    (``kind``: leader, tie, zero, none); ``market["span_gaps"]`` says the data's span
    holds months not fully covered. Each family's ``trend`` compares two complete,
    consecutive years or gives a ``reason``; ``quoted_in`` lists narratives of the family
    already quoted in an earlier section, ``labelled`` those the form label alone ties
    to it. ``spikes["latest"]`` is the first of :func:`claims.latest_first`.
    """
    cells = _Cells(tables)
    lenders = tables["lenders"]
    row = lenders[lenders["lender_slug"].astype("string") == slug]
    if row.empty:
        raise UserError(f"case study: no lender with slug {slug!r} in this data")
    me = cells.record(
        "lenders",
        {"lender_slug": slug},
        row.iloc[0],
        ["lender", "complaints", "rank", "first_date", "last_date", "narratives"]
        + ["narrative_share", "in_peer_group"],
    )
    min_n = int(site["min_lender_complaints"])
    out: dict = {
        "slug": slug,
        "lender": me["lender"],
        **{k: me[k] for k in me if k != "lender"},
        "thin": not me["in_peer_group"],
        "min_complaints": min_n,
        "min_narratives": MIN_NARRATIVES,
        "min_finding": MIN_FINDING,
        "narratives_thin": me["narratives"] < MIN_NARRATIVES,
        "lenders_total": len(lenders),
        "rank_shared": int((lenders["rank"] == me["rank"]).sum()) > 1,
        "peers": int(lenders["in_peer_group"].sum()),
        "as_of": _native(lenders["last_date"].max()),
        "level": LEVEL,
        "narrative_policy": NARRATIVE_POLICY,
        "before_narratives": me["last_date"] < NARRATIVE_POLICY,
    }

    rows = table[table["lender_slug"].astype("string") == slug]
    out["sources"] = sorted(rows["source"].astype("string").dropna().unique().tolist())
    out["us"] = "cfpb" in out["sources"]
    # Peers whose complaints come from the CFPB, whose form labels the conduct.
    peer_slugs = set(lenders.loc[lenders["in_peer_group"].to_numpy(dtype=bool), "lender_slug"])
    from_cfpb = table.loc[(table["source"].astype("string") == "cfpb").fillna(False), "lender_slug"]
    out["peers_us"] = len({str(s) for s in peer_slugs} & {str(s) for s in from_cfpb.unique()})

    # 1.2 debt types (the Sub-product field, grouped by the taxonomy's debt_types) and states.
    products = [
        {
            "key": str(r["debt_type"]),
            **cells.record(
                "lender_debt_types",
                {"lender_slug": slug, "debt_type": r["debt_type"]},
                r,
                ["label", "complaints", "share"],
            ),
        }
        for _, r in cells.rows("lender_debt_types", lender_slug=slug).iterrows()
    ]
    out["products"] = sorted(products, key=lambda p: (-p["complaints"], p["key"]))
    out["products_known"] = int(sum(p["complaints"] for p in products))
    # Only a kind of debt the consumer named may be called the commonest.
    known = [p for p in out["products"] if p["key"] not in VAGUE]
    out["products_top"] = _ranking(known, "complaints", "key")

    ls = tables["lender_states"]
    ls = ls[ls["lender_slug"].astype("string") == slug]
    ls = ls.sort_values(["complaints", "state"], ascending=[False, True], kind="stable")
    states = [
        {"state": str(r["state"]), "complaints": int(r["complaints"]), "_row": r}
        for _, r in ls.iterrows()
    ]
    top = _ranking(states, "complaints", "state")
    out["states"] = [
        cells.record(
            "lender_states",
            {"lender_slug": slug, "state": s["state"]},
            s["_row"],
            ["state", "complaints", "lender_complaints", "share"],
        )
        for s in top["shown"]
    ]
    out["states_top"] = {k: v for k, v in top.items() if k not in ("shown", "entries")}
    out["states_count"] = len(ls)
    out["states_known"] = int(ls["lender_complaints"].iloc[0]) if len(ls) else 0

    # 2 the market: every complaint, per complete year, and the commonest behaviour.
    periods = claims.Periods.of(tables.get("date_coverage"))
    cov = tables["coverage"]
    total = cells.get("coverage", {"dimension": "all", "value": "all"}, ["complaints"])
    years = cov[(cov["dimension"].astype("string") == "year")]
    yearly = tables["counts_yearly"]
    yearly = yearly[yearly["lender_slug"].astype("string") == slug]
    first_date = _native(lenders["first_date"].min())
    last_date = _native(lenders["last_date"].max())
    market = {
        "complaints": total["complaints"],
        "first_date": first_date,
        "last_date": last_date,
        "lender_share": me["complaints"] / total["complaints"] if total["complaints"] else None,
        **_span(periods, first_date, last_date),
        "year": None,
        "prev": None,
        "prev_year": None,
        "prev_reason": None,
        "change": None,
        "complete_years": [],
        "peak": {"kind": "none", "year": None, "complaints": None, "tied": []},
    }

    def market_year(y: int) -> dict:
        got = cells.get("coverage", {"dimension": "year", "value": str(y)}, ["complaints"])
        mine = yearly[yearly["year"] == int(y)]
        got["year"] = int(y)
        got["lender"] = None
        if not mine.empty:
            first = mine.iloc[0]
            key = {"lender_slug": slug, "behaviour": first["behaviour"], "year": int(y)}
            got["lender"] = cells.record("counts_yearly", key, first, ["all_complaints"])[
                "all_complaints"
            ]
        got["lender_share"] = (
            got["lender"] / got["complaints"]
            if got["lender"] is not None and got["complaints"]
            else None
        )
        return got

    # Only whole years, every month covered and none still being filled in, are named
    # "complete" or compared: a slice of a year against a whole one is no trend.
    complete = _comparable_years(years["value"].astype("int64"), years["provisional"], periods)
    market["complete_years"] = complete
    if complete:
        last = complete[-1]
        market["year"] = market_year(last)
        market["prev_year"] = last - 1
        if last - 1 in complete:
            market["prev"] = market_year(last - 1)
            a, b = market["year"]["complaints"], market["prev"]["complaints"]
            market["change"] = (a - b) / b if b else None
        elif first_date is None or int(str(first_date)[:4]) > last - 1:
            market["prev_reason"] = "before_data"
        else:
            market["prev_reason"] = "not_covered"
    if len(complete) > 1:  # "the busiest complete year" needs others to be busier than
        whole = years[years["value"].astype("int64").isin(complete).to_numpy(dtype=bool)]
        lead = claims.leader(whole, "complaints", "value")
        peak = market["peak"]
        peak["kind"] = lead["kind"]
        if lead["kind"] == "leader":
            peak.update(market_year(int(lead["name"])))
        elif lead["kind"] == "tie":
            peak["tied"] = [market_year(int(y)) for y in lead["tied"]]
            peak["complaints"] = peak["tied"][0]["complaints"]
    beh = tables["behaviours"].sort_values(["complaints", "behaviour"], ascending=[False, True])
    lead = claims.leader(beh, "complaints", "behaviour")
    tied = (
        beh[(beh["complaints"] == lead["value"]).to_numpy(dtype=bool)] if lead["value"] else beh[:0]
    )
    market["top_behaviours"] = {
        "kind": lead["kind"],
        "rows": [
            cells.record(
                "behaviours",
                {"behaviour": r["behaviour"]},
                r,
                ["behaviour", "family", "complaints", "share"],
            )
            for _, r in tied.iterrows()
        ],
    }
    # "This study looks at three *other* kinds of conduct" only when the commonest is
    # not one of them.
    market["top_in_seed"] = any(
        r["family"] in SEED_FAMILIES for r in market["top_behaviours"]["rows"]
    )
    out["market"] = market

    # 3 channels, 6.1 harm: narratives that mention them (lender_channels, lender_harm).
    out["channels"] = _mentions(
        cells, "lender_channels", "channel", slug, taxonomy.get("channels") or []
    )
    out["harm"] = _mentions(cells, "lender_harm", "harm", slug, taxonomy.get("harm") or [])
    # The excerpts are quoted from the narratives themselves.
    texts = _texts(rows)
    if len(texts) != me["narratives"]:  # the same test as aggregate's; must agree
        raise ValueError(
            f"case study {slug}: {len(texts)} narratives, lenders.csv says {me['narratives']}"
        )

    # 4 the seed's three families, each with its behaviours, trend and excerpts.
    fm = tables["family_mix"]
    fm = fm[fm["lender_slug"].astype("string") == slug]
    bm = tables["behaviour_mix"]
    bm = bm[bm["lender_slug"].astype("string") == slug]
    ids = list(taxonomy["behaviours"])
    used: dict = {}  # complaint key → the section that quoted it
    families = {}
    for n, fid in enumerate(SEED_FAMILIES, start=1):
        fam = cells.get("family_mix", {"lender_slug": slug, "family": fid}, MIX, fm)
        members = [b for b in ids if taxonomy["behaviours"][b]["family"] == fid]
        behaviours = {
            b: {
                "behaviour": b,
                **cells.get("behaviour_mix", {"lender_slug": slug, "behaviour": b}, MIX, bm),
            }
            for b in members
        }
        common = sorted(
            (v for v in behaviours.values() if v["complaints"]),
            key=lambda v: (-v["complaints"], members.index(v["behaviour"])),
        )
        focus = list(FOCUS.get(fid, ()))
        order = focus + [v["behaviour"] for v in common if v["behaviour"] not in focus]
        section = str(taxonomy["families"][fid].get("seed_section") or f"4.{n}")
        quotes = _excerpts(texts, tags, fid, order, used, section)
        families[fid] = {
            "family": fid,
            "section": section,
            **fam,
            "excess": (fam["share_lo"] - fam["peer_median"])
            if fam["above_peers"] and fam["peer_median"] is not None
            else None,
            "behaviours": behaviours,
            "common": common,
            # The forms a subsection lists besides the ones it names on their own (4.1).
            "focus": focus,
            "forms": _ranking(
                [v for v in common if v["behaviour"] not in focus], "complaints", "behaviour"
            ),
            "trend": _trend(cells, yearly, _trend_behaviour(common, taxonomy, fid), slug, periods)
            if common
            else None,
            **quotes,
        }
    out["families"] = families

    # Behaviours above peers in at least MIN_FINDING complaints, strongest first (6.3, 8):
    # one complaint can clear a peer median of 0, which is no finding.
    above = []
    notable = bm["above_peers"] & (bm["complaints"] >= MIN_FINDING)
    for _, r in bm[notable.to_numpy(dtype=bool)].iterrows():
        b = str(r["behaviour"])
        got = cells.record(
            "behaviour_mix",
            {"lender_slug": slug, "behaviour": b},
            r,
            ["complaints", "share", "share_lo", "share_hi", "peer_median", "ratio_to_peers"],
        )
        above.append(
            {
                "behaviour": b,
                "family": taxonomy["behaviours"][b]["family"],
                "law": taxonomy["behaviours"][b].get("law"),
                "excess": got["share_lo"] - got["peer_median"],
                **got,
            }
        )
    out["above"] = sorted(above, key=lambda a: (-a["excess"], ids.index(a["behaviour"])))

    # 6 responses, against all lenders.
    cols = ["complaints", "closed_total", "relief_total", "relief_rate", "relief_lo"]
    cols += ["relief_hi", "monetary_relief", "non_monetary_relief", "explanation"]
    cols += ["in_progress", "untimely", "timely_known", "timely_yes", "timely_rate"]
    cols += ["timely_lo", "timely_hi"]
    resp = cells.get("responses", {"lender_slug": slug}, cols)
    mkt = cells.get("responses", {"lender": MARKET}, ["relief_rate", "timely_rate"])
    resp["market_relief_rate"] = mkt["relief_rate"]
    resp["market_timely_rate"] = mkt["timely_rate"]
    resp["relief_vs_market"] = _compare(resp["relief_lo"], resp["relief_hi"], mkt["relief_rate"])
    resp["timely_vs_market"] = _compare(resp["timely_lo"], resp["timely_hi"], mkt["timely_rate"])
    out["responses"] = resp

    # 5.1 unusual months: "the latest" is the one every page names (claims.latest_first).
    sp = tables["spikes"]
    sp = claims.latest_first(
        sp[(sp["lender_slug"].astype("string") == slug).fillna(False).to_numpy(dtype=bool)]
    )
    out["spikes"] = {
        "count": len(sp),
        "months": int(sp["month"].nunique()) if len(sp) else 0,
        "latest": None,
    }
    if len(sp):
        r = sp.iloc[0]
        key = {"lender_slug": slug, "behaviour": r["behaviour"], "month": _native(r["month"])}
        wanted = ["month", "complaints", "baseline", "near_taxonomy_change"]
        out["spikes"]["latest"] = {
            "behaviour": str(r["behaviour"]),
            "baseline": None,
            "near_taxonomy_change": False,
            **cells.record("spikes", key, r, [c for c in wanted if c in sp.columns]),
        }

    # 8 the strongest findings, strongest first.
    findings = [
        {"kind": "family", **families[f]}
        for f in sorted(
            (f for f in SEED_FAMILIES if families[f]["excess"] is not None),
            key=lambda f: -families[f]["excess"],
        )
    ]
    # A behaviour above peers is a finding unless its family already is one: a seed
    # behaviour whose family as a whole is not above peers still counts.
    flagged = {f for f in SEED_FAMILIES if families[f]["excess"] is not None}
    others = [a for a in out["above"] if a["family"] not in flagged]
    findings += [{"kind": "behaviour", **a} for a in others[:SUMMARY_BEHAVIOURS]]
    for what in ("relief", "timely"):  # clearly better or worse than the market
        if resp[f"{what}_vs_market"] in ("above", "below"):
            findings.append({"kind": what, "direction": resp[f"{what}_vs_market"], **resp})
    out["findings"] = findings
    out["cells"] = cells.used
    return out


# ── rendering ──────────────────────────────────────────────────────────────────────────

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!])")
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August"]
_MONTHS += ["September", "October", "November", "December"]


def md_text(value, marker: str = MARKERS["en"]) -> Markup:
    """Text from the data → Markup that Markdown shows literally: whitespace collapsed,
    Markdown punctuation backslash-escaped, then HTML-escaped. Nothing in it can become a
    tag, a link or a heading."""
    text = re.sub(r"\s+", " ", str(value)).replace(_MARK, marker)
    return Markup(escape(_MD_SPECIAL.sub(r"\\\1", text)))


def _finalize(marker: str):
    def finalize(value):
        if isinstance(value, Markup) or hasattr(value, "__html__"):
            return value
        if value is None:
            return ""
        return md_text(value, marker)

    return finalize


class Helpers:
    """Formatting and link helpers for one edition. They return Markup (numbers and our
    own links, never data text)."""

    def __init__(self, lang: str, slug: str, taxonomy: dict) -> None:
        self.lang, self.tax = lang, taxonomy
        # The page is case-studies/<slug>/ (zh/case-studies/<slug>/ in Chinese).
        self.root = "../../" if lang == "en" else "../../../"
        self.prefix = "" if lang == "en" else "zh/"
        self.slug = quote(slug, safe="")

    def num(self, n) -> Markup:
        return Markup(fmt.count(n))

    def pct(self, x, digits: int = 1) -> Markup:
        return Markup(fmt.pct(x, digits))

    def interval(self, lo, hi) -> Markup:
        return Markup(f"{self.pct(lo)}–{self.pct(hi)}")

    def times(self, x) -> Markup:
        return Markup(self.na() if x is None else f"{float(x):.1f}")

    def na(self) -> str:
        return "n/a" if self.lang == "en" else "不适用"

    def date(self, iso) -> Markup:
        if iso is None:
            return Markup(self.na())
        d = Date.fromisoformat(str(iso)[:10])
        if self.lang == "zh":
            return Markup(f"{d.year}年{d.month}月{d.day}日")
        return Markup(f"{d.day} {_MONTHS[d.month - 1]} {d.year}")

    def month(self, iso) -> Markup:
        d = Date.fromisoformat(str(iso)[:10])
        if self.lang == "zh":
            return Markup(f"{d.year}年{d.month}月")
        return Markup(f"{_MONTHS[d.month - 1]} {d.year}")

    def ordinal(self, n) -> Markup:
        n = int(n)
        if self.lang == "zh":
            return Markup(f"第{n}")
        suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        return Markup(f"{n:,}{suffix}")

    def count(self, n, word: str) -> Markup:
        """'1 complaint', '3 complaints' (English); the number alone in Chinese."""
        if self.lang == "zh" or n is None:
            return self.num(n)
        return Markup(f"{self.num(n)} {escape(word)}{'' if int(n) == 1 else 's'}")

    def bname(self, bid: str) -> str:
        return self.tax["behaviours"][bid]["name"][self.lang]

    def fname(self, fid: str) -> str:
        return self.tax["families"][fid]["name"][self.lang]

    def fwords(self, fid: str) -> str:
        """The family in the words of a sentence (taxonomy ``in_prose``, else its name)."""
        fam = self.tax["families"][fid]
        return (fam.get("in_prose") or fam["name"])[self.lang]

    def dname(self, key: str, label: str = "") -> str:
        """A debt type's name from the taxonomy, written for the middle of a sentence."""
        names = {d["id"]: d["name"][self.lang] for d in self.tax.get("debt_types") or []}
        name = names.get(key) or label
        return name[:1].lower() + name[1:] if self.lang == "en" else name

    def csv(self, name: str) -> Markup:
        """Relative link from this page to data/<name>.csv."""
        return Markup(f"{self.root}data/{quote(name)}.csv")

    def bundle(self) -> Markup:
        """Relative link to this lender's ZIP of CSVs (only lenders with a page have one)."""
        return Markup(f"{self.root}data/lenders/{self.slug}.zip")

    def page(self, bare: str) -> Markup:
        """Relative link to a page of this edition, e.g. page('lenders/x/')."""
        return Markup(f"{self.root}{self.prefix}{bare}")

    def lender_page(self) -> Markup:
        return self.page(f"lenders/{self.slug}/")

    def law(self, key: str) -> Markup:
        label, url = RULES[key]
        return Markup(f"[{escape(label)}]({url})")

    def globals(self) -> dict:
        names = ["num", "pct", "interval", "times", "date", "month", "ordinal", "count", "bname"]
        names += ["fname", "fwords", "dname", "csv", "bundle", "page", "lender_page", "law"]
        return {n: getattr(self, n) for n in names}


def environment(lang: str) -> jinja2.Environment:
    """The Jinja environment for case-study templates: every value from the data is
    escaped for Markdown and HTML on output (see :func:`md_text`). One per language and
    folder, so each template is compiled once per build."""
    return _environment(lang, str(paths.CASE_STUDIES))


@cache
def _environment(lang: str, folder: str) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_finalize(MARKERS[lang]),
    )


_HAN = r"\u4e00-\u9fff"
_CJK_PUNCT = r"\u3000-\u303f\uff00-\uffef“”‘’"
# A single line break (not a blank line, not before a list item, heading, quote or
# attribute list) touching Chinese punctuation, or between two Chinese characters.
_CJK_BREAK = re.compile(
    rf"(?<=[{_CJK_PUNCT}])\n(?![\n\-*#>{{|0-9])"
    rf"|(?<=[{_HAN}])\n(?=[{_HAN}{_CJK_PUNCT}])"
    rf"|(?<=[^\n])\n(?=[{_CJK_PUNCT}])"
)
_SAFE_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def editorial(slug: str, lang: str) -> dict[str, Markup | None]:
    """Optional maintainer Markdown for sections 5 and 7:
    content/case-studies/<slug>/{causes,recommendations}.<lang>.md (trusted, not data)."""
    out: dict[str, Markup | None] = {"causes": None, "recommendations": None}
    if not _SAFE_SLUG.match(slug):
        return out
    for name in out:
        path = paths.CASE_STUDIES / slug / f"{name}.{lang}.md"
        if path.is_file():
            out[name] = Markup(path.read_text(encoding="utf-8").strip() + "\n")
    return out


def build(
    slug: str,
    lang: str,
    tables: dict,
    table: pd.DataFrame,
    tags: pd.DataFrame,
    config,
    *,
    order: list[str] | None = None,
    date: str | None = None,
    computed: dict | None = None,
) -> dict:
    """One edition of one case study.

    ``config`` is the loaded Config (site and taxonomy are used). ``order`` is the
    selection order for the "next case study" link (default: :func:`select`); ``date`` the
    publication date shown (default: the date the data runs to); ``computed`` the
    lender's :func:`facts`, if already computed (both editions can share them).

    Returns ``{"slug", "lang", "title", "date", "html", "next_slug", "thin", "lender",
    "description"}``; ``html`` is Markup, ready for templates/case_study.html.
    """
    if lang not in LANGS:
        raise ValueError(f"case study: unknown language {lang!r}")
    f = computed or facts(slug, tables, table, tags, config.taxonomy, config.site)
    order = list(order) if order is not None else select(tables, config.site)
    if slug in order:
        nxt = order[(order.index(slug) + 1) % len(order)]
    else:
        nxt = order[0] if order else slug
    names = tables["lenders"]
    nxt_name = names.loc[names["lender_slug"].astype("string") == nxt, "lender"]
    helpers = Helpers(lang, slug, config.taxonomy)
    context = {
        **helpers.globals(),
        "f": f,
        "lang": lang,
        "date_shown": date or f["as_of"],
        "source_titles": [_source_title(s, lang, config) for s in f["sources"]],
        "next": {
            "slug": nxt,
            "lender": str(nxt_name.iloc[0]) if len(nxt_name) else nxt,
            "url": helpers.page(f"case-studies/{quote(nxt, safe='')}/"),
            "self": nxt == slug,
        },
        "editorial": editorial(slug, lang),
    }
    module = environment(lang).get_template(f"case-study.{lang}.md").make_module(context)
    source = str(module)
    if lang == "zh":
        # A line break inside a paragraph shows as a space, which Chinese does not use.
        source = _CJK_BREAK.sub("", source)
    html = markdown.markdown(source, extensions=["attr_list"], output_format="html")
    return {
        "slug": slug,
        "lang": lang,
        "title": str(module.title),
        "description": str(getattr(module, "description", "")),
        "date": str(date or f["as_of"]),
        "html": Markup(html),
        "next_slug": nxt,
        "thin": bool(f["thin"]),
        "lender": f["lender"],
    }


def _source_title(source: str, lang: str, config) -> str:
    if source == "cfpb":
        ui = getattr(config, "ui", None) or {}
        return ui.get("source_cfpb", {}).get(lang, "Consumer Financial Protection Bureau")
    sources = (getattr(config, "sources", None) or {}).get("sources", {})
    return sources.get(source, {}).get("title", source)
