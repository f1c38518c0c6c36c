"""Incremental validity beyond covariates: the statistics against statsmodels and
scikit-learn, and a real fine-tune with covariates from end to end."""

import numpy as np
import pandas as pd
import pytest

from pytext_psych import TextModelFit, fit_text_model
from pytext_psych.evaluation.incremental import FOLDS, covariate_matrix, incremental_validity


@pytest.fixture(scope="module")
def ratings():
    rng = np.random.default_rng(1)
    n = 300
    age, condition = rng.normal(40, 10, n), rng.integers(0, 2, n)
    signal = rng.normal(size=n)
    y = 0.03 * age + 0.5 * condition + signal + rng.normal(scale=0.8, size=n)
    return y, signal + rng.normal(scale=0.5, size=n), np.column_stack([age, condition])


def test_hierarchical_regression_matches_statsmodels(ratings):
    import statsmodels.api as sm

    y, score, cov = ratings
    table = incremental_validity(y, score, cov, "regression", n_resamples=500).set_index("metric")
    step1 = sm.OLS(y, sm.add_constant(cov)).fit()
    step2 = sm.OLS(y, sm.add_constant(np.column_stack([cov, score]))).fit()
    f, p, df = step2.compare_f_test(step1)
    row = table.loc["r_squared_change"]
    assert row.estimate == pytest.approx(step2.rsquared - step1.rsquared, abs=1e-10)
    assert row.estimate_a == pytest.approx(step2.rsquared) and row.estimate_b == pytest.approx(step1.rsquared)
    assert row.p_value == pytest.approx(p, rel=1e-8)
    assert f"F(1, {int(step2.df_resid)}) = {f:.2f}" in row.method
    assert 0 < row.conf_low < row.estimate < row.conf_high


def test_out_of_sample_predictions_match_scikit_learn(ratings):
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score

    y, score, cov = ratings
    table = incremental_validity(y, score, cov, "regression", n_resamples=200, seed=7).set_index("metric")
    folds = np.random.default_rng(7).permutation(len(y)) % FOLDS  # the documented folds
    predicted = {}
    for name, x in (("a", np.column_stack([cov, score])), ("b", cov)):
        out = np.empty(len(y))
        for k in range(FOLDS):
            test = folds == k
            out[test] = LinearRegression().fit(x[~test], y[~test]).predict(x[test])
        predicted[name] = out
    row = table.loc["r_squared"]
    assert row.estimate_a == pytest.approx(r2_score(y, predicted["a"]), abs=1e-9)
    assert row.estimate_b == pytest.approx(r2_score(y, predicted["b"]), abs=1e-9)
    assert row.conf_low > 0  # the score carries real signal


def test_a_useless_score_adds_nothing(ratings):
    y, _, cov = ratings
    noise = np.random.default_rng(3).normal(size=len(y))
    table = incremental_validity(y, noise, cov, "regression", n_resamples=500).set_index("metric")
    assert table.loc["r_squared_change", "p_value"] > 0.05
    assert table.loc["r_squared", "conf_low"] < 0 < table.loc["r_squared", "conf_high"] + 1e-9


def test_classes_compare_macro_f1_and_log_loss():
    rng = np.random.default_rng(2)
    n, labels = 400, ["a", "b", "c"]
    y = rng.integers(0, 3, n)
    cov = (y == 2) + rng.normal(size=n)  # knows class c a little
    logits = np.eye(3)[y] * 2 + rng.normal(size=(n, 3))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    table = incremental_validity(np.array(labels)[y], probs, cov[:, None], "classification",
                                 labels=labels, n_resamples=500).set_index("metric")
    assert table.loc["f1_macro", "conf_low"] > 0
    assert table.loc["log_loss", "conf_high"] < 0  # lower loss with the text


def test_covariates_are_checked_and_dummy_coded():
    df = pd.DataFrame({"t": ["x"] * 4, "y": [1, 2, 3, 4], "age": [20, 30, 40, 50],
                       "group": ["a", "b", "c", "a"], "gap": [1, None, 2, 3], "same": [1] * 4})
    x, names = covariate_matrix(df, ["age", "group"], "t", ["y"])
    assert names == ["age", "group_b", "group_c"] and x.shape == (4, 3)
    with pytest.raises(ValueError, match="covariate column\\(s\\) 'nope' not found"):
        covariate_matrix(df, ["nope"], "t", ["y"])
    with pytest.raises(ValueError, match="covariate 'gap' has 1 missing value"):
        covariate_matrix(df, ["gap"], "t", ["y"])
    with pytest.raises(ValueError, match="covariate 'same' is constant"):
        covariate_matrix(df, ["same"], "t", ["y"])
    with pytest.raises(ValueError, match="may not include the text or outcome"):
        covariate_matrix(df, ["y"], "t", ["y"])


def test_fit_reports_incremental_validity(examples, tmp_path):
    data = examples.assign(age=np.random.default_rng(0).normal(40, 10, len(examples)).round())
    with pytest.raises(ValueError, match="covariate column\\(s\\) 'agee' not found"):
        fit_text_model(data, "answer", "stress", covariates=["agee"], output_dir=tmp_path / "x")
    assert not (tmp_path / "x").exists()
    fit = fit_text_model(data, "answer", "stress", covariates="age", output_dir=tmp_path / "m",
                         max_length=32, epochs=3, learning_rate=1e-4, progress=False, n_resamples=300,
                         baseline=False, strategy="full")
    inc = fit.incremental.set_index("metric")
    assert inc.loc["r_squared_change", "conf_low"] > 0  # the text predicts stress, age does not
    assert inc.loc["r_squared", "estimate_b"] < 0.05
    assert "Beyond the covariates (age), the model's score added ΔR² = ." in fit.report().text
    again = TextModelFit.from_bundle(fit.bundle_path)
    pd.testing.assert_frame_equal(again.incremental, fit.incremental)
    assert again.settings["covariates"] == ["age"]
