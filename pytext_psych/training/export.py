"""PyTorch -> optimised ONNX (fp32) -> dynamic int8, plus the parity report.

The graph takes ``input_ids``, ``attention_mask`` (and ``token_type_ids`` where the model
has them) with dynamic batch and sequence axes, and returns the raw head outputs
(``logits``); softmax and target rescaling happen at scoring time from bundle.json.

Why it is done this way (measured on MiniLM-L6, see benchmarks/results/scoring.md):

* The model is exported with *eager* attention and torch's TorchScript exporter
  (``dynamo=False``). Only that graph matches onnxruntime's transformer optimiser's
  patterns (EmbedLayerNormalization, fused Attention, SkipLayerNorm, BiasGelu); with
  transformers' default SDPA attention no attention is fused. The TorchScript exporter is
  also several times faster than the dynamo one and gives identical outputs. Which
  fusions happened is recorded in bundle.json (``onnx.fused``): pattern matching depends
  on the torch / transformers / onnxruntime versions (with torch 2.11, transformers 5.17
  and onnxruntime 1.30 no attention was fused), and a graph that lost its fusions scores
  correctly but slower.
* The top encoder layer is computed for the first token only after self-attention (see
  :func:`_first_token_top_layer`): +15% int8 texts/s, outputs unchanged.
* int8 is onnxruntime's dynamic quantisation of the optimised graph with *per-channel*
  weight scales: per-tensor scales cost MiniLM a visible share of its accuracy (output
  correlation with fp32 about .97 instead of .995 on RWWD texts).
"""

from __future__ import annotations

import copy
import logging
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ..core.description import Description
from ..evaluation.evaluate import outcomes_parity
from ..scoring.bundle import ONNX_FILES
from ..scoring.infer import TextModel
from .encoders import encoder_layers
from .nets import predict_texts, save_pretrained

OPSET = 17
# onnxruntime's optimiser knows these encoder families under the "bert" fusion patterns
_FUSABLE = {"bert": "bert", "roberta": "bert", "xlm-roberta": "bert", "electra": "bert",
            "distilbert": "bert", "mpnet": "bert", "deberta-v2": "bert"}
# Families whose sequence-classification head reads only the first token's final hidden
# state and whose layers call ``attention.output(attention_output, residual)``.
_FIRST_TOKEN_HEADS = {"bert", "roberta", "xlm-roberta", "camembert", "electra", "deberta-v2"}


class _FromOnnxruntime(logging.Filter):
    """Drops the records onnxruntime's optimiser and quantiser log (to the root logger)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "onnxruntime" not in record.pathname


@contextmanager
def _quiet_onnxruntime():
    """Hide onnxruntime tools' log chatter during the export, and only theirs: a filter on
    the root logger's handlers for the block (no process-wide logging settings change)."""
    quiet = _FromOnnxruntime()
    handlers = list(logging.root.handlers)
    logging.root.addFilter(quiet)
    for handler in handlers:
        handler.addFilter(quiet)
    try:
        yield
    finally:
        logging.root.removeFilter(quiet)
        for handler in handlers:
            handler.removeFilter(quiet)


def _first_token_output(net):
    """The top layer's attention-output module when the first-token shortcut applies."""
    if net.config.model_type not in _FIRST_TOKEN_HEADS or getattr(net.config, "pooling", "cls") != "cls":
        return None
    try:
        top = encoder_layers(net)[-1]
    except ValueError:
        return None
    return getattr(getattr(top, "attention", None), "output", None)


@contextmanager
def _first_token_top_layer(net):
    """While exporting, compute the top layer after self-attention for the first token only.

    The head reads only the first token's final hidden state, and everything in a layer
    after self-attention (output projection, residual, layer norm, feed-forward) works on
    each position separately, so the other positions of the top layer are dead work: 3/4 of
    that layer's matrix products, 1/8 of MiniLM-L6's. Measured +15% int8 texts/s on RWWD
    long answers; the outputs are the same (the parity report checks it on every export).
    """
    output = _first_token_output(net)
    handle = output.register_forward_pre_hook(
        lambda module, args: tuple(a[:, :1] for a in args)) if output is not None else None
    try:
        yield
    finally:
        if handle is not None:
            handle.remove()


def _export_raw(net, tokenizer, path: Path) -> list[str]:
    sample = tokenizer(["a short example", "a slightly longer example text"], padding=True,
                       return_tensors="pt")
    names = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in sample]
    axes = {k: {0: "batch", 1: "sequence"} for k in names}
    axes["logits"] = {0: "batch"}
    with warnings.catch_warnings(), torch.no_grad(), _first_token_top_layer(net):
        warnings.simplefilter("ignore")  # TorchScript tracer chatter about shape asserts
        torch.onnx.export(net, (), str(path), kwargs={k: sample[k] for k in names},
                          input_names=names, output_names=["logits"], dynamic_axes=axes,
                          opset_version=OPSET, dynamo=False)
    return names


def export_onnx(net, tokenizer, folder: Path,
                precisions: Sequence[str] = ("fp32", "int8")) -> dict[str, dict[str, Any]]:
    """Write the requested precisions of ``net`` into ``folder``.

    Returns ``{"files": {precision: file}, "fused": {operator: count}}``, the second being
    the fused operators onnxruntime's optimiser made (e.g. Attention, SkipLayerNormalization).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    unknown = set(precisions) - set(ONNX_FILES)
    if unknown or not precisions:
        raise ValueError(f"export precisions must be among {sorted(ONNX_FILES)}, not {list(precisions)}")
    net = copy.deepcopy(net).to("cpu").eval()  # the caller's model is left as it was
    net.set_attn_implementation("eager")
    written: dict[str, str] = {}
    # scratch inside the staged bundle: a killed export leaves nothing elsewhere
    with tempfile.TemporaryDirectory(dir=folder) as tmp, _quiet_onnxruntime():
        raw = Path(tmp) / "raw.onnx"
        _export_raw(net, tokenizer, raw)
        cfg = net.config
        optimized = optimize_model(
            str(raw), model_type=_FUSABLE.get(cfg.model_type, "bert"),
            num_heads=getattr(cfg, "num_attention_heads", 0),
            hidden_size=getattr(cfg, "hidden_size", 0),
        )
        fused = {op: n for op, n in optimized.get_fused_operator_statistics().items() if n}
        fp32 = Path(tmp) / "fp32.onnx"
        optimized.save_model_to_file(str(fp32))
        if "fp32" in precisions:
            fp32.replace(folder / ONNX_FILES["fp32"])
            fp32 = folder / ONNX_FILES["fp32"]
            written["fp32"] = ONNX_FILES["fp32"]
        if "int8" in precisions:
            quantize_dynamic(str(fp32), str(folder / ONNX_FILES["int8"]),
                             weight_type=QuantType.QInt8, per_channel=True,
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
            written["int8"] = ONNX_FILES["int8"]
    return {"files": written, "fused": fused}


def export_checked(tokenizer, net, folder: Path, contract: Description, precisions: Sequence[str],
                   check_texts: Sequence[str], check_targets: np.ndarray, check_split: str) -> TextModel:
    """Export ``net`` to ONNX into ``folder`` (weights and tokenizer too), check every
    precision against PyTorch on ``check_texts``, and return the scorer: a
    :class:`TextModel` whose description holds ``onnx`` and ``parity`` (so ``"auto"`` resolves)."""
    save_pretrained(tokenizer, net, folder)
    exported = TextModel(folder, contract.but(onnx={"opset": OPSET, **export_onnx(net, tokenizer, folder,
                                                                                   precisions)}))
    reference = predict_texts(tokenizer, net, check_texts, contract.max_length, contract.stride)
    candidates = {p: exported.raw_outputs(check_texts, precision=p) for p in exported.description.onnx["files"]}
    parity = dict(split=check_split, **outcomes_parity(exported, reference, candidates, check_targets))
    exported.description = exported.description.but(parity=parity)  # its sessions are kept
    return exported
