"""Incremental validity: does the text add prediction beyond the covariates?

Two answers, on the evaluated cases (the test split, or every case out-of-fold with
``cv``), whose model scores come from texts the model never trained on:

* **Hierarchical regression** (ratings), the analysis psychologists report: OLS of the
  outcome on the covariates (step 1), then on the covariates and the model's score (step
  2); ΔR² with the F-change test, and a bootstrap CI of ΔR² (both steps refitted on every
  resample of the cases).
* **Out-of-sample prediction** (ratings and classes): the two models, each fitted by
  K-fold cross-validation within the evaluated cases, predict every case from the other
  folds; their metrics are compared with the paired bootstrap of
  :func:`~pytext_psych.compare_predictions` (ΔR², Δr, ΔRMSE; for classes Δ macro F1,
  Δ accuracy, Δ kappa) plus Δ log-loss for classes (paired bootstrap of the per-case
  differences). Classes use multinomial logistic regression on the covariates, then on the
  covariates and the log of the model's class probabilities.

Covariates: numeric columns as they are; other columns dummy-coded (first level left out).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..stats import COMPARISON_COLUMNS, compare_predictions, percentile_difference, quantile_interval

FOLDS = 5


def covariate_matrix(df: pd.DataFrame, covariates: Sequence[str], text: str,
                     outcomes: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """The covariates as a numeric matrix (dummy-coded where not numeric) and its column
    names; every problem raises a ``ValueError`` naming the column."""
    missing = [c for c in covariates if c not in df.columns]
    if missing:
        raise ValueError(f"covariate column(s) {', '.join(map(repr, missing))} not found in data; "
                         f"available columns: {', '.join(map(repr, map(str, df.columns)))}")
    clash = [c for c in covariates if c == text or c in outcomes]
    if clash:
        raise ValueError(f"covariates may not include the text or outcome column ({clash[0]!r})")
    parts, names = [], []
    for column in covariates:
        values = df[column]
        if values.isna().any():
            rows = values.index[values.isna()][:5].tolist()
            raise ValueError(f"covariate {column!r} has {int(values.isna().sum())} missing value(s) "
                             f"(rows {rows}); drop those rows or impute them before fitting")
        if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
            dummies = pd.get_dummies(values.astype(str), prefix=column, drop_first=True, dtype=float)
            parts.append(dummies.to_numpy())
            names += list(dummies.columns)
        else:
            parts.append(values.to_numpy(dtype=float)[:, None])
            names.append(column)
        if parts[-1].shape[1] == 0 or np.all(parts[-1] == parts[-1][0]):
            raise ValueError(f"covariate {column!r} is constant; it cannot explain anything, drop it")
    return np.hstack(parts), names


def incremental_validity(observed: np.ndarray, score: np.ndarray, covariates: np.ndarray, task: str, *,
                         labels: Sequence[str] | None = None, n_resamples: int = 2000,
                         ci_level: float = 0.95, seed: int = 42) -> pd.DataFrame:
    """Covariates + model score (a) against covariates only (b) on the same cases.

    ``score``: the model's predicted ratings (regression) or class probabilities (n x k).
    Returns the comparison columns (``estimate`` is a - b) and, for ratings, a first row
    ``r_squared_change`` (hierarchical OLS, in-sample) whose ``method`` gives the F test.
    """
    score = np.asarray(score, dtype=float)
    folds = np.random.default_rng(seed).permutation(len(observed)) % FOLDS
    boot = dict(n_resamples=n_resamples, ci_level=ci_level, seed=seed)
    if task == "regression":
        y = np.asarray(observed, dtype=float)
        full, base = _design(covariates, score[:, None]), _design(covariates)
        table = compare_predictions(y, _cv_ols(full, y, folds), _cv_ols(base, y, folds), task, **boot)
        return pd.concat([_hierarchical(y, full, base, **boot), table], ignore_index=True)
    return _classes(np.asarray(observed).astype(str), score, covariates, folds, list(labels), boot)


def _resample_weights(n: int, n_resamples: int, seed: int) -> np.ndarray:
    """How often each case is drawn in each resample: the metrics' own bootstrap draw."""
    from ..stats.bootstrap import _bootstrap_weights

    return np.concatenate(list(_bootstrap_weights(n, n_resamples, seed, None))).astype(float)


def _design(*blocks: np.ndarray) -> np.ndarray:
    return np.hstack([np.ones((len(blocks[0]), 1)), *blocks])


def _cv_ols(x: np.ndarray, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Each case predicted by the OLS fitted on the other folds."""
    out = np.empty(len(y))
    for k in np.unique(folds):
        test = folds == k
        beta = np.linalg.lstsq(x[~test], y[~test], rcond=None)[0]
        out[test] = x[test] @ beta
    return out


def _weighted_r2(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """R² of the OLS fit under each row of case weights ``w`` (resamples x cases)."""
    xtwx = np.einsum("bn,ni,nj->bij", w, x, x)
    xtwy = np.einsum("bn,ni,n->bi", w, x, y)
    beta = np.linalg.solve(xtwx + 1e-10 * np.eye(x.shape[1]), xtwy[..., None])[..., 0]
    resid = y[None, :] - beta @ x.T
    mean = (w @ y) / w.sum(axis=1)
    return 1 - (w * resid**2).sum(axis=1) / (w * (y[None, :] - mean[:, None]) ** 2).sum(axis=1)


def _hierarchical(y: np.ndarray, full: np.ndarray, base: np.ndarray, n_resamples: int,
                  ci_level: float, seed: int) -> pd.DataFrame:
    """ΔR² from step 1 (covariates) to step 2 (+ score), its F test and bootstrap CI."""
    n, one = len(y), np.ones((1, len(y)))
    r2_full, r2_base = _weighted_r2(full, y, one)[0], _weighted_r2(base, y, one)[0]
    q, df2 = full.shape[1] - base.shape[1], n - full.shape[1]
    f = ((r2_full - r2_base) / q) / ((1 - r2_full) / df2)
    p = float(stats.f.sf(f, q, df2))
    w = _resample_weights(n, n_resamples, seed)
    delta = _weighted_r2(full, y, w) - _weighted_r2(base, y, w)
    low, high = quantile_interval(delta, ci_level)
    return pd.DataFrame([{
        "metric": "r_squared_change", "estimate": float(r2_full - r2_base), "conf_low": float(low),
        "conf_high": float(high), "p_value": p, "estimate_a": float(r2_full),
        "estimate_b": float(r2_base), "ci_level": ci_level, "n": n,
        "method": f"hierarchical OLS, in-sample; F({q}, {df2}) = {f:.2f}; percentile bootstrap CI",
    }], columns=COMPARISON_COLUMNS)


def _classes(observed: np.ndarray, probs: np.ndarray, covariates: np.ndarray, folds: np.ndarray,
             labels: list[str], boot: dict) -> pd.DataFrame:
    """Multinomial logistic regression, covariates only vs + log class probabilities."""
    logp = np.log(np.clip(probs, 1e-12, 1))
    full, base = (_cv_logistic(x, observed, folds, labels)
                  for x in (np.hstack([covariates, logp]), covariates))
    table = compare_predictions(observed, np.asarray(labels)[full.argmax(1)],
                                np.asarray(labels)[base.argmax(1)], "classification",
                                labels=labels, **boot)
    codes = np.array([labels.index(v) for v in observed])
    rows = np.arange(len(observed))
    loss_full, loss_base = -np.log(full[rows, codes]), -np.log(base[rows, codes])
    return pd.concat([table, _paired_mean("log_loss", loss_full, loss_base, boot)], ignore_index=True)


def _cv_logistic(x: np.ndarray, y: np.ndarray, folds: np.ndarray, labels: list[str]) -> np.ndarray:
    """Class probabilities (columns in ``labels`` order) for each case, from the
    standardised multinomial logistic regression fitted on the other folds."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    out = np.full((len(y), len(labels)), 1e-12)
    for k in np.unique(folds):
        test = folds == k
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        model.fit(x[~test], y[~test])
        columns = [labels.index(c) for c in model.classes_]
        out[np.ix_(test, columns)] = model.predict_proba(x[test])
    return out / out.sum(axis=1, keepdims=True)


def _paired_mean(metric: str, a: np.ndarray, b: np.ndarray, boot: dict) -> pd.DataFrame:
    """Mean of ``a`` minus mean of ``b`` over the same cases, percentile bootstrap CI and
    the p value that agrees with it."""
    d, n = a - b, len(a)
    w = _resample_weights(n, boot["n_resamples"], boot["seed"])
    low, high, p = percentile_difference(w @ d / n, boot["ci_level"])
    return pd.DataFrame([{
        "metric": metric, "estimate": float(d.mean()), "conf_low": low, "conf_high": high,
        "p_value": p, "estimate_a": float(a.mean()), "estimate_b": float(b.mean()),
        "ci_level": boot["ci_level"], "n": n, "method": "paired percentile",
    }], columns=COMPARISON_COLUMNS)
