"""PyTorch -> ONNX export of a fine-tuned model.

The graph takes ``input_ids``, ``attention_mask`` (and ``token_type_ids`` where the model
has them) with dynamic batch and sequence axes, and returns the raw head outputs
(``logits``); softmax and target rescaling happen at scoring time from bundle.json.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from .bundle import ONNX_MODEL

OPSET = 17


def export_onnx(net, tokenizer, folder: Path) -> Path:
    """Write ``folder / model.onnx`` for ``net`` (a transformers sequence model).

    Uses torch's TorchScript-based exporter (``dynamo=False``): on these BERT-family
    encoders it is several times faster than the dynamo exporter, gives the same outputs
    (both checked to < 1e-7 against PyTorch), and emits the graph pattern that
    onnxruntime's transformer optimiser fuses.
    """
    net = net.to("cpu").eval()
    sample = tokenizer(["a short example", "a slightly longer example text"], padding=True,
                       return_tensors="pt")
    names = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in sample]
    axes = {k: {0: "batch", 1: "sequence"} for k in names}
    axes["logits"] = {0: "batch"}
    path = folder / ONNX_MODEL
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TorchScript tracer chatter about shape asserts
        torch.onnx.export(
            net,
            (),
            str(path),
            input_names=names,
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=OPSET,
            kwargs={k: sample[k] for k in names},
            dynamo=False,
        )
    return path
