"""The metrics, computed from case weights (see :mod:`pytext_psych.stats`), the metric
registry with each metric's direction, and the dev scorer that training, the baseline and
tuning choose with."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Sequence

import numpy as np

_ONEHOT_MAX = 256  # tie groups up to which Spearman aggregates by a matrix product


# ------------------------------------------------------------------------ prepared data
class _Regression:
    """Observed and predicted numbers, centred by the observed mean (for accurate sums)."""

    task = "regression"
    _COLUMNS = ("y", "p", "yy", "pp", "yp", "d2", "ad")

    def __init__(self, y: np.ndarray, p: np.ndarray):
        c = y.mean()
        y, p = y - c, p - c
        self.n = len(y)
        self.columns = np.column_stack([y, p, y * y, p * p, y * p, (y - p) ** 2, np.abs(y - p)])
        # Spearman: rank the variable with more distinct values case by case (in its value
        # order) and aggregate over the tie groups of the other one.
        self.coarse, self.fine = sorted((_TieGroups(y), _TieGroups(p)), key=lambda g: g.m)
        self.coarse_group = self.coarse.group[self.fine.order]
        few = self.coarse.m <= _ONEHOT_MAX  # e.g. ratings: aggregate by matrix products
        self.coarse_onehot = np.eye(self.coarse.m)[self.coarse.group] if few else None
        self.coarse_onehot_fine = self.coarse_onehot[self.fine.order] if few else None
        self.fine_group = None if self.fine.m == self.n else self.fine.group[self.fine.order]

    def rows(self, w: np.ndarray) -> "_RegressionRows":
        return _RegressionRows(w, self)


class _TieGroups:
    """Cases grouped by equal value, in ascending order: enough to rank any weighting."""

    def __init__(self, values: np.ndarray):
        self.order = np.argsort(values, kind="stable")
        sorted_values = values[self.order]
        new = np.r_[True, sorted_values[1:] != sorted_values[:-1]]
        self.starts = np.flatnonzero(new)
        self.m = len(self.starts)
        self.group = np.empty(len(values), dtype=np.int64)
        self.group[self.order] = np.cumsum(new) - 1

    def counts(self, w_sorted: np.ndarray) -> np.ndarray:
        """Weighted size of each tie group, from weights already in this value order."""
        if self.m == w_sorted.shape[1]:
            return w_sorted
        return np.add.reduceat(w_sorted, self.starts, axis=1)


def _doubled_midranks(counts: np.ndarray) -> np.ndarray:
    """Twice the rank of each tie group in a weighted sample (ties share their average
    rank); doubled so that integer weights give exact integer arithmetic."""
    ranks = np.cumsum(counts, axis=1)
    ranks *= 2
    ranks -= counts
    ranks += 1
    return ranks


class _RegressionRows:
    def __init__(self, w: np.ndarray, data: _Regression):
        self.w, self.data = w, data  # w: integer case weights, one row per evaluation

    @cached_property
    def counts(self) -> np.ndarray:
        """Integer sample size of each row."""
        return self.w.sum(1)

    @cached_property
    def n(self) -> np.ndarray:
        return self.counts.astype(float)

    @cached_property
    def wf(self) -> np.ndarray:
        return self.w.astype(float)

    @cached_property
    def sums(self) -> dict[str, np.ndarray]:
        return dict(zip(_Regression._COLUMNS, (self.wf @ self.data.columns).T))

    def centred(self, a: str, b: str) -> np.ndarray:
        """Weighted sum of cross-products about the weighted means."""
        s = self.sums
        return s[a + b] - s[a] * s[b] / self.n


class _Classification:
    """Class codes of observed and predicted values, grouped by (observed, predicted) pair."""

    task = "classification"

    def __init__(self, y: np.ndarray, p: np.ndarray, k: int):
        self.n, self.k = len(y), k
        pair = y * k + p
        self.order = np.argsort(pair, kind="stable")
        sorted_pair = pair[self.order]
        self.starts = np.flatnonzero(np.r_[True, sorted_pair[1:] != sorted_pair[:-1]])
        self.cells = sorted_pair[self.starts]

    def rows(self, w: np.ndarray) -> "_ClassificationRows":
        return _ClassificationRows(w, self)


class _ClassificationRows:
    def __init__(self, w: np.ndarray, data: _Classification):
        self.w, self.data = w, data

    @cached_property
    def cm(self) -> np.ndarray:
        """Weighted confusion matrices: (rows, observed class, predicted class)."""
        d = self.data
        cm = np.zeros((self.w.shape[0], d.k * d.k), dtype=np.int64)
        cm[:, d.cells] = np.add.reduceat(np.take(self.w, d.order, axis=1), d.starts, axis=1)
        return cm.reshape(-1, d.k, d.k)

    @cached_property
    def per_class(self) -> tuple[np.ndarray, ...]:
        cm = self.cm
        tp = np.diagonal(cm, axis1=1, axis2=2)
        support, predicted = cm.sum(2), cm.sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(predicted > 0, tp / predicted, 0.0)
            recall = np.where(support > 0, tp / support, 0.0)
            f1 = np.where(support + predicted > 0, 2 * tp / (support + predicted), 0.0)
        present = (support + predicted) > 0  # sklearn's labels=None: classes in y or yhat
        return precision, recall, f1, support, present


# ------------------------------------------------------------------------------ metrics
def _pearson(r: _RegressionRows) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return r.centred("y", "p") / np.sqrt(r.centred("y", "y") * r.centred("p", "p"))


def _spearman(r: _RegressionRows) -> np.ndarray:
    """Pearson's r of the weighted mid-ranks. The ranks' sums of squares follow from the
    tie sizes, (n^3 - sum of cubed tie sizes) / 12, so only the cross term needs a rank per
    case. Integer weights keep the rank arithmetic exact (and integer cumsums are fast)."""
    d = r.data
    n, nf = r.counts, r.n
    w_fine = np.take(r.w, d.fine.order, axis=1)
    c_fine = d.fine.counts(w_fine)
    rank_fine = _doubled_midranks(c_fine)
    if d.fine_group is not None:
        rank_fine = np.take(rank_fine, d.fine_group, axis=1)
    v = w_fine * rank_fine
    if d.coarse_onehot is not None:  # few distinct values (ratings): matrix products
        c_coarse = r.wf @ d.coarse_onehot
        cross = ((v.astype(float) @ d.coarse_onehot_fine) * _doubled_midranks(c_coarse)).sum(1)
    else:
        c_coarse = d.coarse.counts(np.take(r.w, d.coarse.order, axis=1))
        cross = np.einsum("ij,ij->i", v, np.take(_doubled_midranks(c_coarse), d.coarse_group, axis=1))
    cov = cross / 4 - nf * ((nf + 1) / 2) ** 2
    var_fine = (n**3 - np.einsum("ij,ij,ij->i", c_fine, c_fine, c_fine)).astype(float)
    var_coarse = nf**3 - (c_coarse.astype(float) ** 3).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 12 * cov / np.sqrt(var_fine * var_coarse)


def _rmse(r: _RegressionRows) -> np.ndarray:
    return np.sqrt(r.sums["d2"] / r.n)


def _mae(r: _RegressionRows) -> np.ndarray:
    return r.sums["ad"] / r.n


def _r_squared(r: _RegressionRows) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1.0 - r.sums["d2"] / r.centred("y", "y")


def _icc_2_1(r: _RegressionRows) -> np.ndarray:
    """ICC(2,1), two-way random effects, absolute agreement, single rater (Shrout & Fleiss,
    1979), with the model as the second rater: penalises a shifted or stretched scale."""
    s, n = r.sums, r.n
    grand = (s["y"] + s["p"]) / (2 * n)
    ss_total = s["yy"] + s["pp"] - 2 * n * grand**2
    ss_cases = (s["yy"] + 2 * s["yp"] + s["pp"]) / 2 - 2 * n * grand**2
    ss_raters = n * ((s["y"] / n - grand) ** 2 + (s["p"] / n - grand) ** 2)
    ms_cases = ss_cases / (n - 1)
    ms_error = (ss_total - ss_cases - ss_raters) / (n - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ms_cases - ms_error) / (ms_cases + ms_error + 2 * (ss_raters - ms_error) / n)


def _macro(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    return (values * present).sum(1) / present.sum(1)


def _accuracy(r: _ClassificationRows) -> np.ndarray:
    return np.trace(r.cm, axis1=1, axis2=2) / r.cm.sum((1, 2))


def _f1_macro(r: _ClassificationRows) -> np.ndarray:
    _, _, f1, _, present = r.per_class
    return _macro(f1, present)


def _f1_weighted(r: _ClassificationRows) -> np.ndarray:
    _, _, f1, support, _ = r.per_class
    return (f1 * support).sum(1) / support.sum(1)


def _precision_macro(r: _ClassificationRows) -> np.ndarray:
    precision, _, _, _, present = r.per_class
    return _macro(precision, present)


def _recall_macro(r: _ClassificationRows) -> np.ndarray:
    _, recall, _, _, present = r.per_class
    return _macro(recall, present)


def _kappa(disagreement: str) -> Callable[[_ClassificationRows], np.ndarray]:
    """Cohen's kappa; ``"linear"``/``"quadratic"`` weight disagreements by category distance."""
    power = {"none": 0, "linear": 1, "quadratic": 2}[disagreement]

    def kappa(r: _ClassificationRows) -> np.ndarray:
        cm = r.cm
        k = cm.shape[1]
        dist = np.abs(np.arange(k)[:, None] - np.arange(k)[None, :]).astype(float)
        weights = (dist > 0).astype(float) if power == 0 else dist**power
        expected = cm.sum(2)[:, :, None] * cm.sum(1)[:, None, :] / cm.sum((1, 2))[:, None, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            return 1.0 - (cm * weights).sum((1, 2)) / (expected * weights).sum((1, 2))

    return kappa


@dataclass(frozen=True)
class Metric:
    """One metric: ``fn`` maps weighted evaluation rows to one value per row."""

    name: str
    kind: str  # "classification" or "regression"
    higher_is_better: bool
    fn: Callable[..., np.ndarray]


REGISTRY: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("accuracy", "classification", True, _accuracy),
        Metric("f1_macro", "classification", True, _f1_macro),
        Metric("f1_weighted", "classification", True, _f1_weighted),
        Metric("precision_macro", "classification", True, _precision_macro),
        Metric("recall_macro", "classification", True, _recall_macro),
        Metric("cohen_kappa", "classification", True, _kappa("none")),
        Metric("pearson_r", "regression", True, _pearson),
        Metric("spearman_rho", "regression", True, _spearman),
        Metric("rmse", "regression", False, _rmse),
        Metric("mae", "regression", False, _mae),
        Metric("r_squared", "regression", True, _r_squared),
        Metric("icc_2_1", "regression", True, _icc_2_1),
    ]
}
HEADLINE = {"classification": "f1_macro", "regression": "pearson_r", "ordinal": "pearson_r"}
AGREEMENT = {
    "nominal": {"cohen_kappa": _kappa("none")},
    "ordinal": {"cohen_kappa": _kappa("none"), "kappa_linear": _kappa("linear"),
                "kappa_quadratic": _kappa("quadratic")},
    "interval": {"icc_2_1": _icc_2_1},
}


def _class_f1(k: int) -> Callable[[_ClassificationRows], np.ndarray]:
    return lambda r: r.per_class[2][:, k]


def _metric_fns(task: str, labels: Sequence[str] | None, per_class: bool = True) -> dict:
    fns = {m.name: m.fn for m in REGISTRY.values() if m.kind == task}
    if task == "classification" and per_class:
        fns.update({f"f1_{label}": _class_f1(k) for k, label in enumerate(labels)})
    return fns



def metric_task(task: str) -> str:
    """The metrics a task is rated by: ordinal predictions (expected ratings) as ratings.

    >>> metric_task("ordinal"), metric_task("classification")
    ('regression', 'classification')
    """
    return "regression" if task == "ordinal" else task


def headline_score(task: str, outputs: np.ndarray, targets: np.ndarray) -> float:
    """Macro F1 (classification, from logits) or Pearson r (regression) of raw model outputs.

    Used to compare ONNX precisions with PyTorch and, through :func:`dev_scorer`, to pick
    the best epoch, penalty and tuning trial on the dev rows.
    """
    if task == "classification":
        k = outputs.shape[1]
        data = _Classification(np.asarray(targets, dtype=np.int64), outputs.argmax(1), k)
    elif task == "ordinal":  # a score that orders the texts (see ordinal.level_score) vs the codes
        from .ordinal import level_score

        data = _Regression(np.asarray(targets, dtype=float), level_score(outputs))
    else:
        data = _Regression(np.asarray(targets, dtype=float), outputs[:, 0].astype(float))
    fn = REGISTRY[HEADLINE[task]].fn
    return float(fn(data.rows(np.ones((1, data.n), dtype=np.int64)))[0])


def dev_scorer(task: str) -> Callable[[np.ndarray, np.ndarray], float]:
    """``score(outputs, targets)``, higher meaning better, for choosing on the dev rows:
    the headline metric, its sign set by the metric's direction. Training, the baseline
    and tuning receive it from the fit (they do not import ``stats``)."""
    sign = 1.0 if REGISTRY[HEADLINE[task]].higher_is_better else -1.0
    return lambda outputs, targets: sign * headline_score(task, outputs, targets)


def softmax(outputs: np.ndarray) -> np.ndarray:
    """Class probabilities from logits (rows), computed stably."""
    shifted = outputs - outputs.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    return probs / probs.sum(axis=1, keepdims=True)
