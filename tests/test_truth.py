"""What the site *says* must hold on partial data: a six-month hole, a partial last year, a
one-day export and an ID-less re-export (issue: say only what the data supports).

Each dataset is generated here, built into a whole site, and read back the way a reader
or a journalist would: page text in English and Chinese, chart CSVs and tables.
"""

from __future__ import annotations

import csv
import random
import re
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from collectwatch import claims
from collectwatch.pipeline import build

from .conftest import REAL_CFPB
from .layouts import HEADER, NO_ID

HOLE = (date(2019, 3, 1), date(2019, 8, 31))  # no rows of any product
FIRST, LAST = date(2017, 5, 1), date(2021, 6, 15)  # 2021 is a partial year
LENDERS = {  # name → relative size
    "Northgate Collections LLC": 6,
    "Harbor Point Recovery": 4,
    "Meridian Credit Services": 3,
    "Alder Portfolio Group": 2,
    "Quill Street Financial": 2,
    "Sable Lake Bank": 1,
}
LABELS = [  # (issue, sub-issue) of the 2017 wording, and a narrative that describes it
    ("Communication tactics", "Frequent or repeated calls", "They call me eight times a day."),
    ("Communication tactics", "Called before 8am or after 9pm", "They called at 6am again."),
    ("Attempts to collect debt not owed", "Debt is not yours", "This debt is not mine."),
    ("Attempts to collect debt not owed", "Debt was paid", "I already paid this account."),
    (
        "Threatened to contact someone or share information improperly",
        "Talked to a third-party about your debt",
        "The collector told my mother about the debt.",
    ),
    ("Written notification about debt", "Didn't receive enough information to verify debt", ""),
]
COMPARISON = re.compile(r"in the 12 months before|此前12个月|up from|down from|高于[0-9,]+宗")
ZERO_SUPERLATIVE = re.compile(
    r"(highest|largest|most|busiest)[^.。<]{0,120}?\b0\.0%|最高[^。<]{0,60}?0\.0%"
)


def _days(first: date, last: date):
    day = first
    while day <= last:
        if not HOLE[0] <= day <= HOLE[1]:
            yield day
        day += timedelta(days=1)


def _rows(first: date, last: date, per_day: int, seed: int) -> list[dict]:
    """Complaints of every product, ``per_day`` a day on average, debt collection about
    two in three, with the official export's columns."""
    rng = random.Random(seed)
    names = list(LENDERS)
    weights = list(LENDERS.values())
    rows, cid = [], seed * 10_000_000
    for day in _days(first, last):
        for _ in range(rng.randint(per_day // 2, per_day * 3 // 2)):
            cid += 1
            dc = rng.random() < 0.66
            issue, sub, text = rng.choice(LABELS) if dc else ("Other", "", "")
            rows.append(
                {
                    "Date received": day.isoformat(),
                    "Product": "Debt collection" if dc else "Mortgage",
                    "Sub-product": "Other debt" if dc else "Conventional home mortgage",
                    "Issue": issue,
                    "Sub-issue": sub,
                    "Consumer complaint narrative": text if rng.random() < 0.3 else "",
                    "Company public response": "",
                    "Company": rng.choices(names, weights)[0],
                    "State": rng.choice(["CA", "TX", "NY", "FL", "OH"]),
                    "ZIP code": f"{rng.randint(10000, 99999)}",
                    "Tags": "",
                    "Consumer consent provided?": "Consent provided",
                    "Submitted via": "Web",
                    "Date sent to company": day.isoformat(),
                    "Company response to consumer": "Closed with explanation",
                    "Timely response?": "Yes",
                    "Consumer disputed?": "N/A",
                    "Complaint ID": str(cid),
                }
            )
    return rows


def _write(path: Path, rows: list[dict], header: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _build(tmp: Path, *inputs: Path) -> tuple[Path, dict]:
    out = tmp / "site"
    report = build(inputs=[str(p) for p in inputs], out=out, quiet=True, use_cache=False)
    return out, report


def _pages(site: Path) -> dict[str, str]:
    """Every HTML page's visible text (tags stripped), by path."""
    out = {}
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
        out[str(page.relative_to(site))] = re.sub(r"<[^>]+>", " ", html)
    return out


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def dense(tmp_path_factory) -> tuple[Path, dict, list[dict]]:
    tmp = tmp_path_factory.mktemp("dense")
    rows = _rows(FIRST, LAST, 24, seed=7)
    source = _write(tmp / "dense.csv", rows, HEADER)
    site, report = _build(tmp, source)
    return site, report, rows


def test_coverage_table_marks_the_hole_and_the_partial_month(dense):
    site, report, _ = dense
    cov = _csv(site / "data" / "date_coverage.csv")
    status = dict(zip(cov["month"].str[:7], cov["status"], strict=True))
    assert all(status[f"2019-{m:02d}"] == "none" for m in range(3, 9))
    assert status["2021-06"] == "partial"  # data ends on the 15th
    assert all(status[m] == "covered" for m in status if "2017-05" <= m <= "2019-02")
    assert all(status[m] == "covered" for m in status if "2019-09" <= m <= "2021-05")
    assert report["coverage"]["months"] == {"covered": 43, "partial": 1, "none": 6}
    # The same rule, stated on /data/ and the methodology page, in both languages.
    pages = _pages(site)
    for page in ("data/index.html", "zh/data/index.html", "methodology/index.html"):
        assert "date_coverage.csv" in pages[page]
    assert "43" in pages["data/index.html"] and "6" in pages["zh/data/index.html"]


def test_no_sentence_compares_across_the_hole(dense):
    site, _, _ = dense
    # The last 24 settled months (2019-06 to 2021-05) include the hole: nothing may be
    # compared with "the 12 months before", in any language, on any page.
    for path, text in _pages(site).items():
        assert not COMPARISON.search(text), (path, COMPARISON.search(text).group(0))
    # Totals over a span with the hole say so.
    overview = _pages(site)["index.html"]
    assert "does not cover every month" in overview or "not counts for the whole" in overview
    assert "并非每个月都有数据" in _pages(site)["zh/index.html"]


def test_partial_years_are_not_compared(dense):
    site, _, _ = dense
    yoy = _csv(site / "data" / "yoy.csv")
    by_year = yoy.groupby("year")["comparable"].agg(set).to_dict()
    # 2017 starts in May, 2019 has the hole, 2021 ends in June: only 2018 has a whole
    # year before it... and 2017 is not whole, so nothing is comparable here.
    assert all(flags == {"False"} for flags in by_year.values()), by_year
    assert (yoy["change"] == "").all() and (yoy["ratio"] == "").all()
    yearly = _csv(site / "data" / "counts_yearly.csv")
    complete = set(yearly.loc[yearly["complete"] == "True", "year"])
    assert complete == {"2018", "2020"}
    pages = _pages(site)
    for path, text in pages.items():
        if "case-studies/" not in path:
            continue
        for year in re.findall(r"In (\d{4}), the last complete year", text):
            assert year in complete, (path, year)


def test_chart_csvs_leave_the_hole_empty(dense):
    site, _, _ = dense
    hole = {f"2019-{m:02d}" for m in range(3, 9)}
    trends = sorted((site / "data" / "charts").glob("*-trend.csv"))
    assert len(trends) >= 3
    for path in trends:
        data = _csv(path)
        if data.empty:  # too few complaints to chart
            continue
        in_hole = data[data["month"].isin(hole)]
        assert len(in_hole), path.name  # the months are there, as missing values
        assert (in_hole["complaints"] == "").all(), path.name
        assert (in_hole["coverage"] == "none").all(), path.name
        outside = data[~data["month"].isin(hole)]
        assert (outside["complaints"] != "").all(), path.name
    # The fallback table says "no data" rather than a number, in both languages.
    pages = _pages(site)
    assert re.search(r"2019-05\s+no data", pages["index.html"])
    assert re.search(r"2019-05\s+无数据", pages["zh/index.html"])


def test_no_spike_against_a_baseline_with_the_hole(dense):
    site, _, _ = dense
    spikes = _csv(site / "data" / "spikes.csv")
    months = spikes["month"].str[:7]
    # A baseline of 12 months touching 2019-03..08 reaches to 2020-08.
    assert not months.between("2019-03", "2020-08").any(), spikes.head()


def test_families_never_exceed_the_month(dense):
    site, _, _ = dense
    _families_within_totals(site)


def _families_within_totals(site: Path) -> None:
    checked = 0
    for path in (site / "data" / "charts").glob("lender-*-trend.csv"):
        data = _csv(path)
        data = data[data["complaints"] != ""]
        counts = data.assign(n=data["complaints"].astype(int))
        wide = counts.pivot(index="month", columns="series", values="n").fillna(0)
        families = wide.drop(columns="all")
        assert (families.le(wide["all"], axis=0)).all().all(), path.name
        checked += 1
    assert checked
    fam = _csv(site / "data" / "lender_family_monthly.csv")
    totals = _csv(site / "data" / "lender_monthly.csv")
    joined = fam.merge(totals, on=["lender_slug", "month"], suffixes=("", "_all"))
    assert len(joined) == len(fam)
    assert (joined["complaints"].astype(int) <= joined["complaints_all"].astype(int)).all()


def test_an_id_less_re_export_is_not_counted_twice(dense, tmp_path):
    site, report, rows = dense
    again = [dict(r) for r in random.Random(3).sample(rows, 300)]
    for row in again:  # the older export wrote US dates
        for key in ("Date received", "Date sent to company"):
            y, m, d = row[key].split("-")
            row[key] = f"{m}/{d}/{y}"
    source = _write(tmp_path / "dense.csv", rows, HEADER)
    old = _write(tmp_path / "old.csv", again, NO_ID)
    _, both = _build(tmp_path, source, old)
    assert both["complaints"] == report["complaints"]
    dc = sum(r["Product"] == "Debt collection" for r in again)
    assert both["inputs"][1]["rows_duplicate"] == dc


@pytest.fixture(scope="module")
def one_day(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("oneday")
    rows = [r for r in _rows(date(2021, 3, 10), date(2021, 3, 10), 400, seed=11)]
    # No complaint on this day is about contact with an employer: every share is 0.
    site, _ = _build(tmp, _write(tmp / "day.csv", rows, HEADER))
    return site


def test_a_one_day_export_has_no_superlative_over_zeros(one_day):
    pages = _pages(one_day)
    for path, text in pages.items():
        hit = ZERO_SUPERLATIVE.search(text)
        assert not hit, (path, hit.group(0))
        assert not COMPARISON.search(text), path
    article = pages.get("articles/third-party-disclosure/index.html", "")
    if article:  # the article is built: it says plainly that nobody leads
        said = " ".join(article.split())
        assert "No company with enough complaints to compare has a complaint about" in said
    cov = _csv(one_day / "data" / "date_coverage.csv")
    assert cov["status"].tolist() == ["partial"]


@pytest.fixture(scope="module")
def real_site(tmp_path_factory) -> Path:
    inputs = sorted(REAL_CFPB.glob("*.csv"))
    if not inputs:
        pytest.skip("real samples are not here (../shared/data/real)")
    site, _ = _build(tmp_path_factory.mktemp("real"), *inputs)
    return site


def test_real_samples_compare_nothing_across_their_holes(real_site):
    cov = _csv(real_site / "data" / "date_coverage.csv")
    periods = claims.Periods.from_table(
        cov.assign(month=pd.to_datetime(cov["month"]), status=cov["status"])
    )
    hole = claims.month_of(pd.date_range("2020-04-01", "2023-01-01", freq="MS").to_numpy())
    assert not any(periods.full(int(m), int(m)) for m in hole)
    for path, text in _pages(real_site).items():
        assert not COMPARISON.search(text), (path, COMPARISON.search(text).group(0))
        for year in re.findall(r"In (\d{4}), the last complete year", text):
            assert periods.complete_year(int(year)), (path, year)
        assert "2014" not in re.findall(r"busiest complete year was (\d{4})", text)


def test_real_samples_families_never_exceed_the_month(real_site):
    _families_within_totals(real_site)
