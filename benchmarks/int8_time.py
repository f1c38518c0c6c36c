"""Where int8 scoring time goes on short and long answers, and two operator variants (issue 33).

``roofline.py`` says how far the int8 products could take scoring; this script says where the
rest of the time goes, on one core, through ``predict_scores``' own path (``raw_outputs``
with one thread: the plan's batches of equal length, the cached session's settings):

- per operator, onnxruntime's profile, short and long answers: each operator's seconds, and
  the int8 products' multiply-adds a second (``MatMulIntegerToFloat`` runs the attention
  output and feed-forward products; ``QAttention`` also runs Q/K/V and, in fp32, the
  attention itself);
- two variants of the int8 graph: onnxruntime's tanh GELU (``FastGelu``) in place of the
  exact one (``BiasGelu``), and ``QAttention`` taken apart into its int8 Q/K/V product and
  onnxruntime's fp32 ``MultiHeadAttention``: calls of 4 and 16 short windows and 4 long
  ones timed on one thread (best of 5 x 20 calls), and 300 short answers' outputs against
  the fp32 graph's.

Run: ``python benchmarks/int8_time.py [--bundle DIR] [--n-texts 1000] [--out FILE]`` (about
2 minutes). Data: the Real World Worry Dataset (Kleinberg, van der Vegt & Mozes, 2020;
``../shared/data/rwwd``, its SOURCE.md).
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
from onnx import helper, numpy_helper
from bench_scoring import BUNDLE, OPS, ROOT, RWWD, machine
from roofline import shapes, window_lengths

from pytext_psych import load_model
from pytext_psych.scoring.infer import UNFUSED, TextModel
from pytext_psych.scoring.sessions import session_options

COLUMNS = ("text_short", "text_long")
CALLS = ((4, 32), (16, 32), (4, 128))  # windows x tokens a call


def session(path: Path, profile: str | None = None) -> ort.InferenceSession:
    """A session with ``predict_scores``' settings (one thread), optionally profiling."""
    options = session_options(1)
    if profile:
        options.enable_profiling, options.profile_file_prefix = True, profile
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"], disabled_optimizers=UNFUSED)


def operator_seconds(model: TextModel, texts: list[str], tmp: Path) -> tuple[float, dict[str, float]]:
    """Wall seconds of one-thread int8 scoring of ``texts``, and each operator's seconds."""
    model._sessions["int8"] = session(model.path / model.description.onnx["files"]["int8"], str(tmp / "profile"))
    model.raw_outputs(texts[:64], precision="int8", threads=1)  # warm-up
    start = time.perf_counter()
    model.raw_outputs(texts, precision="int8", threads=1)
    wall = time.perf_counter() - start
    times: collections.Counter = collections.Counter()
    for event in json.loads(Path(model._sessions["int8"].end_profiling()).read_text()):
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            times[event["args"]["op_name"]] += event["dur"] / 1e6
    return wall, dict(times)


def profile_table(model: TextModel, texts: dict[str, list[str]], tmp: Path) -> list[str]:
    config = json.loads((model.path / "config.json").read_text())
    layers, h = config["num_hidden_layers"], config["hidden_size"]
    qkv, per_token = layers * 3 * h * h, layers * sum(k * n for k, n in shapes(config))
    lines = ["| answers | texts/s (one thread, profiling) | operator | what it does | s | share | int8 GMAC/s |",
             "|---|---|---|---|---|---|---|"]
    for column, sample in texts.items():
        wall, times = operator_seconds(model, sample, tmp)
        tokens = sum(window_lengths(model, sample))
        total = sum(times.values())
        # MatMulIntegerToFloat: attention output and feed-forward; QAttention: Q/K/V (3h x h)
        rates = {"MatMulIntegerToFloat": f"{tokens * (per_token - qkv) / times['MatMulIntegerToFloat'] / 1e9:.0f}",
                 "QAttention": f"{tokens * qkv / times['QAttention'] / 1e9:.0f} (Q/K/V only)"}
        for op, s in sorted(times.items(), key=lambda kv: -kv[1]):
            if s / total < 0.01:
                continue
            rate = rates.get(op, "")
            lines.append(f"| {column} ({len(sample):,}; {tokens / len(sample):.0f} tokens) | "
                         f"{len(sample) / wall:.0f} | {op} | {OPS.get(op, '')} | {s:.3f} | {s / total:.1%} | {rate} |")
    return lines


def fast_gelu(model: onnx.ModelProto) -> None:
    """Every BiasGelu (exact GELU) as FastGelu (tanh GELU)."""
    for node in model.graph.node:
        if node.op_type == "BiasGelu":
            node.op_type, node.domain = "FastGelu", "com.microsoft"


def attention_apart(model: onnx.ModelProto) -> None:
    """Every QAttention as its int8 Q/K/V product (MatMulIntegerToFloat) and onnxruntime's
    fp32 MultiHeadAttention (no mask: ``predict_scores`` never pads)."""
    nodes = []
    for n in model.graph.node:
        if n.op_type != "QAttention":
            nodes.append(n)
            continue
        x, w, bias, x_scale, w_scale, _, x_zero, w_zero = list(n.input)[:8]
        third = next(i for i in model.graph.initializer if i.name == bias).dims[0] // 3
        qkv, widths = f"{n.name}_qkv", f"{n.name}_widths"
        parts = [f"{qkv}_{p}" for p in "qkv"]
        model.graph.initializer.append(numpy_helper.from_array(np.array([third] * 3, dtype=np.int64), widths))
        nodes += [helper.make_node("MatMulIntegerToFloat", [x, w, x_scale, w_scale, x_zero, w_zero, bias], [qkv],
                                   domain="com.microsoft", name=f"{n.name}_qkv"),
                  helper.make_node("Split", [qkv, widths], parts, axis=2, name=f"{n.name}_split"),
                  helper.make_node("MultiHeadAttention", parts, list(n.output),
                                   num_heads=helper.get_attribute_value(n.attribute[0]), domain="com.microsoft",
                                   name=f"{n.name}_mha")]
    del model.graph.node[:]
    model.graph.node.extend(nodes)


VARIANTS = {"FastGelu (tanh GELU) for BiasGelu": fast_gelu,
            "int8 Q/K/V product + fp32 MultiHeadAttention for QAttention": attention_apart}


def variant(int8: Path, change, tmp: Path) -> Path:
    """The int8 graph ``int8`` with ``change`` made."""
    graph = onnx.load(str(int8))
    change(graph)
    path = tmp / f"{change.__name__}.onnx"
    onnx.save(graph, str(path))
    return path


def feed(s: ort.InferenceSession, ids: np.ndarray) -> dict[str, np.ndarray]:
    """The inputs ``predict_scores`` gives a call on windows ``ids`` (no padding)."""
    names = {i.name for i in s.get_inputs()}
    inputs = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    return {k: v for k, v in inputs.items() if k in names}


def call_seconds(s: ort.InferenceSession, ids: np.ndarray) -> float:
    inputs = feed(s, ids)
    s.run(None, inputs)
    best = np.inf
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(20):
            s.run(None, inputs)
        best = min(best, (time.perf_counter() - start) / 20)
    return float(best)


def outputs(s: ort.InferenceSession, model: TextModel, texts: list[str]) -> np.ndarray:
    """Each text's outputs, scored alone."""
    return np.concatenate([s.run(None, feed(s, np.asarray([e.ids], dtype=np.int64)))[0]
                           for e in model.tokenizer.encode_batch(texts)]).ravel()


def variants_table(model: TextModel, short: list[str], tmp: Path) -> list[str]:
    files = {precision: model.path / name for precision, name in model.description.onnx["files"].items()}
    graphs = {"the export's": session(files["int8"]),
              **{name: session(variant(files["int8"], change, tmp)) for name, change in VARIANTS.items()}}
    reference = outputs(session(files["fp32"]), model, short)
    calls = [np.random.default_rng(rows).integers(1000, model.tokenizer.get_vocab_size(), size=(rows, length))
             for rows, length in CALLS]
    lines = ["| int8 graph | " + " | ".join(f"ms a call, {n} x {t} tokens" for n, t in CALLS)
             + " | r with fp32 (300 short answers) | largest change vs fp32 |", "|---" * (len(CALLS) + 3) + "|"]
    for name, s in graphs.items():
        cells = " | ".join(f"{call_seconds(s, ids) * 1e3:.2f}" for ids in calls)
        out = outputs(s, model, short)
        lines.append(f"| {name} | {cells} | {np.corrcoef(reference, out)[0, 1]:.4f} | "
                     f"{np.abs(reference - out).max():.2f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bundle", default=str(BUNDLE), help="a bundle folder (bench_scoring.py's)")
    parser.add_argument("--data", default=str(RWWD), help="the RWWD csv")
    parser.add_argument("--n-texts", type=int, default=1000, help="answers of each set (the first n rows)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "int8_time.md"))
    args = parser.parse_args()
    df, bundle = pd.read_csv(args.data), Path(args.bundle)
    texts = {c: df[c].dropna().astype(str).head(args.n_texts).tolist() for c in COLUMNS}
    model = load_model(bundle)  # verified once
    with tempfile.TemporaryDirectory() as tmp:
        profile = profile_table(model, texts, Path(tmp))
        variants = variants_table(model, texts["text_short"][:300], Path(tmp))
    text = "\n".join([f"# Where int8 scoring time goes (issue 33)\n\nMachine: {machine()}.\n",
                      f"Bundle: `{bundle.name}`. One thread, `predict_scores`' batches (`raw_outputs`).\n",
                      *profile, "", "### Two operator variants of the int8 graph\n", *variants, "",
                      f"Run: `python benchmarks/int8_time.py --bundle {args.bundle} --n-texts {args.n_texts}` "
                      f"({time.strftime('%Y-%m-%d')}).\n"])
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
