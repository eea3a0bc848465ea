"""Numbers → the text every page, chart, table and article prints for them.

One formatter per kind of number, so that a missing value reads the same everywhere.
"""

from __future__ import annotations

import pandas as pd

MISSING = "–"  # an en dash: no value (a share of zero complaints, say)


def missing(x) -> bool:
    return x is None or bool(pd.isna(x))


def pct(x, digits: int = 1) -> str:
    """0.1234 → "12.3%"; a missing value → "–"."""
    return MISSING if missing(x) else f"{100 * float(x):.{digits}f}%"


def count(n) -> str:
    """1234 → "1,234"; a missing value → "–"."""
    return MISSING if missing(n) else f"{int(n):,}"
