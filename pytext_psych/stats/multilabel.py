"""Several codes per text (multi-label): the metrics of 0/1 code matrices (texts x codes),
computed from case weights as every other metric here, so that they get bootstrap CIs and
paired comparisons from the same engine (:func:`~pytext_psych.stats.bootstrap_metrics`
with ``task="multilabel"``).

Definitions as scikit-learn's (``average="micro"`` / ``"macro"``, ``zero_division=0``):
micro F1 pools every code's true and false positives and negatives; macro F1 is the mean
of the codes' F1 (a code that is neither coded nor predicted counts 0); subset accuracy
is the share of texts whose codes are all right; Hamming loss the share of wrong
text-code cells. numpy only.
"""

from __future__ import annotations

from functools import cached_property
from typing import Callable, Sequence

import numpy as np


class Multilabel:
    """Observed and predicted code matrices (bool, texts x codes)."""

    task = "multilabel"

    def __init__(self, y: np.ndarray, p: np.ndarray):
        self.n, self.k = y.shape
        self.cells = np.stack([y & p, ~y & p, y & ~p]).astype(np.int64)  # tp, fp, fn per text and code
        wrong = (y != p).sum(1)
        self.exact, self.wrong = (wrong == 0).astype(np.int64), wrong.astype(np.int64)

    def rows(self, w: np.ndarray) -> "MultilabelRows":
        return MultilabelRows(w, self)


class MultilabelRows:
    """Weighted counts for each weight row."""

    def __init__(self, w: np.ndarray, data: Multilabel):
        self.w, self.data = w, data

    @cached_property
    def counts(self) -> np.ndarray:
        """(tp, fp, fn) x rows x codes."""
        return np.einsum("rn,cnk->crk", self.w, self.data.cells)

    @cached_property
    def per_code(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tp, fp, fn = self.counts
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
        return tp, fp, f1


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)


def _f1_micro(r: MultilabelRows) -> np.ndarray:
    tp, fp, fn = (c.sum(1) for c in r.counts)
    return _ratio(2 * tp, 2 * tp + fp + fn)


def _f1_macro(r: MultilabelRows) -> np.ndarray:
    return r.per_code[2].mean(1)


def _precision_micro(r: MultilabelRows) -> np.ndarray:
    tp, fp, _ = (c.sum(1) for c in r.counts)
    return _ratio(tp, tp + fp)


def _recall_micro(r: MultilabelRows) -> np.ndarray:
    tp, _, fn = (c.sum(1) for c in r.counts)
    return _ratio(tp, tp + fn)


def _subset_accuracy(r: MultilabelRows) -> np.ndarray:
    return r.w @ r.data.exact / r.w.sum(1)


def _hamming_loss(r: MultilabelRows) -> np.ndarray:
    return r.w @ r.data.wrong / (r.w.sum(1) * r.data.k)


# name: (function, higher is better)
METRICS: dict[str, tuple[Callable[[MultilabelRows], np.ndarray], bool]] = {
    "f1_micro": (_f1_micro, True), "f1_macro": (_f1_macro, True), "precision_micro": (_precision_micro, True),
    "recall_micro": (_recall_micro, True), "subset_accuracy": (_subset_accuracy, True),
    "hamming_loss": (_hamming_loss, False),
}


def multilabel_fns(codes: Sequence[str], per_code: bool = True) -> dict[str, Callable]:
    """The metric functions, with ``f1_<code>`` per code."""
    fns = {name: fn for name, (fn, _) in METRICS.items()}
    if per_code:
        fns.update({f"f1_{code}": (lambda r, j=j: r.per_code[2][:, j]) for j, code in enumerate(codes)})
    return fns


def indicators(values: Sequence, codes: Sequence[str], what: str) -> np.ndarray:
    """``values`` as a bool matrix (texts x codes): 0/1 or True/False entries only."""
    m = np.asarray(values)
    if m.ndim != 2 or m.shape[1] != len(codes):
        raise ValueError(f"{what} must be a matrix of texts x {len(codes)} codes, not of shape {m.shape}")
    if m.dtype != bool and not np.isin(m, (0, 1)).all():
        raise ValueError(f"{what} must hold 0/1 or True/False for each code")
    return m.astype(bool)


def f1_threshold(prob: np.ndarray, present: np.ndarray) -> float:
    """The probability from which one code is predicted, chosen to maximise its F1 on
    ``prob`` (the dev texts' probabilities of the code) against ``present`` (whether the
    coders gave it): candidates lie halfway between neighbouring probabilities; among
    equally good ones, the nearest to 0.5; 0.5 when no dev text has the code.

    >>> f1_threshold(np.array([0.1, 0.3, 0.35, 0.9]), np.array([False, True, True, True]))
    0.2
    """
    present = np.asarray(present, dtype=bool)
    if not present.any():
        return 0.5
    values = np.unique(prob)
    candidates = np.unique(np.r_[(values[1:] + values[:-1]) / 2, 0.5, values[0] / 2])
    predicted = prob[None, :] >= candidates[:, None]
    tp = (predicted & present).sum(1)
    f1 = 2 * tp / (predicted.sum(1) + present.sum())
    best = candidates[f1 >= f1.max() - 1e-12]
    return float(best[np.argmin(np.abs(best - 0.5))])
