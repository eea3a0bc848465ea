"""Command line → a call to :func:`collectwatch.pipeline.build`; user errors → one line, exit 2."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import paths
from .errors import UserError


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python build.py",
        description="Build the debt-collection complaint site. With no input, builds from "
        "the bundled synthetic demo data.",
    )
    p.add_argument(
        "--input",
        nargs="+",
        metavar="PATH",
        help="complaint exports to build from: CFPB CSV, CSV.zip or JSON in any flavour, "
        "or files of a source configured in data/sources.yaml",
    )
    p.add_argument(
        "--fetch",
        action="store_true",
        help="download the latest CFPB bulk export (cached, resumable) and build from it",
    )
    p.add_argument(
        "--fetch-search",
        action="store_true",
        help="download the slice of the CFPB search API set in fetch.search (data/sources.yaml: "
        "dates, companies) and build from it",
    )
    p.add_argument(
        "--out", type=Path, default=paths.DEFAULT_OUT, metavar="DIR", help="output folder"
    )
    p.add_argument(
        "--config", type=Path, metavar="FILE", help="site settings file (default data/site.yaml)"
    )
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.add_argument(
        "--serve",
        nargs="?",
        const=8000,
        type=int,
        metavar="PORT",
        help="after building, serve the site on http://127.0.0.1:PORT (default 8000)",
    )
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="parse every input again instead of reusing the cached table",
    )
    return p


def _input_flags(args: argparse.Namespace) -> list[str]:
    """Which of the mutually exclusive ways to get complaints were given."""
    given = {"--input": args.input, "--fetch": args.fetch, "--fetch-search": args.fetch_search}
    return [flag for flag, value in given.items() if value]


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    chosen = _input_flags(args)
    if len(chosen) > 1:
        given = " and ".join(chosen)
        print(
            f"error: use only one of --input, --fetch, --fetch-search, not {given}", file=sys.stderr
        )
        return 2
    from .pipeline import build  # heavy imports after argument checks

    try:
        report = build(
            inputs=args.input,
            fetch=args.fetch,
            fetch_search=args.fetch_search,
            out=args.out,
            config_file=args.config,
            quiet=args.quiet,
            use_cache=not args.no_cache,
        )
    except UserError as exc:
        print("error: " + " ".join(str(exc).split()), file=sys.stderr)  # always one line
        return 2
    except KeyboardInterrupt:
        print("interrupted; the previous site is untouched", file=sys.stderr)
        return 130
    if not args.quiet:
        print(
            f"built {args.out}: {report['complaints']:,} complaints, "
            f"{len(report['inputs'])} input(s), {report['timings']['total']:.1f} s"
        )
    if args.serve is not None:
        from .serve import serve

        serve(args.out, args.serve)
    return 0
