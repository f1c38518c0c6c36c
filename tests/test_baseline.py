"""The baselines (pytext_psych/baseline.py): the R package text's embeddings, checked
against the encoder layer itself; the fitted baselines are checked in test_fit.py."""

import json

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from pytext_psych.evaluation.baseline import fit_named
from pytext_psych.stats import dev_scorer
from pytext_psych.training.encoders import resolve_model, text_embeddings


def test_text_embeddings_are_the_second_to_last_layers_token_mean():
    texts = ["I worry about my job", "fine", "the rent is due and I have no money left at all"]
    got = text_embeddings("default", texts, max_length=8, stride=None, batch_size=2)  # padded, truncated
    name = resolve_model("default")
    tokenizer, net = AutoTokenizer.from_pretrained(name), AutoModel.from_pretrained(name).eval()
    layer = net.encoder.layer[net.config.num_hidden_layers - 2]  # textEmbed's layers = -2
    seen = []
    layer.register_forward_hook(lambda module, args, out: seen.append(out[0] if isinstance(out, tuple) else out))
    for i, text in enumerate(texts):  # one text at a time: no padding at all
        with torch.inference_mode():
            net(**tokenizer(text, truncation=True, max_length=8, return_tensors="pt"))
        want = seen[-1][0].mean(0).numpy()  # every token, [CLS] and [SEP] included
        np.testing.assert_allclose(got[i], want, atol=1e-5)


def test_a_long_texts_embedding_is_the_mean_of_its_windows_embeddings():
    """Windows of 8 tokens every 3 (see test_windows.py), each embedded alone."""
    text = "the rent is due and I have no money left at all this month"
    name = resolve_model("default")
    tokenizer, net = AutoTokenizer.from_pretrained(name), AutoModel.from_pretrained(name).eval()
    ids = tokenizer(text)["input_ids"]
    starts = [0, 3, 6, len(ids) - 2 - 6]  # 14 text tokens, 6 a window
    with torch.inference_mode():
        each = [net(input_ids=torch.tensor([[ids[0], *ids[1:-1][s : s + 6], ids[-1]]]),
                    output_hidden_states=True).hidden_states[-2][0].mean(0).numpy() for s in starts]
    got = text_embeddings("default", [text, "fine"], max_length=8, stride=3)
    np.testing.assert_allclose(got[0], np.mean(each, axis=0), atol=1e-5)


def test_embeddings_follow_the_fits_arithmetic():
    """mixed_precision="bf16": the encoder's products run in bf16 (the embeddings move, by
    about bf16's rounding) and come back as fp32."""
    texts = ["I worry about my job", "fine", "the rent is due and I have no money left at all"]
    fp32 = text_embeddings("default", texts, max_length=16, stride=None)
    bf16 = text_embeddings("default", texts, max_length=16, stride=None, mixed_precision="bf16")
    assert bf16.dtype == np.float32 and not np.array_equal(fp32, bf16)
    cosine = (fp32 * bf16).sum(1) / np.linalg.norm(fp32, axis=1) / np.linalg.norm(bf16, axis=1)
    assert cosine.min() > 0.99


def test_embedding_baseline_uses_the_features_and_tfidf_the_texts():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 5))
    y = x @ np.array([1.0, -1.0, 0.5, 0.0, 0.0]) + rng.normal(scale=0.1, size=60)
    split = np.array(["train"] * 40 + ["dev"] * 10 + ["test"] * 10)
    base = fit_named("embeddings", ["same text"] * 60, x, y, split, "regression", None,
                     dev_scorer("regression"))
    assert np.corrcoef(base.predicted[split == "test"], y[split == "test"])[0, 1] > 0.95
    assert "text's textEmbed" in base.describe()


def test_baseline_model_makes_the_embeddings_from_another_encoder(tmp_path):
    """baseline_model="mpnet-base": the fit's embeddings baseline is the same ridge, refitted
    here on mpnet's embeddings of the same texts and split, while MiniLM is fine-tuned."""
    from pytext_psych import example_data, fit_text_model

    df = example_data().head(160)
    fit = fit_text_model(df, "answer", "stress", baseline_model="mpnet-base", max_length=32, epochs=1,
                         strategy="full", n_resamples=100, progress=False, output_dir=tmp_path / "b")
    p = fit.predictions
    embedded = text_embeddings("mpnet-base", df["answer"].tolist(), max_length=32, stride=15,
                               mixed_precision="auto")  # the fit's windows and arithmetic
    base = fit_named("embeddings", df["answer"].tolist(), embedded, p["observed"].to_numpy(),
                     p["split"].to_numpy(), "regression", None, dev_scorer("regression"))
    np.testing.assert_allclose(p["baseline_embeddings"], base.predicted, rtol=1e-5, atol=1e-6)
    meta = json.loads((fit.bundle_path / "bundle.json").read_text())
    assert "encoder mpnet-base" in meta["evaluation"]["baseline"]["embeddings"]
