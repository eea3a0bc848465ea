"""`python build.py --fetch` and `--fetch-search` end to end, against a real HTTP server on
127.0.0.1 (no internet needed): the site is built from the download, the report records it,
and a failed download exits 2 with one line while the last good file and site stay."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from collectwatch import cli, paths

from .test_fetch import Handler, Remote, make_zip, sha, throttle_stamp

PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy")
HTML = b"<!doctype html><title>Too many requests</title>"
ISO_SECOND = "%Y-%m-%dT%H:%M:%SZ"


# --------------------------------------------------------------------------- helpers


@dataclass
class Served:
    base: str
    remote: Remote
    stop: Callable[[], None]  # stopping twice is harmless


@contextlib.contextmanager
def loopback() -> Iterator[Served]:
    """tests/test_fetch.py's Handler on 127.0.0.1:<free port>, which a test can stop."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.remote = Remote()  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    stopped = threading.Event()

    def stop() -> None:
        if not stopped.is_set():
            stopped.set()
            httpd.remote.release.set()  # type: ignore[attr-defined]
            httpd.shutdown()
            httpd.server_close()  # the port now refuses connections, as a server that is down
            thread.join(5)

    try:
        yield Served(f"http://127.0.0.1:{httpd.server_address[1]}", httpd.remote, stop)  # type: ignore[attr-defined]
    finally:
        stop()


def member_csv(zip_bytes: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
        return zf.read("complaints.csv")


def bulk_zip() -> bytes:
    """make_zip()'s Debt collection rows plus other products, as the real bulk export has."""
    text = member_csv(make_zip()).decode()
    text += "".join(
        f"2024-01-{1 + i:02d},Mortgage,Trouble during payment process,Big Bank,NY,{9000 + i}\n"
        for i in range(25)
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("complaints.csv", text)
    return buf.getvalue()


def products(csv_bytes: bytes) -> Counter:
    """Rows per product, counted straight from the CSV (not by the code under test)."""
    return Counter(row["Product"] for row in csv.DictReader(io.StringIO(csv_bytes.decode())))


def write_config(folder: Path, search: dict | None = None, **fetch: str) -> Path:
    """site.yaml = data/site.yaml + files.sources → a sources.yaml beside it (a relative path
    resolves from the site.yaml's folder) = data/sources.yaml with ``fetch`` changed."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = yaml.safe_load(paths.SOURCES_YAML.read_text(encoding="utf-8"))
    sources["fetch"].update(fetch)
    sources["fetch"].pop("search", None)
    if search is not None:
        sources["fetch"]["search"] = search
    (folder / "sources.yaml").write_text(
        yaml.safe_dump(sources, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    site = yaml.safe_load(paths.SITE_YAML.read_text(encoding="utf-8"))
    others = {k: str(paths.DATA / v) for k, v in (site.get("files") or {}).items()}
    site["files"] = {**others, "sources": "sources.yaml"}
    (folder / "site.yaml").write_text(
        yaml.safe_dump(site, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return folder / "site.yaml"


def run_build(site_yaml: Path, out: Path, flag: str) -> subprocess.CompletedProcess:
    """`python build.py FLAG --out OUT --config SITE_YAML --quiet` as a user runs it.

    --no-cache keeps these builds out of the project's .cache/ingest.
    """
    env = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_VARS}
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    env["SOURCE_DATE_EPOCH"] = "1790000000"
    argv = [flag, "--out", str(out), "--config", str(site_yaml), "--quiet", "--no-cache"]
    return subprocess.run(
        [sys.executable, str(paths.ROOT / "build.py"), *argv],
        cwd=paths.ROOT,
        capture_output=True,
        text=True,
        timeout=900,  # a hang, not a slow machine: a loaded 2-core machine takes ~20 s
        env=env,
    )


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in proc.stderr
    return lines[0]


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file's modification time and content hash: any rewrite shows."""
    return {
        str(p.relative_to(folder)): (
            p.stat().st_mtime_ns,
            hashlib.sha256(p.read_bytes()).hexdigest(),
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def report_of(out: Path) -> dict:
    return json.loads((out / "data" / "build-report.json").read_text(encoding="utf-8"))


def utc(stamp: str) -> dt.datetime:
    return dt.datetime.strptime(stamp, ISO_SECOND).replace(tzinfo=dt.UTC)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


# --------------------------------------------------------------------------- --fetch


@pytest.fixture(scope="module")
def bulk(tmp_path_factory) -> Iterator[SimpleNamespace]:
    """One `--fetch` build from the loopback server; the server keeps running until a test
    stops it. Tests that change files work on copies."""
    tmp = tmp_path_factory.mktemp("bulk")
    with loopback() as served:
        served.remote.body = bulk_zip()
        url = f"{served.base}/ccdb/complaints.csv.zip"
        cache = tmp / "cache"
        site_yaml = write_config(tmp / "config", bulk_url=url, cache_dir=str(cache))
        started = now()
        proc = run_build(site_yaml, tmp / "site", "--fetch")
        assert proc.returncode == 0, proc.stderr
        yield SimpleNamespace(
            proc=proc,
            url=url,
            body=served.remote.body,
            remote=served.remote,
            stop=served.stop,
            site_yaml=site_yaml,
            cache=cache,
            cached=cache / "complaints.csv.zip",
            out=tmp / "site",
            started=started,
            finished=now(),
        )


def test_fetch_builds_the_site_from_the_download(bulk) -> None:
    assert bulk.proc.stdout == "" and bulk.proc.stderr == ""  # --quiet
    assert (bulk.out / "index.html").is_file()
    assert bulk.cached.read_bytes() == bulk.body
    assert len(bulk.remote.requests) == 1
    report = report_of(bulk.out)
    assert report["synthetic"] is False
    assert [i["path"] for i in report["inputs"]] == [f"{bulk.cached}!complaints.csv"]


def test_report_records_the_download(bulk) -> None:
    download = report_of(bulk.out)["download"]
    assert download["url"] == bulk.url
    assert download["path"] == str(bulk.cached)
    assert download["size"] == len(bulk.body)
    assert download["sha256"] == sha(bulk.body)
    assert download["last_modified"] == bulk.remote.last_modified
    assert download["etag"] == bulk.remote.etag
    assert download["not_modified"] is False and download["resumed"] is False
    assert bulk.started <= utc(download["retrieved_at"]) <= bulk.finished
    # The published data package cites the retrieval time as its source date.
    package = json.loads((bulk.out / "data" / "datapackage.json").read_text(encoding="utf-8"))
    assert [s["retrieved"] for s in package["sources"]] == [download["retrieved_at"]]


def test_report_row_counts_match_the_zip(bulk) -> None:
    counts = products(member_csv(bulk.body))
    in_scope = counts.pop("Debt collection")
    assert in_scope > 0 and sum(counts.values()) > 0
    report = report_of(bulk.out)
    (item,) = report["inputs"]
    assert item["rows_read"] == in_scope + sum(counts.values())
    assert item["rows_in_scope"] == in_scope
    assert item["rows_out_of_scope"] == sum(counts.values())
    assert item["rows_rejected"] == item["rows_duplicate"] == 0
    assert item["sha256"] == sha(bulk.body)  # the published source hash is the download's
    assert report["complaints"] == in_scope


def test_offline_rerun_names_the_last_good_file_and_keeps_the_site(bulk, tmp_path) -> None:
    out = tmp_path / "site"
    shutil.copytree(bulk.out, out)
    before = snapshot(out)
    bulk.stop()

    line = one_line_error(run_build(bulk.site_yaml, out, "--fetch"))
    assert line.startswith(f"error: cannot download {bulk.url}: connection refused")
    assert f"the last good download is {bulk.cached}" in line
    assert line.endswith(f"--input {bulk.cached}")
    assert snapshot(out) == before
    assert bulk.cached.read_bytes() == bulk.body


def test_corrupt_download_exits_2_and_keeps_the_last_good_file(bulk, tmp_path) -> None:
    cache, out = tmp_path / "cache", tmp_path / "site"
    shutil.copytree(bulk.cache, cache)
    shutil.copytree(bulk.out, out)
    cached = cache / "complaints.csv.zip"
    before = snapshot(out)
    with loopback() as served:
        # A new export, announced as complete but cut in half: not a zip any more.
        served.remote.body, served.remote.etag = bulk.body[: len(bulk.body) // 2], '"v2"'
        url = f"{served.base}/ccdb/complaints.csv.zip"
        site_yaml = write_config(tmp_path / "config", bulk_url=url, cache_dir=str(cache))
        line = one_line_error(run_build(site_yaml, out, "--fetch"))
        assert served.remote.requests[0]["headers"]["If-None-Match"] == '"v1"'

    assert f"the download of {url} is corrupt (not a valid zip file" in line
    assert f"the last good download is {cached}" in line
    assert line.endswith(f"--input {cached}")
    assert cached.read_bytes() == bulk.body
    sidecar = json.loads((cache / "complaints.csv.zip.json").read_text(encoding="utf-8"))
    assert sidecar["sha256"] == sha(bulk.body)
    assert sorted(p.name for p in cache.iterdir()) == [
        "complaints.csv.zip",
        "complaints.csv.zip.json",
    ]
    assert snapshot(out) == before


# --------------------------------------------------------------------------- --fetch-search


def test_fetch_search_builds_from_a_slice(tmp_path) -> None:
    """Refused (HTML) → exit 2; then CSV → site, after waiting min_interval since the first
    request; then refused again → exit 2 naming the slice just downloaded, site kept."""
    slice_csv = member_csv(make_zip(rows=150))
    cache, out = tmp_path / "cache", tmp_path / "site"
    search = {
        "date_received_min": "2024-01-01",
        "date_received_max": "2024-02-01",
        "company": ["Lender 1", "Lender 2"],
        "min_interval": 2.5,  # the default 30 s is too long for a test
    }
    with loopback() as served:
        remote = served.remote
        remote.search_body, remote.search_type = HTML, "text/html"
        site_yaml = write_config(
            tmp_path / "config",
            search,
            search_api_url=f"{served.base}/api/v1/",
            cache_dir=str(cache),
        )
        line = one_line_error(run_build(site_yaml, out, "--fetch-search"))
        assert "the search API answered with HTML, not CSV" in line and "--input" not in line
        assert not out.exists()
        first = throttle_stamp(cache)

        remote.search_body, remote.search_type = slice_csv, "text/csv"
        proc = run_build(site_yaml, out, "--fetch-search")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == "" and proc.stderr == ""
        # Throttled across runs, by the configured interval: the second run's request went
        # out no sooner than 2.5 s after the first's (as each run recorded it).
        assert len(remote.requests) == 2
        assert throttle_stamp(cache) - first >= 2.499
        path = remote.requests[1]["path"]
        report = report_of(out)
        before = snapshot(out)

        remote.search_body, remote.search_type = HTML, "text/html"
        refused = one_line_error(run_build(site_yaml, out, "--fetch-search"))

    assert urlsplit(path).path == "/api/v1/"
    assert parse_qs(urlsplit(path).query) == {
        "format": ["csv"],
        "no_aggs": ["true"],
        "product": ["Debt collection"],
        "date_received_min": ["2024-01-01"],
        "date_received_max": ["2024-02-01"],
        "company": ["Lender 1", "Lender 2"],
    }
    assert (out / "index.html").is_file()
    download = report["download"]
    saved = Path(download["path"])
    assert saved.parent == cache
    assert re.fullmatch(r"search_2024-01-01_2024-02-01_[0-9a-f]{10}\.csv", saved.name)
    assert download["url"] == served.base + path
    assert download["size"] == len(slice_csv) and download["sha256"] == sha(slice_csv)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", download["retrieved_at"])
    (item,) = report["inputs"]
    assert item["path"] == str(saved)
    assert item["rows_read"] == item["rows_in_scope"] == products(slice_csv)["Debt collection"]
    assert report["complaints"] == 150

    assert "the search API answered with HTML, not CSV" in refused
    assert refused.endswith(
        f"the last download of this slice is {saved}: build from it with --input {saved}"
    )
    assert saved.read_bytes() == slice_csv
    assert snapshot(out) == before


GOOD_SEARCH = {
    "date_received_min": "2024-01-01",
    "date_received_max": "2024-02-01",
    "min_interval": 0,
}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (None, "--fetch-search needs a fetch.search block"),
        ({"date_received_min": "2024-1-01"}, "fetch.search.date_received_min must be a date like"),
        ({"date_received_max": "01/02/2024"}, "fetch.search.date_received_max must be a date like"),
        # An unquoted YAML date is not text; without this check it would crash ingest.
        (
            {"date_received_max": dt.date(2024, 2, 1)},
            "key fetch.search.date_received_max must be str",
        ),
        ({"date_received_min": "2024-02-30"}, "date_received_min '2024-02-30' is not a real"),
        ({"date_received_max": "2024-01-01"}, "date_received_min (2024-01-01) must be before"),
        ({"date_received_min": "2024-03-01"}, "which is exclusive"),
        ({"date_received_min": 20240101}, "key fetch.search.date_received_min must be str"),
        ({"companies": ["Acme"]}, "unknown key fetch.search.companies"),
        ({"company": "Acme"}, "key fetch.search.company must be a list"),
        ({"company": ["Acme", " "]}, "fetch.search.company[1] is empty"),
        ({"min_interval": -1}, "fetch.search.min_interval must be 0 or more seconds"),
        ({"min_interval": "fast"}, "key fetch.search.min_interval must be int/float"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_search_settings_are_one_line_errors(
    tmp_path, capsys, monkeypatch, change: dict | None, expected: str
) -> None:
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.upper(), raising=False)
    search = None if change is None else {**GOOD_SEARCH, **change}
    out = tmp_path / "site"
    with loopback() as served:
        site_yaml = write_config(
            tmp_path / "config",
            search,
            search_api_url=f"{served.base}/api/v1/",
            cache_dir=str(tmp_path / "c"),
        )
        code = cli.main(
            ["--fetch-search", "--out", str(out), "--config", str(site_yaml), "--quiet"]
        )
        assert served.remote.requests == []  # refused before asking the server
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(
        f"error: {tmp_path / 'config' / 'sources.yaml'}: "
    )
    assert expected in err
    assert not out.exists()


def test_only_one_way_to_get_complaints(capsys, tmp_path) -> None:
    out = tmp_path / "site"
    assert cli.main(["--fetch", "--fetch-search", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: use only one of --input, --fetch, --fetch-search, not ")
    assert err.endswith(" --fetch and --fetch-search\n") and err.count("\n") == 1
    assert not out.exists()
