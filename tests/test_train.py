"""Fine-tuning: learning happens, seeds reproduce, early stopping keeps the best epoch."""

import numpy as np
import pandas as pd
import pytest
import torch

from pytext_psych import fit_text_model
from pytext_psych.config import TrainConfig


def test_classification_learns(topic_fit):
    history = topic_fit.history
    assert history.train_loss.iloc[-1] < 0.7 * history.train_loss.iloc[0]
    f1 = topic_fit.metrics.set_index("metric").loc["f1_macro", "estimate"]
    assert f1 > 0.9


def test_regression_learns(stress_fit):
    history = stress_fit.history
    assert history.train_loss.iloc[-1] < 0.8 * history.train_loss.iloc[0]
    r = stress_fit.metrics.set_index("metric").loc["pearson_r"]
    assert r.estimate > 0.5 and r.conf_low > 0.3


def test_best_dev_epoch_is_kept(topic_fit, stress_fit):
    for fit in (topic_fit, stress_fit):
        h = fit.history
        assert list(h.columns) == ["epoch", "train_loss", "dev_metric", "seconds"]
        assert h.dev_metric[h.epoch == fit.best_epoch].item() == h.dev_metric.max()


@pytest.fixture(scope="module")
def tiny():
    df = pd.DataFrame({
        "text": ["the sun is warm", "cold rain again", "bright sunny day", "grey wet storm"] * 8,
        "mood": ["happy", "sad"] * 16,
    })
    return df


def _tiny_fit(df, tmp_path, name, **kw):
    return fit_text_model(df, text="text", outcome="mood", epochs=1, max_length=16,
                          output_dir=tmp_path / name, progress=False, n_resamples=50,
                          export="fp32", **kw)


def test_seed_reproduces_and_leaves_global_rng_alone(tiny, tmp_path):
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = _tiny_fit(tiny, tmp_path, "a", seed=7)
    assert torch.equal(torch.get_rng_state(), state)
    b = _tiny_fit(tiny, tmp_path, "b", seed=7)
    c = _tiny_fit(tiny, tmp_path, "c", seed=8)
    probs = [f.predictions.filter(like="prob_").to_numpy() for f in (a, b, c)]
    np.testing.assert_allclose(probs[0], probs[1], atol=1e-6)
    assert np.abs(probs[0] - probs[2]).max() > 1e-4
    assert not (a.bundle_path / "model_int8.onnx").exists()  # export="fp32"


def test_patience_stops_early(tiny, tmp_path):
    fit = fit_text_model(tiny, text="text", outcome="mood", epochs=6, patience=1,
                         learning_rate=1e-7, max_length=16, output_dir=tmp_path / "m",
                         progress=False, n_resamples=50)
    assert len(fit.history) < 6


def test_config_validation():
    TrainConfig(epochs=1, learning_rate=1e-5, batch_size=8, max_length=32, patience=1, seed=0)
    with pytest.raises(ValueError, match="batch_size=0, max_length=2"):
        TrainConfig(epochs=1, learning_rate=1e-5, batch_size=0, max_length=2, patience=1, seed=0)
