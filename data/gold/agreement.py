"""Inter-annotator agreement between two label files (docs/annotation.md, "Agreement").

    .venv/bin/python data/gold/agreement.py data/gold/labels_a.csv data/gold/labels_b.csv

Over the items both files label: per family, Cohen's κ on "the item has at least one
behaviour of this family" (yes/no); per behaviour, the same on the behaviour itself, with the
number of items each labeller tagged. Also a list of disagreeing item_ids per family, for
adjudication. Both files must pass check.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from check import ITEMS, TAXONOMY, Invalid, item_ids, read_labels  # noqa: E402

from collectwatch.evaluate import kappa  # noqa: E402


def _fmt(k: float | None) -> str:
    return "  n/a" if k is None else f"{k:5.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument("--items", type=Path, default=ITEMS)
    args = ap.parse_args(argv)
    tax = yaml.safe_load(TAXONOMY.read_text(encoding="utf-8"))
    fam = {b: s["family"] for b, s in tax["behaviours"].items()}
    items = set(item_ids(args.items))
    try:
        la = read_labels(args.a, items, set(fam))
    except Invalid as exc:
        print(f"{args.a}:{exc}", file=sys.stderr)
        return 2
    try:
        lb = read_labels(args.b, items, set(fam))
    except Invalid as exc:
        print(f"{args.b}:{exc}", file=sys.stderr)
        return 2
    common = sorted(set(la) & set(lb))
    print(f"items labelled by both: {len(common)}")
    print(f"\n{'family':28s} {'kappa':>5s} {'A':>4s} {'B':>4s} {'both':>4s}")
    disagree = {}
    for f in tax["families"]:
        a = [any(fam[x] == f for x in la[i]) for i in common]
        b = [any(fam[x] == f for x in lb[i]) for i in common]
        both = sum(x and y for x, y in zip(a, b, strict=True))
        print(f"{f:28s} {_fmt(kappa(a, b))} {sum(a):4d} {sum(b):4d} {both:4d}")
        disagree[f] = [i for i, x, y in zip(common, a, b, strict=True) if x != y]
    print(f"\n{'behaviour':28s} {'kappa':>5s} {'A':>4s} {'B':>4s} {'both':>4s}")
    for beh in fam:
        a = [beh in la[i] for i in common]
        b = [beh in lb[i] for i in common]
        both = sum(x and y for x, y in zip(a, b, strict=True))
        print(f"{beh:28s} {_fmt(kappa(a, b))} {sum(a):4d} {sum(b):4d} {both:4d}")
    print("\nfamily-level disagreements (item_ids):")
    for f, ids in disagree.items():
        print(f"  {f} ({len(ids)}): {' '.join(ids)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
