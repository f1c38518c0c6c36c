"""Metrics by group and their differences, and Cleary's differential-prediction model:
the statistics behind :func:`pytext_psych.reporting.fairness`. numpy and scipy only.

Groups are independent samples, so each group's cases are resampled on their own (a
stratified bootstrap); the difference of a metric between a group and the reference
group is evaluated on the pairs of resamples, with a percentile interval and the p value
that agrees with it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .bootstrap import COLUMNS, _prepare, _run, bootstrap_metrics, percentile_difference
from .metrics import _metric_fns

DIFFERENCE_COLUMNS = ["group", "reference", "metric", "estimate", "conf_low", "conf_high",
                      "p_value", "ci_level", "n", "method"]
CLEARY_COLUMNS = ["term", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high"]
TEST_COLUMNS = ["test", "statistic", "df1", "df2", "p_value"]


def group_metrics(observed: Sequence, predicted: Sequence, groups: Sequence, task: str, *,
                  labels: Sequence[str] | None = None, n_resamples: int = 2000,
                  ci_level: float = 0.95, seed: int = 42) -> pd.DataFrame:
    """:func:`bootstrap_metrics` within each group: ``group`` and the tidy columns.
    Classification also gets ``error_rate`` (1 - accuracy)."""
    observed, predicted, groups = np.asarray(observed), np.asarray(predicted), _as_str(groups)
    frames = []
    for g in _levels(groups):
        rows = groups == g
        t = bootstrap_metrics(observed[rows], predicted[rows], task, labels=labels,
                              n_resamples=n_resamples, ci_level=ci_level, seed=seed)
        if task == "classification":
            acc = t[t.metric == "accuracy"].iloc[0]
            t = pd.concat([t, pd.DataFrame([dict(acc, metric="error_rate", estimate=1 - acc.estimate,
                                                 conf_low=1 - acc.conf_high,
                                                 conf_high=1 - acc.conf_low)])], ignore_index=True)
        frames.append(t.assign(group=str(g)))
    return pd.concat(frames, ignore_index=True)[["group", *COLUMNS]]


def group_differences(observed: Sequence, predicted: Sequence, groups: Sequence, task: str,
                      reference: str, *, labels: Sequence[str] | None = None,
                      n_resamples: int = 2000, ci_level: float = 0.95, seed: int = 42) -> pd.DataFrame:
    """Each group's metrics minus the ``reference`` group's, with percentile intervals from
    independent resamples within each group."""
    observed, predicted, groups = np.asarray(observed), np.asarray(predicted), _as_str(groups)
    boot, estimates, names = {}, {}, None
    for k, g in enumerate(_levels(groups)):
        rows = groups == g
        data, labels_used = _prepare(task, observed[rows], [predicted[rows]], labels)
        fns = _metric_fns(task, labels_used, per_class=False)
        (est,), (b,), _ = _run(fns, data, n_resamples, "percentile", seed + k, None)
        names, boot[str(g)], estimates[str(g)] = list(fns), b, est
    out = []
    for g in boot:
        if g == reference:
            continue
        for i, name in enumerate(names):
            # NaN where the metric is undefined in every resample (tiny groups)
            low, high, p = percentile_difference(boot[g][i] - boot[reference][i], ci_level)
            out.append((g, reference, name, float(estimates[g][i] - estimates[reference][i]),
                        low, high, p, ci_level,
                        int((groups == g).sum() + (groups == reference).sum()),
                        "independent percentile bootstrap"))
    return pd.DataFrame(out, columns=DIFFERENCE_COLUMNS)


def cleary(observed: Sequence[float], predicted: Sequence[float], groups: Sequence,
           reference: str, ci_level: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cleary's model: OLS of observed on predicted, group (dummies against ``reference``)
    and their interaction. Returns the coefficients (t-based CIs) and the step-down F
    tests: any differential prediction (vs one common line), different slopes (vs
    parallel lines), different intercepts given equal slopes (parallel vs common)."""
    y = np.asarray(observed, dtype=float)
    s = np.asarray(predicted, dtype=float)
    groups = _as_str(groups)
    others = [g for g in _levels(groups) if g != reference]
    dummies = np.column_stack([(groups == g).astype(float) for g in others])
    one = np.ones((len(y), 1))
    common = np.column_stack([one, s])
    parallel = np.column_stack([common, dummies])
    full = np.column_stack([parallel, dummies * s[:, None]])
    beta, se, df = _ols(full, y)
    t_crit = stats.t.ppf(0.5 + ci_level / 2, df)
    terms = (["(Intercept)", "predicted"] + [f"group[{g}]" for g in others]
             + [f"predicted:group[{g}]" for g in others])
    tstat = beta / se
    coefs = pd.DataFrame({"term": terms, "estimate": beta, "std_error": se, "statistic": tstat,
                          "p_value": 2 * stats.t.sf(np.abs(tstat), df),
                          "conf_low": beta - t_crit * se, "conf_high": beta + t_crit * se})
    tests = pd.DataFrame([_f_test(name, big, small, y) for name, big, small in (
        ("differential prediction (slopes or intercepts)", full, common),
        ("slopes differ", full, parallel),
        ("intercepts differ (equal slopes)", parallel, common))], columns=TEST_COLUMNS)
    return coefs[CLEARY_COLUMNS], tests


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    df = len(y) - x.shape[1]
    sigma2 = ((y - x @ beta) ** 2).sum() / df
    return beta, np.sqrt(np.diag(sigma2 * np.linalg.pinv(x.T @ x))), df


def _f_test(name: str, big: np.ndarray, small: np.ndarray, y: np.ndarray) -> tuple:
    sse = [((y - x @ np.linalg.lstsq(x, y, rcond=None)[0]) ** 2).sum() for x in (big, small)]
    df1, df2 = big.shape[1] - small.shape[1], len(y) - big.shape[1]
    f = ((sse[1] - sse[0]) / df1) / (sse[0] / df2)
    return name, float(f), df1, df2, float(stats.f.sf(f, df1, df2))


def _as_str(groups: Sequence) -> np.ndarray:
    return np.asarray(groups).astype(str)


def _levels(groups: np.ndarray) -> list:
    """Group levels, largest first (ties: sorted)."""
    values, counts = np.unique(_as_str(groups), return_counts=True)
    return [v for _, v in sorted(zip(-counts, values))]
