"""Scoring with onnxruntime: parity with PyTorch, input handling, order, torch-free import."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from pytext_psych import TextModel, fit_text_model, load_model, predict_scores, write_scores
from pytext_psych.core.description import Description, Outcome
from pytext_psych.scoring.infer import _providers

TEXTS = [
    "My manager keeps adding deadlines and I cannot sleep.",
    "Rent went up again.",
    "I moved to a new city and feel lonely at the weekends, which is hard because I used "
    "to see friends every day and now there is nobody around to talk to.",
    "ok",
]


@pytest.mark.parametrize("name", ["topic_fit", "stress_fit"])
def test_onnx_matches_pytorch(name, request):
    """The optimised fp32 graph reproduces the fine-tuned PyTorch model (reloaded from the
    bundle and tokenised separately, by transformers, truncating: the bundle read as if it
    truncated too; its windows are checked in test_windows.py); int8 stays close and its
    parity report is filled in."""
    import torch

    from pytext_psych import load_torch_model

    fit = request.getfixturevalue(name)
    bundle = load_model(fit.bundle_path)
    model = TextModel(bundle.path, bundle.description.but(stride=None))
    tok, net = load_torch_model(fit.bundle_path)
    with torch.no_grad():
        enc = tok(TEXTS, padding=True, truncation=True, max_length=model.description.max_length,
                  return_tensors="pt")
        torch_out = net(**enc).logits.numpy()
    assert np.abs(model.raw_outputs(TEXTS, precision="fp32") - torch_out).max() < 1e-4
    int8 = model.raw_outputs(TEXTS, precision="int8")
    assert np.abs(int8 - torch_out).max() < 0.5
    # what bundle.json says was fused is what the graph holds (counts depend on the
    # onnxruntime version, so the record is checked, not the library's numbers)
    import onnx

    graph = onnx.load(str(fit.bundle_path / "model.onnx")).graph
    ops = [node.op_type for node in graph.node]
    assert model.description.onnx["fused"] and all(
        ops.count(op) == n for op, n in model.description.onnx["fused"].items())
    parity = model.description.parity
    assert parity["split"] == "dev" and parity["n"] == 50 and parity["threshold"] == 0.01
    assert parity["fp32"]["max_abs_diff"] < 1e-4 and parity["fp32"]["recommended"]
    assert parity["int8"]["max_abs_diff"] > parity["fp32"]["max_abs_diff"]
    key = "agreement" if fit.task == "classification" else "score_correlation"
    assert parity["int8"][key] > 0.9
    assert parity["int8"]["delta_metric"] == pytest.approx(
        parity["int8"]["metric"] - parity["metric_pytorch"])


def _meta_with(files, int8_recommended):
    return Description(text="answer", outcomes=(Outcome("stress", "regression", (0, 1)),), max_length=32,
                       onnx={"files": files}, parity={"int8": {"recommended": int8_recommended}})


def test_precision_auto_follows_parity_report():
    both = {"fp32": "model.onnx", "int8": "model_int8.onnx"}
    assert TextModel(".", _meta_with(both, True)).resolve_precision() == "int8"
    assert TextModel(".", _meta_with(both, False)).resolve_precision() == "fp32"
    assert TextModel(".", _meta_with({"int8": "m"}, False)).resolve_precision() == "int8"
    assert TextModel(".", _meta_with(both, False)).resolve_precision("int8") == "int8"
    with pytest.raises(ValueError, match=r"no int8 model; it has \['fp32'\]"):
        TextModel(".", _meta_with({"fp32": "m"}, True)).resolve_precision("int8")
    with pytest.raises(ValueError, match="precision must be one of"):
        TextModel(".", _meta_with(both, True)).resolve_precision("bf16")
    with pytest.raises(ValueError, match=r"no fp16 model; it has \['fp32', 'int8'\]"):
        TextModel(".", _meta_with(both, True)).resolve_precision("fp16")


def test_precision_auto_takes_fp16_only_where_nothing_else_serves():
    """fp16 is for GPUs and asked for by name; "auto" keeps to int8 (recommended) or fp32."""
    every = {"fp32": "model.onnx", "int8": "model_int8.onnx", "fp16": "model_fp16.onnx"}
    assert TextModel(".", _meta_with(every, True)).resolve_precision() == "int8"
    assert TextModel(".", _meta_with(every, False)).resolve_precision() == "fp32"
    assert TextModel(".", _meta_with({"fp16": "m", "int8": "n"}, False)).resolve_precision() == "fp16"
    assert TextModel(".", _meta_with({"fp16": "m"}, False)).resolve_precision() == "fp16"
    assert TextModel(".", _meta_with(every, True)).resolve_precision("fp16") == "fp16"


def test_classification_frame(topic_fit):
    df = pd.DataFrame({"answer": TEXTS, "other": range(4)}, index=[10, 11, 12, 13])
    out = predict_scores(topic_fit, df, text="answer")
    labels = topic_fit.labels
    assert list(out.columns) == ["predicted"] + [f"prob_{c}" for c in labels] + ["unusual"]
    assert list(out.index) == [10, 11, 12, 13]
    probs = out[[f"prob_{c}" for c in labels]].to_numpy()
    assert np.allclose(probs.sum(1), 1) and (probs >= 0).all()
    assert list(out.predicted) == [labels[i] for i in probs.argmax(1)]
    assert out.predicted.iloc[0] == "work" and out.predicted.iloc[1] == "money"


def test_regression_frame_on_original_scale(stress_fit, examples):
    out = predict_scores(stress_fit.bundle_path, examples.answer)
    assert list(out.columns) == ["predicted", "unusual"]
    assert out.index.equals(examples.index)
    assert abs(out.predicted.mean() - examples.stress.mean()) < 1.0
    assert 1.5 < out.predicted.std() < 3


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_same_text_same_score(topic_fit, examples, precision):
    """500 texts (short ones, repeated ones, long ones read in windows) forward, reversed,
    shuffled, one at a time, on one thread, and in batches of equal length of every size
    (one window per call up to all windows of a length at once): bit-identical scores in
    every precision, int8 included (its activation scales are static)."""
    model = load_model(topic_fit.bundle_path)
    answers = examples.answer.tolist()
    long_texts = [" ".join(answers[i : i + 6]) for i in range(0, 60, 6)]  # beyond max_length: windows
    texts = (answers * 2)[:490] + long_texts
    assert max(len(model.tokenizer.encode(t).ids) for t in long_texts) > model.description.max_length
    kw = dict(precision=precision)
    forward = predict_scores(model, texts, **kw)
    order = np.random.default_rng(0).permutation(500)
    shuffled = predict_scores(model, [texts[i] for i in order], **kw)
    shuffled = shuffled.set_axis(order).sort_index()
    reversed_ = predict_scores(model, texts[::-1], **kw).iloc[::-1].reset_index(drop=True)
    one_by_one = pd.concat([predict_scores(model, [t], **kw) for t in texts], ignore_index=True)
    one_thread = predict_scores(str(topic_fit.bundle_path), tuple(texts), threads=1, **kw)
    for other in (shuffled, reversed_, one_by_one, one_thread):
        pd.testing.assert_frame_equal(forward, other, check_exact=True)
    alone = model.raw_outputs(texts, precision, batch_tokens=0)
    for tokens in (model.description.max_length * 3, 1000, 10**9):
        np.testing.assert_array_equal(model.raw_outputs(texts, precision, batch_tokens=tokens), alone)


def test_predict_scores_reproduces_fit_predictions(topic_fit, stress_fit, examples):
    """What the fit reports is exactly what scoring the same texts later gives."""
    for fit in (topic_fit, stress_fit):
        scored = predict_scores(fit, examples.loc[fit.predictions.row, "answer"].tolist(), check_shift=False)
        columns = list(scored.columns)
        np.testing.assert_array_equal(scored.to_numpy(), fit.predictions[columns].to_numpy())


def test_sessions_and_models_are_cached(topic_fit):
    model = load_model(topic_fit.bundle_path)
    predict_scores(model, TEXTS[:1])
    session = model.session()
    predict_scores(model, TEXTS[1:])
    assert model.session() is session
    from pytext_psych.scoring.infer import _as_model

    assert _as_model(str(topic_fit.bundle_path)) is _as_model(topic_fit)  # loaded once


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_files_are_streamed_in_chunks(topic_fit, examples, tmp_path, suffix):
    data = examples.head(45)
    path = tmp_path / f"in{suffix}"
    data.to_csv(path, index=False) if suffix == ".csv" else data.to_parquet(path)
    want = predict_scores(topic_fit, data, text="answer")
    got = predict_scores(topic_fit, path, text="answer", chunk_size=7, progress=False)
    assert list(got.columns) == ["id", "topic", "stress"] + list(want.columns)
    assert list(got.index) == list(range(45))
    pd.testing.assert_frame_equal(got[want.columns], want, check_exact=True)
    for out in (tmp_path / "out.csv", tmp_path / "out.parquet"):
        assert write_scores(topic_fit, path, out, text="answer", chunk_size=7) == out
        written = pd.read_csv(out) if out.suffix == ".csv" else pd.read_parquet(out)
        pd.testing.assert_frame_equal(written[want.columns], want.reset_index(drop=True), atol=1e-6)


def test_failed_stream_leaves_no_output(topic_fit, examples, tmp_path):
    data = examples.head(30).copy()
    data.loc[23, "answer"] = None
    data.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(ValueError, match=r"1 missing and 0 empty text\(s\) \(rows 23\)"):
        write_scores(topic_fit, tmp_path / "in.csv", tmp_path / "out.csv", text="answer", chunk_size=10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


@pytest.mark.skipif(
    "CUDAExecutionProvider" not in __import__("onnxruntime").get_available_providers(),
    reason="no CUDA execution provider (install onnxruntime-gpu on a machine with a GPU)",
)
def test_cuda_provider_is_used(topic_fit):
    model = load_model(topic_fit.bundle_path)
    cpu = predict_scores(topic_fit, TEXTS, precision="fp32")
    assert model.session("fp32").get_providers()[0] == "CUDAExecutionProvider"
    assert model.session("int8").get_providers() == ["CPUExecutionProvider"]
    gpu = predict_scores(model, TEXTS, precision="fp32")
    np.testing.assert_allclose(gpu.filter(like="prob_"), cpu.filter(like="prob_"), atol=1e-3)


def test_int8_runs_on_the_cpu_and_fp32_fp16_on_cuda_where_offered():
    both = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert _providers("fp32", both) == both
    assert _providers("fp16", both) == both
    assert _providers("int8", both) == ["CPUExecutionProvider"]
    assert _providers("fp32", ["AzureExecutionProvider", "CPUExecutionProvider"]) == ["CPUExecutionProvider"]


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
    with pytest.raises(FileNotFoundError, match="does not exist"):
        predict_scores(model, "missing.csv", text="answer")
    with pytest.raises(TypeError, match="bundle path, a TextModel or a TextModelFit"):
        predict_scores(42, TEXTS)


def test_repr(topic_fit):
    text = repr(load_model(topic_fit.bundle_path))
    assert text.startswith("<TextModel: classification into 5 classes")
    assert "ONNX fp32, int8" in text
    assert "f1_macro" in text and str(topic_fit.bundle_path) in text
    f1 = topic_fit.metrics.set_index("metric").loc["f1_macro"]
    assert f"= {f1.estimate:.3f} [{f1.conf_low:.3f}, {f1.conf_high:.3f}]" in text
    assert f"(auto uses {load_model(topic_fit.bundle_path).resolve_precision('auto')})" in text


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


def test_fp16_export_scores_like_fp32_and_batches_exactly(examples, tmp_path):
    """export="all": fp16 (for GPUs) beside fp32 and int8, half fp32's size, in the parity
    report and the batching check, and on this CPU scoring close to fp32 in any order."""
    fit = fit_text_model(examples.head(120), "answer", "stress", max_length=24, epochs=1, strategy="full",
                         progress=False, n_resamples=50, baseline=False, export="all", output_dir=tmp_path / "m")
    model = load_model(fit.bundle_path)
    onnx = model.description.onnx
    assert sorted(onnx["files"]) == ["fp16", "fp32", "int8"] and "fp16" in onnx["batch_invariant"]
    sizes = {p: (fit.bundle_path / f).stat().st_size for p, f in onnx["files"].items()}
    assert 0.4 < sizes["fp16"] / sizes["fp32"] < 0.6
    assert model.description.parity["fp16"]["score_correlation"] > 0.999
    assert model.resolve_precision("auto") in ("int8", "fp32")
    texts = examples.answer.tolist()
    fp16 = predict_scores(model, texts, precision="fp16").predicted.to_numpy()
    fp32 = predict_scores(model, texts, precision="fp32").predicted.to_numpy()
    np.testing.assert_allclose(fp16, fp32, atol=0.02)
    reordered = predict_scores(model, texts[::-1], precision="fp16").predicted.to_numpy()[::-1]
    np.testing.assert_array_equal(reordered, fp16)
