"""Spikes: the exact Poisson test, the multiplicity correction, coverage, and the benchmark.

A spike is a month whose count a steady series would reach only by rare chance, judged
against a baseline that the data covers in full (see aggregate._spikes).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from collectwatch import paths
from collectwatch.aggregate import (
    MARKET,
    bh_adjust,
    build_tables,
    covered_windows,
    jump_log_pvalue,
    spike_test,
)
from collectwatch.config import check_spikes, load_config
from collectwatch.errors import UserError

from .test_aggregate import SITE, TAXONOMY, monthly_series, one, rows_of, tags

SETTINGS = SITE["spikes"]
END = pd.Timestamp("2024-12-31")
STEADY_5 = [5, 4, 6, 5, 5, 6, 4, 5, 5, 4, 6, 5]  # mean 5, less noisy than Poisson


def spikes_for(table, coverage=None, **settings) -> pd.DataFrame:
    site = {**SITE, "spikes": {**SETTINGS, **settings}}
    return build_tables(table, tags().iloc[:0], TAXONOMY, site, END, coverage=coverage)["spikes"]


def coverage_of(first: str, last: str, status: dict[str, str] | None = None) -> pd.DataFrame:
    """Every month from ``first`` to ``last`` covered, except those named in ``status``."""
    months = pd.date_range(first + "-01", last + "-01", freq="MS").astype("datetime64[s]")
    labels = [str(m)[:7] for m in months]
    return pd.DataFrame(
        {
            "month": months,
            "status": pd.array([(status or {}).get(x, "covered") for x in labels], "string"),
        }
    )


def exact_tail(count: int, window_sum: int, months: int) -> float:
    """P(Binomial(count + window_sum, 1 / (months + 1)) ≥ count), term by term."""
    n, p = count + window_sum, 1 / (months + 1)
    return sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(count, n + 1))


# ── the statistics ─────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("count", "window_sum"),
    [(1, 0), (5, 0), (8, 0), (20, 36), (35, 60), (15, 60), (10, 24), (3, 40), (100, 600)],
)
def test_the_p_value_is_the_exact_binomial_tail(count, window_sum):
    got = math.exp(jump_log_pvalue(np.array([count]), np.array([window_sum]), 12)[0])
    assert got == pytest.approx(exact_tail(count, window_sum, 12), rel=1e-9)


def test_the_p_value_keeps_its_precision_far_in_the_tail():
    log_p = jump_log_pvalue(np.array([400]), np.array([120]), 12)[0]
    assert np.isfinite(log_p) and log_p < math.log(1e-300)  # exp() would underflow to 0
    assert jump_log_pvalue(np.array([0]), np.array([50]), 12)[0] == 0.0  # P(X ≥ 0) = 1


def test_dispersion_counts_a_noisy_series_as_fewer_complaints():
    plain = jump_log_pvalue(np.array([20]), np.array([36]), 12)[0]
    noisy = jump_log_pvalue(np.array([20]), np.array([36]), 12, 2.0)[0]
    assert noisy > plain  # a larger p-value
    # Dividing by 2 is the binomial tail of 10 against 18 (here at whole numbers).
    assert noisy == pytest.approx(math.log(exact_tail(10, 18, 12)), rel=1e-9)


def test_benjamini_hochberg_matches_a_reference_within_each_month():
    rng = np.random.default_rng(5)
    p = rng.uniform(0, 0.05, 40) ** 2
    groups = rng.integers(0, 3, 40)
    tests = np.array([100, 250, 40])[groups]
    q = bh_adjust(p, groups, tests)
    for g in range(3):
        ps, size = p[groups == g], [100, 250, 40][g]
        order = np.argsort(ps)
        raw = ps[order] * size / np.arange(1, len(ps) + 1)
        ref = np.minimum(np.minimum.accumulate(raw[::-1])[::-1], 1)
        assert np.allclose(q[groups == g][order], ref)
    assert (q >= p).all()


def test_covered_windows_need_the_month_and_its_whole_baseline():
    full = np.arange(100, 130)
    m = np.array([111, 112, 129, 130, 140])
    assert covered_windows(m, full, 12).tolist() == [False, True, True, False, False]
    assert covered_windows(m, None, 12).all()
    holed = np.setdiff1d(full, [115])  # 115 is in the windows of 115 … 127
    got = covered_windows(np.array([115, 127, 128]), holed, 12)
    assert got.tolist() == [False, False, True]


# ── the rule on steady and jumping series ──────────────────────────────────────────────


def simulate(rng, means: np.ndarray, months: int) -> tuple[np.ndarray, ...]:
    counts = rng.poisson(np.repeat(means[:, None], months, axis=1))
    n = len(means)
    return (
        np.repeat(np.arange(n), months),
        np.zeros(n * months, dtype="int64"),
        np.tile(np.arange(months), n),
        counts.ravel(),
    )


def test_steady_poisson_series_give_almost_no_spikes():
    # 10,000 series with heavy-tailed means (many 0.2–5 a month, some 20–200), 24 scored
    # months: 240,000 lender-behaviour-months. The target is at most one false spike per
    # 2,000, i.e. 120 here; the rule should be far below it. The old rule gave ~1,400.
    rng = np.random.default_rng(2024)
    means = np.exp(rng.normal(math.log(1.0), 1.6, 10_000))
    found, tested = spike_test(*simulate(rng, means, 36), None, SETTINGS)
    assert len(tested) > 50_000
    assert int(found["spike"].sum()) <= 3


def test_a_jump_from_5_to_35_is_caught_among_many_steady_series():
    rng = np.random.default_rng(7)
    means = np.exp(rng.normal(math.log(1.0), 1.6, 5_000))
    means[:50] = 5.0
    lender, b, m, x = simulate(rng, means, 30)
    jump = np.arange(50) * 30 + 20  # month 20 of the first 50 series
    x[jump] = rng.poisson(35, 50)
    found, _ = spike_test(lender, b, m, x, None, SETTINGS)
    caught = np.isin(jump, found.loc[found["spike"], "row"])
    assert caught.mean() >= 0.95


def test_a_jump_after_a_steady_year_is_a_spike_with_its_statistics():
    spike = one(spikes_for(monthly_series(STEADY_5 + [35])), lender="Spiky")
    assert spike["month"] == pd.Timestamp("2020-01-01")
    assert spike["complaints"] == 35 and spike["baseline"] == 5.0
    assert spike["ratio"] == pytest.approx(7.0) and spike["dispersion"] == 1.0
    assert spike["p_value"] == pytest.approx(exact_tail(35, 60, 12), rel=1e-9)
    assert spike["q_value"] == pytest.approx(spike["p_value"])  # one series tested
    assert spike["score"] == pytest.approx(-math.log10(spike["p_value"]), abs=0.01)


def test_a_small_rise_is_not_a_spike():
    # 9 against a steady 5: ratio 1.8, but p ≈ 0.04 is no rare event.
    assert spikes_for(monthly_series(STEADY_5 + [9])).empty
    # 7 against 5 would pass the test on a long enough series, not min_ratio (1.5).
    assert spikes_for(monthly_series(STEADY_5 + [7]), false_discovery_rate=0.99).empty


def test_a_bursty_history_raises_the_bar():
    # 15 after a year that swung between 0 and 12 (mean 3, variance 21): the dispersion
    # (7.1) counts the complaints as fewer, and 15 is no longer rare (p ≈ 0.08). After a
    # steady year with the same mean it is a spike.
    bursty = [0, 10, 0, 0, 9, 0, 1, 0, 12, 0, 0, 4]
    assert spikes_for(monthly_series(bursty + [15])).empty
    steady = one(
        spikes_for(monthly_series([3, 2, 4, 3, 3, 2, 4, 3, 3, 2, 4, 3, 15])), lender="Spiky"
    )
    assert steady["baseline"] == 3 and steady["dispersion"] == 1


def test_a_burst_after_a_year_of_none_needs_min_count():
    # Decision: a behaviour that appears after a full baseline year with none is a spike
    # when it reaches min_count and passes the test (ratio is empty: nothing to divide by).
    # 8 after twelve empty months has p = 13^-8. 4 is below min_count (5), whatever its p.
    spike = one(spikes_for(monthly_series([1] + [0] * 12 + [8])), lender="Spiky")
    assert spike["baseline"] == 0 and pd.isna(spike["ratio"])
    assert spike["p_value"] == pytest.approx(13.0**-8)
    assert spikes_for(monthly_series([1] + [0] * 12 + [4])).empty


def test_many_series_tested_in_a_month_raise_the_bar():
    # p(13^-5) ≈ 2.7e-6 is a spike alone, but not when a million series are tested.
    found, _ = spike_test([0] * 13, [0] * 13, range(13), [0] * 12 + [5], None, SETTINGS)
    assert found["spike"].all()
    q = bh_adjust(np.exp(found["log_p"]), [12], [1_000_000])
    assert (q > SETTINGS["false_discovery_rate"]).all()


# ── coverage ───────────────────────────────────────────────────────────────────────────


def test_a_month_after_an_uncovered_gap_is_not_scored():
    table = monthly_series(STEADY_5 + [35])  # 2019-01 … 2020-01, the jump in 2020-01
    assert len(spikes_for(table, coverage_of("2019-01", "2020-01"))) == 2  # lender, market
    gap = coverage_of("2019-01", "2020-01", {"2019-05": "none"})
    assert spikes_for(table, gap).empty


def test_a_baseline_touching_a_partial_month_is_not_scored():
    table = monthly_series(STEADY_5 + [35])
    assert spikes_for(table, coverage_of("2019-01", "2020-01", {"2019-01": "partial"})).empty
    # The month itself partial: not scored either.
    assert spikes_for(table, coverage_of("2019-01", "2020-01", {"2020-01": "partial"})).empty
    # A partial month just before the baseline does not matter.
    earlier = monthly_series([5] + STEADY_5 + [35], start="2018-12")
    cov = coverage_of("2018-12", "2020-01", {"2018-12": "partial"})
    assert len(rows_of(spikes_for(earlier, cov), lender="Spiky")) == 1


def test_the_month_after_a_sample_file_hole_waits_for_a_full_baseline():
    # 2014-10-like: complaints, eleven uncovered empty months, then a burst in the first
    # covered month. With coverage known, nothing is scored until 12 covered months
    # have passed; without it, the zero-filled hole looks like a quiet year.
    counts = [1] + [0] * 11 + [9, 8, 10]
    table = monthly_series(counts, start="2013-10")
    assert not spikes_for(table).empty
    none = {f"2013-{m:02d}": "none" for m in range(11, 13)}
    none |= {f"2014-{m:02d}": "none" for m in range(1, 10)}
    assert spikes_for(table, coverage_of("2013-10", "2014-12", none)).empty


def test_without_coverage_every_month_of_the_data_counts_as_covered():
    table = monthly_series(STEADY_5 + [35])
    pd.testing.assert_frame_equal(
        spikes_for(table), spikes_for(table, coverage_of("2019-01", "2020-01"))
    )


# ── the output table ───────────────────────────────────────────────────────────────────


def test_columns_and_dtypes_match_the_published_schema():
    spikes = spikes_for(monthly_series(STEADY_5 + [35]))
    fields = yaml.safe_load((paths.ROOT / "data" / "tables.yaml").read_text("utf-8"))["spikes"]
    assert list(spikes.columns) == list(fields["fields"])
    assert spikes["complaints"].dtype == "int64"
    for col in ("baseline", "dispersion", "p_value", "q_value", "score"):
        assert spikes[col].dtype == "float64", col
    assert spikes["ratio"].dtype == "Float64"
    assert spikes["near_taxonomy_change"].dtype == bool and spikes["provisional"].dtype == bool
    assert ((spikes["p_value"] > 0) & (spikes["p_value"] <= spikes["q_value"])).all()
    assert (spikes["dispersion"] >= 1).all()
    market = one(spikes, lender=MARKET)
    assert market["complaints"] == 35


def test_an_empty_input_gives_an_empty_table_with_the_columns():
    empty = monthly_series([]).iloc[:0]
    spikes = spikes_for(empty)
    assert spikes.empty
    fields = yaml.safe_load((paths.ROOT / "data" / "tables.yaml").read_text("utf-8"))["spikes"]
    assert list(spikes.columns) == list(fields["fields"])


def test_spikes_are_deterministic_and_do_not_depend_on_row_order():
    rng = np.random.default_rng(3)
    parts = [
        monthly_series(list(rng.poisson(4, 24)) + [30], lender=f"L{i}").assign(
            complaint_id=lambda d, i=i: f"{i}-" + d["complaint_id"]
        )
        for i in range(4)
    ]
    table = pd.concat(parts, ignore_index=True)
    first = spikes_for(table)
    assert not first.empty
    pd.testing.assert_frame_equal(first, spikes_for(table))
    shuffled = table.sample(frac=1, random_state=1).reset_index(drop=True)
    pd.testing.assert_frame_equal(first, spikes_for(shuffled))


# ── settings and the benchmark ─────────────────────────────────────────────────────────


def test_the_site_settings_validate_and_bad_ones_are_user_errors():
    check_spikes(load_config().site["spikes"], "site.yaml")
    for key, bad in (
        ("false_discovery_rate", 0),
        ("false_discovery_rate", 1.5),
        ("baseline_months", 1),
        ("min_count", 0),
        ("min_ratio", 0.5),
    ):
        with pytest.raises(UserError, match=f"spikes.{key}"):
            check_spikes({**SETTINGS, key: bad}, "site.yaml")


def test_the_quick_benchmark_runs_and_writes_its_section(tmp_path):
    doc, out = tmp_path / "benchmarks.md", tmp_path / "spikes.json"
    doc.write_text("# Benchmarks\n\nother sections\n", encoding="utf-8")
    cmd = [sys.executable, str(paths.ROOT / "benchmarks" / "spikes.py"), "--quick"]
    for _ in range(2):  # the second run replaces the section, it does not add another
        proc = subprocess.run(
            [*cmd, "--doc", str(doc), "--json", str(out)],
            cwd=paths.ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\nother sections\n")
    assert text.count("## Spikes: false alarms and power") == 1
    res = json.loads(out.read_text(encoding="utf-8"))
    assert res["poisson"]["meets_target"]
    assert {(j["before"], j["after"]) for j in res["jumps"]} >= {(5, 35), (5, 15), (2, 10)}


def test_the_committed_benchmark_results_match_the_site_settings():
    res = json.loads((paths.ROOT / "data" / "spike_benchmark.json").read_text("utf-8"))
    assert res["settings"] == load_config().site["spikes"]
    assert res["poisson"]["meets_target"]
    assert res["poisson"]["lender_behaviour_months"] >= 200_000
    assert next(j for j in res["jumps"] if (j["before"], j["after"]) == (5, 35))["power"] > 0.9
