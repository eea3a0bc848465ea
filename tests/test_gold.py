"""The gold set (data/gold) and what it says about the text rules (issue #15): negations and
hypotheticals tag nothing, the label files are sound, the committed results are what a fresh
evaluation gives, every judged behaviour is precise enough or taken from labels only, and the
methodology page shows the figures."""

from __future__ import annotations

import csv
import json
import os

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from collectwatch import evaluate as ev
from collectwatch.classify import classify, text_behaviours
from collectwatch.config import load_taxonomy

GOLD = ev.GOLD_DIR


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy()


@pytest.fixture(scope="module")
def rules(taxonomy):
    """Every narrative rule switched on, label-only behaviours included: negation must hold
    for the rules themselves, not only because the site ignores some of them."""
    return ev.every_rule(taxonomy)


@pytest.fixture(scope="module")
def results():
    found = ev.read_gold_results()
    assert found is not None, "data/gold/results.json is missing: run make eval"
    return found


def tagged(taxonomy, *texts: tuple[str, str]) -> list[set[str]]:
    """The behaviours the text rules give each (language, text)."""
    df = pd.DataFrame(
        {
            "source": "t",
            "complaint_id": [str(i) for i in range(len(texts))],
            "issue": None,
            "sub_issue": None,
            "narrative": [t for _, t in texts],
            "language": [lang for lang, _ in texts],
        }
    )
    _, tags = classify(df, taxonomy)
    text = tags[tags["kind"] == "text"]
    return [set(text.loc[text["complaint_id"] == str(i), "behaviour"]) for i in range(len(texts))]


# --- negation and hypotheticals (docs/annotation.md §3.4, §3.5) ---------------------------

NOTHING = [
    ("en", "Nobody threatened to sue me or have me arrested."),
    ("en", "nobody threatened to sue me or have me arrested"),
    ("en", "They never threatened me, they just called a lot."),
    ("en", "I was not rude to them and they were not rude to me."),
    ("en", "I'm afraid they will sue me."),
    ("en", "If they call my employer I will lose my job."),
    ("en", "Can they garnish my wages?"),
    ("en", "I do n't want them to tell my mother about the debt."),
    ("zh", "我逾期了，并没有人威胁我"),
    ("zh", "我逾期了，我担心他们会爆通讯录"),
    ("zh", "网贷逾期，如果催收打到单位我会丢工作"),
]

# The same words reported as conduct, and the collector's own conditionals, do count.
SOMETHING = [
    ("en", "They threatened to sue me and have me arrested.", {"threatened_arrest"}),
    (
        "en",
        "They said if I don't pay by Friday they will take me to court.",
        {"threatened_lawsuit"},
    ),
    ("en", "I did not pay because they threatened me.", {"threats_other"}),
    ("en", "I don't know why they keep calling my mother about the debt.", {"told_third_party"}),
    ("zh", "我逾期了，他们爆了我的通讯录", {"told_third_party"}),
    ("zh", "催收说不还就上征信", {"threatened_credit"}),
    ("zh", "网贷催收没有威胁我，但是辱骂我", {"abusive_language"}),
]


def test_negations_and_hypotheticals_tag_nothing(rules, taxonomy):
    for tax in (rules, taxonomy):
        found = tagged(tax, *NOTHING)
        assert {t: f for (_, t), f in zip(NOTHING, found, strict=True) if f} == {}


@pytest.mark.parametrize(("language", "text", "expected"), SOMETHING)
def test_reported_conduct_and_the_collectors_conditionals_count(rules, language, text, expected):
    assert expected <= tagged(rules, (language, text))[0]


def test_label_only_behaviours_tag_nothing_on_the_site(taxonomy, rules):
    text = ("en", "They call me every day, and they harass me.")
    assert {"repeated_contact", "harassment_other"} <= tagged(rules, text)[0]
    assert tagged(taxonomy, text)[0] == set()


# --- the label files ------------------------------------------------------------------------


def test_every_label_file_validates_and_the_gold_file_is_complete(taxonomy):
    check = ev._gold_script("check", GOLD)
    items = set(check.item_ids())
    behaviours = set(taxonomy["behaviours"])
    files = {n: GOLD / f"labels_{n}.csv" for n in ("a", "b", "gold")}
    labels = {n: check.read_labels(p, items, behaviours) for n, p in files.items()}
    for n, got in labels.items():
        assert set(got) == items, f"labels_{n}.csv does not cover every item"
    with open(files["gold"], encoding="utf-8", newline="") as fh:
        notes = {r["item_id"]: r["note"] for r in csv.DictReader(fh)}
    a, b, gold = labels["a"], labels["b"], labels["gold"]
    for i in items:
        if set(a[i]) == set(b[i]):
            assert set(gold[i]) == set(a[i]), f"{i}: both labellers agree, gold differs"
        else:
            # An adjudicated item keeps what both gave, takes only ids one of them gave, and
            # says why.
            assert set(a[i]) & set(b[i]) <= set(gold[i]) <= set(a[i]) | set(b[i]), i
            assert notes[i].startswith("adjudicated: ") and len(notes[i]) > 20, i
    assert (
        sum(set(a[i]) != set(b[i]) for i in items)
        == json.loads((GOLD / "agreement.json").read_text("utf-8"))["disagreements"]
    )


def test_a_broken_label_file_is_one_line_and_exit_2(tmp_path, capsys):
    check = ev._gold_script("check", GOLD)
    bad = tmp_path / "labels_x.csv"
    bad.write_text("item_id,behaviours,note\nen-0089bca100,not_a_behaviour,\n", "utf-8")
    assert check.main([str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and ":2:" in err and "not_a_behaviour" in err


# --- the evaluation -------------------------------------------------------------------------


def test_wilson_interval():
    assert ev.wilson(0, 0) == (None, None)
    lo, hi = ev.wilson(9, 10)
    assert lo == pytest.approx(0.5958, abs=1e-4) and hi == pytest.approx(0.9821, abs=1e-4)
    assert ev.wilson(10, 10)[1] == pytest.approx(1.0) and ev.wilson(0, 10)[0] == pytest.approx(0.0)


def test_the_committed_results_are_a_fresh_evaluation(taxonomy, results):
    fresh = ev.gold_results(taxonomy=taxonomy)
    if fresh is None:
        pytest.skip("the real data (../shared/data/real) is not here")
    assert fresh == results, "data/gold/results.json is stale: run make eval"
    agreement = json.loads((GOLD / "agreement.json").read_text("utf-8"))
    figures = ev.agreement_figures(
        ev.read_label_file(GOLD / "labels_a.csv"),
        ev.read_label_file(GOLD / "labels_b.csv"),
        ev.load_gold(),
        taxonomy,
    )
    assert {k: agreement[k] for k in figures} == json.loads(json.dumps(figures))


def test_scores_add_up(results, taxonomy):
    for split in ev.SPLITS:
        s = results["splits"][split]
        assert [r["behaviour"] for r in s["per_behaviour"]] == list(taxonomy["behaviours"])
        for r in s["per_behaviour"] + s["per_family"]:
            assert r["tp"] + r["fn"] == r["support"] and r["tp"] + r["fp"] == r["predicted"]
            if r["predicted"]:
                assert r["precision_lo"] <= r["precision"] <= r["precision_hi"]
            else:
                assert r["precision"] is None
    assert sum(r["items"] for r in results["splits"].values()) == results["items"] == 576


def test_every_judged_behaviour_is_precise_on_the_test_half_or_label_only(results, taxonomy):
    assert results["label_only"] == sorted(set(taxonomy["behaviours"]) - text_behaviours(taxonomy))
    test = results["splits"]["test"]
    judged = [r for r in test["per_behaviour"] + test["per_family"] if r["judged"]]
    assert judged, "nothing reaches the support needed to judge it"
    for r in judged:
        key = r.get("behaviour") or r["family"]
        if r["text"] and r["precision"] is not None:
            assert r["precision"] >= ev.GOLD_PRECISION_GOAL, (key, r["precision"])
        assert not r["below_goal"], key


def test_without_the_real_data_the_gold_command_fails_cleanly(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("COLLECTWATCH_REAL", str(tmp_path / "nowhere"))
    assert ev.gold_texts() is None
    assert ev.main(["--gold"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "results.json" in err


# --- the site -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The demo site, built while the real data is out of reach: the page must come from the
    committed results alone."""
    from collectwatch import pipeline

    out = tmp_path_factory.mktemp("gold-site") / "site"
    before = os.environ.get("COLLECTWATCH_REAL")
    os.environ["COLLECTWATCH_REAL"] = str(out.parent / "no-real-data")
    try:
        pipeline.build(out=out, quiet=True)
    finally:
        if before is None:
            os.environ.pop("COLLECTWATCH_REAL")
        else:
            os.environ["COLLECTWATCH_REAL"] = before
    return out


def page(site, *parts: str) -> BeautifulSoup:
    return BeautifulSoup((site.joinpath(*parts) / "index.html").read_text("utf-8"), "html.parser")


def fmt2(x) -> str:
    return "–" if x is None else f"{x:.2f}"


def test_the_methodology_page_shows_the_gold_figures(site, results, taxonomy):
    sec = page(site, "methodology").select_one("section#evaluation")
    assert sec.select_one("time.gold-date")["datetime"] == results["gold_date"]
    assert sec.select_one(".gold-items").get_text() == str(results["items"])
    test = results["splits"]["test"]
    rows = sec.select("table.gold-behaviours tbody tr")
    assert [r["data-behaviour"] for r in rows] == list(taxonomy["behaviours"])
    for tr, r in zip(rows, test["per_behaviour"], strict=True):
        assert tr.select_one("td.support").get_text() == str(r["support"])
        assert tr.select_one("td.precision").get_text() == fmt2(r["precision"])
        assert tr.select_one("td.recall").get_text() == fmt2(r["recall"])
        if r["precision"] is not None:
            lo, hi = r["precision_lo"], r["precision_hi"]
            assert tr.select_one("td.precision-ci").get_text() == f"{lo:.2f}–{hi:.2f}"
        label_only = "label-only" in (tr.get("class") or [])
        assert label_only == (not r["text"])
        assert ("labels only" in tr.select_one("td.note").get_text()) == label_only
    fams = sec.select("table.gold-families tbody tr")
    assert [f["data-family"] for f in fams] == list(taxonomy["families"])
    for tr in fams:
        kappa = results["kappa"][tr["data-family"]]
        assert tr.select_one("td.kappa").get_text() == fmt2(kappa)
    # The older comparison with the CFPB labels stays, as a second view.
    assert sec.select_one("#label-agreement")
    assert len(sec.select("table.label-agreement tbody tr")) == len(taxonomy["behaviours"])


def test_the_chinese_methodology_page_shows_them_too(site, results):
    sec = page(site, "zh", "methodology").select_one("section#evaluation")
    assert sec.select_one("time.gold-date")["datetime"] == results["gold_date"]
    assert "金标准" in sec.select_one("#gold-summary").get_text()


def test_a_label_only_behaviour_page_says_so(site, taxonomy):
    only = sorted(set(taxonomy["behaviours"]) - text_behaviours(taxonomy))
    read = sorted(text_behaviours(taxonomy))
    assert only and read
    note = page(site, "behaviours", only[0]).select_one(".label-only-note")
    assert note and "labels only" in note.get_text()
    assert page(site, "behaviours", read[0]).select_one(".label-only-note") is None
    assert page(site, "zh", "behaviours", only[0]).select_one(".label-only-note")
