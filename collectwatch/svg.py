"""Plotly figure dicts (from :mod:`collectwatch.charts`) → small static SVG.

The SVG is the first paint of every chart: it is in the page from the start, costs no
script, and is replaced by the interactive plotly.js chart only when a reader reaches for
it. One pure function, :func:`figure_svg`, draws exactly what the site's figures use:

- time charts: scatter traces (lines, lines+markers, markers) on a date axis, one panel or
  the small multiples of the family chart (one panel per ``yaxis<k>`` domain), with the
  layout's shapes (hatched "no data" bands, shaded bands, vertical lines) and the tick
  values and texts the layout sets (so no tick label ever repeats, as in plotly);
- horizontal bars (grouped or stacked, with ``error_x``), with the category names above
  their bars and marker traces (a peer median) as ticks across them, and vertical bars on
  a category axis;
- the US state choropleth, drawn as a tile-grid map: one square per state, coloured by
  value, with a colour legend and a note saying that the squares are not to scale;
- legends, and the empty state's message.

The output keeps the figure's height (``layout.height``, or more when a legend needs the
room) and takes the page's full width: text and markers keep their size in pixels, the
data sit in nested ``<svg>`` elements with fixed view boxes stretched to the plot area
(lines keep their width: ``vector-effect="non-scaling-stroke"``), so the same string
fits a phone and a desktop with no script and no layout work. Text takes the page's
colour (``currentColor``). Every string from the figure is escaped; labels are cut to
:data:`MAX_LABEL` characters (the table below each chart has them whole).
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re

WIDTH = 1000  # view-box units across a plot area
FONT = 12  # px, text
SMALL = 11  # px, tick labels and legends
ROW = 18  # px, one legend row or one line of axis text
PAD_RIGHT = 14  # px: room for the last tick label's second half
MAX_LABEL = 80  # characters of a name drawn; the table has it whole
MAX_TITLE = 300
GRID = "rgba(128,128,128,0.25)"
LINE = "rgba(128,128,128,0.6)"
SHADE = "rgba(128,128,128,0.18)"
MISSING = SHADE
NSS = 'vector-effect="non-scaling-stroke"'

# A standard tile-grid map of the 50 states and DC: (column, row).
# fmt: off
TILES = {
    "AK": (0, 0), "ME": (10, 0),
    "VT": (9, 1), "NH": (10, 1),
    "WA": (0, 2), "ID": (1, 2), "MT": (2, 2), "ND": (3, 2), "MN": (4, 2), "IL": (5, 2),
    "WI": (6, 2), "MI": (7, 2), "NY": (8, 2), "RI": (9, 2), "MA": (10, 2),
    "OR": (0, 3), "NV": (1, 3), "WY": (2, 3), "SD": (3, 3), "IA": (4, 3), "IN": (5, 3),
    "OH": (6, 3), "PA": (7, 3), "NJ": (8, 3), "CT": (9, 3),
    "CA": (0, 4), "UT": (1, 4), "CO": (2, 4), "NE": (3, 4), "MO": (4, 4), "KY": (5, 4),
    "WV": (6, 4), "VA": (7, 4), "MD": (8, 4), "DE": (9, 4),
    "AZ": (1, 5), "NM": (2, 5), "KS": (3, 5), "AR": (4, 5), "TN": (5, 5), "NC": (6, 5),
    "SC": (7, 5), "DC": (8, 5),
    "OK": (3, 6), "LA": (4, 6), "MS": (5, 6), "AL": (6, 6), "GA": (7, 6),
    "HI": (0, 7), "TX": (3, 7), "FL": (8, 7),
}
# plotly.js's "Cividis" scale (the site's map uses it reversed: light is few, dark many).
CIVIDIS = [
    (0, (0, 32, 76)), (0.058824, (0, 42, 102)), (0.117647, (0, 52, 110)),
    (0.176471, (39, 63, 108)), (0.235294, (60, 74, 107)), (0.294118, (76, 85, 107)),
    (0.352941, (91, 95, 109)), (0.411765, (104, 106, 112)), (0.470588, (117, 117, 117)),
    (0.529412, (131, 129, 120)), (0.588235, (146, 140, 120)), (0.647059, (161, 152, 118)),
    (0.705882, (176, 165, 114)), (0.764706, (192, 177, 109)), (0.823529, (209, 191, 102)),
    (0.882353, (225, 204, 92)), (0.941176, (243, 219, 79)), (1, (255, 233, 69)),
]
# fmt: on
TILE = 40  # view-box units of one tile (with its gap)
# Characters XML does not allow (and DEL): dropped from any text drawn.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


# ── small helpers ──────────────────────────────────────────────────────────────────────


def _esc(value, limit: int = MAX_LABEL) -> str:
    """Text or attribute value from the figure → safe inside SVG, cut to ``limit``."""
    text = _CONTROL.sub("", str(value)).replace("<br>", " ")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text, quote=True)


def _n(value: float) -> str:
    """A coordinate with at most one decimal, no trailing zero."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else ("0" if text == "-0.0" else text)


def _pct(x: float) -> str:
    """View-box x (0..WIDTH) → a percentage of the plot width."""
    return _n(max(0.0, min(100.0, x * 100 / WIDTH))) + "%"


def _day(value) -> int:
    """'YYYY-MM', 'YYYY-MM-DD' or 'YYYY-MM-DD hh:mm…' → days since year 1."""
    text = str(value)
    if len(text) == 7:
        text += "-01"
    return dt.date.fromisoformat(text[:10]).toordinal()


def _nice_ticks(top: float, count: int = 5, integer: bool = True) -> list[float]:
    """Round tick values from 0 to at least ``top`` (at most about ``count`` of them)."""
    top = max(top, 1 if integer else 0.01)
    raw = top / max(count - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * 0.999)
    if integer:
        step = max(1, math.ceil(step))
    n = math.ceil(top / step - 1e-9)
    return [round(i * step, 10) for i in range(n + 1)]


def _tick_labels(ticks: list[float], percent: bool) -> list[str]:
    """Labels for ``ticks``, with as many decimals as it takes for none to repeat."""
    for digits in range(0, 5):
        if percent:
            labels = [f"{t * 100:,.{digits}f}%" for t in ticks]
        else:
            labels = [f"{t:,.{digits}f}" for t in ticks]
        if len(set(labels)) == len(labels):
            return labels
    return labels


def _num(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _colour(value, default: str = "currentColor") -> str:
    return _esc(value, 60) if isinstance(value, str) and value else default


def _dash(dash) -> str:
    return {"dot": ' stroke-dasharray="2 3"', "dash": ' stroke-dasharray="6 4"'}.get(dash, "")


class _Svg:
    """Collects the parts of one SVG; ``uid`` keeps its pattern ids apart from others."""

    def __init__(self, uid: str, title: str) -> None:
        self.uid = re.sub(r"[^A-Za-z0-9_-]", "-", str(uid)) or "c"
        self.title = title
        self.defs: list[str] = []
        self.body: list[str] = []
        self.legend: list[tuple[str, str]] = []  # (swatch markup at 0..18 px, label)

    def add(self, part: str) -> None:
        self.body.append(part)

    def legend_entry(self, swatch: str, label: str) -> None:
        if label and all(label != name for _, name in self.legend):
            self.legend.append((swatch, label))

    def draw_legend(self, top: float) -> None:
        for i, (swatch, label) in enumerate(self.legend):
            y = top + i * ROW
            self.add(
                f'<g class="lg" transform="translate(0,{_n(y)})">{swatch}'
                f'<text x="24" y="4" dy=".35em" font-size="{SMALL}">{_esc(label)}</text></g>'
            )

    def render(self, height: float, left: float = 0, kind: str = "") -> str:
        defs = f"<defs>{''.join(self.defs)}</defs>" if self.defs else ""
        style = f"overflow:visible;box-sizing:border-box;padding:0 {PAD_RIGHT}px 0 {_n(left)}px"
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" class="cw-chart" role="img" '
            f'aria-label="{_esc(self.title, MAX_TITLE)}" width="100%" height="{round(height)}" '
            f'data-kind="{kind}" style="{style}" fill="currentColor" font-size="{FONT}">'
            f"{defs}{''.join(self.body)}</svg>"
        )


def _swatch_line(colour: str, dash: str = "", width: float = 2) -> str:
    return f'<path d="M0 4H18" stroke="{colour}" stroke-width="{_n(width)}" fill="none"{dash}/>'


def _swatch_box(fill: str) -> str:
    return f'<rect y="-2" width="18" height="12" fill="{fill}"/>'


def _swatch_tick(colour: str) -> str:
    return f'<path d="M9 -2V10" stroke="{colour}" stroke-width="3" fill="none"/>'


def _axis_title(text: str, left: float) -> str:
    """A y axis's title, at the top left of the chart."""
    return f'<text class="at" x="{_n(2 - left)}" y="12" font-size="{SMALL}">{_esc(text)}</text>'


def _show_trace_legend(layout: dict, traces: list[dict]) -> bool:
    shown = [t for t in traces if t.get("showlegend", True) is not False]
    if layout.get("showlegend") is False:
        return False
    return bool(shown) and (layout.get("showlegend") is True or len(shown) > 1)


# ── the entry point ────────────────────────────────────────────────────────────────────


def figure_svg(figure: dict, title: str, uid: str = "chart", note: str = "") -> str:
    """A static, self-contained SVG of ``figure`` (a plotly figure dict).

    ``title`` is the chart's title (its accessible name), ``uid`` an id unique on the page
    (the chart's id; it names the SVG's patterns), ``note`` a line drawn under a tile map.
    """
    layout = figure.get("layout") or {}
    traces = [t for t in figure.get("data") or [] if isinstance(t, dict)]
    svg = _Svg(uid, title)
    if not traces:
        return _message(svg, layout)
    kinds = {t.get("type", "scatter") for t in traces}
    if "choropleth" in kinds:
        return _tile_map(svg, layout, traces[0], note)
    bars = [t for t in traces if t.get("type") == "bar"]
    if bars and all(t.get("orientation") == "h" for t in bars):
        return _hbars(svg, layout, traces)
    if bars:
        return _vbars(svg, layout, traces)
    return _time(svg, layout, traces)


def _message(svg: _Svg, layout: dict) -> str:
    height = layout.get("height") or 160
    notes = [a.get("text", "") for a in layout.get("annotations") or []]
    for i, text in enumerate(notes[:2]):
        svg.add(
            f'<text class="msg" x="50%" y="{_n(height / 2 + i * ROW)}" text-anchor="middle">'
            f"{_esc(text, 200)}</text>"
        )
    return svg.render(height, kind="empty")


# ── time charts (one panel, or small multiples) ─────────────────────────────────────────


def _axis_id(ref: str, letter: str) -> str:
    """'y2' → 'yaxis2', 'y' → 'yaxis'."""
    return f"{letter}axis{ref[1:]}"


def _y_ticks(values: list[float], nticks: int | None) -> list[float]:
    top = max(values, default=0)
    return _nice_ticks(top, min(nticks or 5, 5))


def _time(svg: _Svg, layout: dict, traces: list[dict]) -> str:
    xaxis = layout.get("xaxis") or {}
    shown = [t for t in traces if t.get("visible", True) is True]
    # Panels: one per y axis the traces use, top to bottom by domain.
    panel_ids = list(dict.fromkeys(t.get("yaxis", "y") for t in traces))
    domains = {p: (layout.get(_axis_id(p, "y")) or {}).get("domain") or [0, 1] for p in panel_ids}
    panel_ids.sort(key=lambda p: -domains[p][1])
    multiples = len(panel_ids) > 1
    # The x range: the layout's, or the data's with half a month each side.
    days = [_day(x) for t in traces for x in t.get("x") or [] if x is not None]
    if xaxis.get("range"):
        x0, x1 = (_day(v) for v in xaxis["range"])
    else:
        x0, x1 = min(days, default=0) - 15, max(days, default=0) + 15
    x1 = max(x1, x0 + 1)

    def xpos(value) -> float:
        return (_day(value) - x0) * WIDTH / (x1 - x0)

    # y ticks per panel and the gutter their labels need.
    ticks: dict[str, list[float]] = {}
    labels: dict[str, list[str]] = {}
    for p in panel_ids:
        yaxis = layout.get(_axis_id(p, "y")) or {}
        vals = [v for t in shown if t.get("yaxis", "y") == p for v in map(_num, t.get("y") or [])]
        ticks[p] = _y_ticks([v for v in vals if v is not None], yaxis.get("nticks"))
        labels[p] = _tick_labels(ticks[p], percent="%" in str(yaxis.get("tickformat", "")))
    widest = max((len(s) for p in panel_ids for s in labels[p]), default=1)
    left = 10 + 7 * widest
    y_title = ((layout.get("yaxis") or {}).get("title") or {}).get("text", "")

    # Legend: the traces (when plotly shows them), then the shapes that name themselves.
    if _show_trace_legend(layout, traces):
        for t in traces:
            if t.get("showlegend", True) is False:
                continue
            colour = _colour((t.get("line") or {}).get("color") or _marker_colour(t))
            if t.get("mode") == "markers":
                swatch = f'<circle cx="9" cy="4" r="5" fill="none" stroke="{colour}"/>'
            else:
                swatch = _swatch_line(colour)
            if t.get("visible") == "legendonly":
                swatch = f'<g opacity=".35">{swatch}</g>'
            svg.legend_entry(swatch, t.get("name", ""))
    hatch = f"h-{svg.uid}"
    for shape in layout.get("shapes") or []:
        if shape.get("showlegend") and shape.get("name") and shape.get("type") == "rect":
            fill = (
                f"url(#{hatch})"
                if shape.get("fillpattern")
                else _colour(shape.get("fillcolor"), SHADE)
            )
            svg.legend_entry(_swatch_box(fill), shape["name"])
    revised = [a for a in layout.get("annotations") or [] if a.get("textangle") == -90]
    if revised:
        svg.legend_entry(_swatch_line(LINE, _dash("dot"), 1), revised[0].get("text", ""))

    top = ROW + 4 if y_title and not multiples else 8
    bottom_room = ROW + 6 + ROW * len(svg.legend) + 4
    min_plot = 90 * len(panel_ids) if multiples else 120
    height = max(float(layout.get("height") or 300), top + min_plot + bottom_room)
    region = height - top - bottom_room  # the panels' span, px

    def panel_box(p: str) -> tuple[float, float]:
        d0, d1 = domains[p]
        y_top = top + (1 - d1) * region
        return y_top, max((d1 - d0) * region, 10.0)

    first_top = min(panel_box(p)[0] for p in panel_ids)
    last_bottom = max(sum(panel_box(p)) for p in panel_ids)

    # Bands and vertical lines behind the data, over every panel (yref "paper").
    if any(s.get("fillpattern") for s in layout.get("shapes") or []):
        svg.defs.append(
            f'<pattern id="{hatch}" width="6" height="6" patternUnits="userSpaceOnUse" '
            f'patternTransform="rotate(45)"><path d="M0 0V6" stroke="{LINE}" '
            'stroke-width="1.5"/></pattern>'
        )
    for shape in layout.get("shapes") or []:
        if shape.get("xref", "x") != "x":
            continue
        a, b = xpos(shape.get("x0")), xpos(shape.get("x1"))
        if shape.get("type") == "rect":
            a, b = max(a, 0), min(b, WIDTH)
            if b <= a:
                continue
            fill = (
                f"url(#{hatch})"
                if shape.get("fillpattern")
                else _colour(shape.get("fillcolor"), SHADE)
            )
            svg.add(
                f'<rect class="band" x="{_pct(a)}" width="{_pct(b - a)}" y="{_n(first_top)}" '
                f'height="{_n(last_bottom - first_top)}" fill="{fill}"/>'
            )
        elif shape.get("type") == "line" and 0 <= a <= WIDTH:
            line = shape.get("line") or {}
            svg.add(
                f'<line x1="{_pct(a)}" x2="{_pct(a)}" y1="{_n(first_top)}" '
                f'y2="{_n(last_bottom)}" stroke="{_colour(line.get("color"), LINE)}"'
                f"{_dash(line.get('dash'))}/>"
            )

    # Panel names (the family chart's annotations on "x<k> domain").
    names = {
        str(a.get("yref", "")).split(" ")[0]: a.get("text", "")
        for a in layout.get("annotations") or []
        if str(a.get("yref", "")).endswith(" domain")
    }
    for p in panel_ids:
        y_top, h = panel_box(p)
        top_value = ticks[p][-1] or 1

        def ypos(v: float, h=h, top_value=top_value) -> float:
            return h - v * h / top_value

        grid = "".join(f"M0 {_n(ypos(v))}H{WIDTH}" for v in ticks[p])
        parts = [f'<path d="{grid}" stroke="{GRID}" fill="none" {NSS}/>']
        for t in shown:
            if t.get("yaxis", "y") != p:
                continue
            parts.append(_series(t, xpos, ypos))
        svg.add(
            f'<svg y="{_n(y_top)}" width="100%" height="{_n(h)}" '
            f'viewBox="0 0 {WIDTH} {_n(h)}" preserveAspectRatio="none">{"".join(parts)}</svg>'
        )
        for t in shown:
            if t.get("yaxis", "y") == p and _open_marker_trace(t):
                svg.add(_open_markers(t, xpos, ypos, y_top))
        for v, label in zip(ticks[p], labels[p], strict=True):
            svg.add(
                f'<text class="yt" x="-6" y="{_n(y_top + ypos(v))}" dy=".35em" '
                f'text-anchor="end" font-size="{SMALL}">{label}</text>'
            )
        if p in names:
            svg.add(f'<text class="pn" y="{_n(y_top - 5)}">{_esc(names.get(p, ""))}</text>')
    if y_title and not multiples:
        svg.add(_axis_title(y_title, left))

    # x ticks, once, under the lowest panel.
    tickvals = xaxis.get("tickvals") or []
    ticktext = xaxis.get("ticktext") or [str(v)[:7] for v in tickvals]
    for value, label in zip(tickvals, ticktext, strict=False):
        x = xpos(value)
        if 0 <= x <= WIDTH:
            svg.add(
                f'<text class="xt" x="{_pct(x)}" y="{_n(last_bottom + 14)}" '
                f'text-anchor="middle" font-size="{SMALL}">{_esc(label)}</text>'
            )
    svg.draw_legend(last_bottom + ROW + 10)
    return svg.render(height, left, "time")


def _marker_colour(trace: dict):
    colour = (trace.get("marker") or {}).get("color")
    return colour if isinstance(colour, str) else None


def _open_marker_trace(trace: dict) -> bool:
    return trace.get("mode") == "markers"


def _series(trace: dict, xpos, ypos) -> str:
    """One scatter trace as one path (its line, broken at gaps) and, for a sparse series,
    one path of round dots."""
    if trace.get("mode") == "markers":
        return ""
    colour = _colour((trace.get("line") or {}).get("color"))
    width = _n(float((trace.get("line") or {}).get("width") or 2))
    points = [
        (xpos(x), ypos(v))
        for x, v in zip(trace.get("x") or [], map(_num, trace.get("y") or []), strict=False)
        if x is not None and v is not None
    ]
    # Relative moves between rounded points: short, and alike from month to month.
    d, pen, prev, drawn = [], False, (0, 0.0), False
    for x, v in zip(trace.get("x") or [], map(_num, trace.get("y") or []), strict=False):
        if x is None or v is None:
            pen = False
            continue
        here = (round(xpos(x)), round(ypos(v), 1))
        if pen:
            d.append(f"{'' if drawn else 'l'}{here[0] - prev[0]} {_n(here[1] - prev[1])} ")
            drawn = True
        else:
            d.append(f"M{here[0]} {_n(here[1])}")
            drawn = False
        pen, prev = True, here
    d = [s.replace(" -", "-") for s in d]
    out = ""
    if any(not s.startswith("M") for s in d):
        out += (
            f'<path class="m" d="{"".join(d).strip()}" stroke="{colour}" stroke-width="{width}" '
            f'fill="none" stroke-linejoin="round" {NSS}/>'
        )
    if "markers" in str(trace.get("mode", "")) or all(s.startswith("M") for s in d):
        dots = "".join(f"M{round(x)} {_n(y)}h0" for x, y in points)
        if dots:
            out += (
                f'<path class="m" d="{dots}" stroke="{colour}" stroke-width="7" '
                f'stroke-linecap="round" fill="none" {NSS}/>'
            )
    return out


def _open_markers(trace: dict, xpos, ypos, y_top: float) -> str:
    """A markers-only trace (the spikes): an open circle per point; they are few."""
    if not _open_marker_trace(trace):
        return ""
    marker = trace.get("marker") or {}
    colours = marker.get("color")
    out = []
    for i, (x, v) in enumerate(zip(trace.get("x") or [], trace.get("y") or [], strict=False)):
        v = _num(v)
        if x is None or v is None:
            continue
        colour = colours[i] if isinstance(colours, list) and i < len(colours) else colours
        out.append(
            f'<circle class="m" cx="{_pct(xpos(x))}" cy="{_n(y_top + ypos(v))}" r="6" '
            f'fill="none" stroke="{_colour(colour)}" stroke-width="2"/>'
        )
    return "".join(out)


# ── bars ───────────────────────────────────────────────────────────────────────────────


def _x_extent(traces: list[dict], layout: dict) -> float:
    """The largest x anything on a horizontal-bar chart reaches."""
    top = 0.0
    stacked = layout.get("barmode") == "stack"
    sums: dict = {}
    for t in traces:
        xs = [_num(v) or 0 for v in t.get("x") or []]
        err = t.get("error_x") or {}
        plus = err.get("array") or []
        for i, x in enumerate(xs):
            if stacked and t.get("type") == "bar":
                key = (t.get("y") or [None] * len(xs))[i]
                sums[key] = sums.get(key, 0) + x
                x = sums[key]
            top = max(top, x + (_num(plus[i]) or 0 if i < len(plus) else 0))
    for s in layout.get("shapes") or []:
        top = max(top, _num(s.get("x0")) or 0, _num(s.get("x1")) or 0)
    return top


def _hbars(svg: _Svg, layout: dict, traces: list[dict]) -> str:
    bars = [t for t in traces if t.get("type") == "bar"]
    marks = [t for t in traces if t.get("type") == "scatter"]
    cats = list(dict.fromkeys(c for t in bars for c in t.get("y") or []))
    n = max(len(cats), 1)
    band = max(30.0, min(70.0, (float(layout.get("height") or 90 + 42 * n) - 90) / n))
    xaxis = layout.get("xaxis") or {}
    percent = "%" in str(xaxis.get("tickformat", ""))
    if xaxis.get("range"):
        lo, hi = (_num(v) or 0 for v in xaxis["range"])
        ticks = [v for v in _nice_ticks(hi - lo, 5, integer=not percent) if v <= hi - lo + 1e-9]
        ticks = [lo + v for v in ticks]
    else:
        lo = 0.0
        ticks = _nice_ticks(_x_extent(traces, layout), 5, integer=not percent)
        hi = ticks[-1]
    span = (hi - lo) or 1

    def xpos(v) -> float:
        return ((_num(v) or 0) - lo) * WIDTH / span

    top = 4.0
    plot_h = band * n
    # Legend entries: bar traces with names, marker traces, shapes with names.
    if _show_trace_legend(layout, traces):
        for t in traces:
            if t.get("showlegend", True) is False:
                continue
            if t.get("type") == "bar":
                swatch = _swatch_box(_colour(_marker_colour(t), "#0072B2"))
            else:
                swatch = _swatch_tick(_colour((t.get("marker") or {}).get("line", {}).get("color")))
            svg.legend_entry(swatch, t.get("name", ""))
    for s in layout.get("shapes") or []:
        if s.get("showlegend") and s.get("name") and s.get("type") == "line":
            line = s.get("line") or {}
            svg.legend_entry(
                _swatch_line(_colour(line.get("color")), _dash(line.get("dash")), 1.5), s["name"]
            )
    title = (xaxis.get("title") or {}).get("text", "")
    title_lines = [line for line in str(title).split("<br>") if line] if title else []
    height = top + plot_h + ROW + ROW * len(title_lines) + ROW * len(svg.legend) + 8
    height = max(height, float(layout.get("height") or 0))

    stacked = layout.get("barmode") == "stack"
    groups = 1 if stacked else max(len(bars), 1)
    bar_top, bar_h = 17.0, band - 21.0  # within a band: the name, then the bar(s)
    parts = [
        f'<path d="{"".join(f"M{round(xpos(v))} 0V{_n(plot_h)}" for v in ticks)}" '
        f'stroke="{GRID}" fill="none" {NSS}/>'
    ]
    ends: dict = {}
    for k, t in enumerate(bars):
        colour = _colour(_marker_colour(t), "#0072B2")
        d, err = [], []
        e = t.get("error_x") or {}
        plus, minus = e.get("array") or [], e.get("arrayminus") or e.get("array") or []
        for i, (x, cat) in enumerate(zip(t.get("x") or [], t.get("y") or [], strict=False)):
            v = _num(x)
            if v is None or cat not in cats:
                continue
            j = cats.index(cat)
            start = ends.get(cat, 0.0) if stacked else 0.0
            y0 = j * band + bar_top + (0 if stacked else k * bar_h / groups)
            y1 = y0 + bar_h / groups
            a, b = xpos(start + lo), xpos(start + v)
            d.append(f"M{round(a)} {_n(y0)}H{max(round(b), round(a) + 1)}V{_n(y1)}H{round(a)}Z")
            if stacked:
                ends[cat] = start + v
            if e and i < len(plus):
                ym = (y0 + y1) / 2
                hi_x = xpos(v + (_num(plus[i]) or 0))
                lo_x = xpos(v - (_num(minus[i]) or 0) if i < len(minus) else v)
                err.append(
                    f"M{round(lo_x)} {_n(ym)}H{round(hi_x)}M{round(lo_x)} {_n(ym - 3)}"
                    f"V{_n(ym + 3)}M{round(hi_x)} {_n(ym - 3)}V{_n(ym + 3)}"
                )
        if d:
            parts.append(f'<path class="m" d="{"".join(d)}" fill="{colour}"/>')
        if err:
            colour_e = _colour(e.get("color"), LINE)
            parts.append(
                f'<path d="{"".join(err)}" stroke="{colour_e}" stroke-width="1.5" '
                f'fill="none" {NSS}/>'
            )
    for t in marks:  # a peer median per category: a tick across its bar(s)
        line = (t.get("marker") or {}).get("line") or {}
        colour = _colour(line.get("color") or _marker_colour(t))
        d = []
        for x, cat in zip(t.get("x") or [], t.get("y") or [], strict=False):
            if _num(x) is None or cat not in cats:
                continue
            j = cats.index(cat)
            d.append(f"M{round(xpos(x))} {_n(j * band + bar_top - 2)}V{_n(j * band + band - 2)}")
        if d:
            parts.append(
                f'<path class="m" d="{"".join(d)}" stroke="{colour}" stroke-width="3" '
                f'fill="none" {NSS}/>'
            )
    svg.add(
        f'<svg y="{_n(top)}" width="100%" height="{_n(plot_h)}" '
        f'viewBox="0 0 {WIDTH} {_n(plot_h)}" preserveAspectRatio="none">{"".join(parts)}</svg>'
    )
    for s in layout.get("shapes") or []:  # the peer median over every bar
        if s.get("type") == "line" and s.get("xref") == "x":
            x = xpos(s.get("x0"))
            line = s.get("line") or {}
            svg.add(
                f'<line x1="{_pct(x)}" x2="{_pct(x)}" y1="{_n(top)}" y2="{_n(top + plot_h)}" '
                f'stroke="{_colour(line.get("color"))}" stroke-width="1.5"'
                f"{_dash(line.get('dash'))}/>"
            )
    names = {a.get("y"): a.get("text", "") for a in layout.get("annotations") or []}
    for j, cat in enumerate(cats):
        label = _esc(names.get(cat, cat))
        svg.add(f'<text class="cn" y="{_n(top + j * band + 13)}">{label}</text>')
    base = top + plot_h
    for v, label in zip(ticks, _tick_labels(ticks, percent), strict=True):
        # The label at the left edge starts there, as the names do: the page cuts at the edge.
        anchor = "start" if xpos(v) < 1 else "middle"
        svg.add(
            f'<text class="xt" x="{_pct(xpos(v))}" y="{_n(base + 13)}" text-anchor="{anchor}" '
            f'font-size="{SMALL}">{label}</text>'
        )
    for i, line in enumerate(title_lines):
        svg.add(
            f'<text class="at" x="50%" y="{_n(base + ROW + 13 + i * ROW)}" text-anchor="middle" '
            f'font-size="{SMALL}">{_esc(line)}</text>'
        )
    svg.draw_legend(base + ROW * (1 + len(title_lines)) + 12)
    return svg.render(height, 4, "hbar")


def _vbars(svg: _Svg, layout: dict, traces: list[dict]) -> str:
    bars = [t for t in traces if t.get("type") == "bar"]
    cats = list(dict.fromkeys(c for t in bars for c in t.get("x") or []))
    n = max(len(cats), 1)
    yaxis = layout.get("yaxis") or {}
    percent = "%" in str(yaxis.get("tickformat", ""))
    values = [_num(v) or 0 for t in bars for v in t.get("y") or []]
    ticks = _nice_ticks(max(values, default=0), 5, integer=not percent)
    labels = _tick_labels(ticks, percent)
    left = 10 + 7 * max(len(s) for s in labels)
    y_title = (yaxis.get("title") or {}).get("text", "")
    top = ROW + 4 if y_title else 8
    height = max(float(layout.get("height") or 300), top + 150 + ROW + 6)
    plot_h = height - top - ROW - 6
    slot = WIDTH / n
    groups = max(len(bars), 1)

    def ypos(v: float) -> float:
        return plot_h - v * plot_h / (ticks[-1] or 1)

    grid = "".join(f"M0 {_n(ypos(v))}H{WIDTH}" for v in ticks)
    parts = [f'<path d="{grid}" stroke="{GRID}" fill="none" {NSS}/>']
    for k, t in enumerate(bars):
        d = []
        for x, y in zip(t.get("x") or [], t.get("y") or [], strict=False):
            v = _num(y)
            if v is None or x not in cats:
                continue
            a = cats.index(x) * slot + slot * 0.15 + k * slot * 0.7 / groups
            b = a + slot * 0.7 / groups
            y0 = min(ypos(v), plot_h - 1)
            d.append(f"M{round(a)} {_n(plot_h)}V{_n(y0)}H{round(b)}V{_n(plot_h)}Z")
        if d:
            colour = _colour(_marker_colour(t), "#0072B2")
            parts.append(f'<path class="m" d="{"".join(d)}" fill="{colour}"/>')
    svg.add(
        f'<svg y="{_n(top)}" width="100%" height="{_n(plot_h)}" '
        f'viewBox="0 0 {WIDTH} {_n(plot_h)}" preserveAspectRatio="none">{"".join(parts)}</svg>'
    )
    for v, label in zip(ticks, labels, strict=True):
        svg.add(
            f'<text class="yt" x="-6" y="{_n(top + ypos(v))}" dy=".35em" text-anchor="end" '
            f'font-size="{SMALL}">{label}</text>'
        )
    for i, cat in enumerate(cats):
        svg.add(
            f'<text class="xt" x="{_pct((i + 0.5) * slot)}" y="{_n(top + plot_h + 14)}" '
            f'text-anchor="middle" font-size="{SMALL}">{_esc(cat)}</text>'
        )
    if y_title:
        svg.add(_axis_title(y_title, left))
    return svg.render(height, left, "vbar")


# ── the state map, as tiles ────────────────────────────────────────────────────────────


def _cividis(t: float, reverse: bool) -> tuple[int, int, int]:
    t = 1 - t if reverse else t
    t = max(0.0, min(1.0, t))
    for (a, ca), (b, cb) in zip(CIVIDIS, CIVIDIS[1:], strict=False):
        if t <= b:
            f = (t - a) / (b - a) if b > a else 0
            return tuple(round(x + (y - x) * f) for x, y in zip(ca, cb, strict=True))
    return CIVIDIS[-1][1]


def _hex(rgb) -> str:
    return "#" + "".join(f"{c:02x}" for c in rgb)


def _tile_map(svg: _Svg, layout: dict, trace: dict, note: str) -> str:
    values = {
        str(loc): _num(z)
        for loc, z in zip(trace.get("locations") or [], trace.get("z") or [], strict=False)
    }
    reverse = bool(trace.get("reversescale"))
    zmin = _num(trace.get("zmin")) or 0.0
    zmax = max([v for v in values.values() if v is not None] + [zmin])
    span = (zmax - zmin) or 1
    colorbar = trace.get("colorbar") or {}
    percent = "%" in str(colorbar.get("tickformat", ""))
    cols, rows = 11, 8
    legend_h = 3 * ROW + (ROW if note else 0) + 4
    height = max(float(layout.get("height") or 360), 200 + legend_h)
    map_h = height - legend_h
    tiles = []
    for state, (c, r) in TILES.items():
        v = values.get(state)
        if v is None:
            fill, ink = MISSING, "currentColor"
        else:
            rgb = _cividis((v - zmin) / span, reverse)
            fill = _hex(rgb)
            light = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 140
            ink = "#1d2329" if light else "#ffffff"
        x, y = c * TILE, r * TILE
        tiles.append(
            f'<rect class="m" x="{x}" y="{y}" width="{TILE - 3}" height="{TILE - 3}" '
            f'fill="{fill}"/><text x="{x + (TILE - 3) / 2:g}" y="{y + 23}" fill="{ink}">'
            f"{state}</text>"
        )
    svg.add(
        f'<svg width="100%" height="{_n(map_h)}" viewBox="0 0 {cols * TILE} {rows * TILE}" '
        f'font-size="13" text-anchor="middle">{"".join(tiles)}</svg>'
    )
    grad = f"g-{svg.uid}"
    stops = "".join(
        f'<stop offset="{_n(100 * (1 - p if reverse else p))}%" stop-color="{_hex(rgb)}"/>'
        for p, rgb in (CIVIDIS[::-1] if reverse else CIVIDIS)
    )
    svg.defs.append(f'<linearGradient id="{grad}">{stops}</linearGradient>')
    title = (colorbar.get("title") or {}).get("text", "")
    y = map_h + 6
    svg.add(
        f'<text class="at" x="50%" y="{_n(y + 10)}" text-anchor="middle" font-size="{SMALL}">'
        f"{_esc(title)}</text>"
        f'<rect class="lg" x="10%" width="80%" y="{_n(y + ROW)}" height="10" fill="url(#{grad})"/>'
    )
    ticks = [zmin, zmin + span / 2, zmax] if zmax > zmin else [zmin]
    labels = _tick_labels(ticks, percent)
    for v, label in zip(ticks, labels, strict=True):
        x = 10 + 80 * (v - zmin) / span
        svg.add(
            f'<text class="xt" x="{_n(x)}%" y="{_n(y + 2 * ROW + 12)}" text-anchor="middle" '
            f'font-size="{SMALL}">{label}</text>'
        )
    if note:
        svg.add(
            f'<text class="note" x="50%" y="{_n(y + 3 * ROW + 12)}" text-anchor="middle" '
            f'font-size="{SMALL}">{_esc(note, 200)}</text>'
        )
    return svg.render(height, 0, "map")
