"""The benchmark keeps working (its 10 k-row smoke run), and streaming changes nothing.

The full benchmark (`make bench`) is not part of the test suite; the smoke run is, so that
the generator, the measurements and the report writer cannot rot. The second half checks
that reading a file in bounded batches gives exactly the table a whole-file read gives.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pandas as pd
import pytest

import collectwatch.ingest as ingest
from collectwatch import paths

from .conftest import REAL_CFPB

BENCH = paths.ROOT / "benchmarks"
WHOLE_FILE = 10**9  # a batch larger than any file: the whole-file reference read


# --- the benchmark --------------------------------------------------------------------


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench")
    doc, raw = folder / "benchmarks.md", folder / "results.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH / "run.py"),
            "--smoke",
            "--quiet",
            "--doc",
            str(doc),
            "--json",
            str(raw),
        ],
        cwd=paths.ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc, doc, raw


def test_smoke_benchmark_exits_cleanly_and_writes_its_report(smoke):
    proc, doc, raw = smoke
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert doc.exists() and raw.exists()
    assert f"wrote {doc}" in proc.stdout


def test_smoke_benchmark_reports_every_measurement(smoke):
    proc, doc, raw = smoke
    results = json.loads(raw.read_text())
    sizes = results["sizes"]
    assert len(sizes) == 2
    got = {(m["id"], m["rows"]): m for m in results["measurements"]}
    for rows in sizes:
        for mid in ("a", "b", "c"):
            m = got[(mid, rows)]
            assert m["returncode"] == 0, m["stderr"]
            assert m["data"]["work_s"] > 0 and m["rss_mib"] > 0
        # Everyone counts the same Debt collection rows: ingest, DuckDB and the cache.
        in_scope = {got[(mid, rows)]["data"]["rows_in_scope"] for mid in ("a", "b", "c")}
        assert len(in_scope) == 1 and in_scope.pop() > 0
        assert got[("a", rows)]["data"]["rows_read"] == rows
        assert got[("c", rows)]["data"]["cache"] == "hit"
    for lenders in results["lender_counts"]:
        d = next(m for m in results["measurements"] if m["id"] == f"d{lenders}")
        assert d.get("skipped") or (d["returncode"] == 0 and d["wall_s"] > 0), d
        if not d.get("skipped"):
            assert d["data"]["complaints"] == results["lender_rows"]
            assert 0 < d["data"]["lender_pages"] <= lenders
    # The diagnostic: the bigger file with about as many rows in scope as the smaller one.
    sparse = got[("a_sparse", max(sizes))]
    assert sparse["returncode"] == 0, sparse["stderr"]
    kept, small = sparse["data"]["rows_in_scope"], got[("a", min(sizes))]["data"]["rows_in_scope"]
    assert 0.75 * small < kept < 1.25 * small
    targets = {t["id"] for t in results["targets"]}
    assert targets == {"a/b", "rss", "rss-growth", "rss-sparse", "c/a", "d"}
    assert all(t["status"] in {"PASS", "MISS", "n/a"} for t in results["targets"])
    text = doc.read_text()
    for heading in (
        "## Machine",
        "## Input files",
        "## Results",
        "## Targets",
        "## Why the misses",
        "cumulative",
    ):
        assert heading in text
    assert "PASS" in text or "MISS" in text


def test_generator_is_cfpb_shaped_and_deterministic(tmp_path):
    sys.path.insert(0, str(BENCH))
    try:
        import generate
    finally:
        sys.path.remove(str(BENCH))
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    generate.write(a, 3000, seed=7)
    generate.write(b, 3000, seed=7)
    assert a.read_bytes() == b.read_bytes()
    with open(a, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, rows = rows[0], rows[1:]
    assert header == generate.HEADER and len(rows) == 3000
    assert all(len(r) == 18 for r in rows)
    assert len({r[17] for r in rows}) == 3000  # unique Complaint IDs
    dc = sum(r[1] == "Debt collection" for r in rows) / len(rows)
    narratives = [r[5] for r in rows if r[5]]
    assert 0.15 < dc < 0.25
    assert 0.25 < len(narratives) / len(rows) < 0.35
    assert all(100 <= len(n) <= 2000 for n in narratives)
    assert any("\n" in n for n in narratives) and any('"' in n for n in narratives)
    assert min(r[0] for r in rows) >= "2011-12-01" and max(r[0] for r in rows) <= "2026-11-20"


# --- streaming ingest == whole-file read ---------------------------------------------------

REAL_FILES = sorted(p.name for p in REAL_CFPB.glob("*.csv")) if REAL_CFPB.exists() else []


def _read(monkeypatch, names: list[str], batch_rows: int, config) -> ingest.IngestResult:
    monkeypatch.setattr(ingest, "BATCH_ROWS", batch_rows)
    return ingest.read_inputs(
        [str(REAL_CFPB / n) for n in names], config.sources, config.lenders, cache_dir=None
    )


def _records(frame: pd.DataFrame) -> list[tuple]:
    """Rows as plain tuples with one missing marker, so dtype flavours don't matter."""
    return [
        tuple(None if pd.isna(v) else v for v in row)
        for row in frame.astype(object).itertuples(index=False)
    ]


def assert_same_ingest(streamed: ingest.IngestResult, whole: ingest.IngestResult) -> None:
    pd.testing.assert_frame_equal(streamed.table, whole.table, check_exact=True)
    assert streamed.inputs == whole.inputs  # every reconciliation count, per file
    assert streamed.folds == whole.folds
    assert list(streamed.quarantine.columns) == list(whole.quarantine.columns)
    assert _records(streamed.quarantine) == _records(whole.quarantine)


def _small_batch(name: str) -> int:
    """7 rows per batch where that stays quick; bigger files still get dozens of batches."""
    lines = (REAL_CFPB / name).read_bytes().count(b"\n")
    return 7 if lines <= 3500 else 101


@pytest.mark.skipif(not REAL_FILES, reason=f"real samples not here ({paths.REAL_DATA})")
@pytest.mark.parametrize("name", REAL_FILES)
def test_streaming_ingest_equals_whole_file_read(name, monkeypatch, config):
    whole = _read(monkeypatch, [name], WHOLE_FILE, config)
    assert whole.inputs[0]["rows_read"] > 0
    for batch_rows in (ingest.BATCH_ROWS, _small_batch(name)):
        assert_same_ingest(_read(monkeypatch, [name], batch_rows, config), whole)


@pytest.mark.skipif(not REAL_FILES, reason=f"real samples not here ({paths.REAL_DATA})")
def test_streaming_keeps_multi_file_reads_and_duplicates_identical(monkeypatch, config):
    # A file given twice: every in-scope row of the second copy is a duplicate.
    names = [
        "cfpb_2016-09_standard18_349rows.csv",
        "cfpb_2023-09_export_head_TRUNCATED_1MiB.csv",
        "cfpb_2016-09_standard18_349rows.csv",
    ]
    whole = _read(monkeypatch, names, WHOLE_FILE, config)
    assert_same_ingest(_read(monkeypatch, names, 13, config), whole)
    assert whole.inputs[2]["rows_duplicate"] == whole.inputs[0]["rows_in_scope"] > 0


@pytest.mark.slow
def test_full_scale_benchmark_reports_each_target_stage_and_part(tmp_path):
    """make bench-full's script, on a small input: its section has every target, every stage
    and where the bytes go, and the other benchmarks' sections of the report survive."""
    doc, raw = tmp_path / "benchmarks.md", tmp_path / "full.json"
    doc.write_text("# Benchmarks\n\n<!-- audit:start -->\nkept\n<!-- audit:end -->\n")
    proc = subprocess.run(
        [sys.executable, str(BENCH / "full.py"), "--rows", "3000", "--companies", "40"]
        + ["--data-dir", str(tmp_path), "--doc", str(doc), "--json", str(raw)],
        cwd=paths.ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(raw.read_text())
    assert found["complaints"] == 3000  # --dc-share 1.0: every row is a debt-collection complaint
    stages = set(found["timings"]) - {"total"}
    assert {"ingest", "classify", "aggregate", "render"} <= stages == set(found["cpu"])
    assert found["site_files"] == sum(files for _, _, files in found["parts"]) > 100
    text = doc.read_text()
    assert "<!-- audit:start -->\nkept\n<!-- audit:end -->" in text
    section = text[text.index("<!-- full:start -->") : text.index("<!-- full:end -->")]
    for row in ("whole build, wall time", "peak RSS", "site on disk", "files in the site"):
        assert f"| {row} |" in section
    for stage in stages:
        assert f"| {stage} |" in section
    assert "`data/charts`" in section and "`zh/lenders`" in section
    assert proc.stdout.count("met") >= 4 and f"wrote {doc}" in proc.stdout


def test_classify_benchmark_times_both_revisions_and_checks_they_agree(tmp_path):
    doc = tmp_path / "benchmarks.md"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "classify.py"), "--rows", "3000", "--repeats", "1"]
        + ["--baseline", "HEAD", "--doc", str(doc)],
        capture_output=True,
        text=True,
        cwd=paths.ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    text = doc.read_text(encoding="utf-8")
    assert text.count("<!-- classify:start -->") == 1 and "<!-- classify:end -->" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "(×" in line]
    # The taxonomy's rules, then twice and four times as many; every cell measured.
    assert [r.split("|")[1].split("(")[1].strip(" )") for r in rows] == ["×1", "×2", "×4"]
    assert all(cell.strip().endswith(" s") for r in rows for cell in r.split("|")[2:6])
