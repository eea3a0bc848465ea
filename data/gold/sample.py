"""Draw the multi-label gold set (issue #15) and write data/gold/items.csv.

    .venv/bin/python data/gold/sample.py            # writes data/gold/items.csv
    .venv/bin/python data/gold/sample.py --check    # redraws and compares, writes nothing

Seeded (SEED) and deterministic: the same data gives the same items and the same split.
Texts are read from /work/shared/data/real (override with COLLECTWATCH_REAL) through
corpus.py; items.csv keeps only keys. See data/gold/README.md for the design.

Strata (an item belongs to exactly one, the first that drew it):

* zh_all              every real Chinese complaint with text (黑猫投诉).
* label_<family>      English CFPB debt-collection narratives whose Issue/Sub-issue label maps
                      (data/taxonomy.yaml `labels`) to a behaviour of <family>.
* kw_<family>         English narratives (debt collection, or another product whose text says
                      "collect…") that contain a word from a simple per-family list below.
                      The lists are deliberately not the project's rules, so the gold set does
                      not only contain what the rules already find.
* random_dc           a simple random draw of the remaining debt-collection narratives.
* random_other        a simple random draw of the remaining payday/installment/title/consumer
                      loan and credit-reporting narratives.

Families are filled rarest first (fewest candidates), each with up to LABEL_N label items
and then keyword items up to FAMILY_N (FAMILY_N_RARE for the three families with few CFPB
label candidates) in total.

Split: within each stratum, items are shuffled with the seed and the first ceil(n/2) go to
`dev`, the rest to `test`. The split is fixed here, before any rule is changed against it.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import math
import random
import re
import sys
from collections import Counter
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TAXONOMY = REPO / "data" / "taxonomy.yaml"
ITEMS = HERE / "items.csv"

SEED = 15  # issue #15
FAMILY_N = 45  # items per family (label + keyword strata together) ...
FAMILY_N_RARE = {  # ... more for the families with few label candidates in the pool
    "unlawful_legal_action": 80,
    "third_party_disclosure": 60,
    "abuse_threats": 55,
}
LABEL_N = 20  # of which at most this many from CFPB labels
RANDOM_DC_N = 60
RANDOM_OTHER_N = 40

# Cheap, broad signals per family: plain lower-case substrings / words. Deliberately simple
# and different from data/taxonomy.yaml narrative_rules (no negation handling, no grammar).
KEYWORDS: dict[str, list[str]] = {
    "harassing_contact": [
        r"harass",
        r"times a day",
        r"times per day",
        r"every day",
        r"everyday",
        r"constantly",
        r"nonstop",
        r"non-stop",
        r"stop calling",
        r"keep calling",
        r"keeps calling",
        r"kept calling",
        r"cease and desist",
        r"at night",
        r"in the morning",
        r"\bpm\b",
        r"\bam\b",
        r"o'clock",
        r"blowing up",
    ],
    "abuse_threats": [
        r"threat",
        r"jail",
        r"arrest",
        r"warrant",
        r"police",
        r"sheriff",
        r"prison",
        r"criminal",
        r"yell",
        r"scream",
        r"curs(e|ed|ing)\b",
        r"rude",
        r"intimidat",
        r"scare",
        r"bully",
        r"profan",
        r"ruin my credit",
        r"pretend",
    ],
    "third_party_disclosure": [
        r"my (mother|mom|father|dad|parents|wife|husband|son|daughter|sister|brother|aunt"
        r"|uncle|grandmother|grandfather|cousin|boss|supervisor|manager|neighbor|friend"
        r"|coworker|co-worker|employer|roommate|family)",
        r"relatives?\b",
        r"neighbou?rs?\b",
        r"at work",
        r"my job",
        r"workplace",
        r"human resources",
        r"third party",
        r"third-party",
        r"references",
    ],
    "debt_not_owed": [
        r"not mine",
        r"not my debt",
        r"don'?t owe",
        r"do not owe",
        r"paid in full",
        r"paid off",
        r"already paid",
        r"identity",
        r"stolen",
        r"bankrupt",
        r"discharged",
        r"never had",
        r"never opened",
        r"someone else",
        r"fraud",
    ],
    "false_amounts_deception": [
        r"\bfees?\b",
        r"interest",
        r"overcharg",
        r"inflated",
        r"wrong amount",
        r"incorrect amount",
        r"more than i owe",
        r"balance (is|was) (wrong|incorrect)",
        r"\blie\b",
        r"\blied\b",
        r"\blying\b",
        r"false",
        r"mislead",
        r"misled",
        r"decept",
        r"promised",
    ],
    "notice_verification": [
        r"validat",
        r"verif",
        r"proof",
        r"documentation",
        r"itemiz",
        r"original creditor",
        r"dispute letter",
        r"certified mail",
        r"never received (a|any) (letter|notice)",
        r"who they (are|were)",
        r"identify (themselves|himself|herself)",
        r"1692g",
        r"debt collector",
    ],
    "unlawful_legal_action": [
        r"summons",
        r"served",
        r"judg(e)?ment",
        r"garnish",
        r"\blev(y|ied)\b",
        r"lawsuit",
        r"\bsued\b",
        r"\bsuing\b",
        r"seiz",
        r"froze",
        r"frozen",
        r"repossess",
        r"exempt",
    ],
}
COLLECT = re.compile(r"collect", re.I)

COLUMNS = ["item_id", "source_file", "key", "language", "product", "stratum", "split"]


def item_id(rec: dict) -> str:
    """Stable id: language + first 10 hex digits of SHA-1(source_file + '|' + key)."""
    h = hashlib.sha1(f"{rec['source_file']}|{rec['key']}".encode()).hexdigest()[:10]
    return f"{rec['language']}-{h}"


def _norm_label(s: str | None) -> str:
    return " ".join((s or "").replace("\u2019", "'").split()).casefold()


def label_families(taxonomy: dict) -> dict[tuple[str, str], str]:
    fam = {b: spec["family"] for b, spec in taxonomy["behaviours"].items()}
    return {
        (_norm_label(lab["issue"]), _norm_label(lab.get("sub_issue"))): fam[lab["behaviour"]]
        for lab in taxonomy["labels"]
    }


def label_family(rec: dict, table: dict) -> str | None:
    if not corpus.is_dc(rec["product"]) or not rec["issue"]:
        return None
    issue, sub = _norm_label(rec["issue"]), _norm_label(rec["sub_issue"])
    return table.get((issue, sub)) or table.get((issue, ""))


def keyword_families(rec: dict, compiled: dict[str, re.Pattern]) -> set[str]:
    if rec["language"] != "en":
        return set()
    if not (corpus.is_dc(rec["product"]) or COLLECT.search(rec["text"])):
        return set()
    return {f for f, rx in compiled.items() if rx.search(rec["text"])}


def draw(records: list[dict], taxonomy: dict) -> list[dict]:
    rng = random.Random(SEED)
    table = label_families(taxonomy)
    compiled = {f: re.compile("|".join(words), re.I) for f, words in KEYWORDS.items()}
    families = list(taxonomy["families"])

    # Records in a fixed order (by item id) so the draw does not depend on file order.
    records = sorted(records, key=item_id)
    chosen: dict[str, str] = {}  # item_id → stratum

    for r in records:
        if r["language"] == "zh":
            chosen[item_id(r)] = "zh_all"
    english = [r for r in records if r["language"] == "en"]
    by_label = {f: [] for f in families}
    by_kw = {f: [] for f in families}
    for r in english:
        lf = label_family(r, table)
        if lf:
            by_label[lf].append(r)
        for f in keyword_families(r, compiled):
            by_kw[f].append(r)

    order = sorted(families, key=lambda f: (len(by_label[f]) + len(by_kw[f]), f))
    for f in order:
        labels = [r for r in by_label[f] if item_id(r) not in chosen]
        take = rng.sample(labels, min(LABEL_N, len(labels)))
        for r in take:
            chosen[item_id(r)] = f"label_{f}"
        kws = [r for r in by_kw[f] if item_id(r) not in chosen]
        n = FAMILY_N_RARE.get(f, FAMILY_N)
        for r in rng.sample(kws, min(n - len(take), len(kws))):
            chosen[item_id(r)] = f"kw_{f}"

    dc = [r for r in english if corpus.is_dc(r["product"]) and item_id(r) not in chosen]
    for r in rng.sample(dc, min(RANDOM_DC_N, len(dc))):
        chosen[item_id(r)] = "random_dc"
    other = [r for r in english if not corpus.is_dc(r["product"]) and item_id(r) not in chosen]
    for r in rng.sample(other, min(RANDOM_OTHER_N, len(other))):
        chosen[item_id(r)] = "random_other"

    by_id = {item_id(r): r for r in records}
    strata: dict[str, list[str]] = {}
    for iid in sorted(chosen):
        strata.setdefault(chosen[iid], []).append(iid)
    split = {}
    for s in sorted(strata):
        ids = strata[s][:]
        rng.shuffle(ids)
        half = math.ceil(len(ids) / 2)
        for n, iid in enumerate(ids):
            split[iid] = "dev" if n < half else "test"

    rows = []
    for iid in sorted(chosen):
        r = by_id[iid]
        rows.append(
            {
                "item_id": iid,
                "source_file": r["source_file"],
                "key": r["key"],
                "language": r["language"],
                "product": r["product"],
                "stratum": chosen[iid],
                "split": split[iid],
            }
        )
    return rows, {"by_label": by_label, "by_kw": by_kw, "compiled": compiled, "table": table}


def summary(rows: list[dict], info: dict, records: list[dict]) -> str:
    out = []
    c = Counter
    out.append(f"items: {len(rows)}")
    for col in ("source_file", "language", "stratum", "split"):
        out.append(f"\nby {col}:")
        for k, n in sorted(c(r[col] for r in rows).items()):
            out.append(f"  {n:5d}  {k}")
    out.append("\nby stratum × split:")
    for k, n in sorted(c((r["stratum"], r["split"]) for r in rows).items()):
        out.append(f"  {n:5d}  {k[0]} / {k[1]}")
    # Candidates in the pool and in the sample, per family (cheap signals only).
    by_id = {item_id(r): r for r in records}
    sample = [by_id[r["item_id"]] for r in rows]
    out.append("\nper family: pool label / pool kw candidates; sample label / sample kw hits")
    for f in info["by_label"]:
        sl = sum(1 for r in sample if label_family(r, info["table"]) == f)
        sk = sum(1 for r in sample if f in keyword_families(r, info["compiled"]))
        out.append(
            f"  {f:25s} {len(info['by_label'][f]):5d} {len(info['by_kw'][f]):5d}   {sl:4d} {sk:4d}"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", type=Path, default=ITEMS)
    ap.add_argument("--check", action="store_true", help="redraw and compare with --out")
    args = ap.parse_args(argv)
    taxonomy = yaml.safe_load(TAXONOMY.read_text(encoding="utf-8"))
    records = corpus.pool()
    rows, info = draw(records, taxonomy)
    if args.check:
        with open(args.out, encoding="utf-8", newline="") as fh:
            old = list(csv.DictReader(fh))
        if old != rows:
            print(f"{args.out}: differs from a fresh draw", file=sys.stderr)
            return 1
        print(f"{args.out}: same as a fresh draw ({len(rows)} items)")
        return 0
    with open(args.out, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    print(summary(rows, info, records))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
