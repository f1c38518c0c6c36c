"""Scoring with onnxruntime: parity with PyTorch, input handling, order, torch-free import."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from pytext_psych import TextModel, load_model, predict_scores

TEXTS = [
    "My manager keeps adding deadlines and I cannot sleep.",
    "Rent went up again.",
    "I moved to a new city and feel lonely at the weekends, which is hard because I used "
    "to see friends every day and now there is nobody around to talk to.",
    "ok",
]


@pytest.mark.parametrize("name", ["topic_fit", "stress_fit"])
def test_onnx_matches_pytorch(name, request):
    """The exported graph reproduces the fine-tuned PyTorch model (tokenised separately)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    fit = request.getfixturevalue(name)
    model = load_model(fit.bundle_path)
    onnx_out = model.raw_outputs(TEXTS)
    tok = AutoTokenizer.from_pretrained(fit.bundle_path)
    net = AutoModelForSequenceClassification.from_pretrained(fit.bundle_path).eval()
    with torch.no_grad():
        enc = tok(TEXTS, padding=True, truncation=True, max_length=model.meta["max_length"],
                  return_tensors="pt")
        torch_out = net(**enc).logits.numpy()
    assert np.abs(onnx_out - torch_out).max() < 1e-4
    assert model.meta["onnx"]["max_abs_diff_vs_pytorch"] < 1e-4


def test_classification_frame(topic_fit):
    df = pd.DataFrame({"answer": TEXTS, "other": range(4)}, index=[10, 11, 12, 13])
    out = predict_scores(topic_fit, df, text="answer")
    labels = topic_fit.labels
    assert list(out.columns) == ["predicted"] + [f"prob_{c}" for c in labels]
    assert list(out.index) == [10, 11, 12, 13]
    probs = out[[f"prob_{c}" for c in labels]].to_numpy()
    assert np.allclose(probs.sum(1), 1) and (probs >= 0).all()
    assert list(out.predicted) == [labels[i] for i in probs.argmax(1)]
    assert out.predicted.iloc[0] == "work" and out.predicted.iloc[1] == "money"


def test_regression_frame_on_original_scale(stress_fit, examples):
    out = predict_scores(stress_fit.bundle_path, examples.answer)
    assert list(out.columns) == ["predicted"]
    assert out.index.equals(examples.index)
    assert abs(out.predicted.mean() - examples.stress.mean()) < 1.0
    assert 1.5 < out.predicted.std() < 3


def test_input_kinds_agree_and_order_is_kept(topic_fit):
    model = load_model(topic_fit.bundle_path)
    as_list = predict_scores(model, TEXTS)
    as_tuple = predict_scores(str(topic_fit.bundle_path), tuple(TEXTS))
    one_by_one = predict_scores(model, TEXTS, batch_size=1)
    reversed_ = predict_scores(model, TEXTS[::-1]).iloc[::-1].reset_index(drop=True)
    for other in (as_tuple, one_by_one, reversed_):
        pd.testing.assert_frame_equal(as_list, other, atol=1e-5)


def test_session_is_cached(topic_fit):
    model = load_model(topic_fit.bundle_path)
    predict_scores(model, TEXTS[:1])
    session = model.session
    predict_scores(model, TEXTS[1:])
    assert model.session is session


def test_bad_scoring_input(topic_fit):
    model = load_model(topic_fit.bundle_path)
    with pytest.raises(ValueError, match=r"1 missing and 1 empty text\(s\) \(rows 1, 2\)"):
        predict_scores(model, ["fine", None, " "])
    with pytest.raises(ValueError, match="name its text column"):
        predict_scores(model, pd.DataFrame({"answer": ["x"]}))
    with pytest.raises(ValueError, match="'text' not found.*'answer'"):
        predict_scores(model, pd.DataFrame({"answer": ["x"]}), text="text")
    with pytest.raises(TypeError, match="single string"):
        predict_scores(model, "just one text")
    with pytest.raises(TypeError, match="bundle path, a TextModel or a TextModelFit"):
        predict_scores(42, TEXTS)


def test_repr(topic_fit):
    text = repr(load_model(topic_fit.bundle_path))
    assert text.startswith("<TextModel: classification into 5 classes")
    assert "f1_macro" in text and str(topic_fit.bundle_path) in text
    assert isinstance(load_model(topic_fit.bundle_path), TextModel)


def test_scoring_does_not_import_torch(topic_fit):
    code = (
        "import sys\n"
        "from pytext_psych import load_model, predict_scores\n"
        f"out = predict_scores(load_model({str(topic_fit.bundle_path)!r}), ['rent is due'])\n"
        "assert len(out) == 1\n"
        "heavy = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
