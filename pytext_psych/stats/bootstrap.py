"""The bootstrap engine (case-weight rows, BCa and percentile intervals, paired
comparisons) and the public tables: :func:`bootstrap_metrics`, :func:`compare_predictions`,
:func:`correlation_test`; agreement tables are in :mod:`pytext_psych.stats.agreement`."""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

import numpy as np
import pandas as pd
from scipy import special

from ..core.settings import is_int, is_real
from .metrics import (
    _Classification,
    _metric_fns,
    _Regression,
)
from .multilabel import Multilabel, indicators, multilabel_fns

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
    if task == "multilabel":
        if labels is None:
            raise ValueError("task='multilabel' needs labels: the codes, one per column")
        labels = [str(x) for x in labels]
        y = indicators(observed, labels, "observed")
        return [Multilabel(y, indicators(p, labels, "predicted")) for p in predictions], labels
    raise ValueError(f"task must be 'classification', 'regression' or 'multilabel', not {task!r}")


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
    # where 0 falls in the resamples, kept off 0 and 1 ...
    q0 = np.clip(_level_of_zero(b), 1 / (len(b) + 1), len(b) / (len(b) + 1))
    # ... and the nominal level whose adjusted level lands there (inverting _adjusted)
    w = special.ndtri(q0) - z0
    tail = special.ndtr(w / (1 + accel * w) - z0)
    return float(low), float(high), f"bootstrap {used}", float(min(1.0, 2 * min(tail, 1 - tail)))


def _level_of_zero(b: np.ndarray) -> float:
    """The level at which the resamples' percentile (linear, as ``np.percentile`` takes it)
    is 0, so that an interval excludes 0 exactly when p < 1 - level; where resamples equal
    0, the middle of their levels.

    >>> _level_of_zero(np.array([-1.0, 1.0, 3.0])), _level_of_zero(np.zeros(4))
    (0.25, 0.5)
    """
    s, grid = np.sort(b), np.linspace(0, 1, len(b))
    below, above = np.searchsorted(s, 0.0, "left"), np.searchsorted(s, 0.0, "right")
    if above > below:
        return float(grid[below] + grid[above - 1]) / 2
    return float(np.interp(0.0, s, grid))


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
        Multilabel: 0/1 matrices, texts x codes.
    task : {"classification", "regression", "multilabel"}
    labels : list of str, optional
        Class names, in the order used for per-class rows (``f1_<label>``); by default the
        sorted labels seen in ``observed`` and ``predicted``. Multilabel: the codes, one
        per column (required).
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
        cohen_kappa and ``f1_<label>`` per class. Multilabel
        (:mod:`pytext_psych.stats.multilabel`): f1_micro, f1_macro, precision_micro,
        recall_micro, subset_accuracy, hamming_loss and ``f1_<code>`` per code. Regression: pearson_r, spearman_rho,
        rmse, mae, r_squared and icc_2_1 (absolute agreement of model and human).

    Examples
    --------
    >>> t = bootstrap_metrics([1, 2, 3, 4, 5, 6], [1.2, 1.9, 3.4, 3.9, 5.2, 5.8], "regression")
    >>> list(t.metric)
    ['pearson_r', 'spearman_rho', 'rmse', 'mae', 'r_squared', 'icc_2_1']
    """
    check_options(method, ci_level, n_resamples)
    data, labels = _prepare(task, observed, [predicted], labels)
    fns = multilabel_fns(labels) if task == "multilabel" else _metric_fns(task, labels)
    return _table(fns, data, n_resamples, ci_level, method, seed, indices)


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
    fns = (multilabel_fns(labels, per_code=False) if task == "multilabel"
           else _metric_fns(task, labels, per_class=False))
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


def quantile_interval(values: np.ndarray, ci_level: float, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of bootstrap replicates, ``(low, high)`` along ``axis``, with the
    quantile rule of the metrics' intervals (numpy's default, linear, as scipy.stats.bootstrap)."""
    alpha = (1 - ci_level) / 2
    return np.percentile(values, 100 * alpha, axis=axis), np.percentile(values, 100 * (1 - alpha), axis=axis)


def percentile_difference(replicates: np.ndarray, ci_level: float) -> tuple[float, float, float]:
    """Percentile interval of a difference's bootstrap replicates (non-finite ones dropped)
    and the two-sided p value that agrees with it (twice the smaller share on one side of
    0, never below 2 / (replicates + 1)); NaN when no replicate is finite.

    >>> percentile_difference(np.array([1.0, 2.0, 3.0, -1.0]), 0.5)
    (0.5, 2.25, 0.5)
    """
    d = replicates[np.isfinite(replicates)]
    if not len(d):
        return np.nan, np.nan, np.nan
    low, high = quantile_interval(d, ci_level)
    p = max(min(1.0, 2 * min((d <= 0).mean(), (d >= 0).mean())), 2 / (len(d) + 1))
    return float(low), float(high), float(p)


def stratified_replicates(strata: Sequence, statistic: Callable[[np.ndarray], Any],
                          n_resamples: int, seed: int) -> list:
    """``statistic(rows)`` on ``n_resamples`` bootstrap resamples of row positions, drawn
    with replacement within each stratum (every value of ``strata``), so every stratum
    stays represented; replicates where ``statistic`` returns None are dropped.

    >>> reps = stratified_replicates([1, 1, 2, 2], lambda rows: rows.tolist(), 2, seed=0)
    >>> [sorted(set(r) & {0, 1}) != [] and sorted(set(r) & {2, 3}) != [] for r in reps]
    [True, True]
    """
    strata = np.asarray(strata)
    groups = [np.flatnonzero(strata == s) for s in np.unique(strata)]
    rng = np.random.default_rng(seed)
    replicates = (statistic(np.concatenate([rng.choice(g, len(g)) for g in groups]))
                  for _ in range(n_resamples))
    return [r for r in replicates if r is not None]
