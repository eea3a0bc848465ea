"""Shared text helpers: what counts as a published narrative; Traditional → Simplified."""

from functools import cache

import numpy as np
import pandas as pd


def published(narratives: pd.Series) -> np.ndarray:
    """Which narratives are published text: present and not only white space. Every count
    of narratives, every text rule and every excerpt uses this one test."""
    text = narratives.astype("string")
    return (text.notna() & (text.str.strip().str.len() > 0)).fillna(False).to_numpy(dtype=bool)


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
