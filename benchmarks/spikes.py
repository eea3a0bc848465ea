"""Measure the spike rule's false alarms and power on simulated complaint counts.

    python benchmarks/spikes.py            # writes data/spike_benchmark.json and its section
                                           # of docs/benchmarks.md (about a minute)
    python benchmarks/spikes.py --quick    # a small run, nothing written unless asked

Every series is a lender × behaviour: ``LENDERS`` lenders × ``BEHAVIOURS`` behaviours over
``MONTHS`` months, of which the last ``MONTHS - baseline_months`` are scored. Volumes are
heavy-tailed like the real data: a lender's monthly total is log-normal (median about 12,
a few in the thousands) and its behaviours take Zipf-like shares of it (1/k, in a random
order per lender), so most series average 0.05–5 complaints a month and a few 20–200+.

(a) Stationary Poisson: every count is Poisson with its series' constant mean; every spike
    is a false alarm. Rate = false spikes / lender-behaviour-months scored, with an exact
    95% upper bound.
(b) The same, over-dispersed: negative binomial with variance = 2 × mean (a gamma-mixed
    Poisson), which the dispersion estimate must absorb.
(c) Power: on (a)'s volumes, ``PLANTED`` series per jump size are given a constant mean
    ``before`` and, in one random scored month, a Poisson count with mean ``after``; power
    is the share of those months flagged. False spikes elsewhere in the same runs give the
    realised share of false discoveries.

The rule is the one the site runs (``collectwatch.aggregate.spike_test``) with the settings
of data/site.yaml. For comparison, the rule it replaced (median + 3.5 × scaled MAD of the
previous 12 months, MAD floored at 1, at least 5 complaints) is run on the same data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sections  # noqa: E402  (benchmarks/, this script's folder)

from collectwatch.aggregate import spike_test  # noqa: E402
from collectwatch.config import load_config  # noqa: E402

RESULTS = ROOT / "data" / "spike_benchmark.json"
DOC = ROOT / "docs" / "benchmarks.md"
START, END = sections.markers("spikes")

SEED = 12
LENDERS = 2_000
BEHAVIOURS = 25
MONTHS = 36
REPLICATES = 5
PLANTED = 40  # series per jump size and run: few, as real spikes are
JUMPS = [(5, 35), (5, 15), (20, 40), (2, 10), (50, 100)]
OVERDISPERSION = 2.0  # variance / mean of scenario (b)
TARGET_RATE = 1 / 2_000  # at most one false spike per 2,000 lender-behaviour-months
OTHER_FDR = [0.01, 0.2]  # also measured, to show what another setting would trade


def volumes(rng: np.random.Generator, lenders: int, behaviours: int) -> np.ndarray:
    """Mean monthly complaints of each lender × behaviour (lenders × behaviours)."""
    total = np.exp(rng.normal(math.log(12), 1.5, lenders))
    share = 1 / np.arange(1, behaviours + 1)
    share /= share.sum()
    shares = np.stack([rng.permutation(share) for _ in range(lenders)])
    return total[:, None] * shares


def counts(rng, means: np.ndarray, months: int, dispersion: float = 1.0) -> np.ndarray:
    """Counts (series × months): Poisson, or gamma-mixed Poisson with variance φ × mean."""
    lam = np.repeat(means[:, None], months, axis=1)
    if dispersion > 1:
        shape = lam / (dispersion - 1)
        lam = rng.gamma(np.maximum(shape, 1e-12), (dispersion - 1), lam.shape)
    return rng.poisson(lam)


def run_rule(x: np.ndarray, settings: dict) -> tuple[dict[float, np.ndarray], int]:
    """The site's rule on a (series × months) array → spikes (same shape) at the site's
    false discovery rate and at each of ``OTHER_FDR``, and the number of months tested."""
    n, months = x.shape
    found, tested = spike_test(
        np.repeat(np.arange(n), months),
        np.zeros(n * months, dtype="int64"),
        np.tile(np.arange(months), n),
        x.ravel(),
        None,
        settings,
    )
    rows, q = found["row"].to_numpy(), found["q_value"].to_numpy()
    out = {}
    for level in levels(settings):
        hit = np.zeros(n * months, dtype=bool)
        hit[rows[q <= level]] = True
        out[level] = hit.reshape(n, months)
    return out, len(tested)


def levels(settings: dict) -> list[float]:
    return sorted({float(settings["false_discovery_rate"]), *OTHER_FDR})


def old_rule(x: np.ndarray, w: int = 12, min_count: int = 5, threshold: float = 3.5):
    """The replaced rule: (count − median) / max(1.4826 · MAD, 1) ≥ threshold."""
    from numpy.lib.stride_tricks import sliding_window_view

    hit = np.zeros(x.shape, dtype=bool)
    win = sliding_window_view(x[:, :-1], w, axis=1).astype("float64")  # months w … end
    med = np.median(win, axis=2)
    mad = np.median(np.abs(win - med[..., None]), axis=2)
    cur = x[:, w:]
    score = (cur - med) / np.maximum(1.4826 * mad, 1.0)
    hit[:, w:] = (cur >= min_count) & (score >= threshold)
    return hit


def poisson_upper(k: int, level: float = 0.95) -> float:
    """Exact one-sided upper confidence bound for a Poisson count ``k`` (Garwood)."""
    lo, hi = float(k), float(k) + 10 * math.sqrt(k + 1) + 10
    target = 1 - level
    for _ in range(200):  # bisection on P(X ≤ k | mu) = 1 − level
        mid = (lo + hi) / 2
        cdf = sum(math.exp(-mid + j * math.log(mid) - math.lgamma(j + 1)) for j in range(k + 1))
        lo, hi = (mid, hi) if cdf > target else (lo, mid)
    return hi


def poisson_sf(k: int, mu: float) -> float:
    """P(Poisson(mu) ≥ k)."""
    return 1 - sum(math.exp(-mu + j * math.log(mu) - math.lgamma(j + 1)) for j in range(k))


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def null_run(rng, settings, lenders, behaviours, months, dispersion, w) -> dict:
    means = volumes(rng, lenders, behaviours).ravel()
    x = counts(rng, means, months, dispersion)
    hits, tested = run_rule(x, settings)
    return {
        "scored": int(x.shape[0] * (months - w)),
        "tested": tested,
        "false": {level: int(h.sum()) for level, h in hits.items()},
        "old_false": int(old_rule(x, w).sum()),
        "means": means,
    }


def rate_summary(false: int, scored: int, tested: int) -> dict:
    upper = poisson_upper(false)
    return {
        "lender_behaviour_months": scored,
        "tested": tested,
        "false_spikes": false,
        "rate": false / scored,
        "rate_upper95": upper / scored,
        "per_2000": 2000 * false / scored,
        "per_2000_upper95": 2000 * upper / scored,
        "per_2000_tested": 2000 * false / tested if tested else float("nan"),
        "meets_target": upper / scored <= TARGET_RATE,
    }


def power_run(rng, settings, lenders, behaviours, months, w, planted) -> dict:
    means = volumes(rng, lenders, behaviours).ravel()
    chosen = rng.choice(len(means), size=planted * len(JUMPS), replace=False)
    when = rng.integers(w, months, size=len(chosen))
    for j, (before, _) in enumerate(JUMPS):
        means[chosen[j * planted : (j + 1) * planted]] = before
    x = counts(rng, means, months)
    for j, (_, after) in enumerate(JUMPS):
        part = slice(j * planted, (j + 1) * planted)
        x[chosen[part], when[part]] = rng.poisson(after, planted)
    (hits, _), old = run_rule(x, settings), old_rule(x, w)
    planted_mask = np.zeros(x.shape, dtype=bool)
    planted_mask[chosen, when] = True

    def per_jump(caught: np.ndarray) -> list[int]:
        return [int(caught[j * planted : (j + 1) * planted].sum()) for j in range(len(JUMPS))]

    return {
        "caught": {level: per_jump(h[chosen, when]) for level, h in hits.items()},
        "old_caught": per_jump(old[chosen, when]),
        "false": {level: int((h & ~planted_mask).sum()) for level, h in hits.items()},
        "spikes": {level: int(h.sum()) for level, h in hits.items()},
        "old_false": int((old & ~planted_mask).sum()),
        "scored": int(x.shape[0] * (months - w)),
    }


def measure(args) -> dict:
    settings = dict(load_config().site["spikes"])
    w = int(settings["baseline_months"])
    site_level = float(settings["false_discovery_rate"])
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    out: dict = {
        "settings": settings,
        "simulation": {
            "seed": args.seed,
            "lenders": args.lenders,
            "behaviours": BEHAVIOURS,
            "months": MONTHS,
            "scored_months": MONTHS - w,
            "replicates": args.replicates,
            "planted_per_jump": args.planted * args.replicates,
            "overdispersion": OVERDISPERSION,
        },
        "target_per_2000": TARGET_RATE * 2000,
    }
    nulls = {}
    for name, phi in (("poisson", 1.0), ("overdispersed", OVERDISPERSION)):
        runs = [
            null_run(rng, settings, args.lenders, BEHAVIOURS, MONTHS, phi, w)
            for _ in range(args.replicates)
        ]
        nulls[name] = runs
        scored = sum(r["scored"] for r in runs)
        tested = sum(r["tested"] for r in runs)
        res = rate_summary(sum(r["false"][site_level] for r in runs), scored, tested)
        res["old_rule_false_spikes"] = sum(r["old_false"] for r in runs)
        res["old_rule_per_2000"] = 2000 * res["old_rule_false_spikes"] / scored
        out[name] = res
        if name == "poisson":
            means = np.concatenate([r["means"] for r in runs])
            out["volumes"] = {
                "share_below_0_2": float((means < 0.2).mean()),
                "share_0_2_to_5": float(((means >= 0.2) & (means <= 5)).mean()),
                "share_5_to_20": float(((means > 5) & (means < 20)).mean()),
                "share_20_to_200": float(((means >= 20) & (means <= 200)).mean()),
                "share_above_200": float((means > 200).mean()),
                "quantiles": {
                    str(q): round(float(np.quantile(means, q)), 3)
                    for q in (0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999)
                },
            }
    runs = [
        power_run(rng, settings, args.lenders, BEHAVIOURS, MONTHS, w, args.planted)
        for _ in range(args.replicates)
    ]
    n = args.planted * args.replicates
    scored = sum(r["scored"] for r in runs)

    def jumps_at(level: float) -> list[dict]:
        rows = []
        for j, (before, after) in enumerate(JUMPS):
            k = sum(r["caught"][level][j] for r in runs)
            lo, hi = wilson(k, n)
            rows.append(
                {
                    "before": before,
                    "after": after,
                    "planted": n,
                    "caught": k,
                    "power": k / n,
                    "power_lo": lo,
                    "power_hi": hi,
                }
            )
        return rows

    out["jumps"] = jumps_at(site_level)
    for j, row in enumerate(out["jumps"]):
        row["old_rule_power"] = sum(r["old_caught"][j] for r in runs) / n
    spikes = sum(r["spikes"][site_level] for r in runs)
    false = sum(r["false"][site_level] for r in runs)
    out["with_jumps"] = {
        "spikes": spikes,
        "false_spikes": false,
        "false_share": false / spikes if spikes else 0.0,
        "per_2000": 2000 * false / scored,
        "old_rule_false_spikes": sum(r["old_false"] for r in runs),
    }
    out["other_settings"] = []
    for level in levels(settings):
        row = {"false_discovery_rate": level}
        for name, null in nulls.items():
            null_scored = sum(r["scored"] for r in null)
            row[f"{name}_per_2000"] = 2000 * sum(r["false"][level] for r in null) / null_scored
        row["power"] = {f"{j['before']}->{j['after']}": j["power"] for j in jumps_at(level)}
        out["other_settings"].append(row)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    out["run"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def markdown(res: dict) -> str:
    s, sim, v = res["settings"], res["simulation"], res["volumes"]
    lines = [
        START,
        "## Spikes: false alarms and power",
        "",
        "Measured by `benchmarks/spikes.py` (run by `make bench`, or alone with "
        "`make bench-spikes`), which also writes `data/spike_benchmark.json` for the "
        f"methodology page. Run {res['run']}, {res['seconds']} s.",
        "",
        f"Settings (data/site.yaml): min_count {s['min_count']}, baseline_months "
        f"{s['baseline_months']}, min_ratio {s['min_ratio']}, false_discovery_rate "
        f"{s['false_discovery_rate']}. Simulation: {sim['replicates']} runs of "
        f"{sim['lenders']:,} lenders × {sim['behaviours']} behaviours × {sim['months']} months "
        f"({sim['scored_months']} scored), seed {sim['seed']}. Lender-behaviour means: "
        f"{_pct(v['share_below_0_2'])} below 0.2 a month, {_pct(v['share_0_2_to_5'])} "
        f"0.2–5, {_pct(v['share_5_to_20'])} 5–20, {_pct(v['share_20_to_200'])} 20–200, "
        f"{_pct(v['share_above_200'])} above 200 (median {v['quantiles']['0.5']}, "
        f"99th percentile {v['quantiles']['0.99']}).",
        "",
        "| steady data | lender-behaviour-months | tested | false spikes | per 2,000 "
        "(95% upper bound) | target | old rule: false spikes (per 2,000) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, name in (
        ("poisson", "Poisson"),
        ("overdispersed", f"over-dispersed (variance = {sim['overdispersion']:g} × mean)"),
    ):
        r = res[key]
        lines.append(
            f"| {name} | {r['lender_behaviour_months']:,} | {r['tested']:,} | "
            f"{r['false_spikes']:,} | {r['per_2000']:.4f} ({r['per_2000_upper95']:.4f}) | "
            f"≤ {res['target_per_2000']:g} {'met' if r['meets_target'] else '**MISSED**'} | "
            f"{r['old_rule_false_spikes']:,} ({r['old_rule_per_2000']:.2f}) |"
        )
    w = res["with_jumps"]
    lines += [
        "",
        "*Tested* months are those whose month and baseline hold at least min_count "
        "complaints together: the others cannot reach min_count, and the correction does "
        "not count them.",
        "",
        f"Power: {sim['planted_per_jump']} planted one-month jumps per size, on the Poisson "
        "volumes above (a series with a constant mean *before*, then one month with mean "
        f"*after*). In those runs {w['spikes']:,} months were flagged, {w['false_spikes']:,} "
        f"of them not planted ({_pct(w['false_share'])}; old rule: "
        f"{w['old_rule_false_spikes']:,} false).",
        "",
        "| jump (mean a month) | caught | power (95% interval) | old rule |",
        "|---|---:|---:|---:|",
    ]
    for j in res["jumps"]:
        lines.append(
            f"| {j['before']} → {j['after']} | {j['caught']} / {j['planted']} | "
            f"{_pct(j['power'])} ({_pct(j['power_lo'])}–{_pct(j['power_hi'])}) | "
            f"{_pct(j['old_rule_power'])} |"
        )
    others = res["other_settings"]
    lines += [
        "",
        "The same runs judged at other false discovery rates (spikes.false_discovery_rate): "
        "false spikes per 2,000 lender-behaviour-months on steady data, and power.",
        "",
        "| false_discovery_rate | Poisson | over-dispersed | "
        + " | ".join(f"{j['before']} → {j['after']}" for j in res["jumps"])
        + " |",
        "|---:|---:|---:|" + "---:|" * len(res["jumps"]),
    ]
    for o in others:
        lines.append(
            f"| {o['false_discovery_rate']:g} | {o['poisson_per_2000']:.4f} | "
            f"{o['overdispersed_per_2000']:.4f} | "
            + " | ".join(_pct(v) for v in o["power"].values())
            + " |"
        )
    lines += [
        "",
        "Power depends on how many series are tested in a month (the Benjamini–Hochberg "
        "correction) and on how many other months are flagged with it; these runs test "
        f"{res['poisson']['tested'] / (sim['replicates'] * sim['scored_months']):,.0f} "
        f"series-months a month ({sim['lenders']:,} lenders). A steady series of 5 a "
        f"month reaches 15 by chance alone once in {1 / poisson_sf(15, 5):,.0f} months, "
        "so among that many series such months come every month.",
        END,
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--lenders", type=int, default=LENDERS)
    p.add_argument("--replicates", type=int, default=REPLICATES)
    p.add_argument("--planted", type=int, default=PLANTED, help="per jump size and run")
    p.add_argument("--quick", action="store_true", help="200 lenders, 1 run; writes nothing")
    p.add_argument("--doc", type=Path, help=f"report to update (default {DOC})")
    p.add_argument("--json", type=Path, help=f"results file (default {RESULTS})")
    args = p.parse_args(argv)
    if args.quick:
        args.lenders, args.replicates, args.planted = 200, 1, 20
    res = measure(args)
    if not args.quick or args.json:
        path = args.json or RESULTS
        path.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path}")
    if not args.quick or args.doc:
        doc = args.doc or DOC
        sections.write_section(doc, "spikes", markdown(res))
        print(f"wrote {doc}")
    print(markdown(res))
    return 0 if res["poisson"]["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
