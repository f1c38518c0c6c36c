"""strategy="freeze" trains the top layers from the frozen layers' stored outputs: the same
numbers as running the whole network, for the default encoder and the base-size one."""

import numpy as np
import pytest
import torch
from transformers import DataCollatorWithPadding

from pytext_psych.training.encoders import load_base
from pytext_psych.training.frozen import FrozenOutputs, top_only
from pytext_psych.training.nets import TokenCache

TEXTS = ["I worry about my job and the rent", "a calm week",
         "Everything is awful: the news, my health, my family, and the exams next month"] * 3


@pytest.mark.parametrize("model, frozen", [("default", 3), ("default", 5), ("mpnet-base", 8)])
def test_the_top_layers_from_stored_outputs_give_the_whole_networks_outputs(model, frozen):
    tokenizer, net = load_base(model, "regression", None, pooling="mean")
    net.eval()
    encoded = TokenCache().encode(tokenizer, TEXTS, 64)
    collate = DataCollatorWithPadding(tokenizer, return_tensors="pt")
    with torch.inference_mode():
        whole = net(**collate(encoded)).logits
    rows = np.arange(len(TEXTS))
    stored = FrozenOutputs(net, encoded, collate, frozen, rows)
    with torch.inference_mode(), top_only(net, frozen):
        top = net(**stored.batch(rows[::-1])).logits.flip(0)  # any order, any batch-mates
    torch.testing.assert_close(top, whole, atol=1e-5, rtol=1e-5)
    with torch.inference_mode():  # whole again after the block
        torch.testing.assert_close(net(**collate(encoded)).logits, whole)
    assert len(stored.states[2]) == len(encoded[2]["input_ids"])  # stored without padding
