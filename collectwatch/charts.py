"""Tidy tables (from aggregate) → Charts: Plotly figures as plain dicts, with their numbers.

Pure functions: no I/O apart from :func:`load_text`, which reads the chart wording from
``data/charts.yaml`` once. Each chart function returns a **Chart** dict:

- ``id``: unique and URL-safe (``market-family-trend``, ``lender-<slug>-mix``); the same in
  every language, so one CSV at ``/data/charts/<id>.csv`` serves all of them.
- ``title``, ``summary`` (one sentence generated from the data), ``source``: text in the
  chart's language.
- ``figure``: Plotly figure JSON (``{"data": [...], "layout": {...}}``), compact: no
  template, months as ``"YYYY-MM"``, shares rounded to 4 decimals, only stdlib types, no NaN.
- ``data``: a DataFrame of exactly the numbers drawn, with language-independent ids.
- ``table``: ``{"columns": [...], "rows": [[...]]}``, the same numbers formatted for reading,
  for an accessible table that works without JavaScript.
- ``facts``: the raw values the summary was written from (for article text).
- ``empty``: True when there was too little to draw; the figure then holds only a message.

Every time chart shades the provisional months and marks the CFPB label revisions that fall
inside its range with a dotted line, since a jump there is a change of form, not behaviour.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from . import claims, paths
from .config import LANG_TEXT, STR, read_yaml
from .errors import UserError
from .fmt import pct

CHARTS_YAML = paths.DATA / "charts.yaml"
CHARTS_SCHEMA = {
    "common": {"*": LANG_TEXT},
    "month_names": {"en": [STR], "zh": [STR]},
    "month_short": {"en": [STR], "zh": [STR]},
    "change": {"up": LANG_TEXT, "down": LANG_TEXT, "same": LANG_TEXT},
    "outcomes": {"*": LANG_TEXT},
    "charts": {"*": {"*": LANG_TEXT}},
    "columns": {"*": LANG_TEXT},
}

MARKET = "All lenders"  # aggregate.MARKET: the market-wide rows of a table
MIN_COMPLAINTS = 2  # below this a chart has nothing to show: it shows the empty state
SHARE_DIGITS = 4
TOP_N = 10  # bars in "top" charts unless the caller asks for another number
SPIKE_SERIES = 3  # behaviours drawn in a spikes chart: those with the latest spikes
LENDER_FAMILIES = 3  # families first shown on a company's trend (the others a click away)

# The two-letter codes plotly's "USA-states" map draws: the 50 states and DC.
# fmt: off
US_STATES = frozenset({
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID",
    "IL", "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO",
    "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA",
    "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
})
# fmt: on

# ── theme ──────────────────────────────────────────────────────────────────────────────

FONT = (
    'system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", "PingFang SC", '
    '"Microsoft YaHei", sans-serif'
)
# Okabe–Ito, reordered so the first colours read on light and dark backgrounds alike
# (their black is replaced by grey, their yellow comes last).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]
NEUTRAL = "#999999"  # totals, peers, the market
GRID = "rgba(128,128,128,0.25)"
LINE = "rgba(128,128,128,0.6)"
SHADE = "rgba(128,128,128,0.18)"
# Mid grey reads on white and on near-black; the page may set its own text colour at render.
TEXT_COLOUR = "#808080"

THEME = {
    "font": {"family": FONT, "size": 13, "color": TEXT_COLOUR},
    "colorway": PALETTE,
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "autosize": True,
    "margin": {"l": 8, "r": 8, "t": 24, "b": 8},
    # At the foot of the whole figure, below the axis titles; the plot shrinks to make room.
    "legend": {
        "orientation": "h",
        "x": 0,
        "xanchor": "left",
        "y": 0,
        "yanchor": "bottom",
        "yref": "container",
    },
    "hoverlabel": {"font": {"family": FONT}},
    "separators": ".,",
}
AXIS = {"gridcolor": GRID, "linecolor": LINE, "zerolinecolor": LINE, "automargin": True}
HEIGHT = 300  # time charts, before their legend; bar charts grow with their number of bars
BAND_PX = 42  # height of one category in a bar chart: its name above, its bar(s) below


# ── text ───────────────────────────────────────────────────────────────────────────────


@lru_cache(maxsize=4)
def load_text(path: Path = CHARTS_YAML) -> dict:
    """Read and validate data/charts.yaml (titles, labels, summary templates per language,
    CSV column descriptions); it must hold the text of every chart in :data:`REGISTRY` and
    nothing else (:func:`check_text`)."""
    text = read_yaml(Path(path), CHARTS_SCHEMA)
    check_text(text, str(path))
    return text


def config_text(config) -> dict:
    """The chart text of a loaded Config: site.yaml's ``files.charts`` or data/charts.yaml."""
    return load_text(Path(config.files.get("charts", CHARTS_YAML)))


def _text(text: dict | None) -> dict:
    return load_text() if text is None else text


def _t(text: dict, lang: str, *keys: str, **values) -> str:
    node = text
    for key in keys:
        node = node[key]
    template = node[lang]
    return template.format(**values) if values else template


def _count(n) -> str:
    return f"{int(n):,}"


def _pct(p) -> str:
    return pct(p)


def _names_list(names: list[str], lang: str) -> str:
    """["A", "B", "C"] → "A, B and C" / "A、B和C"."""
    if lang == "zh":
        return "、".join(names[:-1]) + "和" + names[-1] if len(names) > 1 else names[0]
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]


def _no_leader(lead: dict, text: dict, lang: str, fmt=_count) -> str | None:
    """The sentence for a top place that is shared or where everything is zero; None when
    one row leads alone (then, and only then, a chart may use a superlative)."""
    if lead["kind"] == "tie":
        names = _names_list(lead["tied"], lang)
        return _t(text, lang, "common", "tied", names=names, value=fmt(lead["value"]))
    if lead["kind"] in ("zero", "none"):
        return _t(text, lang, "common", "all_zero")
    return None


def _month_words(month: str, text: dict, lang: str) -> str:
    """'2026-09' → 'September 2026' / '2026年9月'."""
    year, m = (int(x) for x in month[:7].split("-"))
    name = text["month_names"][lang][m - 1]
    return _t(text, lang, "common", "month_format", year=year, month=m, month_name=name)


def slug(value: str) -> str:
    """An id fit for a URL: lower case, runs of anything else than a-z and 0-9 → '-'."""
    return re.sub(r"[^a-z0-9]+", "-", str(value).lower()).strip("-") or "x"


# ── values: plain, rounded, JSON-safe ──────────────────────────────────────────────────


def _native(value, digits: int | None = None):
    """numpy/pandas scalar → int, float, str, bool or None (for NA and NaN)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return round(value, digits) if digits is not None else value
    return value


def values(series: pd.Series, digits: int | None = None) -> list:
    """A column as a list of plain Python values, NA → None, floats rounded to ``digits``."""
    return [_native(v, digits) for v in series.astype(object)]


def _months(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series).dt.strftime("%Y-%m").astype("string")


def _shares(series: pd.Series) -> pd.Series:
    return series.astype("Float64").round(SHARE_DIGITS)


def figure_json(fig) -> str:
    """A figure (or any JSON value) as compact JSON that is safe inside a script element,
    as data or as JavaScript.

    ``<``, ``>`` and ``&`` become ``\\u003c``, ``\\u003e``, ``\\u0026``, so no company name
    can close the script element or open a comment; U+2028 and U+2029 are escaped, so none
    ends a line inside a JavaScript string. NaN is refused (it is not JSON).
    """
    text = json.dumps(fig, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    for char, escaped in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return text


def split_languages(trees: dict[str, object]) -> tuple[object, dict[str, object]]:
    """One figure built in each language → the part they share, and each language's
    overlay on it (``overlay`` puts them back together, as site.js does).

    The numbers of a chart are the same in every language, its words are not: the shared
    part holds everything equal in all of them, an overlay only what differs, as nested
    objects (a list's items keyed by their index). Where the languages differ in shape (other
    keys, another length) the shared part has None and each overlay the whole value.
    """
    values = list(trees.values())
    first = values[0]
    if all(v == first for v in values[1:]):
        return first, {}
    if all(isinstance(v, dict) for v in values) and all(v.keys() == first.keys() for v in values):
        keys = list(first)
    elif all(isinstance(v, list) for v in values) and all(len(v) == len(first) for v in values):
        keys = range(len(first))
    else:
        return None, dict(trees)
    shared = {} if isinstance(first, dict) else [None] * len(first)
    overlays: dict[str, dict] = {lang: {} for lang in trees}
    for key in keys:
        part, laid = split_languages({lang: tree[key] for lang, tree in trees.items()})
        shared[key] = part
        for lang, value in laid.items():
            overlays[lang][str(key)] = value
    return shared, overlays


def overlay(base, patch):
    """``split_languages`` undone for one language: ``patch`` laid over a copy of ``base``."""
    if isinstance(patch, dict) and isinstance(base, (dict, list)):
        out = list(base) if isinstance(base, list) else dict(base)
        for key, value in patch.items():
            at = int(key) if isinstance(out, list) else key
            out[at] = overlay(out[at] if isinstance(out, list) else out.get(at), value)
        return out
    return patch


def chart_script(chart_id: str, payload: dict) -> bytes:
    """A chart's data file (data/charts/<id>.js): a script that files ``payload`` under the
    chart's id in ``window.collectwatchCharts``. A script, not JSON, so that it loads from
    file:// too; figure_json makes every string inert."""
    return (
        "(window.collectwatchCharts=window.collectwatchCharts||{})"
        f"[{figure_json(chart_id)}]={figure_json(payload)};\n"
    ).encode()


# ── building blocks ────────────────────────────────────────────────────────────────────


def _layout(**extra) -> dict:
    """The theme (a fresh copy: callers may change it) with ``extra`` on top."""
    return {**copy.deepcopy(THEME), **extra}


def _axis(**extra) -> dict:
    return {**AXIS, **extra}


def _chart(
    chart_id: str,
    title: str,
    summary: str,
    figure: dict,
    data: pd.DataFrame,
    table: dict,
    text: dict,
    lang: str,
    facts: dict | None = None,
    empty: bool = False,
) -> dict:
    return {
        "id": chart_id,
        "title": title,
        "summary": summary,
        "figure": figure,
        "data": data.reset_index(drop=True),
        "table": table,
        "source": _t(text, lang, "common", "source"),
        "facts": facts or {},
        "empty": empty,
    }


def _empty(
    chart_id: str,
    title: str,
    data: pd.DataFrame,
    columns: list[str],
    text: dict,
    lang: str,
    message: str | None = None,
) -> dict:
    """A chart with nothing to draw: the message in place of the plot, an empty table."""
    message = message or _t(text, lang, "common", "empty")
    figure = {
        "data": [],
        "layout": _layout(
            height=160,
            xaxis={"visible": False},
            yaxis={"visible": False},
            annotations=[
                {
                    "text": message,
                    "showarrow": False,
                    "xref": "paper",
                    "yref": "paper",
                    "x": 0.5,
                    "y": 0.5,
                }
            ],
        ),
    }
    return _chart(
        chart_id,
        title,
        message,
        figure,
        data.iloc[0:0],
        {"columns": columns, "rows": []},
        text,
        lang,
        empty=True,
    )


def _next_month(month: str, step: int = 1) -> str:
    return (pd.Period(month, "M") + step).strftime("%Y-%m")


def _periods(tables: dict) -> claims.Periods:
    return claims.Periods.of(tables.get("date_coverage"))


def _coverage(tables: dict, months: pd.Series) -> pd.Series:
    """Months ("YYYY-MM") → their coverage status from date_coverage ("covered" when the
    tables carry no coverage: every month of a complete export)."""
    cov = tables.get("date_coverage")
    if cov is None:
        return pd.Series("covered", index=months.index, dtype="string")
    status = pd.Series(cov["status"].astype("string").to_numpy(), index=_months(cov["month"]))
    return months.map(status).fillna("none").astype("string")


def _runs(months: list[str], step: int = 1) -> list[tuple[str, str]]:
    """Sorted first months of periods of ``step`` months → runs of consecutive periods, as
    (first, last)."""
    runs: list[tuple[str, str]] = []
    for m in months:
        if runs and _next_month(runs[-1][1], step) == m:
            runs[-1] = (runs[-1][0], m)
        else:
            runs.append((m, m))
    return runs


def _band(
    first: str, last: str, name: str, fill: str, pattern: bool = False, step: int = 1
) -> dict:
    """A shaded band over whole periods of ``step`` months, from the 1st of ``first`` to the
    end of the period that starts with ``last``."""
    band = {
        "type": "rect",
        "xref": "x",
        "yref": "paper",
        "x0": first + "-01",
        "x1": _next_month(last, step) + "-01",
        "y0": 0,
        "y1": 1,
        "fillcolor": fill,
        "line": {"width": 0},
        "layer": "below",
        "name": name,
        "showlegend": True,
    }
    if pattern:
        band["fillpattern"] = {"shape": "/", "fgcolor": LINE, "size": 6, "solidity": 0.2}
    return band


# The time resolutions of a trend chart: months per point, and the date shown on hover.
RESOLUTIONS = {"month": 1, "quarter": 3, "year": 12}
HOVER_FORMATS = {1: "%Y-%m", 3: "%Y Q%q", 12: "%Y"}
TICK_STEPS = (1, 2, 3, 6, 12, 24, 60, 120)  # months between labels on a time axis
MAX_TICKS = 6  # labels that fit a phone's width


def _month_ticks(first: str, last: str, text: dict, lang: str) -> dict:
    """Tick positions and labels for a monthly axis from ``first`` to ``last`` ("YYYY-MM").

    Labels are set here rather than left to Plotly, whose automatic date ticks repeat a
    year label on short spans ("2014 2014 2015") and fill a one-month chart with days. The
    step grows from one month to ten years so that at most MAX_TICKS labels show; steps of a
    year or more are labelled with the year alone, shorter ones with the month, so no label
    can repeat. The range runs half a month past each end, so a single month still shows.
    """
    m0, m1 = (claims.month_of([np.datetime64(m + "-01")])[0] for m in (first, last))
    step = next((k for k in TICK_STEPS if (m1 - m0) // k + 1 <= MAX_TICKS), TICK_STEPS[-1])
    start = m0 + (-m0) % step  # align to the step: Januaries for yearly steps
    ticks = list(range(int(start), int(m1) + 1, step)) or [int(m0)]
    labels = [claims.month_label(m) for m in ticks]
    if step >= 12:
        text_labels = [m[:4] for m in labels]
    else:
        short = text["month_short"][lang]
        text_labels = [
            _t(
                text,
                lang,
                "common",
                "month_format",
                year=m[:4],
                month=int(m[5:]),
                month_name=short[int(m[5:]) - 1],
            )
            for m in labels
        ]
    lo = np.datetime64(first + "-01") - np.timedelta64(15, "D")
    hi = np.datetime64(_next_month(last) + "-01") + np.timedelta64(14, "D")
    return {
        "tickmode": "array",
        "tickvals": [m + "-01" for m in labels],
        "ticktext": text_labels,
        "range": [str(lo), str(hi)],
    }


def _time_layout(
    data: pd.DataFrame,
    taxonomy: dict,
    text: dict,
    lang: str,
    y_title: str,
    legend_rows: int,
    step: int = 1,
):
    """Layout of a chart over time, a point per month (``step`` 1) or per calendar quarter
    (3) or year (12), whose first month is ``data["month"]``: provisional and partly
    covered periods shaded, periods with no data hatched, label revisions marked."""
    months = sorted(data["month"].unique())
    first, last = months[0], _next_month(months[-1], step - 1)
    shapes, annotations = [], []
    status = data.groupby("month")["coverage"].first() if "coverage" in data else None
    if status is not None:
        missing = _runs(sorted(status.index[status == "none"]), step)
        partial = _runs(sorted(status.index[status == "partial"]), step)
        for i, (a, b) in enumerate(missing):
            no_data = _t(text, lang, "common", "no_data")
            band = _band(a, b, no_data, "rgba(0,0,0,0)", True, step)
            band["showlegend"] = i == 0
            shapes.append(band)
        for i, (a, b) in enumerate(partial):
            band = _band(a, b, _t(text, lang, "common", "partial"), SHADE, step=step)
            band["showlegend"] = i == 0
            shapes.append(band)
    provisional = sorted(data.loc[data["provisional"], "month"].unique())
    if provisional and step > 1:
        # The whole of every provisional period.
        shade = _band(provisional[0], provisional[-1], "", SHADE, step=step)
        shade["name"] = _t(text, lang, "common", "provisional")
        shapes.append(shade)
    elif provisional:
        # From halfway after the last complete month to halfway into the month after the
        # last provisional one: the shade covers the provisional points and the line into them.
        start = (pd.Period(provisional[0], "M") - 1).strftime("%Y-%m") + "-16"
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": start if start > first else provisional[0],
                "x1": provisional[-1] + "-16",
                "y0": 0,
                "y1": 1,
                "fillcolor": SHADE,
                "line": {"width": 0},
                "layer": "below",
                "name": _t(text, lang, "common", "provisional"),
                "showlegend": True,
            }
        )
    span_end = _next_month(last)
    label = _t(text, lang, "common", "labels_revised")
    t0, t1 = pd.Timestamp(first + "-01"), pd.Timestamp(span_end + "-01")
    for era in sorted(taxonomy["eras"], key=lambda e: str(e["start"]))[1:]:
        day = pd.Timestamp(str(era["start"]))
        if not t0 <= day < t1:
            continue
        x = day.strftime("%Y-%m-%d")
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": x,
                "x1": x,
                "y0": 0,
                "y1": 1,
                "line": {"color": LINE, "width": 1, "dash": "dot"},
            }
        )
        # Written up along the line, so that two revisions a few years apart do not
        # collide on a phone.
        annotations.append(
            {
                "text": label,
                "x": x,
                "xref": "x",
                "y": 1,
                "yref": "paper",
                "xanchor": "right",
                "yanchor": "top",
                "textangle": -90,
                "showarrow": False,
                "font": {"size": 10},
            }
        )
    return _layout(
        # Room for the plot and for a legend of one entry per row on a phone.
        height=HEIGHT + 22 * legend_rows,
        hovermode="x unified",
        showlegend=True,
        xaxis=_axis(
            type="date", hoverformat=HOVER_FORMATS[step], **_month_ticks(first, last, text, lang)
        ),
        yaxis=_axis(title={"text": y_title}, rangemode="tozero", hoverformat=",d"),
        shapes=shapes,
        annotations=annotations,
    )


def _time_chart(
    chart_id: str,
    title: str,
    summary: str,
    data: pd.DataFrame,
    names: dict[str, str],
    colours: dict[str, str],
    taxonomy: dict,
    text: dict,
    lang: str,
    y_title: str,
    facts: dict,
    extra_traces: list | None = None,
    hidden: frozenset = frozenset(),
    step: int = 1,
) -> dict:
    """Lines over time, one per ``series`` of ``data`` (series, month, complaints,
    provisional): a point per month, or with ``step`` 3 or 12 per calendar quarter or year
    (``month`` is then its first month, and the point sits at its middle).

    Series in ``hidden`` start switched off (a click on their legend entry shows them).
    """
    data = _blank_uncovered(data)
    traces, partial_traces = [], []
    for series, name in names.items():
        rows = data[data["series"] == series]
        x = [_middle(m, step) for m in values(rows["month"])]
        # A quarter or year the data covers only in part stands apart, an open circle off
        # the line: joined to it, its smaller count would read as a fall.
        partial = (rows["coverage"] == "partial").to_numpy(dtype=bool) if step > 1 else None
        y = rows["complaints"].mask(partial) if step > 1 else rows["complaints"]
        # A line needs neighbours: a short or broken series shows its points too.
        sparse = len(rows) <= 12 or bool(y.isna().any())
        trace = {
            "type": "scatter",
            "mode": "lines+markers" if sparse else "lines",
            "name": name,
            "x": x,
            "y": values(y),
            "line": {"color": colours[series], "width": 2},
        }
        if sparse:
            trace["marker"] = {"size": 5}
        if step > 1:
            trace["legendgroup"] = series
        if series in hidden:
            trace["visible"] = "legendonly"
        traces.append(trace)
        if partial is not None and partial.any():
            partial_traces.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": name,
                    "legendgroup": series,
                    "showlegend": False,
                    "x": [m for m, p in zip(x, partial, strict=True) if p],
                    "y": values(rows["complaints"][partial]),
                    "marker": {"color": colours[series], "symbol": "circle-open", "size": 9},
                }
            )
    traces += partial_traces + (extra_traces or [])
    # One legend row per trace on a phone, and one for the provisional shade.
    layout = _time_layout(data, taxonomy, text, lang, y_title, len(traces) + 1, step)
    figure = {"data": traces, "layout": layout}
    return _chart(
        chart_id,
        title,
        summary,
        figure,
        data,
        _wide_table(data, names, text, lang),
        text,
        lang,
        facts,
    )


def _middle(month: str, step: int) -> str:
    """Where a period of ``step`` months that starts with ``month`` is drawn: the month
    itself for a month, else the day in the middle of the period."""
    if step == 1:
        return month
    start = np.datetime64(month + "-01")
    return str(start + (np.datetime64(_next_month(month, step) + "-01") - start) // 2)


def _coarsen(data: pd.DataFrame, resolution: str) -> pd.DataFrame:
    """Monthly rows (series, month, complaints, provisional, coverage) → one row per series
    and calendar quarter or year: series, period ("2024-Q1", "2024"), month (its first),
    complaints, provisional, coverage.

    A period counts the complaints of its months that the inputs cover. It is "covered"
    only when every one of its months is, "none" when none of them is (its count is then
    missing, never 0), and otherwise "partial": a year of which the data holds five months,
    or a quarter with a hole, is marked, not drawn as a fall. Provisional if any month is.
    """
    step = RESOLUTIONS[resolution]
    index = claims.month_of(pd.to_datetime(data["month"].astype(str) + "-01").to_numpy())
    start = index - index % step
    seen = (data["coverage"] != "none").to_numpy(dtype=bool)
    parts = pd.DataFrame(
        {
            "series": data["series"].to_numpy(),
            "start": start,
            "complaints": data["complaints"].astype("Int64").where(seen),
            "provisional": data["provisional"].to_numpy(dtype=bool),
            "covered": (data["coverage"] == "covered").to_numpy(dtype=bool),
            "seen": seen,
        }
    )
    out = (
        parts.groupby(["series", "start"], sort=True)
        .agg(
            complaints=("complaints", lambda c: c.sum(min_count=1)),
            provisional=("provisional", "any"),
            covered=("covered", "sum"),
            seen=("seen", "sum"),
        )
        .reset_index()
    )
    months = [claims.month_label(m) for m in out["start"]]
    if step == 12:
        period = [m[:4] for m in months]
    else:
        period = [f"{m[:4]}-Q{int(m[5:]) // 3 + 1}" for m in months]
    coverage = np.where(out["covered"] == step, "covered", "partial")
    return pd.DataFrame(
        {
            "series": out["series"].astype("string"),
            "period": pd.Series(period, dtype="string"),
            "month": pd.Series(months, dtype="string"),
            "complaints": out["complaints"].astype("Int64"),
            "provisional": out["provisional"].astype(bool),
            "coverage": pd.Series(np.where(out["seen"] == 0, "none", coverage), dtype="string"),
        }
    )


def _blank_uncovered(data: pd.DataFrame) -> pd.DataFrame:
    """Counts in months the inputs do not cover become NA: missing data, never a 0."""
    if "coverage" not in data:
        return data
    out = data.copy()
    out["complaints"] = out["complaints"].astype("Int64")
    out.loc[(out["coverage"] == "none").to_numpy(dtype=bool), "complaints"] = pd.NA
    return out


def _wide_table(data: pd.DataFrame, names: dict[str, str], text: dict, lang: str) -> dict:
    """Long data over time → one row per month (or ``period``, when the data has one), one
    column per series; "no data" where the inputs do not cover it."""
    key = "period" if "period" in data else "month"
    wide = data.pivot(index=key, columns="series", values="complaints")
    flags = data.groupby(key)["provisional"].any()
    mark = _t(text, lang, "common", "provisional_mark")
    cells = wide.reindex(columns=list(names)).astype(object).map(_cell_count)
    if "coverage" in data:
        status = data.groupby(key)["coverage"].first().reindex(wide.index)
        cells[(status == "none").to_numpy()] = _t(text, lang, "common", "no_data")
        partial = _t(text, lang, "common", "partial_mark")
        flags = flags.astype(object).where(status != "partial", "partial")
    labels = [
        m + ("" if not flag else partial if flag == "partial" else mark)
        for m, flag in zip(wide.index, flags[wide.index], strict=True)
    ]
    rows = [[label, *row] for label, row in zip(labels, cells.values.tolist(), strict=True)]
    return {"columns": [_t(text, lang, "common", key), *names.values()], "rows": rows}


def _cell_count(value) -> str:
    value = _native(value)
    return "" if value is None else _count(value)


def _trend_summary(facts: dict, chart: str, text: dict, lang: str, **names) -> str:
    """One sentence from :func:`claims.compare_windows` facts: a comparison with the 12
    months before only when both spans are fully covered, else the total, saying when
    the span has months the data does not cover."""
    note = _t(text, lang, "common", "provisional_note") if facts["provisional"] else ""
    if facts["previous"] is None and facts["gaps"]:
        note = _t(text, lang, "common", "gaps_note") + note
    words = {
        **names,
        "recent": _count(facts["recent"]),
        "start": _month_words(facts["start"], text, lang),
        "end": _month_words(facts["end"], text, lang),
        "note": note,
    }
    if facts["previous"] is None:
        return _t(text, lang, "charts", chart, "summary_short", **words)
    recent, previous = facts["recent"], facts["previous"]
    change = "up" if recent > previous else "down" if recent < previous else "same"
    words.update(previous=_count(previous), change=_t(text, lang, "change", change))
    return _t(text, lang, "charts", chart, "summary", **words)


def _family_colours(taxonomy: dict) -> dict[str, str]:
    """Each family keeps its colour on every chart (taxonomy order)."""
    return {f: PALETTE[i % len(PALETTE)] for i, f in enumerate(taxonomy["families"])}


def _behaviour_colour(taxonomy: dict, behaviour: str) -> str:
    return _family_colours(taxonomy)[taxonomy["behaviours"][behaviour]["family"]]


def _name(taxonomy: dict, kind: str, key: str, lang: str) -> str:
    return taxonomy[kind][key]["name"][lang]


def _lender_counts(tables: dict, lender_slug: str) -> pd.DataFrame:
    """One lender's counts_monthly rows for every behaviour it has, zero-filled over the
    months of lender_monthly (the published table leaves out months without complaints).

    Columns: behaviour, family, month, complaints, all_complaints, provisional.
    """
    cm = tables["counts_monthly"]
    cm = cm[cm["lender_slug"].astype("string") == lender_slug]
    lm = tables["lender_monthly"]
    lm = lm[lm["lender_slug"].astype("string") == lender_slug]
    months = lm[["month", "complaints", "provisional"]].rename(
        columns={"complaints": "all_complaints"}
    )
    grid = cm[["behaviour", "family"]].drop_duplicates().merge(months, how="cross")
    counts = cm[["behaviour", "month", "complaints"]]
    out = grid.merge(counts, on=["behaviour", "month"], how="left", validate="one_to_one")
    out["complaints"] = out["complaints"].fillna(0).astype("int64")
    return out.sort_values(["behaviour", "month"], kind="stable", ignore_index=True)


def _lender_name(tables: dict, lender_slug: str) -> str | None:
    lenders = tables["lenders"]
    hit = lenders.loc[lenders["lender_slug"].astype("string") == lender_slug, "lender"]
    return str(hit.iloc[0]) if len(hit) else None


def _bar_layout(names: list[str], band_px: int = BAND_PX, **extra) -> dict:
    """Layout of horizontal bars, one category per name, top to bottom.

    Each name is written above its bar rather than beside it: on a 360-px phone, names
    beside the bars would take half the width. ``band_px`` is the height of one category.
    """
    gap = 0.45
    labels = [
        {
            "text": name,
            "x": 0,
            "xref": "paper",
            "xanchor": "left",
            "y": name,
            "yref": "y",
            "yanchor": "bottom",
            "yshift": round(band_px * (1 - gap) / 2),
            "showarrow": False,
            "font": {"size": 12},
        }
        for name in names
    ]
    return _layout(
        height=90 + band_px * max(len(names), 1),
        bargap=gap,
        yaxis=_axis(type="category", autorange="reversed", showticklabels=False, showgrid=False),
        annotations=labels,
        **extra,
    )


def _error_x(data: pd.DataFrame, colour: str) -> dict:
    """95% interval around ``share`` from ``share_lo`` and ``share_hi`` (rounded alike)."""
    share = data["share"].astype("Float64")
    return {
        "type": "data",
        "symmetric": False,
        "array": values((data["share_hi"] - share).round(SHARE_DIGITS), SHARE_DIGITS),
        "arrayminus": values((share - data["share_lo"]).round(SHARE_DIGITS), SHARE_DIGITS),
        "color": colour,
        "thickness": 1.5,
        "width": 3,
    }


def _interval_cell(lo, hi) -> str:
    lo, hi = _native(lo), _native(hi)
    return "" if lo is None or hi is None else f"{_pct(lo)}–{_pct(hi)}"


# ── overview ───────────────────────────────────────────────────────────────────────────


def family_trend(
    tables: dict,
    taxonomy: dict,
    lang: str = "en",
    *,
    text: dict | None = None,
    resolution: str = "month",
) -> dict:
    """Complaints per behaviour family, all companies (``family_monthly``), per month, or
    per calendar quarter or year (``resolution``).

    ``data``: series (family id), month, complaints, provisional, coverage; per quarter or
    year, series, period, complaints, provisional, coverage (see :func:`_coarsen`). The
    summary is the monthly chart's, whatever the resolution.
    """
    text = _text(text)
    step = RESOLUTIONS[resolution]
    chart_id = "market-family-trend" + ("" if step == 1 else f"-{resolution}")
    title = _t(
        text, lang, "charts", "family_trend", "title" + ("" if step == 1 else f"_{resolution}")
    )
    fm = tables["family_monthly"]
    data = pd.DataFrame(
        {
            "series": fm["family"].astype("string"),
            "month": _months(fm["month"]),
            "complaints": fm["complaints"].astype("Int64"),
            "provisional": fm["provisional"].astype(bool),
            "coverage": _coverage(tables, _months(fm["month"])),
        }
    )
    columns = [_t(text, lang, "common", "month" if step == 1 else "period")]
    if data.empty or int(fm["all_complaints"].groupby(fm["month"]).first().sum()) < MIN_COMPLAINTS:
        empty = data if step == 1 else _coarsen(data, resolution)[_names(PERIOD_FIELDS)]
        return _empty(chart_id, title, empty, columns, text, lang)
    families = [f for f in taxonomy["families"] if f in set(data["series"])]
    names = {f: _name(taxonomy, "families", f, lang) for f in families}
    periods = _periods(tables)
    per_family = {f: claims.compare_windows(data[data["series"] == f], periods) for f in families}
    recent = pd.DataFrame(
        {"family": families, "name": [names[f] for f in families]}
        | {"recent": [per_family[f]["recent"] for f in families]}
    )
    lead = claims.leader(recent, "recent", "family")
    top = lead["name"] or families[0]
    facts = {"family": top, "leader": lead["kind"], **per_family[top]}
    if lead["kind"] == "leader":
        summary = _trend_summary(facts, "family_trend", text, lang, family=names[top])
    else:
        lead["tied"] = [names[f] for f in lead["tied"]]
        summary = _no_leader(lead, text, lang)
    drawn = data if step == 1 else _coarsen(data, resolution)
    chart = _time_chart(
        chart_id,
        title,
        summary,
        drawn,
        names,
        _family_colours(taxonomy),
        taxonomy,
        text,
        lang,
        _t(text, lang, "charts", "family_trend", "y"),
        facts,
        step=step,
    )
    chart["figure"] = _small_multiples(chart["figure"], text, lang)
    if step > 1:
        chart["data"] = chart["data"][_names(PERIOD_FIELDS)]
    return chart


def _names(fields: tuple[tuple[str, str], ...]) -> list[str]:
    """The column names of a CSV's (name, type) fields."""
    return [name for name, _ in fields]


PANEL_PX = 118  # height of one small-multiple panel
PANEL_COLUMNS = 1  # a phone is too narrow for two panels with their names


def _small_multiples(figure: dict, text: dict, lang: str) -> dict:
    """One panel per line of a monthly figure, each with its own y scale and the line's
    name above it, on one shared time axis: seven lines on one plot hide which kind grew,
    seven small plots show it at a glance. The shading and revision lines of the time
    layout span every panel."""
    traces = [t for t in figure["data"] if t.get("mode", "").startswith("lines")]
    # Other traces of a line (its partly covered periods) go to the line's panel.
    riders = [t for t in figure["data"] if t not in traces and t.get("legendgroup")]
    layout = figure["layout"]
    rows = -(-len(traces) // PANEL_COLUMNS)
    gap_x, gap_y = 0.08, 0.3 / max(-(-len(traces) // PANEL_COLUMNS), 1)
    x_axis, y_axis = layout.pop("xaxis"), layout.pop("yaxis")
    ticks = x_axis.get("tickvals") or []
    keep = ticks
    labels = dict(zip(ticks, x_axis.get("ticktext") or [], strict=False))
    # The revision lines cross every panel; their labels go to the foot of the figure,
    # where they cannot cover a panel's name.
    annotations = [
        {**a, "y": 0, "yanchor": "bottom"} if a.get("textangle") == -90 else a
        for a in layout.get("annotations", [])
    ]
    for i, trace in enumerate(traces):
        row, col = divmod(i, PANEL_COLUMNS)
        k = "" if i == 0 else str(i + 1)
        x0 = col / PANEL_COLUMNS + (gap_x / 2 if col else 0)
        x1 = (col + 1) / PANEL_COLUMNS - (0 if col == PANEL_COLUMNS - 1 else gap_x / 2)
        y1 = 1 - row / rows - gap_y / 2
        y0 = 1 - (row + 1) / rows + gap_y / 2
        trace.update(xaxis=f"x{k}", yaxis=f"y{k}", showlegend=False)
        layout[f"xaxis{k}"] = {
            **x_axis,
            "domain": [round(x0, 4), round(x1, 4)],
            "anchor": f"y{k}",
            "tickvals": keep,
            "ticktext": [labels[t] for t in keep],
            **({"matches": "x"} if k else {}),
        }
        layout[f"yaxis{k}"] = {
            **{key: v for key, v in y_axis.items() if key != "title"},
            "domain": [round(max(y0, 0), 4), round(y1, 4)],
            "anchor": f"x{k}",
            "nticks": 4,
        }
        annotations.append(
            {
                "text": trace["name"],
                "xref": f"x{k} domain",
                "yref": f"y{k} domain",
                "x": 0,
                "y": 1,
                "xanchor": "left",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 12},
            }
        )
    panels = {t["legendgroup"]: (t["xaxis"], t["yaxis"]) for t in traces if "legendgroup" in t}
    for rider in riders:
        rider["xaxis"], rider["yaxis"] = panels[rider["legendgroup"]]
    layout["annotations"] = annotations
    layout["height"] = 70 + PANEL_PX * rows
    layout["hovermode"] = "closest"
    return {"data": traces + riders, "layout": layout}


def top_lenders(
    tables: dict, taxonomy: dict, lang: str = "en", *, n: int = 15, text: dict | None = None
) -> dict:
    """The ``n`` companies with the most complaints (``lenders``), as horizontal bars.

    ``data``: rank, lender, lender_slug, complaints. Each bar's customdata is the lender's
    slug, for a click-through to /lenders/<slug>/.
    """
    text = _text(text)
    chart_id = "top-lenders"
    title = _t(text, lang, "charts", "top_lenders", "title")
    lenders = tables["lenders"].sort_values(["rank", "lender"], kind="stable")
    total = int(lenders["complaints"].sum())
    top = lenders[lenders["complaints"] > 0].head(n)
    data = pd.DataFrame(
        {
            "rank": top["rank"].astype("Int64"),
            "lender": top["lender"].astype("string"),
            "lender_slug": top["lender_slug"].astype("string"),
            "complaints": top["complaints"].astype("Int64"),
        }
    )
    columns = [
        _t(text, lang, "common", "rank"),
        _t(text, lang, "common", "lender"),
        _t(text, lang, "common", "complaints"),
    ]
    if data.empty or total < MIN_COMPLAINTS:
        return _empty(chart_id, title, data, columns, text, lang)
    names = values(data["lender"])
    figure = {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": values(data["complaints"]),
                "y": names,
                "customdata": values(data["lender_slug"]),
                "marker": {"color": PALETTE[0]},
                "hovertemplate": "%{y}: %{x:,}<extra></extra>",
            }
        ],
        "layout": _bar_layout(
            names,
            showlegend=False,
            xaxis=_axis(title={"text": _t(text, lang, "charts", "top_lenders", "x")}),
        ),
    }
    first = data.iloc[0]
    lead = claims.leader(lenders, "complaints", "lender")
    facts = {
        "lender": str(first["lender"]),
        "leader": lead["kind"],
        "complaints": int(first["complaints"]),
        "total": total,
        "share": round(int(first["complaints"]) / total, SHARE_DIGITS),
    }
    summary = _no_leader(lead, text, lang) or _t(
        text,
        lang,
        "charts",
        "top_lenders",
        "summary",
        lender=facts["lender"],
        n=_count(facts["complaints"]),
        total=_count(total),
        share=_pct(facts["share"]),
    )
    rows = [[str(r.rank), r.lender, _count(r.complaints)] for r in data.itertuples()]
    table = {"columns": columns, "rows": rows}
    return _chart(chart_id, title, summary, figure, data, table, text, lang, facts)


def state_map(
    tables: dict,
    taxonomy: dict,
    lang: str = "en",
    *,
    behaviour: str | None = None,
    text: dict | None = None,
) -> dict:
    """US state choropleth (``state_behaviour``): complaints per state, or with
    ``behaviour`` the behaviour's share of each state's complaints.

    ``locationmode`` is "USA-states"; only the 50 states and DC are drawn (the map has no
    shapes for territories). ``data``: state, complaints, state_complaints, share (the last
    two only with ``behaviour``). The page must serve the topojson itself (config
    ``topojsonURL``; file ``usa_110m.json``).
    """
    text = _text(text)
    key = "behaviour_state_map" if behaviour else "state_map"
    words = {"behaviour": _name(taxonomy, "behaviours", behaviour, lang)} if behaviour else {}
    chart_id = f"behaviour-{slug(behaviour)}-map" if behaviour else "states-map"
    title = _t(text, lang, "charts", key, "title", **words)
    sb = tables["state_behaviour"]
    sb = sb[sb["state"].astype("string").isin(US_STATES)]
    if behaviour:
        rows = sb[sb["behaviour"].astype("string") == behaviour]
        data = pd.DataFrame(
            {
                "state": rows["state"].astype("string"),
                "complaints": rows["complaints"].astype("Int64"),
                "state_complaints": rows["state_complaints"].astype("Int64"),
                "share": _shares(rows["share"]),
            }
        )
    else:
        firsts = sb.groupby(sb["state"].astype("string"), sort=True)["state_complaints"].first()
        data = pd.DataFrame(
            {
                "state": pd.array(firsts.index, dtype="string"),
                "complaints": pd.array(firsts.to_numpy(), dtype="Int64"),
            }
        )
    data = data.sort_values("state", kind="stable").reset_index(drop=True)
    columns = [_t(text, lang, "common", "state"), _t(text, lang, "common", "complaints")]
    if behaviour:
        columns += [_t(text, lang, "common", "all_complaints"), _t(text, lang, "common", "share")]
    if data.empty or int(data["complaints"].sum()) < MIN_COMPLAINTS:
        return _empty(chart_id, title, data, columns, text, lang)
    if behaviour:
        z = values(data["share"], SHARE_DIGITS)
        custom = [
            [k, n]
            for k, n in zip(
                values(data["complaints"]), values(data["state_complaints"]), strict=True
            )
        ]
        hover = "%{location}: %{z:.1%} (%{customdata[0]:,} / %{customdata[1]:,})<extra></extra>"
        tickformat = ".0%"
    else:
        z, custom = values(data["complaints"]), None
        hover = "%{location}: %{z:,}<extra></extra>"
        tickformat = ","
    trace = {
        "type": "choropleth",
        "locationmode": "USA-states",
        "locations": values(data["state"]),
        "z": z,
        "zmin": 0,
        "colorscale": "Cividis",
        "reversescale": True,
        "marker": {"line": {"color": LINE, "width": 0.5}},
        "hovertemplate": hover,
        "colorbar": {
            "title": {"text": _t(text, lang, "charts", key, "colorbar"), "side": "top"},
            "orientation": "h",
            "thickness": 10,
            "len": 0.8,
            "x": 0.5,
            "xanchor": "center",
            "y": 0,
            "yanchor": "top",
            "tickformat": tickformat,
        },
    }
    if custom is not None:
        trace["customdata"] = custom
    figure = {
        "data": [trace],
        "layout": _layout(
            height=360,
            showlegend=False,
            geo={
                "scope": "usa",
                "bgcolor": "rgba(0,0,0,0)",
                "showlakes": False,
                "showland": True,
                "landcolor": SHADE,
                "subunitcolor": LINE,
            },
        ),
    }
    top = data.sort_values(["complaints", "state"], ascending=[False, True], kind="stable").iloc[0]
    lead = claims.leader(data, "complaints", "state")
    facts = {"state": str(top["state"]), "complaints": int(top["complaints"])}
    facts["leader"] = lead["kind"]
    ties = _no_leader(lead, text, lang)
    if behaviour:
        facts.update(
            behaviour=behaviour,
            state_complaints=int(top["state_complaints"]),
            share=_native(top["share"], SHARE_DIGITS),
        )
        summary = ties or _t(
            text,
            lang,
            "charts",
            key,
            "summary",
            state=facts["state"],
            k=_count(facts["complaints"]),
            share=_pct(facts["share"]),
            **words,
        )
        rows = [
            [r.state, _count(r.complaints), _count(r.state_complaints), _pct(_native(r.share))]
            for r in data.itertuples()
        ]
    else:
        facts["total"] = int(data["complaints"].sum())
        summary = ties or _t(
            text,
            lang,
            "charts",
            key,
            "summary",
            state=facts["state"],
            k=_count(facts["complaints"]),
            n=_count(facts["total"]),
        )
        rows = [[r.state, _count(r.complaints)] for r in data.itertuples()]
    table = {"columns": columns, "rows": rows}
    return _chart(chart_id, title, summary, figure, data, table, text, lang, facts)


# ── one lender ─────────────────────────────────────────────────────────────────────────


def lender_trend(
    tables: dict, taxonomy: dict, lender_slug: str, lang: str = "en", *, text: dict | None = None
) -> dict:
    """A company's complaints per month (``lender_monthly``): all complaints, and one line
    per behaviour family (``lender_family_monthly``).

    Every line counts complaints: one with several behaviours of a family counts once
    for it, so no family line ever rises above the "all" line.
    ``data``: series ("all" or a family id), month, complaints, provisional, coverage.
    """
    text = _text(text)
    chart_id = f"lender-{slug(lender_slug)}-trend"
    lender = _lender_name(tables, lender_slug) or lender_slug
    title = _t(text, lang, "charts", "lender_trend", "title", lender=lender)
    lm = tables["lender_monthly"]
    lm = lm[lm["lender_slug"].astype("string") == lender_slug]
    per_month = pd.DataFrame(
        {
            "month": _months(lm["month"]).to_numpy(),
            "all_complaints": lm["complaints"].to_numpy(dtype="int64"),
            "provisional": lm["provisional"].to_numpy(dtype=bool),
        }
    ).set_index("month")
    lf = tables["lender_family_monthly"]
    lf = lf[lf["lender_slug"].astype("string") == lender_slug]
    families = lf.groupby([lf["family"].astype("string"), _months(lf["month"])], sort=True)[
        "complaints"
    ].sum()
    fam_ids = [f for f in taxonomy["families"] if f in families.index.get_level_values(0)]
    parts = [
        pd.DataFrame(
            {
                "series": "all",
                "month": per_month.index.astype("string"),
                "complaints": per_month["all_complaints"].to_numpy(),
            }
        )
    ]
    for fam in fam_ids:
        counts = families.loc[fam].reindex(per_month.index, fill_value=0)
        parts.append(
            pd.DataFrame(
                {"series": fam, "month": counts.index.astype("string"), "complaints": counts}
            )
        )
    data = pd.concat(parts, ignore_index=True)
    data = pd.DataFrame(
        {
            "series": data["series"].astype("string"),
            "month": data["month"].astype("string"),
            "complaints": data["complaints"].astype("Int64"),
            "provisional": data["month"].map(per_month["provisional"]).astype(bool),
            "coverage": _coverage(tables, data["month"].astype("string")),
        }
    )
    columns = [_t(text, lang, "common", "month")]
    if per_month.empty or int(per_month["all_complaints"].sum()) < MIN_COMPLAINTS:
        return _empty(chart_id, title, data, columns, text, lang)
    names = {"all": _t(text, lang, "common", "all_complaints")}
    names.update({f: _name(taxonomy, "families", f, lang) for f in fam_ids})
    # A company's monthly counts are small: eight tangled lines say less than four, so
    # only its largest families start visible.
    sizes = {f: int(families.loc[f].sum()) for f in fam_ids}
    shown = sorted(fam_ids, key=lambda f: (-sizes[f], fam_ids.index(f)))[:LENDER_FAMILIES]
    colours = {"all": NEUTRAL, **_family_colours(taxonomy)}
    compared = claims.compare_windows(data[data["series"] == "all"], _periods(tables))
    facts = {"lender": lender, **compared}
    summary = _trend_summary(facts, "lender_trend", text, lang, lender=lender)
    return _time_chart(
        chart_id,
        title,
        summary,
        data,
        names,
        colours,
        taxonomy,
        text,
        lang,
        _t(text, lang, "charts", "lender_trend", "y"),
        facts,
        hidden=frozenset(fam_ids) - set(shown),
    )


def lender_mix(
    tables: dict,
    taxonomy: dict,
    lender_slug: str,
    lang: str = "en",
    *,
    level: str = "behaviour",
    text: dict | None = None,
) -> dict:
    """A company's share of complaints per behaviour (``behaviour_mix``) or per family
    (``family_mix``, ``level="family"``), with 95% Wilson intervals and the peer median.

    Categories with no complaints at the company and a peer median of 0 are left out.
    ``data``: category, complaints, lender_complaints, share, share_lo, share_hi,
    peer_median, above_peers.
    """
    text = _text(text)
    if level not in ("behaviour", "family"):
        raise ValueError(f"lender_mix: level must be 'behaviour' or 'family', not {level!r}")
    kind = "behaviours" if level == "behaviour" else "families"
    mix = tables["behaviour_mix" if level == "behaviour" else "family_mix"]
    suffix = "mix" if level == "behaviour" else "family-mix"
    chart_id = f"lender-{slug(lender_slug)}-{suffix}"
    lender = _lender_name(tables, lender_slug) or lender_slug
    title_key = "title" if level == "behaviour" else "title_family"
    title = _t(text, lang, "charts", "lender_mix", title_key, lender=lender)
    rows = mix[mix["lender_slug"].astype("string") == lender_slug]
    order = {c: i for i, c in enumerate(taxonomy[kind])}
    rows = rows.assign(_order=rows[level].astype("string").map(order)).sort_values("_order")
    data = pd.DataFrame(
        {
            "category": rows[level].astype("string"),
            "complaints": rows["complaints"].astype("Int64"),
            "lender_complaints": rows["lender_complaints"].astype("Int64"),
            "share": _shares(rows["share"]),
            "share_lo": _shares(rows["share_lo"]),
            "share_hi": _shares(rows["share_hi"]),
            "peer_median": _shares(rows["peer_median"]),
            "above_peers": rows["above_peers"].astype(bool),
        }
    )
    n = int(data["lender_complaints"].iloc[0]) if len(data) else 0
    data = data[(data["complaints"] > 0) | (data["peer_median"].fillna(0) > 0)]
    columns = [
        _t(text, lang, "common", level),
        _t(text, lang, "common", "complaints"),
        _t(text, lang, "common", "share"),
        _t(text, lang, "common", "interval"),
        _t(text, lang, "common", "peer_median"),
    ]
    if data.empty or n < MIN_COMPLAINTS:
        return _empty(chart_id, title, data, columns, text, lang)
    names = [_name(taxonomy, kind, c, lang) for c in data["category"]]
    colour = PALETTE[0]
    figure = {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "name": lender,
                "x": values(data["share"], SHARE_DIGITS),
                "y": names,
                "marker": {"color": colour},
                "error_x": _error_x(data, LINE),
                "hovertemplate": "%{x:.1%}",
            },
            {
                "type": "scatter",
                "mode": "markers",
                "name": _t(text, lang, "common", "peer_median"),
                "x": values(data["peer_median"], SHARE_DIGITS),
                "y": names,
                "marker": {
                    "symbol": "diamond",
                    "size": 10,
                    "color": NEUTRAL,
                    "line": {"width": 1, "color": TEXT_COLOUR},
                },
                "hovertemplate": "%{x:.1%}",
            },
        ],
        "layout": _bar_layout(
            names,
            hovermode="y unified",
            xaxis=_axis(
                title={"text": _t(text, lang, "charts", "lender_mix", "x")},
                tickformat=".0%",
                rangemode="tozero",
            ),
        ),
    }
    # The category that stands out most (its interval's low end furthest above the peer
    # median), or else the company's most common one.
    above = data[data["above_peers"]]
    if len(above):
        gap = above["share_lo"] - above["peer_median"]
        pick, key = above.loc[gap.astype(float).idxmax()], "summary"
    else:
        pick = data.loc[data["share"].astype(float).idxmax()]
        lead = claims.leader(data, "share", "category")
        key = "summary_typical" if lead["kind"] == "leader" else "summary_level"
    facts = {
        "lender": lender,
        level: str(pick["category"]),
        "complaints": int(pick["complaints"]),
        "lender_complaints": n,
        "share": _native(pick["share"]),
        "peer_median": _native(pick["peer_median"]),
        "above_peers": bool(pick["above_peers"]),
    }
    summary = _t(
        text,
        lang,
        "charts",
        "lender_mix",
        key,
        lender=lender,
        behaviour=_name(taxonomy, kind, facts[level], lang),
        share=_pct(facts["share"]),
        median=_pct(facts["peer_median"]),
    )
    table = {
        "columns": columns,
        "rows": [
            [
                name,
                _count(r.complaints),
                _pct(_native(r.share)),
                _interval_cell(r.share_lo, r.share_hi),
                _pct(_native(r.peer_median)),
            ]
            for name, r in zip(names, data.itertuples(), strict=True)
        ],
    }
    return _chart(chart_id, title, summary, figure, data, table, text, lang, facts)


def lender_responses(
    tables: dict, taxonomy: dict, lender_slug: str, lang: str = "en", *, text: dict | None = None
) -> dict:
    """How a company closed its complaints and how often it answered on time
    (``responses``), next to all companies together.

    One bar per outcome that the company or the market has (share of all complaints), then
    "answered on time" (share of complaints where timeliness is recorded). ``data``:
    response (outcome id or "timely"), complaints, denominator, share, market_share.
    """
    text = _text(text)
    chart_id = f"lender-{slug(lender_slug)}-responses"
    lender = _lender_name(tables, lender_slug) or lender_slug
    title = _t(text, lang, "charts", "lender_responses", "title", lender=lender)
    responses = tables["responses"]
    mine = responses[responses["lender_slug"].astype("string") == lender_slug]
    market = responses[responses["lender"].astype("string") == MARKET]
    columns = [
        _t(text, lang, "common", "response"),
        _t(text, lang, "common", "complaints"),
        lender,
        _t(text, lang, "common", "market"),
    ]
    outcomes = [o for o in text["outcomes"] if o != "timely" and o in responses.columns]
    records = []
    if len(mine) and len(market):
        me, all_ = mine.iloc[0], market.iloc[0]
        n, n_all = int(me["complaints"]), int(all_["complaints"])
        for o in outcomes:
            if int(me[o]) or int(all_[o]):
                records.append((o, int(me[o]), n, int(all_[o]), n_all))
        records.append(
            ("timely", int(me["timely_yes"]), int(me["timely_known"]),
             int(all_["timely_yes"]), int(all_["timely_known"]))
        )  # fmt: skip
    frame = pd.DataFrame(records, columns=["response", "k", "n", "mk", "mn"])
    data = pd.DataFrame(
        {
            "response": frame["response"].astype("string"),
            "complaints": frame["k"].astype("Int64"),
            "denominator": frame["n"].astype("Int64"),
            "share": _ratio(frame["k"], frame["n"]),
            "market_share": _ratio(frame["mk"], frame["mn"]),
        }
    )
    if data.empty or int(mine["complaints"].iloc[0]) < MIN_COMPLAINTS:
        return _empty(chart_id, title, data, columns, text, lang)
    names = [_t(text, lang, "outcomes", r) for r in data["response"]]
    figure = {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "name": lender,
                "x": values(data["share"], SHARE_DIGITS),
                "y": names,
                "marker": {"color": PALETTE[0]},
                "hovertemplate": "%{x:.1%}",
            },
            {
                "type": "bar",
                "orientation": "h",
                "name": _t(text, lang, "common", "market"),
                "x": values(data["market_share"], SHARE_DIGITS),
                "y": names,
                "marker": {"color": NEUTRAL},
                "hovertemplate": "%{x:.1%}",
            },
        ],
        "layout": _bar_layout(
            names,
            band_px=BAND_PX + 18,
            barmode="group",
            hovermode="y unified",
            xaxis=_axis(
                title={"text": _t(text, lang, "charts", "lender_responses", "x")},
                tickformat=".0%",
                range=[0, 1],
            ),
        ),
    }
    timely = data[data["response"] == "timely"].iloc[0]
    outcomes_only = data[data["response"] != "timely"]
    top = outcomes_only.loc[outcomes_only["complaints"].astype(int).idxmax()]
    lead = claims.leader(
        outcomes_only.assign(
            name=[_t(text, lang, "outcomes", r) for r in outcomes_only["response"]]
        ),
        "complaints",
        "name",
    )
    facts = {
        "lender": lender,
        "leader": lead["kind"],
        "timely_rate": _native(timely["share"]),
        "market_timely_rate": _native(timely["market_share"]),
        "outcome": str(top["response"]),
        "outcome_share": _native(top["share"]),
    }
    key = "summary" if lead["kind"] == "leader" else "summary_timely"
    summary = _t(
        text,
        lang,
        "charts",
        "lender_responses",
        key,
        lender=lender,
        timely=_pct(facts["timely_rate"]),
        market_timely=_pct(facts["market_timely_rate"]),
        outcome=_t(text, lang, "outcomes", facts["outcome"]),
        share=_pct(facts["outcome_share"]),
    )
    table = {
        "columns": columns,
        "rows": [
            [name, _count(r.complaints), _pct(_native(r.share)), _pct(_native(r.market_share))]
            for name, r in zip(names, data.itertuples(), strict=True)
        ],
    }
    return _chart(chart_id, title, summary, figure, data, table, text, lang, facts)


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    """num / den rounded like every share, NA where den is 0."""
    num = num.astype("Float64")
    den = den.astype("Float64")
    return (num / den.where(den > 0)).round(SHARE_DIGITS)


def lender_states(
    tables: dict,
    taxonomy: dict,
    lender_slug: str,
    lang: str = "en",
    *,
    n: int = TOP_N,
    text: dict | None = None,
) -> dict:
    """The ``n`` states that sent the most complaints about a company, as bars.

    Reads ``lender_states`` (one row per company and state; complaints without a state are
    left out). ``data``: state, complaints; the summary's denominator is all the company's
    complaints that name a state.
    """
    text = _text(text)
    chart_id = f"lender-{slug(lender_slug)}-states"
    lender = _lender_name(tables, lender_slug) or lender_slug
    title = _t(text, lang, "charts", "lender_states", "title", lender=lender)
    ls = tables["lender_states"]
    rows = ls[(ls["lender_slug"].astype("string") == lender_slug) & (ls["complaints"] > 0)]
    total = int(rows["complaints"].sum())
    rows = rows.sort_values(["complaints", "state"], ascending=[False, True], kind="stable")
    data = pd.DataFrame(
        {
            "state": rows["state"].astype("string").head(n),
            "complaints": rows["complaints"].astype("Int64").head(n),
        }
    )
    columns = [_t(text, lang, "common", "state"), _t(text, lang, "common", "complaints")]
    if data.empty or total < MIN_COMPLAINTS:
        return _empty(chart_id, title, data, columns, text, lang)
    figure = {
        "data": [
            {
                "type": "bar",
                "x": values(data["state"]),
                "y": values(data["complaints"]),
                "marker": {"color": PALETTE[0]},
                "hovertemplate": "%{x}: %{y:,}<extra></extra>",
            }
        ],
        "layout": _layout(
            height=300,
            showlegend=False,
            xaxis=_axis(type="category"),
            yaxis=_axis(title={"text": _t(text, lang, "charts", "lender_states", "y")}),
        ),
    }
    first = data.iloc[0]
    lead = claims.leader(rows, "complaints", "state")
    facts = {
        "lender": lender,
        "leader": lead["kind"],
        "state": str(first["state"]),
        "complaints": int(first["complaints"]),
        "with_state": total,
    }
    summary = _no_leader(lead, text, lang) or _t(
        text,
        lang,
        "charts",
        "lender_states",
        "summary",
        lender=lender,
        state=facts["state"],
        k=_count(facts["complaints"]),
        n=_count(total),
    )
    table = {
        "columns": columns,
        "rows": [[r.state, _count(r.complaints)] for r in data.itertuples()],
    }
    return _chart(chart_id, title, summary, figure, data, table, text, lang, facts)


# ── one behaviour ──────────────────────────────────────────────────────────────────────


def behaviour_trend(
    tables: dict, taxonomy: dict, behaviour: str, lang: str = "en", *, text: dict | None = None
) -> dict:
    """Monthly complaints with one behaviour, all companies (``market_monthly``).

    ``data``: series (the behaviour id), month, complaints, provisional.
    """
    text = _text(text)
    chart_id = f"behaviour-{slug(behaviour)}-trend"
    name = _name(taxonomy, "behaviours", behaviour, lang)
    title = _t(text, lang, "charts", "behaviour_trend", "title", behaviour=name)
    mm = tables["market_monthly"]
    mm = mm[mm["behaviour"].astype("string") == behaviour]
    data = pd.DataFrame(
        {
            "series": mm["behaviour"].astype("string"),
            "month": _months(mm["month"]),
            "complaints": mm["complaints"].astype("Int64"),
            "provisional": mm["provisional"].astype(bool),
            "coverage": _coverage(tables, _months(mm["month"])),
        }
    )
    columns = [_t(text, lang, "common", "month")]
    if data.empty or int(data["complaints"].sum()) < MIN_COMPLAINTS:
        return _empty(chart_id, title, data, columns, text, lang)
    facts = {"behaviour": behaviour, **claims.compare_windows(data, _periods(tables))}
    summary = _trend_summary(facts, "behaviour_trend", text, lang, behaviour=name)
    return _time_chart(
        chart_id,
        title,
        summary,
        data,
        {behaviour: name},
        {behaviour: _behaviour_colour(taxonomy, behaviour)},
        taxonomy,
        text,
        lang,
        _t(text, lang, "charts", "behaviour_trend", "y"),
        facts,
    )


def behaviour_top_lenders(
    tables: dict,
    taxonomy: dict,
    behaviour: str,
    lang: str = "en",
    *,
    n: int = TOP_N,
    text: dict | None = None,
) -> dict:
    """The ``n`` peer-group companies with the highest share of complaints showing a
    behaviour (``behaviour_mix``), with 95% Wilson intervals and the peer median as a line.

    Only companies in the peer group, and only those with at least one such complaint.
    ``data``: lender, lender_slug, complaints, lender_complaints, share, share_lo,
    share_hi, peer_median.
    """
    text = _text(text)
    chart_id = f"behaviour-{slug(behaviour)}-lenders"
    name = _name(taxonomy, "behaviours", behaviour, lang)
    title = _t(text, lang, "charts", "behaviour_top_lenders", "title", behaviour=name)
    mix = tables["behaviour_mix"]
    rows = mix[
        (mix["behaviour"].astype("string") == behaviour)
        & mix["in_peer_group"].astype(bool)
        & (mix["complaints"] > 0)
    ]
    rows = rows.sort_values(
        ["share", "complaints", "lender"], ascending=[False, False, True], kind="stable"
    ).head(n)
    data = pd.DataFrame(
        {
            "lender": rows["lender"].astype("string"),
            "lender_slug": rows["lender_slug"].astype("string"),
            "complaints": rows["complaints"].astype("Int64"),
            "lender_complaints": rows["lender_complaints"].astype("Int64"),
            "share": _shares(rows["share"]),
            "share_lo": _shares(rows["share_lo"]),
            "share_hi": _shares(rows["share_hi"]),
            "peer_median": _shares(rows["peer_median"]),
        }
    )
    columns = [
        _t(text, lang, "common", "lender"),
        _t(text, lang, "common", "complaints"),
        _t(text, lang, "common", "share"),
        _t(text, lang, "common", "interval"),
    ]
    if data.empty or int(data["complaints"].sum()) < MIN_COMPLAINTS:
        return _empty(chart_id, title, data, columns, text, lang)
    median = _native(data["peer_median"].iloc[0])
    names = values(data["lender"])
    peer_label = _t(text, lang, "common", "peer_median")
    figure = {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": values(data["share"], SHARE_DIGITS),
                "y": names,
                "customdata": values(data["lender_slug"]),
                "marker": {"color": _behaviour_colour(taxonomy, behaviour)},
                "error_x": _error_x(data, LINE),
                "hovertemplate": "%{y}: %{x:.1%}<extra></extra>",
                "showlegend": False,
            }
        ],
        "layout": _bar_layout(
            names,
            showlegend=True,
            xaxis=_axis(
                title={"text": _t(text, lang, "charts", "behaviour_top_lenders", "x")},
                tickformat=".0%",
                rangemode="tozero",
            ),
            shapes=[
                {
                    "type": "line",
                    "xref": "x",
                    "yref": "paper",
                    "x0": median,
                    "x1": median,
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": TEXT_COLOUR, "width": 1.5, "dash": "dash"},
                    "name": f"{peer_label} ({_pct(median)})",
                    "showlegend": True,
                }
            ],
        ),
    }
    first = data.iloc[0]
    lead = claims.leader(data, "share", "lender")
    facts = {
        "behaviour": behaviour,
        "leader": lead["kind"],
        "lender": str(first["lender"]),
        "complaints": int(first["complaints"]),
        "lender_complaints": int(first["lender_complaints"]),
        "share": _native(first["share"]),
        "peer_median": median,
    }
    summary = _no_leader(lead, text, lang, _pct) or _t(
        text,
        lang,
        "charts",
        "behaviour_top_lenders",
        "summary",
        lender=facts["lender"],
        behaviour=name,
        k=_count(facts["complaints"]),
        n=_count(facts["lender_complaints"]),
        share=_pct(facts["share"]),
        median=_pct(median),
    )
    table = {
        "columns": columns,
        "rows": [
            [
                r.lender,
                f"{_count(r.complaints)} / {_count(r.lender_complaints)}",
                _pct(_native(r.share)),
                _interval_cell(r.share_lo, r.share_hi),
            ]
            for r in data.itertuples()
        ],
    }
    return _chart(chart_id, title, summary, figure, data, table, text, lang, facts)


# ── spikes ─────────────────────────────────────────────────────────────────────────────


def spikes(
    tables: dict,
    taxonomy: dict,
    lender_slug: str | None = None,
    lang: str = "en",
    *,
    n: int = SPIKE_SERIES,
    text: dict | None = None,
) -> dict:
    """Unusual months (``spikes``) as markers on their monthly series: a company's
    (``counts_monthly``) or, with ``lender_slug=None``, the whole market's
    (``market_monthly``).

    Draws the ``n`` behaviours with the most recent spikes. ``data``: series (behaviour id),
    month, complaints, provisional, spike, baseline and score (the last two only on spike
    months). With no spike the chart is empty, with a sentence saying so.
    """
    text = _text(text)
    market = lender_slug is None
    chart_id = "market-spikes" if market else f"lender-{slug(lender_slug)}-spikes"
    lender = (
        _t(text, lang, "common", "market")
        if market
        else _lender_name(tables, lender_slug) or lender_slug
    )
    title = _t(text, lang, "charts", "spikes", "title", lender=lender)
    sp = tables["spikes"]
    if market:
        sp = sp[sp["lender"].astype("string") == MARKET]
        monthly = tables["market_monthly"]
    else:
        sp = sp[sp["lender_slug"].astype("string") == lender_slug]
        monthly = _lender_counts(tables, lender_slug)
    sp = claims.latest_first(sp)
    sp = sp.assign(month=_months(sp["month"]), behaviour=sp["behaviour"].astype("string"))
    chosen = list(dict.fromkeys(sp["behaviour"]))[:n]
    rows = monthly[monthly["behaviour"].astype("string").isin(chosen)]
    data = pd.DataFrame(
        {
            "series": rows["behaviour"].astype("string"),
            "month": _months(rows["month"]),
            "complaints": rows["complaints"].astype("Int64"),
            "provisional": rows["provisional"].astype(bool),
            "coverage": _coverage(tables, _months(rows["month"])),
        }
    )
    data["_order"] = data["series"].map({b: i for i, b in enumerate(chosen)})
    data = data.sort_values(["_order", "month"], kind="stable").drop(columns="_order")
    hits = sp[sp["behaviour"].isin(chosen)][["behaviour", "month", "baseline", "score"]]
    data = data.merge(
        hits.rename(columns={"behaviour": "series"}), on=["series", "month"], how="left"
    )
    data.insert(4, "spike", data["score"].notna())
    data["baseline"] = data["baseline"].astype("Float64").round(2)
    data["score"] = data["score"].astype("Float64").round(2)
    columns = [_t(text, lang, "common", "month")]
    if data.empty or not data["spike"].any():
        message = _t(text, lang, "charts", "spikes", "none")
        total = int(monthly["complaints"].sum()) if len(monthly) else 0
        if total < MIN_COMPLAINTS:
            message = None
        return _empty(chart_id, title, data, columns, text, lang, message)
    names = {b: _name(taxonomy, "behaviours", b, lang) for b in chosen}
    colours = {b: PALETTE[i % len(PALETTE)] for i, b in enumerate(chosen)}
    marks = data[data["spike"]]
    marker_trace = {
        "type": "scatter",
        "mode": "markers",
        "name": _t(text, lang, "common", "unusual"),
        "x": values(marks["month"]),
        "y": values(marks["complaints"]),
        "customdata": values(marks["baseline"], 2),
        "marker": {
            "symbol": "circle-open",
            "size": 12,
            "line": {"width": 2},
            "color": [colours[b] for b in marks["series"]],
        },
        "hovertemplate": "%{y:,} (" + _t(text, lang, "common", "baseline") + ": %{customdata})",
    }
    latest = sp.iloc[0]
    facts = {
        "lender": lender,
        "behaviour": str(latest["behaviour"]),
        "month": str(latest["month"]),
        "complaints": int(latest["complaints"]),
        "baseline": _native(latest["baseline"], 2),
        "near_taxonomy_change": bool(latest["near_taxonomy_change"]),
    }
    near = _t(text, lang, "common", "near_change") if facts["near_taxonomy_change"] else ""
    summary = _t(
        text,
        lang,
        "charts",
        "spikes",
        "summary",
        month=_month_words(facts["month"], text, lang),
        k=_count(facts["complaints"]),
        behaviour=names[facts["behaviour"]],
        baseline=f"{facts['baseline']:g}",
        near=near,
    )
    chart = _time_chart(
        chart_id,
        title,
        summary,
        data,
        names,
        colours,
        taxonomy,
        text,
        lang,
        _t(text, lang, "charts", "spikes", "y"),
        facts,
        extra_traces=[marker_trace],
    )
    # The table: one row per month, plus which behaviours were unusual that month.
    unusual = marks.groupby("month")["series"].agg(lambda s: ", ".join(names[b] for b in s))
    table = chart["table"]
    table["columns"].append(_t(text, lang, "common", "unusual"))
    for row, month in zip(table["rows"], sorted(set(data["month"])), strict=True):
        row.append(unusual.get(month, ""))
    return chart


# ── the registry: every chart, declared once ───────────────────────────────────────────

SCOPES = ("market", "lender", "behaviour")
SECTIONS = ("charts", "spikes", "")  # where a page draws a chart; "" = articles only

# The CSV columns of each shape of chart, with their Table Schema types, in CSV order.
# Their descriptions are charts.yaml's ``columns``.
TIME_FIELDS = (
    ("series", "string"),
    ("month", "yearmonth"),
    ("complaints", "integer"),
    ("provisional", "boolean"),
    ("coverage", "string"),
)
PERIOD_FIELDS = (
    ("series", "string"),
    ("period", "string"),
    *TIME_FIELDS[2:],
)
SPIKE_FIELDS = TIME_FIELDS[:4] + (
    ("spike", "boolean"),
    ("coverage", "string"),
    ("baseline", "number"),
    ("score", "number"),
)
SHARE_FIELDS = (
    ("complaints", "integer"),
    ("lender_complaints", "integer"),
    ("share", "number"),
    ("share_lo", "number"),
    ("share_hi", "number"),
    ("peer_median", "number"),
)
TREND_TEXT = ("title", "y", "summary", "summary_short")
MIX_TEXT = ("x", "summary", "summary_typical", "summary_level")


@dataclass(frozen=True)
class ChartSpec:
    """One kind of chart: its name, what it is about, what it reads and writes.

    - ``kind``: its name in articles (``chart("lender_mix", lender=…)``), in tests and as the
      schema file of its CSVs (``data/schemas/<kind>.json``).
    - ``scope``: "market" (one chart), "lender" (one per company) or "behaviour" (one per
      behaviour); the builder then takes the company's slug or the behaviour's id.
    - ``make``: the builder, ``make(tables, taxonomy, [subject,] lang, text=…, **options)``.
    - ``tables``: the aggregate tables it reads.
    - ``text_key``, ``text``: the charts.yaml entries ``charts.<text_key>.<text…>`` it uses.
    - ``fields``: its CSV's columns as (name, Table Schema type).
    - ``section``: where the pages of its scope draw it: "charts" (the page's charts),
      "spikes" (the spikes section, when the chart has something to show) or "" (only in
      articles).
    - ``options``: fixed keyword arguments; ``settings``: keyword → the site.yaml key that
      sets it.
    - ``views``: the kinds of the same chart at another resolution (per quarter, per year),
      drawn in its place when a reader picks one; each has its own CSV.
    """

    kind: str
    scope: str
    make: Callable[..., dict]
    tables: tuple[str, ...]
    text_key: str
    text: tuple[str, ...]
    fields: tuple[tuple[str, str], ...]
    section: str = "charts"
    options: tuple[tuple[str, object], ...] = ()
    settings: tuple[tuple[str, str], ...] = ()
    views: tuple[str, ...] = ()

    def build(
        self,
        tables: dict,
        taxonomy: dict,
        subject: str | None = None,
        lang: str = "en",
        *,
        text: dict | None = None,
        site: dict | None = None,
    ) -> dict:
        """The Chart dict (see the module docstring) with its ``kind``. ``subject``: the
        company's slug or the behaviour's id (None for a market chart); ``site``: site.yaml,
        for the options it sets."""
        if (subject is None) != (self.scope == "market"):
            raise ValueError(f"chart {self.kind}: scope {self.scope}, subject {subject!r}")
        options = dict(self.options)
        options.update({kw: site[key] for kw, key in self.settings if site is not None})
        args = () if subject is None else (subject,)
        chart = self.make(tables, taxonomy, *args, lang, text=text, **options)
        return {**chart, "kind": self.kind}


def _market_spikes(tables, taxonomy, lang="en", **kw) -> dict:
    return spikes(tables, taxonomy, None, lang, **kw)


def _behaviour_state_map(tables, taxonomy, behaviour, lang="en", **kw) -> dict:
    return state_map(tables, taxonomy, lang, behaviour=behaviour, **kw)


REGISTRY: tuple[ChartSpec, ...] = (
    ChartSpec(
        "family_trend",
        "market",
        family_trend,
        ("family_monthly", "date_coverage"),
        "family_trend",
        TREND_TEXT,
        TIME_FIELDS,
        views=("family_trend_quarter", "family_trend_year"),
    ),
    *(
        ChartSpec(
            f"family_trend_{resolution}",
            "market",
            family_trend,
            ("family_monthly", "date_coverage"),
            "family_trend",
            (f"title_{resolution}", *TREND_TEXT[1:]),
            PERIOD_FIELDS,
            section="",
            options=(("resolution", resolution),),
        )
        for resolution in ("quarter", "year")
    ),
    ChartSpec(
        "top_lenders",
        "market",
        top_lenders,
        ("lenders",),
        "top_lenders",
        ("title", "x", "summary"),
        (("rank", "integer"), ("lender", "string"), ("lender_slug", "string"))
        + (("complaints", "integer"),),
        settings=(("n", "top_lenders"),),
    ),
    ChartSpec(
        "state_map",
        "market",
        state_map,
        ("state_behaviour",),
        "state_map",
        ("title", "colorbar", "summary"),
        (("state", "string"), ("complaints", "integer")),
    ),
    ChartSpec(
        "market_spikes",
        "market",
        _market_spikes,
        ("spikes", "market_monthly", "date_coverage"),
        "spikes",
        ("title", "y", "summary", "none"),
        SPIKE_FIELDS,
        section="spikes",
    ),
    ChartSpec(
        "lender_trend",
        "lender",
        lender_trend,
        ("lenders", "lender_monthly", "lender_family_monthly", "date_coverage"),
        "lender_trend",
        TREND_TEXT,
        TIME_FIELDS,
    ),
    ChartSpec(
        "lender_mix",
        "lender",
        lender_mix,
        ("lenders", "behaviour_mix"),
        "lender_mix",
        ("title", *MIX_TEXT),
        (("category", "string"), *SHARE_FIELDS, ("above_peers", "boolean")),
    ),
    ChartSpec(
        "lender_family_mix",
        "lender",
        lender_mix,
        ("lenders", "family_mix"),
        "lender_mix",
        ("title_family", *MIX_TEXT),
        (("category", "string"), *SHARE_FIELDS, ("above_peers", "boolean")),
        section="",
        options=(("level", "family"),),
    ),
    ChartSpec(
        "lender_responses",
        "lender",
        lender_responses,
        ("lenders", "responses"),
        "lender_responses",
        ("title", "x", "summary", "summary_timely"),
        (("response", "string"), ("complaints", "integer"), ("denominator", "integer"))
        + (("share", "number"), ("market_share", "number")),
    ),
    ChartSpec(
        "lender_states",
        "lender",
        lender_states,
        ("lenders", "lender_states"),
        "lender_states",
        ("title", "y", "summary"),
        (("state", "string"), ("complaints", "integer")),
    ),
    ChartSpec(
        "lender_spikes",
        "lender",
        spikes,
        ("lenders", "spikes", "counts_monthly", "lender_monthly", "date_coverage"),
        "spikes",
        ("title", "y", "summary", "none"),
        SPIKE_FIELDS,
        section="spikes",
    ),
    ChartSpec(
        "behaviour_trend",
        "behaviour",
        behaviour_trend,
        ("market_monthly", "date_coverage"),
        "behaviour_trend",
        TREND_TEXT,
        TIME_FIELDS,
    ),
    ChartSpec(
        "behaviour_top_lenders",
        "behaviour",
        behaviour_top_lenders,
        ("behaviour_mix",),
        "behaviour_top_lenders",
        ("title", "x", "summary"),
        (("lender", "string"), ("lender_slug", "string"), *SHARE_FIELDS),
    ),
    ChartSpec(
        "behaviour_state_map",
        "behaviour",
        _behaviour_state_map,
        ("state_behaviour",),
        "behaviour_state_map",
        ("title", "colorbar", "summary"),
        (("state", "string"), ("complaints", "integer"), ("state_complaints", "integer"))
        + (("share", "number"),),
    ),
)
SPECS: dict[str, ChartSpec] = {spec.kind: spec for spec in REGISTRY}


def on_page(scope: str, section: str = "charts") -> tuple[ChartSpec, ...]:
    """The charts a page of ``scope`` draws in ``section``, in order."""
    return tuple(s for s in REGISTRY if s.scope == scope and s.section == section)


def check_text(text: dict, where: str) -> None:
    """charts.yaml (already schema-checked) must hold the text of every registered chart
    and CSV column, and nothing that no chart uses; raises a UserError naming the key."""
    used = {(s.text_key, key): s.kind for s in REGISTRY for key in s.text}
    for (chart, key), kind in used.items():
        if key not in text["charts"].get(chart, {}):
            raise UserError(f"{where}: missing key charts.{chart}.{key} (text of chart {kind})")
    for chart, keys in text["charts"].items():
        for key in keys:
            if (chart, key) not in used:
                raise UserError(f"{where}: unknown key charts.{chart}.{key} (no chart uses it)")
    fields = {name: s.kind for s in REGISTRY for name, _ in s.fields}
    for name, kind in fields.items():
        if name not in text["columns"]:
            raise UserError(f"{where}: missing key columns.{name} (a column of chart {kind}'s CSV)")
    for name in text["columns"]:
        if name not in fields:
            raise UserError(f"{where}: unknown key columns.{name} (no chart has that column)")
