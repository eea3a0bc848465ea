"""Input activity and published tables → what the site may say: which months the inputs
cover, which periods may be compared, and which leader may be named.

Every sentence-maker (chart summaries, case studies, articles, the yoy table) asks this
module instead of deciding on its own, so that a hole in the data, a partial year or a
one-day export can never be read as a fall, a rise or a record.

**Coverage.** A month is *covered*, *partial* or *none* (not covered), by this rule:

1. Each input contributes the rows it holds of **any** product, by day received. An input
   that holds only other products than the site's scope (an export filtered to payday
   loans, say) says nothing about debt collection and is left out.
2. Within one input, a month whose row count is below ``min_month_share`` of the input's
   typical month (the month in which its median row falls) holds stragglers, not
   coverage: an export of April 2023 that also carries three complaints from 2017 does
   not cover 2017.
3. The qualifying inputs of a month are pooled. The month is *covered* when its rows are
   spread over its days as evenly as complaints arrive: the days with data reach
   ``min_spread`` of the days that ``n`` rows spread at random over the month would reach,
   ``D·(1 − e^(−n/D))``. This holds for the whole database (every day has complaints) and
   for a thin, even sample alike, but not for an export that starts on the 10th or holds
   one week. Such a month is *partial*; a month with no qualifying rows is *none*.
4. A search-API slice covers every day of the range that was requested, with or without
   complaints.

**Comparisons.** Two periods may be compared only when every month of both is covered and
none is provisional. A year is *complete* only when all twelve of its months are covered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

STATUSES = ("covered", "partial", "none")
COVERAGE_COLUMNS = ["month", "rows", "days_with_data", "days_in_month", "status"]


# ── months ─────────────────────────────────────────────────────────────────────────────


def month_of(dates) -> np.ndarray:
    """Dates → months since 1970-01 (int64)."""
    return np.asarray(dates, dtype="datetime64[D]").astype("datetime64[M]").astype("int64")


def days_in(m) -> np.ndarray:
    """Months since 1970-01 → number of days in each."""
    m = np.asarray(m, dtype="int64")
    start = m.astype("datetime64[M]").astype("datetime64[D]")
    end = (m + 1).astype("datetime64[M]").astype("datetime64[D]")
    return (end - start).astype("int64")


def month_label(m: int) -> str:
    """A month index → ``"YYYY-MM"``."""
    return str(np.datetime64(int(m), "M"))


def spread_days(n, days) -> np.ndarray:
    """Days that ``n`` rows spread at random over ``days`` days are expected to touch."""
    n = np.asarray(n, dtype="float64")
    days = np.asarray(days, dtype="float64")
    return days * (1.0 - np.exp(-n / np.maximum(days, 1.0)))


# ── coverage ───────────────────────────────────────────────────────────────────────────


def informative(inputs: list[dict]) -> list[int]:
    """Indexes of the inputs whose rows speak about the scope: those holding an in-scope
    product, or several products (an unfiltered export). An input of one other product was
    filtered to it and covers nothing in scope."""
    keep = []
    for i, item in enumerate(inputs):
        in_scope = int(item.get("in_scope_products", 1) or 0)
        products = int(item.get("products", 2) or 0)
        if in_scope > 0 or products > 1 or item.get("requested"):
            keep.append(i)
    return keep


def _qualifying(days: pd.DataFrame, share: float) -> pd.DataFrame:
    """Daily rows of one input → those in months that are not mere stragglers."""
    m = month_of(days["date"].to_numpy())
    per_month = pd.Series(days["rows"].to_numpy(), index=m).groupby(level=0).sum()
    order = per_month.sort_values(kind="stable")
    # The month in which the input's median row falls is its typical month.
    half = order.sum() / 2
    typical = order.iloc[int(np.searchsorted(order.cumsum().to_numpy(), half))]
    ok = per_month.index[per_month >= share * typical]
    return days[np.isin(m, ok.to_numpy())]


def coverage_table(
    activity: pd.DataFrame,
    inputs: list[dict],
    settings: dict,
    months: tuple[int, int] | None = None,
) -> pd.DataFrame:
    """Daily activity (``input``, ``date``, ``rows``: rows of any product) → one row per
    month from the first to the last with data (or over ``months``, inclusive indexes).

    Columns: month (first day, datetime64[s]), rows (of any product, every input),
    days_with_data, days_in_month, status ("covered" | "partial" | "none"). ``inputs``
    are the build report's input entries (``products``, ``in_scope_products`` and, for a
    search-API slice, ``requested`` = [first, last] ISO dates). ``settings``:
    ``min_spread`` and ``min_month_share`` (see the module docstring).
    """
    spread, share = float(settings["min_spread"]), float(settings["min_month_share"])
    act = activity[activity["rows"] > 0]
    dates = pd.to_datetime(act["date"]).to_numpy().astype("datetime64[D]")
    act = pd.DataFrame(
        {"input": act["input"].to_numpy(dtype="int64"), "date": dates, "rows": act["rows"]}
    )
    pooled, requested = [], []
    for i in informative(inputs):
        item = inputs[i]
        mine = act[act["input"] == i]
        if item.get("requested"):
            first, last = (np.datetime64(str(d)[:10], "D") for d in item["requested"])
            every = np.arange(first, last + 1)
            requested.append(pd.DataFrame({"date": every, "rows": 0}))
        elif len(mine):
            pooled.append(_qualifying(mine[["date", "rows"]], share))
    all_m = month_of(act["date"].to_numpy()) if len(act) else np.zeros(0, dtype="int64")
    spans = [all_m] + [month_of(r["date"].to_numpy()) for r in requested]
    every_m = np.concatenate(spans) if spans else np.zeros(0, dtype="int64")
    if months is not None:
        lo, hi = months
    elif len(every_m):
        lo, hi = int(every_m.min()), int(every_m.max())
    else:
        return pd.DataFrame({c: [] for c in COVERAGE_COLUMNS}).astype(
            {"month": "datetime64[s]", "rows": "int64", "days_with_data": "int64"}
            | {"days_in_month": "int64", "status": "string"}
        )
    grid = np.arange(lo, hi + 1, dtype="int64")
    size = days_in(grid)

    def per_month(values: pd.Series, at: np.ndarray) -> np.ndarray:
        return values.groupby(at).sum().reindex(grid, fill_value=0).to_numpy(dtype="int64")

    def distinct_days(dates: np.ndarray) -> np.ndarray:
        unique = np.unique(dates)
        return per_month(pd.Series(np.ones(len(unique), dtype="int64")), month_of(unique))

    rows = per_month(act["rows"], month_of(act["date"].to_numpy()))
    with_data = distinct_days(act["date"].to_numpy())
    good = pd.concat(pooled, ignore_index=True) if pooled else act.iloc[0:0][["date", "rows"]]
    good_rows = per_month(good["rows"], month_of(good["date"].to_numpy()))
    good_days = distinct_days(good["date"].to_numpy())
    status = np.where(
        (good_rows > 0) & (good_days >= spread * spread_days(good_rows, size)),
        "covered",
        np.where(good_rows > 0, "partial", "none"),
    )
    if requested:  # a requested range covers its days, complaints or not
        asked = distinct_days(np.concatenate([r["date"].to_numpy() for r in requested]))
        status = np.where(
            asked == size, "covered", np.where((asked > 0) & (status == "none"), "partial", status)
        )
    return pd.DataFrame(
        {
            "month": grid.astype("datetime64[M]").astype("datetime64[s]"),
            "rows": rows,
            "days_with_data": with_data,
            "days_in_month": size,
            "status": pd.array(status, dtype="string"),
        }
    )


def assume_covered(dates) -> pd.DataFrame:
    """A coverage table that takes every month from the first to the last of ``dates`` as
    covered: for callers that know their data is complete and continuous."""
    days = pd.Series(pd.to_datetime(pd.Series(dates)).dt.normalize())
    activity = days.value_counts().rename_axis("date").reset_index(name="rows")
    table = coverage_table(
        activity.assign(input=0), [{}], {"min_spread": 0.0, "min_month_share": 0.0}
    )
    table["status"] = pd.array(["covered"] * len(table), dtype="string")
    return table


def input_density(activity: pd.DataFrame, inputs: list[dict], full_rows_per_day: float) -> list:
    """Per input: rows of any product per day with data, and whether that is so few that
    the input must be a sample of the database rather than all of it."""
    out = []
    for i, item in enumerate(inputs):
        mine = activity[(activity["input"] == i) & (activity["rows"] > 0)]
        days = int(mine["date"].nunique())
        per_day = float(mine["rows"].sum()) / days if days else 0.0
        out.append(
            {
                "path": item.get("path"),
                "rows_per_day": round(per_day, 1),
                "sample": bool(days) and per_day < full_rows_per_day,
            }
        )
    return out


def summary(coverage: pd.DataFrame, activity: pd.DataFrame, inputs: list[dict], settings) -> dict:
    """Months by coverage status, and which inputs look like samples (fewer rows per day
    with data than ``settings["full_rows_per_day"]``), for the build report and pages."""
    counts = coverage["status"].astype(str).value_counts()
    return {
        "months": {s: int(counts.get(s, 0)) for s in STATUSES},
        "inputs": input_density(activity, inputs, float(settings["full_rows_per_day"])),
    }


def view(coverage: pd.DataFrame, report_coverage: dict) -> dict:
    """The coverage table and report summary → what a page shows: counts of months by
    status, runs of consecutive months with one status (newest last) and the inputs that
    look like samples. Plain values only."""
    status = coverage["status"].astype(str).tolist()
    labels = pd.to_datetime(coverage["month"]).dt.strftime("%Y-%m").tolist()
    rows = coverage["rows"].astype("int64").tolist()
    runs: list[dict] = []
    for label, st, n in zip(labels, status, rows, strict=True):
        if runs and runs[-1]["status"] == st:
            runs[-1].update(last=label, months=runs[-1]["months"] + 1, rows=runs[-1]["rows"] + n)
        else:
            runs.append({"first": label, "last": label, "status": st, "months": 1, "rows": n})
    return {
        "months": report_coverage["months"],
        "total": len(status),
        "first": labels[0] if labels else None,
        "last": labels[-1] if labels else None,
        "runs": runs,
        "samples": [i for i in report_coverage["inputs"] if i["sample"]],
        "gaps": any(s != "covered" for s in status),
    }


# ── comparisons ────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Periods:
    """Which months are fully covered, answering every "may these be compared?" question.

    ``covered`` holds the month indexes (months since 1970-01) whose status is covered;
    None means every month is (no coverage table was given).
    """

    covered: frozenset[int] | None
    first: int
    last: int

    @classmethod
    def from_table(cls, table: pd.DataFrame) -> Periods:
        m = month_of(pd.to_datetime(table["month"]).to_numpy())
        ok = (table["status"].astype("string") == "covered").to_numpy(dtype=bool)
        if not len(m):
            return cls(frozenset(), 0, -1)
        return cls(frozenset(int(x) for x in m[ok]), int(m.min()), int(m.max()))

    @classmethod
    def of(cls, table: pd.DataFrame | None) -> Periods:
        """From a date_coverage table; without one, every month counts as covered."""
        return cls(None, 0, -1) if table is None else cls.from_table(table)

    def full(self, first: int, last: int) -> bool:
        """True when every month from ``first`` to ``last`` (inclusive) is covered."""
        if last < first:
            return False
        if self.covered is None:
            return True
        return all(m in self.covered for m in range(first, last + 1))

    def complete_year(self, year: int) -> bool:
        m0 = (int(year) - 1970) * 12
        return self.full(m0, m0 + 11)

    def complete_years(self, years) -> list[int]:
        """The complete ones among ``years``."""
        return [int(y) for y in years if self.complete_year(int(y))]

    def gaps(self, first: int, last: int) -> bool:
        """True when some month from ``first`` to ``last`` is not fully covered."""
        return not self.full(first, last)


def compare_windows(monthly: pd.DataFrame, periods: Periods, window: int = 12) -> dict:
    """Facts for a trend sentence from one monthly series (month "YYYY-MM", complaints,
    provisional), honest about holes.

    When the last ``2·window`` months before the provisional tail are all covered, gives
    ``recent`` (the last ``window``) and ``previous`` (the ``window`` before). Otherwise
    ``previous`` is None, ``recent`` is the total over every month shown and ``reason``
    says why no comparison is made: "short" (fewer than ``2·window`` months in the data)
    or "gaps" (some month in them is not fully covered). ``gaps`` says whether the months
    summed contain one that is not fully covered, so a total can say so.
    """
    m = month_of(pd.to_datetime(monthly["month"].astype(str) + "-01").to_numpy())
    counts = pd.to_numeric(monthly["complaints"], errors="coerce").fillna(0).astype("int64")
    done = ~monthly["provisional"].to_numpy(dtype=bool)
    facts = {"provisional": bool((~done).any()), "comparable": False}
    # With everything provisional, say what there is.
    last = int(m[done].max()) if done.any() else int(m.max())
    first_all, last_all = int(m.min()), int(m.max())
    recent_from = last - window + 1
    if last - 2 * window + 1 >= first_all and periods.full(last - 2 * window + 1, last):
        in_recent = (m >= recent_from) & (m <= last)
        in_prev = (m >= recent_from - window) & (m < recent_from)
        facts.update(
            recent=int(counts[in_recent].sum()),
            previous=int(counts[in_prev].sum()),
            start=month_label(recent_from),
            end=month_label(last),
            comparable=True,
            reason=None,
            gaps=False,
        )
        return facts
    reason = "short" if last - 2 * window + 1 < first_all else "gaps"
    shown = (m <= last) if done.any() else np.ones(len(m), dtype=bool)
    facts.update(
        recent=int(counts[shown].sum()),
        previous=None,
        start=month_label(first_all),
        end=month_label(last if done.any() else last_all),
        reason=reason,
        gaps=periods.gaps(first_all, last),
    )
    return facts


# ── leaders ────────────────────────────────────────────────────────────────────────────


def leader(
    frame: pd.DataFrame,
    value: str,
    name: str,
    *,
    support: str | None = None,
    min_support: int = 0,
) -> dict:
    """Who may be called "the highest" on ``value``, among rows with ``support`` ≥
    ``min_support``.

    Returns ``{"kind": ..., "name": ..., "value": ..., "tied": [...], "row": ...}`` where
    kind is "leader" (one row has the highest non-zero value), "tie" (several share it:
    ``tied`` lists their names), "zero" (every value is 0) or "none" (no row qualifies).
    Templates write a superlative only for "leader".
    """
    rows = frame
    if support is not None:
        rows = rows[pd.to_numeric(rows[support], errors="coerce").fillna(0) >= min_support]
    values = pd.to_numeric(rows[value], errors="coerce").astype("float64")
    rows, values = rows[values.notna().to_numpy()], values.dropna()
    if rows.empty:
        return {"kind": "none", "name": None, "value": None, "tied": [], "row": None}
    top = float(values.max())
    at_top = rows[(values == top).to_numpy()]
    names = sorted(str(x) for x in at_top[name])
    if top <= 0:
        return {"kind": "zero", "name": None, "value": 0.0, "tied": [], "row": None}
    if len(at_top) > 1:
        return {"kind": "tie", "name": None, "value": top, "tied": names, "row": None}
    return {"kind": "leader", "name": names[0], "value": top, "tied": [], "row": at_top.iloc[0]}


def latest_first(spikes: pd.DataFrame) -> pd.DataFrame:
    """Spikes newest month first; within a month the strongest first, then by lender and
    behaviour, so every page that names "the latest spike" names the same one."""
    if spikes.empty:
        return spikes
    key = "score" if "score" in spikes.columns else "complaints"
    order = spikes.assign(
        _lender=spikes["lender"].astype("string").fillna(""),
        _behaviour=spikes["behaviour"].astype("string"),
    ).sort_values(
        ["month", key, "_lender", "_behaviour"],
        ascending=[False, False, True, True],
        kind="stable",
    )
    return order.drop(columns=["_lender", "_behaviour"])
