"""Atomic, reproducible builds.

* A build killed at any moment (SIGKILL, no chance to clean up) leaves the output folder
  holding exactly the whole old site or exactly the whole new one, never a mix and never
  nothing; the next build clears the temporary folders a killed build leaves beside it.
* Two builds of the same inputs with the same SOURCE_DATE_EPOCH give byte-identical trees,
  apart from the build report's timings and its record of whether the ingest cache was used.
* A build refused for bad input (exit code 2) leaves an existing site untouched.

Sites are compared by manifest: every file's path and SHA-256.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from collectwatch import paths, render
from collectwatch.config import load_config
from collectwatch.ingest import read_inputs
from collectwatch.pipeline import DEMO_INPUTS

from .conftest import REAL_API, REAL_CFPB

pytestmark = pytest.mark.slow

EPOCH = "1790000000"
ENV = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
SMALL_REAL = "cfpb_2016-09_standard18_349rows.csv"  # a quick build that differs from the demo
REPORT = "data/build-report.json"
PAGEFIND_ENTRY = "pagefind/pagefind-entry.json"
DATAPACKAGE = "data/datapackage.json"
# What build-report.json may differ in between two builds of the same inputs: how long each
# stage took, and whether the ingest cache was off, missed or hit (a --no-cache build says
# "off" and 0 hits, a warm cached build "hit"; the rows it yields must not differ).
REPORT_VOLATILE = ("timings", "cpu", "cache")
INPUT_VOLATILE = ("cache",)


def manifest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative POSIX path) → SHA-256 of its bytes."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def stable_report(site: Path) -> dict:
    report = json.loads((site / REPORT).read_text(encoding="utf-8"))
    for key in REPORT_VOLATILE:
        report.pop(key, None)
    for item in report["inputs"]:
        for key in INPUT_VOLATILE:
            item.pop(key, None)
    return report


def comparable(folder: Path) -> dict[str, str]:
    """The manifest, with the build report reduced to its stable fields: what must not
    change between two builds."""
    files = manifest(folder)
    if REPORT in files:
        files[REPORT] = _canonical_hash(stable_report(folder))
    return files


def _canonical_hash(value) -> str:
    blob = json.dumps(value, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return "parsed:" + hashlib.sha256(blob).hexdigest()


def assert_same_tree(a: Path, b: Path) -> None:
    ma, mb = comparable(a), comparable(b)
    only_a, only_b = sorted(set(ma) - set(mb)), sorted(set(mb) - set(ma))
    assert not only_a and not only_b, (only_a[:20], only_b[:20])
    differ = sorted(f for f in ma if ma[f] != mb[f])
    assert not differ, f"{len(differ)} files differ: {differ[:20]}"


def temp_siblings(out: Path) -> list[str]:
    """Temporary folders of builds beside ``out`` (.site.tmp-PID, .site.old-PID)."""
    prefixes = (f".{out.name}.tmp-", f".{out.name}.old-")
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(prefixes))


def command(out: Path, *args: str) -> list[str]:
    return [sys.executable, str(paths.ROOT / "build.py"), "--quiet", "--out", str(out), *args]


def start(out: Path, *args: str) -> subprocess.Popen:
    # A process group of its own, so a kill also takes the Pagefind child with it.
    return subprocess.Popen(
        command(out, *args),
        cwd=paths.ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 600) -> None:
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    assert proc.returncode == 0, err[-3000:]


def build(out: Path, *args: str) -> float:
    """Build to completion; returns the wall time in seconds."""
    began = time.perf_counter()
    finish(start(out, *args))
    return time.perf_counter() - began


def kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):  # it may have finished already
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


def warm_cache(inputs: list[str]) -> None:
    """Parse ``inputs`` into the project's ingest cache, so that the next cached build hits."""
    config = load_config()
    folder = paths.CACHE / "ingest"
    folder.mkdir(parents=True, exist_ok=True)
    read_inputs(inputs, config.sources, config.lenders, cache_dir=folder)


def demo_inputs() -> list[str]:
    return [str(paths.ROOT / p) for p in DEMO_INPUTS]  # as the pipeline names them


def real_inputs() -> list[str]:
    if not REAL_CFPB.exists():
        pytest.skip(f"real samples are not here ({REAL_CFPB})")
    return sorted(str(p) for p in REAL_CFPB.glob("*.csv"))


def cache_counts(site: Path) -> dict:
    return json.loads((site / REPORT).read_text(encoding="utf-8"))["cache"]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("atomic")


# ── two builds of the same inputs ────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def demo_pair(work) -> tuple[Path, Path]:
    """The demo built twice at once: with --no-cache, and from a warm ingest cache."""
    warm_cache(demo_inputs())
    a, b = work / "demo-a" / "site", work / "demo-b" / "site"
    procs = [start(a, "--no-cache"), start(b)]
    for proc in procs:
        finish(proc)
    return a, b


def test_demo_builds_are_byte_identical(demo_pair):
    a, b = demo_pair
    assert cache_counts(a) == {"hits": 0, "misses": 0}
    assert cache_counts(b) == {"hits": len(DEMO_INPUTS), "misses": 0}
    assert_same_tree(a, b)


def test_real_sample_builds_are_byte_identical(work):
    inputs = real_inputs()
    warm_cache(inputs)
    a, b = work / "real-a" / "site", work / "real-b" / "site"
    procs = [start(a, "--no-cache", "--input", *inputs), start(b, "--input", *inputs)]
    for proc in procs:
        finish(proc)
    assert cache_counts(a) == {"hits": 0, "misses": 0}
    assert cache_counts(b) == {"hits": len(inputs), "misses": 0}
    assert_same_tree(a, b)


def test_search_index_entry_is_byte_reproducible(tmp_path):
    site = tmp_path / "site"
    (site / "zh").mkdir(parents=True)
    (site / "index.html").write_text(
        '<html lang="en"><body><main><h1>Debt collection</h1><p>calls at night</p>'
        "</main></body></html>",
        encoding="utf-8",
    )
    (site / "zh" / "index.html").write_text(
        '<html lang="zh-hans"><body><main><h1>催收</h1><p>夜间电话</p></main></body></html>',
        encoding="utf-8",
    )
    seen = set()
    for _ in range(12):  # two orders, so 12 equal runs by chance: 1 in 2048
        shutil.rmtree(site / "pagefind", ignore_errors=True)
        render.index_for_search(site)
        seen.add((site / PAGEFIND_ENTRY).read_bytes())
        if len(seen) > 1:
            break
    assert len(seen) == 1, sorted(seen)


def test_cache_hit_keeps_the_quarantine_column_types(tmp_path):
    header = "Date received,Product,Company,Complaint ID\n"
    cut = tmp_path / "cut.csv"  # one good row and a truncated one → one quarantine row
    cut.write_text(header + "2020-01-02,Debt collection,Acme,1\n2020-01-02,Debt\n")
    clean = tmp_path / "clean.csv"
    clean.write_text(header + "2020-01-02,Debt collection,Acme,2\n")
    config, cache = load_config(), tmp_path / "cache"
    cache.mkdir()
    inputs = [str(cut), str(clean)]
    parsed = read_inputs(inputs, config.sources, config.lenders, cache_dir=cache)
    cached = read_inputs(inputs, config.sources, config.lenders, cache_dir=cache)
    assert [i["cache"] for i in cached.inputs] == ["hit", "hit"]
    assert dict(cached.quarantine.dtypes) == dict(parsed.quarantine.dtypes)


# ── killed builds ────────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def new_site(work) -> tuple[Path, float, float]:
    """The site the killed builds were making, built whole, with its build and write times."""
    if not (REAL_CFPB / SMALL_REAL).exists():
        pytest.skip(f"real sample {SMALL_REAL} is not here")
    site = work / "new" / "site"
    seconds = build(site, "--no-cache", "--input", str(REAL_CFPB / SMALL_REAL))
    report = json.loads((site / REPORT).read_text(encoding="utf-8"))
    return site, seconds, report["timings"]["render"]


def wait_until(condition, proc: subprocess.Popen, timeout: float = 600) -> bool:
    """Poll every millisecond; False if the build ended (or time ran out) first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.001)
    return False


def test_killed_build_leaves_the_whole_old_or_the_whole_new_site(work, demo_pair, new_site):
    old_site = demo_pair[0]
    new, seconds, write_seconds = new_site
    old_m, new_m = manifest(old_site), comparable(new)
    assert comparable(old_site) != new_m
    out = work / "killed" / "site"
    out.parent.mkdir()
    shutil.copytree(old_site, out)
    args = ("--no-cache", "--input", str(REAL_CFPB / SMALL_REAL))

    # Kill points: spread over the whole build by the clock; then pinned to the write phase
    # (from the moment the temporary folder appears: files, Pagefind, report, swap); then
    # to the moment the new folder has been swapped in (removing the old one, exiting).
    clock = [0.1 + i * (0.95 * seconds - 0.1) / 7 for i in range(8)]
    writing = [0.0, 0.33, 0.66, 0.95]
    points = [("clock", t) for t in clock] + [("write", f) for f in writing] + [("swapped", 0)]
    outcomes = []
    for kind, at in points:
        if outcomes and outcomes[-1][3] != "old":  # start each build from the old site
            shutil.rmtree(out)
            shutil.copytree(old_site, out)
        inode = out.stat().st_ino
        proc = start(out, *args)
        if kind == "clock":
            time.sleep(at)
        elif kind == "write":
            if wait_until((out.parent / f".{out.name}.tmp-{proc.pid}").exists, proc):
                time.sleep(at * write_seconds)
        else:
            wait_until(lambda inode=inode: out.stat().st_ino != inode, proc)
        ended = proc.poll() is not None
        kill(proc)
        assert out.is_dir(), f"kill at {kind} {at:.2f}: no site at all"
        now = manifest(out)  # the old site byte for byte, or the new one (see comparable)
        state = "old" if now == old_m else "new" if comparable(out) == new_m else "MIXED"
        left = temp_siblings(out)
        outcomes.append((kind, round(at, 2), "finished" if ended else "killed", state, left))
        assert state != "MIXED", (
            f"kill at {kind} {at:.2f}: {len(set(now.items()) - set(old_m.items()))} files "
            f"not from the old site, missing {sorted(set(old_m) - set(now))[:5]}"
        )
    print(
        f"\nbuild {seconds:.1f} s, writing {write_seconds:.1f} s; kills (point, when, "
        "process, site left, temp folders left):"
    )
    for outcome in outcomes:
        print("  ", *outcome)
    # The series did catch builds in the middle of writing (temp folders were left behind),
    assert any(left for *_, left in outcomes), outcomes
    # and the next whole build clears every leftover and installs the new site.
    build(out, *args)
    assert comparable(out) == new_m
    assert temp_siblings(out) == []


def test_second_build_leaves_a_running_builds_temp_folder_alone(tmp_path, new_site):
    out = tmp_path / "site"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        running = tmp_path / f".site.tmp-{sleeper.pid}"  # as a build in progress has it
        running.mkdir()
        (running / "index.html").write_text("being written", encoding="utf-8")
        dead = tmp_path / ".site.tmp-999999999"  # a killed build's leftover: must go
        dead.mkdir()
        build(out, "--no-cache", "--input", str(REAL_CFPB / SMALL_REAL))
        assert not dead.exists()
        assert (running / "index.html").is_file()
    finally:
        sleeper.kill()
        sleeper.wait()


# ── refused builds leave no trace ────────────────────────────────────────────────────────


def _bad_config(tmp: Path) -> list[str]:
    cfg = tmp / "site.yaml"
    cfg.write_text(
        paths.SITE_YAML.read_text(encoding="utf-8") + "colour_scheme: dark\n", encoding="utf-8"
    )
    return ["--config", str(cfg)]


def _file(name: str, data: bytes):
    def make(tmp: Path) -> list[str]:
        (tmp / name).write_bytes(data)
        return ["--input", str(tmp / name)]

    return make


def _aggregations(tmp: Path) -> list[str]:
    path = REAL_API / "ccdb5-api_trends_yearly_product_issue.json"
    if not path.exists():
        pytest.skip(f"real sample {path} is not here")
    return ["--input", str(path)]


BAD = {
    "missing file": lambda tmp: ["--input", str(tmp / "nope.csv")],
    "empty file": _file("empty.csv", b""),
    "no required columns": _file(
        "partial.csv", b"Date received,Issue,State\n2020-01-02,Communication tactics,CA\n"
    ),
    "aggregations json": _aggregations,
    "bad config key": _bad_config,
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_refused_build_leaves_the_site_untouched(tmp_path, new_site, case):
    out = tmp_path / "out" / "site"
    shutil.copytree(new_site[0], out)
    before = manifest(out)
    proc = subprocess.run(
        command(out, "--no-cache", *BAD[case](tmp_path)),
        cwd=paths.ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-3000:]
    assert manifest(out) == before
    assert temp_siblings(out) == []
