"""Validate a label file: data/gold/labels_<annotator>.csv.

    .venv/bin/python data/gold/check.py data/gold/labels_a.csv [--complete]

Format (UTF-8 CSV, header required):

    item_id,behaviours,note
    en-0123abcdef,repeated_contact told_third_party,
    zh-89abcdef01,,shopping complaint

* item_id     an item_id of data/gold/items.csv; each at most once.
* behaviours  behaviour ids of data/taxonomy.yaml separated by single spaces; empty = none.
              Each id at most once in a row.
* note        optional free text (may be left out as a column).

Exit 0 with a one-line summary if the file is valid; exit 2 with one line
"FILE:LINE: problem" (LINE = line number in the file, header = 1) at the first error.
With --complete, every item of items.csv must be labelled.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
ITEMS = HERE / "items.csv"
TAXONOMY = REPO / "data" / "taxonomy.yaml"


class Invalid(Exception):
    pass


def behaviour_ids(taxonomy_path: Path = TAXONOMY) -> list[str]:
    return list(yaml.safe_load(taxonomy_path.read_text(encoding="utf-8"))["behaviours"])


def item_ids(items_path: Path = ITEMS) -> list[str]:
    with open(items_path, encoding="utf-8", newline="") as fh:
        return [r["item_id"] for r in csv.DictReader(fh)]


def read_labels(path: Path, items: set[str], behaviours: set[str]) -> dict[str, list[str]]:
    """{item_id: [behaviour, …]}; raises Invalid("LINE: problem")."""
    try:
        fh = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise Invalid(f"0: cannot read: {exc.strerror}") from None
    with fh:
        reader = csv.reader(fh)
        try:
            header = next(reader, None)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise Invalid(f"1: {exc}") from None
        if header is None:
            raise Invalid("1: empty file (expected header item_id,behaviours,note)")
        header = [h.strip() for h in header]
        if header[:2] != ["item_id", "behaviours"] or header[2:] not in ([], ["note"]):
            raise Invalid(f"1: header is {','.join(header)!r}, expected item_id,behaviours,note")
        out: dict[str, list[str]] = {}
        seen_line: dict[str, int] = {}
        try:
            for row in reader:
                line = reader.line_num
                if not row or all(not c.strip() for c in row):
                    continue
                if len(row) > len(header):
                    raise Invalid(f"{line}: {len(row)} fields, expected {len(header)}")
                iid = row[0].strip()
                if iid not in items:
                    raise Invalid(f"{line}: unknown item_id {iid!r} (not in data/gold/items.csv)")
                if iid in seen_line:
                    first = seen_line[iid]
                    raise Invalid(f"{line}: duplicate item_id {iid} (first on line {first})")
                seen_line[iid] = line
                beh = row[1].split() if len(row) > 1 else []
                for b in beh:
                    if b not in behaviours:
                        raise Invalid(f"{line}: unknown behaviour id {b!r} for {iid}")
                if len(set(beh)) != len(beh):
                    raise Invalid(f"{line}: a behaviour id is repeated for {iid}")
                out[iid] = beh
        except (csv.Error, UnicodeDecodeError) as exc:
            raise Invalid(f"{reader.line_num}: {exc}") from None
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("file", type=Path)
    ap.add_argument("--items", type=Path, default=ITEMS)
    ap.add_argument("--complete", action="store_true", help="every item must be labelled")
    args = ap.parse_args(argv)
    items = item_ids(args.items)
    try:
        labels = read_labels(args.file, set(items), set(behaviour_ids()))
        missing = [i for i in items if i not in labels]
        if args.complete and missing:
            raise Invalid(f"0: {len(missing)} items not labelled, first {missing[0]}")
    except Invalid as exc:
        print(f"{args.file}:{exc}", file=sys.stderr)
        return 2
    tagged = sum(1 for b in labels.values() if b)
    print(
        f"{args.file}: ok, {len(labels)} of {len(items)} items labelled "
        f"({tagged} with at least one behaviour)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
