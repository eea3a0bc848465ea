"""remote CFPB exports → files in the local cache.

Two ways in:

- :func:`fetch_bulk` downloads the bulk export (``complaints.csv.zip``, about 1.4 GB). It
  resumes a partial download with HTTP ``Range``, asks the server whether the file changed
  (``If-None-Match`` / ``If-Modified-Since``) so an unchanged export is not downloaded again,
  and checks the zip before it replaces the last good download.
- :func:`fetch_search_csv` downloads a small slice from the CFPB search API as CSV, spacing
  its requests because anonymous exports are throttled.

Every failure the user can act on (offline, server down, corrupt file, bad dates) is a
one-line :class:`~collectwatch.errors.UserError`. Standard library only.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import http.client
import json
import logging
import os
import posixpath
import re
import socket
import ssl
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from collectwatch.errors import UserError
from collectwatch.progress import progress as _progress

log = logging.getLogger(__name__)

# Some CDNs refuse the default "Python-urllib/x.y" agent; say who we are instead.
USER_AGENT = "collectwatch/0.1 (static archive of CFPB complaint trends)"
_CHUNK = 1 << 20
# HTTP statuses worth asking again: the server is overloaded or restarting, not refusing us.
_RETRY_STATUSES = {429, 500, 502, 503, 504}
# A Retry-After longer than this is not worth waiting for inside a build; we report it.
_MAX_RETRY_AFTER = 300.0
_THROTTLE_STATE = ".cfpb-search-throttle.json"
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CONTENT_RANGE_RE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)
_UNSATISFIED_RANGE_RE = re.compile(r"bytes\s+\*/(\d+)", re.IGNORECASE)


# --------------------------------------------------------------------------- bulk export


def fetch_bulk(
    url: str,
    cache_dir: Path,
    *,
    progress: bool = False,
    retries: int = 4,
    backoff: float = 1.0,
    timeout: float = 60,
) -> dict[str, Any]:
    """Download ``url`` into ``cache_dir/<file name>``; return and store its metadata.

    The body goes to ``<name>.part`` first. A partial file is resumed with ``Range`` (and
    ``If-Range``, so a changed remote restarts from zero instead of being spliced). Dropped
    connections, timeouts and 5xx answers are retried ``retries`` times, waiting
    ``backoff * 2**attempt`` seconds. An unchanged remote (304) reuses the last good file.
    The zip is checked (opens, has a ``.csv``/``.json`` member, ``testzip()`` passes) before
    it replaces the last good file, so a bad download never destroys a good one.

    Returns (and writes to ``<name>.json`` beside the file) a dict with ``url``, ``path``,
    ``size``, ``sha256``, ``last_modified``, ``etag``, ``retrieved_at`` (UTC, when these
    bytes were downloaded), ``checked_at`` (UTC, when the server was last asked),
    ``not_modified`` and ``resumed``.

    Raises :class:`UserError` (one line, naming the URL and the reason, and offering the
    last good download if there is one) when the server cannot be reached, answers an
    HTTP error, or sends a corrupt file.
    """
    name = _file_name(url)
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    final = cache_dir / name
    part = cache_dir / f"{name}.part"
    part_meta_path = cache_dir / f"{name}.part.json"
    sidecar = cache_dir / f"{name}.json"
    last_good = _last_good(final, sidecar)
    checked_at = _utc_now()

    download = _Download(
        url=url,
        final=final,
        part=part,
        part_meta_path=part_meta_path,
        last_good=last_good,
        retries=retries,
        backoff=backoff,
        timeout=timeout,
        show_progress=progress,
    )
    outcome = download.run()
    if outcome == "not_modified":
        assert last_good is not None  # only conditional requests can answer 304
        meta = {
            **{k: v for k, v in last_good.items() if k != "validated"},
            "url": url,
            "path": str(final),
            "checked_at": checked_at,
            "not_modified": True,
            "resumed": False,
        }
        _write_json_atomic(sidecar, meta)
        return meta

    problem = _zip_problem(part)
    if problem and download.resumed:
        # The splice itself may be the fault (a partial from an older export with no
        # validator to compare): one clean download from zero settles it.
        log.warning(
            "resumed download of %s is corrupt (%s); downloading again from zero", url, problem
        )
        _discard(part, part_meta_path)
        download.run(conditional=False)  # a 304 here would leave no bytes to check
        problem = _zip_problem(part)
    if problem:
        _discard(part, part_meta_path)
        msg = f"the download of {url} is corrupt ({problem}); deleted it"
        raise UserError(msg + _last_good_hint(final, last_good))

    size, sha256 = _size_and_sha256(part)
    pmeta = _read_json(part_meta_path) or {}
    meta = {
        "url": url,
        "path": str(final),
        "size": size,
        "sha256": sha256,
        "last_modified": pmeta.get("last_modified") or download.last_modified,
        "etag": pmeta.get("etag") or download.etag,
        "retrieved_at": _utc_now(),
        "checked_at": checked_at,
        "not_modified": False,
        "resumed": download.resumed,
    }
    # Replace the good file only now that the new one is verified; the sidecar follows, so a
    # crash between the two leaves a sidecar whose size no longer matches, which
    # _last_good() treats as "no validators" (a full download next time), never as a 304.
    os.replace(part, final)
    _write_json_atomic(sidecar, meta)
    part_meta_path.unlink(missing_ok=True)
    return meta


class _Dropped(Exception):
    """The connection ended before the whole body arrived."""


class _Download:
    """The request/retry loop that leaves a complete body in ``part`` (or says 304)."""

    def __init__(
        self,
        *,
        url: str,
        final: Path,
        part: Path,
        part_meta_path: Path,
        last_good: dict[str, Any] | None,
        retries: int,
        backoff: float,
        timeout: float,
        show_progress: bool,
    ) -> None:
        self.url = url
        self.final = final
        self.part = part
        self.part_meta_path = part_meta_path
        self.last_good = last_good
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.show_progress = show_progress
        self.resumed = False
        self.etag: str | None = None
        self.last_modified: str | None = None

    def run(self, *, conditional: bool = True) -> str:
        """Return "complete" (body in ``part``) or "not_modified"; raise UserError.

        ``conditional=False`` never sends If-None-Match/If-Modified-Since.
        """
        attempt = 0
        self.resumed = False
        self._forget_foreign_part()
        best = self.part.stat().st_size if self.part.exists() else 0
        while True:
            offset = self.part.stat().st_size if self.part.exists() else 0
            pmeta = (_read_json(self.part_meta_path) or {}) if offset else {}
            headers = self._headers(offset, pmeta, conditional)
            try:
                resp = _open(self.url, headers, self.timeout)
            except urllib.error.HTTPError as e:
                try:
                    asked = "If-None-Match" in headers or "If-Modified-Since" in headers
                    if e.code == 304 and asked:
                        return "not_modified"
                    if e.code == 416 and offset:
                        # Our partial is as long as (or longer than) the remote file.
                        total = _unsatisfied_total(e.headers.get("Content-Range"))
                        if total == offset:
                            self.resumed = True
                            self._remember_validators(pmeta)
                            return "complete"
                        _discard(self.part, self.part_meta_path)
                        continue
                    reason = f"HTTP {e.code} {e.reason}".strip()
                    if e.code in _RETRY_STATUSES and attempt < self.retries:
                        wait = self.backoff * 2**attempt
                        after = _retry_after(e.headers)
                        if after is not None and after > _MAX_RETRY_AFTER:
                            raise self._cannot(f"{reason}, retry after {after:.0f} s") from None
                        self._sleep(max(wait, after or 0.0), reason)
                        attempt += 1
                        continue
                    if attempt:
                        reason += f" (after {attempt + 1} attempts)"
                    raise self._cannot(reason) from None
                finally:
                    _close_quietly(e)
            except (OSError, http.client.HTTPException) as e:
                reason = _reason(e, self.timeout)
                if _retryable(e) and attempt < self.retries:
                    self._sleep(self.backoff * 2**attempt, reason)
                    attempt += 1
                    continue
                if attempt:
                    reason += f" (after {attempt + 1} attempts)"
                raise self._cannot(reason) from None

            with resp:
                mode, start, total = self._accept(resp, offset, pmeta)
                if mode is None:
                    continue  # the server's range does not fit our partial; restarted
                try:
                    self._receive(resp, mode, start, total)
                except _Dropped as e:
                    reason, reached = e.args
                    if attempt < self.retries:
                        self._sleep(self.backoff * 2**attempt, reason)
                        # New bytes on disk: the connection works, so the next drop gets a
                        # full set of retries again instead of failing a long download on
                        # count. Only a new high-water mark counts, so a server that ignores
                        # Range and drops at the same point still runs out of retries.
                        attempt = 0 if reached > best else attempt + 1
                        best = max(best, reached)
                        continue
                    raise self._cannot(f"{reason} (after {attempt + 1} attempts)") from None
            return "complete"

    def _headers(self, offset: int, pmeta: dict[str, Any], conditional: bool) -> dict[str, str]:
        # identity: a Range on a gzip-encoded body would count compressed bytes.
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
            # If-Range makes the server send the whole new file (200) if the remote changed
            # since the partial started; weak ETags are not allowed there.
            etag = pmeta.get("etag")
            if etag and not etag.startswith("W/"):
                headers["If-Range"] = etag
            elif pmeta.get("last_modified"):
                headers["If-Range"] = pmeta["last_modified"]
        elif conditional and self.last_good and self.last_good.get("validated"):
            if self.last_good.get("etag"):
                headers["If-None-Match"] = self.last_good["etag"]
            if self.last_good.get("last_modified"):
                headers["If-Modified-Since"] = self.last_good["last_modified"]
        return headers

    def _accept(
        self, resp: http.client.HTTPResponse, offset: int, pmeta: dict[str, Any]
    ) -> tuple[str | None, int, int | None]:
        """Decide how to write this response: ("ab", offset, total) or ("wb", 0, total)."""
        etag = resp.headers.get("ETag")
        last_modified = resp.headers.get("Last-Modified")
        length = _int_or_none(resp.headers.get("Content-Length"))
        if resp.status == 206 and offset:
            m = _CONTENT_RANGE_RE.match(resp.headers.get("Content-Range") or "")
            changed = bool(pmeta.get("etag") and etag and etag != pmeta["etag"])
            if not m or int(m.group(1)) != offset or changed:
                _discard(self.part, self.part_meta_path)
                return None, 0, None
            total = int(m.group(3)) if m.group(3) != "*" else None
            self.resumed = True
            self._remember_validators({"etag": etag, "last_modified": last_modified, **pmeta})
            return "ab", offset, total if total is not None else _plus(offset, length)
        # A 200 (also the answer to a Range the server ignores, or an If-Range that no
        # longer matches): the body is the whole file, so start the partial from zero.
        self.resumed = False
        pmeta = {"url": self.url, "etag": etag, "last_modified": last_modified}
        _write_json_atomic(self.part_meta_path, pmeta)
        self._remember_validators(pmeta)
        return "wb", 0, length

    def _receive(
        self, resp: http.client.HTTPResponse, mode: str, start: int, total: int | None
    ) -> int:
        received = 0
        bar = _progress(total, f"download {self.final.name}", self.show_progress)
        bar.update(start)
        try:
            with open(self.part, mode) as fh:
                while True:
                    try:
                        chunk = resp.read(_CHUNK)
                    except (OSError, http.client.HTTPException) as e:
                        raise _Dropped(
                            f"connection dropped after {start + received} bytes"
                            f" ({_reason(e, self.timeout)})",
                            start + received,
                        ) from e
                    if not chunk:
                        break
                    try:
                        fh.write(chunk)
                    except OSError as e:
                        raise UserError(f"cannot write {self.part}: {e.strerror or e}") from e
                    received += len(chunk)
                    bar.update(len(chunk))
        finally:
            bar.close()
        # http.client returns b"" (not an error) when the peer closes early, so a short
        # body is only visible by comparing with the announced length.
        if total is not None and start + received < total:
            raise _Dropped(
                f"connection dropped after {start + received} of {total} bytes", start + received
            )
        return received

    def _remember_validators(self, pmeta: dict[str, Any]) -> None:
        self.etag = pmeta.get("etag")
        self.last_modified = pmeta.get("last_modified")

    def _forget_foreign_part(self) -> None:
        # A partial started from another URL with the same file name cannot be continued.
        pmeta = _read_json(self.part_meta_path)
        if pmeta and pmeta.get("url") not in (None, self.url):
            _discard(self.part, self.part_meta_path)

    def _sleep(self, seconds: float, reason: str) -> None:
        log.warning("download of %s: %s; retrying in %.1f s", self.url, reason, seconds)
        time.sleep(seconds)

    def _cannot(self, reason: str) -> UserError:
        msg = f"cannot download {self.url}: {reason}"
        if self.part.exists() and self.part.stat().st_size:
            msg += f"; kept {self.part.stat().st_size} bytes in {self.part} to resume next time"
        return UserError(msg + _last_good_hint(self.final, self.last_good))


def _last_good(final: Path, sidecar: Path) -> dict[str, Any] | None:
    """Metadata of the last good download, or None if there is none.

    ``validated`` is True only when the sidecar matches the file on disk; only then are its
    ETag/Last-Modified sent, because a 304 must never vouch for a file we did not check.
    """
    if not final.is_file():
        return None
    size = final.stat().st_size
    meta = _read_json(sidecar)
    if meta and meta.get("size") == size and meta.get("sha256"):
        return {**meta, "validated": True}
    mtime = dt.datetime.fromtimestamp(final.stat().st_mtime, dt.UTC)
    return {"path": str(final), "size": size, "retrieved_at": _iso(mtime), "validated": False}


def _last_good_hint(final: Path, last_good: dict[str, Any] | None) -> str:
    if not last_good or not final.is_file():
        return ""
    when = last_good.get("retrieved_at") or "at an unknown time"
    return (
        f"; the last good download is {final} (retrieved {when}):"
        f" build from it with --input {final}"
    )


def _zip_problem(path: Path) -> str | None:
    """None if ``path`` is a readable zip with a .csv/.json member; else what is wrong."""
    try:
        with zipfile.ZipFile(path) as zf:
            members = [n for n in zf.namelist() if n.lower().endswith((".csv", ".json"))]
            if not members:
                return "no .csv or .json file inside the zip"
            bad = zf.testzip()
            if bad is not None:
                return f"member {bad} fails its CRC check"
    except zipfile.BadZipFile as e:
        return f"not a valid zip file: {e}"
    except (OSError, EOFError, zlib.error, NotImplementedError, ValueError) as e:
        return f"unreadable zip file: {e}"
    return None


# --------------------------------------------------------------------------- search API


def fetch_search_csv(
    api_url: str,
    out_path: Path,
    *,
    date_min: str,
    date_max: str,
    company: str | Sequence[str] | None = None,
    product: str = "Debt collection",
    size: int | None = None,
    min_interval: float = 30.0,
    retries: int = 3,
    progress: bool = False,
    timeout: float = 60,
) -> dict[str, Any]:
    """Download the CFPB search API's CSV export of one slice into ``out_path``.

    The slice is ``product`` (and ``company`` if given: one name, or several, any of which
    matches) received on or after ``date_min`` and before ``date_max`` (both ``YYYY-MM-DD``;
    ``date_max`` is exclusive, as in the API).
    ``size`` caps the rows when given. Requests are spaced at least ``min_interval`` seconds
    apart, also across processes (the time of the last request is kept in
    ``.cfpb-search-throttle.json`` beside ``out_path``), and a 429 answer's ``Retry-After``
    is honoured. The file is written atomically.

    Returns a dict with ``url`` (including the query), ``path``, ``size``, ``sha256``,
    ``last_modified``, ``etag``, ``retrieved_at``, ``not_modified`` (always False) and
    ``resumed`` (always False). Raises :class:`UserError` for bad dates, an unreachable
    server, an HTTP error, or an answer that is not CSV.
    """
    d_min = _parse_date("date_min", date_min)
    d_max = _parse_date("date_max", date_max)
    if d_min >= d_max:
        raise UserError(
            f"date_min {date_min} must be before date_max {date_max} (date_max is exclusive)"
        )
    if size is not None and size <= 0:
        raise UserError(f"size must be a positive number of rows, not {size}")
    params = [
        ("format", "csv"),
        ("no_aggs", "true"),
        ("product", product),
        ("date_received_min", date_min),
        ("date_received_max", date_max),
    ]
    companies = [company] if isinstance(company, str) else list(company or ())
    params.extend(("company", name) for name in companies if name)
    if size is not None:
        params.append(("size", str(size)))
    url = api_url + ("&" if urllib.parse.urlsplit(api_url).query else "?")
    url += urllib.parse.urlencode(params)

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    state = out_path.parent / _THROTTLE_STATE
    headers = {"User-Agent": USER_AGENT, "Accept": "text/csv", "Accept-Encoding": "identity"}

    attempt = 0
    while True:
        _throttle(state, min_interval)
        try:
            resp = _open(url, headers, timeout)
        except urllib.error.HTTPError as e:
            try:
                reason = f"HTTP {e.code} {e.reason}".strip()
                if e.code in _RETRY_STATUSES and attempt < retries:
                    after = _retry_after(e.headers)
                    if after is not None and after > _MAX_RETRY_AFTER:
                        raise UserError(
                            f"cannot download {url}: {reason}, retry after {after:.0f} s"
                        ) from None
                    # Without Retry-After the throttle's min_interval is the wait.
                    wait = after or 0.0
                    log.warning("search export: %s; retrying in %.1f s", reason, wait)
                    time.sleep(wait)
                    attempt += 1
                    continue
                if attempt:
                    reason += f" (after {attempt + 1} attempts)"
                raise UserError(f"cannot download {url}: {reason}") from None
            finally:
                _close_quietly(e)
        except (OSError, http.client.HTTPException) as e:
            reason = _reason(e, timeout)
            if _retryable(e) and attempt < retries:
                attempt += 1
                continue
            raise UserError(f"cannot download {url}: {reason}") from None

        with resp:
            try:
                meta = _save_atomically(resp, out_path, progress, timeout)
            except _Dropped as e:
                if attempt < retries:
                    attempt += 1
                    continue
                raise UserError(f"cannot download {url}: {e.args[0]}") from None
        meta["url"] = url
        return meta


def _save_atomically(
    resp: http.client.HTTPResponse, out_path: Path, show_progress: bool, timeout: float
) -> dict[str, Any]:
    total = _int_or_none(resp.headers.get("Content-Length"))
    digest = hashlib.sha256()
    received = 0
    head = b""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".tmp", dir=out_path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh, _progress(total, out_path.name, show_progress) as bar:
            while True:
                try:
                    chunk = resp.read(_CHUNK)
                except (OSError, http.client.HTTPException) as e:
                    raise _Dropped(
                        f"connection dropped after {received} bytes ({_reason(e, timeout)})", 0
                    ) from e
                if not chunk:
                    break
                if len(head) < 64:
                    head += chunk[:64]
                fh.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
        if total is not None and received < total:
            raise _Dropped(f"connection dropped after {received} of {total} bytes", 0)
        start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        if not start:
            raise UserError(f"the search API sent an empty answer for {out_path.name}")
        if start in (b"<", b"{", b"["):
            kind = "HTML" if start == b"<" else "JSON"
            raise UserError(f"the search API answered with {kind}, not CSV, for {out_path.name}")
        os.replace(tmp, out_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return {
        "url": None,
        "path": str(out_path),
        "size": received,
        "sha256": digest.hexdigest(),
        "last_modified": resp.headers.get("Last-Modified"),
        "etag": resp.headers.get("ETag"),
        "retrieved_at": _utc_now(),
        "not_modified": False,
        "resumed": False,
    }


def _throttle(state: Path, min_interval: float) -> None:
    """Sleep until ``min_interval`` has passed since the last request; record this one."""
    last = (_read_json(state) or {}).get("last_request")
    now = time.time()
    if isinstance(last, int | float):
        # min(): a clock that jumped backwards must not make us wait longer than the interval.
        wait = min(last + min_interval - now, min_interval)
        if wait > 0:
            log.info("search API throttle: waiting %.1f s", wait)
            time.sleep(wait)
    _write_json_atomic(state, {"last_request": time.time()})


def _parse_date(name: str, value: str) -> dt.date:
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
        raise UserError(f"{name} must be a date like 2024-01-31, not {value!r}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{name} {value!r} is not a real calendar date") from None


def download_configured(
    settings: dict, root: Path, *, search: bool, where: str, progress: bool
) -> dict[str, Any]:
    """What ``fetch`` in sources.yaml (``settings``, read from ``where``) describes: the bulk
    export, or with ``search`` the slice in ``fetch.search``. Returns the download's metadata.
    """
    cache = root / settings.get("cache_dir", ".cache/download")
    if not search:
        return fetch_bulk(settings["bulk_url"], cache, progress=progress)
    query = _slice_query(settings.get("search"), where)
    out = cache / _slice_name(**query)
    try:
        return fetch_search_csv(
            settings["search_api_url"],
            out,
            **query,
            min_interval=settings["search"].get("min_interval", 30),
            progress=progress,
        )
    except UserError as exc:  # a failed download keeps, and names, the last copy
        if not out.is_file():
            raise
        hint = f"; the last download of this slice is {out}: build from it with --input {out}"
        raise UserError(f"{exc}{hint}") from None


def _slice_query(search: dict | None, where: str) -> dict[str, Any]:
    """Check ``fetch.search``; return fetch_search_csv's date_min, date_max and company."""
    if search is None:
        raise UserError(
            f"{where}: --fetch-search needs a fetch.search block "
            "with date_received_min and date_received_max"
        )
    dates = {}
    for key in ("date_received_min", "date_received_max"):
        try:
            dates[key] = _parse_date(f"fetch.search.{key}", search[key])
        except UserError as exc:
            raise UserError(f"{where}: {exc}") from None
    date_min, date_max = search["date_received_min"], search["date_received_max"]
    if dates["date_received_min"] >= dates["date_received_max"]:
        raise UserError(
            f"{where}: fetch.search.date_received_min ({date_min}) must be before "
            f"fetch.search.date_received_max ({date_max}), which is exclusive"
        )
    companies = search.get("company") or []
    for i, name in enumerate(companies):
        if not name.strip():
            raise UserError(f"{where}: fetch.search.company[{i}] is empty")
    if search.get("min_interval", 30) < 0:
        raise UserError(f"{where}: fetch.search.min_interval must be 0 or more seconds")
    return {"date_min": date_min, "date_max": date_max, "company": companies}


def _slice_name(*, date_min: str, date_max: str, company: list[str]) -> str:
    """search_<min>_<max>[_<hash of the companies>].csv: one file per slice."""
    name = f"search_{date_min}_{date_max}"
    if company:
        key = "\n".join(sorted(company)).encode("utf-8")
        name += "_" + hashlib.sha256(key).hexdigest()[:10]
    return name + ".csv"


# --------------------------------------------------------------------------- helpers


def _open(url: str, headers: dict[str, str], timeout: float) -> http.client.HTTPResponse:
    req = urllib.request.Request(url, headers=headers)
    return urllib.request.urlopen(req, timeout=timeout)


def _file_name(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UserError(f"cannot download {url}: only http(s) URLs are supported")
    name = urllib.parse.unquote(posixpath.basename(parts.path))
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise UserError(f"cannot download {url}: the URL does not end in a file name")
    return name


def _close_quietly(err: urllib.error.HTTPError) -> None:
    # Release the error response's socket; an HTTPError may also carry no body at all.
    fp = getattr(err, "fp", None)
    if fp is not None:
        fp.close()


def _unwrap(exc: BaseException) -> BaseException:
    # urllib wraps connect errors in URLError(reason=<the real exception>).
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        return exc.reason
    return exc


def _retryable(exc: BaseException) -> bool:
    """Hiccups worth retrying; refused connections and DNS failures mean "offline" or
    "wrong host", where waiting only delays the message that offers the cached file."""
    inner = _unwrap(exc)
    if isinstance(inner, ConnectionRefusedError | socket.gaierror | ssl.SSLCertVerificationError):
        return False
    return isinstance(
        inner,
        TimeoutError
        | ConnectionResetError
        | ConnectionAbortedError
        | BrokenPipeError
        | http.client.HTTPException,
    )


def _reason(exc: BaseException, timeout: float) -> str:
    """A short, one-line, human reason for a network exception."""
    inner = _unwrap(exc)
    if isinstance(inner, ConnectionRefusedError):
        text = "connection refused"
    elif isinstance(inner, socket.gaierror):
        text = "cannot resolve the host name (offline?)"
    elif isinstance(inner, TimeoutError):
        text = f"no answer within {timeout:g} s"
    elif isinstance(inner, http.client.RemoteDisconnected):
        text = "the server closed the connection without answering"
    elif isinstance(inner, ConnectionResetError):
        text = "connection reset"
    elif isinstance(inner, http.client.IncompleteRead):
        text = "incomplete read"
    elif isinstance(inner, ssl.SSLCertVerificationError):
        text = f"TLS certificate problem: {inner.verify_message}"
    elif isinstance(inner, OSError) and inner.strerror:
        text = inner.strerror
    elif isinstance(exc, urllib.error.URLError):
        text = str(exc.reason)
    else:
        text = str(inner) or type(inner).__name__
    return " ".join(text.split())


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max((when - dt.datetime.now(dt.UTC)).total_seconds(), 0.0)


def _unsatisfied_total(content_range: str | None) -> int | None:
    m = _UNSATISFIED_RANGE_RE.match(content_range or "")
    return int(m.group(1)) if m else None


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _plus(a: int, b: int | None) -> int | None:
    return None if b is None else a + b


def _size_and_sha256(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _discard(*paths: Path) -> None:
    for p in paths:
        p.unlink(missing_ok=True)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    data = {k: v for k, v in data.items() if k != "validated"}
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _utc_now() -> str:
    return _iso(dt.datetime.now(dt.UTC))


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
