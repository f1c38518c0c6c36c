"""PyTorch -> optimised ONNX (fp32) -> static int8 and fp16, plus the parity report.

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
* Residual additions and layer norms stay two standard operators (``Add``,
  ``LayerNormalization``), not onnxruntime's fused ``SkipLayerNormalization``: in
  onnxruntime 1.32 that fused CPU kernel took 64 us on 32 x 384 values against 15 us for
  the two (4.4x; 230 against 41 us on 128 x 384), a third of an int8 call's time on short
  answers. Scoring sessions keep onnxruntime from fusing them again at load
  (:mod:`pytext_psych.scoring.infer`).
* int8 is onnxruntime's dynamic quantisation of the optimised graph with *per-channel*
  weight scales (per-tensor scales cost MiniLM a visible share of its accuracy: output
  correlation with fp32 about .97 instead of .995 on RWWD texts), with the activation scales
  then made static, calibrated on training texts (:mod:`pytext_psych.training.quantize`),
  so a text's int8 score does not depend on the texts it is batched with. Where every
  product in int8 strays from fp32 (all-mpnet-base-v2), the feed-forward's down projections
  are smoothed first, else stay fp32 (:func:`_int8`).
* fp16 (asked for with ``export="fp16"`` or ``"all"``) is the optimised fp32 graph with
  its weights and activations in float16 and its inputs and outputs as before
  (onnxruntime's ``convert_float_to_float16``, ``keep_io_types``): the format for scoring
  on a GPU, whose CUDA provider runs it on tensor cores; onnxruntime's CPU provider runs
  it too, at fp32's speed (the AMD EPYC, MiniLM: 1.04x on short answers, 0.98x on long
  ones, ``scoring.md``; all-mpnet-base-v2's scores r .99998 with fp32's), so CPU users
  need not carry it.
* Every export checks what scoring relies on: each precision's outputs for the check texts
  scored in batches of equal length equal, bit for bit, their outputs scored one at a time
  (``onnx.batch_invariant`` lists the precisions that passed; scoring batches only those),
  and ``onnx.parity_int8_class`` records the int8 kernels the parity was measured with
  (:func:`pytext_psych.scoring.sessions.int8_class`).
"""

from __future__ import annotations

import copy
import logging
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ..core.description import Description
from ..core.machine import cpu_flags
from ..core.windows import length_batches
from ..evaluation.evaluate import outcomes_parity
from ..scoring.bundle import ONNX_FILES
from ..scoring.infer import TextModel
from ..scoring.sessions import int8_class, session_options
from .encoders import encoder_layers
from .nets import predict_texts, save_pretrained
from .quantize import (AGREEMENT, CALIBRATION_BATCH, CALIBRATION_TEXTS, PREFIX_TOKENS, PREFIXED, activation_ranges,
                       agreement, fused_products, gelu_products, smooth_products, static_activations)

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


def _optimize(raw: Path, config):
    """onnxruntime's transformer optimiser with its BERT fusions, but no SkipLayerNormalization."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    model_type = _FUSABLE.get(config.model_type, "bert")
    options = FusionOptions(model_type)
    options.enable_skip_layer_norm = False  # slower than Add + LayerNormalization (module docstring)
    return optimize_model(str(raw), model_type=model_type, num_heads=getattr(config, "num_attention_heads", 0),
                          hidden_size=getattr(config, "hidden_size", 0), optimization_options=options)


def _calibration_feeds(tokenizer, texts: Sequence[str], names: Sequence[str], max_length: int) -> list[dict]:
    """The graph's inputs for each calibration text (its first window), and for the first
    :data:`~pytext_psych.training.quantize.PREFIXED` of them also cut to their first
    :data:`~pytext_psych.training.quantize.PREFIX_TOKENS` tokens: windows of equal length
    stacked into one feed of up to :data:`~pytext_psych.training.quantize.CALIBRATION_BATCH`
    tokens, no padding (the fp32 and static int8 graphs give each row the same numbers
    either way; the activation ranges are still taken one window at a time)."""
    cuts = []
    for i, text in enumerate(texts[:CALIBRATION_TEXTS]):
        ids = tokenizer(text, truncation=True, max_length=max_length)["input_ids"]
        cuts += [ids, *([ids[:k] + ids[-1:] for k in PREFIX_TOKENS if k + 1 < len(ids)] if i < PREFIXED else [])]
    feeds = []
    for rows in length_batches([len(c) for c in cuts], CALIBRATION_BATCH):
        ids = np.asarray([cuts[r] for r in rows], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        feeds.append({k: feed[k] for k in names})
    return feeds


def _outputs(model, feeds: Sequence[dict]) -> np.ndarray:
    """``model``'s (a path or ``onnx.ModelProto``) outputs for ``feeds``, one call each, rows in order."""
    import onnxruntime as ort

    source = str(model) if isinstance(model, (str, Path)) else model.SerializeToString()
    session = ort.InferenceSession(source, session_options(), providers=["CPUExecutionProvider"])
    return np.concatenate([session.run(None, feed)[0] for feed in feeds])


INT8_RECIPES = ("full", "smoothed", "down projections in fp32")  # fastest first (quantize module docstring)
# Encoder types whose full int8 missed the bar on every fine-tune measured start with
# smoothing: MPNet (all-mpnet-base-v2; quantize module docstring), where trying full first
# cost each export a graph built and checked for nothing
SMOOTHED_FIRST = frozenset({"mpnet"})


def int8_recipes(model_type: str) -> tuple[str, ...]:
    """The recipes an export of this encoder type tries, in order."""
    return INT8_RECIPES[1:] if model_type in SMOOTHED_FIRST else INT8_RECIPES


def _static_int8(fp32: Path, feeds: Sequence[dict], recipe: str):
    """``fp32`` in int8 by ``recipe``: per-channel int8 weights (onnxruntime's dynamic
    quantiser), the feed-forward's down projections first smoothed or left in fp32 where the
    recipe says so, then static activation scales calibrated on ``feeds``, each product's
    scaling and bias fused into it (:mod:`pytext_psych.training.quantize`). Returns the graph
    and how many products the recipe touched."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(fp32))
    products = gelu_products(model) if recipe != "full" else []
    if recipe == "smoothed":
        smooth_products(model, products, feeds)
    dynamic = fp32.with_name("dynamic_int8.onnx")
    quantize_dynamic(model, str(dynamic), weight_type=QuantType.QInt8, per_channel=True,
                     nodes_to_exclude=products if recipe == "down projections in fp32" else [],
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    model = onnx.load(str(dynamic))
    static_activations(model, activation_ranges(model, feeds))
    fused_products(model)
    return model, len(products)


def _int8(fp32: Path, target: Path, feeds: Sequence[dict], recipes: Sequence[str] = INT8_RECIPES) -> dict[str, Any]:
    """Static int8 of ``fp32`` into ``target`` by the first of ``recipes`` whose outputs
    agree with fp32's on ``feeds`` at :data:`~pytext_psych.training.quantize.AGREEMENT`,
    else by the one that agrees best. Returns the recipe, its agreement and how many products
    it smoothed or left in fp32."""
    import onnx

    if not feeds:
        raise ValueError("an int8 export needs calibration texts")
    reference, best = _outputs(fp32, feeds), None
    for recipe in recipes:
        model, products = _static_int8(fp32, feeds, recipe)
        record = {"recipe": recipe, "calibration_r": round(agreement(reference, _outputs(model, feeds)), 6),
                  "fp32_products": products if recipe == "down projections in fp32" else 0,
                  "smoothed_products": products if recipe == "smoothed" else 0}
        if best is None or record["calibration_r"] > best[1]["calibration_r"]:
            best = model, record
        if record["calibration_r"] >= AGREEMENT:
            break
    onnx.save(best[0], str(target))
    return best[1]


def export_onnx(net, tokenizer, folder: Path, precisions: Sequence[str] = ("fp32", "int8"),
                calibration: Sequence[str] = (), max_length: int = 512) -> dict[str, dict[str, Any]]:
    """Write the requested precisions of ``net`` into ``folder``; int8's activation scales
    are calibrated on the ``calibration`` texts (training texts, cut at ``max_length``).

    Returns ``{"files": {precision: file}, "fused": {operator: count}}``, the second being
    the fused operators onnxruntime's optimiser made (e.g. Attention, BiasGelu), and with
    int8 ``"int8": {"recipe": ..., "calibration_r": ..., "fp32_products": ..., "smoothed_products": ...}``
    (see :func:`_int8`).
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
        names = _export_raw(net, tokenizer, raw)
        optimized = _optimize(raw, net.config)
        fused = {op: n for op, n in optimized.get_fused_operator_statistics().items() if n}
        fp32 = Path(tmp) / "fp32.onnx"
        optimized.save_model_to_file(str(fp32))
        if "int8" in precisions:
            feeds = _calibration_feeds(tokenizer, calibration, names, max_length)
            int8 = _int8(fp32, folder / ONNX_FILES["int8"], feeds, int8_recipes(net.config.model_type))
            written["int8"] = ONNX_FILES["int8"]
        if "fp32" in precisions:
            fp32.replace(folder / ONNX_FILES["fp32"])
            written["fp32"] = ONNX_FILES["fp32"]
        if "fp16" in precisions:
            optimized.convert_float_to_float16(keep_io_types=True)
            optimized.save_model_to_file(str(folder / ONNX_FILES["fp16"]))
            written["fp16"] = ONNX_FILES["fp16"]
    return {"files": dict(sorted(written.items())), "fused": fused, **({"int8": int8} if "int8" in written else {})}


@dataclass(frozen=True)
class ExportTexts:
    """The texts an export is checked and calibrated on: ``check`` (with ``targets``, from
    the ``split`` named) are scored by PyTorch and every ONNX precision for the parity
    report; ``calibration`` (training texts) set int8's activation scales."""

    check: Sequence[str]
    targets: np.ndarray
    split: str
    calibration: Sequence[str]


def batch_invariant(model: TextModel, texts: Sequence[str]) -> list[str]:
    """The precisions whose outputs for ``texts`` are the same, bit for bit, scored in
    batches of equal length (every text at once, and in batches of 3) as one at a time."""
    passed = []
    for precision in model.description.onnx["files"]:
        alone = model.raw_outputs(texts, precision=precision, batch_tokens=0)
        if all(np.array_equal(alone, model.raw_outputs(texts, precision=precision, batch_tokens=tokens))
               for tokens in (3 * model.description.max_length, 10**9)):
            passed.append(precision)
    return passed


def export_checked(tokenizer, net, folder: Path, contract: Description, precisions: Sequence[str],
                   texts: ExportTexts) -> TextModel:
    """Export ``net`` to ONNX into ``folder`` (weights and tokenizer too), check every
    precision against PyTorch on the check texts and for batch invariance, and return the
    scorer: a :class:`TextModel` whose description holds ``onnx`` and ``parity`` (so
    ``"auto"`` resolves and scoring knows which precisions it may batch)."""
    save_pretrained(tokenizer, net, folder)
    files = export_onnx(net, tokenizer, folder, precisions, texts.calibration, contract.max_length)
    exported = TextModel(folder, contract.but(onnx={"opset": OPSET, **files}))
    exported.description = exported.description.but(
        onnx={**exported.description.onnx, "batch_invariant": batch_invariant(exported, texts.check),
              "parity_int8_class": int8_class(cpu_flags())})
    reference = predict_texts(tokenizer, net, texts.check, contract.max_length, contract.stride)
    candidates = {p: exported.raw_outputs(texts.check, precision=p) for p in exported.description.onnx["files"]}
    parity = dict(split=texts.split, **outcomes_parity(exported, reference, candidates, texts.targets))
    exported.description = exported.description.but(parity=parity)  # its sessions are kept
    return exported
