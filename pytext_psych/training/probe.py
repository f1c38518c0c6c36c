"""Linear probing before fine-tuning (LP-FT; Kumar et al., 2022, "Fine-tuning can distort
pretrained features and underperform out-of-distribution"): the fresh head is first set to
the penalised linear model that best predicts the outcome from the frozen encoder's
features, and only then does the whole network train. A random head sends large, noisy
gradients into the pretrained body in the first steps; a fitted one starts fine-tuning
from the frozen-embedding model's accuracy, which matters most when labels are few.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Sequence

import numpy as np
import torch

from ..evaluation.baseline import fit_penalised
from ..stats import dev_scorer
from .nets import predict_torch


def final_linear(net) -> torch.nn.Linear:
    """The head's last linear layer: the one whose outputs are the logits."""
    width = net.config.num_labels
    found = [m for name, m in net.named_modules() if isinstance(m, torch.nn.Linear)
             and m.out_features == width and not name.startswith(net.base_model_prefix)]
    if not found:
        raise ValueError("cannot find the head's output layer of this model")
    return found[-1]


def head_inputs(net, encoded: list[dict], collate, batch_size: int = 64, autocast=nullcontext) -> np.ndarray:
    """What the output layer reads for each text, from the network as it is (eval mode),
    under ``autocast()`` (the fit's)."""
    seen: list = []
    handle = final_linear(net).register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    try:
        order = np.argsort([-len(e["input_ids"]) for e in encoded], kind="stable")
        predict_torch(net, [encoded[i] for i in order], collate, batch_size, autocast)
    finally:
        handle.remove()
    features = torch.cat(seen).float().cpu().numpy()
    out = np.empty_like(features)
    out[order] = features
    return out


def warm_start(net, encoded: list[dict], collate, targets: np.ndarray, split: np.ndarray, task: str,
               sizes: Sequence[int], autocast=nullcontext) -> None:
    """Set the output layer to the penalised linear model (ridge for ratings, logistic
    regression for classes; penalty chosen on dev) fitted on the frozen features of the
    train rows, computed under ``autocast()`` (the fit's); ``sizes``: each outcome's block
    of outputs."""
    rows = np.flatnonzero(np.isin(split, ("train", "dev")))
    x = np.zeros((len(split), final_linear(net).in_features), dtype=np.float32)
    x[rows] = head_inputs(net, [encoded[i] for i in rows], collate, autocast=autocast)
    y = targets if targets.ndim == 2 else targets[:, None]
    weight, bias = [], []
    for j, k in enumerate(sizes):
        fitted = fit_penalised(x, y[:, j], split, task, k, dev_scorer(task)).linear
        coef, intercept = np.atleast_2d(fitted.coef_), np.atleast_1d(fitted.intercept_)
        if task == "classification":
            coef, intercept = _per_class(fitted, coef, intercept, k)
        weight.append(coef)
        bias.append(intercept)
    layer = final_linear(net)
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(np.concatenate(weight), dtype=layer.weight.dtype))
        layer.bias.copy_(torch.as_tensor(np.concatenate(bias), dtype=layer.bias.dtype))


def _per_class(fitted, coef: np.ndarray, intercept: np.ndarray, k: int):
    """A row of weights for each of the ``k`` classes (softmax logits); a binary model's one
    row becomes (0, w); classes missing from the train rows get a logit that never wins."""
    if len(fitted.classes_) == 2:
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.array([0.0, intercept[0]])
    full, shift = np.zeros((k, coef.shape[1])), np.full(k, -1e4)
    full[fitted.classes_], shift[fitted.classes_] = coef, intercept
    return full, shift
