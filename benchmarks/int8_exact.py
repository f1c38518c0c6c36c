"""Exact int8 sums: how much onnxruntime's default product moves int8 outputs on this CPU,
and the two exact alternatives (issue 33; ``pytext_psych/scoring/sessions.py``).

On one bundle, 1,000 short and 1,000 long RWWD answers (their first window each, one call
each), four int8 graphs against the bundle's fp32 graph:

- *default*: the bundle's int8 graph under onnxruntime's default options (on a CPU without
  VNNI or AMX its products add pairs in 16 bits and can saturate);
- *exact*: the same graph with ``session.x64quantprecision``, as the package's sessions on
  CPUs without VNNI or AMX (set here on every CPU);
- *uint8 by hand*: the same graph with every int8 weight (and zero point) shifted into uint8,
  default options (a product onnxruntime sums exactly on every CPU);
- *7-bit weights*: re-exported from the bundle's fp32 graph by the package's own int8 recipe,
  with onnxruntime's ``reduce_range`` (weights in [-64, 64]: no pair can saturate), under the
  package's options; its calibration texts are the first 256 answers of the bundle's column
  in a seeded sample of the data (8-bit weights re-exported the same way are a row too);
- *7-bit activations*: re-exported the same way with 8-bit weights but every static
  activation scale mapping its calibrated range onto [0, 127] instead of [0, 255] (no pair
  can reach 32,768 (2 x 127 x 128 is 32,512), so onnxruntime's default product is exact), under
  onnxruntime's default options (its fast kernel).

Then one-thread milliseconds a call for default, exact, 7-bit activations and fp32. Run:
``python benchmarks/int8_exact.py [--bundle DIR] [--out FILE]`` (about 6 minutes on 2 cores).
Data: the Real World Worry Dataset (Kleinberg, van der Vegt & Mozes, 2020; ``../shared/data/rwwd``).
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import onnxruntime.quantization as quantization
import onnxruntime.quantization.quant_utils as quant_utils
import pandas as pd
from bench_scoring import RWWD, machine
from onnx import numpy_helper

from pytext_psych import load_model
from pytext_psych.core.windows import windows
from pytext_psych.scoring.infer import UNFUSED
from pytext_psych.scoring.sessions import EXACT_INT8, session_options
from pytext_psych.training import export

WEIGHTS = {"MatMulIntegerToFloat": (1, 5), "QAttention": (1, 7)}  # weight and zero-point inputs
CALLS = ((4, 32), (16, 32), (4, 128))


def unsigned(model: onnx.ModelProto) -> onnx.ModelProto:
    """Every int8 weight of the products and its zero point shifted by 128 into uint8."""
    inits = {i.name: i for i in model.graph.initializer}
    for node in model.graph.node:
        for index in WEIGHTS.get(node.op_type, ()):
            tensor = inits[node.input[index]]
            values = numpy_helper.to_array(tensor).astype(np.int16) + 128
            tensor.CopyFrom(numpy_helper.from_array(values.astype(np.uint8), tensor.name))
    return model


def calibration(bundle: Path, texts: list[str]) -> list[dict]:
    """The export's calibration feeds of ``texts`` for the bundle's graph (made once, shared by every re-export)."""
    from transformers import AutoTokenizer

    names = [i.name for i in onnx.load(str(bundle / "model.onnx")).graph.input]
    return export._calibration_feeds(AutoTokenizer.from_pretrained(bundle), texts, names, 256)


def reexported(bundle: Path, feeds: list[dict], tmp: Path, weight_bits: int, activation_bits: int = 8) -> Path:
    """The bundle's fp32 graph through the export's int8 recipe, weights and static
    activations in the bits given (7 or 8); prints the recipe the export kept."""
    folder = tmp / f"w{weight_bits}a{activation_bits}"
    folder.mkdir()
    (folder / "fp32.onnx").write_bytes((bundle / "model.onnx").read_bytes())
    plain, plain_zp = quantization.quantize_dynamic, quant_utils.compute_scale_zp
    quantization.quantize_dynamic = functools.partial(plain, reduce_range=weight_bits == 7)
    quant_utils.compute_scale_zp = lambda low, high, qmin, qmax, *rest: plain_zp(  # uint8: static_activations'
        low, high, qmin, np.uint8(2**activation_bits - 1) if qmax == 255 else qmax, *rest)
    try:
        report = export._int8(folder / "fp32.onnx", folder / "int8.onnx", feeds)
    finally:
        quantization.quantize_dynamic, quant_utils.compute_scale_zp = plain, plain_zp
    print(f"{folder.name}: {report}")
    return folder / "int8.onnx"


def session(source, options) -> ort.InferenceSession:
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    data = source.SerializeToString() if isinstance(source, onnx.ModelProto) else str(source)
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"], disabled_optimizers=UNFUSED)


def feed(s: ort.InferenceSession, ids: np.ndarray) -> dict[str, np.ndarray]:
    all_inputs = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    return {i.name: all_inputs[i.name] for i in s.get_inputs()}


def outputs(s: ort.InferenceSession, first_windows: list[list[int]]) -> np.ndarray:
    return np.concatenate([s.run(None, feed(s, np.asarray([w], dtype=np.int64)))[0] for w in first_windows])


def ms_a_call(s: ort.InferenceSession, rows: int, tokens: int) -> float:
    """Best of 3 rounds (each at least 5 calls and half a second) on random ids."""
    inputs = feed(s, np.random.default_rng(0).integers(1000, 30000, size=(rows, tokens)).astype(np.int64))
    s.run(None, inputs)
    best = np.inf
    for _ in range(3):
        started, calls = time.perf_counter(), 0
        while calls < 5 or time.perf_counter() - started < 0.5:
            s.run(None, inputs)
            calls += 1
        best = min(best, (time.perf_counter() - started) / calls * 1e3)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bundle", default=str(Path(__file__).parent / "models" / "anxiety_subset1000_all"))
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "int8_exact.md"))
    args = parser.parse_args()
    bundle = Path(args.bundle)
    model = load_model(bundle)
    d = model.description
    int8, fp32 = bundle / d.onnx["files"]["int8"], bundle / d.onnx["files"]["fp32"]
    data = pd.read_csv(RWWD).sample(1000, random_state=7)
    with tempfile.TemporaryDirectory() as tmp:
        feeds = calibration(bundle, pd.read_csv(RWWD).sample(1000, random_state=42)[d.text].astype(str).tolist())
        exact = ort.SessionOptions()
        exact.add_session_config_entry(*EXACT_INT8)
        graphs = {"default": session(int8, ort.SessionOptions()), "exact": session(int8, exact),
                  "uint8 by hand": session(unsigned(onnx.load(str(int8))), ort.SessionOptions()),
                  "8-bit weights, re-exported": session(reexported(bundle, feeds, Path(tmp), 8),
                                                        session_options()),
                  "7-bit weights, re-exported": session(reexported(bundle, feeds, Path(tmp), 7),
                                                        session_options()),
                  "7-bit activations, re-exported": session(reexported(bundle, feeds, Path(tmp), 8, 7),
                                                            ort.SessionOptions())}
        reference = session(fp32, session_options())
        lines = [f"# Exact int8 sums (issue 33)\n\nMachine: {machine()}.\n\nBundle: `{bundle.name}`. "
                 "Each answer's first window, one call each; changes in raw outputs.\n",
                 "| answers | int8 graph | r with fp32 | mean change from fp32 | largest | "
                 "windows that differ from 'uint8 by hand' | mean / largest difference from it |",
                 "|---|---|---|---|---|---|---|"]
        for column in ("text_short", "text_long"):
            encodings = model.tokenizer.encode_batch(data[column].astype(str).tolist())
            first = [windows(e.ids, d.max_length, d.stride)[0] for e in encodings]
            truth = outputs(reference, first)
            by_name = {name: outputs(s, first) for name, s in graphs.items()}
            for name, out in by_name.items():
                gap = np.abs(out - by_name["uint8 by hand"])
                lines.append(f"| {column} ({np.mean([len(w) for w in first]):.0f} tokens, fp32 SD "
                             f"{truth.std():.2f}) | {name} | {np.corrcoef(out.ravel(), truth.ravel())[0, 1]:.4f} | "
                             f"{np.abs(out - truth).mean():.3f} | {np.abs(out - truth).max():.2f} | "
                             f"{np.mean(gap.max(axis=1) > 0):.1%} | {gap.mean():.3f} / {gap.max():.2f} |")
        timed = ("default", "exact", "7-bit activations, re-exported")
        lines += ["", "| call (windows x tokens) | " + " | ".join((*timed, "fp32")) + " |", "|---|---|---|---|---|"]
        for rows, tokens in CALLS:
            times = [ms_a_call(s, rows, tokens) for s in (*(graphs[name] for name in timed), reference)]
            lines.append(f"| {rows} x {tokens} | " + " | ".join(f"{t:.1f} ms" for t in times) + " |")
    lines += ["", f"Run: `python benchmarks/int8_exact.py --bundle {args.bundle}` ({time.strftime('%Y-%m-%d')})."]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
