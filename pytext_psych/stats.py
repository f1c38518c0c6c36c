"""Metrics, agreement and conformal prediction with nonparametric bootstrap intervals.

Every metric is computed from *case weights*: one row of weights per evaluation, where a
case's weight is how often it is drawn (bootstrap), 1 (the point estimate) or 0/1
(jackknife, leaving one case out). A metric therefore maps a matrix of weight rows to one
value per row, and the estimate, all bootstrap resamples and all jackknife samples go
through the same vectorised numpy code. Regression metrics need only a few weighted sums
(one matrix product) and weighted ranks; classification metrics need the weighted
confusion matrix. That is what makes 10,000 resamples of 2,500 cases take well under a
second (``benchmarks/bench_bootstrap.py``). Every table leaves here in one tidy shape
(``COLUMNS``); reports only format it.

Notes
-----
The bootstrap resamples test cases (rows) with replacement, ``n_resamples`` times, with
``numpy.random.default_rng(seed).integers(0, n, (n_resamples, n))`` as the index matrix, the
same draw as ``scipy.stats.bootstrap(..., paired=True)``. Intervals are percentile or
bias-corrected and accelerated (BCa; Efron, 1987, doi:10.1080/01621459.1987.10478410),
with the acceleration estimated by the jackknife. Paired comparisons evaluate two sets of
predictions on the *same* resamples and bootstrap their difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Iterator, Sequence

import numpy as np
import pandas as pd
from scipy import special

from .settings import is_int, is_real

COLUMNS = ["metric", "estimate", "conf_low", "conf_high", "ci_level", "n", "method"]
COMPARISON_COLUMNS = ["metric", "estimate", "conf_low", "conf_high", "p_value", "estimate_a",
                      "estimate_b", "ci_level", "n", "method"]
METHODS = ("bca", "percentile")
MIN_RESAMPLES = 10  # fewer cannot even order a 90% interval's tails
# Below this many evaluated cases, bootstrap intervals are too unstable to report as
# confirmatory (BCa's bias and acceleration estimates need a few dozen cases): fits warn
# before training and reports say so.
MIN_TEST_CASES = 30
SCALES = ("nominal", "ordinal", "interval")
_CHUNK_CELLS = 2_000_000  # weight rows x cases evaluated at once: bounds memory
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
HEADLINE = {"classification": "f1_macro", "regression": "pearson_r"}
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


# ------------------------------------------------------------------------------ engine
def _codes(values: Sequence, labels: Sequence[str]) -> np.ndarray:
    as_str = np.asarray(values).astype(str)
    codes = {label: i for i, label in enumerate(labels)}
    unknown = sorted(set(as_str) - set(codes))
    if unknown:
        raise ValueError(f"values {unknown} are not among the labels {list(labels)}")
    return np.fromiter((codes[v] for v in as_str), dtype=np.int64, count=len(as_str))


def _prepare(task: str, observed: Sequence, predictions: Sequence[Sequence],
             labels: Sequence[str] | None) -> tuple[list, list[str] | None]:
    """Validated data objects, one per set of predictions, and the class labels."""
    n = len(observed)
    for predicted in predictions:
        if len(predicted) != n:
            raise ValueError(f"observed has {n} values but predicted has {len(predicted)}")
    if n < 2:
        raise ValueError("at least 2 cases are needed for metrics with confidence intervals")
    if task == "classification":
        if labels is None:
            seen = np.asarray(observed).astype(str)
            for predicted in predictions:
                seen = np.union1d(seen, np.asarray(predicted).astype(str))
            labels = seen
        labels = [str(x) for x in labels]
        y = _codes(observed, labels)
        return [_Classification(y, _codes(p, labels), len(labels)) for p in predictions], labels
    if task == "regression":
        y = _as_numbers(observed, "observed")
        return [_Regression(y, _as_numbers(p, "predicted")) for p in predictions], None
    raise ValueError(f"task must be 'classification' or 'regression', not {task!r}")


def _as_numbers(values: Sequence, what: str) -> np.ndarray:
    try:
        out = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{what} values must be numeric for regression metrics") from None
    if not np.isfinite(out).all():
        raise ValueError(f"{what} values contain missing or infinite numbers")
    return out


def _bootstrap_weights(n: int, n_resamples: int, seed: int,
                       indices: np.ndarray | None) -> Iterator[np.ndarray]:
    """Chunks of resample weights: how often each case is drawn, one row per resample.

    The index matrix is drawn chunk by chunk (the same numbers as one big draw, but never
    all in memory), or taken from ``indices``.
    """
    if indices is not None:
        indices = np.asarray(indices, dtype=np.int64)
        if indices.ndim != 2 or indices.shape[1] != n or indices.min() < 0 or indices.max() >= n:
            raise ValueError(f"indices must be a (resamples, {n}) matrix of 0-based case indices")
        n_resamples = len(indices)
    rng = np.random.default_rng(seed)
    step = max(1, _CHUNK_CELLS // n)
    for start in range(0, n_resamples, step):
        rows = min(step, n_resamples - start)
        block = rng.integers(0, n, (rows, n)) if indices is None else indices[start : start + rows]
        flat = (block + (np.arange(rows) * n)[:, None]).ravel()
        yield np.bincount(flat, minlength=block.size).reshape(block.shape)


def _jackknife_weights(n: int) -> Iterator[np.ndarray]:
    """Chunks of leave-one-out weights: row i leaves case i out."""
    step = max(1, _CHUNK_CELLS // n)
    for start in range(0, n, step):
        w = np.ones((min(step, n - start), n), dtype=np.int64)
        w[np.arange(len(w)), start + np.arange(len(w))] = 0
        yield w


def _evaluate(fns: dict, data: Sequence, weights: Iterator[np.ndarray]) -> list[np.ndarray]:
    """Every metric for every weight row, per data set: arrays of shape (metrics, rows)."""
    blocks: list[list[np.ndarray]] = [[] for _ in data]
    for w in weights:
        for d, out in zip(data, blocks):
            rows = d.rows(w)
            out.append(np.stack([fn(rows) for fn in fns.values()]))
    return [np.concatenate(b, axis=1) for b in blocks]


def _bca_params(boot: np.ndarray, estimate: float, jack: np.ndarray | None) -> tuple[float, float]:
    """BCa bias correction z0 and acceleration (both 0 for the percentile method)."""
    if jack is None:
        return 0.0, 0.0
    z0 = special.ndtri(((boot < estimate).sum() + (boot <= estimate).sum()) / (2 * len(boot)))
    d = jack.mean() - jack
    denom = 6.0 * (d**2).sum() ** 1.5
    return float(z0), float((d**3).sum() / denom) if denom > 0 else 0.0


def _adjusted(z: np.ndarray, z0: float, accel: float) -> np.ndarray:
    """Percentile level that the BCa interval uses for the nominal normal quantile z."""
    return special.ndtr(z0 + (z0 + z) / (1 - accel * (z0 + z)))


def _interval(boot: np.ndarray, estimate: float, jack: np.ndarray | None,
              ci_level: float) -> tuple[float, float, str, float]:
    """Percentile or BCa interval from one metric's resamples (non-finite ones dropped),
    and the two-sided p value of 0 that matches it: twice the nominal tail level at which
    the interval's limit reaches 0 (for a difference of two models)."""
    alpha = (1 - ci_level) / 2
    b = boot[np.isfinite(boot)]
    if not len(b):
        return np.nan, np.nan, "bootstrap percentile", np.nan
    used, (z0, accel) = "percentile", (0.0, 0.0)
    if jack is not None:
        z0, accel = _bca_params(b, estimate, jack[np.isfinite(jack)])
        used = "bca" if np.isfinite(z0) else "percentile (bca undefined)"
        if not np.isfinite(z0):
            z0, accel = 0.0, 0.0
    levels = _adjusted(special.ndtri(np.array([alpha, 1 - alpha])), z0, accel)
    low, high = np.percentile(b, 100 * levels)
    # where 0 falls in the resamples (mid-rank for ties), kept off 0 and 1 ...
    q0 = np.clip(((b < 0).sum() + (b <= 0).sum()) / (2 * len(b)), 1 / (len(b) + 1),
                 len(b) / (len(b) + 1))
    # ... and the nominal level whose adjusted level lands there (inverting _adjusted)
    w = special.ndtri(q0) - z0
    tail = special.ndtr(w / (1 + accel * w) - z0)
    return float(low), float(high), f"bootstrap {used}", float(min(1.0, 2 * min(tail, 1 - tail)))


def check_options(method: str, ci_level: float, n_resamples: int) -> None:
    """Validate bootstrap options (also called by ``fit_text_model`` before training)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if not is_real(ci_level, 1e-9, 1 - 1e-9):
        raise ValueError(f"ci_level must be a number between 0 and 1 (e.g. 0.95), not {ci_level!r}")
    if not is_int(n_resamples, MIN_RESAMPLES):
        raise ValueError(f"n_resamples must be a whole number of at least {MIN_RESAMPLES} "
                         f"(2,000 is the default), not {n_resamples!r}")


def _run(fns: dict, data: list, n_resamples: int, method: str, seed: int,
         indices: np.ndarray | None) -> tuple[list, list, list]:
    """Estimates, bootstrap values and (for BCa) jackknife values for each data set."""
    n = data[0].n
    estimates = [e[:, 0] for e in _evaluate(fns, data, iter([np.ones((1, n), dtype=np.int64)]))]
    boot = _evaluate(fns, data, _bootstrap_weights(n, n_resamples, seed, indices))
    jack = _evaluate(fns, data, _jackknife_weights(n)) if method == "bca" else [None] * len(data)
    return estimates, boot, jack


def _table(fns: dict, data: list, n_resamples: int, ci_level: float, method: str, seed: int,
           indices: np.ndarray | None) -> pd.DataFrame:
    (estimates,), (boot,), (jack,) = _run(fns, data, n_resamples, method, seed, indices)
    rows = []
    for i, name in enumerate(fns):
        low, high, used, _ = _interval(boot[i], estimates[i], None if jack is None else jack[i],
                                       ci_level)
        rows.append((name, float(estimates[i]), low, high, ci_level, data[0].n, used))
    return pd.DataFrame(rows, columns=COLUMNS)


# --------------------------------------------------------------------------- public API
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
        Classification: accuracy, f1_macro, f1_weighted, precision_macro, recall_macro,
        cohen_kappa and ``f1_<label>`` per class. Regression: pearson_r, spearman_rho,
        rmse, mae, r_squared and icc_2_1 (absolute agreement of model and human).

    Examples
    --------
    >>> t = bootstrap_metrics([1, 2, 3, 4, 5, 6], [1.2, 1.9, 3.4, 3.9, 5.2, 5.8], "regression")
    >>> list(t.metric)
    ['pearson_r', 'spearman_rho', 'rmse', 'mae', 'r_squared', 'icc_2_1']
    """
    check_options(method, ci_level, n_resamples)
    data, labels = _prepare(task, observed, [predicted], labels)
    return _table(_metric_fns(task, labels), data, n_resamples, ci_level, method, seed, indices)


def compare_predictions(
    observed: Sequence,
    predicted_a: Sequence,
    predicted_b: Sequence,
    task: str,
    *,
    labels: Sequence[str] | None = None,
    n_resamples: int = 2000,
    ci_level: float = 0.95,
    method: str = "bca",
    seed: int = 42,
    indices: np.ndarray | None = None,
) -> pd.DataFrame:
    """Paired bootstrap of the difference between two models' metrics on the same cases.

    Both sets of predictions are evaluated on the same resamples of the cases, so the
    interval of ``a - b`` reflects that the models saw the same (easy or hard) texts; it is
    narrower than comparing two separate intervals. The two-sided ``p_value`` of "no
    difference" is the one that agrees with the interval: the smallest 1 - level at which
    the (BCa or percentile) interval excludes 0, so p < .05 exactly when the 95% interval
    excludes 0. It is never below 2 / (n_resamples + 1).

    Returns
    -------
    pandas.DataFrame
        One row per metric: ``metric, estimate`` (a - b), ``conf_low, conf_high, p_value,
        estimate_a, estimate_b, ci_level, n, method``. For rmse and mae lower is better, so
        a negative difference favours ``a``.

    Examples
    --------
    >>> y = [1, 2, 3, 4, 5, 6, 7, 8]
    >>> t = compare_predictions(y, [1, 2, 3, 4, 5, 6, 7, 9], [2, 1, 4, 3, 6, 5, 8, 7], "regression")
    >>> bool(t.set_index("metric").loc["pearson_r", "estimate"] > 0)
    True
    """
    check_options(method, ci_level, n_resamples)
    data, labels = _prepare(task, observed, [predicted_a, predicted_b], labels)
    fns = _metric_fns(task, labels, per_class=False)
    estimates, boot, jack = _run(fns, data, n_resamples, method, seed, indices)
    diff_est, diff_boot = estimates[0] - estimates[1], boot[0] - boot[1]
    diff_jack = None if jack[0] is None else jack[0] - jack[1]
    rows = []
    for i, name in enumerate(fns):
        low, high, used, p_value = _interval(diff_boot[i], diff_est[i],
                                             None if diff_jack is None else diff_jack[i], ci_level)
        rows.append((name, float(diff_est[i]), low, high, p_value, float(estimates[0][i]),
                     float(estimates[1][i]), ci_level, data[0].n, f"paired {used}"))
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


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
    rounded = np.clip(np.round(predicted), scale[0], scale[-1])
    kappas = agreement(observed, rounded, "ordinal", categories=scale, **boot)
    kappas = kappas[kappas.metric != "cohen_kappa"].assign(
        method=lambda t: t.method + " (predictions rounded to the rating scale)")
    return pd.concat([table, kappas], ignore_index=True)


def headline_score(task: str, outputs: np.ndarray, targets: np.ndarray) -> float:
    """Macro F1 (classification, from logits) or Pearson r (regression) of raw model outputs.

    Used to compare ONNX precisions with PyTorch and, through :func:`dev_scorer`, to pick
    the best epoch, penalty and tuning trial on the dev rows.
    """
    if task == "classification":
        k = outputs.shape[1]
        data = _Classification(np.asarray(targets, dtype=np.int64), outputs.argmax(1), k)
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


def quantile_interval(values: np.ndarray, ci_level: float, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of bootstrap replicates, ``(low, high)`` along ``axis``, with the
    quantile rule of the metrics' intervals (numpy's default, linear, as scipy.stats.bootstrap)."""
    alpha = (1 - ci_level) / 2
    return np.percentile(values, 100 * alpha, axis=axis), np.percentile(values, 100 * (1 - alpha), axis=axis)


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


# ------------------------------------------------------------------ conformal prediction
def conformity_scores(task: str, outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Nonconformity of each calibration case: the absolute residual (regression, in the
    model's output units) or 1 - the probability given to the true class (classification,
    the LAC score of Sadinle, Lei & Wasserman, 2019)."""
    if task == "regression":
        return np.abs(np.asarray(targets, dtype=float) - outputs[:, 0])
    probs = softmax(outputs)
    return 1.0 - probs[np.arange(len(probs)), np.asarray(targets, dtype=np.int64)]


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
