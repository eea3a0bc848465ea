"""The partial plotly.js the site serves: the committed file is the one its manifest describes,
it registers exactly the trace types the charts draw, and the build serves it unchanged."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from collectwatch import paths, render

from . import browser_util as bu

BUNDLE_DIR = paths.STATIC / "plotly"
MANIFEST = json.loads((BUNDLE_DIR / "manifest.json").read_text(encoding="utf-8"))
TOOL = paths.ROOT / "tools" / "plotly-bundle"
# Every plotly.js trace module declares itself as {..., moduleType:"trace", name:"bar", ...};
# the minifier keeps property names and string values, so the built file still says so.
TRACE_MODULE = re.compile(rb'moduleType:"trace",name:"([a-z0-9]+)"')


def bundle_bytes() -> bytes:
    return render._plotly_js().read_bytes()


def test_the_build_serves_the_committed_bundle():
    assert render._plotly_js() == paths.ROOT / MANIFEST["file"]


def test_committed_bundle_matches_its_manifest():
    data = bundle_bytes()
    assert len(data) == MANIFEST["bytes"]
    assert hashlib.sha256(data).hexdigest() == MANIFEST["sha256"], (
        "the committed bundle differs from manifest.json: run `make plotly-bundle`"
    )


def test_bundle_registers_exactly_the_manifest_traces():
    registered = TRACE_MODULE.findall(bundle_bytes())
    assert sorted(t.decode() for t in registered) == sorted(MANIFEST["traces"])


def test_manifest_versions_are_the_pinned_ones():
    package = json.loads((TOOL / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((TOOL / "package-lock.json").read_text(encoding="utf-8"))
    for name, version in MANIFEST["packages"].items():
        # Exact pins only: a range would let `npm install` drift from the committed file.
        assert package["dependencies"][name] == version
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    assert f"plotly.js {MANIFEST['packages']['plotly.js']}" in bundle_bytes()[:300].decode()


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory):
    from collectwatch.pipeline import build

    out = tmp_path_factory.mktemp("bundle") / "site"
    build(out=out, quiet=True)
    return out


@pytest.mark.slow
def test_demo_charts_use_exactly_the_bundled_traces(demo_site):
    drawn: set[str] = set()
    files = sorted((demo_site / "data" / "charts").glob("*.js"))
    assert len(files) > 100
    for file in files:
        for lang in bu.chart_data(demo_site, file.stem)["text"]:
            figure = bu.chart_figure(demo_site, file.stem, lang)
            drawn |= {trace.get("type", "scatter") for trace in figure["data"]}
    # A type outside the bundle would fail to draw; a bundled type no chart uses is dead weight.
    assert drawn == set(MANIFEST["traces"])


@pytest.mark.slow
def test_demo_site_serves_the_bundle_byte_for_byte(demo_site):
    served = list((demo_site / "assets").glob("plotly-*.min.js"))
    assert [p.read_bytes() for p in served] == [bundle_bytes()]
