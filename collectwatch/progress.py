"""Counts of work done → a one-line progress bar on stderr (silent unless stderr is a TTY).

Used by the download (bytes) and by ingest (rows). Nothing here decides *whether* to show
progress beyond the TTY check: callers pass ``enabled=False`` for ``--quiet``.
"""

from __future__ import annotations

import resource
import shutil
import sys
import time
from typing import TextIO

_BAR_WIDTH = 24
# Redraw at most this often: drawing on every 1 MiB chunk or every row would spend more
# time on the terminal than on the work, and flicker.
_MIN_REDRAW_SECONDS = 0.2


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its finished children so far."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover - the loop always returns


def _human_count(n: float, unit: str) -> str:
    return f"{n:,.0f} {unit}"


class Progress:
    """A progress bar for ``total`` units (or an open-ended counter when ``total`` is None).

    ``update(n)`` adds ``n`` units; ``close()`` draws the final state and ends the line.
    Also a context manager. When disabled, or when ``stream`` is not a TTY (CI logs, pipes),
    every method is a cheap no-op so callers never need their own ``if``.
    """

    def __init__(
        self,
        total: int | None,
        label: str,
        *,
        enabled: bool = True,
        unit: str = "B",
        stream: TextIO | None = None,
        min_interval: float = _MIN_REDRAW_SECONDS,
    ) -> None:
        self.total = total if total and total > 0 else None
        self.label = label
        self.unit = unit
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.min_interval = min_interval
        self.active = bool(enabled) and _is_tty(self.stream)
        self._started = time.monotonic()
        self._last_draw = float("-inf")
        self._last_len = 0
        self._closed = False

    def update(self, n: int) -> None:
        """Record ``n`` more units done; redraws if the last redraw is old enough."""
        self.done += n
        if not self.active:
            return
        now = time.monotonic()
        if now - self._last_draw >= self.min_interval:
            self._draw(now)

    def close(self) -> None:
        """Draw the final state and move to a new line (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self.active:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def render(self, now: float | None = None) -> str:
        """The text of the bar as it would be drawn now (without the carriage return)."""
        now = time.monotonic() if now is None else now
        elapsed = max(now - self._started, 1e-9)
        fmt = _human_bytes if self.unit == "B" else (lambda x: _human_count(x, self.unit))
        rate = f"{fmt(self.done / elapsed)}/s"
        if self.total is None:
            return f"{self.label} {fmt(self.done)} {rate}"
        frac = min(self.done / self.total, 1.0)
        filled = int(frac * _BAR_WIDTH)
        bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
        return f"{self.label} [{bar}] {frac:4.0%} {fmt(self.done)}/{fmt(self.total)} {rate}"

    def _draw(self, now: float) -> None:
        self._last_draw = now
        text = self.render(now)
        # Never wrap: a wrapped line breaks the carriage-return redraw trick.
        width = shutil.get_terminal_size((80, 24)).columns - 1
        text = text[:width]
        # Pad over the remains of a longer previous line instead of relying on ANSI codes.
        pad = " " * max(self._last_len - len(text), 0)
        self._last_len = len(text)
        self.stream.write("\r" + text + pad)
        self.stream.flush()


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or file-like objects without isatty
        return False


def progress(
    total: int | None,
    label: str,
    enabled: bool = True,
    *,
    unit: str = "B",
    stream: TextIO | None = None,
) -> Progress:
    """A :class:`Progress` for ``total`` units (None = unknown); silent unless stderr is a TTY."""
    return Progress(total, label, enabled=enabled, unit=unit, stream=stream)
