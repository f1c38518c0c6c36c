"""Metrics with nonparametric bootstrap confidence intervals.

Each metric is defined once, in a small registry (name, kind, direction, function). A
metric function takes *rows of resamples* and returns one value per row, so the point
estimate, all bootstrap resamples and all jackknife samples (for BCa) go through the same
vectorised numpy code, with no Python loop per resample. Every table leaves here in one
tidy shape (``COLUMNS``); reports only format it.

Notes
-----
The bootstrap resamples test cases (rows) with replacement, ``n_resamples`` times, with
``numpy.random.default_rng(seed).integers(0, n, (n_resamples, n))`` as the index matrix, the
same draw as ``scipy.stats.bootstrap(..., paired=True)``. Intervals are percentile or
bias-corrected and accelerated (BCa; Efron, 1987, doi:10.1080/01621459.1987.10478410),
with the acceleration estimated by the jackknife.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import special
from scipy.stats import rankdata

COLUMNS = ["metric", "estimate", "conf_low", "conf_high", "ci_level", "n", "method"]
METHODS = ("bca", "percentile")
_CHUNK_CELLS = 4_000_000  # rows x cases evaluated at once; bounds memory for large n


@dataclass(frozen=True)
class Metric:
    """One metric: ``fn`` maps prepared resample rows to one value per row."""

    name: str
    kind: str  # "classification" or "regression"
    higher_is_better: bool
    fn: Callable[..., np.ndarray]


# ---------------------------------------------------------------- regression (rows: y, yhat)
def _pearson(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    yc = y - y.mean(axis=1, keepdims=True)
    pc = p - p.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (yc * pc).sum(1) / np.sqrt((yc**2).sum(1) * (pc**2).sum(1))


def _spearman(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    return _pearson(rankdata(y, axis=1), rankdata(p, axis=1))


def _rmse(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    return np.sqrt(((y - p) ** 2).mean(1))


def _mae(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    return np.abs(y - p).mean(1)


def _r_squared(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    ss_res = ((y - p) ** 2).sum(1)
    ss_tot = ((y - y.mean(axis=1, keepdims=True)) ** 2).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1.0 - ss_res / ss_tot


# ------------------------------------------------- classification (rows: confusion matrices)
def _confusion(y: np.ndarray, p: np.ndarray, k: int) -> np.ndarray:
    """Confusion matrices, shape (rows, true class, predicted class), by one bincount."""
    rows = y.shape[0]
    flat = (np.arange(rows)[:, None] * (k * k) + y * k + p).ravel()
    return np.bincount(flat, minlength=rows * k * k).reshape(rows, k, k)


def _per_class(cm: np.ndarray) -> tuple[np.ndarray, ...]:
    tp = np.diagonal(cm, axis1=1, axis2=2).astype(float)
    support = cm.sum(2).astype(float)
    predicted = cm.sum(1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(support + predicted > 0, 2 * tp / (support + predicted), 0.0)
    present = (support + predicted) > 0  # sklearn's labels=None: classes in y or yhat
    return precision, recall, f1, support, present


def _macro(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    return (values * present).sum(1) / present.sum(1)


def _accuracy(cm: np.ndarray) -> np.ndarray:
    return np.trace(cm, axis1=1, axis2=2) / cm.sum((1, 2))


def _f1_macro(cm: np.ndarray) -> np.ndarray:
    _, _, f1, _, present = _per_class(cm)
    return _macro(f1, present)


def _f1_weighted(cm: np.ndarray) -> np.ndarray:
    _, _, f1, support, _ = _per_class(cm)
    return (f1 * support).sum(1) / support.sum(1)


def _precision_macro(cm: np.ndarray) -> np.ndarray:
    precision, _, _, _, present = _per_class(cm)
    return _macro(precision, present)


def _recall_macro(cm: np.ndarray) -> np.ndarray:
    _, recall, _, _, present = _per_class(cm)
    return _macro(recall, present)


REGISTRY: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("accuracy", "classification", True, _accuracy),
        Metric("f1_macro", "classification", True, _f1_macro),
        Metric("f1_weighted", "classification", True, _f1_weighted),
        Metric("precision_macro", "classification", True, _precision_macro),
        Metric("recall_macro", "classification", True, _recall_macro),
        Metric("pearson_r", "regression", True, _pearson),
        Metric("spearman_rho", "regression", True, _spearman),
        Metric("rmse", "regression", False, _rmse),
        Metric("mae", "regression", False, _mae),
        Metric("r_squared", "regression", True, _r_squared),
    ]
}
HEADLINE = {"classification": "f1_macro", "regression": "pearson_r"}


def headline_score(task: str, outputs: np.ndarray, targets: np.ndarray) -> float:
    """Macro F1 (classification, from logits) or Pearson r (regression) of raw model outputs.

    Used to pick the best epoch on dev and to compare ONNX precisions with PyTorch.
    """
    if task == "classification":
        k = outputs.shape[1]
        return float(_f1_macro(_confusion(targets[None, :], outputs.argmax(1)[None, :], k))[0])
    return float(_pearson(targets[None, :], outputs[None, :, 0])[0])


def correlation_test(x: Sequence[float], y: Sequence[float], *, ci_level: float = 0.95) -> pd.DataFrame:
    """Pearson's r with its t test and Fisher-z confidence interval (as R's ``cor.test``).

    The parametric companion of the bootstrap interval for APA-style reporting
    ("r(df) = .62, p < .001, 95% CI [.57, .66]"). Returns the tidy columns plus
    ``statistic`` (t), ``df`` and ``p_value``.

    Examples
    --------
    >>> t = correlation_test([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])
    >>> round(float(t.estimate[0]), 2), int(t.df[0])
    (0.8, 3)
    """
    from scipy.stats import pearsonr

    result = pearsonr(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    ci = result.confidence_interval(confidence_level=ci_level)
    n = len(x)
    r = float(result.statistic)
    return pd.DataFrame([{
        "metric": "pearson_r", "estimate": r, "conf_low": float(ci.low), "conf_high": float(ci.high),
        "ci_level": ci_level, "n": n, "method": "fisher z", "statistic": r * np.sqrt((n - 2) / (1 - r**2)),
        "df": n - 2, "p_value": float(result.pvalue),
    }])


def _class_f1(k: int) -> Callable[[np.ndarray], np.ndarray]:
    return lambda cm: _per_class(cm)[2][:, k]


def _metric_fns(task: str, labels: Sequence[str] | None) -> dict[str, Callable[..., np.ndarray]]:
    fns = {m.name: m.fn for m in REGISTRY.values() if m.kind == task}
    if task == "classification":
        fns.update({f"f1_{label}": _class_f1(k) for k, label in enumerate(labels)})
    return fns


def _evaluate(
    task: str, fns: dict, y: np.ndarray, p: np.ndarray, idx: np.ndarray, k: int
) -> np.ndarray:
    """Every metric on every row of the index matrix ``idx``: shape (metrics, rows)."""
    out = np.empty((len(fns), idx.shape[0]))
    step = max(1, _CHUNK_CELLS // max(1, idx.shape[1]))
    for start in range(0, idx.shape[0], step):
        rows = idx[start : start + step]
        args = (_confusion(y[rows], p[rows], k),) if task == "classification" else (y[rows], p[rows])
        for i, fn in enumerate(fns.values()):
            out[i, start : start + step] = fn(*args)
    return out


def _jackknife_index(n: int) -> np.ndarray:
    """Row i holds every case index except i."""
    return np.arange(1, n)[None, :] - (np.arange(n - 1)[None, :] < np.arange(n)[:, None])


def _bca_levels(boot: np.ndarray, estimate: float, jack: np.ndarray, alpha: float) -> np.ndarray:
    """BCa-adjusted percentile levels (as fractions) for the lower and upper limit."""
    z0 = special.ndtri(((boot < estimate).sum() + (boot <= estimate).sum()) / (2 * len(boot)))
    d = jack.mean() - jack
    denom = 6.0 * (d**2).sum() ** 1.5
    accel = (d**3).sum() / denom if denom > 0 else 0.0
    z = special.ndtri(np.array([alpha, 1 - alpha]))
    return special.ndtr(z0 + (z0 + z) / (1 - accel * (z0 + z)))


def bootstrap_metrics(
    observed: Sequence,
    predicted: Sequence,
    task: str,
    *,
    labels: Sequence[str] | None = None,
    n_resamples: int = 2000,
    ci_level: float = 0.95,
    method: str = "bca",
    seed: int = 42,
    indices: np.ndarray | None = None,
) -> pd.DataFrame:
    """Metrics on the test cases with bootstrap confidence intervals, one row per metric.

    Parameters
    ----------
    observed, predicted : array-like
        Regression: numbers. Classification: class labels (any values found in ``labels``).
    task : {"classification", "regression"}
    labels : list of str, optional
        Class names, in the order used for per-class rows (``f1_<label>``); by default the
        sorted labels seen in ``observed`` and ``predicted``.
    n_resamples : int
        Bootstrap resamples of the cases (default 2,000).
    ci_level : float
        Confidence level of the intervals.
    method : {"bca", "percentile"}
        BCa (default) corrects the percentile interval for bias and skew. Where BCa is
        undefined (every resample on one side of the estimate) the row falls back to the
        percentile interval and says so in ``method``.
    seed : int
        Seed of the resampling; the same seed gives the same intervals.
    indices : array of shape (n_resamples, n), optional
        Resample index matrix (0-based) to use instead of drawing one, e.g. R's
        ``boot.array(b, indices = TRUE) - 1``, to check results against other software.

    Returns
    -------
    pandas.DataFrame
        Columns ``metric, estimate, conf_low, conf_high, ci_level, n, method``.
        Classification: accuracy, f1_macro, f1_weighted, precision_macro, recall_macro and
        ``f1_<label>`` per class. Regression: pearson_r, spearman_rho, rmse, mae, r_squared.

    Examples
    --------
    >>> t = bootstrap_metrics([1, 2, 3, 4, 5, 6], [1.2, 1.9, 3.4, 3.9, 5.2, 5.8], "regression")
    >>> list(t.metric)
    ['pearson_r', 'spearman_rho', 'rmse', 'mae', 'r_squared']
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if not 0 < ci_level < 1:
        raise ValueError(f"ci_level must lie between 0 and 1, not {ci_level}")
    if n_resamples < 1:
        raise ValueError("n_resamples must be at least 1")
    if task == "classification":
        obs = np.asarray(observed).astype(str)
        pred = np.asarray(predicted).astype(str)
        labels = [str(x) for x in (labels if labels is not None else np.union1d(obs, pred))]
        codes = {label: i for i, label in enumerate(labels)}
        unknown = sorted((set(obs) | set(pred)) - set(codes))
        if unknown:
            raise ValueError(f"values {unknown} are not among the labels {labels}")
        y = np.fromiter((codes[v] for v in obs), dtype=np.int64, count=len(obs))
        p = np.fromiter((codes[v] for v in pred), dtype=np.int64, count=len(pred))
    elif task == "regression":
        y = np.asarray(observed, dtype=float)
        p = np.asarray(predicted, dtype=float)
    else:
        raise ValueError(f"task must be 'classification' or 'regression', not {task!r}")
    n = len(y)
    if n != len(p):
        raise ValueError(f"observed has {n} values but predicted has {len(p)}")
    if n < 2:
        raise ValueError("at least 2 cases are needed for metrics with confidence intervals")
    k = len(labels) if task == "classification" else 0
    fns = _metric_fns(task, labels)
    estimates = _evaluate(task, fns, y, p, np.arange(n)[None, :], k)[:, 0]
    if indices is None:
        idx = np.random.default_rng(seed).integers(0, n, (n_resamples, n))
    else:
        idx = np.asarray(indices, dtype=np.int64)
        if idx.ndim != 2 or idx.shape[1] != n or idx.min() < 0 or idx.max() >= n:
            raise ValueError(f"indices must be a (resamples, {n}) matrix of 0-based case indices")
    boot = _evaluate(task, fns, y, p, idx, k)
    jack = _evaluate(task, fns, y, p, _jackknife_index(n), k) if method == "bca" else None
    alpha = (1 - ci_level) / 2
    rows = []
    for i, name in enumerate(fns):
        b = boot[i][np.isfinite(boot[i])]
        levels, used = np.array([alpha, 1 - alpha]), "percentile"
        if method == "bca" and len(b):
            j = jack[i][np.isfinite(jack[i])]
            bca = _bca_levels(b, estimates[i], j, alpha)
            if np.isfinite(bca).all():
                levels, used = bca, "bca"
            else:
                used = "percentile (bca undefined)"
        low, high = np.percentile(b, 100 * levels) if len(b) else (np.nan, np.nan)
        rows.append((name, estimates[i], low, high, ci_level, n, f"bootstrap {used}"))
    return pd.DataFrame(rows, columns=COLUMNS)
