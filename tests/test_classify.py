"""Behaviour taxonomy: labels in every era, narratives in English and Chinese, and the
measurement of the narrative rules against the labels."""

from __future__ import annotations

import copy
import csv
import sys

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from collectwatch import classify as classify_module
from collectwatch import paths
from collectwatch.classify import CLAUSE_MARK, classify, crosswalk, label_era, unmapped_labels
from collectwatch.config import TAXONOMY_SCHEMA, cross_check_taxonomy, load_taxonomy, read_yaml
from collectwatch.errors import UserError
from collectwatch.evaluate import evaluate, every_rule, format_report, gold_texts

REAL_CFPB = paths.REAL_DATA / "cfpb"

# Header spellings seen in the real exports (official, Kaggle snake_case, underscores).
HEADERS = {
    "complaint_id": ("complaint id", "complaint_id"),
    "date_received": ("date received", "date_received"),
    "product": ("product",),
    "issue": ("issue",),
    "sub_issue": ("sub-issue", "sub_issue", "subissue"),
    "narrative": ("consumer complaint narrative", "consumer_complaint_narrative"),
}
MISSING = {"", "None", "N/A"}


def read_real_cfpb(product: str = "Debt collection") -> pd.DataFrame:
    """Canonical-like frame of the real CFPB samples' rows for ``product``."""
    files = sorted(REAL_CFPB.glob("*.csv"))
    if not files:
        pytest.skip(f"real samples not found in {REAL_CFPB}")
    csv.field_size_limit(sys.maxsize)
    records = []
    for path in files:
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            reader = csv.reader(f)
            # One export starts with two lines of unzip output before the header.
            header = next(r for r in reader if "product" in [c.strip().lower() for c in r])
            low = [c.strip().lower() for c in header]
            col = {
                k: next((low.index(n) for n in names if n in low), None)
                for k, names in HEADERS.items()
            }
            for line, row in enumerate(reader, start=2):
                rec = {
                    k: row[j] if j is not None and j < len(row) else None for k, j in col.items()
                }
                rec = {k: None if v is None or v.strip() in MISSING else v for k, v in rec.items()}
                if rec["product"] != product:
                    continue
                rec["complaint_id"] = rec["complaint_id"] or f"{path.name}:{line}"
                records.append(rec)
    df = pd.DataFrame.from_records(records, columns=list(HEADERS)).astype("str")
    df = df.drop_duplicates("complaint_id").reset_index(drop=True)
    return df.assign(source="cfpb", language="en")


def frame(*rows: dict) -> pd.DataFrame:
    """A canonical-like frame from a few rows; missing columns are empty."""
    base = {"issue": None, "sub_issue": None, "narrative": None, "language": "en"}
    df = pd.DataFrame([{**base, **r} for r in rows])
    df.insert(0, "source", "test")
    df.insert(1, "complaint_id", [str(i) for i in range(len(df))])
    return df


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy()


@pytest.fixture(scope="module")
def rules(taxonomy):
    """The taxonomy with every narrative rule switched on, label-only behaviours included
    (``text: false`` silences a rule on the site; its pattern is still tested here)."""
    return every_rule(taxonomy)


@pytest.fixture(scope="module")
def real():
    return read_real_cfpb()


def behaviours_of(taxonomy, **row) -> list[str]:
    out, _ = classify(frame(row), taxonomy)
    return out["behaviours"].iloc[0]


def text_tags(taxonomy, narrative: str, language: str = "en") -> pd.DataFrame:
    _, tags = classify(frame({"narrative": narrative, "language": language}), taxonomy)
    return tags


# --- the taxonomy file ---------------------------------------------------------------------


def test_taxonomy_file_is_valid_and_complete():
    tax = read_yaml(paths.TAXONOMY_YAML, TAXONOMY_SCHEMA)
    cross_check_taxonomy(tax, str(paths.TAXONOMY_YAML))
    assert 15 <= len(tax["behaviours"]) <= 25
    assert len(tax["families"]) == 7
    for bid, b in tax["behaviours"].items():
        assert b["name"]["en"].strip() and b["name"]["zh"].strip(), bid
        assert b["description"]["en"].strip() and b["description"]["zh"].strip(), bid
        assert b.get("law"), bid
    assert [e["id"] for e in tax["eras"]] == ["pre-2017", "2017", "2023"]
    assert {r["lang"] for r in tax["narrative_rules"]} == {"en", "zh"}


def test_every_behaviour_can_be_reached_by_a_label_or_a_rule(taxonomy):
    reached = {lab["behaviour"] for lab in taxonomy["labels"]}
    reached |= {r["behaviour"] for r in taxonomy["narrative_rules"]}
    assert set(taxonomy["behaviours"]) - reached == set()


def test_a_pattern_that_re2_cannot_run_names_the_rule(taxonomy, tmp_path):
    bad = copy.deepcopy(taxonomy)
    bad["narrative_rules"][0]["pattern"] = r"(?<!never )threatened"
    path = tmp_path / "taxonomy.yaml"
    import yaml

    path.write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    with pytest.raises(UserError, match=bad["narrative_rules"][0]["id"]):
        load_taxonomy(path)


# --- labels --------------------------------------------------------------------------------


def test_every_real_debt_collection_label_maps(taxonomy, real):
    pairs = real[["issue", "sub_issue"]].drop_duplicates()
    assert len(pairs) > 40  # the samples really span the eras
    assert unmapped_labels(real, taxonomy) == {}
    tagged, _ = classify(real, taxonomy)
    assert tagged.loc[real["issue"].notna().to_numpy(), "behaviours"].map(len).gt(0).all()


def test_an_unknown_label_is_reported_with_its_count(taxonomy):
    df = frame(
        {"issue": "Communication tactics", "sub_issue": "Sent a carrier pigeon"},
        {"issue": "Communication tactics", "sub_issue": "Sent a carrier pigeon"},
        {"issue": "A brand new issue"},
        {"issue": "Communication tactics", "sub_issue": "Frequent or repeated calls"},
        {"narrative": "no label at all"},
    )
    assert unmapped_labels(df, taxonomy) == {
        "Communication tactics / Sent a carrier pigeon": 2,
        "A brand new issue": 1,
    }


SAME_SUB_ISSUE_IN_TWO_ERAS = [
    (
        ("Communication tactics", "Called outside of 8am-9pm"),
        ("Communication tactics", "Called before 8am or after 9pm"),
        "inconvenient_hours",
    ),
    (
        ("Communication tactics", "Called after sent written cease of comm"),
        ("Communication tactics", "You told them to stop contacting you, but they keep trying"),
        "contact_after_stop",
    ),
    (
        ("Communication tactics", "Used obscene/profane/abusive language"),
        ("Communication tactics", "Used obscene, profane, or other abusive language"),
        "abusive_language",
    ),
    (
        ("Taking/threatening an illegal action", "Threatened arrest/jail if do not pay"),
        (
            "Took or threatened to take negative or legal action",
            "Threatened to arrest you or take you to jail if you do not pay",
        ),
        "threatened_arrest",
    ),
    (
        ("Taking/threatening an illegal action", "Threatened to sue on too old debt"),
        (
            "Took or threatened to take negative or legal action",
            "Threatened to sue you for very old debt",
        ),
        "threatened_lawsuit",
    ),
    (
        ("False statements or representation", "Impersonated an attorney or official"),
        (
            "False statements or representation",
            "Impersonated attorney, law enforcement, or government official",
        ),
        "impersonated_official",
    ),
    (
        ("Improper contact or sharing of info", "Talked to a third party about my debt"),
        (
            "Threatened to contact someone or share information improperly",
            "Talked to a third-party about your debt",
        ),
        "told_third_party",
    ),
    (
        ("Improper contact or sharing of info", "Contacted employer after asked not to"),
        (
            "Threatened to contact someone or share information improperly",
            "Contacted your employer",
        ),
        "contacted_employer",
    ),
    (
        ("Cont'd attempts collect debt not owed", "Debt is not mine"),
        ("Attempts to collect debt not owed", "Debt is not yours"),
        "debt_not_mine",
    ),
    (
        ("Cont'd attempts collect debt not owed", "Debt resulted from identity theft"),
        ("Attempts to collect debt not owed", "Debt was result of identity theft"),
        "identity_theft",
    ),
    (
        ("Disclosure verification of debt", "Not given enough info to verify debt"),
        ("Written notification about debt", "Didn't receive enough information to verify debt"),
        "validation_notice",
    ),
    (
        ("Taking/threatening an illegal action", "Sued w/o proper notification of suit"),
        (
            "Took or threatened to take negative or legal action",
            "Sued you without properly notifying you of lawsuit",
        ),
        "sued_improperly",
    ),
    (
        ("Communication tactics", "Frequent or repeated calls"),
        ("Electronic communications", "Frequent or repeated messages"),
        "repeated_contact",
    ),
]


@pytest.mark.parametrize(("old", "new", "expected"), SAME_SUB_ISSUE_IN_TWO_ERAS)
def test_both_eras_wordings_give_the_same_behaviour(taxonomy, old, new, expected):
    before = behaviours_of(taxonomy, issue=old[0], sub_issue=old[1])
    after = behaviours_of(taxonomy, issue=new[0], sub_issue=new[1])
    assert before == after == [expected]


def test_label_matching_ignores_case_spacing_and_curly_apostrophes(taxonomy):
    assert behaviours_of(
        taxonomy, issue="  communication   TACTICS", sub_issue="Frequent or repeated  calls "
    ) == ["repeated_contact"]
    assert behaviours_of(
        taxonomy,
        issue="Written notification about debt",
        sub_issue="Didn\u2019t receive notice of right to dispute",
    ) == ["validation_notice"]


def test_issue_only_labels_map_to_the_family_general(taxonomy):
    issue_only = [lab for lab in taxonomy["labels"] if not lab.get("sub_issue")]
    assert len(issue_only) >= 10
    for lab in issue_only:
        got = behaviours_of(taxonomy, issue=lab["issue"], sub_issue=None)
        family = taxonomy["behaviours"][got[0]]["family"]
        assert got == [taxonomy["families"][family]["general"]], lab["issue"]
    assert behaviours_of(taxonomy, issue="Communication tactics", sub_issue=float("nan")) == [
        "harassment_other"
    ]


def test_label_tag_records_the_label_as_evidence(taxonomy):
    df = frame({"issue": "Communication tactics", "sub_issue": "Frequent or repeated calls"})
    _, tags = classify(df, taxonomy)
    assert tags[["behaviour", "family", "rule", "kind", "span"]].values.tolist() == [
        [
            "repeated_contact",
            "harassing_contact",
            "label",
            "label",
            "Communication tactics / Frequent or repeated calls",
        ]
    ]


def test_crosswalk_lists_every_label_rule_with_names(taxonomy):
    cw = crosswalk(taxonomy)
    assert len(cw) == len(taxonomy["labels"])
    assert list(cw.columns) == [
        "issue",
        "sub_issue",
        "era",
        "behaviour",
        "behaviour_name_en",
        "behaviour_name_zh",
        "family",
    ]
    row = cw[
        (cw["issue"] == "Electronic communications")
        & (cw["sub_issue"] == "Frequent or repeated messages")
    ].iloc[0]
    assert (row["era"], row["behaviour"], row["family"]) == (
        "2023",
        "repeated_contact",
        "harassing_contact",
    )
    assert row["behaviour_name_zh"] == taxonomy["behaviours"]["repeated_contact"]["name"]["zh"]


def test_label_era_follows_the_revision_dates(taxonomy):
    dates = pd.Series(
        pd.to_datetime(["2013-07-01", "2017-04-23", "2017-04-24", "2023-08-23", "2023-08-24", None])
    )
    assert label_era(dates, taxonomy).tolist()[:5] == [
        "pre-2017",
        "pre-2017",
        "2017",
        "2017",
        "2023",
    ]
    assert pd.isna(label_era(dates, taxonomy).iloc[5])


# --- narratives ----------------------------------------------------------------------------


def test_traditional_and_simplified_chinese_give_identical_tags(taxonomy):
    trad = text_tags(taxonomy, "催收員深夜打電話騷擾我的家人", "zh")
    simp = text_tags(taxonomy, "催收员深夜打电话骚扰我的家人", "zh")
    cols = ["behaviour", "rule", "span"]
    assert trad[cols].values.tolist() == simp[cols].values.tolist()
    assert set(trad["behaviour"]) == {"inconvenient_hours", "told_third_party"}


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        (
            "They called me 8 times a day, sometimes at 6am.",
            "en",
            {"repeated_contact", "inconvenient_hours"},
        ),
        (
            "The collector called my mother and my boss about the debt.",
            "en",
            {"told_third_party", "contacted_employer"},
        ),
        (
            "He cursed at me and said I would go to jail.",
            "en",
            {"abusive_language", "threatened_arrest"},
        ),
        ("A man pretended to be a police officer.", "en", {"impersonated_official"}),
        ("This is not my debt and I already paid it.", "en", {"debt_not_mine", "debt_paid"}),
        ("They never sent validation of the debt.", "en", {"validation_notice"}),
        ("They threatened to sue me.", "en", {"threatened_lawsuit"}),
        ("催收每天打几十个电话，呼死你", "zh", {"repeated_contact"}),
        ("催收冒充公检法，说我要坐牢", "zh", {"impersonated_official", "threatened_arrest"}),
        (
            "暴力催收，爆通讯录，辱骂我",
            "zh",
            {"threats_other", "told_third_party", "abusive_language"},
        ),
        ("逾期后要求平台停止骚扰", "zh", {"harassment_other"}),
    ],
)
def test_narratives_are_tagged_in_english_and_chinese(rules, text, language, expected):
    assert set(text_tags(rules, text, language)["behaviour"]) == expected


def test_label_only_behaviours_are_not_read_from_text(taxonomy, rules):
    text = "They call me every day and I already paid this debt."
    assert {"repeated_contact", "debt_paid"} <= set(text_tags(rules, text)["behaviour"])
    assert not taxonomy["behaviours"]["repeated_contact"].get("text", True)
    assert text_tags(taxonomy, text).empty  # both are taken from labels only


def test_chinese_rules_read_only_texts_about_a_debt(rules):
    assert text_tags(rules, "客服辱骂我，商品质量太差", "zh").empty  # a shopping complaint
    assert set(text_tags(rules, "催收辱骂我", "zh")["behaviour"]) == {"abusive_language"}


def test_a_negation_cancels_the_match(rules):
    assert text_tags(rules, "To be fair, they never threatened me.").empty
    assert text_tags(rules, "他们并没有威胁我", "zh").empty
    assert set(text_tags(rules, "They threatened to have me arrested.")["behaviour"]) == {
        "threatened_arrest"
    }
    # A negation further back does not cancel a later threat.
    assert "threats_other" in set(
        text_tags(rules, "I did not pay because they threatened me.")["behaviour"]
    )


def test_text_tags_carry_the_rule_and_the_matched_words(rules):
    tags = text_tags(rules, "For weeks they called me 8 times a day.")
    assert tags[["behaviour", "rule", "kind", "span"]].values.tolist() == [
        ["repeated_contact", "en_calls_per_day", "text", "8 times a day"]
    ]
    assert tags[["source", "complaint_id", "family"]].values.tolist() == [
        ["test", "0", "harassing_contact"]
    ]


def test_a_vague_word_inside_a_specific_match_is_not_counted_twice(rules):
    assert set(text_tags(rules, "They threatened to sue me.")["behaviour"]) == {
        "threatened_lawsuit"
    }
    # ...but an independent vague mention stays.
    assert set(text_tags(rules, "They threatened me. Then they called my boss.")["behaviour"]) == {
        "threats_other",
        "contacted_employer",
    }


def test_rules_only_read_narratives_in_their_language(taxonomy):
    assert text_tags(taxonomy, "They threatened to sue me.", "zh").empty
    assert text_tags(taxonomy, "威胁", "en").empty


def test_behaviours_are_distinct_in_taxonomy_order_and_empty_when_none(rules):
    df = frame(
        {
            "issue": "Communication tactics",
            "sub_issue": "Frequent or repeated calls",
            "narrative": "I was told I would go to jail. They call me every day.",
        },
        {"narrative": "I have a question about my statement."},
        {},
    )
    out, tags = classify(df, rules)
    assert out["behaviours"].tolist() == [["repeated_contact", "threatened_arrest"], [], []]
    first = tags[tags["complaint_id"] == "0"]
    assert first[["behaviour", "kind"]].values.tolist() == [
        ["repeated_contact", "label"],
        ["repeated_contact", "text"],
        ["threatened_arrest", "text"],
    ]
    assert len(out) == len(df) and "behaviours" not in df


# --- evaluation ----------------------------------------------------------------------------


def test_evaluation_on_the_real_samples_is_self_consistent(taxonomy, real):
    result = evaluate(real, taxonomy)
    assert result["complaints"] > 100
    per = result["per_behaviour"]
    assert list(per["behaviour"]) == list(taxonomy["behaviours"])
    assert (per["tp"] + per["fn"] == per["support"]).all()
    assert (per["tp"] + per["fp"] == per["predicted"]).all()
    for r in per.itertuples():
        for value, num, den in ((r.precision, r.tp, r.tp + r.fp), (r.recall, r.tp, r.tp + r.fn)):
            if den == 0:
                assert value is None
            else:
                assert 0 <= value <= 1 and value == pytest.approx(num / den)
    assert per["judged"].tolist() == (per["support"] >= 10).tolist()
    assert per["support"].sum() >= result["complaints"]
    fam = result["per_family"]
    assert list(fam["family"]) == list(taxonomy["families"])
    conf = result["confusion"]
    assert (conf["predicted"] != conf["actual"]).all()
    assert conf["share"].between(0, 1).all()

    report = format_report(result)
    assert "too few to judge" in report
    assert "nan" not in report.lower()


def test_the_demo_chinese_complaints_get_behaviour_tags(rules):
    from collectwatch import paths
    from collectwatch.config import load_config
    from collectwatch.ingest import read_inputs

    config = load_config()
    result = read_inputs([str(paths.DEMO / "heimao_demo.csv")], config.sources, config.lenders)
    tagged, tags = classify(result.table, rules)
    assert (tagged["behaviours"].list.len() > 0).mean() > 0.8
    assert {"harassment_other", "told_third_party", "impersonated_official"} <= set(
        tags["behaviour"]
    )
    assert (tags["kind"] == "text").all() and tags["span"].str.len().gt(0).all()


def test_text_rules_give_the_same_tags_in_chunks_of_any_size(rules, real, monkeypatch):
    whole, whole_tags = classify(real, rules)
    assert (whole_tags["kind"] == "text").sum() > 100  # the narratives do get text tags
    monkeypatch.setattr(classify_module, "CHUNK_ROWS", 97)
    chunked, chunked_tags = classify(real, rules)
    pd.testing.assert_frame_equal(whole_tags, chunked_tags)
    pd.testing.assert_frame_equal(whole, chunked)


# -- one pass per language: the RE2 set must find what every rule finds on its own ---------


def each_rule_alone(rule, texts: pa.Array) -> list[tuple[int, str]]:
    """The plainest reading of one rule over every text: (text index, matched words). A
    negatable rule's text has its clause ends marked and its negated matches blanked out
    everywhere, and must still match afterwards."""
    if rule.negated:
        marked = pc.replace_substring_regex(texts, rule.breaks, CLAUSE_MARK + r"\0")
        blanked = pc.replace_substring_regex(marked, rule.negated, " ")
        texts = pc.replace_substring(blanked, CLAUSE_MARK, "")
    hit = pc.match_substring_regex(texts, rule.pattern).fill_null(False).to_pylist()
    span = rule.pattern.replace("(?i)", "(?i)(?P<span>", 1) + ")"
    found = pc.struct_field(pc.extract_regex(texts, span), [0]).to_pylist()
    return [(i, found[i].strip()) for i in range(len(texts)) if hit[i]]


def one_rule_at_a_time(df: pd.DataFrame, rules: list, index: dict, contexts: dict) -> list:
    """The text tags as each rule finds them alone, over every text of its language:
    sorted (row, behaviour, rule, matched words)."""
    found = []
    for lang in sorted({r.lang for r in rules}):
        pos, texts = classify_module._texts(df, lang, contexts.get(lang))
        for i, rule in enumerate(rules):
            if rule.lang == lang:
                found += [
                    (int(pos[j]), index[rule.behaviour], i, span)
                    for j, span in each_rule_alone(rule, texts)
                ]
    return sorted(found)


def one_pass(df: pd.DataFrame, rules: list, index: dict, contexts: dict) -> list:
    tags = classify_module._text_tags(df, rules, index, contexts)
    return sorted((int(p), int(b), int(r), s) for p, b, r, s in zip(*tags, strict=True))


@pytest.fixture(scope="module")
def narratives(real):
    """Every real narrative at hand: the CFPB samples' debt-collection rows, and the gold
    set's English and Chinese texts (read from ../shared)."""
    texts = gold_texts()
    if texts is None:
        pytest.skip("real gold texts not found in ../shared")
    items = pd.read_csv(paths.DATA / "gold" / "items.csv", dtype=str)
    lang_of = dict(zip(items["item_id"], items["language"], strict=True))
    rows = [{"narrative": n, "language": "en"} for n in real["narrative"].dropna()]
    rows += [{"narrative": t, "language": lang_of[i]} for i, t in texts.items()]
    return frame(*rows)


def test_one_pass_per_language_finds_what_each_rule_finds_alone(rules, narratives):
    compiled = classify_module.compile_rules(rules)
    index = {b: i for i, b in enumerate(rules["behaviours"])}
    contexts = rules.get("text_context", {})
    assert set(narratives["language"]) == {"en", "zh"}
    expected = one_rule_at_a_time(narratives, compiled, index, contexts)
    assert len({t[2] for t in expected}) > 30  # most rules fire somewhere in the real texts
    assert one_pass(narratives, compiled, index, contexts) == expected


class GivesUp:
    """An RE2 set whose search fails on some texts, as a real one does when its DFA runs
    out of memory: it then finds nothing at all, not even the empty pattern."""

    def __init__(self, real_set, every: int) -> None:
        self.real, self.every, self.calls = real_set, every, 0

    def Match(self, text):  # noqa: N802 (RE2's name)
        self.calls += 1
        return [] if self.calls % self.every == 0 else self.real.Match(text)


def test_a_text_whose_set_search_fails_is_still_read_by_every_rule(rules, narratives):
    compiled = classify_module.compile_rules(rules)
    en = [r for r in compiled if r.lang == "en"]
    index = {b: i for i, b in enumerate(rules["behaviours"])}
    pos, texts = classify_module._texts(narratives, "en")
    found = GivesUp(classify_module.rule_set([r.pattern for r in en]), every=3)
    with classify_module.ThreadPoolExecutor(1) as pool:
        tags = classify_module._lang_pass("en", list(enumerate(en)), found, texts, pos, index, pool)
    assert found.calls == len(texts)
    got = sorted((int(p), int(b), int(r), s) for t in tags for p, b, r, s in zip(*t, strict=True))
    assert got == one_rule_at_a_time(narratives, en, index, {})
