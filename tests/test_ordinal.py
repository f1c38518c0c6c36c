"""task="ordinal": the CORN head's probabilities and loss, and a real ordinal fine-tune
scored through its ONNX bundle, with quadratic-weighted kappa checked against
scikit-learn and the comparison with the regression fit on the same cases."""

import numpy as np
import pandas as pd
import pytest

from pytext_psych import compare_models, fit_text_model, load_model, predict_scores
from pytext_psych.data.reading import prepare
from pytext_psych.stats.ordinal import expected, probabilities


def test_probabilities_are_consistent():
    outputs = np.random.default_rng(0).normal(size=(50, 8)) * 3
    p = probabilities(outputs)
    assert p.shape == (50, 9) and np.all(p >= -1e-12)
    np.testing.assert_allclose(p.sum(1), 1)
    above = 1 - np.cumsum(p, axis=1)[:, :-1]  # P(y > k) falls with k
    assert np.all(np.diff(above, axis=1) <= 1e-12)
    np.testing.assert_allclose(expected(outputs, np.arange(1, 10)), p @ np.arange(1, 10))
    cut = probabilities(outputs[:, :1], np.linspace(-2, 2, 8))  # cumulative link
    np.testing.assert_allclose(cut.sum(1), 1)
    assert np.all(cut >= 0)


def test_corn_loss_matches_its_definition():
    torch = pytest.importorskip("torch")
    from pytext_psych.training.train import corn_loss

    rng = np.random.default_rng(1)
    logits, y = rng.normal(size=(20, 4)), rng.integers(0, 5, 20)
    terms = []  # task k: texts rated >= k, target rated > k
    for k in range(4):
        for i in np.flatnonzero(y >= k):
            p = 1 / (1 + np.exp(-logits[i, k]))
            terms.append(-np.log(p) if y[i] > k else -np.log(1 - p))
    got = corn_loss(torch.tensor(logits), torch.tensor(y)).item()
    assert got == pytest.approx(np.mean(terms), rel=1e-6)


def test_cumulative_link_loss_matches_its_definition():
    torch = pytest.importorskip("torch")
    from pytext_psych.training.train import clm_loss, ordered_cuts

    rng = np.random.default_rng(2)
    scores, y, raw = rng.normal(size=(30, 1)), rng.integers(0, 4, 30), rng.normal(size=3)
    cuts = ordered_cuts(torch.tensor(raw)).numpy()
    assert np.all(np.diff(cuts) > 0)
    p = probabilities(scores, cuts)  # numpy side, as scoring computes it
    want = -np.mean(np.log(p[np.arange(30), y]))
    got = clm_loss(torch.tensor(raw))(torch.tensor(scores), torch.tensor(y)).item()
    assert got == pytest.approx(want, rel=1e-5)


def test_ordered_categoricals_are_ordinal_with_their_levels():
    df = pd.DataFrame({"t": [f"text {i}" for i in range(12)],
                       "y": pd.Categorical(["low", "mid", "high"] * 4,
                                           categories=["low", "mid", "high"], ordered=True)})
    prep = prepare(df, "t", "y")
    assert prep.task == "ordinal" and prep.labels == ["low", "mid", "high"]
    assert prep.values.tolist() == [1.0, 2.0, 3.0]
    numbers = prepare(df.assign(y=[1, 2, 3, 5] * 3), "t", "y", "ordinal")
    assert numbers.labels == ["1", "2", "3", "5"] and numbers.values.tolist() == [1, 2, 3, 5]
    with pytest.raises(ValueError, match="task='ordinal' needs ordered levels"):
        prepare(df.assign(y=["a", "b", "c"] * 4), "t", "y", "ordinal")


@pytest.fixture(scope="module")
def ordinal_fit(examples, tmp_path_factory):
    return fit_text_model(examples, "answer", "stress", task="ordinal",
                          output_dir=tmp_path_factory.mktemp("ordinal") / "bundle", max_length=32,
                          epochs=4, learning_rate=1e-4, progress=False, n_resamples=500)


def test_ordinal_fit_learns_and_scores_through_its_bundle(ordinal_fit, examples):
    from sklearn.metrics import cohen_kappa_score

    m = ordinal_fit.metrics.set_index("metric")
    assert m.loc["pearson_r", "estimate"] > 0.3  # learning happened (9 levels)
    # strategy "auto" does not pick contrastive pairs for ordinal heads, whatever the size
    assert ordinal_fit.settings["strategy"] == "full"
    test = ordinal_fit.evaluated
    qwk = cohen_kappa_score(test["observed"].astype(int).astype(str), test["level"].astype(str),
                            weights="quadratic", labels=ordinal_fit.labels)
    assert m.loc["kappa_quadratic", "estimate"] == pytest.approx(qwk)
    model = load_model(ordinal_fit.bundle_path)
    assert "ordinal ratings of 'stress'" in repr(model)
    assert len(model.description.outcomes[0].ordinal_cuts) == len(ordinal_fit.labels) - 1  # the default: cumulative link
    scores = predict_scores(model, examples.loc[test["row"], "answer"].tolist())
    np.testing.assert_allclose(scores["predicted"], test["predicted"], rtol=1e-6)
    assert scores["level"].tolist() == test["level"].tolist()
    probs = [c for c in scores if c.startswith("prob_")]
    assert list(scores.columns[:2]) == ["predicted", "level"] and len(probs) == len(ordinal_fit.labels)
    assert scores[probs].sum(axis=1).iloc[0] == pytest.approx(1)
    parity = model.description.parity
    assert parity["int8"]["score_correlation"] > 0.95


def test_ordinal_and_regression_compare_on_the_same_cases(ordinal_fit, stress_fit):
    table = compare_models(ordinal_fit, stress_fit).set_index("metric")
    assert {"pearson_r", "rmse"} <= set(table.index)
    assert table.loc["pearson_r", "estimate_b"] == pytest.approx(
        stress_fit.metrics.set_index("metric").loc["pearson_r", "estimate"])


def test_the_corn_head_fits_and_scores_too(examples, tmp_path):
    fit = fit_text_model(examples, "answer", "stress", task="ordinal", ordinal_head="corn",
                         output_dir=tmp_path / "corn", max_length=32, epochs=2, learning_rate=1e-4,
                         progress=False, n_resamples=200, baseline=False)
    model = load_model(fit.bundle_path)
    assert model.description.num_outputs == len(fit.labels) - 1 and model.description.outcomes[0].ordinal_cuts is None
    scores = predict_scores(model, ["deadlines keep piling up and I cannot sleep", "a calm week"])
    assert scores.filter(like="prob_").sum(axis=1).round(6).eq(1).all()
