"""int8 with *static* activation scales: batch-invariant int8 scoring.

onnxruntime's dynamic quantisation (``quantize_dynamic``) quantises each matrix product's
input with a scale taken from that call's own minimum and maximum, so texts scored in one
call share scales and a text's score depends on its batch-mates. Here the weights are
quantised as before (``quantize_dynamic``: int8, per-channel, onnxruntime's fused QAttention),
and then every ``DynamicQuantizeLinear`` of that graph becomes a ``QuantizeLinear`` with a
constant scale and zero point, calibrated by running the model on training texts, each on
its own. A text's int8 input to every matrix product is then a function of that text alone,
the products accumulate in exact int32, and everything else works row by row: batched with
other texts of its length, a text gets its score bit for bit (checked on every export, see
:func:`pytext_psych.training.export.export_checked`).

Calibration takes each quantised tensor's minimum and maximum over the calibration texts
(and 0, as the dynamic scales do), mapped to uint8 by onnxruntime's own
``compute_scale_zp``. Short texts reach ranges long ones do not, so the first 64
calibration texts are also read cut to their first 4, 8, 16 and 32 tokens. Measured on
MiniLM-L6 (a 500-text fit on RWWD long answers, 256 of them calibrating; 400 other answers
of each kind scored): against fp32, short answers correlate .993 (largest change .58 SD)
with these prefixes and .986 (1.17) without, long answers .995 (.25) either way; dynamic
scales give .994 (.69) and .995 (.28). A margin widening every range by 25% did worse
(.988 to .990). Speed per call is the same as dynamic int8's. onnxruntime's own static quantiser does not
serve here: its calibrator finds no tensors to calibrate in the fused graph (the fused
operators carry no type information for it), and its QDQ form, measured in an earlier
session, ran slower than fp32.

Where int8 misses fp32 (their outputs on the calibration texts correlating below
:data:`AGREEMENT`), the feed-forward's down projection (the matrix products that read a
GELU's output) stays in fp32 and the rest is quantised again; the export keeps whichever of
the two agrees better (:func:`agreement`, recorded in the bundle). The GELU's output has a
long positive tail that one per-tensor scale serves badly: on all-mpnet-base-v2 (a 400-text
RWWD fit, 100 long and 100 short answers) int8 correlated .968 / .942 with fp32 (dynamic
scales; static .962 / .936), and .996 / .989 with those 12 of its 72 products left in fp32;
leaving out any other kind of product instead (query, key, value, attention output,
feed-forward up projection), or every product of one layer, stayed at .93 to .97.
MiniLM-L6 meets the bar with every product in int8 (.993 to .995, above).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

CALIBRATION_TEXTS = 256  # at most this many training texts calibrate the scales
AGREEMENT = 0.99  # int8 outputs must correlate this well with fp32's on the calibration texts
PREFIXED, PREFIX_TOKENS = 64, (4, 8, 16, 32)  # so many of them also read cut to so many tokens


def activation_ranges(model, feeds: Sequence[dict[str, np.ndarray]]) -> dict[str, tuple[float, float]]:
    """The minimum and maximum (with 0) of every tensor a ``DynamicQuantizeLinear`` of
    ``model`` (an ``onnx.ModelProto``) quantises, over ``feeds`` (one text each)."""
    import onnx
    import onnxruntime as ort

    names = sorted({n.input[0] for n in model.graph.node if n.op_type == "DynamicQuantizeLinear"})
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.output.extend(onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None)
                              for n in names)
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    low, high = dict.fromkeys(names, 0.0), dict.fromkeys(names, 0.0)
    for feed in feeds:
        for name, value in zip(names, session.run(names, feed)):
            low[name], high[name] = min(low[name], float(value.min())), max(high[name], float(value.max()))
    return {n: (low[n], high[n]) for n in names}


def static_activations(model, ranges: dict[str, tuple[float, float]]) -> None:
    """Replace, in place, every ``DynamicQuantizeLinear`` of ``model`` by a ``QuantizeLinear``
    with the constant uint8 scale and zero point of its tensor's calibrated range."""
    from onnx import helper, numpy_helper
    from onnxruntime.quantization.quant_utils import compute_scale_zp

    nodes = []
    for node in model.graph.node:
        if node.op_type != "DynamicQuantizeLinear":
            nodes.append(node)
            continue
        low, high = ranges[node.input[0]]
        zero_point, scale = compute_scale_zp(np.float32(low), np.float32(high), np.uint8(0), np.uint8(255))
        quantized, scale_name, zero_name = node.output
        model.graph.initializer.extend([numpy_helper.from_array(np.asarray(scale, np.float32), scale_name),
                                        numpy_helper.from_array(np.asarray(zero_point, np.uint8), zero_name)])
        nodes.append(helper.make_node("QuantizeLinear", [node.input[0], scale_name, zero_name], [quantized],
                                      name=f"{node.name}_static"))
    del model.graph.node[:]
    model.graph.node.extend(nodes)


def gelu_products(model) -> list[str]:
    """Names of the ``MatMul`` nodes of ``model`` that read a GELU's output (the
    feed-forward's down projection; onnxruntime's optimiser fuses the GELU as ``BiasGelu``)."""
    made_by = {out: node.op_type for node in model.graph.node for out in node.output}
    return [n.name for n in model.graph.node if n.op_type == "MatMul" and "Gelu" in made_by.get(n.input[0], "")]


def agreement(reference: np.ndarray, candidate: np.ndarray) -> float:
    """The lowest, over outputs (columns), Pearson correlation of ``candidate`` with ``reference``.

    >>> agreement(np.array([[1., 2.], [2., 1.], [3., 5.]]), np.array([[1., 2.], [2., 1.], [3., 5.]]))
    1.0
    """
    return float(min(np.corrcoef(reference[:, j], candidate[:, j])[0, 1] for j in range(reference.shape[1])))
