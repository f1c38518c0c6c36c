"""The baselines (pytext_psych/baseline.py): the R package text's embeddings, checked
against the encoder layer itself; the fitted baselines are checked in test_fit.py."""

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from pytext_psych.baseline import fit_named
from pytext_psych.encoders import resolve_model, text_embeddings
from pytext_psych.stats import dev_scorer


def test_text_embeddings_are_the_second_to_last_layers_token_mean():
    texts = ["I worry about my job", "fine", "the rent is due and I have no money left at all"]
    got = text_embeddings("default", texts, max_length=8, batch_size=2)  # padded, truncated
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


def test_embedding_baseline_uses_the_features_and_tfidf_the_texts():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 5))
    y = x @ np.array([1.0, -1.0, 0.5, 0.0, 0.0]) + rng.normal(scale=0.1, size=60)
    split = np.array(["train"] * 40 + ["dev"] * 10 + ["test"] * 10)
    base = fit_named("embeddings", ["same text"] * 60, x, y, split, "regression", None,
                     dev_scorer("regression"))
    assert np.corrcoef(base.predicted[split == "test"], y[split == "test"])[0, 1] > 0.95
    assert "text's textEmbed" in base.describe()
