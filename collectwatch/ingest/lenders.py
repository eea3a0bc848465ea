"""Raw company names → one display name and URL-safe slug per lender, with the folds made."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter

import pandas as pd

from ..text import to_simplified_series


def fold_key(names: pd.Series, legal_suffixes: list[str]) -> pd.Series:
    """Names → keys that ignore case, punctuation, legal suffixes and script (繁/简)."""
    suffix = "|".join(re.escape(s) for s in sorted(legal_suffixes, key=len, reverse=True))
    uniq = pd.Series(names.dropna().unique(), dtype="string")
    simple = to_simplified_series(uniq.map(lambda s: unicodedata.normalize("NFKC", s)))
    key = (
        simple.str.casefold()
        .str.replace("&", " and ", regex=False)
        .str.replace(r"[^\w\s]|_", " ", regex=True)
        .str.replace(r"\s+", " ", regex=True)
        .str.strip()
    )
    for _ in range(3):  # "Foo Holdings Co., Inc." sheds both suffixes
        key = key.str.replace(rf"(?:^|\s)(?:{suffix})$|(?<=\S)(?:{suffix})$", "", regex=True)
        key = key.str.strip()
    key = key.mask(key == "", uniq.str.casefold())
    return names.map(dict(zip(uniq, key, strict=True)))


RESERVED_SLUGS = {"letter"}  # /lenders/letter/<key>/ are the lenders index's letter pages


def slugify(name: str) -> str:
    """A URL-safe slug of ASCII letters, digits and hyphens; never empty, never '..', never
    one of RESERVED_SLUGS."""
    decomposed = unicodedata.normalize("NFKD", name)
    ascii_name = decomposed.encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].strip("-")
    # Letters that ASCII cannot spell (速借通App) would otherwise vanish from the slug and
    # let different names collide, so such names carry a short stable hash; accents only
    # drop their marks (é → e) and need none.
    lost = any(unicodedata.category(c).startswith("L") and not c.isascii() for c in decomposed)
    if lost or len(slug) < 2 or slug in RESERVED_SLUGS:
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        slug = f"{slug}-{digest}" if len(slug) >= 2 else f"lender-{digest}"
    return slug


def resolve_lenders(raw: pd.Series, config: dict) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Raw names → frame of (lender, lender_slug) aligned with ``raw``, and the folds.

    Listed lenders (data/lenders.yaml) win; unlisted names sharing a fold key take the most
    common raw spelling as their display name (ties: alphabetical). Slugs are unique.
    """
    suffixes = config["legal_suffixes"]
    keys = fold_key(raw, suffixes)
    entries = [
        (alias, entry["name"], entry.get("slug"))
        for entry in config["lenders"]
        for alias in [entry["name"], *entry.get("aliases", [])]
    ]
    alias_keys = fold_key(pd.Series([a for a, _, _ in entries], dtype="string"), suffixes)
    listed = {k: (name, slug) for k, (_, name, slug) in zip(alias_keys, entries, strict=True)}

    counts = pd.DataFrame({"key": keys, "raw": raw}).value_counts().reset_index(name="n")
    # Most common spelling first; among equals prefer mixed case over SHOUTING, then A-Z.
    counts["shouting"] = counts["raw"] == counts["raw"].str.upper()
    counts = counts.sort_values(["key", "n", "shouting", "raw"], ascending=[1, 0, 1, 1])
    first = counts.drop_duplicates("key")
    display: dict[str, str] = {}
    fixed_slugs: dict[str, str] = {}
    for key, spelling in zip(first["key"], first["raw"], strict=True):
        name, slug = listed.get(key, (spelling, None))
        display[key] = name
        if slug:
            fixed_slugs[name] = slug

    slugs: dict[str, str] = {}
    taken: set[str] = set()
    for name in sorted(set(display.values())):
        base = fixed_slugs.get(name) or slugify(name)
        slug, n = base, 2
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
        taken.add(slug)
        slugs[name] = slug

    lender = keys.map(display)
    folds: dict[str, list[str]] = {}
    for (name, spelling), _ in (
        pd.DataFrame({"lender": lender, "raw": raw}).value_counts().sort_index().items()
    ):
        folds.setdefault(name, []).append(spelling)
    folds = {k: v for k, v in folds.items() if len(v) > 1 or v[0] != k}
    return pd.DataFrame({"lender": lender, "lender_slug": lender.map(slugs)}), folds


# Candidate merges: pairs of lender names that may be one company, for a maintainer to
# review (and to list in data/lenders.yaml if they are). Nothing is merged from them.
NEAR_RATIO = 0.9  # difflib ratio of the folded keys at or above which names are "near"
NEAR_FIRST_WORD = 0.8  # and the first words of the keys at least this alike
NEAR_WINDOW = 6  # neighbours compared in sorted order of the key, and of the reversed key
STOP_WORDS = frozenset({"and", "of", "the"})


def _tokens(name: str) -> list[str]:
    """Words of a name as fold_key sees them, before legal suffixes are dropped."""
    text = unicodedata.normalize("NFKC", name).casefold().replace("&", " and ")
    return re.sub(r"[^\w\s]|_", " ", text).split()


def _stages(tokens: list[str], suffixes: list[tuple[str, ...]]) -> list[list[str]]:
    """The words, then the words with each trailing legal suffix shed in turn."""
    stages = [tokens]
    while len(tokens) > 1:
        cut = next((s for s in suffixes if tuple(tokens[-len(s) :]) == s), None)
        if cut is None or len(cut) >= len(tokens):
            break
        tokens = tokens[: -len(cut)]
        stages.append(tokens)
    return stages


def candidate_merges(
    counts: pd.Series,
    legal_suffixes: list[str],
    *,
    near_ratio: float = NEAR_RATIO,
    window: int = NEAR_WINDOW,
) -> list[dict]:
    """Pairs of names (``counts``: complaints per lender name) that may be one company.

    - ``acronym``: one name is a single word of 2–6 letters that spells the initials of
      the other's words (with or without its legal suffixes and "and/of/the"): ERC ↔
      Enhanced Recovery Company.
    - ``prefix``: one name's words (legal suffixes dropped) begin the other's: Navient ↔
      Navient Solutions. The shorter one must have at least 4 letters.
    - ``near``: the folded keys are at least ``near_ratio`` alike (difflib's ratio) and
      their first words at least NEAR_FIRST_WORD, among each name's ``window`` neighbours
      in sorted order of the key and of the reversed key, so a difference anywhere but at
      both ends is found: URS Holdings ↔ URS Holding.

    Every rule looks names up by a key or compares sorted neighbours, never all pairs, so
    it stays linear in the number of names. Sorted by reason, then complaints.
    """
    from difflib import SequenceMatcher

    counts = counts[counts.index.notna()]
    counts = counts.groupby(level=0).sum()
    names = [str(n) for n in counts.index]
    total = dict(zip(names, (int(v) for v in counts.to_numpy()), strict=True))
    keys = dict(zip(names, fold_key(pd.Series(names, dtype="string"), legal_suffixes), strict=True))
    suffixes = sorted(
        {tuple(_tokens(s)) for s in legal_suffixes if _tokens(s)}, key=len, reverse=True
    )
    found: dict[tuple[str, str], str] = {}

    def add(a: str, b: str, reason: str) -> None:
        if a == b or keys[a] == keys[b]:
            return
        pair = tuple(sorted((a, b), key=lambda n: (-total[n], n)))  # larger first
        found.setdefault(pair, reason)

    words = {n: _tokens(n) for n in names}
    # acronym: initials of every multi-word name, looked up by each one-word name.
    by_initials: dict[str, list[str]] = {}
    for n in names:
        for stage in _stages(words[n], suffixes):
            for kept in (stage, [w for w in stage if w not in STOP_WORDS]):
                if len(kept) >= 2:
                    initials = "".join(w[0] for w in kept)
                    by_initials.setdefault(initials, []).append(n)
    for n in names:
        short = keys[n].replace(" ", "")
        if short.isalpha() and 2 <= len(short) <= 6 and len(_stages(words[n], suffixes)[-1]) == 1:
            for other in dict.fromkeys(by_initials.get(short, [])):
                add(n, other, "acronym")

    # prefix: every shorter run of leading words of a key, looked up among the keys.
    by_key: dict[str, list[str]] = {}
    for n in names:
        by_key.setdefault(keys[n], []).append(n)
    for n in names:
        parts = keys[n].split()
        for k in range(1, len(parts)):
            head = " ".join(parts[:k])
            if sum(c.isalpha() for c in head) >= 4:
                for other in by_key.get(head, []):
                    add(other, n, "prefix")

    # near: sorted neighbourhoods of the key and of the reversed key; the first words must
    # be alike too, or "CCS Financial Services" would be near "KLS Financial Services".
    bags: dict[str, Counter] = {}

    def bag(text: str) -> Counter:
        if text not in bags:
            bags[text] = Counter(text)
        return bags[text]

    def alike(a: str, b: str, least: float) -> bool:
        if a == b:
            return True
        if 2 * min(len(a), len(b)) / (len(a) + len(b)) < least:
            return False
        shared = sum((bag(a) & bag(b)).values())  # an upper bound of the ratio, cheaply
        if 2 * shared / (len(a) + len(b)) < least:
            return False
        return SequenceMatcher(None, a, b, autojunk=False).ratio() >= least

    distinct = sorted(by_key)
    for order in (distinct, sorted(distinct, key=lambda k: k[::-1])):
        for i, a in enumerate(order):
            for b in order[i + 1 : i + 1 + window]:
                first_a, first_b = a.split(" ", 1)[0], b.split(" ", 1)[0]
                if first_a != first_b and (
                    first_a[0] != first_b[0]
                    and first_a[-1] != first_b[-1]
                    or not alike(first_a, first_b, NEAR_FIRST_WORD)
                ):
                    continue  # a typo keeps one end of the word
                if alike(a, b, near_ratio):
                    add(by_key[a][0], by_key[b][0], "near")

    rank = {"acronym": 0, "prefix": 1, "near": 2}
    out = [
        {"names": list(pair), "complaints": [total[n] for n in pair], "reason": reason}
        for pair, reason in found.items()
    ]
    out.sort(key=lambda c: (rank[c["reason"]], -sum(c["complaints"]), c["names"]))
    return out
