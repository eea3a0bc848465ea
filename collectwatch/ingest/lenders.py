"""Raw company names → one display name and URL-safe slug per lender, with the folds made."""

from __future__ import annotations

import hashlib
import re
import unicodedata

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


def slugify(name: str) -> str:
    """A URL-safe slug of ASCII letters, digits and hyphens; never empty, never '..'."""
    decomposed = unicodedata.normalize("NFKD", name)
    ascii_name = decomposed.encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].strip("-")
    # Letters that ASCII cannot spell (速借通App) would otherwise vanish from the slug and
    # let different names collide, so such names carry a short stable hash; accents only
    # drop their marks (é → e) and need none.
    lost = any(unicodedata.category(c).startswith("L") and not c.isascii() for c in decomposed)
    if lost or len(slug) < 2:
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
