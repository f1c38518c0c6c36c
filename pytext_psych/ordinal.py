"""Ordinal outcomes (Likert ratings): the CORN head's outputs as level probabilities.

``task="ordinal"`` trains a head of K - 1 outputs for K ordered levels with the CORN loss
(Shi, Cao & Raschka, 2023, "Deep neural networks for rank-consistent ordinal regression
based on conditional probabilities", Pattern Analysis and Applications,
doi:10.1007/s10044-023-01181-9): output k is the logit of P(y > k | y > k - 1), learned on
the texts rated above k - 1 only. The chain rule gives P(y > k) = prod_{j <= k} sigmoid(f_j),
which can only fall as k grows, so the level probabilities are always consistent (CORAL
gets this by sharing one weight vector across thresholds; CORN keeps an ordinary linear
head, so export, int8 quantisation and scoring work as for any other head). Predictions:
the expected rating (the levels' values weighted by their probabilities), the most likely
level, and each level's probability. numpy only: scoring needs no torch.
"""

from __future__ import annotations

import numpy as np


def probabilities(outputs: np.ndarray) -> np.ndarray:
    """Level probabilities (n x K) from the K - 1 conditional logits.

    >>> probabilities(np.array([[0.0, 0.0]])).round(3).tolist()
    [[0.5, 0.25, 0.25]]
    """
    above = np.cumprod(1 / (1 + np.exp(-np.asarray(outputs, dtype=float))), axis=1)  # P(y > k)
    n = len(above)
    upper = np.hstack([np.ones((n, 1)), above])
    lower = np.hstack([above, np.zeros((n, 1))])
    return upper - lower


def expected(outputs: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The expected rating: each level's value weighted by its probability."""
    return probabilities(outputs) @ np.asarray(values, dtype=float)


def most_likely(outputs: np.ndarray) -> np.ndarray:
    """The code of each text's most probable level."""
    return probabilities(outputs).argmax(axis=1)
