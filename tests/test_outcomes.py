"""Several outcomes in one model (pytext_psych/outcomes.py): real fine-tunes of one encoder
with a head per outcome, exported and scored like any bundle; statistics checked against
scipy and scikit-learn."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import TINY
from scipy import stats
from sklearn.metrics import f1_score

from pytext_psych import (
    TextModelFit,
    compare_models,
    fairness,
    fit_text_model,
    learning_curve,
    load_model,
    predict_scores,
)
from pytext_psych.data.outcomes import head_sizes, narrow, prepare_outcomes, wide


@pytest.fixture(scope="module")
def two_ratings(examples):
    """stress and a second, noisier rating of the same texts."""
    data = examples.copy()
    data["calm"] = 10 - data["stress"] + np.random.default_rng(0).integers(-1, 2, len(data))
    return data


@pytest.fixture(scope="module")
def ratings_fit(two_ratings, tmp_path_factory):
    out = tmp_path_factory.mktemp("ratings") / "bundle"
    return fit_text_model(two_ratings, "answer", ["stress", "calm"], output_dir=out, **TINY)


def test_outcomes_are_checked_before_training(two_ratings):
    with pytest.raises(ValueError, match="mix ratings and classes .stress: regression, topic: classification"):
        fit_text_model(two_ratings, "answer", ["stress", "topic"], model="no/such-model")
    with pytest.raises(ValueError, match="'stress' more than once"):
        fit_text_model(two_ratings, "answer", ["stress", "stress"], model="no/such-model")
    with pytest.raises(ValueError, match="several ordinal outcomes"):
        fit_text_model(two_ratings, "answer", ["stress", "calm"], task="ordinal", model="no/such-model")
    with pytest.raises(ValueError, match=r"column\(s\) 'nope' not found"):
        fit_text_model(two_ratings, "answer", ["stress", "nope"], model="no/such-model")
    with pytest.raises(TypeError, match="outcome must be a column name or a list"):
        fit_text_model(two_ratings, "answer", ["stress", 3], model="no/such-model")
    with pytest.raises(ValueError, match="learning_curve takes one outcome"):
        learning_curve(two_ratings, "answer", ["stress", "calm"], sizes=[50])


def test_head_sizes_outcomes_and_wide_names(two_ratings):
    prep = prepare_outcomes(two_ratings.assign(work=two_ratings.topic == "work"), "answer", ["topic", "work"])
    assert prep.y.shape == (400, 2) and prep.task == "classification"
    assert head_sizes(prep) == [5, 2]  # 5 topics, then 2 classes
    assert [(name, part.labels[:1]) for name, part in prep.outcomes] == [("topic", ["family"]), ("work", ["False"])]
    one = prepare_outcomes(two_ratings, "answer", "stress")
    assert head_sizes(one) is None and one.outcomes == ((None, one),) and one.names == ("stress",)
    frame = pd.DataFrame({wide("predicted", "a"): [1], wide("prob_x", "a"): [0.5], "predicted_a_b": [2]})
    assert list(frame.columns[:2]) == ["predicted_a", "prob_a_x"]
    assert list(narrow(frame, "a", ["predicted", "prob_x"]).columns) == ["predicted", "prob_x"]


def test_one_model_learns_every_outcome(ratings_fit):
    fit = ratings_fit
    assert fit.outcome == ["stress", "calm"] and list(fit.outcomes) == ["stress", "calm"]
    assert list(fit.metrics.columns[:2]) == ["outcome", "metric"]
    test = fit.evaluated
    for name in ("stress", "calm"):
        r = fit.metrics.query("outcome == @name and metric == 'pearson_r'").estimate.item()
        reference = stats.pearsonr(test[f"observed_{name}"], test[f"predicted_{name}"])[0]
        assert r == pytest.approx(reference, abs=1e-9)
        assert r > 0.6, name  # learning happened for both heads
        assert set(fit.comparison.query("outcome == @name").metric) >= {"pearson_r", "rmse"}
    assert "one encoder, a head per outcome" in repr(fit)


def test_the_bundle_scores_every_outcome_in_one_pass(ratings_fit, two_ratings):
    meta = json.loads((ratings_fit.bundle_path / "bundle.json").read_text())
    assert meta["num_outputs"] == 2
    assert [(e["outcome"], e["columns"]) for e in meta["outcomes"]] == [("stress", [0, 1]), ("calm", [1, 2])]
    model = load_model(ratings_fit.bundle_path)
    assert [o.shape[-1] for o in model.session().get_outputs()] == [2]  # one graph, one output
    test = ratings_fit.evaluated
    scores = predict_scores(model, two_ratings.answer[test.row].tolist(), check_shift=False)
    assert list(scores.columns) == ["predicted_stress", "predicted_calm"]
    for name in ("stress", "calm"):
        assert np.allclose(scores[f"predicted_{name}"], test[f"predicted_{name}"], atol=1e-5)
    alone = predict_scores(model, [two_ratings.answer[3]], check_shift=False)
    among = predict_scores(model, two_ratings.answer[:9].tolist()[::-1], check_shift=False)
    assert alone.iloc[0].tolist() == among.iloc[5].tolist()  # same text, same scores
    both = predict_scores(model, ["a deadline at work"], interval=0.9, check_shift=False)
    assert list(both.columns) == ["predicted_stress", "lower_stress", "upper_stress",
                                  "predicted_calm", "lower_calm", "upper_calm"]


def test_each_outcome_is_a_fit_of_its_own(ratings_fit):
    calm = ratings_fit.outcome_fit("calm")
    assert calm.outcome == "calm" and not calm.outcomes
    assert list(calm.predictions.columns[:4]) == ["row", "split", "observed", "predicted"]
    pd.testing.assert_frame_equal(calm.metrics, ratings_fit.metrics.query("outcome == 'calm'")
                                  .drop(columns="outcome").reset_index(drop=True))
    both = compare_models(ratings_fit)
    assert np.allclose(both.estimate, ratings_fit.comparison.estimate)
    report = ratings_fit.report()
    assert report.table.Outcome.unique().tolist() == ["stress", "calm"]
    assert "predicted 2 outcomes: stress, calm" in report.text
    with pytest.raises(ValueError, match="check one at a time"):
        fairness(ratings_fit, np.arange(400) % 2)
    with pytest.raises(ValueError, match="'anxiety' is not an outcome"):
        ratings_fit.outcome_fit("anxiety")
    again = TextModelFit.from_bundle(ratings_fit.bundle_path)
    pd.testing.assert_frame_equal(again.metrics, ratings_fit.metrics)
    assert np.allclose(again.evaluated.predicted_calm, ratings_fit.evaluated.predicted_calm)


def test_several_class_outcomes(examples, tmp_path):
    data = examples.head(200).assign(work=lambda d: np.where(d.topic == "work", "work", "other"))
    fit = fit_text_model(data, "answer", ["topic", "work"], output_dir=tmp_path / "m",
                         **dict(TINY, epochs=2, n_resamples=200))
    test = fit.evaluated
    for name in ("topic", "work"):
        f1 = fit.metrics.query("outcome == @name and metric == 'f1_macro'").estimate.item()
        assert f1 == pytest.approx(f1_score(test[f"observed_{name}"], test[f"predicted_{name}"],
                                            average="macro"))
    scores = predict_scores(fit, ["my boss", "my sister"], check_shift=False)
    assert list(scores.columns) == ["predicted_topic", *(f"prob_topic_{t}" for t in fit.outcomes["topic"]),
                                    "predicted_work", "prob_work_other", "prob_work_work"]
    assert np.allclose(scores.filter(like="prob_topic_").sum(axis=1), 1)
    assert np.allclose(scores.filter(like="prob_work_").sum(axis=1), 1)


def test_command_line(ratings_fit, two_ratings, tmp_path):
    from test_cli import run

    res = run("info", str(ratings_fit.bundle_path))
    assert res.returncode == 0, res.stderr
    assert "regression of 2 outcomes in one model" in res.stdout and "test calm pearson_r" in res.stdout
    assert "# Model card: stress, calm from answer" in res.stdout
    res = run("report", str(ratings_fit.bundle_path), "--out", str(tmp_path / "rep"))
    assert res.returncode == 0, res.stderr
    assert "predicted 2 outcomes: stress, calm" in res.stdout
    two_ratings.to_csv(tmp_path / "d.csv", index=False)
    res = run("fit", str(tmp_path / "d.csv"), "--text", "answer", "--outcome", "stress", "topic")
    assert res.returncode == 2 and "mix ratings and classes" in res.stderr


def test_explain_names_the_outcome(ratings_fit):
    from pytext_psych import explain

    words = explain(ratings_fit, ["a huge deadline at work"], target="calm")
    assert set(words.target) == {"calm"} and len(words) == 5
    alone = predict_scores(ratings_fit, ["a huge deadline at work"], check_shift=False)
    assert words.prediction.iloc[0] == pytest.approx(alone.predicted_calm.iloc[0], abs=1e-5)
    assert set(explain(ratings_fit, ["at work"]).target) == {"stress"}  # the first by default
    with pytest.raises(ValueError, match="'anger' is not an outcome of this model"):
        explain(ratings_fit, ["at work"], target="anger")
