"""Ordinal outcomes (Likert ratings): two heads, and their outputs as level probabilities.

``task="ordinal"`` with ``ordinal_head="clm"`` (the default) is the cumulative-link model
psychologists know as ordinal logistic regression: the network gives one score s per
text, and K - 1 ordered cut points, learned with it, turn it into P(y <= k) =
sigmoid(cut_k - s). The ONNX graph outputs s; the cut points are plain numbers in
bundle.json. ``ordinal_head="corn"`` (Shi, Cao & Raschka, 2023, "Deep neural networks for
rank-consistent ordinal regression based on conditional probabilities", Pattern Analysis
and Applications, doi:10.1007/s10044-023-01181-9) outputs K - 1 logits, output k that of
P(y > k | y > k - 1), trained on the texts rated above k - 1 only; the chain rule gives
P(y > k) = prod_{j <= k} sigmoid(f_j). Both keep the level probabilities consistent, and
both heads are ordinary linear layers, so export, int8 quantisation and scoring work as
for any other. The cumulative link is the default head: on RWWD anxiety it matched
regression in r and beat it in RMSE, where CORN lost (``docs/decisions.md``).
Predictions: the expected rating (the levels' values weighted by their probabilities), the
most likely level, and each level's probability. numpy only.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def probabilities(outputs: np.ndarray, cuts: Sequence[float] | None = None) -> np.ndarray:
    """Level probabilities (n x K): from the K - 1 conditional logits (CORN), or with
    ``cuts`` (the cumulative-link head's K - 1 ordered cut points) from the one score s:
    P(y <= k) = sigmoid(cut_k - s).

    >>> probabilities(np.array([[0.0, 0.0]])).round(3).tolist()
    [[0.5, 0.25, 0.25]]
    >>> probabilities(np.array([[0.0]]), cuts=[-1.0, 1.0]).round(3).tolist()
    [[0.269, 0.462, 0.269]]
    """
    outputs = np.asarray(outputs, dtype=float)
    n = len(outputs)
    if cuts is not None:
        below = _sigmoid(np.asarray(cuts, dtype=float)[None, :] - outputs[:, :1])  # P(y <= k)
        return np.diff(np.hstack([np.zeros((n, 1)), below, np.ones((n, 1))]), axis=1)
    above = np.cumprod(_sigmoid(outputs), axis=1)  # P(y > k)
    return np.hstack([np.ones((n, 1)), above]) - np.hstack([above, np.zeros((n, 1))])


def expected(outputs: np.ndarray, values: np.ndarray, cuts: Sequence[float] | None = None) -> np.ndarray:
    """The expected rating: each level's value weighted by its probability."""
    return probabilities(outputs, cuts) @ np.asarray(values, dtype=float)


def level_score(outputs: np.ndarray) -> np.ndarray:
    """One number per text that orders the texts by rating, without the cut points: the
    cumulative-link score itself, or CORN's expected level code. For choosing epochs and
    checking the export (correlations only)."""
    outputs = np.asarray(outputs, dtype=float)
    if outputs.shape[1] == 1:
        return outputs[:, 0]
    return expected(outputs, np.arange(outputs.shape[1] + 1))
