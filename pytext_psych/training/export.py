"""PyTorch -> optimised ONNX (fp32) -> per-token int8, plus the parity report.

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
* int8 quantises the weights with *per-channel* scales (per-tensor scales cost MiniLM a
  visible share of its accuracy: output correlation with fp32 about .97 instead of .995 on
  RWWD texts) and the activations with one scale *per token* (:mod:`.quantize`), so texts
  can be scored in padded batches without a batch-mate changing a score. Bundles written
  before (``onnx.int8_scheme`` absent) used onnxruntime's dynamic quantisation, one scale
  per call; they are still scored one text per call.
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
from .quantize import SCHEME, quantize_per_token

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
                precisions: Sequence[str] = ("fp32", "int8")) -> dict[str, Any]:
    """Write the requested precisions of ``net`` into ``folder``.

    Returns ``{"files": {precision: file}, "fused": {operator: count}, "int8_scheme": ...}``:
    the fused operators onnxruntime's optimiser made for the fp32 graph (e.g. Attention,
    SkipLayerNormalization), and how int8 quantises activations (:mod:`.quantize`).
    """
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
        fused = _optimized(raw, net.config, folder / ONNX_FILES["fp32"], attention=True)
        written["fp32"] = ONNX_FILES["fp32"]
        if "int8" in precisions:
            # attention left unfused: its input projections become per-token int8 products too
            _optimized(raw, net.config, Path(tmp) / "unfused.onnx", attention=False)
            quantize_per_token(Path(tmp) / "unfused.onnx", folder / ONNX_FILES["int8"])
            written["int8"] = ONNX_FILES["int8"]
        if "fp32" not in precisions:
            (folder / written.pop("fp32")).unlink()
    return {"files": written, "fused": fused, "int8_scheme": SCHEME if "int8" in written else None}


def _optimized(raw: Path, config, target: Path, attention: bool) -> dict[str, int]:
    """onnxruntime's transformer optimiser on the exported graph (``attention``: fuse the
    self-attention too); returns the fused operators' counts."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    model_type = _FUSABLE.get(config.model_type, "bert")
    options = FusionOptions(model_type)
    options.enable_attention = attention
    optimized = optimize_model(str(raw), model_type=model_type, num_heads=getattr(config, "num_attention_heads", 0),
                               hidden_size=getattr(config, "hidden_size", 0), optimization_options=options)
    optimized.save_model_to_file(str(target))
    return {op: n for op, n in optimized.get_fused_operator_statistics().items() if n}


def export_checked(tokenizer, net, folder: Path, contract: Description, precisions: Sequence[str],
                   check_texts: Sequence[str], check_targets: np.ndarray, check_split: str) -> TextModel:
    """Export ``net`` to ONNX into ``folder`` (weights and tokenizer too), check every
    precision against PyTorch on ``check_texts``, and return the scorer: a
    :class:`TextModel` whose description holds ``onnx`` and ``parity`` (so ``"auto"`` resolves)."""
    save_pretrained(tokenizer, net, folder)
    exported = TextModel(folder, contract.but(onnx={"opset": OPSET, **export_onnx(net, tokenizer, folder,
                                                                                   precisions)}))
    reference = predict_texts(tokenizer, net, check_texts, contract.max_length)
    candidates = {p: exported.raw_outputs(check_texts, precision=p) for p in exported.description.onnx["files"]}
    parity = dict(split=check_split, **outcomes_parity(exported, reference, candidates, check_targets))
    exported.description = exported.description.but(parity=parity)  # its sessions are kept
    return exported
