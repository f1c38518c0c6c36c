"""How far int8 scoring can go on this CPU: the ceiling on the ratio to PyTorch eager (issue 33).

Scoring time is mostly matrix products. This script measures, on this machine and in one run:

- the **int8 product rate**: onnxruntime's ``MatMulIntegerToFloat`` (the operator our int8
  graphs run) on the bundle's own weight shapes, one single-threaded session per core running
  at once, as ``predict_scores`` runs, at the plan's batch of 128 tokens;
- the **fp32 product rate**: ``torch.nn.Linear`` on the same shapes with all cores, as PyTorch
  eager runs them (32 windows of the mean window length per call);
- the **multiply-adds a text costs**: from the bundle's ``config.json`` and the windows
  ``predict_scores`` reads (the same windows eager reads in ``bench_scoring.py``): per layer
  and token 4h² + 2hi for the products and 2sh for attention over a window of s tokens;
- eager and our int8 texts/s on the same answers (``bench_scoring.py``'s workers, each engine
  in its own process, in rounds).

From these: each engine's multiply-adds per second as a share of its product rate, and the
**ceiling ratio**: the texts/s int8 would reach if every multiply-add ran at the int8 product
rate and nothing else took any time, divided by eager's texts/s. A goal above that ceiling
cannot be met by int8 products on this CPU, however the graph is arranged.

Run: ``python benchmarks/roofline.py [--bundle DIR ...] [--n-texts 300] [--out FILE]``
(several minutes: eager scores every text of both sets twice). Data: the Real World Worry
Dataset (Kleinberg, van der Vegt & Mozes, 2020; ``../shared/data/rwwd``, its SOURCE.md).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from bench_scoring import BUNDLE, ROOT, RWWD, WORKER, machine, run_worker

from pytext_psych import load_model
from pytext_psych.core.windows import windows
from pytext_psych.scoring.sessions import session_options

GOALS = {"text_short": 7.0, "text_long": 5.0}  # issue 33, AVX-512 VNNI CPUs
PLAN_TOKENS = 128  # the plan's batch on both CPUs measured so far (scoring.md)


def shapes(config: dict) -> list[tuple[int, int]]:
    """The (in, out) widths of one layer's products: Q/K/V, attention output, feed-forward."""
    h, i = config["hidden_size"], config["intermediate_size"]
    return [(h, 3 * h), (h, h), (h, i), (i, h)]


def int8_layer_seconds(config: dict, rows: int = PLAN_TOKENS, seconds: float = 5.0) -> float:
    """Seconds for one layer's int8 products on ``rows`` tokens, every core busy with its own
    single-threaded onnxruntime session (the measured rate of all cores together)."""
    cores = len(os.sched_getaffinity(0))
    with ThreadPoolExecutor(cores) as pool:
        each = list(pool.map(lambda _: _int8_one_core(config, rows, seconds), range(cores)))
    return float(np.mean(each)) / cores


def _int8_one_core(config: dict, rows: int, seconds: float) -> float:
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    sessions = []
    for k, n in shapes(config):
        consts = [numpy_helper.from_array(rng.integers(-127, 128, (k, n), dtype=np.int8), "w"),
                  numpy_helper.from_array(np.array(0.02, np.float32), "sa"),
                  numpy_helper.from_array(np.full(n, 0.01, np.float32), "sw"),
                  numpy_helper.from_array(np.array(128, np.uint8), "za")]
        node = helper.make_node("MatMulIntegerToFloat", ["a", "w", "sa", "sw", "za"], ["y"], domain="com.microsoft")
        graph = helper.make_graph([node], "product", [helper.make_tensor_value_info("a", TensorProto.UINT8, [None, k])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, n])], consts)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                        helper.make_opsetid("com.microsoft", 1)])
        model.ir_version = 8
        session = ort.InferenceSession(model.SerializeToString(), session_options(1),
                                       providers=["CPUExecutionProvider"])
        sessions.append((session, {"a": rng.integers(0, 256, (rows, k), dtype=np.uint8)}))
    return _best_seconds(lambda: [s.run(None, feed) for s, feed in sessions], seconds)


def fp32_layer_seconds(config: dict, rows: int, seconds: float = 5.0) -> float:
    """Seconds for one layer's fp32 products on ``rows`` tokens in PyTorch (all cores)."""
    import torch

    layers = [torch.nn.Linear(k, n) for k, n in shapes(config)]
    inputs = [torch.randn(rows, k) for k, _ in shapes(config)]
    with torch.inference_mode():
        return _best_seconds(lambda: [f(x) for f, x in zip(layers, inputs)], seconds)


def _best_seconds(call, seconds: float) -> float:
    """The fastest of repeated calls, after a warm-up, over about ``seconds``."""
    for _ in range(3):
        call()
    best, until = np.inf, time.perf_counter() + seconds
    while time.perf_counter() < until:
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return float(best)


def window_lengths(model, texts: list[str]) -> list[int]:
    """Token counts of the windows ``predict_scores`` reads for ``texts``."""
    d = model.description
    return [len(w) for e in model.tokenizer.encode_batch(texts) for w in windows(e.ids, d.max_length, d.stride)]


def macs(config: dict, lengths: list[int]) -> float:
    """Multiply-adds to score windows of these lengths: the products and the attention."""
    h, i, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    tokens = np.asarray(lengths, dtype=np.float64)
    return float(layers * (tokens.sum() * (4 * h * h + 2 * h * i) + (2 * tokens ** 2 * h).sum()))


def engine_speed(bundle: Path, texts: list[str], repeats: int, tmp: Path) -> dict[str, float]:
    """Median texts/s of eager and our int8 over ``repeats`` rounds, each in a fresh process."""
    (tmp / "texts.json").write_text(json.dumps(texts))
    seen: dict[str, list[float]] = {"pytorch": [], "int8": []}
    for _ in range(repeats):
        for engine in seen:
            res = run_worker(WORKER, engine, str(bundle), str(tmp / "texts.json"), str(tmp / f"{engine}.npy"), "")
            seen[engine].append(len(texts) / res["seconds"])
    return {e: float(np.median(v)) for e, v in seen.items()}


def rows_for(bundle: Path, texts: dict[str, list[str]], repeats: int, tmp: Path) -> list[str]:
    model = load_model(bundle)
    config = json.loads((bundle / "config.json").read_text())
    per_layer = sum(k * n for k, n in shapes(config))
    out = []
    for column, sample in texts.items():
        lengths = window_lengths(model, sample)
        per_text = macs(config, lengths) / len(sample)
        int8_rate = PLAN_TOKENS * per_layer / int8_layer_seconds(config)
        eager_rows = 32 * int(round(np.mean(lengths)))
        fp32_rate = eager_rows * per_layer / fp32_layer_seconds(config, eager_rows)
        speed = engine_speed(bundle, sample, repeats, tmp)
        ceiling = int8_rate / per_text / speed["pytorch"]
        out.append(f"| {bundle.name}, {column} ({len(sample):,}) | {sum(lengths) / len(sample):.0f} | "
                   f"{per_text / 1e6:.0f} | {fp32_rate / 1e9:.0f} | {int8_rate / 1e9:.0f} | "
                   f"{speed['pytorch']:.1f} ({speed['pytorch'] * per_text / fp32_rate:.0%}) | "
                   f"{speed['int8']:.1f} ({speed['int8'] * per_text / int8_rate:.0%}) | "
                   f"{speed['int8'] / speed['pytorch']:.2f}x | **{ceiling:.2f}x** | {GOALS[column]:.0f}x |")
        print(out[-1], flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bundle", nargs="+", default=[str(BUNDLE)], help="bundle folders (bench_scoring.py's)")
    parser.add_argument("--data", default=str(RWWD), help="the RWWD csv")
    parser.add_argument("--n-texts", type=int, default=300, help="answers of each set (the first n rows)")
    parser.add_argument("--repeats", type=int, default=2, help="rounds of the two engines")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "roofline.md"))
    args = parser.parse_args()
    df = pd.read_csv(args.data)
    texts = {c: df[c].dropna().astype(str).head(args.n_texts).tolist() for c in GOALS}
    lines = ["| bundle, answers | tokens read a text | MMAC a text | fp32 products GMAC/s (PyTorch) | "
             "int8 products GMAC/s (onnxruntime) | eager texts/s (share of fp32 rate) | ours int8 texts/s "
             "(share of int8 rate) | ours x eager | ceiling x eager | goal |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for bundle in args.bundle:
            lines += rows_for(Path(bundle), texts, args.repeats, Path(tmp))
    text = (f"# Ceilings for int8 scoring (issue 33)\n\nMachine: {machine()}.\n\n" + "\n".join(lines)
            + f"\n\nRun: `python benchmarks/roofline.py --bundle {' '.join(args.bundle)} --n-texts "
            f"{args.n_texts} --repeats {args.repeats}` ({time.strftime('%Y-%m-%d')}).\n")
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
