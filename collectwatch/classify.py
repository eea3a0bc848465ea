"""canonical table → behaviour tags with evidence.

Two kinds of rule from ``data/taxonomy.yaml`` tag each complaint with behaviours:

* label rules map the source's own (issue, sub-issue) labels, in every era's wording;
* narrative rules are keyword patterns run over the complaint text, in English or Chinese
  (Chinese is converted to Simplified first).

Every tag keeps its evidence: the rule that fired and the text it matched. Everything is
vectorised (a regex pass per behaviour over the whole text column, a factorised lookup for
labels, threads across cores), so a million complaints take seconds to a minute.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import UserError
from .text import published, to_simplified_series

TAG_COLUMNS = ["source", "complaint_id", "behaviour", "family", "rule", "kind", "span"]
LABEL_RULE = "label"

# Negation, conditions, fears and questions. A match is cancelled when a cue stands before
# it in the same clause: "nobody threatened to sue me or have me arrested", "if they call my
# employer I will lose my job", "I'm afraid they will sue", "can they garnish my wages?",
# "我担心他们会爆通讯录" (docs/annotation.md §3.4–3.5). The cue's scope runs to the end of its
# clause: to punctuation, a conjunction that opens a new clause ("because", "but", 但是, 就)
# or a new subject ("… if I don't pay they will sue me": the threat is the collector's, and
# counts). A subject right after the cue is the cue's own ("if they call my boss").
# RE2 (used by pyarrow) has no look-around, so clause ends are first marked with a form feed
# that the scope may not cross; the marks are taken out again before the rule itself runs.
CLAUSE_MARK = "\f"
CLAUSE_BREAKS = {
    "en": (
        r"\b(?:but|because|since|so|although|though|however|yet|then|when|whenever|while|"
        r"after|before|whereas|except|which|who|they|he|she|we|I|you|it|this\s+company|"
        r"the\s+(?:collector|agency|company|caller|rep|representative|agent|lender))\b"
    ),
    "zh": r"但是|但|可是|然而|却|因为|所以|于是|结果|然后|就|他们|她们|他|她|对方|催收|平台|客服",
}
_SUBJECT = {
    "en": r"(?:they|he|she|we|I|you|it|the\s+\w+)",
    "zh": r"(?:他们|她们|他|她|对方|催收|平台)",
}
_CUES = {
    "en": (
        r"\b(?:never|not|no|nobody|no\s+one|neither|nor|none|without|until|unless|if|whether|"
        r"afraid|worried|worry|worries|fear|fears|feared|"
        r"(?:did|do|does|has|have|had|was|were|is|are|would|could|should|wo|ca|must)n['’]?t|"
        r"n['’]t|cannot)\b"
        r"|(?:^|[.!?]\s*)(?:can|could|may|might|will|would|is\s+it|are\s+they|do\s+they|does)\b"
    ),
    "zh": (
        r"没有|从未|并未|从来没有|从没|不曾|未曾|无人|没人|"
        r"担心|害怕|怕|如果|假如|要是|万一|是否|能否|会不会|可不可以|能不能|有没有"
    ),
}
SCOPE_CHARS = {"en": 120, "zh": 20}  # the longest clause a cue reaches over
NEGATION = {
    lang: (
        f"(?:{_CUES[lang]})(?:\\s*{CLAUSE_MARK}{_SUBJECT[lang]})?"
        f"[^.,;:!?()\\n{CLAUSE_MARK}，。；：！？、]{{0,{SCOPE_CHARS[lang]}}}?"
    )
    for lang in _CUES
}


class Rule(NamedTuple):
    """One compiled narrative rule."""

    id: str
    behaviour: str
    lang: str
    pattern: str  # case-insensitive RE2 pattern
    negated: str | None  # the pattern preceded by a negation, for negatable rules
    breaks: str | None  # where clauses end, marked before ``negated`` runs
    silent: bool  # a rule of a label-only behaviour: it runs (to let others yield) but tags nothing


def normalise_label(s: pd.Series) -> pd.Series:
    """Casefold, straighten apostrophes and collapse whitespace, so that label wordings
    compare equal however an export spelled them; missing values become ""."""
    s = s.astype("str").fillna("")
    return (
        s.str.replace("\u2019", "'", regex=False)
        .str.replace(r"\s+", " ", regex=True)
        .str.strip()
        .str.casefold()
    )


def label_table(taxonomy: dict, where: str = "data/taxonomy.yaml") -> pd.DataFrame:
    """The label rules as a frame keyed by normalised ``issue`` and ``sub_issue``."""
    labels = pd.DataFrame(
        [
            {
                "issue": lab["issue"],
                "sub_issue": lab.get("sub_issue"),
                "era": lab["era"],
                "behaviour": lab["behaviour"],
            }
            for lab in taxonomy["labels"]
        ],
        columns=["issue", "sub_issue", "era", "behaviour"],
    )
    labels["key"] = normalise_label(labels["issue"]) + "\x1f" + normalise_label(labels["sub_issue"])
    clash = labels.groupby("key")["behaviour"].nunique()
    if (clash > 1).any():
        row = labels[labels["key"] == clash[clash > 1].index[0]].iloc[0]
        raise UserError(
            f"{where}: labels map {row['issue']!r} / {row['sub_issue']!r} to more than one "
            "behaviour"
        )
    return labels


def text_behaviours(taxonomy: dict) -> set[str]:
    """Behaviours the site reads from complaint text: all but those marked ``text: false``
    (their rules were not precise enough on the gold set; they come from labels only)."""
    return {b for b, v in taxonomy["behaviours"].items() if v.get("text", True)}


def compile_rules(taxonomy: dict, where: str = "data/taxonomy.yaml") -> list[Rule]:
    """Check and prepare the narrative rules; a bad pattern is a UserError naming the rule.

    Rules of a behaviour marked ``text: false`` come back ``silent``: they still run, so that
    another behaviour can yield to them (``yields_to``), but their tags are dropped."""
    rules, seen = [], set()
    probe = pa.array([""], pa.string())
    from_text = text_behaviours(taxonomy)
    for i, raw in enumerate(taxonomy["narrative_rules"]):
        rid, lang = raw["id"], raw["lang"]
        if rid in seen:
            raise UserError(f"{where}: narrative_rules[{i}].id {rid!r} is used twice")
        seen.add(rid)
        pattern = "(?i)" + raw["pattern"].strip()
        negated = None
        if raw.get("negatable"):
            if lang not in NEGATION:
                raise UserError(
                    f"{where}: narrative_rules[{i}] ({rid}) is negatable, but no negation "
                    f"words are known for language {lang!r}"
                )
            negated = "(?i)" + NEGATION[lang] + "(?:" + raw["pattern"].strip() + ")"
        for p in (pattern, negated):
            if p is None:
                continue
            try:
                pc.match_substring_regex(probe, p)
            except pa.ArrowInvalid as exc:
                raise UserError(
                    f"{where}: narrative_rules[{i}] ({rid}) pattern is not valid RE2: {exc}"
                ) from None
        breaks = "(?i)" + CLAUSE_BREAKS[lang] if negated else None
        silent = raw["behaviour"] not in from_text
        rules.append(Rule(rid, raw["behaviour"], lang, pattern, negated, breaks, silent))
    return rules


def _pick(uniques, idx: np.ndarray) -> pd.Series:
    """``uniques[idx]`` as strings, missing where ``idx`` is -1 (pandas' code for NA)."""
    values = np.append(np.asarray(uniques, dtype=object), None)
    return pd.Series(values[np.where(idx >= 0, idx, len(values) - 1)], dtype="str")


def _label_pairs(df: pd.DataFrame, taxonomy: dict) -> tuple[np.ndarray, pd.DataFrame]:
    """Factorise the rows' (issue, sub_issue) labels and map each distinct pair.

    Returns ``(codes, pairs)``: ``codes[row]`` indexes ``pairs``, which has one row per
    distinct raw pair with columns ``issue, sub_issue, behaviour`` (NA when unmapped).
    """
    na = pd.Series(pd.NA, index=df.index, dtype="str")
    # Factorise the raw text first, so that normalisation and lookup run on a few hundred
    # distinct labels rather than on every row.
    ci, ui = pd.factorize(df["issue"].astype("str") if "issue" in df else na)
    cs, us = pd.factorize(df["sub_issue"].astype("str") if "sub_issue" in df else na)
    width = len(us) + 1
    codes, combos = pd.factorize((ci.astype(np.int64) + 1) * width + (cs + 1))
    i_of, s_of = combos // width - 1, combos % width - 1
    pairs = pd.DataFrame({"issue": _pick(ui, i_of), "sub_issue": _pick(us, s_of)})
    key = normalise_label(pairs["issue"]) + "\x1f" + normalise_label(pairs["sub_issue"])
    lookup = label_table(taxonomy).drop_duplicates("key").set_index("key")["behaviour"]
    pairs["behaviour"] = key.map(lookup).where(pairs["issue"].notna())
    return codes, pairs


class _Tags(NamedTuple):
    """Tags as parallel arrays: row position, behaviour index, rule index (-1 = label), span."""

    pos: np.ndarray
    beh: np.ndarray
    rule: np.ndarray
    span: np.ndarray

    @staticmethod
    def concat(parts: list[_Tags]) -> _Tags:
        parts = [p for p in parts if len(p.pos)]
        if not parts:
            e = np.zeros(0, np.int64)
            return _Tags(e, e, e, np.zeros(0, object))
        return _Tags(*(np.concatenate(cols) for cols in zip(*parts, strict=True)))

    def keep(self, mask: np.ndarray) -> _Tags:
        return _Tags(*(col[mask] for col in self))


def _label_tags(df: pd.DataFrame, taxonomy: dict, index: dict[str, int]) -> _Tags:
    codes, pairs = _label_pairs(df, taxonomy)
    beh = pairs["behaviour"].map(index).fillna(-1).to_numpy(dtype=np.int64)
    span = pairs["issue"].where(
        pairs["sub_issue"].isna(), pairs["issue"] + " / " + pairs["sub_issue"]
    )
    pos = np.flatnonzero(beh[codes] >= 0)
    take = codes[pos]
    return _Tags(pos, beh[take], np.full(len(pos), -1), span.to_numpy(dtype=object)[take])


def _texts(df: pd.DataFrame, lang: str, context: str | None = None) -> tuple[np.ndarray, pa.Array]:
    """Positions and text of the rows with a narrative in ``lang`` (Simplified for zh);
    with ``context`` (an RE2 pattern), only the texts that match it."""
    if "narrative" not in df or "language" not in df:
        return np.array([], dtype=np.int64), pa.array([], pa.string())
    narrative = df["narrative"].astype("str")
    mask = (df["language"].astype("str") == lang).fillna(False).to_numpy(dtype=bool)
    pos = np.flatnonzero(mask & published(df["narrative"]))
    texts = narrative.iloc[pos]
    if lang == "zh":
        # Complaints come in both scripts (the seed article is Traditional); rules are
        # written once, in Simplified.
        texts = to_simplified_series(texts)
    arrow = pa.array(texts.array)
    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks()
    arrow = arrow.cast(pa.large_string())
    if context and len(arrow):
        keep = np.flatnonzero(_true(pc.match_substring_regex(arrow, "(?i)" + context)))
        pos, arrow = pos[keep], arrow.take(keep)
    return pos, arrow


def _true(mask) -> np.ndarray:
    return np.asarray(mask.fill_null(False), dtype=bool) if len(mask) else np.zeros(0, bool)


def _apply_rule(rule: Rule, texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Indices into ``texts`` where ``rule`` fires, and the text it matched there."""
    idx = np.flatnonzero(_true(pc.match_substring_regex(texts, rule.pattern)))
    if not len(idx):
        return idx, np.zeros(0, object)
    hits = texts.take(idx)
    if rule.negated:
        marked = pc.replace_substring_regex(hits, rule.breaks, CLAUSE_MARK + r"\0")
        unmarked = pc.replace_substring_regex(marked, rule.negated, " ")
        hits = pc.replace_substring(unmarked, CLAUSE_MARK, "")
        keep = np.flatnonzero(_true(pc.match_substring_regex(hits, rule.pattern)))
        idx, hits = idx[keep], hits.take(keep)
    span_pattern = rule.pattern.replace("(?i)", "(?i)(?P<span>", 1) + ")"
    spans = pc.struct_field(pc.extract_regex(hits, span_pattern), [0])
    return idx, pc.utf8_trim_whitespace(spans).to_numpy(zero_copy_only=False)


def _behaviour_pass(
    group: list[tuple[int, Rule]], texts: pa.Array, pos: np.ndarray, beh: int
) -> list[_Tags]:
    """Run one behaviour's rules over ``texts``."""
    # One pass with all of a behaviour's patterns finds the rows worth looking at; each
    # rule then runs on those rows only.
    if len(group) > 1:
        anyhit = "|".join(f"(?:{r.pattern})" for _, r in group)
        cand = np.flatnonzero(_true(pc.match_substring_regex(texts, anyhit)))
        texts = texts.take(cand)
    else:
        cand = np.arange(len(texts))
    out = []
    for i, rule in group:
        idx, spans = _apply_rule(rule, texts)
        out.append(_Tags(pos[cand[idx]], np.full(len(idx), beh), np.full(len(idx), i), spans))
    return out


CHUNK_ROWS = 50_000  # complaints per round of text rules: bounds the memory of the copies


def _text_tags(
    df: pd.DataFrame, rules: list[Rule], index: dict[str, int], contexts: dict[str, str]
) -> _Tags:
    groups: dict[str, dict[str, list[tuple[int, Rule]]]] = {}
    for i, r in enumerate(rules):
        groups.setdefault(r.lang, {}).setdefault(r.behaviour, []).append((i, r))
    found = []
    # pyarrow's regex kernels release the GIL, so behaviours run side by side on all cores;
    # the rows go in chunks, so the texts each rule copies stay small whatever the input.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for start in range(0, len(df), CHUNK_ROWS):
            part = df.iloc[start : start + CHUNK_ROWS]
            jobs = []
            for lang, by_behaviour in groups.items():
                pos, texts = _texts(part, lang, contexts.get(lang))
                if len(texts):
                    jobs += [(g, texts, pos + start, index[b]) for b, g in by_behaviour.items()]
            found += [t for done in pool.map(lambda job: _behaviour_pass(*job), jobs) for t in done]
    return _Tags.concat(found)


def _unspecified(taxonomy: dict) -> set[str]:
    """Family generals that no sub-issue label names: pure "unspecified" buckets."""
    specific = {lab["behaviour"] for lab in taxonomy["labels"] if lab.get("sub_issue")}
    return {f["general"] for f in taxonomy["families"].values()} - specific


def _drop_unspecified(tags: _Tags, taxonomy: dict) -> _Tags:
    """Drop text tags of an "unspecified" behaviour that a more specific tag explains.

    A bare "threatened" is dropped when its words are part of a specific match ("threatened
    to sue me"), and "骚扰" when part of "骚扰我的家人"; any unspecified text tag is dropped when
    the complaint's own label already names a specific behaviour of that family. Otherwise
    the same conduct would be counted twice. Independent mentions ("辱骂, 威胁恐吓") stay.
    """
    ids = list(taxonomy["behaviours"])
    families = list(taxonomy["families"])
    fam_of = np.array([families.index(taxonomy["behaviours"][b]["family"]) for b in ids])
    vague = np.isin(tags.beh, [ids.index(b) for b in _unspecified(taxonomy)])
    text = tags.rule >= 0
    if not (vague & text).any():
        return tags
    key = tags.pos * len(families) + fam_of[tags.beh]
    drop = vague & text & np.isin(key, key[~text & ~vague])

    general = np.flatnonzero(vague & text & ~drop)
    specific = np.flatnonzero(text & ~vague)
    pairs = pd.DataFrame({"g": general, "pos": tags.pos[general]}).merge(
        pd.DataFrame({"s": specific, "pos": tags.pos[specific]}), on="pos"
    )
    if len(pairs):
        inside = np.char.find(
            tags.span[pairs["s"].to_numpy()].astype(str),
            tags.span[pairs["g"].to_numpy()].astype(str),
        )
        drop[pairs["g"].to_numpy()[inside >= 0]] = True
    return tags.keep(~drop)


def _drop_yielding(tags: _Tags, taxonomy: dict, silent: np.ndarray) -> _Tags:
    """Apply ``yields_to``, then drop the tags of silent (label-only) rules.

    A text tag of behaviour B is dropped when the same complaint has a text tag (silent or
    not) of a behaviour that B ``yields_to``: one reason per disputed debt ("not mine because
    my identity was stolen" is identity theft only), no unspecified legal action beside an
    improper suit (docs/annotation.md §3.10, §4.4).
    """
    ids = list(taxonomy["behaviours"])
    text = tags.rule >= 0
    drop = np.zeros(len(tags.pos), bool)
    for b, spec in taxonomy["behaviours"].items():
        over = [ids.index(x) for x in spec.get("yields_to", [])]
        if not over:
            continue
        stronger = np.unique(tags.pos[text & np.isin(tags.beh, over)])
        drop |= text & (tags.beh == ids.index(b)) & np.isin(tags.pos, stronger)
    drop |= text & silent[np.maximum(tags.rule, 0)]
    return tags.keep(~drop)


def _behaviour_lists(n: int, pos: np.ndarray, beh: np.ndarray, ids: list[str]):
    """Per row, the distinct behaviour ids; ``pos``/``beh`` sorted by (pos, beh)."""
    first = np.ones(len(pos), bool)
    first[1:] = (pos[1:] != pos[:-1]) | (beh[1:] != beh[:-1])
    offsets = np.concatenate([[0], np.cumsum(np.bincount(pos[first], minlength=n))])
    values = pa.DictionaryArray.from_arrays(pa.array(beh[first], pa.int32()), pa.array(ids))
    lists = pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), values.cast(pa.string()))
    return pd.arrays.ArrowExtensionArray(lists)  # lists without a Python object per row


def _str(values) -> pd.arrays.ArrowStringArray:
    return pd.array(values, dtype="str")


def _take_str(column: pd.Series, positions: np.ndarray) -> pd.arrays.ArrowStringArray:
    """``column``'s values at ``positions`` as text, without a Python string per row."""
    return column.astype("str").array.take(positions)


def classify(df: pd.DataFrame, taxonomy: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tag every complaint with behaviours.

    ``df`` is the canonical complaint table. Returns ``(tagged, tags)``: a copy of ``df`` with
    a ``behaviours`` column (list of behaviour ids, distinct, in taxonomy order, empty when
    nothing applies), and the evidence table with one row per (complaint, behaviour, rule):
    ``source, complaint_id, behaviour, family, rule, kind, span``. ``kind`` is ``label``
    (``rule`` is "label", ``span`` the "Issue / Sub-issue" text) or ``text`` (``rule`` is the
    narrative rule id, ``span`` the matched words).
    """
    # A label-only behaviour's rules run only when another behaviour yields to them: the
    # rest could tag nothing, and every rule is a pass over every narrative.
    yielded = {b for v in taxonomy["behaviours"].values() for b in v.get("yields_to", [])}
    rules = [r for r in compile_rules(taxonomy) if not r.silent or r.behaviour in yielded]
    ids = list(taxonomy["behaviours"])
    index = {b: i for i, b in enumerate(ids)}

    contexts = taxonomy.get("text_context", {})
    text = _text_tags(df, rules, index, contexts)
    tags = _Tags.concat([_label_tags(df, taxonomy, index), text])
    tags = _drop_unspecified(tags, taxonomy)
    tags = _drop_yielding(tags, taxonomy, np.array([r.silent for r in rules] + [False], bool))
    # Sorted by complaint, then taxonomy order, then labels before text (rule -1 first), so
    # the source's own word reads first; a rule tags a complaint with a behaviour once.
    tags = tags.keep(np.lexsort((tags.rule, tags.beh, tags.pos)))
    first = np.ones(len(tags.pos), bool)
    first[1:] = (np.diff(tags.pos) != 0) | (np.diff(tags.beh) != 0) | (np.diff(tags.rule) != 0)
    tags = tags.keep(first)

    names = np.array(ids, dtype=object)
    fams = np.array([taxonomy["behaviours"][b]["family"] for b in ids], dtype=object)
    rule_ids = np.array([LABEL_RULE] + [r.id for r in rules], dtype=object)
    table = pd.DataFrame(
        {
            "source": _take_str(df["source"], tags.pos),
            "complaint_id": _take_str(df["complaint_id"], tags.pos),
            "behaviour": _str(names[tags.beh]),
            "family": _str(fams[tags.beh]),
            "rule": _str(rule_ids[tags.rule + 1]),
            "kind": _str(np.where(tags.rule < 0, "label", "text")),
            "span": _str(tags.span),
        },
        columns=TAG_COLUMNS,
    )

    out = df.copy(deep=False)  # copy-on-write: the new column leaves ``df`` as it was
    out["behaviours"] = _behaviour_lists(len(df), tags.pos, tags.beh, ids)
    return out, table


def unmapped_labels(df: pd.DataFrame, taxonomy: dict) -> dict[str, int]:
    """Labels that no label rule maps: ``"Issue / Sub-issue"`` (or ``"Issue"``) → rows.

    ``df`` is the canonical (in-scope) table; rows without an issue are not labels and are
    not counted. Sorted by count, largest first. The build report publishes this, so a new
    CFPB wording shows up instead of silently dropping out of every chart.
    """
    if "issue" not in df or not len(df):
        return {}
    codes, pairs = _label_pairs(df, taxonomy)
    pairs["rows"] = np.bincount(codes, minlength=len(pairs))
    miss = pairs[pairs["behaviour"].isna() & pairs["issue"].notna() & (pairs["rows"] > 0)]
    names = miss["issue"].where(miss["sub_issue"].isna(), miss["issue"] + " / " + miss["sub_issue"])
    result: dict[str, int] = {}
    for name, rows in zip(names, miss["rows"], strict=True):
        result[name] = result.get(name, 0) + int(rows)
    return dict(sorted(result.items(), key=lambda kv: (-kv[1], kv[0])))


def crosswalk(taxonomy: dict) -> pd.DataFrame:
    """One row per label rule, for readers who want to check or reuse the mapping:
    ``issue, sub_issue, era, behaviour, behaviour_name_en, behaviour_name_zh, family``."""
    b = taxonomy["behaviours"]
    rows = [
        {
            "issue": lab["issue"],
            "sub_issue": lab.get("sub_issue"),
            "era": lab["era"],
            "behaviour": lab["behaviour"],
            "behaviour_name_en": b[lab["behaviour"]]["name"]["en"],
            "behaviour_name_zh": b[lab["behaviour"]]["name"]["zh"],
            "family": b[lab["behaviour"]]["family"],
        }
        for lab in taxonomy["labels"]
    ]
    cols = [
        "issue",
        "sub_issue",
        "era",
        "behaviour",
        "behaviour_name_en",
        "behaviour_name_zh",
        "family",
    ]
    return pd.DataFrame(rows, columns=cols)


def label_era(dates: pd.Series, taxonomy: dict) -> pd.Series:
    """The id of the label era each date falls in (NA before the first era or for no date)."""
    eras = sorted(taxonomy["eras"], key=lambda e: e["start"])
    starts = pd.to_datetime([e["start"] for e in eras]).to_numpy(dtype="datetime64[ns]")
    when = pd.to_datetime(dates).to_numpy(dtype="datetime64[ns]")
    i = np.searchsorted(starts, when, side="right") - 1
    ids = np.array([e["id"] for e in eras], dtype=object)
    out = np.where((i >= 0) & ~np.isnat(when), ids[np.maximum(i, 0)], None)
    return pd.Series(out, index=dates.index, dtype="str", name="era")
