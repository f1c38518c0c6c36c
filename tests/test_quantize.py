"""Static int8 activation scales on a real fine-tuned bundle: the scales agree with the
ranges onnxruntime's own dynamic quantiser finds text by text, and the static model is
batch-invariant bit for bit where the dynamic one is not, while tracking fp32."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic
from tokenizers import Tokenizer

from pytext_psych.training.quantize import activation_ranges, static_activations


@pytest.fixture(scope="module")
def quantized(topic_fit, examples, tmp_path_factory):
    """The bundle's fp32 graph quantised dynamically, and a copy made static on 60 answers."""
    folder, tmp = topic_fit.bundle_path, tmp_path_factory.mktemp("quantize")
    quantize_dynamic(str(folder / "model.onnx"), str(tmp / "dynamic.onnx"), weight_type=QuantType.QInt8,
                     per_channel=True, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=32)
    ids = [np.array([e.ids]) for e in tokenizer.encode_batch(examples.answer.tolist()[:120])]
    feeds = [{"input_ids": i, "attention_mask": np.ones_like(i), "token_type_ids": np.zeros_like(i)} for i in ids]
    dynamic = onnx.load(str(tmp / "dynamic.onnx"))
    static = onnx.load(str(tmp / "dynamic.onnx"))
    static_activations(static, activation_ranges(static, feeds[:60]))
    return dict(dynamic=dynamic, static=static, feeds=feeds, fp32=str(folder / "model.onnx"))


def _session(model):
    source = model if isinstance(model, str) else model.SerializeToString()
    return ort.InferenceSession(source, providers=["CPUExecutionProvider"])


def _run(session, feeds):
    names = {i.name for i in session.get_inputs()}
    ids = np.concatenate([f["input_ids"] for f in feeds])
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    return session.run(None, {k: v for k, v in feed.items() if k in names})[0]


def test_every_dynamic_quantisation_became_static(quantized):
    ops = [n.op_type for n in quantized["static"].graph.node]
    assert "DynamicQuantizeLinear" not in ops
    assert ops.count("QuantizeLinear") == [n.op_type for n in quantized["dynamic"].graph.node].count(
        "DynamicQuantizeLinear") > 0


def test_static_scales_cover_the_ranges_onnxruntime_finds_text_by_text(quantized):
    """Reference: onnxruntime's DynamicQuantizeLinear, run on each calibration text alone,
    reports each text's scale and zero point; the union of those ranges is the static range."""
    dynamic = onnx.ModelProto()
    dynamic.CopyFrom(quantized["dynamic"])
    points = [n for n in dynamic.graph.node if n.op_type == "DynamicQuantizeLinear"]
    wanted = [o for n in points for o in n.output[1:]]
    dynamic.graph.output.extend(onnx.helper.make_tensor_value_info(o, onnx.TensorProto.FLOAT if o.endswith(
        "scale") else onnx.TensorProto.UINT8, None) for o in wanted)
    session = _session(dynamic)
    per_text = [dict(zip(wanted, session.run(wanted, {k: v for k, v in f.items()
                                                      if k in {i.name for i in session.get_inputs()}})))
                for f in quantized["feeds"][:60]]
    constants = {i.name: numpy_helper.to_array(i) for i in quantized["static"].graph.initializer}
    for node in points:
        scale_name, zero_name = node.output[1:]
        low = min(-float(t[zero_name]) * float(t[scale_name]) for t in per_text)
        high = max((255 - float(t[zero_name])) * float(t[scale_name]) for t in per_text)
        step = max(float(t[scale_name]) for t in per_text)
        expected_scale = (high - low) / 255
        assert float(constants[scale_name]) == pytest.approx(expected_scale, rel=0.01, abs=step / 255)
        assert abs(float(constants[zero_name]) - (-low / expected_scale)) <= 1.5


def test_static_int8_is_batch_invariant_and_dynamic_is_not(quantized):
    """Texts of one length scored together vs one at a time."""
    feeds = quantized["feeds"]
    length = max(set(f["input_ids"].shape[1] for f in feeds), key=lambda n: sum(
        f["input_ids"].shape[1] == n for f in feeds))
    same = [f for f in feeds if f["input_ids"].shape[1] == length]
    assert len(same) >= 4
    static, dynamic = _session(quantized["static"]), _session(quantized["dynamic"])
    together = _run(static, same)
    np.testing.assert_array_equal(together, np.concatenate([_run(static, [f]) for f in same]))
    dynamic_alone = np.concatenate([_run(dynamic, [f]) for f in same])
    assert np.abs(_run(dynamic, same) - dynamic_alone).max() > 0  # shared scales: the test can fail


def test_static_int8_tracks_fp32(quantized):
    """On 60 answers not used for calibration."""
    held_out, fp32, static = quantized["feeds"][60:], _session(quantized["fp32"]), _session(quantized["static"])
    fp32 = np.concatenate([_run(fp32, [f]) for f in held_out])
    static = np.concatenate([_run(static, [f]) for f in held_out])
    assert np.mean(fp32.argmax(1) == static.argmax(1)) >= 0.9
    assert np.corrcoef(fp32.ravel(), static.ravel())[0, 1] > 0.98
