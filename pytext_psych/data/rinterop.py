"""R interop: plain column transfer for the R package, and rpy2 conversions for Python users.

Two audiences:

* The R package ``pytextpsych`` (``rbridge/``) calls :func:`frame_from_columns` and
  :func:`columns_for_r` through reticulate, and asks :func:`rules` for what it shows
  (headline metrics, baseline names) rather than restating it. They move data as plain lists plus a missing
  mask per column, because reticulate 1.28 (Debian 12) converts neither pandas >= 3
  DataFrames nor NumPy 2 arrays, and turns ``NA`` into the string ``"NA"`` (character),
  ``-2147483648`` (integer) or ``TRUE`` (logical). The data.frame is built in R.
* Python users who hand results to R colleagues use :func:`to_r`, :func:`save_rds` and
  :func:`from_r` (rpy2; ``pip install pytext-psych[r]``). ``fit_text_model`` also accepts
  an R data.frame (an rpy2 object) as ``data``.

Column names follow broom in R: ``conf_low`` / ``conf_high`` become ``conf.low`` /
``conf.high``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core.settings import BASELINES, defaults
from ..stats import HEADLINE

BROOM_NAMES = {"conf_low": "conf.low", "conf_high": "conf.high", "p_value": "p.value"}


def _as_list(values: Any) -> list:
    """reticulate turns length-1 vectors into scalars; undo that."""
    return list(values) if isinstance(values, (list, tuple)) else [values]


def rules() -> dict[str, Any]:
    """The rules the R package shows but never restates: each task's headline metric
    (ordinal fits are rated as ratings), the baselines' names and descriptions, and the
    names of the fit settings in Python's order (R passes exactly these on).

    >>> rules()["headline"]["ordinal"], rules()["baselines"][0], rules()["settings"][:2]
    ('pearson_r', 'tfidf', ['model', 'epochs'])
    """
    return {"headline": dict(HEADLINE), "baselines": list(BASELINES), "baseline_labels": dict(BASELINES),
            "settings": list(defaults())}


def frame_from_columns(columns: dict[str, dict[str, Any]], names: Any = None) -> pd.DataFrame:
    """Build a DataFrame from R columns sent as ``{name: {kind, values, na, levels}}``.

    ``kind`` is ``numeric``, ``integer``, ``logical``, ``character`` or ``factor``;
    ``na`` marks the missing entries (their ``values`` are placeholders); ``levels`` keeps
    a factor's level order, so classes keep the order the R user gave them. The index
    counts from 1, like R's rows, so messages about bad rows name the rows R users see.
    """
    data = {}
    for name in _as_list(names) if names is not None else list(columns):
        col = columns[name]
        values, na = _as_list(col["values"]), [bool(x) for x in _as_list(col["na"])]
        kind = col["kind"]
        if kind in ("numeric", "integer"):
            series = pd.Series([np.nan if m else float(v) for v, m in zip(values, na)], dtype=float)
            if kind == "integer" and not any(na):
                series = series.astype(np.int64)
        elif kind == "logical":
            series = pd.Series([None if m else bool(v) for v, m in zip(values, na)],
                               dtype="boolean" if any(na) else bool)
        elif kind in ("character", "factor"):
            series = pd.Series([None if m else str(v) for v, m in zip(values, na)], dtype=object)
            if kind == "factor":
                series = pd.Series(pd.Categorical(series, categories=_as_list(col["levels"]),
                                                  ordered=bool(col.get("ordered", False))))
        else:
            raise ValueError(f"column {name!r}: unsupported R column type {kind!r}")
        data[name] = series
    frame = pd.DataFrame(data)
    frame.index = pd.RangeIndex(1, len(frame) + 1)  # R's row numbers, so errors name R rows
    return frame


def columns_for_r(df: pd.DataFrame, broom: bool = False) -> dict[str, dict[str, Any]]:
    """Columns of ``df`` as ``{name: {kind, values, na}}`` with plain Python lists.

    Numbers become floats (or ints), booleans bools, everything else strings; missing
    entries are flagged in ``na`` (with a placeholder in ``values``). The index is dropped.
    """
    out = {}
    for name in df.columns:
        series = df[name]
        na = series.isna().tolist()
        if pd.api.types.is_bool_dtype(series):
            kind, values = "logical", [bool(v) if not m else False for v, m in zip(series, na)]
        elif pd.api.types.is_integer_dtype(series) and not any(na):
            kind, values = "integer", [int(v) for v in series]
        elif pd.api.types.is_numeric_dtype(series):
            kind, values = "numeric", [float(v) if not m else math.nan for v, m in zip(series, na)]
        else:
            kind, values = "character", ["" if m else str(v) for v, m in zip(series, na)]
        out[BROOM_NAMES.get(name, name) if broom else str(name)] = {
            "kind": kind, "values": values, "na": na,
        }
    return out


# ------------------------------------------------------------------------------- rpy2 side
def robjects():
    """``rpy2.robjects``, imported without its side effect on the environment.

    Starting embedded R, rpy2 puts R's library folders (``/usr/lib/R/lib`` and the
    system's ``/usr/lib/x86_64-linux-gnu``) into ``os.environ["LD_LIBRARY_PATH"]``. That
    does nothing for this process (the loader read it at start-up) but every process
    started afterwards inherits it, and a Python with its own ``libpython`` then loads
    the system's instead and fails (seen: ``import ssl`` in a child Python). The previous
    value is restored after the import.
    """
    before = os.environ.get("LD_LIBRARY_PATH")
    try:
        import rpy2.robjects as ro
    except ImportError:
        raise ImportError(
            "R interop needs rpy2 and R; install with: pip install 'pytext-psych[r]'"
        ) from None
    finally:
        if before is None:
            os.environ.pop("LD_LIBRARY_PATH", None)
        else:
            os.environ["LD_LIBRARY_PATH"] = before
    return ro


def _pandas2ri():
    ro = robjects()
    from rpy2.robjects import pandas2ri

    return ro.conversion.localconverter(ro.default_converter + pandas2ri.converter)


def is_r_object(data: Any) -> bool:
    return type(data).__module__.startswith("rpy2")


def from_r(data: Any) -> pd.DataFrame:
    """An R data.frame (rpy2 object) as a pandas DataFrame."""
    with _pandas2ri():
        return robjects().conversion.get_conversion().rpy2py(data)


def to_r(df: pd.DataFrame, broom: bool = True):
    """A pandas DataFrame as an R data.frame; metric tables get broom's column names."""
    frame = df.rename(columns=BROOM_NAMES) if broom else df
    frame = frame.reset_index(drop=True)
    frame = frame.astype({c: object for c in frame.columns if pd.api.types.is_string_dtype(frame[c])})
    with _pandas2ri():
        return robjects().conversion.get_conversion().py2rpy(frame)


def save_rds(obj: Any, path: str | Path) -> Path:
    """Save a DataFrame, or a fit's metrics / predictions / history, as an R ``.rds`` file.

    A :class:`~pytext_psych.TextModelFit` becomes an R list with ``metrics``,
    ``baseline_metrics``, ``comparison``, ``agreement``, ``predictions``, ``history``
    (data.frames; broom column names), ``report`` (the APA text) and ``bundle_path``; read
    it in R with ``readRDS(path)``.

    Examples
    --------
    >>> save_rds(fit, "fit.rds")    # doctest: +SKIP
    """
    ro = robjects()
    if isinstance(obj, pd.DataFrame):
        value = to_r(obj)
    elif hasattr(obj, "metrics") and hasattr(obj, "bundle_path"):
        frames = {name: getattr(obj, name) for name in
                  ("metrics", "baseline_metrics", "comparison", "agreement", "predictions", "history")}
        value = ro.ListVector({
            **{name: to_r(frame) for name, frame in frames.items() if frame is not None},
            "report": ro.StrVector([obj.report().text]),
            "bundle_path": ro.StrVector([str(obj.bundle_path)]),
        })
    else:
        raise TypeError(f"save_rds takes a DataFrame or a TextModelFit, not {type(obj).__name__}")
    path = Path(path)
    ro.r["saveRDS"](value, str(path))
    return path
