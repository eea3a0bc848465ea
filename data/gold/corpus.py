"""Read every narrative the gold set can draw from, straight from /work/shared/data/real.

The repository keeps only keys (data/gold/items.csv); the texts stay in the shared data
folder and are read here at run time. Used by sample.py (to draw the sample) and texts.py
(to hand the texts to labellers). Standard library only.

A record is a dict: source_file (relative to the data root), key, language, product, issue,
sub_issue (CFPB labels, "" when absent) and text.

Keys (stable, documented in data/gold/README.md):

* cfpb/*.csv                 the Complaint ID.
* narratives/…3947rows.csv   "<index>-<sha1[:8]>": the file's unnamed first column (the row's
                             index in the bulk export of the time, unique in the file, not a
                             Complaint ID) plus the first 8 hex digits of the SHA-1 of the
                             narrative (UTF-8), so a changed file is noticed.
* cn/heimao_2019-2020…jsonl  "line<N>-<sha1[:8]>": 1-based line number plus SHA-1 of the text.
* cn/heimao_example_raw…json the 黑猫投诉 complaint number from the record's href.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import sys
from pathlib import Path

DATA_ROOT = Path(os.environ.get("COLLECTWATCH_REAL", "/work/shared/data/real"))

NARRATIVES_FILE = "narratives/cfpb_2015_narratives_only_3947rows.csv"
HEIMAO_JSONL = "cn/heimao_2019-2020_99rows_no_dates.jsonl"
HEIMAO_RAW = "cn/heimao_example_raw_3rows.json"
# The structured CSV (cn/heimao_example_structured_3rows.csv) holds the same 3 complaints as
# HEIMAO_RAW with a summary that may be cut with "..."; the raw file's full text is used.

# Products whose narratives enter the pool. Debt collection first; the others are where
# collection conduct also shows up (lenders collecting their own loans, collection accounts
# on credit reports).
DC_PRODUCTS = {"debt collection"}
OTHER_PRODUCTS = {
    "payday loan",
    "consumer loan",
    "payday loan, title loan, or personal loan",
    "payday loan, title loan, personal loan, or advance loan",
    "credit reporting",
    "credit reporting, credit repair services, or other personal consumer reports",
    "credit reporting or other personal consumer reports",
}

csv.field_size_limit(sys.maxsize)


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _fold(name: str) -> str:
    """Header name → comparable form: 'Sub_issue', 'sub-issue', 'subissue' → 'subissue'."""
    return re.sub(r"[^a-z]", "", name.lower())


HEADER = {
    "complaintid": "complaint_id",
    "product": "product",
    "issue": "issue",
    "subissue": "sub_issue",
    "consumercomplaintnarrative": "narrative",
}


def _clean(value: str | None) -> str:
    """'' for the empty markers the exports use (UI export writes None)."""
    v = (value or "").strip()
    return "" if v in ("None", "N/A") else v


def read_cfpb_csv(rel: str) -> list[dict]:
    """Rows with a narrative from one CFPB CSV; [] if the file has no narrative column.

    Finds the header among the first lines (one file has 2 lines of unzip output first),
    folds header variants, treats the literal None as empty, ignores a truncated last row.
    """
    path = DATA_ROOT / rel
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.reader(fh)
        cols = None
        for _ in range(10):
            row = next(reader, None)
            if row is None:
                return []
            folded = [_fold(c) for c in row]
            if "product" in folded and "issue" in folded:
                cols = {HEADER[f]: i for i, f in enumerate(folded) if f in HEADER}
                break
        if cols is None or "narrative" not in cols or "complaint_id" not in cols:
            return []
        out = []
        for row in reader:
            if len(row) <= max(cols.values()):
                continue  # the truncated last record
            text = _clean(row[cols["narrative"]]) and row[cols["narrative"]]
            if not text or not text.strip():
                continue
            out.append(
                {
                    "source_file": rel,
                    "key": row[cols["complaint_id"]].strip(),
                    "language": "en",
                    "product": row[cols["product"]].strip(),
                    "issue": _clean(row[cols["issue"]]),
                    "sub_issue": _clean(row[cols["sub_issue"]]) if "sub_issue" in cols else "",
                    "text": text,
                }
            )
        return out


def read_narratives_only() -> list[dict]:
    path = DATA_ROOT / NARRATIVES_FILE
    out = []
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        assert [_fold(c) for c in header] == ["", "product", "consumercomplaintnarrative"], header
        for row in reader:
            idx, product, text = row[0].strip(), row[1].strip(), row[2]
            if not text.strip():
                continue
            out.append(
                {
                    "source_file": NARRATIVES_FILE,
                    "key": f"{idx}-{sha1(text)[:8]}",
                    "language": "en",
                    "product": product,
                    "issue": "",
                    "sub_issue": "",
                    "text": text,
                }
            )
    return out


def read_heimao_jsonl() -> list[dict]:
    """Title and details (投诉标题 + 投诉详情); the platform's 投诉问题/投诉要求 fields are
    its own categories and are left out, like the CFPB labels."""
    out = []
    with open(DATA_ROOT / HEIMAO_JSONL, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            rec = json.loads(line)
            title = (rec.get("投诉标题") or "").strip()
            body = (rec.get("投诉详情") or "").strip()
            if not body:
                continue
            text = f"{title}\n{body}" if title else body
            out.append(_zh_item(HEIMAO_JSONL, f"line{n}-{sha1(text)[:8]}", text))
    return out


def _zh_item(source_file: str, key: str, text: str) -> dict:
    """A Heimao complaint as a gold-set candidate: no CFPB product or labels."""
    return {
        "source_file": source_file,
        "key": key,
        "language": "zh",
        "product": "",
        "issue": "",
        "sub_issue": "",
        "text": text,
    }


def read_heimao_raw() -> list[dict]:
    out = []
    with open(DATA_ROOT / HEIMAO_RAW, encoding="utf-8") as fh:
        records = json.load(fh)
    for rec in records:
        text = (rec.get("content") or "").strip()
        m = re.search(r"/view/(\d+)", rec.get("href") or "")
        if not text or not m:
            continue
        out.append(_zh_item(HEIMAO_RAW, m.group(1), text))
    return out


def cfpb_files() -> list[str]:
    return sorted(str(p.relative_to(DATA_ROOT)) for p in (DATA_ROOT / "cfpb").glob("*.csv"))


def in_scope(product: str) -> bool:
    p = " ".join(product.lower().split())
    return p in DC_PRODUCTS or p in OTHER_PRODUCTS


def is_dc(product: str) -> bool:
    return " ".join(product.lower().split()) in DC_PRODUCTS


def _norm_text(text: str) -> str:
    return " ".join(text.lower().split())


def pool() -> list[dict]:
    """Every in-scope record, de-duplicated.

    English: CFPB files first (they carry Complaint IDs and labels; files in name order, a
    Complaint ID seen again is dropped), then the narratives-only file; a narrative whose
    whitespace-folded, lower-cased text was already seen is dropped. Chinese: all texts,
    exact duplicates dropped.
    """
    out, seen_ids, seen_text = [], set(), set()
    english = [r for f in cfpb_files() for r in read_cfpb_csv(f)] + read_narratives_only()
    for r in english:
        if not in_scope(r["product"]):
            continue
        t = _norm_text(r["text"])
        if r["key"] in seen_ids or t in seen_text:
            continue
        seen_ids.add(r["key"])
        seen_text.add(t)
        out.append(r)
    for r in read_heimao_raw() + read_heimao_jsonl():
        t = _norm_text(r["text"])
        if t in seen_text:
            continue
        seen_text.add(t)
        out.append(r)
    return out


def index(records: list[dict]) -> dict[tuple[str, str], dict]:
    return {(r["source_file"], r["key"]): r for r in records}
