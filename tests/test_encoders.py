"""The encoder with mean pooling: the head reads the masked mean of the top layer (checked
against plain transformers), whatever the batch-mates; a saved model reloads with it. Whether
the Hub can be reached is asked of real sockets, before a name is looked up online."""

import socket
import time

import numpy as np
import pytest
import torch
from huggingface_hub import constants
from test_probe import reference_features

from pytext_psych import example_data
from pytext_psych.training.encoders import check_model, hub_reachable, load_base, load_torch_model


def test_mean_pooling_reads_the_masked_mean_whatever_the_batch():
    tokenizer, net = load_base("default", "regression", None, pooling="mean")
    seen = []
    net.classifier.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    texts = example_data().answer.tolist()[:6]
    net.eval()
    with torch.no_grad():
        for batch in (texts, texts[:1], [texts[0], "a much longer answer " * 10]):
            net(**tokenizer(batch, truncation=True, max_length=32, padding=True, return_tensors="pt"))
    np.testing.assert_allclose(seen[0].numpy(), reference_features(texts), atol=1e-5)
    np.testing.assert_allclose(seen[1][0].numpy(), seen[2][0].numpy(), atol=1e-5)  # padding ignored
    assert net.config.pooling == "mean"


def test_saved_model_reloads_with_its_pooling(tmp_path):
    """load_torch_model restores the mean pooling that plain transformers would drop."""
    from transformers import AutoModelForSequenceClassification

    tokenizer, net = load_base("default", "regression", None, pooling="mean")
    net.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    batch = tokenizer(example_data().answer.tolist()[:4], padding=True, return_tensors="pt")
    with torch.no_grad():
        trained = net.eval()(**batch).logits
        again = load_torch_model(tmp_path)[1](**batch).logits
        plain = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()(**batch).logits
    np.testing.assert_allclose(again.numpy(), trained.numpy(), atol=1e-6)
    assert np.abs(plain.numpy() - trained.numpy()).max() > 1e-3  # the pooling is what differs


def test_hub_reachable_asks_a_real_socket(monkeypatch):
    with socket.create_server(("127.0.0.1", 0)) as listening:  # a host that takes connections
        monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{listening.getsockname()[1]}")
        assert hub_reachable()
    assert not hub_reachable()  # closed now: the connection is refused
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    assert hub_reachable()  # behind a proxy only a download can tell
    monkeypatch.delenv("HTTPS_PROXY")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert not hub_reachable()


def test_a_name_that_is_not_here_fails_at_once_offline(monkeypatch):
    """Without a connection the name is looked up in the local cache only: the error comes
    at once, not after huggingface_hub's five retries (about 25 s)."""
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{port}")
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"nor reachable on the Hub \(no connection to it from here\)"):
        check_model("no-such-owner/no-such-model", 32)
    assert time.perf_counter() - start < 5


def test_a_tiny_mpnet_fit_exports_and_scores_without_torch(tmp_path, examples):
    """model="mpnet-base" (12 layers, 768 wide, assembled from its packages) through the
    whole path: fine-tune, ONNX fp32 + int8 with parity, torch-free scoring; the bundle
    records the encoder's revision and the publisher's weights digest."""
    import json
    import subprocess
    import sys

    from pytext_psych import fit_text_model, load_model, predict_scores
    from pytext_psych.core.catalog import known_model

    out = tmp_path / "bundle"
    fit_text_model(examples.head(120), "answer", "stress", model="mpnet-base", max_length=32, epochs=1,
                         strategy="full", baseline=False, n_resamples=100, progress=False, output_dir=out)
    meta = json.loads((out / "bundle.json").read_text())
    mpnet = known_model("mpnet-base")
    assert meta["encoder"]["revision"] == mpnet.revision
    assert meta["encoder"]["weights_sha256"] == mpnet.weights.sha256
    assert mpnet.weights.sha256 in (out / "model_card.md").read_text()
    assert {"fp32", "int8"} <= set(meta["parity"])  # both precisions exported, each with its parity
    assert meta["onnx"]["int8"]["recipe"] != "full"  # MPNet starts with smoothing (export.SMOOTHED_FIRST)
    code = ("import sys\nfrom pytext_psych import load_model, predict_scores\n"
            f"m = load_model({str(out)!r})\n"
            "s = predict_scores(m, ['I cannot sleep before exams', 'a calm week'])\n"
            "assert 'torch' not in sys.modules\n"
            "print(' '.join(f'{v:.6f}' for v in s['predicted']))\n")
    scored = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    mine = predict_scores(load_model(out), ["I cannot sleep before exams", "a calm week"])["predicted"]
    assert [float(v) for v in scored.stdout.split()] == pytest.approx(list(mine), abs=1e-5)
