"""Exact int8 sums on every CPU: the CPU-flag classes and the session entry chosen on recorded
flag sets, one int8 product at its worst case against numpy's exact integer product, and a
real bundle's int8 graph against the same graph with its weights made uint8 by hand (a
product onnxruntime computes without a 16-bit step on any CPU)."""

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from pytext_psych import load_model
from pytext_psych.core.machine import cpu_flags
from pytext_psych.scoring.infer import UNFUSED
from pytext_psych.scoring.sessions import EXACT_INT8, exact_int8_entry, int8_class, session_options

ROWS, DEPTH, COLUMNS = 8, 384, 64
CPUINFO = Path(__file__).parent / "data" / "cpuinfo"


@pytest.mark.parametrize("recorded, expected, entry", [
    ("xeon_amx.txt", "amx", None), ("epyc_avx512_vnni.txt", "avx512_vnni", None),
    ("haswell_avx2.txt", "avx2", EXACT_INT8), ("arm_neoverse.txt", "other", EXACT_INT8),
])
def test_int8_class_and_session_entry_of_recorded_cpus(recorded, expected, entry):
    """Only CPUs whose int8 kernel can saturate get the (slower) exact-sum entry."""
    flags = cpu_flags(str(CPUINFO / recorded))
    assert int8_class(flags) == expected
    assert exact_int8_entry(flags) == entry


def test_session_options_carry_this_cpus_entry():
    options, entry = session_options(1), exact_int8_entry(cpu_flags())
    if entry is None:
        with pytest.raises(RuntimeError, match="does not have configuration"):
            options.get_session_config_entry(EXACT_INT8[0])
    else:
        assert options.get_session_config_entry(entry[0]) == entry[1]


def _product(options, activations: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """onnxruntime's ``MatMulIntegerToFloat`` (the export's fused int8 product) of uint8
    ``activations`` (zero point 128) and int8 ``weights`` (zero point 0), scales 1."""
    inits = [numpy_helper.from_array(value, name) for value, name in (
        (weights, "w"), (np.float32(1), "a_scale"), (np.ones(COLUMNS, np.float32), "w_scale"),
        (np.uint8(128), "a_zero"), (np.zeros(COLUMNS, np.int8), "w_zero"))]
    node = helper.make_node("MatMulIntegerToFloat", ["a", "w", "a_scale", "w_scale", "a_zero", "w_zero"], ["y"],
                            domain="com.microsoft")
    graph = helper.make_graph([node], "product", [helper.make_tensor_value_info("a", TensorProto.UINT8, [ROWS, DEPTH])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, {"a": activations})[0]


@pytest.fixture
def worst_case():
    """Activations and weights whose neighbouring products pass 32,767 in pairs (255 x 127 x 2)."""
    rng = np.random.default_rng(0)
    activations = rng.choice(np.array([0, 255], np.uint8), size=(ROWS, DEPTH))
    weights = rng.choice(np.array([-127, 127], np.int8), size=(DEPTH, COLUMNS))
    exact = (activations.astype(np.int64) - 128) @ weights.astype(np.int64)
    return activations, weights, exact


def test_int8_products_are_exact_integer_sums(worst_case):
    """With the entry where this CPU gets it, and with onnxruntime's own kernel where it does not."""
    activations, weights, exact = worst_case
    assert np.array_equal(_product(session_options(1), activations, weights), exact.astype(np.float32))


@pytest.mark.skipif(int8_class(cpu_flags()) != "avx2", reason="only CPUs without VNNI or AMX saturate")
def test_without_the_option_this_cpu_saturates(worst_case):
    """Why the option is set: here onnxruntime's default product misses the exact sums."""
    activations, weights, exact = worst_case
    assert np.abs(_product(ort.SessionOptions(), activations, weights) - exact).max() > 1000


def _weights_made_unsigned(model: onnx.ModelProto) -> onnx.ModelProto:
    """Every int8 weight of the products (and its zero point) shifted by 128 into uint8:
    the same integer product, which onnxruntime sums exactly on every CPU."""
    weight_inputs = {"MatMulIntegerToFloat": (1, 5), "QAttention": (1, 7)}
    inits = {i.name: i for i in model.graph.initializer}
    for node in model.graph.node:
        for index in weight_inputs.get(node.op_type, ()):
            tensor = inits[node.input[index]]
            values = numpy_helper.to_array(tensor)
            assert values.dtype == np.int8, (node.name, index)
            tensor.CopyFrom(numpy_helper.from_array((values.astype(np.int16) + 128).astype(np.uint8), tensor.name))
    return model


def test_bundle_int8_scores_equal_exact_products(topic_fit, examples):
    model = load_model(topic_fit.bundle_path)
    path = model.path / model.description.onnx["files"]["int8"]
    unsigned = ort.InferenceSession(_weights_made_unsigned(onnx.load(str(path))).SerializeToString(),
                                    session_options(1), providers=["CPUExecutionProvider"],
                                    disabled_optimizers=UNFUSED)
    names = {i.name for i in unsigned.get_inputs()}
    one_window = [t for t in examples["answer"] if len(model.tokenizer.encode(t).ids) <= model.description.max_length]
    texts = one_window[:40]
    assert len(texts) >= 10
    ours = model.raw_outputs(texts, precision="int8", batch_tokens=0)
    for text, score in zip(texts, ours):
        ids = np.asarray([model.tokenizer.encode(text).ids], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        exact = unsigned.run(None, {k: v for k, v in feed.items() if k in names})[0][0]
        np.testing.assert_allclose(score, exact, rtol=0, atol=1e-5)
