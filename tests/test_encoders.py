"""The encoder with mean pooling: the head reads the masked mean of the top layer (checked
against plain transformers), whatever the batch-mates."""

import numpy as np
import torch

from pytext_psych import example_data
from pytext_psych.encoders import load_base

from test_probe import reference_features


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
