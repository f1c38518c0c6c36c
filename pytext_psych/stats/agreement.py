"""Agreement of model and human coders: Cohen's (weighted) kappa and ICC(2,1), with
bootstrap intervals from the same engine as the metrics."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .bootstrap import SCALES, _prepare, _table, check_options
from .metrics import AGREEMENT


def agreement(
    rater_a: Sequence,
    rater_b: Sequence,
    scale: str = "nominal",
    *,
    categories: Sequence | None = None,
    n_resamples: int = 2000,
    ci_level: float = 0.95,
    method: str = "bca",
    seed: int = 42,
) -> pd.DataFrame:
    """Agreement between two raters (e.g. a human coder and the model), with bootstrap CIs.

    Parameters
    ----------
    rater_a, rater_b : array-like
        The two ratings of the same cases.
    scale : {"nominal", "ordinal", "interval"}
        ``"nominal"``: Cohen's kappa. ``"ordinal"``: Cohen's kappa and linearly and
        quadratically weighted kappa, the weights being distances between positions in
        ``categories``. ``"interval"``: ICC(2,1), two-way random effects, absolute
        agreement, single rater (Shrout & Fleiss, 1979).
    categories : sequence, optional
        Ordered categories for ``"ordinal"`` (default: the sorted values seen); also fixes
        the categories for ``"nominal"``.

    Returns
    -------
    pandas.DataFrame
        The tidy columns ``metric, estimate, conf_low, conf_high, ci_level, n, method``.

    Examples
    --------
    >>> a = [1, 2, 3, 3, 2, 1, 4, 4, 2, 3]
    >>> b = [1, 2, 3, 4, 2, 2, 4, 3, 2, 3]
    >>> list(agreement(a, b, "ordinal").metric)
    ['cohen_kappa', 'kappa_linear', 'kappa_quadratic']
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, not {scale!r}")
    check_options(method, ci_level, n_resamples)
    if scale == "interval":
        data, _ = _prepare("regression", rater_a, [rater_b], None)
    else:
        if categories is None:
            values = pd.unique(np.concatenate([np.asarray(rater_a, dtype=object),
                                               np.asarray(rater_b, dtype=object)]))
            try:
                categories = sorted(values)
            except TypeError:  # mixed types: order by their text
                categories = sorted(values, key=str)
        data, _ = _prepare("classification", rater_a, [rater_b], [str(c) for c in categories])
    return _table(AGREEMENT[scale], data, n_resamples, ci_level, method, seed, None)


ORDINAL_MAX_LEVELS = 15  # integer ratings with at most this many levels also get weighted kappa


def rating_agreement(observed: Sequence[float], predicted: Sequence[float],
                     levels: Sequence[float] | None = None, **boot) -> pd.DataFrame:
    """Agreement of predicted and human ratings: ICC(2,1) and, for integer ratings with at
    most ``ORDINAL_MAX_LEVELS`` levels, linear and quadratic weighted kappa of the
    predictions rounded onto the rating scale (the integers from the lowest to the highest
    of ``levels``, by default the observed ratings). ``boot``: ``n_resamples``,
    ``ci_level``, ``method``, ``seed``.

    >>> t = rating_agreement([1, 2, 3, 4, 5, 3], [1.2, 2.4, 2.6, 4.4, 4.9, 3.1], n_resamples=50)
    >>> t.metric.tolist()
    ['icc_2_1', 'kappa_linear', 'kappa_quadratic']
    """
    observed, predicted = np.asarray(observed, dtype=float), np.asarray(predicted, dtype=float)
    table = agreement(observed, predicted, "interval", **boot)
    values = np.unique(observed if levels is None else np.asarray(levels, dtype=float))
    if not (np.allclose(values, np.round(values)) and len(values) <= ORDINAL_MAX_LEVELS):
        return table
    scale = np.arange(values.min(), values.max() + 1)
    rounded = np.clip(np.round(predicted), scale[0], scale[-1]) + 0.0  # + 0.0: -0.0 (from -0.4) is 0.0
    kappas = agreement(observed, rounded, "ordinal", categories=scale, **boot)
    kappas = kappas[kappas.metric != "cohen_kappa"].assign(
        method=lambda t: t.method + " (predictions rounded to the rating scale)")
    return pd.concat([table, kappas], ignore_index=True)
