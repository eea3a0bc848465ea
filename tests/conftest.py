"""Shared fixtures: configuration, the real samples in ../shared, a CLI runner, and sites
built once per test run however many pytest-xdist workers ask for them.

Building a whole site for a test: use the ``built_site`` fixture (a function
``built_site(*build_args) -> Path``). It runs ``python build.py ARGS --out DIR --quiet``
with a fixed SOURCE_DATE_EPOCH, once per test run for the same arguments and inputs: the
first worker to ask builds under a file lock, the others wait and reuse the folder. Treat
the folder as read-only (copy it with shutil.copytree to change it). A test that must watch
a build itself (atomic writes, exit codes) builds into its own ``tmp_path`` instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from collectwatch import paths
from collectwatch.config import load_config

# No example may fail for being slow: a loaded machine (or xdist's other workers) makes
# any per-example deadline a coin toss. CI also runs the same examples every time, so a red
# build always means a change broke something; local runs keep exploring new inputs.
settings.register_profile("load-proof", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "ci", parent=settings.get_profile("load-proof"), derandomize=True, print_blob=True
)
settings.load_profile("ci" if os.environ.get("CI") else "load-proof")

REAL = paths.REAL_DATA
REAL_CFPB = REAL / "cfpb"
REAL_API = REAL / "cfpb_api"
REAL_CN = REAL / "cn"
SOURCE_DATE_EPOCH = "1790000000"
# What a build's output depends on besides its arguments: a change to any of these makes a
# new build (the cache lives for one test run; this only keeps two different trees apart).
BUILD_SOURCES = ("build.py", "collectwatch", "templates", "data", "content")


def pytest_addoption(parser):
    group = parser.getgroup("collectwatch", "collectwatch browser tests")
    group.addoption(
        "--crawl",
        choices=("sample", "all"),
        default=None,
        help="browser crawl: 'sample' (default; every template and chart kind plus a seeded "
        "random sample) or 'all' (every page; make test-all). Also $COLLECTWATCH_CRAWL.",
    )
    group.addoption(
        "--crawl-sample",
        type=int,
        default=40,
        help="with --crawl=sample: how many pages per site to add at random (default 40)",
    )
    group.addoption(
        "--crawl-seed",
        type=int,
        default=16,
        help="with --crawl=sample: the seed that picks the pages (default 16)",
    )


@pytest.fixture(scope="session")
def crawl_settings(pytestconfig) -> dict:
    """--crawl / --crawl-sample / --crawl-seed, or $COLLECTWATCH_CRAWL: what the browser
    crawls of a built site (tests/test_browser.py, tests/test_hostile.py)."""
    mode = pytestconfig.getoption("crawl") or os.environ.get("COLLECTWATCH_CRAWL") or "sample"
    if mode not in ("sample", "all"):
        raise pytest.UsageError(f"--crawl must be sample or all, not {mode!r}")
    return {
        "mode": mode,
        "sample": pytestconfig.getoption("crawl_sample"),
        "seed": pytestconfig.getoption("crawl_seed"),
    }


def real(*parts: str) -> Path:
    path = REAL.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real sample {path} is not here (../shared/data/real)")
    return path


@pytest.fixture(scope="session")
def config():
    return load_config()


@pytest.fixture
def run_cli(tmp_path):
    """Run `python build.py ARGS` in a subprocess; returns CompletedProcess."""

    def run(*args: str, env: dict | None = None, timeout: float = 900):
        return subprocess.run(
            [sys.executable, str(paths.ROOT / "build.py"), *map(str, args)],
            cwd=paths.ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH, **(env or {})},
        )

    return run


# ── sites built once per run ────────────────────────────────────────────────────────────


def _tree_digest() -> str:
    """SHA-256 over every file the build reads from the project (names and bytes)."""
    h = hashlib.sha256()
    for top in BUILD_SOURCES:
        root = paths.ROOT / top
        files = [root] if root.is_file() else sorted(root.rglob("*"))
        for f in files:
            if f.is_file() and "__pycache__" not in f.parts:
                h.update(f.relative_to(paths.ROOT).as_posix().encode() + b"\0")
                h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def build_key(args: tuple[str, ...], tree: str) -> str:
    """The cache key of a build: its arguments, the bytes of every input file they name,
    and the project tree."""
    h = hashlib.sha256(json.dumps([tree, list(args)]).encode())
    for arg in args:
        path = Path(arg)
        if path.is_file():
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:20]


class SiteCache:
    """Built sites in a folder every xdist worker of this run shares, keyed by input hash."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._tree: str | None = None

    def get(self, *args: str | Path, timeout: float = 1800) -> Path:
        from filelock import FileLock

        if self._tree is None:
            self._tree = _tree_digest()
        argv = tuple(map(str, args))
        key = build_key(argv, self._tree)
        out = self.folder / key / "site"
        done = self.folder / f"{key}.done"
        with FileLock(str(self.folder / f"{key}.lock"), timeout=timeout):
            if not done.exists():
                proc = subprocess.run(
                    [sys.executable, str(paths.ROOT / "build.py"), *argv]
                    + ["--out", str(out), "--quiet"],
                    cwd=paths.ROOT,
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                    env={**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH},
                )
                if proc.returncode != 0:
                    raise AssertionError(
                        f"build {' '.join(argv)} exited {proc.returncode}:\n"
                        f"{proc.stderr[-3000:]}\n{proc.stdout[-1000:]}"
                    )
                done.write_text(json.dumps(argv), encoding="utf-8")
        return out


@pytest.fixture(scope="module")
def chromium():
    """A headless Chromium for one test module (browser_util.Chromium); skips without one."""
    pytest.importorskip("playwright.async_api", reason="playwright is not installed")
    from . import browser_util as bu

    exe = bu.find_chromium()
    if exe is None:
        pytest.skip(bu.NO_CHROMIUM)
    browser = bu.Chromium(exe)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def site_cache(tmp_path_factory) -> SiteCache:
    # Under xdist every worker's basetemp (…/pytest-N/popen-gwK) shares the parent
    # …/pytest-N, which belongs to this run only; without xdist, the run's own basetemp.
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    return SiteCache(base / "built-sites")


@pytest.fixture(scope="session")
def built_site(site_cache):
    """``built_site(*build_args)`` → the folder of that build (read-only, shared)."""
    return site_cache.get


# ── parallel runs (pytest-xdist) ────────────────────────────────────────────────────────

# Modules whose tests share an expensive module-scoped fixture (a build, a crawl, a server)
# run whole on one worker, longest first, so that the rest fill in around them. A test can
# also carry its own @pytest.mark.xdist_group("name").
HEAVY_FIRST = (
    "test_browser.py",
    "test_hostile.py",
    "test_atomic.py",
    "test_fuzz.py",
    "test_cli_fetch.py",
    "test_bench_smoke.py",
)


def _group(item) -> str | None:
    mark = item.get_closest_marker("xdist_group")
    if mark:
        return None  # already grouped by the test itself
    module = item.path.name
    if module == "test_browser.py":
        # One group per site: the two sites' crawls run on two workers at once.
        callspec = getattr(item, "callspec", None)
        site = callspec.params.get("site") if callspec else None
        return f"browser-{site}" if site else "browser"
    return module.removesuffix(".py")


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        group = _group(item)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


class _HeavyFirst:
    @pytest.hookimpl(trylast=True)  # after any shuffling plugin: keep its order within ranks
    def pytest_collection_modifyitems(self, items):
        def rank(item) -> int:
            name = item.path.name
            return HEAVY_FIRST.index(name) if name in HEAVY_FIRST else len(HEAVY_FIRST)

        items.sort(key=rank)  # stable


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    """Every test has a group (see _group), which xdist writes into its node id for the
    scheduler. If it could not, the groups are lost without a word and each module's builds
    and crawls run on every worker: stop instead."""
    lost = [nodeid for nodeid in ids if "@" not in nodeid.rsplit("::", 1)[-1]]
    if lost and node.config.getvalue("dist") == "loadgroup":
        pytest.exit(
            f"pytest-xdist lost the group of {lost[0]} and {len(lost) - 1} more tests under "
            f"pytest {pytest.__version__}: install the pins of pyproject.toml",
            returncode=3,
        )


def pytest_configure(config):
    config.pluginmanager.register(_HeavyFirst(), "collectwatch-heavy-first")
