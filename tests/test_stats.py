"""Metrics and bootstrap CIs, checked against independent references (scipy, sklearn)."""

import numpy as np
import pytest
from scipy import stats as sps
from sklearn import metrics as skm

from pytext_psych.stats import (
    COLUMNS,
    COMPARISON_COLUMNS,
    agreement,
    bootstrap_metrics,
    compare_predictions,
    conformal_threshold,
    conformity_scores,
)
from pytext_psych.stats.agreement import rating_agreement


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
    assert list(reg.metric) == ["pearson_r", "spearman_rho", "rmse", "mae", "r_squared",
                                "icc_2_1"]
    cls = bootstrap_metrics(*class_data, "classification", n_resamples=200)
    assert list(cls.columns) == COLUMNS
    assert list(cls.metric) == ["accuracy", "f1_macro", "f1_weighted", "precision_macro",
                                "recall_macro", "cohen_kappa", "f1_anger", "f1_fear", "f1_joy", "f1_sadness"]
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


def test_spearman_with_tied_ratings_matches_scipy_bootstrap():
    """Ratings (many ties) against continuous predictions, as on a 1-9 scale."""
    rng = np.random.default_rng(4)
    y = rng.integers(1, 10, 200).astype(float)
    p = y * 0.4 + rng.normal(0, 1.5, 200)
    ours = bootstrap_metrics(y, p, "regression", n_resamples=500, seed=2).set_index("metric")
    def rho(i, axis=-1):
        return np.array([sps.spearmanr(y[r], p[r]).statistic for r in np.atleast_2d(i)]).squeeze()

    ref = sps.bootstrap((np.arange(len(y)),), rho, paired=True, vectorized=True,
                        n_resamples=500, method="bca", rng=np.random.default_rng(2))
    assert ours.loc["spearman_rho", "estimate"] == pytest.approx(sps.spearmanr(y, p).statistic, abs=1e-12)
    assert ours.loc["spearman_rho", "conf_low"] == pytest.approx(ref.confidence_interval.low, abs=1e-9)
    assert ours.loc["spearman_rho", "conf_high"] == pytest.approx(ref.confidence_interval.high, abs=1e-9)


def test_kappa_matches_sklearn(class_data):
    y, p = class_data
    est = bootstrap_metrics(y, p, "classification", n_resamples=10).set_index("metric").estimate
    assert est["cohen_kappa"] == pytest.approx(skm.cohen_kappa_score(y, p), abs=1e-12)
    rng = np.random.default_rng(8)
    a = rng.integers(1, 6, 300)
    b = np.clip(a + rng.integers(-1, 2, 300), 1, 5)
    t = agreement(a, b, "ordinal", n_resamples=200).set_index("metric")
    assert list(t.columns) == COLUMNS[1:]
    for name, weights in [("cohen_kappa", None), ("kappa_linear", "linear"),
                          ("kappa_quadratic", "quadratic")]:
        assert t.loc[name, "estimate"] == pytest.approx(
            skm.cohen_kappa_score(a, b, weights=weights), abs=1e-12)
    # an unobserved middle category changes the linear distances, as in sklearn's labels=
    t = agreement([1, 1, 3, 3, 5], [1, 3, 3, 5, 5], "ordinal", categories=[1, 2, 3, 4, 5],
                  n_resamples=10).set_index("metric")
    assert t.loc["kappa_linear", "estimate"] == pytest.approx(skm.cohen_kappa_score(
        [1, 1, 3, 3, 5], [1, 3, 3, 5, 5], weights="linear", labels=[1, 2, 3, 4, 5]))


def test_rating_kappa_rounds_onto_a_scale_from_zero_like_sklearn():
    """A prediction just below 0 rounds to -0.0, which is the scale's 0 (it once failed
    as a value outside the scale)."""
    observed, predicted = [0, 1, 2, 3, 0, 2], [-0.4, 1.2, 2.6, 2.9, 0.3, 1.4]
    t = rating_agreement(observed, predicted, n_resamples=20).set_index("metric")
    rounded = np.clip(np.round(predicted), 0, 3).astype(int)
    assert t.loc["kappa_quadratic", "estimate"] == pytest.approx(
        skm.cohen_kappa_score(observed, rounded, weights="quadratic", labels=[0, 1, 2, 3]), abs=1e-12)


def test_kappa_ci_matches_scipy_bootstrap(class_data):
    y, p = class_data
    ours = agreement(y, p, "nominal", n_resamples=300, seed=3).set_index("metric").loc["cohen_kappa"]

    def kappa(i, axis=-1):
        return np.array([skm.cohen_kappa_score(y[r], p[r]) for r in np.atleast_2d(i)]).squeeze()

    ref = sps.bootstrap((np.arange(len(y)),), kappa, paired=True, vectorized=True,
                        n_resamples=300, method="bca", rng=np.random.default_rng(3))
    assert ours.conf_low == pytest.approx(ref.confidence_interval.low, abs=1e-9)
    assert ours.conf_high == pytest.approx(ref.confidence_interval.high, abs=1e-9)


def test_icc_agrees_with_anova_formula():
    """ICC(2,1) from the two-way ANOVA table (Shrout & Fleiss), computed independently."""
    rng = np.random.default_rng(6)
    a = rng.normal(5, 2, 80)
    b = 0.8 * a + 1.5 + rng.normal(0, 1, 80)
    x = np.column_stack([a, b])
    n, k = x.shape
    grand = x.mean()
    msr = k * ((x.mean(1) - grand) ** 2).sum() / (n - 1)
    msc = n * ((x.mean(0) - grand) ** 2).sum() / (k - 1)
    mse = ((x - x.mean(1, keepdims=True) - x.mean(0) + grand) ** 2).sum() / ((n - 1) * (k - 1))
    expected = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    t = agreement(a, b, "interval", n_resamples=200).set_index("metric")
    assert t.loc["icc_2_1", "estimate"] == pytest.approx(expected, abs=1e-12)
    # a shift lowers absolute agreement but not the correlation
    shifted = agreement(a, b + 3, "interval", n_resamples=10).set_index("metric")
    assert shifted.loc["icc_2_1", "estimate"] < expected - 0.1


def test_paired_comparison_uses_the_same_resamples(regression_data):
    y, p = regression_data
    worse = p + np.random.default_rng(1).normal(0, 2, len(p))
    t = compare_predictions(y, p, worse, "regression", n_resamples=999, method="percentile",
                            seed=4).set_index("metric")
    assert list(t.reset_index().columns) == COMPARISON_COLUMNS
    idx = np.random.default_rng(4).integers(0, len(y), (999, len(y)))
    diffs = np.array([sps.pearsonr(y[i], p[i]).statistic - sps.pearsonr(y[i], worse[i]).statistic
                      for i in idx])
    row = t.loc["pearson_r"]
    assert row.estimate == pytest.approx(sps.pearsonr(y, p).statistic - sps.pearsonr(y, worse).statistic)
    assert row.conf_low == pytest.approx(np.percentile(diffs, 2.5), abs=1e-9)
    assert row.conf_high == pytest.approx(np.percentile(diffs, 97.5), abs=1e-9)
    q0 = max(np.interp(0.0, np.sort(diffs), np.linspace(0, 1, 999)), 1 / 1000)  # where the percentile is 0
    assert row.p_value == pytest.approx(2 * q0)
    assert row.conf_low > 0 and row.p_value < 0.05
    assert t.loc["rmse", "estimate"] < 0  # lower is better: a negative difference favours a
    same = compare_predictions(y, p, p, "regression", n_resamples=200).set_index("metric")
    assert (same.estimate == 0).all() and (same.p_value == 1).all()


@pytest.mark.parametrize("method", ["bca", "percentile"])
def test_paired_p_value_agrees_with_the_interval(regression_data, method):
    """p < 1 - level exactly when the interval at that level excludes 0."""
    y, p = regression_data
    rng = np.random.default_rng(2)
    for noise in (0.3, 0.6, 1.0, 1.5):
        other = p + rng.normal(0, noise, len(p))
        t = compare_predictions(y, p, other, "regression", n_resamples=999, method=method)
        for level in (0.8, 0.9, 0.95):
            t2 = compare_predictions(y, p, other, "regression", n_resamples=999, method=method,
                                     ci_level=level)
            excludes = (t2.conf_low > 0) | (t2.conf_high < 0)
            assert ((t.p_value < 1 - level) == excludes).all()  # on the boundary too


def test_paired_comparison_classification(class_data):
    y, p = class_data
    t = compare_predictions(y, p, y, "classification", n_resamples=300).set_index("metric")
    assert "f1_anger" not in t.index
    assert t.loc["accuracy", "estimate"] == pytest.approx(skm.accuracy_score(y, p) - 1)
    assert t.loc["accuracy", "conf_high"] < 0


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_split_conformal_coverage(task):
    """Marginal coverage (averaged over 40 calibration sets of 300) is the target level."""
    rng = np.random.default_rng(12)
    n_cal, n_new, level = 300, 5_000, 0.9
    coverage = []
    for _ in range(40):
        if task == "regression":
            x = rng.normal(size=n_cal + n_new)
            y = x + rng.standard_t(4, n_cal + n_new)  # heavy tails: no normal-theory shortcut
            outputs = x[:, None]
        else:
            y = rng.integers(0, 4, n_cal + n_new)
            outputs = rng.normal(size=(n_cal + n_new, 4)) + 1.5 * np.eye(4)[y]
        scores = conformity_scores(task, outputs, y)
        coverage.append((scores[n_cal:] <= conformal_threshold(scores[:n_cal], level)).mean())
    assert np.mean(coverage) == pytest.approx(level, abs=0.01)


def test_conformal_threshold_needs_enough_cases():
    with pytest.raises(ValueError, match="at least 19 calibration"):
        conformal_threshold(np.arange(10.0), 0.95)
