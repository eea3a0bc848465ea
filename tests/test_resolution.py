"""The overview's family trend per quarter and per year: every count is the sum of the
months the inputs cover, recomputed here from family_monthly and date_coverage; a quarter or
year that the data covers only in part is said to be partial and is never joined to the
line (its smaller count would read as a fall); one with no data has no count at all.

Held on the demo, on a span with a hole, on a partial year and on a single day, in en and zh.
"""

from __future__ import annotations

import pandas as pd
import pytest

from collectwatch import charts

from .test_charts import LANGS, TEXT, build

VIEWS = {"family_trend_quarter": 3, "family_trend_year": 12}


@pytest.fixture(scope="module")
def rows(config):
    from collectwatch.classify import classify
    from collectwatch.ingest import read_inputs
    from collectwatch.pipeline import DEMO_INPUTS

    inputs = [str(charts.paths.ROOT / p) for p in DEMO_INPUTS]
    raw = read_inputs(inputs, config.sources, config.lenders)
    return classify(raw.table, config.taxonomy)


@pytest.fixture(scope="module")
def datasets(config, rows) -> dict[str, dict]:
    table, tags = rows
    day = pd.to_datetime(table["date_received"]).dt.strftime("%Y-%m-%d")
    busiest = day.value_counts().sort_index().idxmax()

    def subset(keep) -> dict:
        part = table[day.map(keep).to_numpy(dtype=bool)]
        part_tags = tags[tags["complaint_id"].isin(part["complaint_id"])]
        return build(config, part, part_tags, part["date_received"].max())

    holed = subset(lambda d: "2019-01" <= d < "2021-07" and not "2020-02" <= d < "2020-10")
    # One file's months without complaints are covered (none were made); two files with
    # a gap between them leave the gap uncovered, as here.
    cov = holed["date_coverage"].copy()
    month = cov["month"].dt.strftime("%Y-%m")
    cov["status"] = cov["status"].where(~month.between("2020-02", "2020-09"), "none")
    return {
        "demo": build(config, table, tags, table["date_received"].max()),
        "holed": {**holed, "date_coverage": cov},
        "partial-year": subset(lambda d: "2025-01" <= d < "2025-06"),
        "one-day": subset(lambda d: d == busiest),
    }


def expected(tables: dict, step: int) -> pd.DataFrame:
    """series, period, complaints (None: no data), coverage: worked out month by month."""
    fm = tables["family_monthly"]
    cov = tables["date_coverage"]
    status = dict(zip(cov["month"].dt.strftime("%Y-%m"), cov["status"].astype(str), strict=True))
    out = []
    for family, part in fm.groupby(fm["family"].astype(str)):
        counts = dict(zip(part["month"].dt.strftime("%Y-%m"), part["complaints"], strict=True))
        starts = sorted({(int(m[:4]), (int(m[5:]) - 1) // step) for m in counts})
        for year, k in starts:
            months = [f"{year}-{k * step + i + 1:02d}" for i in range(step)]
            got = [status.get(m, "none") for m in months]
            seen = [m for m, s in zip(months, got, strict=True) if s != "none"]
            out.append(
                {
                    "series": family,
                    "period": str(year) if step == 12 else f"{year}-Q{k + 1}",
                    "complaints": sum(int(counts.get(m, 0)) for m in seen) if seen else None,
                    "coverage": "covered"
                    if all(s == "covered" for s in got)
                    else "none"
                    if not seen
                    else "partial",
                }
            )
    return pd.DataFrame(out)


def lines_and_circles(figure: dict) -> tuple[dict, dict]:
    """(series name, x) → y on the lines, and on the open circles off them."""
    line, circle = {}, {}
    for trace in figure["data"]:
        into = line if trace["mode"].startswith("lines") else circle
        for x, y in zip(trace["x"], trace["y"], strict=True):
            if y is not None:
                into[trace["name"], x] = y
    return line, circle


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", VIEWS)
@pytest.mark.parametrize("name", ["demo", "holed", "partial-year", "one-day"])
def test_each_period_counts_the_months_it_covers_and_says_when_it_is_partial(
    datasets, config, name, kind, lang
):
    tables, step = datasets[name], VIEWS[kind]
    chart = charts.SPECS[kind].build(tables, config.taxonomy, None, lang)
    monthly = charts.SPECS["family_trend"].build(tables, config.taxonomy, None, lang)
    assert chart["empty"] == monthly["empty"]
    assert chart["summary"] == monthly["summary"]  # the sentence is the monthly chart's
    assert list(chart["data"].columns) == [name for name, _ in charts.PERIOD_FIELDS]
    if chart["empty"]:
        assert name == "one-day" and chart["figure"]["data"] == []
        return
    want = expected(tables, step)
    got = [
        (r.series, r.period, charts.values(pd.Series([r.complaints]))[0], r.coverage)
        for r in chart["data"].itertuples()
    ]
    assert sorted(got) == sorted(
        (r.series, r.period, None if pd.isna(r.complaints) else int(r.complaints), r.coverage)
        for r in want.itertuples()
    )
    # The figure: covered periods on the line, partial ones as circles off it, none as
    # nothing; each point where the period's middle is, and at its count.
    names = {f: config.taxonomy["families"][f]["name"][lang] for f in config.taxonomy["families"]}
    line, circle = lines_and_circles(chart["figure"])
    want_line, want_circle = {}, {}
    for row in want.itertuples():
        year = int(row.period[:4])
        first = 1 if step == 12 else (int(row.period[-1]) - 1) * 3 + 1
        start = pd.Timestamp(year, first, 1)
        middle = start + (start + pd.DateOffset(months=step) - start) / 2
        key = (names[row.series], middle.strftime("%Y-%m-%d"))
        if row.coverage == "covered":
            want_line[key] = row.complaints
        elif row.coverage == "partial":
            want_circle[key] = row.complaints
    assert line == want_line
    assert circle == want_circle
    if name != "demo":
        assert want_circle  # every one of these data sets has a partial period
    # The table says which periods are partial, in the page's language.
    mark = TEXT["common"]["partial_mark"][lang]
    partial = set(want.loc[want["coverage"] == "partial", "period"])
    for label, *_ in chart["table"]["rows"]:
        assert label.endswith(mark) == (label.removesuffix(mark) in partial), label
    # Its hover and its title name the resolution.
    axis = chart["figure"]["layout"]["xaxis"]
    assert axis["hoverformat"] == {3: "%Y Q%q", 12: "%Y"}[step]
    assert chart["title"] == TEXT["charts"]["family_trend"][f"title_{kind.split('_')[-1]}"][lang]


def test_a_partial_year_is_never_drawn_as_a_fall(datasets, config):
    """Five months of 2025 next to nothing else: the year's point is an open circle in the
    shaded partly-covered band, and no line runs into it."""
    chart = charts.SPECS["family_trend_year"].build(
        datasets["partial-year"], config.taxonomy, None, "en"
    )
    line, circle = lines_and_circles(chart["figure"])
    assert not line and circle and all(x == "2025-07-02" for _, x in circle)
    bands = [s for s in chart["figure"]["layout"]["shapes"] if s.get("type") == "rect"]
    partly = TEXT["common"]["partial"]["en"]
    assert any(b["name"] == partly and b["x0"] <= "2025-07-02" <= b["x1"] for b in bands)
