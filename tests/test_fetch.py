"""fetch.py and progress.py against a real HTTP server on 127.0.0.1 (no internet needed)."""

from __future__ import annotations

import email.utils
import hashlib
import io
import json
import re
import socket
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from collectwatch import fetch as fetch_module
from collectwatch.errors import UserError
from collectwatch.fetch import fetch_bulk, fetch_search_csv
from collectwatch.progress import Progress, progress

# Quick retries; a timeout long enough that a loaded machine never reaches it (only
# test_timeout_is_retried_then_reported is about the timeout, and it sets its own).
FAST = {"backoff": 0.01, "timeout": 60}
# How long a test waits for something the server thread does: never reached unless broken.
PATIENCE = 60.0
CSV_HEADER = "Date received,Product,Issue,Company,State,Complaint ID\n"
SEARCH_CSV = (
    CSV_HEADER + "2024-01-02,Debt collection,Written notification about debt,Acme,TX,1\n"
).encode()


def make_zip(rows: int = 400, *, member: str = "complaints.csv", stored: bool = False) -> bytes:
    """A small but multi-kilobyte zip, so that half a body is a meaningful partial."""
    lines = [CSV_HEADER] + [
        f"2024-01-{1 + i % 28:02d},Debt collection,Attempts to collect debt not owed,"
        f"Lender {i % 7},CA,{1000 + i}\n"
        for i in range(rows)
    ]
    buf = io.BytesIO()
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        zf.writestr(member, "".join(lines))
    return buf.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Remote:
    """What the test server serves, and what it saw. Tests mutate it between calls.

    ``plan`` is a queue of one-shot behaviours for the next requests: ``"drop"`` (send half
    the body, then close the socket), ``"ignore-range"`` (answer 200 to a Range request),
    ``"stall"`` (answer nothing for a while), an int status code, or ``(429, "1")`` for a
    status with a Retry-After value.
    """

    def __init__(self) -> None:
        self.body = make_zip()
        self.etag: str | None = '"v1"'
        self.last_modified: str | None = "Sat, 28 Nov 2026 10:00:00 GMT"
        self.search_body = SEARCH_CSV
        self.search_type = "text/csv; charset=utf-8"
        self.plan: list[object] = []
        self.requests: list[dict] = []
        self.body_bytes_sent = 0
        self.lock = threading.Condition()
        # A "stall" holds its request until this is set (the server fixture sets it when it
        # stops): a stalled request never answers, however slow the machine is.
        self.release = threading.Event()

    def next_action(self, path: str, headers: dict[str, str]) -> object:
        with self.lock:
            self.requests.append({"path": path, "headers": headers, "t": time.monotonic()})
            self.lock.notify_all()
            return self.plan.pop(0) if self.plan else None

    def wait_for_requests(self, n: int, timeout: float = PATIENCE) -> int:
        """Wait until the server thread has seen ``n`` requests; return how many it saw.

        A client that gave up on a request (a timeout) can be back before the server thread
        has even read that request, so count only after this."""
        with self.lock:
            self.lock.wait_for(lambda: len(self.requests) >= n, timeout)
            return len(self.requests)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        remote: Remote = self.server.remote  # type: ignore[attr-defined]
        action = remote.next_action(self.path, dict(self.headers.items()))
        if action == "stall":
            remote.release.wait(PATIENCE)
            return
        if isinstance(action, int | tuple):
            code, retry_after = action if isinstance(action, tuple) else (action, None)
            self.send_response(code)
            if retry_after is not None:
                self.send_header("Retry-After", retry_after)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path.startswith("/api/"):
            self._send(200, remote.search_body, {"Content-Type": remote.search_type}, None)
            return
        self._serve_file(remote, action)

    def _serve_file(self, remote: Remote, action: object) -> None:
        validators = {}
        if remote.etag:
            validators["ETag"] = remote.etag
        if remote.last_modified:
            validators["Last-Modified"] = remote.last_modified
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        if inm is not None:  # If-None-Match wins over If-Modified-Since (RFC 9110)
            unchanged = bool(remote.etag) and inm == remote.etag
        else:
            unchanged = bool(ims and remote.last_modified) and (
                email.utils.parsedate_to_datetime(ims)
                >= email.utils.parsedate_to_datetime(remote.last_modified)
            )
        if unchanged:
            return self._send(304, b"", validators, remote)

        body = remote.body
        rng = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        range_ok = if_range is None or if_range in (remote.etag, remote.last_modified)
        if rng and range_ok and action != "ignore-range":
            start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1))
            if start >= len(body):
                headers = {**validators, "Content-Range": f"bytes */{len(body)}"}
                return self._send(416, b"", headers, remote)
            headers = {**validators, "Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"}
            return self._send(206, body[start:], headers, remote, drop=action == "drop")
        return self._send(200, body, validators, remote, drop=action == "drop")

    def _send(
        self,
        code: int,
        payload: bytes,
        headers: dict[str, str],
        remote: Remote | None,
        *,
        drop: bool = False,
    ) -> None:
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Accept-Ranges", "bytes")
        if code != 304:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if drop:
            payload = payload[: len(payload) // 2]
        if remote is not None:
            # Counted before the write: once the bytes are out, the client may finish and the
            # test read the count before this thread runs again.
            with remote.lock:
                remote.body_bytes_sent += len(payload)
        self.wfile.write(payload)
        if drop:
            # Close mid-body: the client has been promised more bytes than it will get.
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # A proxy from the environment would route 127.0.0.1 requests away from our server.
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def server():
    """A real ThreadingHTTPServer on 127.0.0.1:<free port>; yields (base_url, remote)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.remote = Remote()  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", httpd.remote  # type: ignore[attr-defined]
    finally:
        httpd.remote.release.set()  # type: ignore[attr-defined]
        httpd.shutdown()
        httpd.server_close()
        thread.join(PATIENCE)


class SleepLog:
    """collectwatch.fetch's ``time`` module, with every ``sleep`` it asks for written down
    (and still slept): what a test checks instead of timing the wall clock."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        time.sleep(seconds)

    def __getattr__(self, name: str):
        return getattr(time, name)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The sleeps fetch.py asks for during the test, in order."""
    log = SleepLog()
    monkeypatch.setattr(fetch_module, "time", log)
    return log.sleeps


@pytest.fixture
def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (the port was just freed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/ccdb/complaints.csv.zip"


# --------------------------------------------------------------------------- fetch_bulk


def test_fresh_download_writes_file_and_sidecar(server, tmp_path: Path) -> None:
    base, remote = server
    url = f"{base}/ccdb/complaints.csv.zip"
    meta = fetch_bulk(url, tmp_path, progress=True, **FAST)

    dest = tmp_path / "complaints.csv.zip"
    assert dest.read_bytes() == remote.body
    assert meta["path"] == str(dest)
    assert meta["size"] == len(remote.body)
    assert meta["sha256"] == sha(remote.body)
    assert meta["url"] == url
    assert meta["etag"] == '"v1"'
    assert meta["last_modified"] == remote.last_modified
    assert meta["not_modified"] is False and meta["resumed"] is False
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["retrieved_at"])
    assert json.loads((tmp_path / "complaints.csv.zip.json").read_text()) == meta
    assert not (tmp_path / "complaints.csv.zip.part").exists()
    assert not (tmp_path / "complaints.csv.zip.part.json").exists()
    # A first download has nothing to validate against: no conditional headers.
    assert "If-None-Match" not in remote.requests[0]["headers"]
    assert "Range" not in remote.requests[0]["headers"]


def test_dropped_connection_is_resumed_with_range(server, tmp_path: Path) -> None:
    base, remote = server
    remote.plan = ["drop"]
    meta = fetch_bulk(f"{base}/complaints.csv.zip", tmp_path, **FAST)

    assert len(remote.requests) == 2
    second = remote.requests[1]["headers"]
    n = int(re.fullmatch(r"bytes=(\d+)-", second["Range"]).group(1))
    assert n == len(remote.body) // 2 > 0
    assert second["If-Range"] == '"v1"'  # a changed remote would restart, not splice
    assert (tmp_path / "complaints.csv.zip").read_bytes() == remote.body
    assert meta["resumed"] is True
    assert meta["sha256"] == sha(remote.body)
    # Only the missing half travelled the second time.
    assert remote.body_bytes_sent == len(remote.body) // 2 + (len(remote.body) - n)


def test_interrupted_run_keeps_part_and_next_run_resumes(server, tmp_path: Path) -> None:
    base, remote = server
    url = f"{base}/complaints.csv.zip"
    remote.plan = ["drop"]
    with pytest.raises(UserError) as err:
        fetch_bulk(url, tmp_path, retries=0, **FAST)
    part = tmp_path / "complaints.csv.zip.part"
    assert part.stat().st_size == len(remote.body) // 2
    assert "connection dropped" in str(err.value) and str(part) in str(err.value)

    meta = fetch_bulk(url, tmp_path, **FAST)
    assert remote.requests[-1]["headers"]["Range"] == f"bytes={len(remote.body) // 2}-"
    assert meta["resumed"] is True
    assert (tmp_path / "complaints.csv.zip").read_bytes() == remote.body
    assert not part.exists()


@pytest.mark.parametrize("how", ["server-ignores-range", "remote-changed"])
def test_partial_restarts_from_zero_when_server_answers_200(
    server, tmp_path: Path, how: str
) -> None:
    base, remote = server
    url = f"{base}/complaints.csv.zip"
    (tmp_path / "complaints.csv.zip.part").write_bytes(b"stale bytes of another version")
    old_etag = '"v1"' if how == "server-ignores-range" else '"v0"'
    (tmp_path / "complaints.csv.zip.part.json").write_text(
        json.dumps({"url": url, "etag": old_etag, "last_modified": None})
    )
    if how == "server-ignores-range":
        remote.plan = ["ignore-range"]

    meta = fetch_bulk(url, tmp_path, **FAST)
    assert remote.requests[0]["headers"]["Range"] == "bytes=30-"
    assert len(remote.requests) == 1
    assert (tmp_path / "complaints.csv.zip").read_bytes() == remote.body
    assert meta["resumed"] is False


def test_complete_part_is_finished_on_416(server, tmp_path: Path) -> None:
    base, remote = server
    url = f"{base}/complaints.csv.zip"
    (tmp_path / "complaints.csv.zip.part").write_bytes(remote.body)
    (tmp_path / "complaints.csv.zip.part.json").write_text(json.dumps({"url": url, "etag": '"v1"'}))

    meta = fetch_bulk(url, tmp_path, **FAST)
    assert remote.body_bytes_sent == 0
    assert (tmp_path / "complaints.csv.zip").read_bytes() == remote.body
    assert meta["sha256"] == sha(remote.body)


def test_corrupt_splice_falls_back_to_a_full_download(server, tmp_path: Path) -> None:
    base, remote = server
    # A partial with no validators (no .part.json) cannot be checked with If-Range; its
    # bytes are wrong, so the spliced zip fails the check and a clean download follows.
    (tmp_path / "complaints.csv.zip.part").write_bytes(b"X" * 1000)
    meta = fetch_bulk(f"{base}/complaints.csv.zip", tmp_path, **FAST)

    assert [r["headers"].get("Range") for r in remote.requests] == ["bytes=1000-", None]
    assert "If-None-Match" not in remote.requests[1]["headers"]
    assert (tmp_path / "complaints.csv.zip").read_bytes() == remote.body
    assert meta["resumed"] is False


def test_bulk_progress_draws_on_a_tty(server, tmp_path: Path, monkeypatch) -> None:
    base, remote = server
    tty = FakeTTY()
    monkeypatch.setattr("sys.stderr", tty)
    fetch_bulk(f"{base}/complaints.csv.zip", tmp_path, progress=True, **FAST)
    assert "download complaints.csv.zip [" in tty.getvalue()
    assert "100%" in tty.getvalue() and tty.getvalue().endswith("\n")

    quiet = FakeTTY()
    monkeypatch.setattr("sys.stderr", quiet)
    remote.etag = '"v2"'
    fetch_bulk(f"{base}/complaints.csv.zip", tmp_path, progress=False, **FAST)
    assert quiet.getvalue() == ""


@pytest.mark.parametrize("validator", ["etag", "last-modified"])
def test_unchanged_remote_is_not_downloaded_again(server, tmp_path: Path, validator: str) -> None:
    base, remote = server
    if validator == "last-modified":
        remote.etag = None
    url = f"{base}/complaints.csv.zip"
    first = fetch_bulk(url, tmp_path, **FAST)
    sent = remote.body_bytes_sent
    assert sent == len(remote.body)

    second = fetch_bulk(url, tmp_path, **FAST)
    headers = remote.requests[-1]["headers"]
    if validator == "etag":
        assert headers["If-None-Match"] == '"v1"'
    else:
        assert "If-None-Match" not in headers
    assert headers["If-Modified-Since"] == remote.last_modified
    assert remote.body_bytes_sent == sent  # no body the second time
    assert second["not_modified"] is True
    assert second["sha256"] == first["sha256"] and second["size"] == first["size"]
    assert second["retrieved_at"] == first["retrieved_at"]
    assert (tmp_path / "complaints.csv.zip").read_bytes() == remote.body
    assert json.loads((tmp_path / "complaints.csv.zip.json").read_text())["not_modified"] is True


def test_changed_remote_replaces_the_file(server, tmp_path: Path) -> None:
    base, remote = server
    url = f"{base}/complaints.csv.zip"
    fetch_bulk(url, tmp_path, **FAST)
    remote.body, remote.etag = make_zip(rows=500), '"v2"'

    meta = fetch_bulk(url, tmp_path, **FAST)
    assert meta["not_modified"] is False
    assert meta["etag"] == '"v2"'
    assert meta["sha256"] == sha(remote.body)
    assert (tmp_path / "complaints.csv.zip").read_bytes() == remote.body


def _flip_data_byte(zip_bytes: bytes) -> bytes:
    """Corrupt the stored member's data (not the headers), so only the CRC check sees it."""
    i = zip_bytes.index(b"Lender 3")
    return zip_bytes[:i] + b"X" + zip_bytes[i + 1 :]


@pytest.mark.parametrize(
    ("corruption", "expected"),
    [
        (lambda: b"<html>Service temporarily unavailable</html>", "not a valid zip"),
        (lambda: _flip_data_byte(make_zip(stored=True)), "CRC"),
        (lambda: make_zip(member="README.txt"), "no .csv or .json"),
    ],
    ids=["not-a-zip", "crc-mismatch", "no-csv-member"],
)
def test_corrupt_download_keeps_last_good_file(
    server, tmp_path: Path, corruption, expected: str
) -> None:
    base, remote = server
    url = f"{base}/complaints.csv.zip"
    good = fetch_bulk(url, tmp_path, **FAST)
    dest = tmp_path / "complaints.csv.zip"
    good_bytes = dest.read_bytes()

    remote.body, remote.etag = corruption(), '"v2-broken"'
    with pytest.raises(UserError) as err:
        fetch_bulk(url, tmp_path, **FAST)

    msg = str(err.value)
    assert expected in msg and url in msg and "\n" not in msg
    assert f"--input {dest}" in msg
    assert dest.read_bytes() == good_bytes
    assert sha(dest.read_bytes()) == good["sha256"]
    assert not (tmp_path / "complaints.csv.zip.part").exists()
    assert not (tmp_path / "complaints.csv.zip.part.json").exists()
    # The sidecar still describes the good file, so the next run can still get a 304.
    assert (
        json.loads((tmp_path / "complaints.csv.zip.json").read_text())["sha256"] == good["sha256"]
    )


def test_offline_without_previous_download(
    closed_port_url: str, tmp_path: Path, sleeps: list[float]
) -> None:
    with pytest.raises(UserError) as err:
        fetch_bulk(closed_port_url, tmp_path, retries=4, backoff=1.0, timeout=60)
    msg = str(err.value)
    assert msg == f"cannot download {closed_port_url}: connection refused"
    # A refused connection means "nothing there": answer at once, don't sit through backoff.
    assert sleeps == []


def test_offline_offers_the_last_good_download(
    server, closed_port_url: str, tmp_path: Path
) -> None:
    base, _ = server
    good = fetch_bulk(f"{base}/ccdb/complaints.csv.zip", tmp_path, **FAST)

    with pytest.raises(UserError) as err:
        fetch_bulk(closed_port_url, tmp_path, **FAST)
    msg = str(err.value)
    dest = tmp_path / "complaints.csv.zip"
    assert "\n" not in msg
    assert msg.startswith(f"cannot download {closed_port_url}: connection refused")
    assert f"the last good download is {dest} (retrieved {good['retrieved_at']})" in msg
    assert msg.endswith(f"--input {dest}")


def test_timeout_is_retried_then_reported(server, tmp_path: Path) -> None:
    base, remote = server
    remote.plan = ["stall", "stall"]
    url = f"{base}/complaints.csv.zip"
    with pytest.raises(UserError) as err:
        fetch_bulk(url, tmp_path, retries=1, backoff=0.01, timeout=0.2)
    assert remote.wait_for_requests(2) == 2
    assert str(err.value) == f"cannot download {url}: no answer within 0.2 s (after 2 attempts)"


def test_server_errors_are_retried_then_reported(server, tmp_path: Path) -> None:
    base, remote = server
    remote.plan = [500] * 10
    url = f"{base}/complaints.csv.zip"
    with pytest.raises(UserError) as err:
        fetch_bulk(url, tmp_path, retries=2, backoff=0.01, timeout=60)
    assert len(remote.requests) == 3
    msg = str(err.value)
    assert msg.startswith(f"cannot download {url}: HTTP 500")
    assert "after 3 attempts" in msg and "\n" not in msg
    assert not (tmp_path / "complaints.csv.zip").exists()


def test_transient_server_error_then_success(server, tmp_path: Path) -> None:
    base, remote = server
    remote.plan = [503, 502]
    meta = fetch_bulk(f"{base}/complaints.csv.zip", tmp_path, **FAST)
    assert len(remote.requests) == 3
    assert meta["sha256"] == sha(remote.body)


def test_client_error_is_not_retried(server, tmp_path: Path) -> None:
    base, remote = server
    remote.plan = [404]
    url = f"{base}/complaints.csv.zip"
    with pytest.raises(UserError, match=r"HTTP 404 Not Found$"):
        fetch_bulk(url, tmp_path, **FAST)
    assert len(remote.requests) == 1


def test_url_without_file_name_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not end in a file name"):
        fetch_bulk("http://127.0.0.1:9/ccdb/", tmp_path)


# --------------------------------------------------------------------------- fetch_search_csv


def _query(remote: Remote, i: int = -1) -> dict[str, list[str]]:
    return parse_qs(urlsplit(remote.requests[i]["path"]).query)


def test_search_csv_sends_the_right_query(server, tmp_path: Path) -> None:
    base, remote = server
    out = tmp_path / "slice" / "acme.csv"
    meta = fetch_search_csv(
        f"{base}/api/v1/",
        out,
        date_min="2024-01-01",
        date_max="2024-02-01",
        company="Acme Collections, LLC",
        size=500,
        min_interval=0,
        timeout=60,
    )
    assert urlsplit(remote.requests[0]["path"]).path == "/api/v1/"
    assert _query(remote) == {
        "format": ["csv"],
        "no_aggs": ["true"],
        "product": ["Debt collection"],
        "date_received_min": ["2024-01-01"],
        "date_received_max": ["2024-02-01"],
        "company": ["Acme Collections, LLC"],
        "size": ["500"],
    }
    assert out.read_bytes() == SEARCH_CSV
    assert meta["path"] == str(out)
    assert meta["size"] == len(SEARCH_CSV) and meta["sha256"] == sha(SEARCH_CSV)
    assert meta["url"] == base + remote.requests[0]["path"]
    assert [p.name for p in out.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_search_csv_leaves_out_optional_parameters(server, tmp_path: Path) -> None:
    base, remote = server
    fetch_search_csv(
        f"{base}/api/v1/?field=all",
        tmp_path / "all.csv",
        date_min="2023-12-31",
        date_max="2024-01-01",
        min_interval=0,
    )
    q = _query(remote)
    assert "company" not in q and "size" not in q
    assert q["field"] == ["all"]  # a query already in the API URL is kept
    assert q["date_received_min"] == ["2023-12-31"]


@pytest.mark.parametrize(
    ("date_min", "date_max", "expected"),
    [
        ("2024-1-01", "2024-02-01", "date_min must be a date like"),
        ("2024-01-01", "01/02/2024", "date_max must be a date like"),
        ("2024-02-30", "2024-03-01", "not a real calendar date"),
        ("2024-03-01", "2024-03-01", "must be before"),
        ("2024-03-02", "2024-03-01", "must be before"),
    ],
)
def test_search_csv_rejects_bad_dates(
    server, tmp_path: Path, date_min: str, date_max: str, expected: str
) -> None:
    base, remote = server
    with pytest.raises(UserError, match=expected):
        fetch_search_csv(
            f"{base}/api/v1/", tmp_path / "x.csv", date_min=date_min, date_max=date_max
        )
    assert remote.requests == []
    assert not (tmp_path / "x.csv").exists()


def throttle_stamp(folder: Path) -> float:
    """When the last search request went out, as the throttle recorded it (time.time())."""
    return json.loads((folder / ".cfpb-search-throttle.json").read_text())["last_request"]


def test_search_csv_spaces_requests_by_min_interval(
    server, tmp_path: Path, sleeps: list[float]
) -> None:
    base, remote = server
    kw = {"date_min": "2024-01-01", "date_max": "2024-02-01", "min_interval": 0.3}
    fetch_search_csv(f"{base}/api/v1/", tmp_path / "a.csv", **kw)
    assert sleeps == []  # the first request does not wait
    first = throttle_stamp(tmp_path)
    fetch_search_csv(f"{base}/api/v1/", tmp_path / "b.csv", **kw)
    # The second waited out what was left of the interval (all of it on a fast machine,
    # nothing on one so slow the interval had passed), and went out no sooner.
    assert len(sleeps) <= 1 and all(0 < s <= 0.3 for s in sleeps), sleeps
    assert throttle_stamp(tmp_path) - first >= 0.299  # time.time(): allow a clock slew
    assert len(remote.requests) == 2
    assert (tmp_path / "b.csv").read_bytes() == SEARCH_CSV


def test_search_csv_honours_retry_after_on_429(server, tmp_path: Path, sleeps: list[float]) -> None:
    base, remote = server
    remote.plan = [(429, "1")]
    out = tmp_path / "a.csv"
    fetch_search_csv(
        f"{base}/api/v1/", out, date_min="2024-01-01", date_max="2024-02-01", min_interval=0.05
    )
    assert len(remote.requests) == 2
    assert sleeps[0] == 1.0, sleeps  # Retry-After, not the shorter min_interval
    # The server logged the first request before it answered 429, and the client slept a
    # second after that answer: a lower bound only (a loaded machine adds, never removes).
    gap = remote.requests[1]["t"] - remote.requests[0]["t"]
    assert gap >= 1.0
    assert out.read_bytes() == SEARCH_CSV


def test_search_csv_refuses_an_html_answer(server, tmp_path: Path) -> None:
    base, remote = server
    remote.search_body = b"<!doctype html><title>Access denied</title>"
    remote.search_type = "text/html"
    out = tmp_path / "a.csv"
    out.write_bytes(b"previous,slice\n")
    with pytest.raises(UserError, match="answered with HTML, not CSV"):
        fetch_search_csv(
            f"{base}/api/v1/", out, date_min="2024-01-01", date_max="2024-02-01", min_interval=0
        )
    assert out.read_bytes() == b"previous,slice\n"  # atomic: the old file survives
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_search_csv_offline(closed_port_url: str, tmp_path: Path) -> None:
    with pytest.raises(UserError) as err:
        fetch_search_csv(
            closed_port_url, tmp_path / "a.csv", date_min="2024-01-01", date_max="2024-01-02"
        )
    msg = str(err.value)
    assert msg.startswith(f"cannot download {closed_port_url}?format=csv")
    assert msg.endswith(": connection refused")


# --------------------------------------------------------------------------- progress


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_silent_when_not_a_tty_or_disabled() -> None:
    for stream, enabled in ((io.StringIO(), True), (FakeTTY(), False)):
        with progress(100, "download", enabled, stream=stream) as bar:
            bar.update(50)
        assert stream.getvalue() == ""


def test_progress_draws_rate_limited_and_ends_the_line() -> None:
    stream = FakeTTY()
    bar = Progress(2_000_000, "download x.zip", stream=stream, min_interval=10)
    for _ in range(100):
        bar.update(10_000)
    assert stream.getvalue().count("\r") == 1  # 100 updates, one redraw
    bar.close()
    bar.close()
    out = stream.getvalue()
    assert out.endswith("\n") and out.count("\n") == 1
    assert "50%" in out.splitlines()[-1].split("\r")[-1]
    assert "1.0 MB/2.0 MB" in out


def test_progress_with_unknown_total_shows_the_count() -> None:
    stream = FakeTTY()
    with Progress(None, "rows", stream=stream, unit="rows", min_interval=0) as bar:
        bar.update(1234567)
    last = stream.getvalue().strip().split("\r")[-1]
    assert last.startswith("rows 1,234,567 rows") and "%" not in last
