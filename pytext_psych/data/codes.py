"""Several codes per text (``task="multilabel"``): the codes as one 0/1 column each, or one
column of codes separated by ``;`` ("money; health"), turned into a True/False column per
code and checked before any training. Each code is then fitted as a two-class outcome of
one model (:mod:`.outcomes`): one encoder, a head per code. numpy and pandas only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .reading import _rows, _show, require_columns

SEPARATOR = ";"
MIN_POSITIVES = 3  # so that training, dev and test texts can each hold one
_TRUE, _FALSE = {"1", "1.0", "true"}, {"0", "0.0", "false"}


def code_matrix(df: pd.DataFrame, outcome: Any, text: str) -> pd.DataFrame:
    """One True/False column per code, named by the code, in ``df``'s row order: from
    several 0/1 (or True/False) columns, or from one column of ``;``-separated codes;
    refused when a code is too rare or too common."""
    names = [outcome] if isinstance(outcome, str) else list(outcome)
    require_columns(df, *names)
    codes = _split_codes(df[names[0]]) if len(names) == 1 else pd.DataFrame(
        {name: _indicator(df[name], name) for name in names}, index=df.index)
    if codes.shape[1] < 2:
        raise ValueError(f"task='multilabel' needs at least 2 codes; {names} hold {list(codes.columns)}. "
                         "For one code, fit it as a two-class outcome (task='classification')")
    if text in codes.columns:
        raise ValueError(f"a code is named like the text column {text!r}; rename the code or the column")
    _check_counts(codes)
    return codes


def _split_codes(column: pd.Series) -> pd.DataFrame:
    """A column of ``;``-separated codes (a missing or empty cell: no code) as indicators.

    >>> _split_codes(pd.Series(["money; health", "health", None])).to_dict("list")
    {'health': [True, True, False], 'money': [True, False, False]}
    """
    cells = column.where(column.notna(), "").astype(str)
    lists = [sorted({c.strip() for c in cell.split(SEPARATOR) if c.strip()}) for cell in cells]
    codes = sorted({c for row in lists for c in row})
    return pd.DataFrame({c: [c in row for row in lists] for c in codes}, index=column.index)


def _indicator(column: pd.Series, name: str) -> np.ndarray:
    """A 0/1 or True/False column (R's logical columns arrive as "TRUE"/"FALSE")."""
    text = column.astype(str).str.strip().str.lower()
    bad = column.isna().to_numpy() | ~text.isin(_TRUE | _FALSE).to_numpy()
    if bad.any():
        shown = ", ".join(_show(v) for v in pd.unique(column[bad])[:3])
        raise ValueError(f"code column {name!r} holds values other than 0/1 or True/False ({shown}; rows "
                         f"{_rows(column.index[bad])}); with task='multilabel' each code column says whether "
                         "the text has that code")
    return text.isin(_TRUE).to_numpy()


def _check_counts(codes: pd.DataFrame) -> None:
    """Every code needs a few texts with it and a few without."""
    positives = codes.sum()
    rare = positives[positives < MIN_POSITIVES]
    if len(rare):
        shown = ", ".join(f"{c!r} ({n})" for c, n in rare.items())
        raise ValueError(f"{len(rare)} code(s) are given to fewer than {MIN_POSITIVES} texts: {shown}; each code "
                         "needs a few in training, dev and test texts. Drop or merge them, or code more texts")
    everywhere = positives[positives > len(codes) - MIN_POSITIVES]
    if len(everywhere):
        raise ValueError(f"code(s) {', '.join(map(repr, everywhere.index))} are given to (nearly) every text; "
                         "there is nothing to tell apart. Drop them")


def check_split(codes: np.ndarray, names: tuple[str, ...], assigned: np.ndarray) -> None:
    """After the split: every code must have a text with it among the training, dev and
    evaluated texts (``assigned``: each row's split)."""
    missing = [f"{name!r} ({split})" for j, name in enumerate(names) for split in ("train", "dev", "test")
               if (assigned == split).any() and not codes[assigned == split, j].any()]
    if missing:
        raise ValueError(f"no text with code(s) {', '.join(missing)} after the split; each code needs one in "
                         "every split. Code more texts, drop the rare codes, or use cv=")
