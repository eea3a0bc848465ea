"""Hand the gold-set texts to labellers, outside the repository.

    .venv/bin/python data/gold/texts.py --out /work/notes/gold/batch
    .venv/bin/python data/gold/texts.py --out DIR --batches 5 --split all

Reads data/gold/items.csv, looks every item up in /work/shared/data/real (COLLECTWATCH_REAL
overrides) and writes to DIR:

* batch_01.jsonl … batch_NN.jsonl  one JSON object a line: {"item_id", "language", "text"}.
  Nothing else: no CFPB product or label, no stratum or split, no rule output.

No label template is written on purpose: a labeller adds a row to data/gold/labels_<name>.csv
for each item once it is labelled, so an unlabelled item is missing (check.py --complete
finds it) rather than silently "no behaviour".

The order is a seeded shuffle (the same for every labeller), so strata, languages and
sources are mixed in every batch. DIR must be outside the repository: texts are not committed.

As a library: ``iter_texts(items_csv)`` yields (item_id, language, text).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
ITEMS = HERE / "items.csv"
ORDER_SEED = 1515


class MissingText(Exception):
    pass


def read_items(items_csv: Path = ITEMS) -> list[dict]:
    with open(items_csv, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def iter_texts(items_csv: Path = ITEMS, split: str = "all") -> Iterator[tuple[str, str, str]]:
    """(item_id, language, text) for every item of ``split`` (all, dev or test), in file order.

    Raises MissingText if an item's key is not found (or its text hash no longer matches).
    """
    items = read_items(items_csv)
    wanted = {it["source_file"] for it in items}
    records: list[dict] = []
    for rel in sorted(wanted):
        if rel == corpus.NARRATIVES_FILE:
            records += corpus.read_narratives_only()
        elif rel == corpus.HEIMAO_JSONL:
            records += corpus.read_heimao_jsonl()
        elif rel == corpus.HEIMAO_RAW:
            records += corpus.read_heimao_raw()
        else:
            records += corpus.read_cfpb_csv(rel)
    idx = corpus.index(records)
    for it in items:
        if split != "all" and it["split"] != split:
            continue
        rec = idx.get((it["source_file"], it["key"]))
        if rec is None:
            raise MissingText(f"{it['item_id']}: {it['source_file']} has no key {it['key']!r}")
        yield it["item_id"], it["language"], rec["text"]


def write_batches(out: Path, items_csv: Path, batches: int, split: str) -> list[Path]:
    out = out.resolve()
    if out == REPO or REPO in out.parents:
        print(f"{out}: inside the repository; write the texts elsewhere", file=sys.stderr)
        raise SystemExit(2)
    rows = list(iter_texts(items_csv, split))
    random.Random(ORDER_SEED).shuffle(rows)
    out.mkdir(parents=True, exist_ok=True)
    size = -(-len(rows) // batches)
    paths = []
    for b in range(batches):
        chunk = rows[b * size : (b + 1) * size]
        if not chunk:
            break
        path = out / f"batch_{b + 1:02d}.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            for iid, lang, text in chunk:
                fh.write(
                    json.dumps({"item_id": iid, "language": lang, "text": text}, ensure_ascii=False)
                    + "\n"
                )
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="folder outside the repository")
    ap.add_argument("--items", type=Path, default=ITEMS)
    ap.add_argument("--batches", type=int, default=5)
    ap.add_argument("--split", choices=["all", "dev", "test"], default="all")
    args = ap.parse_args(argv)
    try:
        paths = write_batches(args.out, args.items, args.batches, args.split)
    except MissingText as exc:
        print(f"{args.items}: {exc}", file=sys.stderr)
        return 2
    for p in paths:
        n = len(p.read_text(encoding="utf-8").splitlines())
        print(f"{n:4d}  {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
