"""Classified complaints → tidy tables: counts, mixes against peers, trends, spikes, coverage.

Pure functions, no I/O. :func:`build_tables` is the entry point; every table it returns is
shown on the site and offered as a download, so each column is described in
``data/tables.yaml``.

Conventions shared by every table:

- Months are whole-number month indexes (months since 1970-01) while computing and the first
  day of the month (``datetime64``) in the output. Quarters and years are rolled up from
  months.
- Lenders and behaviours are integer codes while computing (fast groupbys on 1M+ rows) and
  names only at the end. Lenders are coded in alphabetical order, behaviours and families in
  taxonomy order, so output order does not depend on input order.
- A ratio whose denominator is zero is NA (``Float64``), never NaN or inf.
- Every time-indexed table has a ``provisional`` column (see :func:`provisional`).
- Market-wide rows, where a table has them, carry ``lender == MARKET`` and an empty slug.
"""

from __future__ import annotations

import math
import os
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import claims
from .classify import TAG_COLUMNS, normalise_label
from .errors import UserError
from .text import published, to_simplified_series

MARKET = "All lenders"
Z95 = 1.96  # two-sided 95% normal quantile, as usually published

# CFPB "Company response to consumer" values (compared case-insensitively) → outcome column.
# "Closed with relief" / "Closed without relief" are the 2011–2012 wording; plain "Closed"
# says nothing about relief. Anything else, and a missing response, is "other".
RESPONSE_OUTCOMES = {
    "closed with monetary relief": "monetary_relief",
    "closed with non-monetary relief": "non_monetary_relief",
    "closed with relief": "other_relief",
    "closed with explanation": "explanation",
    "closed without relief": "closed_without_relief",
    "closed": "closed",
    "in progress": "in_progress",
    "untimely response": "untimely",
}
OUTCOMES = [*dict.fromkeys(RESPONSE_OUTCOMES.values()), "other"]
RELIEF = ["monetary_relief", "non_monetary_relief", "other_relief"]
CLOSED = [*RELIEF, "explanation", "closed_without_relief", "closed"]


# ── statistics ─────────────────────────────────────────────────────────────────────────


def wilson(k, n, z: float = Z95):
    """95% (by default) Wilson score interval for ``k`` successes out of ``n``.

    Vectorised: ``k`` and ``n`` may be numbers, arrays or Series. Returns ``(lo, hi)``;
    for Series input two ``Float64`` Series (NA where ``n == 0``), otherwise float arrays
    (NaN where ``n == 0``). Wilson rather than the normal approximation because it stays
    inside [0, 1] and behaves at k = 0 and for small n, which complaint counts often are.
    """
    index = k.index if isinstance(k, pd.Series) else None
    k = np.asarray(k, dtype="float64")
    n = np.asarray(n, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        z2n = z * z / n
        centre = (p + z2n / 2) / (1 + z2n)
        half = z * np.sqrt(p * (1 - p) / n + z2n / (4 * n)) / (1 + z2n)
    empty = ~(n > 0)
    # At k = 0 (k = n) the bound is exactly 0 (1); rounding would leave it a hair off,
    # enough to make "lower bound > a median of 0" true for a lender with none.
    lo = np.where(empty, np.nan, np.where(k <= 0, 0.0, np.clip(centre - half, 0.0, 1.0)))
    hi = np.where(empty, np.nan, np.where(k >= n, 1.0, np.clip(centre + half, 0.0, 1.0)))
    if index is None:
        return lo, hi
    return (
        pd.Series(pd.array(lo, dtype="Float64"), index=index),
        pd.Series(pd.array(hi, dtype="Float64"), index=index),
    )


def ratio(num, den) -> pd.arrays.FloatingArray:
    """``num / den`` as ``Float64``, NA where ``den`` is zero or missing (never NaN or inf)."""
    num = np.asarray(num, dtype="float64")
    den = np.asarray(den, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den > 0, num / den, np.nan)
    # Building a Float64 array from floats turns NaN into NA.
    return pd.array(out, dtype="Float64")


def provisional(last_day, as_of: pd.Timestamp, days: int) -> np.ndarray:
    """Which periods, given by their last day, are provisional at ``as_of``.

    A period is provisional when it is not over yet (it contains ``as_of`` or lies after
    it) or when it overlaps the back-fill window, the last ``days`` days up to and including
    ``as_of``: the CFPB keeps adding complaints received in recent weeks.
    """
    window_start = as_of.normalize() - pd.Timedelta(days=max(int(days) - 1, 0))
    last = np.asarray(last_day, dtype="datetime64[D]")
    return last >= np.datetime64(window_start.date(), "D")


# ── months ─────────────────────────────────────────────────────────────────────────────


def month_index(dates) -> np.ndarray:
    """Dates → months since 1970-01 (int64)."""
    dates = pd.Series(dates)
    if not pd.api.types.is_datetime64_any_dtype(dates):
        dates = pd.to_datetime(dates)
    return dates.to_numpy().astype("datetime64[M]").astype("int64")


def month_start(m) -> np.ndarray:
    """Month indexes → first day of each month (``datetime64[s]``)."""
    return np.asarray(m, dtype="int64").astype("datetime64[M]").astype("datetime64[s]")


def month_last_day(m) -> np.ndarray:
    return (np.asarray(m, dtype="int64") + 1).astype("datetime64[M]").astype(
        "datetime64[D]"
    ) - np.timedelta64(1, "D")


def quarter_last_day(q) -> np.ndarray:
    return month_last_day(np.asarray(q, dtype="int64") * 3 + 2)


def year_last_day(year) -> np.ndarray:
    return month_last_day((np.asarray(year, dtype="int64") - 1970) * 12 + 11)


def month_grid(keys: pd.DataFrame, start, end) -> pd.DataFrame:
    """Repeat each row of ``keys`` once per month from its ``start`` to ``end`` (inclusive).

    Adds a column ``m``. This is what makes "a month with none" a row with 0.
    """
    start = np.asarray(start, dtype="int64")
    lengths = np.maximum(np.asarray(end, dtype="int64") - start + 1, 0)
    rows = np.repeat(np.arange(len(keys)), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    grid = keys.iloc[rows].reset_index(drop=True)
    grid["m"] = np.repeat(start, lengths) + offsets
    return grid


def _fill(grid: pd.DataFrame, counts: pd.Series, column: str) -> pd.DataFrame:
    """Left-join ``counts`` (indexed by some of ``grid``'s columns) as ``column``, 0 if absent."""
    on = list(counts.index.names)
    joined = grid.merge(counts.rename(column).reset_index(), on=on, how="left", sort=False)
    joined[column] = joined[column].fillna(0).astype("int64")
    return joined


def coverage_of(m, periods: pd.DataFrame) -> pd.Categorical:
    """Month indexes → their coverage status ("covered", "partial", "none") from the
    date_coverage table; a month outside it is "none"."""
    known = claims.month_of(pd.to_datetime(periods["month"]).to_numpy())
    status = pd.Series(periods["status"].astype(str).to_numpy(), index=known)
    got = status.reindex(np.asarray(m, dtype="int64")).fillna("none").to_numpy()
    return pd.Categorical(got, categories=list(claims.STATUSES))


def complete(key, period: str, periods: pd.DataFrame) -> np.ndarray:
    """Quarter indexes (``period="q"``) or years (``"y"``) → whether every month of each is
    covered in the date_coverage table ``periods``."""
    full = claims.Periods.from_table(periods)
    key = np.asarray(key, dtype="int64")
    unique = np.unique(key)
    first = unique * 3 if period == "q" else (unique - 1970) * 12
    span = 2 if period == "q" else 11
    ok = [full.full(int(a), int(a) + span) for a in first]
    return np.isin(key, unique[np.asarray(ok, dtype=bool)])


# ── inputs ─────────────────────────────────────────────────────────────────────────────


def _require(ok, message: str) -> None:
    # Not `assert`: these checks must survive `python -O`.
    if not bool(ok):
        raise ValueError(f"aggregate: {message}")


def _codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Values → (codes, uniques) with uniques in sorted order."""
    codes, uniques = pd.factorize(values, sort=False)
    order = np.argsort(np.asarray(uniques, dtype=object), kind="stable")
    remap = np.empty(len(order), dtype="int64")
    remap[order] = np.arange(len(order))
    return remap[codes], np.asarray(uniques, dtype=object)[order]


class Frame:
    """The classified table reduced to integer codes, plus the behaviour pairs.

    ``rows`` has one row per complaint: lender code ``l``, month ``m``, ``text`` (has a
    published narrative), ``state``, ``language``, ``response``, ``timely``.
    ``pairs`` has one row per (complaint, behaviour): complaint position ``row``, ``l``,
    ``m``, behaviour code ``b``. ``fpairs`` likewise per (complaint, family), code ``f``.
    """

    def __init__(self, table: pd.DataFrame, tags: pd.DataFrame, taxonomy: dict):
        self.behaviours = list(taxonomy["behaviours"])
        self.families = list(taxonomy["families"])
        family_of = [taxonomy["behaviours"][b]["family"] for b in self.behaviours]
        unknown = sorted(set(family_of) - set(self.families))
        _require(not unknown, f"behaviours name unknown families {unknown}")
        self.family_of_b = np.array([self.families.index(f) for f in family_of], dtype="int64")

        table = table.reset_index(drop=True)
        _require(table["lender"].notna().all(), "complaints without a lender")
        _require(table["date_received"].notna().all(), "complaints without date_received")
        self.l, self.lender_names = _codes(table["lender"])
        slugs = table.groupby(self.l, sort=True)["lender_slug"].agg(["first", "nunique"])
        self.lender_slugs = slugs["first"].to_numpy(dtype=object)
        _require(
            (slugs["nunique"] == 1).all() and len(set(self.lender_slugs)) == len(slugs),
            "each lender needs exactly one lender_slug, and no two lenders the same one",
        )

        text = published(table["narrative"])
        self.rows = pd.DataFrame(
            {
                "l": self.l,
                "m": month_index(table["date_received"]),
                "text": text,
                "text_tagged": _text_tagged(table, tags),
                "state": table["state"].astype("string"),
                "language": table["language"].astype("string"),
                "response": _outcome(table["company_response"]),
                "timely": table["timely"].astype("boolean"),
            }
        )
        self.n = len(table)
        self.m0 = int(self.rows["m"].min()) if self.n else 0
        self.m1 = int(self.rows["m"].max()) if self.n else -1

        self.pairs = self._pairs(table["behaviours"])
        fpairs = self.pairs.assign(f=self.family_of_b[self.pairs["b"].to_numpy()])
        # A complaint counts once per family, however many of its behaviours it has.
        self.fpairs = fpairs.drop_duplicates(["row", "f"])[["row", "l", "m", "f"]]

    def _pairs(self, behaviours: pd.Series) -> pd.DataFrame:
        exploded = behaviours.explode().dropna()
        codes = pd.Index(self.behaviours).get_indexer(exploded.astype(object))  # -1: unknown
        unknown = sorted(set(exploded[codes < 0].astype(str)))
        _require(not unknown, f"behaviours not in the taxonomy: {unknown[:10]}")
        row = exploded.index.to_numpy(dtype="int64")
        pairs = pd.DataFrame({"row": row, "b": codes.astype("int64")})
        # The same behaviour listed twice for one complaint is one pair.
        pairs = pairs.drop_duplicates(ignore_index=True)
        r = pairs["row"].to_numpy()
        pairs["l"] = self.l[r]
        pairs["m"] = self.rows["m"].to_numpy()[r]
        return pairs

    # Label columns are categoricals built from codes: on the multi-million-row monthly
    # grid, materialising strings would cost more than all the counting.

    def lender_columns(self, codes) -> dict:
        """Lender codes (``-1`` = market) → lender and lender_slug columns (the market's
        slug is missing: it has no lender page)."""
        codes = np.asarray(codes, dtype="int64")
        names = [*self.lender_names, *([] if MARKET in set(self.lender_names) else [MARKET])]
        market_code = names.index(MARKET)
        return {
            "lender": pd.Categorical.from_codes(np.where(codes < 0, market_code, codes), names),
            "lender_slug": pd.Categorical.from_codes(codes, list(self.lender_slugs)),
        }

    def behaviour_columns(self, b) -> dict:
        """Behaviour codes → behaviour and family columns, in taxonomy order."""
        b = np.asarray(b, dtype="int64")
        return {
            "behaviour": pd.Categorical.from_codes(b, self.behaviours),
            "family": pd.Categorical.from_codes(self.family_of_b[b], self.families),
        }

    def family_column(self, f) -> dict:
        return {"family": pd.Categorical.from_codes(np.asarray(f, dtype="int64"), self.families)}


def _outcome(response: pd.Series) -> pd.Series:
    """Company responses → outcome ids (RESPONSE_OUTCOMES), "other" when unknown or missing."""
    key = response.astype("string").str.strip().str.casefold()
    return key.map(RESPONSE_OUTCOMES).fillna("other").astype("string")


def _text_tagged(table: pd.DataFrame, tags: pd.DataFrame) -> np.ndarray:
    """Whether each complaint has at least one tag that came from its narrative text."""
    if tags is None or tags.empty:
        return np.zeros(len(table), dtype=bool)
    text = tags[tags["kind"] == "text"]
    sep = "\x1f"  # cannot occur in a source id or complaint id
    keys = text["source"].astype("string") + sep + text["complaint_id"].astype("string")
    mine = table["source"].astype("string") + sep + table["complaint_id"].astype("string")
    return mine.isin(keys.unique()).to_numpy(dtype=bool)


# ── time-indexed counts ────────────────────────────────────────────────────────────────


def _lender_monthly(fr: Frame, min_n: int) -> pd.DataFrame:
    """Coded lender × behaviour × month counts, zero-filled, sorted by (l, b, m).

    Only lenders with at least ``min_n`` complaints (those with a page) and only
    (lender, behaviour) pairs seen at least once get rows, for every month from the
    lender's first complaint to its last: the full lender × behaviour × month grid would be
    tens of millions of zeros on the real data. Smaller lenders are counted in the market
    tables.
    """
    cols = ["l", "b", "m", "complaints", "all_complaints"]
    totals = np.bincount(fr.l, minlength=len(fr.lender_names))
    pairs = fr.pairs[totals[fr.pairs["l"].to_numpy()] >= min_n]
    if pairs.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64") for c in cols})
    keys = pairs[["l", "b"]].drop_duplicates().sort_values(["l", "b"], ignore_index=True)
    span = fr.rows.groupby("l")["m"].agg(["min", "max"]).reindex(keys["l"])
    grid = month_grid(keys, span["min"].to_numpy(), span["max"].to_numpy())
    grid = _fill(grid, pairs.groupby(["l", "b", "m"]).size(), "complaints")
    grid = _fill(grid, fr.rows.groupby(["l", "m"]).size(), "all_complaints")
    return grid[cols]


def _sparse(coded: pd.DataFrame) -> pd.DataFrame:
    """Only the periods with complaints: a published zero-filled lender × behaviour × month
    grid would run to millions of rows on the full database, past what Excel opens."""
    return coded[coded["complaints"] > 0]


def _lender_totals(fr: Frame, lender_m: pd.DataFrame, as_of, days, cov) -> pd.DataFrame:
    """Each peer-group lender's complaints per month, every month of its span (0 included):
    the denominator of counts_monthly, and the line a lender's trend chart draws."""
    coded = lender_m.drop_duplicates(["l", "m"]).sort_values(["l", "m"], ignore_index=True)
    return pd.DataFrame(
        {
            **fr.lender_columns(coded["l"]),
            "month": month_start(coded["m"]),
            "complaints": coded["all_complaints"].to_numpy(dtype="int64"),
            "provisional": provisional(month_last_day(coded["m"]), as_of, days),
            "coverage": coverage_of(coded["m"], cov),
        }
    )


def _market_monthly(fr: Frame) -> pd.DataFrame:
    """Coded market behaviour × month counts over every taxonomy behaviour and month."""
    keys = pd.DataFrame({"b": np.arange(len(fr.behaviours), dtype="int64")})
    grid = month_grid(keys, np.full(len(keys), fr.m0), fr.m1)
    grid = _fill(grid, fr.pairs.groupby(["b", "m"]).size(), "complaints")
    grid = _fill(grid, fr.rows.groupby("m").size(), "all_complaints")
    grid.insert(0, "l", -1)
    return grid


def _family_monthly(fr: Frame, as_of, days, cov) -> pd.DataFrame:
    keys = pd.DataFrame({"f": np.arange(len(fr.families), dtype="int64")})
    grid = month_grid(keys, np.full(len(keys), fr.m0), fr.m1)
    grid = _fill(grid, fr.fpairs.groupby(["f", "m"]).size(), "complaints")
    grid = _fill(grid, fr.rows.groupby("m").size(), "all_complaints")
    return pd.DataFrame(
        {
            **fr.family_column(grid["f"]),
            "month": month_start(grid["m"]),
            "complaints": grid["complaints"],
            "all_complaints": grid["all_complaints"],
            "share": ratio(grid["complaints"], grid["all_complaints"]),
            "provisional": provisional(month_last_day(grid["m"]), as_of, days),
            "coverage": coverage_of(grid["m"], cov),
        }
    )


def _lender_family_monthly(fr: Frame, min_n: int, as_of, days, cov) -> pd.DataFrame:
    """Peer-group lenders' complaints per family and month, a complaint counted once per
    family (months with none are left out): what a company's trend chart draws."""
    totals = np.bincount(fr.l, minlength=len(fr.lender_names))
    fp = fr.fpairs[totals[fr.fpairs["l"].to_numpy()] >= min_n]
    counts = fp.groupby(["l", "f", "m"], sort=True).size().reset_index(name="complaints")
    return pd.DataFrame(
        {
            **fr.lender_columns(counts["l"]),
            **fr.family_column(counts["f"]),
            "month": month_start(counts["m"]),
            "complaints": counts["complaints"].to_numpy(dtype="int64"),
            "provisional": provisional(month_last_day(counts["m"]), as_of, days),
            "coverage": coverage_of(counts["m"], cov),
        }
    )


def _run_starts(*keys) -> np.ndarray:
    """True where a row's keys differ from the row before: the start of each run."""
    values = np.column_stack([np.asarray(k, dtype="int64") for k in keys])
    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    return np.r_[True, (values[1:] != values[:-1]).any(axis=1)]


def _roll_up(coded: pd.DataFrame, period: str) -> pd.DataFrame:
    """Coded monthly counts, sorted by (l, b, m) → quarterly (``q``) or yearly (``y``) sums.

    The sort lets each quarter or year be one run of rows, summed with ``reduceat``.
    """
    m = coded["m"].to_numpy(dtype="int64")
    key = m // 3 if period == "q" else 1970 + m // 12
    lender, behaviour = coded["l"].to_numpy(), coded["b"].to_numpy()
    starts = np.flatnonzero(_run_starts(lender, behaviour, key))
    out = {"l": lender[starts], "b": behaviour[starts], period: key[starts]}
    for col in ("complaints", "all_complaints"):
        values = coded[col].to_numpy(dtype="int64")
        out[col] = np.add.reduceat(values, starts) if len(starts) else values[:0]
    return pd.DataFrame(out)


def _named_counts(
    fr: Frame, coded: pd.DataFrame, as_of, days, period: str, cov: pd.DataFrame
) -> pd.DataFrame:
    """Coded counts → the published columns, with names, dates and the provisional flag."""
    out = {**fr.lender_columns(coded["l"]), **fr.behaviour_columns(coded["b"])}
    if period == "m":
        out["month"] = month_start(coded["m"])
        last = month_last_day(coded["m"])
    elif period == "q":
        q = coded["q"].to_numpy()
        q0 = int(q.min()) if len(q) else 0
        span = np.arange(q0, int(q.max()) + 1 if len(q) else q0)
        labels = [f"{1970 + x // 4}Q{x % 4 + 1}" for x in span]
        out["quarter"] = pd.Categorical.from_codes(q - q0, labels)
        out["quarter_start"] = month_start(q * 3)
        last = quarter_last_day(q)
    else:
        out["year"] = coded["y"].to_numpy(dtype="int64")
        last = year_last_day(coded["y"])
    out["complaints"] = coded["complaints"].to_numpy(dtype="int64")
    out["all_complaints"] = coded["all_complaints"].to_numpy(dtype="int64")
    out["share"] = ratio(out["complaints"], out["all_complaints"])
    out["provisional"] = provisional(last, as_of, days)
    if period == "m":
        out["coverage"] = coverage_of(coded["m"], cov)
    else:  # a quarter or year is complete only when every one of its months is covered
        out["complete"] = complete(coded[period], period, cov)
    return pd.DataFrame(out)


def _yoy(fr: Frame, yearly: pd.DataFrame, as_of, days, cov) -> pd.DataFrame:
    """Coded yearly counts (lenders, then the market) → year-over-year change.

    Each year is compared with the year before in the same series; a series' first year
    has nothing to compare with and is left out. The two years are ``comparable`` only when
    both are complete (every month covered) and neither is provisional; otherwise
    ``change`` and ``ratio`` are NA, since a slice of a year against a whole one says
    nothing about a trend. ``ratio`` is also NA when the year before had no complaints.
    """
    y = yearly["y"].to_numpy(dtype="int64")
    count = yearly["complaints"].to_numpy(dtype="int64")
    # Series are runs of consecutive years (the monthly grid has no holes), so the row
    # before is the year before unless a new series starts here.
    cur = np.flatnonzero(~_run_starts(yearly["l"], yearly["b"]))
    out = {
        **fr.lender_columns(yearly["l"].to_numpy()[cur]),
        **fr.behaviour_columns(yearly["b"].to_numpy()[cur]),
    }
    out["year"] = y[cur]
    out["complaints"] = count[cur]
    out["complaints_prev"] = count[cur - 1]
    # A comparison is provisional when either of its years is.
    flagged = provisional(year_last_day(y[cur]), as_of, days) | provisional(
        year_last_day(y[cur] - 1), as_of, days
    )
    comparable = complete(y[cur], "y", cov) & complete(y[cur] - 1, "y", cov) & ~flagged
    change = pd.array(count[cur] - count[cur - 1], dtype="Int64")
    change[~comparable] = pd.NA
    out["change"] = change
    out["ratio"] = ratio(count[cur], count[cur - 1])
    out["ratio"][~comparable] = pd.NA
    out["provisional"] = flagged
    out["comparable"] = comparable
    return pd.DataFrame(out)


def _log_betainc(a, b, x: float) -> np.ndarray:
    """log of the regularised incomplete beta function I_x(a, b), elementwise.

    ``a``, ``b``: positive arrays; ``x``: one number in (0, 1). Lentz's continued fraction
    (as in Numerical Recipes' ``betacf``), evaluated directly where it converges fast, which
    is the upper tail of a count above its expectation, so that tiny p-values keep their
    precision (the complement 1 − I would round them to 0). numpy has no incomplete beta,
    and this is the only place the project needs one.
    """
    a = np.asarray(a, dtype="float64")
    b = np.asarray(b, dtype="float64")
    if a.size == 0:
        return a.copy()
    lgamma = np.frompyfunc(math.lgamma, 1, 1)
    log_front = (
        lgamma(a + b).astype("float64")
        - lgamma(a).astype("float64")
        - lgamma(b).astype("float64")
        + a * math.log(x)
        + b * math.log1p(-x)
    )
    direct = x < (a + 1) / (a + b + 2)
    # Elsewhere the fraction converges slowly: use I_x(a, b) = 1 − I_{1−x}(b, a).
    aa, bb = np.where(direct, a, b), np.where(direct, b, a)
    xx = np.where(direct, x, 1 - x)
    tiny = 1e-300
    qab, qap, qam = aa + bb, aa + 1, aa - 1
    c = np.ones_like(aa)
    d = 1 - qab * xx / qap
    d = 1 / np.where(np.abs(d) < tiny, tiny, d)
    h = d.copy()
    for k in range(1, 1000):
        m2 = 2 * k
        for num in (
            k * (bb - k) * xx / ((qam + m2) * (aa + m2)),
            -(aa + k) * (qab + k) * xx / ((aa + m2) * (qap + m2)),
        ):
            d = 1 + num * d
            d = 1 / np.where(np.abs(d) < tiny, tiny, d)
            c = 1 + num / c
            c = np.where(np.abs(c) < tiny, tiny, c)
            h = h * d * c
        if np.all(np.abs(d * c - 1) < 1e-14):
            break
    log_i = log_front + np.log(h) - np.log(aa)
    return np.where(direct, log_i, np.log1p(-np.exp(np.minimum(log_i, -1e-300))))


def jump_log_pvalue(count, window_sum, months: int, dispersion=1.0) -> np.ndarray:
    """log of the one-sided p-value of ``count`` against the ``months`` months before it.

    The exact conditional test of two Poisson rates: if the month and each of the baseline
    months share one rate, then given their total n = count + window_sum the month's count
    is Binomial(n, 1 / (months + 1)), and the p-value is P(Binomial ≥ count) =
    I_{1/(months+1)}(count, window_sum + 1). It needs no estimate of the rate, so it stays
    exact for the small counts most series have, a baseline of zeros included, and it
    allows for the noise of the baseline itself (a Poisson tail against the baseline mean
    would treat that mean as known). ``dispersion`` (variance / mean of the baseline, at
    least 1) divides both counts first, the quasi-Poisson way: a series twice as noisy as
    Poisson counts as half as many complaints.
    """
    phi = np.asarray(dispersion, dtype="float64")
    count, window_sum, phi = np.broadcast_arrays(
        np.asarray(count, dtype="float64"), np.asarray(window_sum, dtype="float64"), phi
    )
    out = np.zeros(count.shape)
    pos = count > 0  # P(count ≥ 0) = 1
    out[pos] = _log_betainc(count[pos] / phi[pos], window_sum[pos] / phi[pos] + 1, 1 / (months + 1))
    return out


def bh_adjust(p, groups, tests) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values), separately within each group.

    ``p`` holds the p-values of some of each group's tests (the others, which could not
    be significant, count as p = 1 and rank after these); ``tests`` is each row's group
    size, the number of tests in its group. q_i = min over p_j ≥ p_i of p_j · tests /
    rank_j, capped at 1. A row is a discovery at false discovery rate α when q ≤ α.
    """
    p = np.asarray(p, dtype="float64")
    groups = np.asarray(groups, dtype="int64")
    tests = np.asarray(tests, dtype="float64")
    if len(p) == 0:
        return p.copy()
    order = np.lexsort((p, groups))
    g = groups[order]
    new = np.r_[True, g[1:] != g[:-1]]
    rank = np.arange(len(g)) - np.maximum.accumulate(np.where(new, np.arange(len(g)), 0)) + 1
    raw = p[order] * tests[order] / rank
    # Cumulative minimum from each group's end: reverse, accumulate, reverse.
    adj = pd.Series(raw[::-1]).groupby(g[::-1]).cummin().to_numpy()[::-1]
    q = np.empty_like(p)
    q[order] = np.minimum(adj, 1.0)
    return q


def covered_windows(m, full, months: int) -> np.ndarray:
    """True where month ``m`` and each of the ``months`` months before it are in ``full``
    (sorted month indexes; None: every month is)."""
    m = np.asarray(m, dtype="int64")
    if full is None or len(m) == 0:
        return np.ones(len(m), dtype=bool)
    lo = int(m.min()) - months
    span = np.arange(lo, int(m.max()) + 1)
    bad = np.r_[0, np.cumsum(~np.isin(span, np.asarray(full, dtype="int64")))]
    # Uncovered months in [m − months, m].
    return bad[m - lo + 1] - bad[m - months - lo] == 0


# Baseline means are grouped in these bins to pool their dispersion; a series' own variance
# caps at DISPERSION_CAP × its mean in the pool, so that one earlier spike cannot set it.
DISPERSION_BINS = np.array([0.5, 1, 2, 4, 8, 16, 32, 64, 128])
DISPERSION_CAP = 4.0


def _dispersion(mean, var) -> np.ndarray:
    """Each baseline's dispersion (variance / mean, at least 1) for the test.

    Twelve months say little about how noisy one small series is, and nothing when they
    are all zero: a series that is usually 0 but now and then has a burst looks steady
    until the burst. So the dispersion is pooled over every baseline of similar size
    (:data:`DISPERSION_BINS`): Σ variance / Σ mean within the bin. A series noisier than
    its pool keeps its own, larger value.
    """
    mean, var = np.asarray(mean, dtype="float64"), np.asarray(var, dtype="float64")
    if len(mean) == 0:
        return mean.copy()
    bins = np.searchsorted(DISPERSION_BINS, mean, side="right")
    n_bins = len(DISPERSION_BINS) + 1
    num = np.bincount(bins, np.minimum(var, DISPERSION_CAP * mean), minlength=n_bins)
    den = np.bincount(bins, mean, minlength=n_bins)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = np.where(den > 0, num / den, 1.0)
        own = np.where(mean > 0, var / mean, 1.0)
    return np.maximum(np.maximum(pooled[bins], own), 1.0)


def spike_test(lender, b, m, x, full, spikes: dict) -> tuple[pd.DataFrame, np.ndarray]:
    """The spike rule of :func:`_spikes` on coded series; the benchmark calls it directly.

    ``lender``, ``b``, ``m``, ``x``: lender, behaviour, month and count of zero-filled series,
    sorted by (l, b, m), with no holes. ``full``: sorted fully covered month indexes, or
    None for every month. Returns the candidates (``row``: position in the inputs,
    ``baseline``, ``dispersion``, ``log_p``, ``q_value``, ``spike``) and the positions of
    every series-month tested.
    """
    w = int(spikes["baseline_months"])
    min_count = int(spikes["min_count"])
    lender, b = np.asarray(lender, dtype="int64"), np.asarray(b, dtype="int64")
    m, x = np.asarray(m, dtype="int64"), np.asarray(x, dtype="int64")
    # Position within its series = months of history (the grid has no holes).
    idx = np.arange(len(x))
    start = np.maximum.accumulate(np.where(_run_starts(lender, b), idx, 0))
    i = idx[idx - start >= w]
    i = i[covered_windows(m[i], full, w)]
    csum, csum2 = np.r_[0, np.cumsum(x)], np.r_[0, np.cumsum(x * x)]
    s = csum[i] - csum[i - w]  # sum of the w months before each row
    # The test is conditional on n = count + window sum. When n < min_count the month
    # cannot reach min_count: it is no test, and does not count as one in the correction.
    keep = s + x[i] >= min_count
    tested, s = i[keep], s[keep]
    xi = x[tested]
    mean = s / w
    var = (csum2[tested] - csum2[tested - w] - s * mean) / (w - 1)
    phi = _dispersion(mean, var)
    cand = (xi >= min_count) & (xi * w >= float(spikes["min_ratio"]) * s)
    i, s, xi, mean, phi = tested[cand], s[cand], xi[cand], mean[cand], phi[cand]
    log_p = jump_log_pvalue(xi, s, w, phi)
    # Benjamini–Hochberg over the series tested in the same month.
    months, per_month = np.unique(m[tested], return_counts=True)
    tests = per_month[np.searchsorted(months, m[i])] if len(i) else np.zeros(0)
    q = bh_adjust(np.exp(log_p), m[i], tests)
    found = pd.DataFrame(
        {
            "row": i,
            "baseline": mean,
            "dispersion": phi,
            "log_p": log_p,
            "q_value": q,
            "spike": q <= float(spikes["false_discovery_rate"]),
        }
    )
    return found, tested


def _spikes(
    fr: Frame, monthly: pd.DataFrame, spikes: dict, as_of, days, changes, full=None
) -> pd.DataFrame:
    """Months whose count stands far above the series' own recent past.

    For each zero-filled lender × behaviour (and market × behaviour) series, each month is
    compared with the ``baseline_months`` months before it, and only when that month and
    all of its baseline months are fully covered by the data (``full``: sorted month
    indexes; None: every month) and the series has that much history.

    - baseline: the mean count of the baseline months; dispersion: their variance / mean,
      at least 1 (Poisson); ratio: count / baseline.
    - p_value: :func:`jump_log_pvalue`, the exact conditional Poisson test of the month
      against its baseline, with the counts divided by the dispersion.
    - q_value: Benjamini–Hochberg over every series-month tested in the same month (a
      month is tested when it and its baseline hold at least ``min_count`` complaints), so
      that among the spikes of a month at most a ``false_discovery_rate`` share are
      expected to be chance, however many series there are.
    - spike: count ≥ ``min_count``, count ≥ ``min_ratio`` × baseline, and
      q_value ≤ ``false_discovery_rate``. A behaviour that appears after a baseline of
      zeros has no ratio and is a spike when it reaches min_count and passes the test.
    - score: −log10(p_value), for sorting (6: a one-in-a-million month under the baseline).

    An earlier spike inside the window raises the baseline and its dispersion: a second
    jump right after a first one must be larger to count.
    """
    w = int(spikes["baseline_months"])
    cand, _ = spike_test(
        monthly["l"], monthly["b"], monthly["m"], monthly["complaints"], full, spikes
    )
    hit = cand[cand["spike"].to_numpy(dtype=bool)]
    rows = hit["row"].to_numpy(dtype="int64")
    lender = monthly["l"].to_numpy(dtype="int64")[rows]
    m = monthly["m"].to_numpy(dtype="int64")[rows]
    count = monthly["complaints"].to_numpy(dtype="int64")[rows]
    baseline = hit["baseline"].to_numpy(dtype="float64")
    log_p = hit["log_p"].to_numpy(dtype="float64")
    out = {**fr.lender_columns(lender), **fr.behaviour_columns(monthly["b"].to_numpy()[rows])}
    out["month"] = month_start(m)
    out["complaints"] = count
    out["baseline"] = np.round(baseline, 2)
    out["ratio"] = ratio(count, baseline)
    out["dispersion"] = np.round(hit["dispersion"].to_numpy(dtype="float64"), 2)
    out["p_value"] = np.exp(log_p)
    out["q_value"] = hit["q_value"].to_numpy(dtype="float64")
    out["score"] = np.round(-log_p / math.log(10), 2)
    # A label revision inside the baseline window or in the month itself can make a jump
    # that is not a change in behaviour.
    near = np.zeros(len(m), dtype=bool)
    for c in changes:
        near |= (m - w <= c) & (c <= m)
    out["near_taxonomy_change"] = near
    out["provisional"] = provisional(month_last_day(m), as_of, days)
    return pd.DataFrame(out)


# ── mixes against peers ────────────────────────────────────────────────────────────────


def _mix(fr: Frame, pairs: pd.DataFrame, code: str, min_n: int) -> pd.DataFrame:
    """Coded lender × category shares with Wilson intervals, market and peer comparison.

    ``pairs`` has one row per (complaint, category) with lender ``l`` and category ``code``.
    Every lender gets a row for every category (zeros included), because a peer median
    that skipped lenders without the category would overstate it.

    - share = complaints with the category / the lender's complaints; lo, hi its 95%
      Wilson interval.
    - others_share: the same share among all other lenders pooled.
    - peer group: lenders with at least ``min_n`` complaints; peer_median = the median
      share across the peer group (the lender itself included).
    - above_peers: the lender is in the peer group and its Wilson lower bound is above
      both the peer median and others_share: even the low end of its plausible range beats
      the typical peer and the rest of the market. The second test matters for rare
      behaviours, where the median peer has none (median 0) and any single complaint would
      otherwise raise the flag.
    """
    n_cat = len(fr.behaviours) if code == "b" else len(fr.families)
    n_lenders = len(fr.lender_names)
    totals = np.bincount(fr.l, minlength=n_lenders)
    k = np.bincount(
        pairs["l"].to_numpy() * n_cat + pairs[code].to_numpy(), minlength=n_lenders * n_cat
    )
    lender = np.repeat(np.arange(n_lenders), n_cat)
    cat = np.tile(np.arange(n_cat), n_lenders)
    n = totals[lender]
    market_k = np.bincount(pairs[code].to_numpy(), minlength=n_cat)[cat]
    share = ratio(k, n)
    lo, hi = wilson(k, n)
    peer = n >= min_n
    share_f = share.to_numpy(dtype="float64", na_value=np.nan)
    peer_share = pd.Series(np.where(peer, share_f, np.nan))
    median = peer_share.groupby(cat).median().reindex(range(n_cat)).to_numpy()[cat]
    others = ratio(market_k - k, fr.n - n)
    bar = np.fmax(median, others.to_numpy(dtype="float64", na_value=np.nan))
    above = peer & (lo > np.nan_to_num(bar, nan=np.inf))
    out = {
        **fr.lender_columns(lender),
        "complaints": k.astype("int64"),
        "lender_complaints": n.astype("int64"),
        "share": share,
        "share_lo": pd.array(lo, dtype="Float64"),
        "share_hi": pd.array(hi, dtype="Float64"),
        "others_share": others,
        "peer_median": pd.array(median, dtype="Float64"),
        "ratio_to_peers": ratio(share_f, median),
        "in_peer_group": peer,
        "above_peers": above,
    }
    names = fr.behaviour_columns(cat) if code == "b" else fr.family_column(cat)
    frame = pd.DataFrame(out)
    for i, (col, values) in enumerate(names.items()):
        frame.insert(2 + i, col, values)
    return frame


# ── per-lender and per-slice summaries ─────────────────────────────────────────────────


def _lenders(fr: Frame, table: pd.DataFrame, min_n: int) -> pd.DataFrame:
    """One row per lender: size, rank, date span, narrative coverage, tagged share."""
    codes = np.arange(len(fr.lender_names))
    rows = fr.rows.assign(date=table["date_received"].to_numpy(), tagged=False)
    rows.loc[fr.pairs["row"].unique(), "tagged"] = True
    g = rows.groupby("l")
    complaints = g.size().reindex(codes, fill_value=0).to_numpy(dtype="int64")
    narratives = g["text"].sum().reindex(codes, fill_value=0).to_numpy(dtype="int64")
    tagged = g["tagged"].sum().reindex(codes, fill_value=0).to_numpy(dtype="int64")
    out = pd.DataFrame(
        {
            **fr.lender_columns(codes),
            "complaints": complaints,
            # Equal counts share a rank (1, 2, 2, 4), so no lender is ranked by its name.
            "rank": pd.Series(complaints).rank(method="min", ascending=False).to_numpy("int64"),
            "first_date": g["date"].min().reindex(codes).to_numpy(dtype="datetime64[s]"),
            "last_date": g["date"].max().reindex(codes).to_numpy(dtype="datetime64[s]"),
            "narratives": narratives,
            "narrative_share": ratio(narratives, complaints),
            "tagged": tagged,
            "tagged_share": ratio(tagged, complaints),
            "in_peer_group": complaints >= min_n,
        }
    )
    return out.sort_values(["rank", "lender"], ignore_index=True)


def _behaviours(fr: Frame, taxonomy: dict) -> pd.DataFrame:
    """The taxonomy as a lookup table, with each behaviour's market-wide count and share."""
    b = np.arange(len(fr.behaviours))
    k = np.bincount(fr.pairs["b"].to_numpy(), minlength=len(b))
    lo, hi = wilson(k, np.full(len(b), fr.n))
    beh = [taxonomy["behaviours"][x] for x in fr.behaviours]
    fam = [taxonomy["families"][x["family"]] for x in beh]
    return pd.DataFrame(
        {
            **fr.behaviour_columns(b),
            "name_en": pd.array([x["name"]["en"] for x in beh], dtype="string"),
            "name_zh": pd.array([x["name"]["zh"] for x in beh], dtype="string"),
            "family_name_en": pd.array([x["name"]["en"] for x in fam], dtype="string"),
            "family_name_zh": pd.array([x["name"]["zh"] for x in fam], dtype="string"),
            "law": pd.array([x.get("law") for x in beh], dtype="string"),
            "complaints": k.astype("int64"),
            "all_complaints": np.full(len(b), fr.n, dtype="int64"),
            "share": ratio(k, np.full(len(b), fr.n)),
            "share_lo": pd.array(lo, dtype="Float64"),
            "share_hi": pd.array(hi, dtype="Float64"),
        }
    )


def _state_behaviour(fr: Frame) -> pd.DataFrame:
    """State × behaviour counts over every behaviour; complaints without a state are left out."""
    state = fr.rows["state"]
    known = state.notna().to_numpy()
    codes, states = _codes(state[known])
    n_b = len(fr.behaviours)
    state_of_row = np.full(fr.n, -1, dtype="int64")
    state_of_row[known] = codes
    s = state_of_row[fr.pairs["row"].to_numpy()]
    keep = s >= 0
    k = np.bincount(s[keep] * n_b + fr.pairs["b"].to_numpy()[keep], minlength=len(states) * n_b)
    totals = np.bincount(codes, minlength=len(states))
    st = np.repeat(np.arange(len(states)), n_b)
    b = np.tile(np.arange(n_b), len(states))
    return pd.DataFrame(
        {
            "state": pd.array(states[st] if len(states) else [], dtype="string"),
            **fr.behaviour_columns(b),
            "complaints": k.astype("int64"),
            "state_complaints": totals[st].astype("int64"),
            "share": ratio(k, totals[st]),
        }
    )


def _lender_states(fr: Frame) -> pd.DataFrame:
    """Lender × state complaint counts; complaints without a state are left out."""
    rows = fr.rows[fr.rows["state"].notna()]
    counts = rows.groupby(["l", "state"], sort=True).size()
    codes = counts.index.get_level_values("l").to_numpy(dtype="int64")
    totals = rows.groupby("l").size().reindex(codes).to_numpy(dtype="int64")
    return pd.DataFrame(
        {
            **fr.lender_columns(codes),
            "state": pd.array(counts.index.get_level_values("state"), dtype="string"),
            "complaints": counts.to_numpy(dtype="int64"),
            "lender_complaints": totals,
            "share": ratio(counts.to_numpy(dtype="int64"), totals),
        }
    )


# ── debt types, channels and harm words ────────────────────────────────────────────────

OTHER_DEBT = "other"  # debt type of a sub-product wording the taxonomy does not list


def _debt_type_lookup(taxonomy: dict) -> tuple[list[str], dict[str, str]]:
    """The taxonomy's ``debt_types`` → (ids in taxonomy order, "other" last if absent;
    normalised sub-product wording → id). A wording listed under two ids is a UserError."""
    ids: list[str] = []
    lookup: dict[str, str] = {}
    for i, entry in enumerate(taxonomy.get("debt_types") or []):
        if entry["id"] in ids:
            raise UserError(f"data/taxonomy.yaml: debt_types[{i}].id {entry['id']!r} is used twice")
        ids.append(entry["id"])
        wordings = normalise_label(pd.Series(entry["sub_products"], dtype="string"))
        for raw, key in zip(entry["sub_products"], wordings, strict=True):
            if lookup.get(key, entry["id"]) != entry["id"]:
                raise UserError(
                    f"data/taxonomy.yaml: debt_types[{i}] ({entry['id']}) lists sub-product "
                    f"{raw!r}, which debt type {lookup[key]!r} lists too"
                )
            lookup[key] = entry["id"]
    if OTHER_DEBT not in ids:
        ids.append(OTHER_DEBT)
    return ids, lookup


def _lender_debt_types(fr: Frame, table: pd.DataFrame, taxonomy: dict) -> pd.DataFrame:
    """Lender (then the market) × debt type: complaints whose ``sub_product`` wording the
    taxonomy's ``debt_types`` groups under the type, and a representative wording.

    The CFPB renamed sub-products over the years ("Medical", then "Medical debt"); the
    taxonomy lists every wording of a type, matched ignoring case and repeated spaces.
    Wordings it does not list count as ``other``. Complaints without a sub-product are left
    out of every row but count in ``lender_complaints``. Only (lender, type) pairs with at
    least one complaint get a row. ``label`` is the type's commonest wording in the row's
    complaints (ties: the alphabetically first).
    """
    ids, lookup = _debt_type_lookup(taxonomy)
    if "sub_product" in table.columns:
        raw = table["sub_product"].astype("string").str.strip()
        raw = raw.where(raw.str.len() > 0)
    else:
        raw = pd.Series(pd.NA, index=table.index, dtype="string")
    # Distinct wordings are few: normalise and look up each once.
    codes, wordings = pd.factorize(raw)
    wordings = np.asarray(wordings, dtype=object)
    keys = normalise_label(pd.Series(wordings, dtype="string"))
    type_of = np.array([ids.index(lookup.get(k, OTHER_DEBT)) for k in keys], dtype="int64")
    known = codes >= 0
    rows = pd.DataFrame(
        {
            "l": fr.l[known],
            "t": type_of[codes[known]],
            "word": wordings[codes[known]],
        }
    )
    totals = np.bincount(fr.l, minlength=len(fr.lender_names))
    lenders = _debt_type_rows(rows, ["l", "t"])
    market = _debt_type_rows(rows.assign(l=-1), ["l", "t"])
    out = pd.concat([lenders, market], ignore_index=True)
    lender = out["l"].to_numpy(dtype="int64")
    k = out["complaints"].to_numpy(dtype="int64")
    n = np.where(lender >= 0, totals[np.maximum(lender, 0)], fr.n)
    return pd.DataFrame(
        {
            **fr.lender_columns(lender),
            "debt_type": pd.Categorical.from_codes(out["t"].to_numpy(dtype="int64"), ids),
            "label": pd.array(out["label"].to_numpy(dtype=object), dtype="string"),
            "complaints": k,
            "lender_complaints": n.astype("int64"),
            "share": ratio(k, n),
        }
    )


def _debt_type_rows(rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Complaints per ``by`` group and the group's commonest ``word`` (ties: first in
    alphabetical order), sorted by ``by``."""
    words = rows.groupby([*by, "word"], sort=True).size().rename("k").reset_index()
    # Stable sort on the count keeps the alphabetical order among equal counts.
    words = words.sort_values("k", ascending=False, kind="stable")
    top = words.drop_duplicates(by).rename(columns={"word": "label"})
    counts = rows.groupby(by, sort=True).size().rename("complaints").reset_index()
    return counts.merge(top[[*by, "label"]], on=by, how="left")


def pattern_group(entry: dict) -> str:
    """The group of a ``channels`` or ``harm`` entry: its id without the ``_<lang>``
    suffix ("calls_en" → "calls")."""
    return re.sub(rf"_{re.escape(entry['lang'])}$", "", entry["id"])


def _pattern_groups(taxonomy: dict, key: str) -> dict[str, dict]:
    """Entries of the taxonomy's ``key`` (channels, harm) grouped by id without its
    ``_<lang>`` suffix ("calls_en" and "calls_zh" are one group, "calls"), in taxonomy
    order: group id → {lang: combined case-insensitive RE2 pattern}."""
    groups: dict[str, dict[str, list[str]]] = {}
    probe = pa.array([""], pa.string())
    for i, entry in enumerate(taxonomy.get(key) or []):
        lang, pattern = entry["lang"], entry["pattern"].strip()
        try:
            pc.match_substring_regex(probe, "(?i)" + pattern)
        except pa.ArrowInvalid as exc:
            raise UserError(
                f"data/taxonomy.yaml: {key}[{i}] ({entry['id']}) pattern is not valid RE2: {exc}"
            ) from None
        groups.setdefault(pattern_group(entry), {}).setdefault(lang, []).append(pattern)
    return {
        g: {lang: "(?i)" + "|".join(f"(?:{p})" for p in pats) for lang, pats in langs.items()}
        for g, langs in groups.items()
    }


class _Narratives:
    """The published narratives, per language, as the text rules see them (Chinese in
    Simplified, as classify matches it). Converted once, shared by every pattern table."""

    def __init__(self, fr: Frame, table: pd.DataFrame) -> None:
        self.fr, self.table = fr, table
        self.language = fr.rows["language"].fillna("").to_numpy(dtype=object)
        self._by_lang: dict[str, tuple[np.ndarray, pa.Array]] = {}

    def of(self, lang: str) -> tuple[np.ndarray, pa.Array]:
        if lang not in self._by_lang:
            pos = np.flatnonzero(
                self.fr.rows["text"].to_numpy(dtype=bool) & (self.language == lang)
            )
            texts = self.table["narrative"].iloc[pos].astype("string")
            if lang == "zh":
                texts = to_simplified_series(texts)
            self._by_lang[lang] = (pos, pa.array(texts.to_numpy(dtype=object), pa.large_string()))
        return self._by_lang[lang]

    def hits(self, patterns: dict[str, str]) -> np.ndarray:
        """Which complaints have a narrative matching the pattern of its language."""
        hit = np.zeros(self.fr.n, dtype=bool)
        for lang, pattern in patterns.items():
            pos, texts = self.of(lang)
            if len(pos):
                found = pc.match_substring_regex(texts, pattern).fill_null(False)
                hit[pos] = np.asarray(found, dtype=bool)
        return hit


def _mentions(fr: Frame, narratives: _Narratives, groups: dict, column: str) -> pd.DataFrame:
    """Every lender (then the market) × pattern group: published narratives, those that
    match the group's pattern in their own language, the share and its Wilson interval
    (NA for a lender without narratives)."""
    n_lenders, n_groups = len(fr.lender_names), len(groups)
    codes = np.r_[np.arange(n_lenders), -1]
    text = fr.rows["text"].to_numpy(dtype=bool)
    narr = np.r_[np.bincount(fr.l, weights=text, minlength=n_lenders), text.sum()]
    for lang in {lang for patterns in groups.values() for lang in patterns}:
        narratives.of(lang)  # convert once, before the threads share the texts
    # pyarrow's regex kernels release the GIL, so groups run side by side, as in classify.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        hits = list(pool.map(narratives.hits, groups.values()))
    mentions = np.array(
        [np.r_[np.bincount(fr.l, weights=h, minlength=n_lenders), h.sum()] for h in hits]
    ).reshape(n_groups, len(codes))
    # Rows: each lender's groups in taxonomy order, then the market's.
    lender = np.repeat(codes, n_groups)
    g = np.tile(np.arange(n_groups), len(codes))
    k = mentions.T.reshape(-1).astype("int64")
    n = np.repeat(narr, n_groups).astype("int64")
    lo, hi = wilson(k, n)
    return pd.DataFrame(
        {
            **fr.lender_columns(lender),
            column: pd.Categorical.from_codes(g, list(groups)),
            "narratives": n,
            "mentions": k,
            "share": ratio(k, n),
            "share_lo": pd.array(lo, dtype="Float64"),
            "share_hi": pd.array(hi, dtype="Float64"),
        }
    )


def _responses(fr: Frame) -> pd.DataFrame:
    """Per lender (then the market): company response outcomes, relief and timely rates.

    relief_rate = complaints closed with any relief / complaints closed (in progress,
    untimely and other are not closures). timely_rate = "Timely response? Yes" / complaints
    where it is recorded.
    """
    rows = fr.rows
    n_lenders = len(fr.lender_names)
    codes = np.r_[np.arange(n_lenders), -1]

    def per_lender(weights) -> np.ndarray:
        """Sum of ``weights`` per lender, then the market total."""
        w = np.asarray(weights, dtype="int64")
        return np.r_[np.bincount(fr.l, weights=w, minlength=n_lenders), w.sum()].astype("int64")

    outcome = rows["response"].to_numpy()
    timely = rows["timely"]
    out = {**fr.lender_columns(codes), "complaints": per_lender(np.ones(fr.n))}
    for col in OUTCOMES:
        out[col] = per_lender(outcome == col)
    relief = sum(out[c] for c in RELIEF)
    closed = sum(out[c] for c in CLOSED)
    known = per_lender(timely.notna())
    yes = per_lender(timely.fillna(False).astype(bool))
    narratives = per_lender(rows["text"])
    relief_lo, relief_hi = wilson(relief, closed)
    timely_lo, timely_hi = wilson(yes, known)
    out.update(
        closed_total=closed,
        relief_total=relief,
        relief_rate=ratio(relief, closed),
        relief_lo=pd.array(relief_lo, dtype="Float64"),
        relief_hi=pd.array(relief_hi, dtype="Float64"),
        timely_known=known,
        timely_yes=yes,
        timely_rate=ratio(yes, known),
        timely_lo=pd.array(timely_lo, dtype="Float64"),
        timely_hi=pd.array(timely_hi, dtype="Float64"),
        narratives=narratives,
        narrative_share=ratio(narratives, out["complaints"]),
    )
    return pd.DataFrame(out)


def _coverage(fr: Frame, as_of, days) -> pd.DataFrame:
    """Narrative coverage for the whole table and per year, lender and language.

    ``text_tagged`` counts complaints with at least one behaviour found in their text, so a
    reader sees how much of a text-based figure rests on how few narratives.
    """
    rows = fr.rows
    slices = {
        "all": pd.Series("all", index=rows.index, dtype="string"),
        "year": (1970 + rows["m"] // 12).astype("int64"),
        "lender": pd.Series(
            pd.array(np.asarray(fr.lender_names, dtype=object)[fr.l], dtype="string")
        ),
        "language": rows["language"],
    }
    parts = []
    for dimension, key in slices.items():
        g = rows.groupby(key.to_numpy(), sort=True, dropna=False)
        part = pd.DataFrame(
            {
                "complaints": g.size(),
                "narratives": g["text"].sum(),
                "text_tagged": g["text_tagged"].sum(),
            }
        )
        if dimension == "all" and part.empty:  # an empty table still has its total row
            part = pd.DataFrame(
                {"complaints": [0], "narratives": [0], "text_tagged": [0]}, index=["all"]
            )
        values = part.index.to_numpy()
        if dimension == "year":
            last = year_last_day(values.astype("int64"))
            flags = provisional(last, as_of, days)
        else:
            flags = np.zeros(len(part), dtype=bool)
        parts.append(
            pd.DataFrame(
                {
                    "dimension": dimension,
                    "value": pd.array(
                        [None if pd.isna(v) else str(v) for v in values], dtype="string"
                    ),
                    "complaints": part["complaints"].to_numpy(dtype="int64"),
                    "narratives": part["narratives"].to_numpy(dtype="int64"),
                    "text_tagged": part["text_tagged"].to_numpy(dtype="int64"),
                    "provisional": flags,
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    out["dimension"] = out["dimension"].astype("string")
    out.insert(4, "narrative_share", ratio(out["narratives"], out["complaints"]))
    out.insert(6, "text_tagged_share", ratio(out["text_tagged"], out["complaints"]))
    return out


def taxonomy_changes(taxonomy: dict) -> pd.DataFrame:
    """Label revisions (every era after the first) with their names, for chart markers."""
    eras = sorted(taxonomy["eras"], key=lambda e: str(e["start"]))[1:]
    return pd.DataFrame(
        {
            "date": pd.to_datetime([str(e["start"]) for e in eras]).astype("datetime64[s]"),
            "era": pd.array([e["id"] for e in eras], dtype="string"),
            "name_en": pd.array([e["name"]["en"] for e in eras], dtype="string"),
            "name_zh": pd.array([e["name"]["zh"] for e in eras], dtype="string"),
        }
    )


TEXT_TAG_COLUMNS = [
    "source",
    "complaint_id",
    "lender",
    "lender_slug",
    "date_received",
    "language",
    "behaviour",
    "family",
    "rule",
    "matched",
]


def text_tags(table: pd.DataFrame, tags: pd.DataFrame, taxonomy: dict) -> pd.DataFrame:
    """The evidence read from complaint text, one row per (complaint, behaviour, rule).

    ``table`` is the classified complaint table, ``tags`` classify's long tags table. Keeps
    the text tags (``kind == "text"``) of complaints whose narrative is published
    (:func:`text.published`) and adds who and when: columns :data:`TEXT_TAG_COLUMNS`, where
    ``matched`` is the words the rule matched (Simplified for Chinese, as the rules read
    it). The narrative itself is not copied: the CFPB publishes it under the complaint ID.
    Sorted by lender slug, date, source and complaint ID; within a complaint in taxonomy
    order, then rule order, as classify lists them.
    """
    info_cols = ["source", "complaint_id", "lender", "lender_slug", "date_received", "language"]
    if tags is None:  # nothing classified: no evidence, but the table keeps its columns
        tags = pd.DataFrame(columns=TAG_COLUMNS)
    text = tags[(tags["kind"].astype("string") == "text").to_numpy(dtype=bool)]
    info = table.loc[published(table["narrative"]), info_cols]
    key = ["source", "complaint_id"]
    left = text[[*key, "behaviour", "family", "rule", "span"]].astype({k: "string" for k in key})
    left["_order"] = np.arange(len(left))  # classify's order within a complaint
    right = info.astype({k: "string" for k in key})
    rows = left.merge(right, on=key, how="inner", validate="many_to_one")
    rows = rows.sort_values(
        ["lender_slug", "date_received", "source", "complaint_id", "_order"], kind="stable"
    )
    behaviours, families = list(taxonomy["behaviours"]), list(taxonomy["families"])
    return pd.DataFrame(
        {
            "source": rows["source"].astype("category"),
            "complaint_id": rows["complaint_id"],
            "lender": rows["lender"].astype("string").astype("category"),
            "lender_slug": rows["lender_slug"].astype("string").astype("category"),
            "date_received": pd.to_datetime(rows["date_received"]),
            "language": rows["language"].astype("string").astype("category"),
            "behaviour": pd.Categorical(rows["behaviour"].astype(object), behaviours),
            "family": pd.Categorical(rows["family"].astype(object), families),
            "rule": rows["rule"].astype("string").astype("category"),
            "matched": rows["span"].astype("string"),
        },
        columns=TEXT_TAG_COLUMNS,
    ).reset_index(drop=True)


# ── checks and entry point ─────────────────────────────────────────────────────────────

SHARE_SUFFIXES = ("share", "_lo", "_hi", "_rate", "peer_median")


def check_tables(tables: dict[str, pd.DataFrame], fr: Frame, min_n: int) -> None:
    """Raise ValueError unless shares are within [0, 1], nothing is inf and counts reconcile."""
    for name, df in tables.items():
        for col in df.columns:
            if not pd.api.types.is_float_dtype(df[col]):
                continue
            values = df[col].to_numpy(dtype="float64", na_value=np.nan)
            _require(not np.isinf(values).any(), f"{name}.{col} has infinite values")
            # A NaN that is not NA is a computed 0/0 that escaped `ratio`.
            _require(
                np.isnan(values).sum() == df[col].isna().sum(),
                f"{name}.{col} has NaN that is not NA",
            )
            if col.endswith(SHARE_SUFFIXES):
                ok = values[~np.isnan(values)]
                _require(((ok >= 0) & (ok <= 1)).all(), f"{name}.{col} has shares outside [0, 1]")
    pairs, fpairs = len(fr.pairs), len(fr.fpairs)
    totals = np.bincount(fr.l, minlength=len(fr.lender_names))
    peer_pairs = int((totals[fr.pairs["l"].to_numpy()] >= min_n).sum())
    sums = {
        "counts_monthly": peer_pairs,
        "counts_quarterly": peer_pairs,
        "counts_yearly": peer_pairs,
        "market_monthly": pairs,
        "behaviour_mix": pairs,
        "family_monthly": fpairs,
        "family_mix": fpairs,
    }
    for name, expected in sums.items():
        got = int(tables[name]["complaints"].sum())
        _require(
            got == expected,
            f"{name} counts {got} (complaint, behaviour/family) pairs, "
            f"the classified table has {expected}",
        )
    _require(
        int(tables["lenders"]["complaints"].sum()) == fr.n,
        "lenders' complaints do not add up to the table",
    )
    monthly = tables["lender_monthly"]
    per_lender = monthly.groupby(monthly["lender_slug"].astype(str))["complaints"].sum()
    lenders = tables["lenders"]
    totals = pd.Series(lenders["complaints"].to_numpy(), index=lenders["lender_slug"].astype(str))
    _require(
        (per_lender == totals.reindex(per_lender.index)).all(),
        "lender_monthly does not add up to the lenders' complaints",
    )
    fam = tables["lender_family_monthly"]
    key = ["lender_slug", "month"]
    joined = fam[key + ["complaints"]].merge(
        monthly[key + ["complaints"]], on=key, how="left", suffixes=("", "_all")
    )
    _require(
        (joined["complaints"] <= joined["complaints_all"]).all(),
        "lender_family_monthly counts more complaints than the lender had that month",
    )
    market = tables["responses"]["lender"] == MARKET
    _require(
        int(tables["responses"].loc[market, "complaints"].sum()) == fr.n,
        "responses' market row does not add up to the table",
    )
    text = int(fr.rows["text"].sum())
    for name in ("lender_channels", "lender_harm"):
        df = tables[name]
        market = df["lender_slug"].isna().to_numpy(dtype=bool)
        _require(
            (df.loc[market, "narratives"] == text).all(),
            f"{name}'s market rows do not count every published narrative",
        )
        _require(
            (df["mentions"] <= df["narratives"]).all(), f"{name} has more mentions than narratives"
        )
    debt = tables["lender_debt_types"]
    market = debt["lender_slug"].isna().to_numpy(dtype=bool)
    _require(
        int(debt.loc[market, "complaints"].sum()) == int(debt.loc[~market, "complaints"].sum()),
        "lender_debt_types' market rows do not add up to its lenders' rows",
    )
    with_state = int(tables["state_behaviour"]["complaints"].sum())
    expected = int(fr.rows["state"].notna().to_numpy()[fr.pairs["row"].to_numpy()].sum())
    _require(with_state == expected, "state_behaviour does not add up to the pairs with a state")


def build_tables(
    table: pd.DataFrame,
    tags: pd.DataFrame,
    taxonomy: dict,
    site: dict,
    as_of: pd.Timestamp,
    coverage: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """Classified complaints (+ long tags table) → every named table the site shows.

    Tables (columns are described in data/tables.yaml): lenders, behaviours,
    counts_monthly / counts_quarterly (peer-group lenders × behaviour, periods with
    complaints only) / counts_yearly (every year of the lender's span), lender_monthly,
    market_monthly, family_monthly, behaviour_mix, family_mix, yoy, state_behaviour,
    lender_states, lender_debt_types, lender_channels, lender_harm, responses, coverage,
    spikes, taxonomy_changes, text_tags (the words each text rule matched).
    lender_debt_types groups sub-products by the taxonomy's ``debt_types``;
    lender_channels and lender_harm match narratives with its ``channels`` and ``harm``
    patterns.

    ``site`` supplies ``min_lender_complaints``, ``provisional_days`` and ``spikes``;
    ``as_of`` is the date the data runs to (periods near it are provisional).
    ``coverage`` is the date_coverage table (:func:`claims.coverage_table`): which months
    the inputs cover. Without it, every month from the first complaint to the last counts
    as covered. A spike needs its month and its whole baseline "covered". Raises
    ValueError when a sanity check fails (a share outside [0, 1], counts that do not
    reconcile, a behaviour the taxonomy does not know).
    """
    as_of = pd.Timestamp(as_of)
    days = int(site["provisional_days"])
    min_n = int(site["min_lender_complaints"])
    table = table.reset_index(drop=True)
    fr = Frame(table, tags, taxonomy)
    narratives = _Narratives(fr, table)
    changes = taxonomy_changes(taxonomy)
    full = None
    if coverage is not None:
        status = coverage["status"].astype("string").to_numpy(dtype=object, na_value="")
        full = np.unique(month_index(coverage["month"])[status == "covered"])
    cov = claims.assume_covered(table["date_received"]) if coverage is None else coverage

    lender_m = _lender_monthly(fr, min_n)
    market_m = _market_monthly(fr)
    yearly = pd.concat([_roll_up(lender_m, "y"), _roll_up(market_m, "y")], ignore_index=True)
    tables = {
        "lenders": _lenders(fr, table, min_n),
        "behaviours": _behaviours(fr, taxonomy),
        "counts_monthly": _named_counts(fr, _sparse(lender_m), as_of, days, "m", cov),
        "counts_quarterly": _named_counts(
            fr, _sparse(_roll_up(lender_m, "q")), as_of, days, "q", cov
        ),
        "counts_yearly": _named_counts(fr, yearly[yearly["l"] >= 0], as_of, days, "y", cov),
        "lender_monthly": _lender_totals(fr, lender_m, as_of, days, cov),
        "lender_family_monthly": _lender_family_monthly(fr, min_n, as_of, days, cov),
        "market_monthly": _named_counts(fr, market_m, as_of, days, "m", cov).drop(
            columns=["lender", "lender_slug"]
        ),
        "family_monthly": _family_monthly(fr, as_of, days, cov),
        "behaviour_mix": _mix(fr, fr.pairs, "b", min_n),
        "family_mix": _mix(fr, fr.fpairs, "f", min_n),
        "yoy": _yoy(fr, yearly, as_of, days, cov),
        "state_behaviour": _state_behaviour(fr),
        "lender_states": _lender_states(fr),
        "lender_debt_types": _lender_debt_types(fr, table, taxonomy),
        "lender_channels": _mentions(
            fr, narratives, _pattern_groups(taxonomy, "channels"), "channel"
        ),
        "lender_harm": _mentions(fr, narratives, _pattern_groups(taxonomy, "harm"), "harm"),
        "responses": _responses(fr),
        "coverage": _coverage(fr, as_of, days),
        "spikes": pd.concat(
            [
                _spikes(fr, coded, site["spikes"], as_of, days, month_index(changes["date"]), full)
                for coded in (lender_m, market_m)
            ],
            ignore_index=True,
        ),
        "taxonomy_changes": changes,
        "date_coverage": cov.reset_index(drop=True),
        "text_tags": text_tags(table, tags, taxonomy),
    }
    check_tables(tables, fr, min_n)
    return tables
