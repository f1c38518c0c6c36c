"""fit_text_model's result object and the bundle it writes."""

import json
from pathlib import Path

import numpy as np
import pytest

from pytext_psych import load_model, predict_scores
from pytext_psych.stats import COLUMNS


def test_fit_result(topic_fit, examples):
    assert topic_fit.task == "classification"
    assert topic_fit.labels == ["family", "health", "money", "social", "work"]
    assert list(topic_fit.metrics.columns) == COLUMNS
    p = topic_fit.predictions
    assert list(p.columns) == ["row", "split", "observed", "predicted"] + [
        f"prob_{c}" for c in topic_fit.labels]
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


def test_predictions_are_the_bundles_scores(topic_fit, examples):
    scored = predict_scores(topic_fit, examples, text="answer")
    np.testing.assert_allclose(scored.filter(like="prob_").to_numpy(),
                               topic_fit.predictions.filter(like="prob_").to_numpy(), atol=1e-6)


def test_regression_result(stress_fit, examples):
    assert stress_fit.task == "regression" and stress_fit.labels is None
    assert stress_fit.bundle_path.name.startswith("pytext_psych_model_")
    assert list(stress_fit.predictions.columns) == ["row", "split", "observed", "predicted"]
    assert (stress_fit.predictions.observed == examples.stress).all()


def test_bundle_contents(topic_fit):
    files = {p.name for p in Path(topic_fit.bundle_path).rglob("*") if p.is_file()}
    assert {"bundle.json", "model.onnx", "model_int8.onnx", "model.safetensors", "config.json",
            "tokenizer.json"} <= files
    assert not any(f.endswith((".pkl", ".bin", ".pt", ".pickle")) for f in files)
    meta = json.loads((topic_fit.bundle_path / "bundle.json").read_text())
    assert meta["format_version"] == 1 and meta["task"] == "classification"
    assert meta["labels"] == topic_fit.labels
    assert meta["max_length"] == 32 and meta["training"]["learning_rate"] == 1e-4
    assert {"torch", "transformers", "onnxruntime", "numpy"} <= set(meta["versions"])
    assert len(meta["metrics"]) == len(topic_fit.metrics)
    assert set(meta["files"]) == files - {"bundle.json"}
    assert all(len(h) == 64 for h in meta["files"].values())
    assert load_model(topic_fit.bundle_path).meta == meta


def test_regression_bundle_records_scaling(stress_fit, examples):
    meta = load_model(stress_fit.bundle_path).meta
    train = examples.stress[stress_fit.predictions.split.to_numpy() == "train"]
    assert meta["target_mean"] == pytest.approx(train.mean())
    assert meta["target_sd"] == pytest.approx(train.std(ddof=0))
