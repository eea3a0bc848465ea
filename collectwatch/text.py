"""Shared text helpers: Traditional → Simplified Chinese."""

from functools import cache

import pandas as pd


@cache
def _converter():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional Chinese characters → Simplified; other text unchanged."""
    return _converter().convert(text)


def to_simplified_series(s: pd.Series) -> pd.Series:
    """Vectorised :func:`to_simplified`, converting each distinct value once."""
    uniq = s.dropna().unique()
    mapping = {v: to_simplified(v) for v in uniq}
    return s.map(mapping).astype("string")
