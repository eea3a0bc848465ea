"""docs/benchmarks.md is shared: each benchmark owns one marked section of it.

A section sits between ``<!-- name:start -->`` and ``<!-- name:end -->``; writing it replaces
only that section (or appends it), so ``make bench``, ``make bench-full``, ``make audit`` and
the spike benchmark can each rerun without erasing the others' results.
"""

from __future__ import annotations

from pathlib import Path


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def write_section(doc: Path, name: str, text: str) -> None:
    """Put ``text`` (which starts and ends with the markers of ``name``) into ``doc``."""
    start, end = markers(name)
    if not (text.startswith(start) and text.rstrip("\n").endswith(end)):
        raise ValueError(f"section {name!r} must start with {start} and end with {end}")
    old = doc.read_text(encoding="utf-8") if doc.is_file() else "# Benchmarks\n"
    if start in old and end in old:
        head, _, rest = old.partition(start)
        _, _, tail = rest.partition(end)
        new = head + text.rstrip("\n") + tail
    else:
        new = old.rstrip("\n") + "\n\n" + text
    doc.write_text(new if new.endswith("\n") else new + "\n", encoding="utf-8")
