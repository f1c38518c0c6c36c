"""Metrics and bootstrap CIs, checked against independent references (scipy, sklearn)."""

import numpy as np
import pytest
from scipy import stats as sps
from sklearn import metrics as skm

from pytext_psych.stats import COLUMNS, bootstrap_metrics


@pytest.fixture
def regression_data():
    rng = np.random.default_rng(7)
    y = rng.normal(5, 2, 150)
    return y, y * 0.6 + rng.normal(2, 1.5, 150)


@pytest.fixture
def class_data():
    rng = np.random.default_rng(11)
    labels = np.array(["anger", "fear", "joy", "sadness"])
    y = labels[rng.choice(4, 120, p=[0.4, 0.3, 0.2, 0.1])]
    p = np.where(rng.random(120) < 0.7, y, labels[rng.integers(0, 4, 120)])
    return y, p


def test_tidy_shape(regression_data, class_data):
    reg = bootstrap_metrics(*regression_data, "regression", n_resamples=200)
    assert list(reg.columns) == COLUMNS
    assert list(reg.metric) == ["pearson_r", "spearman_rho", "rmse", "mae", "r_squared"]
    cls = bootstrap_metrics(*class_data, "classification", n_resamples=200)
    assert list(cls.columns) == COLUMNS
    assert list(cls.metric) == ["accuracy", "f1_macro", "f1_weighted", "precision_macro",
                                "recall_macro", "f1_anger", "f1_fear", "f1_joy", "f1_sadness"]
    for table in (reg, cls):
        assert (table.conf_low <= table.estimate).all() and (table.estimate <= table.conf_high).all()
        assert (table.n > 0).all() and (table.ci_level == 0.95).all()


def test_point_estimates_match_references(regression_data, class_data):
    y, p = regression_data
    reg = bootstrap_metrics(y, p, "regression", n_resamples=10).set_index("metric").estimate
    assert reg["pearson_r"] == pytest.approx(sps.pearsonr(y, p).statistic, abs=1e-12)
    assert reg["spearman_rho"] == pytest.approx(sps.spearmanr(y, p).statistic, abs=1e-12)
    assert reg["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, p)), abs=1e-12)
    assert reg["mae"] == pytest.approx(skm.mean_absolute_error(y, p), abs=1e-12)
    assert reg["r_squared"] == pytest.approx(skm.r2_score(y, p), abs=1e-12)
    y, p = class_data
    cls = bootstrap_metrics(y, p, "classification", n_resamples=10).set_index("metric").estimate
    assert cls["accuracy"] == pytest.approx(skm.accuracy_score(y, p))
    for avg in ("macro", "weighted"):
        assert cls[f"f1_{avg}"] == pytest.approx(skm.f1_score(y, p, average=avg))
    assert cls["precision_macro"] == pytest.approx(skm.precision_score(y, p, average="macro"))
    assert cls["recall_macro"] == pytest.approx(skm.recall_score(y, p, average="macro"))
    per_class = skm.f1_score(y, p, average=None, labels=["anger", "fear", "joy", "sadness"])
    assert cls[["f1_anger", "f1_fear", "f1_joy", "f1_sadness"]].to_numpy() == pytest.approx(per_class)


def test_macro_over_classes_present_like_sklearn():
    y = np.array(["a", "a", "b", "b"])
    p = np.array(["a", "b", "b", "b"])
    t = bootstrap_metrics(y, p, "classification", labels=["a", "b", "c"], n_resamples=10)
    est = t.set_index("metric").estimate
    assert est["f1_macro"] == pytest.approx(skm.f1_score(y, p, average="macro"))
    assert est["f1_c"] == 0.0


@pytest.mark.parametrize("method", ["bca", "percentile"])
@pytest.mark.parametrize("metric, reference", [
    ("pearson_r", lambda y, p: sps.pearsonr(y, p, axis=-1).statistic),
    ("spearman_rho", lambda y, p: np.array([sps.spearmanr(a, b).statistic for a, b in zip(np.atleast_2d(y), np.atleast_2d(p))]).reshape(np.shape(y)[:-1])),
    ("rmse", lambda y, p: np.sqrt(((y - p) ** 2).mean(-1))),
    ("mae", lambda y, p: np.abs(y - p).mean(-1)),
])
def test_regression_cis_match_scipy_bootstrap(regression_data, method, metric, reference):
    y, p = regression_data
    ours = bootstrap_metrics(y, p, "regression", n_resamples=999, method=method, seed=5)
    row = ours.set_index("metric").loc[metric]
    ref = sps.bootstrap((np.arange(len(y)),), lambda i, axis=-1: reference(y[i], p[i]),
                        paired=True, vectorized=True, n_resamples=999, method=method,
                        confidence_level=0.95, rng=np.random.default_rng(5))
    assert row.conf_low == pytest.approx(ref.confidence_interval.low, abs=1e-9)
    assert row.conf_high == pytest.approx(ref.confidence_interval.high, abs=1e-9)
    assert row.method == f"bootstrap {method}"


@pytest.mark.parametrize("method", ["bca", "percentile"])
def test_macro_f1_ci_matches_scipy_bootstrap_with_sklearn(class_data, method):
    y, p = class_data
    ours = bootstrap_metrics(y, p, "classification", n_resamples=300, method=method, seed=9,
                             ci_level=0.9)
    row = ours.set_index("metric").loc["f1_macro"]

    def macro_f1(i, axis=-1):
        i = np.atleast_2d(i)
        out = np.array([skm.f1_score(y[r], p[r], average="macro") for r in i])
        return out if out.size > 1 else out[0]

    ref = sps.bootstrap((np.arange(len(y)),), macro_f1, paired=True, vectorized=True,
                        n_resamples=300, method=method, confidence_level=0.9,
                        rng=np.random.default_rng(9))
    assert row.conf_low == pytest.approx(ref.confidence_interval.low, abs=1e-9)
    assert row.conf_high == pytest.approx(ref.confidence_interval.high, abs=1e-9)


def test_pearson_ci_agrees_with_fisher_z():
    rng = np.random.default_rng(3)
    y = rng.normal(size=600)
    p = 0.6 * y + 0.8 * rng.normal(size=600)
    row = bootstrap_metrics(y, p, "regression", n_resamples=4000).set_index("metric").loc["pearson_r"]
    fisher = sps.pearsonr(y, p).confidence_interval(0.95)
    assert row.conf_low == pytest.approx(fisher.low, abs=0.015)
    assert row.conf_high == pytest.approx(fisher.high, abs=0.015)


def test_seed_reproducible_and_level(regression_data):
    a = bootstrap_metrics(*regression_data, "regression", seed=1, n_resamples=300)
    b = bootstrap_metrics(*regression_data, "regression", seed=1, n_resamples=300)
    c = bootstrap_metrics(*regression_data, "regression", seed=2, n_resamples=300)
    assert a.equals(b) and not a.equals(c)
    wide = bootstrap_metrics(*regression_data, "regression", ci_level=0.99, n_resamples=300)
    assert ((wide.conf_high - wide.conf_low) > (a.conf_high - a.conf_low)).all()


def test_degenerate_bootstrap_falls_back_to_percentile():
    y = np.array(["a", "b"] * 10)
    t = bootstrap_metrics(y, y, "classification", n_resamples=100).set_index("metric")
    assert t.loc["accuracy", ["estimate", "conf_low", "conf_high"]].tolist() == [1.0, 1.0, 1.0]


def test_bad_arguments():
    with pytest.raises(ValueError, match="method must be"):
        bootstrap_metrics([1, 2], [1, 2], "regression", method="basic")
    with pytest.raises(ValueError, match="3 values but predicted has 2"):
        bootstrap_metrics([1, 2, 3], [1, 2], "regression")
    with pytest.raises(ValueError, match="not among the labels"):
        bootstrap_metrics(["a", "b"], ["a", "z"], "classification", labels=["a", "b"])
    with pytest.raises(ValueError, match="at least 2 cases"):
        bootstrap_metrics([1], [1], "regression")
