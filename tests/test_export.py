"""ONNX export across encoder families: the optimised graph reproduces PyTorch exactly,
with and without the first-token shortcut in the top layer, and with mean pooling; its fp16
form to float16's precision."""

import numpy as np
import onnxruntime as ort
import pytest
import torch
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

from pytext_psych.training.encoders import pool_mean, resolve_model
from pytext_psych.training.export import _first_token_top_layer, export_onnx

TEXTS = ["I worry about my family.", "Rent went up again and again, every single month.", "ok"]


@pytest.mark.parametrize("model_type, pooling, shortcut", [
    ("bert", "cls", True), ("roberta", "cls", True), ("electra", "cls", True),
    ("distilbert", "cls", False), ("bert", "mean", False), ("roberta", "mean", False),
    ("distilbert", "mean", False),
])
def test_export_matches_pytorch(model_type, pooling, shortcut, tmp_path):
    """Tiny randomly initialised encoders (no download): fp32 ONNX equals PyTorch where
    the top layer is cut to the first token (head reads only that) and where it is not
    (DistilBERT; mean pooling, whose head reads every token)."""
    tokenizer = AutoTokenizer.from_pretrained(resolve_model("default"))
    sizes = dict(vocab_size=tokenizer.vocab_size, num_labels=3, pad_token_id=0)
    sizes.update(dict(dim=32, hidden_dim=64, n_layers=2, n_heads=2) if model_type == "distilbert"
                 else dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                           num_attention_heads=2, embedding_size=32))
    torch.manual_seed(0)
    net = AutoModelForSequenceClassification.from_config(
        AutoConfig.for_model(model_type, **sizes)).eval()
    if pooling == "mean":
        pool_mean(net)
    enc = tokenizer(TEXTS, padding=True, return_tensors="pt")
    inputs = {k: enc[k] for k in ("input_ids", "attention_mask")}
    with torch.no_grad():
        full = net(**inputs, output_hidden_states=True)
        with _first_token_top_layer(net):
            cut = net(**inputs, output_hidden_states=True)
    assert cut.hidden_states[-1].shape[1] == (1 if shortcut else enc["input_ids"].shape[1])
    torch.testing.assert_close(cut.logits, full.logits)
    alone = tokenizer(TEXTS[-1:], return_tensors="pt")  # padding ignored, mean pooling included
    with torch.no_grad():
        own = net(**{k: alone[k] for k in inputs}).logits
    torch.testing.assert_close(own[0], full.logits[-1], atol=1e-5, rtol=1e-5)
    expected = full.logits.numpy()
    files = export_onnx(net, tokenizer, tmp_path, precisions=("fp32", "fp16"))["files"]
    for precision, atol in (("fp32", 1e-5), ("fp16", 1e-2)):  # fp16: weights and activations in float16
        session = ort.InferenceSession(str(tmp_path / files[precision]))
        feed = {i.name: enc[i.name].numpy() for i in session.get_inputs()}
        np.testing.assert_allclose(session.run(None, feed)[0], expected, atol=atol)
