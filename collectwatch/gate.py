"""Two build reports → go or no-go for publishing (``python -m collectwatch.gate``).

The nightly workflow runs this between building and deploying, so a broken export (a
truncated download, a changed format that rejects most rows) never replaces a good site,
and a site past the host's limits (GitHub Pages: 1 GB a site) is never sent to it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

MAX_BYTES = 900_000_000  # under GitHub Pages' 1 GB, with room for a night's growth
MAX_FILES = 100_000


def problems(
    previous: dict,
    current: dict,
    *,
    max_shrink: float,
    max_rejected: float,
    max_bytes: int = MAX_BYTES,
    max_files: int = MAX_FILES,
) -> list:
    """Reasons not to publish ``current`` after ``previous`` (an empty list means go)."""
    found = []
    size = current.get("site") or {}
    if size.get("bytes", 0) > max_bytes:
        found.append(f"the site is {size['bytes']:,} bytes, more than {max_bytes:,}")
    if size.get("files", 0) > max_files:
        found.append(f"the site has {size['files']:,} files, more than {max_files:,}")
    before, now = previous.get("complaints"), current["complaints"]
    if before and now < before * (1 - max_shrink):
        drop = 1 - now / before
        found.append(
            f"complaints fell from {before:,} to {now:,} ({drop:.1%}, more than {max_shrink:.1%})"
        )
    read = sum(i["rows_read"] for i in current["inputs"])
    rejected = sum(i["rows_rejected"] for i in current["inputs"])
    if read and rejected / read > max_rejected:
        found.append(
            f"{rejected:,} of {read:,} rows rejected ({rejected / read:.2%}, "
            f"more than {max_rejected:.2%})"
        )
    if now == 0:
        found.append("the build has no complaints")
    return found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m collectwatch.gate", description=__doc__)
    p.add_argument("previous", type=Path, help="build-report.json of the site now published")
    p.add_argument("current", type=Path, help="build-report.json of the new build")
    p.add_argument("--max-shrink", type=float, default=0.02)
    p.add_argument("--max-rejected", type=float, default=0.001)
    p.add_argument("--max-bytes", type=int, default=MAX_BYTES, help="largest site to publish")
    p.add_argument("--max-files", type=int, default=MAX_FILES, help="most files to publish")
    args = p.parse_args(argv)
    try:
        previous = (
            json.loads(args.previous.read_text(encoding="utf-8")) if args.previous.exists() else {}
        )
        current = json.loads(args.current.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        print(f"error: cannot read a build report: {exc}", file=sys.stderr)
        return 2
    found = problems(
        previous,
        current,
        max_shrink=args.max_shrink,
        max_rejected=args.max_rejected,
        max_bytes=args.max_bytes,
        max_files=args.max_files,
    )
    if found:
        print("error: not publishing: " + "; ".join(found), file=sys.stderr)
        return 2
    print(f"publishing: {current['complaints']:,} complaints")
    return 0


if __name__ == "__main__":
    sys.exit(main())
