"""A hostile input corpus: a CFPB-format CSV whose every free-text field attacks the site.

Complaint texts and company names in public data are written by strangers. The corpus puts
script injection (HTML, SVG, ``</script>`` inside chart data, event handlers, ``javascript:``
URLs, Markdown links), spreadsheet formulas, path traversal, right-to-left overrides and a
100,000-character string into narratives, company names, states, sub-products, issues and
company responses. Every payload that could run sets ``window.__pwned``, so a browser test
only has to check that it stays undefined.

Each hostile company gets enough complaints for its own lender page, charts and downloads.
A few companies are built to be "the top lender" for the behaviours the bundled articles
name (repeated calls, night-time calls, third-party disclosure, employer contact), so their
names flow into article prose as well.

Run ``python -m tests.hostile OUT.csv`` to write the corpus for a manual look.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from .layouts import HEADER

PWN = "window.__pwned=1"

SCRIPT = f"<script>{PWN}</script>"
CLOSE_SCRIPT = f"</script><script>{PWN}</script>"
IMG = f'<img src=x onerror="{PWN}">'
SVG = f'<svg onload="{PWN}">'
SVG_SCRIPT = f"<svg><script>{PWN}</script></svg>"
JS_URL = f"javascript:{PWN}"
IFRAME = '"><iframe srcdoc="<script>parent.__pwned=1</script>">'
ATTR_BREAK = f"' autofocus onfocus='{PWN}' x='"
MD_LINK = f"[click me]({JS_URL})"
MD_IMG = f"![x](x){{: onerror={PWN}}}"
COMMENT = f"<!--x--><script>{PWN}</script><!--y-->"
TEMPLATE = "{{ 7 * 7 }}{% raw %}"
RTL = "\u202eLLC stcelloC\u202c evil\u200f\u202a"
LONG = ("Very Long Collections " + "W" * 100_000)[:100_000]
TRAVERSAL = "../../etc/passwd"
DOTS = ".."
FORMULAS = ['=HYPERLINK("http://x","y")', "+cmd", "-2+3", "@SUM(1)", "\t=1+1", "\r=1+1"]

MARKUP = [SCRIPT, CLOSE_SCRIPT, IMG, SVG, SVG_SCRIPT, JS_URL, IFRAME, ATTR_BREAK, MD_LINK]
MARKUP += [MD_IMG, COMMENT, TEMPLATE]
TEXT_PAYLOADS = [*MARKUP, RTL, TRAVERSAL, *FORMULAS]

# Real labels, so the hostile rows are classified and charted like any others.
REPEATED = ("Communication tactics", "Frequent or repeated calls")
NIGHT = ("Communication tactics", "Called before 8am or after 9pm")
THIRD_PARTY = (
    "Threatened to contact someone or share information improperly",
    "Talked to a third-party about your debt",
)
EMPLOYER = (
    "Threatened to contact someone or share information improperly",
    "Contacted your employer",
)
MIXED = [
    ("Attempts to collect debt not owed", "Debt is not yours"),
    ("Attempts to collect debt not owed", "Debt was paid"),
    ("Written notification about debt", "Didn't receive enough information to verify debt"),
    REPEATED,
    ("False statements or representation", "Attempted to collect wrong amount"),
    ("Took or threatened to take negative or legal action", "Threatened to sue you"),
]
TAGGED_WORDS = {
    REPEATED: "They called me 8 times a day",
    NIGHT: "They called me late at night",
    THIRD_PARTY: "They told my mother about the debt",
    EMPLOYER: "They called my boss",
}
STATES = ["CA", "NY", "TX", "FL", "IL", "GA", "OH", "PA"]


@dataclass
class Corpus:
    path: Path
    companies: dict[str, int] = field(default_factory=dict)  # name → in-scope rows
    rows: int = 0  # data rows written
    rejected: int = 0  # rows meant for the quarantine
    out_of_scope: int = 0


def hostile_companies(min_rows: int) -> dict[str, tuple[int, list[tuple[str, str]]]]:
    """Company name → (rows, labels cycled through its rows)."""
    n = max(min_rows, 10) + 2
    return {
        # Top lenders for the articles' behaviours: their names land in article prose.
        SCRIPT: (n + 14, [REPEATED]),
        IMG: (n + 12, [NIGHT]),
        MD_LINK: (n + 16, [THIRD_PARTY]),
        SVG: (n + 10, [EMPLOYER]),
        # A steady series with a burst in the last month: a spike, so the name reaches
        # the spike tables and the Atom feeds.
        CLOSE_SCRIPT: (n + 16, [REPEATED, *MIXED]),
        SVG_SCRIPT: (n, MIXED),
        JS_URL: (n, MIXED),
        IFRAME: (n, MIXED),
        ATTR_BREAK: (n, MIXED),
        MD_IMG: (n, MIXED),
        COMMENT: (n, MIXED),
        TEMPLATE: (n, MIXED),
        RTL: (n, MIXED),
        LONG: (n, MIXED),
        TRAVERSAL: (n, MIXED),
        DOTS: (n, MIXED),
        **{f: (n, MIXED) for f in FORMULAS},
        # Ordinary peers, so medians and comparisons have something to compare with.
        "Harbourview Recovery LLC": (n + 8, MIXED),
        "Granite Point Collections Inc": (n + 8, MIXED),
        "Juniper Account Services": (n + 8, MIXED),
    }


def _month_dates(count: int, start: date, burst: bool) -> list[date]:
    """``count`` dates, one a month from ``start``; with ``burst``, the last 8 in one month."""
    steady = count - 8 if burst else count
    dates = []
    for i in range(steady):
        y, m = divmod(start.month - 1 + i, 12)
        dates.append(date(start.year + y, m + 1, 1 + (i * 7) % 27))
    if burst:
        last = dates[-1] if dates else start
        y, m = divmod(last.month, 12)
        dates += [date(last.year + y, m + 1, 2 + 3 * k) for k in range(8)]
    return dates


def write_corpus(path: Path, *, min_rows: int = 10) -> Corpus:
    """Write the hostile CSV to ``path`` and describe what it holds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    corpus = Corpus(path)
    next_id = iter(range(90_000_001, 99_999_999))
    rows: list[list[str]] = []
    k = 0  # a running index that spreads payloads over the other fields
    start = date(2023, 1, 1)

    for company, (count, labels) in hostile_companies(min_rows).items():
        dates = _month_dates(count, start, burst=company == CLOSE_SCRIPT)
        for i, received in enumerate(dates):
            issue, sub_issue = labels[i % len(labels)]
            payload = TEXT_PAYLOADS[k % len(TEXT_PAYLOADS)]
            markup = MARKUP[k % len(MARKUP)]
            # Words the narrative rules tag, so case studies quote the payloads around them.
            words = TAGGED_WORDS.get(labels[0], "They wrote to me again.")
            narrative = f"{payload} {words} {markup} and {words.lower()} {payload}"
            sub_product = "Credit card debt"
            state = STATES[k % len(STATES)]
            response = "Closed with explanation"
            if i % 5 == 1:  # hostile labels: unmapped, listed on the data page
                issue, sub_issue = MARKUP[k % len(MARKUP)], FORMULAS[k % len(FORMULAS)]
            if i % 4 == 2:
                sub_product = payload
            if i % 6 == 3:
                state = MARKUP[(k + 3) % len(MARKUP)]
            if i % 7 == 4:
                response = MARKUP[(k + 5) % len(MARKUP)]
            if k % 29 == 0:
                narrative, state = LONG, LONG[:5000]
            if k % 31 == 5:
                sub_product = LONG
            rows.append(
                [
                    received.isoformat(),
                    "Debt collection",
                    sub_product,
                    issue,
                    sub_issue,
                    narrative,
                    FORMULAS[k % len(FORMULAS)] if k % 3 == 0 else "",
                    company,
                    state,
                    FORMULAS[k % len(FORMULAS)] if k % 9 == 0 else "945XX",
                    SCRIPT if k % 8 == 0 else "",
                    "Consent provided",
                    JS_URL if k % 10 == 0 else "Web",
                    (received + timedelta(days=1)).isoformat(),
                    response,
                    "Yes",
                    "N/A",
                    str(next(next_id)),
                ]
            )
            k += 1
        corpus.companies[company] = count

    # Rows the ingest must reject into the quarantine: formulas and markup where a date
    # belongs, and a row with more fields than the header. Their raw text is published
    # in quarantine.csv, so it must come out neutralised there.
    for bad in [*FORMULAS, SCRIPT, LONG]:
        rows.append(
            [bad, "Debt collection", "", *REPEATED, SCRIPT, "", "Juniper Account Services"]
            + ["CA", "", "", "", "Web", "", "", "Yes", "N/A", str(next(next_id))]
        )
        corpus.rejected += 1
    rows.append(
        [
            "2024-01-05",
            "Debt collection",
            "",
            *REPEATED,
            "",
            "",
            "Juniper Account Services",
            "CA",
            "",
            "",
            "",
            "Web",
            "",
            "",
            "Yes",
            "N/A",
            str(next(next_id)),
            "=1+2",
            IMG,
        ]
    )
    corpus.rejected += 1
    # Out of scope: a hostile product.
    rows.append(
        [
            "2024-01-05",
            SCRIPT,
            "",
            *REPEATED,
            "",
            "",
            SCRIPT,
            "CA",
            "",
            "",
            "",
            "Web",
            "",
            "",
            "Yes",
            "N/A",
            str(next(next_id)),
        ]
    )
    corpus.out_of_scope += 1

    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
    corpus.rows = len(rows)
    return corpus


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile.csv")
    c = write_corpus(out)
    print(f"wrote {out}: {c.rows} rows, {len(c.companies)} companies")
