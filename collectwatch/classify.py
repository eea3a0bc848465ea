"""canonical table → behaviour tags with evidence.

Two kinds of rule from ``data/taxonomy.yaml`` tag each complaint with behaviours:

* label rules map the source's own (issue, sub-issue) labels, in every era's wording;
* narrative rules are keyword patterns run over the complaint text, in English or Chinese
  (Chinese is converted to Simplified first).

Every tag keeps its evidence: the rule that fired and the text it matched. Everything is
vectorised (one RE2 set of all a language's patterns searched once over each text, then each
rule on the texts where it matched; a factorised lookup for labels; threads across cores),
so the time grows with the text and the hits rather than with the number of rules, and a
million complaints take seconds.
"""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import re2

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


def mark_clauses(texts: pa.Array, lang: str) -> pa.Array:
    """``texts`` with a CLAUSE_MARK before every clause break of ``lang``: the end of a
    negation's scope (see NEGATION)."""
    return pc.replace_substring_regex(texts, "(?i)" + CLAUSE_BREAKS[lang], CLAUSE_MARK + r"\0")


def _apply_rule(
    rule: Rule,
    texts: pa.Array,
    marked: pa.Array | None = None,
    matched: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Indices into ``texts`` where ``rule`` fires, and the text it matched there.

    ``marked`` is ``texts`` through ``mark_clauses``, when the caller has it already (the
    marks are the same for every rule of a language); a negatable rule marks them itself
    otherwise. ``matched``: True for the texts where the caller already knows that the
    rule's pattern matches (the set pass); only the others are searched for it."""
    if matched is None:
        idx = np.flatnonzero(_true(pc.match_substring_regex(texts, rule.pattern)))
    else:
        ok, unsure = matched.copy(), np.flatnonzero(~matched)
        if len(unsure):
            ok[unsure] = _true(pc.match_substring_regex(texts.take(unsure), rule.pattern))
        idx = np.flatnonzero(ok)
    if not len(idx):
        return idx, np.zeros(0, object)
    hits = texts.take(idx)
    if rule.negated:
        if marked is None:
            marked = pc.replace_substring_regex(hits, rule.breaks, CLAUSE_MARK + r"\0")
        else:
            marked = marked.take(idx)
        # Few texts hold a negated match: find them first, and blank their negated matches
        # only; the rule must still match what is left of them.
        neg = np.flatnonzero(_true(pc.match_substring_regex(marked, rule.negated)))
        if len(neg):
            unmarked = pc.replace_substring_regex(marked.take(neg), rule.negated, " ")
            cleaned = pc.replace_substring(unmarked, CLAUSE_MARK, "")
            still = _true(pc.match_substring_regex(cleaned, rule.pattern))
            plain = np.setdiff1d(np.arange(len(idx)), neg)
            order = np.concatenate([plain, neg[still]])
            hits = pa.concat_arrays([hits.take(plain), cleaned.filter(still)])
            back = np.argsort(order, kind="stable")
            idx, hits = idx[order][back], hits.take(back)
    span_pattern = rule.pattern.replace("(?i)", "(?i)(?P<span>", 1) + ")"
    spans = pc.struct_field(pc.extract_regex(hits, span_pattern), [0])
    return idx, pc.utf8_trim_whitespace(spans).to_numpy(zero_copy_only=False)


SET_MAX_MEM = 64 << 20  # bytes RE2 may use for one language's rule set (program and DFA)


def rule_set(patterns: list[str]) -> re2.Set:
    """One RE2 set of ``patterns``, searched in one pass. A last, empty pattern matches every
    text, so that a text whose search failed (RE2 gives up when its DFA runs out of memory,
    and says so only by finding nothing) is told apart from one that no rule matches."""
    options = re2.Options()
    options.max_mem = SET_MAX_MEM
    options.log_errors = False
    found = re2.Set.SearchSet(options)
    for p in [*patterns, ""]:
        found.Add(p)
    found.Compile()
    return found


def _split(n: int) -> list[tuple[int, int]]:
    """``range(n)`` as one contiguous (start, stop) slice per worker thread."""
    step = max(-(-n // _WORKERS), 1)
    return [(lo, min(lo + step, n)) for lo in range(0, n, step)]


def _candidates(
    found: re2.Set, n_rules: int, texts: pa.Array, pool: ThreadPoolExecutor
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which of the ``n_rules`` patterns of ``found`` match which of ``texts``, in one pass
    over each text: ``(text, rule, sure)`` arrays of index pairs, sorted by rule. A text
    whose search failed pairs with every rule, not ``sure``, so that the exact pass decides
    for it."""
    bounds = np.frombuffer(texts.buffers()[1], np.int64)[texts.offset :][: len(texts) + 1]
    bounds = bounds.tolist()
    data = memoryview(texts.buffers()[2] or b"")

    def search(lo: int, hi: int) -> list:
        return [found.Match(data[bounds[i] : bounds[i + 1]]) or () for i in range(lo, hi)]

    # RE2 lets go of the GIL while it searches, so the texts are shared out across the cores.
    hits = [h for part in pool.map(lambda job: search(*job), _split(len(texts))) for h in part]
    sizes = np.fromiter(map(len, hits), np.int64, len(hits))
    rule = np.fromiter(itertools.chain.from_iterable(hits), np.int64, int(sizes.sum()))
    text = np.repeat(np.arange(len(texts)), sizes)
    sure = np.ones(len(rule), bool)
    failed = np.flatnonzero(sizes == 0)  # the empty pattern matches every text: these failed
    if len(failed):
        rule = np.concatenate([rule, np.tile(np.arange(n_rules), len(failed))])
        text = np.concatenate([text, np.repeat(failed, n_rules)])
        sure = np.concatenate([sure, np.zeros(n_rules * len(failed), bool)])
    keep = rule < n_rules  # drop the empty pattern's hits
    order = np.argsort(rule[keep], kind="stable")
    return text[keep][order], rule[keep][order], sure[keep][order]


def _lang_pass(
    lang: str,
    rules: list[tuple[int, Rule]],
    found: re2.Set,
    texts: pa.Array,
    pos: np.ndarray,
    index: dict[str, int],
    pool: ThreadPoolExecutor,
) -> list[_Tags]:
    """Run one language's ``rules`` (``(rule index, rule)``) over ``texts``: the set pass
    finds each rule's candidate texts, then the rule runs exactly on those alone."""
    text, rule, sure = _candidates(found, len(rules), texts, pool)
    cuts = np.searchsorted(rule, np.arange(len(rules) + 1))
    cand = [text[cuts[k] : cuts[k + 1]] for k in range(len(rules))]
    # Clause marks for every text a negatable rule may match, made once for all those rules.
    negatable = [cand[k] for k, (_, r) in enumerate(rules) if r.negated]
    marked_rows = np.unique(np.concatenate(negatable)) if negatable else np.zeros(0, np.int64)
    marked = None
    if len(marked_rows):
        parts = pool.map(
            lambda job: mark_clauses(texts.take(marked_rows[job[0] : job[1]]), lang),
            _split(len(marked_rows)),
        )
        marked = pa.concat_arrays(list(parts))

    def run(k: int) -> _Tags:
        i, r = rules[k]
        sub = texts.take(cand[k])
        mk = marked.take(np.searchsorted(marked_rows, cand[k])) if r.negated else None
        idx, spans = _apply_rule(r, sub, mk, sure[cuts[k] : cuts[k + 1]])
        return _Tags(
            pos[cand[k][idx]], np.full(len(idx), index[r.behaviour]), np.full(len(idx), i), spans
        )

    return list(pool.map(run, [k for k in range(len(rules)) if len(cand[k])]))


CHUNK_ROWS = 50_000  # complaints per round of text rules: bounds the memory of the copies
_WORKERS = os.cpu_count() or 1


def _text_tags(
    df: pd.DataFrame, rules: list[Rule], index: dict[str, int], contexts: dict[str, str]
) -> _Tags:
    # One pass per language finds, for every text, the rules that match it somewhere (an RE2
    # set of all the language's patterns), so the time grows with the text and the hits, not
    # with the number of rules. Each rule then runs exactly (negation, matched words) on the
    # texts where its pattern matched.
    by_lang: dict[str, list[tuple[int, Rule]]] = {}
    for i, r in enumerate(rules):
        by_lang.setdefault(r.lang, []).append((i, r))
    sets = {lang: rule_set([r.pattern for _, r in group]) for lang, group in by_lang.items()}
    found = []
    # RE2 and pyarrow's regex kernels release the GIL, so the work is shared out across the
    # cores; the rows go in chunks, so the texts each rule copies stay small.
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        for start in range(0, len(df), CHUNK_ROWS):
            part = df.iloc[start : start + CHUNK_ROWS]
            for lang, group in by_lang.items():
                pos, texts = _texts(part, lang, contexts.get(lang))
                if len(texts):
                    found += _lang_pass(lang, group, sets[lang], texts, pos + start, index, pool)
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
