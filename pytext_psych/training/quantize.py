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

Keeping those products in fp32 costs speed (on that mpnet bundle they took 58% of int8's
time), so before it the export tries *smoothing* (SmoothQuant, Xiao et al., 2023): each
channel j of the GELU's output is divided by s_j = peak_j ** a / w_j ** (1 - a) (peak_j its
largest magnitude on the calibration texts, w_j the largest magnitude in row j of the
product's weights) and row j of the weights multiplied by s_j. The product is unchanged
(to 1e-6), but the outlier channels no longer set the one activation scale, and every
product stays int8 at full int8's speed. Measured on the mpnet bundle above (150 other long
and 150 short answers, a = :data:`SMOOTHING`): .994 / .987 against fp32 (fp32 down
projections: .994 / .990; full int8: .951 / .909), 78-80 long and 125-128 short answers a
second (one per call, 2 threads of an AMX Xeon) against 46 and 70 with fp32 down projections
and 78-83 / 125-134 for full int8; a = .5, .75 and .95 gave .936 / .838, .992 / .981 and
.994 / .987. On a second bundle (mpnet fitted on 1,000 Empathic Reactions essays, 150 other
essays): .990 smoothed at a = .85 (.987 at .75 and .95), .989 with fp32 down projections,
.908 in full int8.

Why "full" is still tried first (for every encoder but MPNet), though smoothing also brings
MiniLM-L6 closer to fp32:
measured on an AVX2-only AMD EPYC (the MiniLM benchmark bundle, 1,000 other RWWD answers'
first windows, one call each; best of 3 timings at 16 x 32 and 4 x 128 tokens), full int8
correlated .9942 / .9965 with fp32 on short / long answers (mean change .089 / .050) and
smoothed .9964 / .9974 (.068 / .046), but smoothed calls took 3% / 4% longer (the extra
``Mul``) and its export 7 s more (the channel peaks). Both are far above the bar, so the
export keeps the faster graph. On all-mpnet-base-v2 (a whole fit of 2,491 RWWD short
answers) full int8 failed the bar again (calibration r .933; .951 / .954 on the answers)
and smoothed passed (.9945; .9958 / .9937): trying full first cost that fit 28 s of
building plus a pass over the calibration texts, of its 4.4-minute export. Full int8 missed
the bar on every all-mpnet-base-v2 fine-tune measured (the three above, .908 to .951, and
the hold-out bundle of ``benchmarks/results/mpnet_paths.md``), so exports of MPNet encoders
start with smoothing (``training.export.SMOOTHED_FIRST``).

Last, each product's steps after the integer product (``Cast`` of the int32 sums to float,
``Mul`` by the activations' and weights' scales, ``Add`` of the bias) become one
``MatMulIntegerToFloat`` (:func:`fused_products`), onnxruntime's kernel that scales and adds
the bias as it writes the product. onnxruntime would fuse them itself for dynamic scales,
but with static ones it first folds the two constant scales into one, and the pattern no
longer matches. The arithmetic is the same (the outputs were equal bit for bit in the runs below),
so batch invariance holds as before; the export checks it on every bundle. Measured on a
quiet 2-core AMX Xeon (the same int8 graph with and without this step, one onnxruntime
thread, best of 6 calls): all-mpnet-base-v2 1.16x / 1.15x / 1.05x as fast on 16 x 32 /
4 x 128 / 1 x 256 tokens, MiniLM-L6 1.08x / 1.05x / 1.04x (benchmarks/results/scoring.md).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..scoring.sessions import session_options

CALIBRATION_TEXTS = 256  # at most this many training texts calibrate the scales
AGREEMENT = 0.99  # int8 outputs must correlate this well with fp32's on the calibration texts
PREFIXED, PREFIX_TOKENS = 64, (4, 8, 16, 32)  # so many of them also read cut to so many tokens
# Calibration windows of equal length go through onnxruntime together, up to this many
# tokens a call, no padding, where the graph gives each row the same numbers in any batch
# (fp32 for the reference and the smoothing peaks, static int8 for the agreement); the
# dynamic graph's activation ranges are still taken one window per call (activation_ranges).
# Measured on the AVX2-only EPYC (benchmarks/results/calibration_calls.md; 455 windows of
# the example answers): the same int8 graphs byte for byte, all-mpnet-base-v2's smoothed
# int8 in 57 s instead of 72, MiniLM-L6's full int8 in 8.1 s instead of 10.0. The probe of
# every GELU output then holds at most 2048 x 3072 x 12 floats (300 MB) for mpnet.
CALIBRATION_BATCH = 2048
SMOOTHING = 0.85  # how much of an activation channel's peak moves into the weights (module docstring)


def _probe(model, names: Sequence[str], feeds: Sequence[dict[str, np.ndarray]]):
    """The tensors ``names`` of ``model`` (an ``onnx.ModelProto``) for each of ``feeds``, in turn."""
    import onnx
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.output.extend(onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in names)
    session = ort.InferenceSession(probe.SerializeToString(), session_options(), providers=["CPUExecutionProvider"])
    for feed in feeds:
        yield session.run(list(names), feed)


def one_per_call(feeds: Sequence[dict[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
    """Every window (row) of ``feeds`` as a feed of its own, in order."""
    return [{k: v[i : i + 1] for k, v in feed.items()} for feed in feeds for i in range(len(feed["input_ids"]))]


def activation_ranges(model, feeds: Sequence[dict[str, np.ndarray]]) -> dict[str, tuple[float, float]]:
    """The minimum and maximum (with 0) of every tensor a ``DynamicQuantizeLinear`` of
    ``model`` (an ``onnx.ModelProto``) quantises, over the windows of ``feeds``, each run
    alone: a dynamic quantiser's scale is its whole call's, so there a window's activations
    would depend on its batch-mates (stacked, some ranges moved by up to 6.5%)."""
    names = sorted({n.input[0] for n in model.graph.node if n.op_type == "DynamicQuantizeLinear"})
    low, high = dict.fromkeys(names, 0.0), dict.fromkeys(names, 0.0)
    for values in _probe(model, names, one_per_call(feeds)):
        for name, value in zip(names, values):
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


def channel_peaks(model, names: Sequence[str], feeds: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The largest magnitude of each channel (last axis) of the tensors ``names`` of ``model``
    over ``feeds``."""
    peaks = dict.fromkeys(names, 0.0)
    for values in _probe(model, names, feeds):
        for name, value in zip(names, values):
            peaks[name] = np.maximum(peaks[name], np.abs(value).reshape(-1, value.shape[-1]).max(axis=0))
    return peaks


def smooth_products(model, products: Sequence[str], feeds: Sequence[dict[str, np.ndarray]]) -> None:
    """Smooth, in place, the input of each ``MatMul`` named in ``products`` into its constant
    weights (module docstring): a ``Mul`` by 1 / s before the product, the weights' rows times s."""
    from onnx import helper, numpy_helper

    nodes = {n.name: n for n in model.graph.node}
    weights = {i.name: i for i in model.graph.initializer}
    peaks = channel_peaks(model, [nodes[p].input[0] for p in products], feeds)
    smoothed = []
    for node in model.graph.node:
        if node.name in products:
            source, weight = node.input[0], numpy_helper.to_array(weights[node.input[1]])
            scale = (np.maximum(peaks[source], 1e-5) ** SMOOTHING
                     / np.maximum(np.abs(weight).max(axis=1), 1e-5) ** (1 - SMOOTHING)).astype(np.float32)
            weights[node.input[1]].CopyFrom(numpy_helper.from_array(weight * scale[:, None], node.input[1]))
            model.graph.initializer.append(numpy_helper.from_array(1 / scale, f"{node.name}_smoothing"))
            smoothed.append(helper.make_node("Mul", [source, f"{node.name}_smoothing"], [f"{node.name}_smoothed"],
                                             name=f"{node.name}_smooth"))
            node.input[0] = f"{node.name}_smoothed"
        smoothed.append(node)
    del model.graph.node[:]
    model.graph.node.extend(smoothed)


def fused_products(model) -> int:
    """Fuse, in place, each int8 product's steps after the integer product (``MatMulInteger``
    -> ``Cast`` -> ``Mul`` by the two constant scales -> ``Add`` of a constant bias, if any)
    into onnxruntime's one kernel ``MatMulIntegerToFloat``, which scales and adds the bias
    as it writes the product (module docstring). Returns how many products were fused."""
    from onnx import helper

    graph = _Graph(model)
    fused, gone = {}, set()
    for node in model.graph.node:
        chain = graph.product_chain(node)
        if chain is None:
            continue
        steps, scales, bias = chain
        gone.update(id(step) for step in steps)
        fused[id(node)] = helper.make_node(
            "MatMulIntegerToFloat", [*node.input[:2], *scales, *node.input[2:4], *bias],
            [steps[-1].output[0]], name=f"{node.name}_to_float", domain="com.microsoft")
    kept = [fused.get(id(n), n) for n in model.graph.node if id(n) not in gone]
    del model.graph.node[:]
    model.graph.node.extend(kept)
    if fused and all(o.domain != "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return len(fused)


class _Graph:
    """Who reads and who makes each tensor of an ONNX graph, and its constants' sizes."""

    def __init__(self, model) -> None:
        self.sizes = {i.name: int(np.prod(i.dims)) for i in model.graph.initializer}
        self.readers: dict[str, list] = {}
        for node in model.graph.node:
            for name in node.input:
                self.readers.setdefault(name, []).append(node)
        self.maker = {out: node for node in model.graph.node for out in node.output}

    def only_reader(self, name: str, op_type: str):
        found = self.readers.get(name, [])
        return found[0] if len(found) == 1 and found[0].op_type == op_type else None

    def product_chain(self, node):
        """For a ``MatMulInteger`` of constant weights followed only by ``Cast`` and ``Mul``
        by a product of two constant scales (and ``Add`` of a constant bias per column): those
        steps, the two scales (the activations' one, then the weights' per column) and the
        bias as a list (empty without one); else None."""
        cast = self.only_reader(node.output[0], "Cast") if node.op_type == "MatMulInteger" else None
        mul = cast and self.only_reader(cast.output[0], "Mul")
        scale = mul and self.maker.get(next(i for i in mul.input if i != cast.output[0]))
        if not (scale and scale.op_type == "Mul" and set(scale.input) <= self.sizes.keys()
                and node.input[1] in self.sizes and len(self.readers[scale.output[0]]) == 1):
            return None
        add = self.only_reader(mul.output[0], "Add")
        bias = [i for i in add.input if i != mul.output[0] and self.sizes.get(i, 0) > 1] if add else []
        steps = [cast, scale, mul] + ([add] if bias else [])  # the last one writes the result
        return steps, sorted(scale.input, key=self.sizes.get), bias


def agreement(reference: np.ndarray, candidate: np.ndarray) -> float:
    """The lowest, over outputs (columns), Pearson correlation of ``candidate`` with ``reference``.

    >>> agreement(np.array([[1., 2.], [2., 1.], [3., 5.]]), np.array([[1., 2.], [2., 1.], [3., 5.]]))
    1.0
    """
    return float(min(np.corrcoef(reference[:, j], candidate[:, j])[0, 1] for j in range(reference.shape[1])))
