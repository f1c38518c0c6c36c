"""Split-conformal prediction: nonconformity scores and the calibrated threshold."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .metrics import softmax


# ------------------------------------------------------------------ conformal prediction
def conformity_scores(task: str, outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Nonconformity of each calibration case: the absolute residual (regression, in the
    model's output units) or 1 - the probability given to the true class (classification,
    the LAC score of Sadinle, Lei & Wasserman, 2019)."""
    if task == "regression":
        return np.abs(np.asarray(targets, dtype=float) - outputs[:, 0])
    probs = softmax(outputs)
    return 1.0 - probs[np.arange(len(probs)), np.asarray(targets, dtype=np.int64)]


def code_set_scores(presence: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Nonconformity of each calibration text for sets of codes (several codes per text):
    1 - the lowest probability the model gave to a code the text has (0 for a text with no
    code). The set of codes whose probability is at least 1 - t holds every code of a text
    exactly when its score is at most t, so with the split-conformal threshold the set holds
    all of a new text's codes with probability at least the level (the LAC score of
    Sadinle et al., 2019, taken over a text's codes; cf. Cauchois, Gupta & Duchi, 2021).
    ``presence``: texts x codes probabilities; ``observed``: the same shape, True where coded.

    >>> code_set_scores(np.array([[0.9, 0.2], [0.6, 0.1]]), np.array([[True, True], [False, False]]))
    array([0.8, 0. ])
    """
    missed = np.where(np.asarray(observed, dtype=bool), 1.0 - np.asarray(presence, dtype=float), 0.0)
    return missed.max(axis=1, initial=0.0)


def conformal_threshold(scores: Sequence[float], level: float) -> float:
    """Split-conformal threshold: the ceil((n + 1) * level)-th smallest calibration score.

    With exchangeable cases, a new case's score falls at or below it with probability at
    least ``level`` (Vovk et al., 2005; Angelopoulos & Bates, 2021). Raises when the
    calibration set is too small for the level (the threshold would be infinite).

    Examples
    --------
    >>> conformal_threshold(range(1, 20), 0.9)
    18.0
    """
    if not 0 < level < 1:
        raise ValueError(f"interval must lie between 0 and 1, not {level}")
    scores = np.sort(np.asarray(scores, dtype=float))
    n = len(scores)
    k = int(np.ceil((n + 1) * level))
    if k > n:
        raise ValueError(
            f"a {level:.0%} conformal interval needs at least {int(np.ceil(level / (1 - level)))} "
            f"calibration (dev) cases; this model has {n}. Lower the level or fit with a larger "
            "dev split"
        )
    return scores[k - 1].item()
