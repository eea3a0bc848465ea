"""Company names across eras: listed aliases, and candidate merges for review."""

from __future__ import annotations

import csv
import difflib
import random
import string
import time

import pandas as pd
import pytest

from collectwatch.ingest import read_inputs
from collectwatch.ingest.lenders import NEAR_WINDOW, candidate_merges, fold_key, resolve_lenders

from .conftest import REAL_CFPB, real

# An alias listed before the real samples were checked, not spelled in them.
NOT_IN_SAMPLES = {"PRA Group"}


def _companies(path) -> list[str]:
    csv.field_size_limit(2**31 - 1)
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    start = next(i for i, r in enumerate(rows) if any(c.lower() == "company" for c in r))
    at = [c.lower() for c in rows[start]].index("company")
    return [r[at] for r in rows[start + 1 :] if len(r) > at and r[at].strip()]


@pytest.fixture(scope="module")
def real_names():
    files = sorted(REAL_CFPB.glob("*.csv"))
    if not files:
        pytest.skip("real samples are not here (../shared/data/real)")
    return pd.Series([n for f in files for n in _companies(f)], dtype="string")


def test_the_2014_short_names_fold_with_their_later_full_names(real_names, config):
    named, _ = resolve_lenders(real_names, config.lenders)
    lender = dict(zip(real_names, named["lender"], strict=True))
    pairs = [
        ("ERC", "Enhanced Recovery Company, LLC"),
        ("Navient", "Navient Solutions, LLC."),
        ("Navient", "Navient Solutions, Inc."),
        ("Capital One", "CAPITAL ONE FINANCIAL CORPORATION"),
        ("Wells Fargo", "WELLS FARGO & COMPANY"),
        ("JPMorgan Chase", "JPMorgan Chase & Co."),
        ("Amex", "AMERICAN EXPRESS COMPANY"),
        ("Navy FCU", "NAVY FEDERAL CREDIT UNION"),
    ]
    for short, full in pairs:
        assert lender[short] == lender[full], (short, full)
    short_2014 = set(_companies(real("cfpb", "cfpb_2014_original_14col_schema_8340rows.csv")))
    assert {"ERC", "Navient", "Capital One"} - short_2014 == {"ERC"}  # ERC: a later export
    assert lender["Navient"] == "Navient"
    assert lender["ERC"] == "Enhanced Recovery Company (ERC)"
    # Companies that only look alike stay apart.
    assert lender["Synchrony Financial"] != lender["GE Capital Retail"]


def test_every_alias_is_spelled_as_in_the_data(real_names, config):
    suffixes = config.lenders["legal_suffixes"]
    spelled = set(real_names)
    keys = set(fold_key(real_names.drop_duplicates(), suffixes))
    for entry in config.lenders["lenders"]:
        for alias in entry.get("aliases", []):
            if alias in NOT_IN_SAMPLES:
                continue
            key = fold_key(pd.Series([alias], dtype="string"), suffixes).iloc[0]
            assert alias in spelled or key in keys, alias


SUFFIXES = ["inc", "llc", "co", "company", "corp", "corporation", "na", "n a"]


def _pairs(found: list[dict]) -> dict[frozenset, str]:
    return {frozenset(c["names"]): c["reason"] for c in found}


def test_candidate_merges_by_acronym_prefix_and_near():
    counts = pd.Series(
        {
            "ERC": 55,
            "Enhanced Recovery Company, LLC": 60,
            "Navient": 11,
            "Navient Solutions, Inc.": 53,
            "Bank of America": 40,
            "BOA": 2,
            "URS Holdings LLC": 8,
            "URS Holding, LLC": 4,
            "Midland Funding": 30,
            "Midand Funding": 1,
            "CCS Financial Services, Inc.": 36,
            "KLS Financial Services, Inc": 4,
            "Debt Recovery Solutions": 17,
            "Rent Recovery Solutions": 3,
            "Acme": 1,
            "Zenith Collections": 5,
            "Navient Solutions": 0,  # a name without complaints is still a name
        }
    )
    found = candidate_merges(counts, SUFFIXES)
    pairs = _pairs(found)
    assert pairs[frozenset({"ERC", "Enhanced Recovery Company, LLC"})] == "acronym"
    assert pairs[frozenset({"BOA", "Bank of America"})] == "acronym"  # "of" may be skipped
    assert pairs[frozenset({"Navient", "Navient Solutions, Inc."})] == "prefix"
    assert pairs[frozenset({"URS Holdings LLC", "URS Holding, LLC"})] == "near"
    assert pairs[frozenset({"Midland Funding", "Midand Funding"})] == "near"
    # Same key once folded: already one lender, not a candidate.
    assert frozenset({"Navient Solutions, Inc.", "Navient Solutions"}) not in pairs
    # Alike only in their generic words: not listed.
    for a, b in [
        ("CCS Financial Services, Inc.", "KLS Financial Services, Inc"),
        ("Debt Recovery Solutions", "Rent Recovery Solutions"),
    ]:
        assert frozenset({a, b}) not in pairs
    listed = {n for c in found for n in c["names"]}
    assert "Acme" not in listed and "Zenith Collections" not in listed
    # The larger name first, with its complaints; acronyms, then prefixes, then near ones.
    erc = next(c for c in found if "ERC" in c["names"])
    assert erc == {
        "names": ["Enhanced Recovery Company, LLC", "ERC"],
        "complaints": [60, 55],
        "reason": "acronym",
    }
    order = [c["reason"] for c in found]
    assert order == sorted(order, key=["acronym", "prefix", "near"].index)


def _synthetic_names(n: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    words = [
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9)))
        for _ in range(n // 2)
    ]
    names: set[str] = set()
    while len(names) < n:
        body = " ".join(rng.choice(words).title() for _ in range(rng.randint(1, 4)))
        names.add(body + rng.choice(["", ", Inc.", " LLC", " Corporation"]))
    return sorted(names)


def test_candidate_merges_compare_neighbours_not_all_pairs(monkeypatch):
    names = _synthetic_names(6000)
    counts = pd.Series(range(1, len(names) + 1), index=names)
    calls = 0
    real_matcher = difflib.SequenceMatcher

    def counting(*args, **kw):
        nonlocal calls
        calls += 1
        return real_matcher(*args, **kw)

    monkeypatch.setattr(difflib, "SequenceMatcher", counting)
    started = time.perf_counter()
    found = candidate_merges(counts, SUFFIXES)
    elapsed = time.perf_counter() - started
    print(f"candidate_merges: {len(names)} names, {len(found)} candidates, {elapsed:.3f} s")
    # At most two comparisons (first words, whole keys) per neighbour pair, in two orders;
    # all pairs would be about 18 million.
    assert calls <= 2 * 2 * NEAR_WINDOW * len(names)
    assert all(len(c["names"]) == 2 and c["reason"] in ("acronym", "prefix", "near") for c in found)
    # Names made of the same random words: some are prefixes of others, and only those.
    keys = dict(zip(names, fold_key(pd.Series(names, dtype="string"), SUFFIXES), strict=True))
    for c in found:
        a, b = (keys[n] for n in c["names"])
        if c["reason"] == "prefix":
            short, long = sorted((a, b), key=len)
            assert long.startswith(short + " ")


def test_the_ingest_reports_candidate_merges_and_a_cache_hit_recalls_them(tmp_path, config):
    files = [
        real("cfpb", "cfpb_2014_original_14col_schema_8340rows.csv"),
        real("cfpb", "cfpb_2015-2020_sample_with_narratives_6623rows.csv"),
    ]
    args = ([str(f) for f in files], config.sources, config.lenders)
    first = read_inputs(*args, cache_dir=tmp_path)
    second = read_inputs(*args, cache_dir=tmp_path)
    assert first.candidate_merges == second.candidate_merges
    assert read_inputs(*args).candidate_merges == first.candidate_merges
    lenders = set(first.table["lender"])
    for c in first.candidate_merges:
        assert set(c["names"]) <= lenders
        counts = first.table["lender"].value_counts()
        assert c["complaints"] == [int(counts[n]) for n in c["names"]]
