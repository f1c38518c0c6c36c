"""fit_text_model's result object and the bundle it writes."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from pytext_psych import TextModelFit, compare_models, fit_text_model, load_model, predict_scores, tune_text_model
from pytext_psych.core.settings import AUTO_RULE
from pytext_psych.stats import COLUMNS


def test_fit_result(topic_fit, examples):
    assert topic_fit.task == "classification"
    assert topic_fit.labels == ["family", "health", "money", "social", "work"]
    assert list(topic_fit.metrics.columns) == COLUMNS
    p = topic_fit.predictions
    assert list(p.columns) == ["row", "split", "observed", "predicted"] + [
        f"prob_{c}" for c in topic_fit.labels] + ["baseline_tfidf", "baseline_embeddings"]
    assert list(p.row) == list(examples.index)
    assert (p.observed == examples.topic).all()
    assert p.split.value_counts().to_dict() == {"train": 250, "test": 100, "dev": 50}
    test = p[p.split == "test"]
    assert topic_fit.metrics.set_index("metric").loc["accuracy", "estimate"] == pytest.approx(
        (test.observed == test.predicted).mean())
    assert topic_fit.metrics.n.unique().tolist() == [100]
    text = repr(topic_fit)
    assert "classification of 'topic' (5 classes) from 'answer'" in text
    assert "f1_macro" in text and "n train/dev/test = 250/50/100" in text
    assert "model                tfidf           embeddings" in text


def test_the_bundle_says_which_arithmetic_auto_became(topic_fit):
    """On a CPU, mixed_precision="auto" is bf16 where /proc/cpuinfo lists AMX's amx_bf16 (read
    here without the package), else fp32; the record and the card say which."""
    if torch.cuda.is_available():
        expected = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    else:
        with open("/proc/cpuinfo") as f:
            expected = "bf16" if any(line.startswith("flags") and "amx_bf16" in line.split() for line in f) else "fp32"
    assert topic_fit.settings["mixed_precision"] == "auto" and topic_fit.settings["arithmetic"] == expected
    card = (topic_fit.bundle_path / "model_card.md").read_text()
    assert f", {expected} arithmetic (mixed_precision 'auto')" in card


def test_auto_strategy_trains_on_pairs_for_few_texts_and_says_so(examples, tmp_path):
    fit = fit_text_model(examples.head(80), "answer", "topic", epochs=1, max_length=16, progress=False,
                         n_resamples=50, baseline=False, export="fp32", output_dir=tmp_path / "m")
    assert (fit.settings["strategy"], fit.settings["strategy_requested"]) == ("contrastive", "auto")
    card = (fit.bundle_path / "model_card.md").read_text()
    assert f"strategy contrastive (chosen by strategy 'auto': {AUTO_RULE})" in card


def test_predictions_are_the_bundles_scores(topic_fit, examples):
    scored = predict_scores(topic_fit, examples, text="answer")
    np.testing.assert_allclose(scored.filter(like="prob_").to_numpy(),
                               topic_fit.predictions.filter(like="prob_").to_numpy(), atol=1e-6)


def test_regression_result(stress_fit, examples):
    assert stress_fit.task == "regression" and stress_fit.labels is None
    assert stress_fit.bundle_path.name.startswith("pytext_psych_model_")
    assert list(stress_fit.predictions.columns) == ["row", "split", "observed", "predicted",
                                                    "baseline_tfidf", "baseline_embeddings"]
    assert (stress_fit.predictions.observed == examples.stress).all()


def test_bundle_contents(topic_fit):
    files = {p.name for p in Path(topic_fit.bundle_path).rglob("*") if p.is_file()}
    assert {"bundle.json", "model.onnx", "model_int8.onnx", "model.safetensors", "config.json",
            "tokenizer.json"} <= files
    assert not any(f.endswith((".pkl", ".bin", ".pt", ".pickle")) for f in files)
    meta = json.loads((topic_fit.bundle_path / "bundle.json").read_text())
    assert meta["format_version"] == 2 and meta["task"] == "classification"
    assert meta["labels"] == topic_fit.labels
    assert meta["max_length"] == 32 and meta["training"]["learning_rate"] == 1e-4
    manifest = meta["manifest"]
    assert {"torch", "transformers", "onnxruntime", "numpy"} <= set(manifest["versions"])
    assert manifest["seed"] == 42 and manifest["hardware"]["cores"] >= 1
    assert manifest["wall_seconds"] > 0 and manifest == topic_fit.manifest
    p = topic_fit.predictions
    for split in ("train", "dev", "test"):  # row ids, never texts
        assert manifest["rows"][split] == p.row[p.split == split].tolist()
    assert "answer" not in json.dumps(manifest["rows"])
    assert len(meta["metrics"]) == len(topic_fit.metrics)
    assert set(meta["files"]) == files - {"bundle.json"}
    assert all(len(h) == 64 for h in meta["files"].values())
    assert load_model(topic_fit.bundle_path).description.to_json() == meta


def test_regression_bundle_records_scaling(stress_fit, examples):
    (outcome,) = load_model(stress_fit.bundle_path).description.outcomes
    train = examples.stress[stress_fit.predictions.split.to_numpy() == "train"]
    assert outcome.target_mean == pytest.approx(train.mean())
    assert outcome.target_sd == pytest.approx(train.std(ddof=0))


@pytest.mark.parametrize("name", ["tfidf", "embeddings"])
def test_baselines_and_comparisons_on_the_same_cases(stress_fit, name):
    test = stress_fit.evaluated
    assert list(stress_fit.baseline_metrics.columns) == ["baseline", *COLUMNS]
    base = stress_fit.baseline_metrics.query("baseline == @name").set_index("metric")
    assert base.loc["pearson_r", "estimate"] == pytest.approx(
        np.corrcoef(test.observed, test[f"baseline_{name}"])[0, 1])
    assert base.loc["pearson_r", "estimate"] > 0.4  # the baselines learn too
    comparison = stress_fit.comparison.query("baseline == @name").set_index("metric")
    model = stress_fit.metrics.set_index("metric")
    assert comparison.loc["pearson_r", "estimate"] == pytest.approx(
        model.loc["pearson_r", "estimate"] - base.loc["pearson_r", "estimate"])
    # the p value agrees with the interval: the CI excludes 0 exactly when p < 1 - level
    again = compare_models(stress_fit, n_resamples=999, seed=3)
    excludes = (again.conf_low > 0) | (again.conf_high < 0)
    assert (excludes == (again.p_value < 1 - again.ci_level)).all()
    assert compare_models(stress_fit, stress_fit).estimate.eq(0).all()
    # learning happened: the fine-tuned model is far above chance and near the baseline
    assert model.loc["pearson_r", "estimate"] > 0.5


def test_compare_models_refuses_different_cases(stress_fit, topic_fit):
    with pytest.raises(ValueError, match="not evaluated on the same cases"):
        compare_models(stress_fit, topic_fit)


def test_agreement_tables(topic_fit, stress_fit):
    assert topic_fit.agreement.metric.tolist() == ["cohen_kappa"]
    kappa = topic_fit.agreement.estimate[0]
    assert kappa == pytest.approx(topic_fit.metrics.set_index("metric").loc["cohen_kappa", "estimate"])
    # stress is a 1-9 rating: ICC plus weighted kappa of the rounded predictions
    assert stress_fit.agreement.metric.tolist() == ["icc_2_1", "kappa_linear", "kappa_quadratic"]


@pytest.mark.parametrize("which", ["topic_fit", "stress_fit"])
def test_conformal_coverage_on_held_out_texts(which, request, examples):
    """Calibrated on dev (n = 50), checked on the 100 test texts the model never saw."""
    fit = request.getfixturevalue(which)
    test = fit.evaluated
    scored = predict_scores(fit, examples.loc[test.row], text="answer", interval=0.8)
    if fit.task == "regression":
        covered = (scored.lower <= test.observed.to_numpy()) & (test.observed.to_numpy() <= scored.upper)
        ceiling = 0.97
    else:
        covered = [o in s.split("; ") for o, s in zip(test.observed, scored.prediction_set)]
        # a set always holds the top class, so coverage is at least the accuracy (which
        # can be 1 on these topics)
        ceiling = max(0.97, np.mean(scored.predicted.to_numpy() == test.observed.to_numpy()))
    # 80% target; with 50 calibration and 100 test cases, binomial noise is about +/- .06 each
    assert 0.65 <= np.mean(covered) <= ceiling
    with pytest.raises(ValueError, match="at least 99 calibration"):
        predict_scores(fit, ["a text"], interval=0.99)


def test_from_bundle_report_and_plot(stress_fit, tmp_path):
    again = TextModelFit.from_bundle(stress_fit.bundle_path)
    pd.testing.assert_frame_equal(again.metrics, stress_fit.metrics)
    pd.testing.assert_frame_equal(again.comparison, stress_fit.comparison)
    report = stress_fit.report()
    assert str(again.report()) == str(report)
    r = stress_fit.metrics.set_index("metric").loc["pearson_r"]
    assert f"r = {r.estimate:.2f}".replace("0.", ".") in report.text
    assert "TF-IDF baseline" in report.text and "paired difference" in report.text
    assert "| Metric" in report.to_markdown() and "<table" in report.to_html()
    assert "\\begin{tabular}" in report.to_latex()
    path = again.plot(tmp_path / "fig.png")
    assert path.stat().st_size > 20_000


def test_classification_plot(topic_fit, tmp_path):
    assert topic_fit.plot(tmp_path / "topic.pdf").read_bytes().startswith(b"%PDF")


def test_grouped_cross_validation(examples, tmp_path):
    """cv=2 with participants of 2 texts each: folds keep participants whole, every text is
    predicted out-of-fold, and the bundle holds a refit on all rows."""
    df = examples.head(160).assign(participant=lambda d: d.id // 2)
    fit = fit_text_model(df, text="answer", outcome="topic", cv=2, group="participant",
                         max_length=32, epochs=2, learning_rate=1e-4, progress=False,
                         n_resamples=200, export="fp32", output_dir=tmp_path / "cv", strategy="full")
    p = fit.predictions
    assert (p.split == "test").all() and set(p.fold) == {1, 2}
    assert p.groupby(df.participant.to_numpy()).fold.nunique().max() == 1
    assert fit.metrics.n.unique().tolist() == [160] and len(fit.baseline_metrics)
    assert fit.history.run.unique().tolist() == ["fold 1", "fold 2", "final (all rows)"]
    final = fit.history[fit.history.run == "final (all rows)"]
    assert len(final) == fit.best_epoch and final.dev_metric.isna().all()
    assert sorted(fit.manifest["rows"]) == ["fold_1", "fold_2"]
    assert "2-fold cross-validation" in repr(fit)
    assert "2-fold cross-validated" in fit.report().text
    # out-of-fold accuracy well above chance (5 classes: .2), after two short epochs
    assert fit.metrics.set_index("metric").loc["accuracy", "estimate"] > 0.4
    scored = predict_scores(fit, ["My boss called a meeting about money"], interval=0.9)
    assert "prediction_set" in scored
    again = TextModelFit.from_bundle(fit.bundle_path)
    assert again.predictions.fold.tolist() == p.fold.tolist()


def test_cv_and_group_errors(examples):
    with pytest.raises(ValueError, match="group column 'who' has 1 missing"):
        fit_text_model(examples.assign(who=[None] + [1] * 399), text="answer", outcome="topic",
                       group="who")
    with pytest.raises(ValueError, match="cv=3 needs at least 3 groups"):
        fit_text_model(examples.assign(who=examples.id % 2), text="answer", outcome="topic",
                       cv=3, group="who")


SMALL = dict(max_length=24, epochs=2, progress=False, n_resamples=100, export="fp32")


def test_tune_text_model_picks_on_dev_and_reuses_the_winner(examples, tmp_path):
    df = examples.head(160)
    # without the linear-probe warm start, so that learning rate 1e-7 cannot learn the topics
    fit = tune_text_model(df, "answer", "topic", learning_rate=[1e-7, 2e-4], strategy=["full"],
                          output_dir=tmp_path / "tuned", linear_probe=False, **SMALL)
    t = fit.trials
    assert list(t.columns) == ["trial", "learning_rate", "strategy", "dev_f1_macro", "best_epoch",
                               "epochs_run", "seconds", "chosen"]
    assert t.chosen.sum() == 1 and t.loc[t.chosen, "learning_rate"].item() == 2e-4
    assert t.loc[t.chosen, "dev_f1_macro"].item() == t.dev_f1_macro.max()
    assert fit.settings["learning_rate"] == 2e-4
    # the returned fit is the winning trial itself (not trained again): same dev curve
    assert fit.history.dev_metric.max() == t.dev_f1_macro.max()
    assert fit.history.seconds.sum() < t.loc[t.chosen, "seconds"].item()  # reused, not rerun
    refit = fit_text_model(df, "answer", "topic", learning_rate=2e-4, output_dir=tmp_path / "again",
                           linear_probe=False, strategy="full", **SMALL)
    assert refit.history.dev_metric.tolist() == fit.history.dev_metric.tolist()


def test_tune_text_model_errors(examples):
    with pytest.raises(ValueError, match="does not combine with cv"):
        tune_text_model(examples, "answer", "topic", cv=3)
    with pytest.raises(TypeError, match="unexpected argument.*learning_rates"):
        tune_text_model(examples, "answer", "topic", learning_rates=[1e-5])
    with pytest.raises(ValueError, match="run pretrain_domain"):
        tune_text_model(examples, "answer", "topic", domain_texts="answer")


def test_domain_texts_from_a_column_leave_the_test_texts_out(examples, tmp_path):
    df = examples.head(120)
    fit = fit_text_model(df, "answer", "topic", domain_texts="answer", output_dir=tmp_path / "d",
                         **dict(SMALL, epochs=1, strategy="full"))
    n_test = (fit.predictions.split == "test").sum()
    assert fit.settings["domain_pretraining"]["n_texts"] == len(df) - n_test
    assert "domain-adaptive" in fit.settings["base_model"]
    assert "domain-adaptive" in load_model(fit.bundle_path).description.base_model
    with pytest.raises(ValueError, match="with cv every row is a test text"):
        fit_text_model(df, "answer", "topic", domain_texts="answer", cv=2)
    with pytest.raises(ValueError, match="neither a column of the data nor a text file"):
        fit_text_model(df, "answer", "topic", domain_texts="answers.txt")
