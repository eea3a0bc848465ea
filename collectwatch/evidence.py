"""The text_tags table and the narratives → short, highlighted excerpts for lender pages.

Each peer-group lender page shows "What complaints say": up to :data:`EXCERPTS` passages
of its newest published narratives, one per behaviour family where the lender has that
many, each with the words that made a text rule tag it marked. The passages are redacted
exactly as the case studies' quotes are (:mod:`casestudy`: e-mail addresses, phone, SSN
and account numbers, the CFPB's ``XXXX`` runs) and cut around the matched words.

Everything here is computed once per build for every lender (:func:`select`), with no
language in it; :func:`markup` makes one excerpt into escaped HTML for one language.
"""

from __future__ import annotations

import itertools
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
from markupsafe import Markup

from .casestudy import _MARK, EXCERPT_CHARS, MARKERS, _scrub, _window
from .text import to_simplified

EXCERPTS = 3  # per lender page, at most
# Candidates looked at per lender: the newest few of each family (so a family other than
# the newest complaints' still gets its turn) and the newest overall. A candidate whose
# matched words cannot be found again after redaction is passed over, hence more than one.
POOL_PER_FAMILY = 3
POOL_PER_LENDER = 4 * EXCERPTS

# Bidirectional formatting characters: in a stranger's text they could make the marked
# words display as other words (reversed), so excerpts drop them.
_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def select(
    text_tags: pd.DataFrame,
    table: pd.DataFrame,
    slugs,
    *,
    n: int = EXCERPTS,
    limit: int = EXCERPT_CHARS,
) -> dict[str, list[dict]]:
    """Excerpts for the lenders ``slugs``: slug → up to ``n`` excerpts, newest first.

    ``text_tags`` is :func:`aggregate.text_tags`' table, ``table`` the complaint table with
    ``source, complaint_id, narrative, language``. Candidates are the lender's text tags,
    newest complaint first (then complaint ID, descending, then taxonomy and rule order).
    A first pass takes the newest candidate of each family not yet shown; a second fills
    what is left with the newest complaints not yet quoted. A complaint is quoted once.
    The excerpts picked are listed newest first.

    Each excerpt: ``source, complaint_id, date`` (YYYY-MM-DD), ``language, behaviour,
    family, rule`` and ``parts``: the redacted passage as (before, matched, after), plain
    text in which :data:`casestudy._MARK` stands for each redaction (see :func:`markup`).
    A lender without text tags has an empty list.
    """
    wanted = pd.Index(pd.unique(pd.Series(list(slugs), dtype="string")))
    out: dict[str, list[dict]] = {str(s): [] for s in wanted}
    pool = _pool(text_tags, wanted)
    if pool.empty:
        return out
    narratives = _narratives(table, pool)
    cache: dict[tuple[str, str, str], tuple[str, str, str] | None] = {}
    records = pool.to_dict("records")  # plain dicts: per-lender frames cost more than the work
    for slug, group in itertools.groupby(records, key=lambda r: r["lender_slug"]):
        rows = [SimpleNamespace(**r) for r in group]
        picked: list[dict] = []
        families: set[str] = set()
        quoted: set[tuple[str, str]] = set()
        for first_pass in (True, False):
            for row in rows:
                if len(picked) >= n:
                    break
                key = (row.source, row.complaint_id)
                if key in quoted or (first_pass and row.family in families):
                    continue
                ckey = (*key, row.matched)
                if ckey not in cache:
                    text, language = narratives.get(key, ("", ""))
                    cache[ckey] = highlight(text, row.matched, language, limit)
                parts = cache[ckey]
                if parts is None:
                    continue
                quoted.add(key)
                families.add(row.family)
                picked.append(
                    {
                        "source": row.source,
                        "complaint_id": row.complaint_id,
                        "date": row.date_received.date().isoformat(),
                        "language": row.language,
                        "behaviour": row.behaviour,
                        "family": row.family,
                        "rule": row.rule,
                        "parts": parts,
                    }
                )
        # Shown newest first, whichever pass picked them.
        out[str(slug)] = sorted(picked, key=lambda e: (e["date"], e["complaint_id"]), reverse=True)
    return out


def _pool(text_tags: pd.DataFrame, slugs: pd.Index) -> pd.DataFrame:
    """The candidates worth looking at: per lender, the newest POOL_PER_FAMILY of each
    family and the newest POOL_PER_LENDER overall, newest first. Text columns as str."""
    slug = text_tags["lender_slug"].astype("string")
    mine = text_tags[slug.isin(slugs).fillna(False).to_numpy(dtype=bool)]
    if mine.empty:
        return mine
    cols = ["source", "complaint_id", "lender_slug", "language", "behaviour", "family"]
    cols += ["rule", "matched"]
    frame = pd.DataFrame(
        {c: mine[c].astype("string").fillna("").to_numpy(dtype=object) for c in cols}
    )
    frame["date_received"] = pd.to_datetime(mine["date_received"]).to_numpy()
    frame["_order"] = np.arange(len(frame))  # taxonomy and rule order within a complaint
    frame = frame.sort_values(
        ["lender_slug", "date_received", "complaint_id", "_order"],
        ascending=[True, False, False, True],
        kind="stable",
    )
    by_family = frame.groupby(["lender_slug", "family"], sort=False).head(POOL_PER_FAMILY)
    newest = frame.groupby("lender_slug", sort=False).head(POOL_PER_LENDER)
    keep = frame.index.isin(by_family.index) | frame.index.isin(newest.index)
    return frame[keep].reset_index(drop=True)


def _narratives(table: pd.DataFrame, pool: pd.DataFrame) -> dict[tuple[str, str], tuple]:
    """(source, complaint_id) → (narrative, language) for the complaints in ``pool``."""
    ids = table["complaint_id"].astype("string")
    rows = table[ids.isin(set(pool["complaint_id"])).fillna(False).to_numpy(dtype=bool)]
    return {
        (str(s), str(c)): (str(t), "" if pd.isna(lang) else str(lang))
        for s, c, t, lang in zip(
            rows["source"].astype("string"),
            rows["complaint_id"].astype("string"),
            rows["narrative"].astype("string").fillna(""),
            rows["language"].astype("string"),
            strict=True,
        )
    }


def highlight(
    narrative: str, matched: str, language: str = "en", limit: int = EXCERPT_CHARS
) -> tuple[str, str, str] | None:
    """A narrative and the words a rule matched in it → (before, matched, after).

    The narrative is redacted (:func:`casestudy._scrub`), cut to about ``limit``
    characters around the first occurrence of the matched words (:func:`casestudy._window`)
    and split there; the middle part is the words as the consumer wrote them (their case,
    their script: Chinese rules match Simplified text, so a Traditional narrative is
    searched in its Simplified form and quoted in its own). Returns None when the words are
    not in the redacted passage (a redaction swallowed them, or no text).
    """
    text = _BIDI.sub("", _scrub(narrative))
    words = _BIDI.sub("", _scrub(matched))
    if not text or not words:
        return None
    if language == "zh":
        simple = to_simplified(text)
        if len(simple) != len(text):  # the scripts do not align: quote the Simplified form
            text = simple
        else:
            found = _find(simple, words)
            if found is not None:
                words = text[found : found + len(words)]
    passage = _window(text, words, limit)
    at = _find(passage, words)
    if at is None:
        return None
    end = at + len(words)
    return passage[:at], passage[at:end], passage[end:]


def _find(text: str, words: str) -> int | None:
    """Where ``words`` first occur in ``text``, ignoring case; None if nowhere."""
    found = re.search(re.escape(words), text, re.IGNORECASE)
    return found.start() if found else None


def markup(excerpt: dict, lang: str) -> Markup:
    """An excerpt → HTML: the passage escaped, the matched words in ``<mark>``, each
    redaction shown as the language's marker ("[redacted]")."""
    marker = MARKERS[lang]
    before, words, after = (p.replace(_MARK, marker) for p in excerpt["parts"])
    return Markup("{}<mark>{}</mark>{}").format(before, words, after)


def view(excerpts: list[dict], taxonomy: dict, lang: str) -> list[dict]:
    """A lender's excerpts as the lender page shows them in ``lang``: each excerpt plus
    ``html`` (:func:`markup`), ``behaviour_name`` and ``family_name``."""
    behaviours, families = taxonomy["behaviours"], taxonomy["families"]
    return [
        {
            **e,
            "html": markup(e, lang),
            "behaviour_name": behaviours[e["behaviour"]]["name"][lang],
            "family_name": families[e["family"]]["name"][lang],
        }
        for e in excerpts
    ]
