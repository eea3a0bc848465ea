"""content/articles/*.md (front matter + Markdown with live figures) → article records.

An article's body is a Jinja template rendered before Markdown, with two functions so that
no number in prose is typed by hand:

* ``{{ figure("share", lender=top, behaviour="repeated_contact") }}`` → a formatted figure
  computed from the aggregate tables (see FIGURES);
* ``{{ chart("lender_mix", lender=top) }}`` → an embedded chart with its table and CSV: any
  kind of charts.REGISTRY, with ``lender=`` or ``behaviour=`` as its scope needs.

An unknown figure, chart, lender or behaviour fails the build with the article and line.
"""

from __future__ import annotations

import re
import traceback
from pathlib import Path

import jinja2
import markdown
import pandas as pd
import yaml

from . import charts, claims
from .casestudy import md_text
from .config import check
from .errors import UserError
from .fmt import pct

FRONT_MATTER = {
    "title": (str,),
    "date": (str,),
    "summary": (str,),
    "lang": (str,),
    "tags": [(str,)],
    "slug?": (str,),
}
FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")


class ArticleError(Exception):
    """A reference in an article that the data cannot resolve: the author's mistake."""


class NotEnoughData(Exception):
    """The data is too thin for the article (no company has enough complaints to compare)."""


class Leader(str):
    """The company an article may call "the highest": the name itself when one company
    leads alone with a non-zero share, else "". ``kind`` is claims.leader's answer
    ("leader", "tie", "zero", "none"); ``tied`` names the companies sharing the top place
    and ``share`` is the top share, formatted."""

    kind: str
    tied: list[str]
    share: str

    @classmethod
    def of(cls, answer: dict) -> Leader:
        out = cls(answer["name"] or "")
        out.kind, out.tied = answer["kind"], answer["tied"]
        out.share = pct(answer["value"])
        return out


class Figures:
    """Resolves ``figure(kind, **filters)`` and ``chart(kind, **filters)`` calls."""

    def __init__(
        self, tables: dict, taxonomy: dict, text: dict | None = None, site: dict | None = None
    ) -> None:
        """``text``: the chart text (charts.config_text), data/charts.yaml when None;
        ``site``: site.yaml, for the chart options it sets."""
        self.t, self.tax, self.text, self.site = tables, taxonomy, text, site
        lenders = tables["lenders"]
        self.slugs = dict(
            zip(lenders["lender"].astype(str), lenders["lender_slug"].astype(str), strict=True)
        )
        self.slugs.update({s: s for s in self.slugs.values()})

    def slug(self, lender: str) -> str:
        if lender not in self.slugs:
            raise ArticleError(f"unknown lender {lender!r}")
        return self.slugs[lender]

    def behaviour(self, bid: str) -> str:
        if bid not in self.tax["behaviours"]:
            raise ArticleError(f"unknown behaviour {bid!r}")
        return bid

    def family(self, fid: str) -> str:
        if fid not in self.tax["families"]:
            raise ArticleError(f"unknown family {fid!r}")
        return fid

    def _mix(self, behaviour=None, family=None) -> tuple[pd.DataFrame, str, str]:
        if behaviour:
            return self.t["behaviour_mix"], "behaviour", self.behaviour(behaviour)
        if family:
            return self.t["family_mix"], "family", self.family(family)
        raise ArticleError("name a behaviour= or a family=")

    def _row(self, lender, behaviour=None, family=None) -> pd.Series:
        mix, col, key = self._mix(behaviour, family)
        rows = mix[
            (mix["lender_slug"].astype(str) == self.slug(lender)) & (mix[col].astype(str) == key)
        ]
        return rows.iloc[0]

    def figure(self, kind: str, **kw):
        """A figure from the tables, formatted for prose."""
        fn = getattr(self, f"fig_{kind}", None)
        if fn is None:
            names = ", ".join(sorted(n[4:] for n in dir(self) if n.startswith("fig_")))
            raise ArticleError(f"unknown figure {kind!r} (known: {names})")
        try:
            return fn(**kw)
        except TypeError as exc:
            raise ArticleError(f"figure {kind!r}: {exc}") from None

    def fig_complaints(self, lender=None, behaviour=None, family=None) -> str:
        if lender and not (behaviour or family):
            lenders = self.t["lenders"]
            n = lenders.loc[lenders["lender_slug"].astype(str) == self.slug(lender), "complaints"]
            return f"{int(n.iloc[0]):,}"
        if lender:
            return f"{int(self._row(lender, behaviour, family)['complaints']):,}"
        if behaviour or family:
            mix, col, key = self._mix(behaviour, family)
            return f"{int(mix.loc[mix[col].astype(str) == key, 'complaints'].sum()):,}"
        return f"{int(self.t['lenders']['complaints'].sum()):,}"

    def fig_share(self, lender, behaviour=None, family=None) -> str:
        return pct(self._row(lender, behaviour, family)["share"])

    def fig_interval(self, lender, behaviour=None, family=None) -> str:
        row = self._row(lender, behaviour, family)
        return f"{pct(row['share_lo'])}–{pct(row['share_hi'])}"

    def fig_peer_median(self, behaviour=None, family=None) -> str:
        mix, col, key = self._mix(behaviour, family)
        return pct(mix.loc[mix[col].astype(str) == key, "peer_median"].iloc[0])

    def fig_market_share(self, behaviour=None, family=None) -> str:
        mix, col, key = self._mix(behaviour, family)
        rows = mix[mix[col].astype(str) == key]
        total = self.t["lenders"]["complaints"].sum()
        return pct(rows["complaints"].sum() / total if total else None)

    def fig_top_lender(self, behaviour=None, family=None) -> Leader:
        """The peer-group lender with the highest share, when one leads alone with a
        share above zero (see :class:`Leader`: an article branches on ``kind``)."""
        mix, col, key = self._mix(behaviour, family)
        rows = mix[(mix[col].astype(str) == key) & mix["in_peer_group"]]
        if rows.empty:
            raise NotEnoughData("no company has enough complaints to compare")
        return Leader.of(claims.leader(rows, "share", "lender"))

    def fig_lenders_above_peers(self, behaviour=None, family=None) -> str:
        mix, col, key = self._mix(behaviour, family)
        return str(int(mix.loc[mix[col].astype(str) == key, "above_peers"].fillna(False).sum()))

    def fig_peer_lenders(self) -> str:
        return str(int(self.t["lenders"]["in_peer_group"].sum()))

    def chart(self, kind: str, lang: str, **subject: str) -> dict:
        """A chart of charts.REGISTRY for the article: a market chart takes no argument, a
        lender's chart ``lender=`` (name or slug), a behaviour's chart ``behaviour=``."""
        spec = charts.SPECS.get(kind)
        if spec is None:
            raise ArticleError(f"unknown chart {kind!r} (known: {', '.join(charts.SPECS)})")
        need = {"market": set(), "lender": {"lender"}, "behaviour": {"behaviour"}}[spec.scope]
        if set(subject) != need:
            wanted = f"{next(iter(need))}=" if need else "no argument"
            given = ", ".join(f"{k}=" for k in subject) or "none"
            raise ArticleError(f"chart {kind!r} takes {wanted} (given: {given})")
        key = self.slug(subject["lender"]) if "lender" in subject else None
        key = self.behaviour(subject["behaviour"]) if "behaviour" in subject else key
        return spec.build(self.t, self.tax, key, lang, text=self.text, site=self.site)


def load(folder: Path, tables: dict, config) -> tuple[list[dict], dict[str, str]]:
    """Every article in ``folder``, checked by rendering it once against the tables.

    Returns the articles, and the ones left out because the data is too thin for them
    (path → reason), for the build report. A mistake in an article is a UserError.
    """
    skipped: dict[str, str] = {}
    figures = Figures(tables, config.taxonomy, charts.config_text(config), config.site)
    # Everything a template prints passes md_text unless it is already Markup (a chart
    # block), so a company name from the data can never become Markdown or HTML.
    env = jinja2.Environment(
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        finalize=lambda v: v if hasattr(v, "__html__") else md_text("" if v is None else v),
    )
    book = []
    for path in sorted(folder.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        match = FRONT.match(text)
        if not match:
            raise UserError(f"{path}: no front matter (--- title/date/summary/lang/tags ---)")
        try:
            meta = yaml.safe_load(match.group(1)) or {}
        except yaml.YAMLError as exc:
            raise UserError(f"{path}: invalid front matter: {exc}") from None
        if "date" in meta and not isinstance(meta["date"], str):
            meta["date"] = str(meta["date"])  # YAML reads 2026-11-20 as a date
        check(meta, FRONT_MATTER, str(path))
        offset = match.group(0).count("\n")
        body = text[match.end() :]
        try:
            template = env.from_string(body)
        except jinja2.TemplateSyntaxError as exc:
            raise UserError(f"{path}:{exc.lineno + offset}: {exc.message}") from None
        article = {**meta, "slug": meta.get("slug") or path.stem, "path": str(path)}
        if not SLUG.fullmatch(article["slug"]):
            raise UserError(
                f"{path}: slug {article['slug']!r} must be lowercase letters, digits and hyphens"
            )
        article["render"] = _renderer(template, figures, article, path, offset)
        try:
            article["render"](lambda chart: "")  # resolve every reference now: fail early
        except NotEnoughData as exc:
            skipped[str(path.relative_to(folder.parent.parent))] = str(exc)
            continue
        book.append(article)
    return book, skipped


def _renderer(template, figures: Figures, article: dict, path: Path, offset: int):
    lang = article["lang"]

    def render(chart_block) -> str:
        def chart(kind, **kw):
            return chart_block(figures.chart(kind, lang, **kw))

        try:
            source = template.render(figure=figures.figure, chart=chart)
        except ArticleError as exc:
            line = _template_line(exc)
            where = f"{path}:{line + offset}" if line else str(path)
            raise UserError(f"{where}: {exc}") from None
        return markdown.markdown(source, extensions=["tables", "attr_list"])

    return render


def _template_line(exc: BaseException) -> int | None:
    """The line of the article template that raised, from Jinja's rewritten traceback."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == "<template>":
            return frame.lineno
    return None
