"""Per-token int8: each row's product against a numpy reference, and no row reads another."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from pytext_psych.training.quantize import quantize_per_token


def _graph(path, w):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", w.shape[0]])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", w.shape[1]])
    node = helper.make_node("MatMul", ["x", "w"], ["y"])
    graph = helper.make_graph([node], "g", [x], [y], [numpy_helper.from_array(w, "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))


def _reference(x, w):
    """The scheme written out in numpy: uint8 per row (asymmetric), int8 per column."""
    ws = np.abs(w).max(axis=0) / 127
    wq = np.clip(np.round(w / ws), -127, 127)
    lo, hi = np.minimum(x.min(axis=-1, keepdims=True), 0), np.maximum(x.max(axis=-1, keepdims=True), 0)
    scale = (hi - lo) / 255
    zp = np.round(-lo / scale)
    q = np.clip(np.round(x / scale) + zp, 0, 255)
    return ((q - zp) @ wq) * scale * ws


@pytest.fixture(scope="module")
def quantized(tmp_path_factory):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(48, 24)).astype(np.float32)
    folder = tmp_path_factory.mktemp("q")
    _graph(folder / "fp32.onnx", w)
    assert quantize_per_token(folder / "fp32.onnx", folder / "int8.onnx") == 1
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return w, ort.InferenceSession(str(folder / "int8.onnx"), options, providers=["CPUExecutionProvider"])


def test_each_row_is_quantised_on_its_own(quantized):
    w, session = quantized
    x = np.random.default_rng(1).normal(size=(3, 5, 48)).astype(np.float32)
    x[1] *= 40  # a row of large values must not coarsen the other rows
    out = session.run(None, {"x": x})[0]
    np.testing.assert_allclose(out, _reference(x.astype(np.float64), w), rtol=1e-4, atol=1e-4)
    assert np.abs(out - x @ w).max() / np.abs(x @ w).max() < 0.02
    alone = session.run(None, {"x": x[:1]})[0]
    np.testing.assert_array_equal(alone, out[:1])  # exact: the batch-mate's scale is not shared


def test_other_nodes_and_products_of_two_activations_are_left_alone(tmp_path):
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, [3, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 2])
    graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["y"])], "g", [a, b], [y])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(tmp_path / "m.onnx"))
    assert quantize_per_token(tmp_path / "m.onnx", tmp_path / "q.onnx") == 0
    assert [n.op_type for n in onnx.load(str(tmp_path / "q.onnx")).graph.node] == ["MatMul"]
