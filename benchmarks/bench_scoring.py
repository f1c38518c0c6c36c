"""Scoring throughput: PyTorch eager fp32 vs our ONNX fp32 vs our ONNX int8, in one run.

The same texts go through each engine, each in a fresh subprocess (so peak RSS is its
own): PyTorch eager as a Hugging Face user runs it (batches of 32 in input order, padded
per batch, ``torch.inference_mode``) on the windows the bundle reads (a text longer than its
``max_length`` in overlapping windows, their outputs averaged, as ``predict_scores`` does;
until the eighth session eager cut such texts at ``max_length`` instead, which did half the
work on long answers of a bundle with ``max_length`` 128), then ``predict_scores`` with ``precision="fp32"`` and
``"int8"`` (``raw_outputs``, the outputs alone), and int8 once more through the whole public
call, ``predict_scores`` with its defaults (the shift check, the data frame). Two text sets:
the 2,491 RWWD long answers (the bundle's own column) and the 2,491 short ones (``--n-texts``:
the first n of each). Reports texts/s, the ratio to eager, peak RSS, and parity with eager
(max abs output difference, score correlation, the change in Pearson r on the bundle's
test split). Then: where int8 time goes (onnxruntime's per-operator profile), a CSV of the
same short answers repeated (``--stream-rows``, 100,000 by default) streamed through
``write_scores`` in int8 (the path whose rate the table reports; ``"auto"`` would follow
the bundle's parity report) with its peak RSS, and the
size on disk of the light install (``pip install pytext-psych``) against the full one
(``pip install pytext-psych[train]``). Writes ``benchmarks/results/scoring.md``.

Run: ``python benchmarks/bench_scoring.py`` (fits the benchmark bundle first when it is
missing: the default model on 1,000 random RWWD rows, text_long -> anxiety, seed 42;
about 9 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

import numpy as np
import pandas as pd

# where bench_shift.py's section of scoring.md starts: kept when this script rewrites the file
from bench_shift import BEGIN as SHIFT

from pytext_psych.core.machine import cpu_flags
from pytext_psych.metadata import hardware
from pytext_psych.scoring.bundle import ONNX_FILES
from pytext_psych.scoring.sessions import exact_int8_entry, int8_class

ROOT = Path(__file__).resolve().parents[1]
RWWD = ROOT.parent / "shared" / "data" / "rwwd" / "rwwd_full_clean.csv"
BUNDLE = ROOT / "benchmarks" / "models" / "anxiety_subset1000"

WORKER = r'''
import json, sys, time
import numpy as np
engine, bundle, texts_file, out_file, dynamic_int8 = sys.argv[1:6]
texts = json.load(open(texts_file))
if engine == "pytorch":
    import torch
    from transformers import DataCollatorWithPadding
    from pytext_psych import load_model, load_torch_model
    from pytext_psych.core.windows import pooled
    from pytext_psych.training.nets import TokenCache
    d = load_model(bundle).description
    tok, net = load_torch_model(bundle)  # with the pooling it was trained with (mean by default)
    collate = DataCollatorWithPadding(tok, return_tensors="pt")
    def run(batch):  # the bundle's windows (a truncating bundle: the first max_length tokens)
        items, owner = TokenCache().windows(tok, batch, d.max_length, d.stride)
        out = []
        with torch.inference_mode():
            for i in range(0, len(items), 32):
                out.append(net(**collate(items[i:i + 32])).logits.numpy())
        return pooled(np.concatenate(out), owner)
elif engine == "int8_batched":  # two releases ago: padded batches share dynamic int8 scales
    import os
    import onnxruntime as ort
    from pytext_psych import load_model
    model = load_model(bundle)
    options = ort.SessionOptions()
    options.intra_op_num_threads = len(os.sched_getaffinity(0))
    session = ort.InferenceSession(dynamic_int8, options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    def run(batch):
        enc = model.tokenizer.encode_batch(batch)
        lengths = np.array([min(len(e.ids), model.description.max_length) for e in enc])
        order = np.argsort(-lengths, kind="stable")
        out = np.empty((len(batch), model.description.num_outputs), np.float32)
        for b in range(0, len(order), 32):
            rows = order[b:b + 32]
            ids = np.zeros((len(rows), lengths[rows].max()), np.int64)
            for r, row in enumerate(rows):
                ids[r, :lengths[row]] = enc[row].ids[:lengths[row]]
            mask = (np.arange(ids.shape[1])[None] < lengths[rows][:, None]).astype(np.int64)
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            out[rows] = session.run(None, {n: feed[n] for n in names})[0]
        return out
elif engine.startswith("per_text"):  # the previous release: one text per call, dynamic int8
    import os
    from concurrent.futures import ThreadPoolExecutor
    import onnxruntime as ort
    from pytext_psych import load_model
    from pytext_psych.core.windows import windows
    model = load_model(bundle)
    d = model.description
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    file = dynamic_int8 if engine == "per_text_int8" else str(model.path / d.onnx["files"]["fp32"])
    # as that release loaded it: onnxruntime fuses SkipLayerNormalization back in
    session = ort.InferenceSession(file, options, providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    def one(window):
        ids = np.asarray([window], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        return session.run(None, {n: v for n, v in feed.items() if n in names})[0][0]
    def score(encoding):
        each = [one(w) for w in windows(encoding.ids, d.max_length, d.stride)]
        return np.mean(np.asarray(each, dtype=np.float64), axis=0).astype(np.float32)
    def run(batch):
        with ThreadPoolExecutor(len(os.sched_getaffinity(0))) as pool:
            return np.asarray(list(pool.map(score, model.tokenizer.encode_batch(batch))))
elif engine == "int8_other_entry":  # ours with the exact-sum session entry flipped for this CPU
    import onnxruntime as ort
    from pytext_psych import load_model
    from pytext_psych.core.machine import cpu_flags
    from pytext_psych.scoring.infer import UNFUSED
    from pytext_psych.scoring.sessions import EXACT_INT8, exact_int8_entry
    model = load_model(bundle)
    options = ort.SessionOptions()  # predict_scores' settings, the entry set where it is not and vice versa
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    if exact_int8_entry(cpu_flags()) is None:
        options.add_session_config_entry(*EXACT_INT8)
    model._sessions["int8"] = ort.InferenceSession(
        str(model.path / model.description.onnx["files"]["int8"]), options,
        providers=["CPUExecutionProvider"], disabled_optimizers=UNFUSED)
    run = lambda batch: model.raw_outputs(batch, precision="int8")
elif engine == "predict_int8":  # the public call as a user makes it: the shift check on, a data frame back
    import warnings
    from pytext_psych import load_model, predict_scores
    warnings.simplefilter("ignore")  # the shift check's warning (it still runs)
    model = load_model(bundle)
    run = lambda batch: predict_scores(model, batch, precision="int8").select_dtypes("number").to_numpy()
else:
    from pytext_psych import load_model
    model = load_model(bundle)
    run = lambda batch: model.raw_outputs(batch, precision=engine)
run(texts[:64])  # warm-up: first session run, allocations
start = time.perf_counter()
outputs = run(texts)
seconds = time.perf_counter() - start
# same text, same score? the first 200 texts scored together vs one at a time
alone = np.concatenate([run([t]) for t in texts[:200]])
alone_max_diff = float(np.abs(outputs[:200] - alone).max())
if engine == "predict_int8":  # parity columns: the raw outputs its scores are made from (untimed)
    outputs = model.raw_outputs(texts, precision="int8")
np.save(out_file, outputs)
print(json.dumps({"seconds": seconds, "rss_mb": peak_rss_mb(), "alone_max_diff": alone_max_diff}))
'''

PROFILE = r'''
import collections, json, os, sys
import onnxruntime as ort
from pytext_psych import load_model
from pytext_psych.scoring.infer import UNFUSED
bundle, texts_file = sys.argv[1:3]
model = load_model(bundle)
session = model.session("int8")
options = session.get_session_options()  # predict_scores' own settings, plus profiling
options.enable_profiling = True
options.profile_file_prefix = os.path.join(os.path.dirname(texts_file), "ort_profile")
model._sessions["int8"] = ort.InferenceSession(
    str(model.path / model.description.onnx["files"]["int8"]), options,
    providers=session.get_providers(), disabled_optimizers=UNFUSED)
model.raw_outputs(json.load(open(texts_file)), precision="int8")
times = collections.Counter()
for event in json.load(open(model._sessions["int8"].end_profiling())):
    if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
        times[event["args"]["op_name"]] += event["dur"]
print(json.dumps(times))
'''

STREAM = r'''
import json, sys, time
from pytext_psych import write_scores
bundle, csv, out = sys.argv[1:4]
start = time.perf_counter()
write_scores(bundle, csv, out, text="text", precision="int8", progress=False)
print(json.dumps({"seconds": time.perf_counter() - start, "rss_mb": peak_rss_mb()}))
'''

# Peak RSS of this process image: VmHWM restarts at exec, while getrusage's ru_maxrss
# carries over the parent's peak (e.g. a bundle fitted earlier in the parent).
PEAK_RSS = r'''
def peak_rss_mb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024
'''

# the export computes the top layer for the first token only where the head reads it
TOP_LAYER = {"cls": "top layer computed for the first token only (the head reads it: pooling 'cls')",
             "mean": "top layer computed for every token (the head reads their mean: pooling 'mean')"}
ENGINES = (("pytorch", "PyTorch eager fp32"),
           ("fp32", "ONNX fp32, batches of equal length (ours)"),
           ("int8", "ONNX int8 static, batches of equal length (ours)"),
           ("predict_int8", "the same int8, through `predict_scores` (the shift check on, a data frame back)"),
           ("int8_other_entry", None),  # labelled by other_entry_label: what it is depends on the CPU
           ("fp16", "ONNX fp16, batches of equal length (ours; the GPU format, on this CPU)"),
           ("per_text_fp32", "ONNX fp32, one text per call (previous release)"),
           ("per_text_int8", "ONNX int8 dynamic, one text per call (previous release)"),
           ("int8_batched", "ONNX int8 dynamic, padded batches of 32 (two releases ago)"))
# what onnxruntime's fused operators do, for the profile table
OPS = {"DynamicQuantizeMatMul": "int8 matrix products (attention output, feed-forward)",
       "MatMulInteger": "int8 matrix products (attention output, feed-forward)",
       "QuantizeLinear": "activations to uint8 with the static scales",
       "Cast": "int32 products to float",
       "Mul": "element-wise products (scales not fused; attention and smoothing factors)",
       "Add": "bias and residual additions",
       "LayerNormalization": "layer norm",
       "QAttention": "int8 Q/K/V projections + attention (fused)",
       "SkipLayerNormalization": "residual add + layer norm (fused)",
       "BiasGelu": "bias + GELU (fused)",
       "MatMulIntegerToFloat": "int8 matrix products with their scales and bias (fused at export)",
       "FusedMatMul": "attention products not fused (top layer, or all if fusion failed)",
       "MatMul": "attention products not fused (top layer, or all if fusion failed)",
       "Softmax": "attention softmax not fused",
       "Transpose": "attention head reshuffles not fused"}


def other_entry_label() -> str:
    """The row of ours with the exact-sum session entry flipped: without it on CPUs that get
    it (saturating sums), with it on CPUs whose sums are exact anyway (a slower kernel)."""
    if exact_int8_entry(cpu_flags()):
        return ("ONNX int8 static, batches of equal length, onnxruntime's default (saturating) "
                "int8 product (ours until 2026-12-07)")
    return ("ONNX int8 static, batches of equal length, with `session.x64quantprecision` "
            "(uint8 x uint8 kernels; ours from 2026-12-07 until the twenty-eighth session)")


def machine() -> str:
    h, flags = hardware(), cpu_flags()
    simd = ", ".join(f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")
                     if f in flags) or "unknown"
    return (f"{h['cpu']} ({simd}; int8 class {int8_class(flags)}); {h['cores_available']} cores available; "
            f"{h.get('memory_gib', '?')} GiB RAM; GPU: {h['gpu'] or 'none'}; {h['system']}; "
            f"Python {h['python']}")


def previous_int8(bundle: Path, tmp: Path) -> Path:
    """The previous release's int8 of this bundle's fp32 graph: dynamic activation scales."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = tmp / "dynamic_int8.onnx"
    quantize_dynamic(str(bundle / "model.onnx"), str(target), weight_type=QuantType.QInt8, per_channel=True,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return target


def run_worker(script: str, *args: str) -> dict:
    res = subprocess.run([sys.executable, "-c", PEAK_RSS + script, *args], capture_output=True,
                         text=True)
    if res.returncode:
        raise RuntimeError(res.stderr[-3000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


def fit_bundle(path: Path, data: Path) -> None:
    from pytext_psych import fit_text_model

    subset = pd.read_csv(data).sample(1000, random_state=42)
    fit_text_model(subset, text="text_long", outcome="anxiety", output_dir=path, seed=42,
                   epochs=3, export="all")  # every precision, so every row of ours


def install_size_mb(tmp: Path, spec: str) -> float:
    """Size on disk of a fresh virtual environment's site-packages after ``pip install spec``
    (torch comes from the CPU wheel the README installs)."""
    env = Path(tempfile.mkdtemp(dir=tmp)) / "env"
    venv.create(env, with_pip=True)
    python = str(env / "bin" / "python")
    if "[train]" in spec:
        subprocess.run([python, "-m", "pip", "install", "-q", "torch==2.13.0"], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", spec], check=True)
    site = next((env / "lib").glob("python*/site-packages"))
    return sum(p.stat().st_size for p in site.rglob("*") if p.is_file()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bundle", default=str(BUNDLE))
    parser.add_argument("--data", default=str(RWWD), help="the RWWD csv")
    parser.add_argument("--stream-rows", type=int, default=100_000, help="0: no streaming part")
    parser.add_argument("--no-install-sizes", action="store_true", help="no pip installs")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of the engines")
    parser.add_argument("--n-texts", type=int, default=0, help="score the first n answers only (0: all)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "scoring.md"))
    args = parser.parse_args()
    from pytext_psych import load_model
    from pytext_psych.data.design import split_rows
    from pytext_psych.data.reading import prepare
    from pytext_psych.stats import headline_score

    bundle = Path(args.bundle)
    if not (bundle / "bundle.json").is_file():
        fit_bundle(bundle, Path(args.data))
    meta = load_model(bundle).description.to_json()  # the flat bundle.json keys
    df = pd.read_csv(args.data)
    prep = prepare(df, meta["text"], meta["outcome"], meta["task"])
    test = split_rows(prep.y, prep.task, meta["training"]["split"], meta["training"]["seed"]) == "test"
    y = prep.y if prep.task == "classification" else (prep.y - meta["target_mean"]) / meta["target_sd"]
    metric = "macro F1" if prep.task == "classification" else "Pearson r"
    keep = slice(None, args.n_texts or None)  # the first n answers (a base-size encoder's eager run is slow)
    test, y = test[keep], y[keep]
    text_sets = {meta["text"]: prep.texts[keep],
                 "text_short": df.loc[prep.index, "text_short"].astype(str).tolist()[keep]}

    tables, profile, short_speed = [], None, {}
    model = load_model(bundle)
    plans = {p: model.plan(p).describe() for p in meta["onnx"]["files"]}
    engines = [(e, label) for e, label in ENGINES if e not in ONNX_FILES or e in plans]  # ours: the bundle's
    if "int8" not in plans:
        engines = [(e, label) for e, label in engines if e not in ("int8_other_entry", "predict_int8")]
    if int8_class(cpu_flags()) == "other":
        engines = [(e, label) for e, label in engines if e != "int8_other_entry"]
    engines = [(e, label or other_entry_label()) for e, label in engines]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        dynamic = previous_int8(bundle, tmp)
        for column, texts in text_sets.items():
            (tmp / "texts.json").write_text(json.dumps(texts))
            speed, rss, outputs, alone = ({e: [] for e, _ in engines} for _ in range(4))
            for _ in range(args.repeats):  # rounds, so drift hits every engine alike
                for engine, _ in engines:
                    res = run_worker(WORKER, engine, str(bundle), str(tmp / "texts.json"),
                                     str(tmp / f"{engine}.npy"), str(dynamic))
                    speed[engine].append(len(texts) / res["seconds"])
                    rss[engine].append(res["rss_mb"])
                    alone[engine].append(res["alone_max_diff"])
                    outputs[engine] = np.load(tmp / f"{engine}.npy")
                    print(column, engine, res, flush=True)
            if profile is None:
                profile = run_worker(PROFILE, str(bundle), str(tmp / "texts.json"))
            if column == "text_short":  # the streaming part's rate is set against these
                short_speed = {e: float(np.median(v)) for e, v in speed.items()}
            eager = outputs["pytorch"]
            eager_metric = headline_score(prep.task, eager[test], y[test])
            lines = [
                f"### RWWD `{column}` ({len(texts):,} answers, {np.mean([len(t) for t in texts]):.0f} "
                "characters on average)",
                "",
                f"| engine | texts/s | ratio to eager [range] | peak RSS (MB) | max abs diff vs eager | "
                f"score r vs eager | {metric} (test split) | Δ {metric} vs eager | "
                "max abs change, batched vs alone |",
                "|---|---|---|---|---|---|---|---|---|",
            ]
            for engine, label in engines:
                out = outputs[engine]
                ratios = np.array(speed[engine]) / np.array(speed["pytorch"])
                m = headline_score(prep.task, out[test], y[test])
                lines.append(
                    f"| {label} | {np.median(speed[engine]):.1f} | {np.median(ratios):.2f}x "
                    f"[{ratios.min():.2f}, {ratios.max():.2f}] | {max(rss[engine]):.0f} | "
                    f"{np.abs(out - eager).max():.2g} | {np.corrcoef(out[:, 0], eager[:, 0])[0, 1]:.4f} | "
                    f"{m:.4f} | {m - eager_metric:+.4f} | {max(alone[engine]):.2g} |")
            tables.append("\n".join(lines))

        extras = []
        if args.stream_rows:
            short = pd.Series(text_sets["text_short"])  # the answers of the table, so the rates compare
            reps = -(-args.stream_rows // len(short))
            pd.DataFrame({"id": range(args.stream_rows),
                          "text": np.tile(short.to_numpy(), reps)[: args.stream_rows]}).to_csv(
                tmp / "big.csv", index=False)
            stream = run_worker(STREAM, str(bundle), str(tmp / "big.csv"), str(tmp / "scores.parquet"))
            print("stream", stream, flush=True)
            rate = args.stream_rows / stream["seconds"]
            extras += [
                f"Streaming: {args.stream_rows:,} rows (the {len(short):,} short answers above, repeated) from a CSV "
                f"file, `write_scores(bundle, csv, parquet, text=, precision='int8')`: "
                f"{stream['seconds']:.0f} s ({rate:.0f} texts/s: {rate / short_speed['pytorch']:.2f}x PyTorch "
                f"eager and {rate / short_speed['int8']:.2f}x our int8 in memory on the short answers above), "
                f"peak RSS {stream['rss_mb']:.0f} MB.", ""]
        if not args.no_install_sizes:
            light, full = (install_size_mb(tmp, spec) for spec in (str(ROOT), f"{ROOT}[train]"))
            print("sizes", light, full, flush=True)
            extras += [
                f"Install size (site-packages of a fresh virtual environment): light "
                f"`pip install pytext-psych` {light:,.0f} MB; full `pip install "
                f"pytext-psych[train]` {full:,.0f} MB ({full / light:.1f}x).", ""]

    pooling = meta["training"].get("pooling", "cls")  # bundles before mean pooling read the first token
    total = sum(profile.values())
    profile_lines = ["| operator | what it does | share of int8 time |", "|---|---|---|"] + [
        f"| {op} | {OPS.get(op, '')} | {100 * t / total:.1f}% |"
        for op, t in sorted(profile.items(), key=lambda kv: -kv[1]) if t / total >= 0.01]
    lines = [
        "# Scoring throughput: ONNX (ours) vs PyTorch eager",
        "",
        f"Machine: {machine()}.",
        "",
        f"Bundle: `{bundle.name}` ({meta['base_model']}; {meta['task']} of `{meta['outcome']}`; "
        f"max_length {meta['max_length']}; fused by onnxruntime: "
        f"{', '.join(f'{op} x{n}' for op, n in meta['onnx'].get('fused', {}).items()) or 'nothing'}"
        f"), fitted on {sum(meta['n'].values()):,} random RWWD rows, so the test-split "
        "rows below overlap its training data: read the metric columns for the *change* between "
        "engines only. Each engine scores the same texts in its own process after a 64-text "
        f"warm-up, in {args.repeats} round(s) of the engines: texts/s is the median "
        "over rounds, the ratio the median of each round's ratio [min, max]. PyTorch eager: "
        "batches of 32 windows in input order, padded per batch, `torch.inference_mode()`, as a "
        "Hugging Face user runs it, on the bundle's windows (their outputs averaged per text, as "
        "ours). Ours: `predict_scores`' "
        "path (Rust tokenizer on whole chunks; windows of equal length scored together, no "
        "padding, in batches of the size measured fastest on this machine, single-threaded "
        "onnxruntime calls on one thread per core; int8 with static activation scales and exact "
        "int32 sums (`session.x64quantprecision` on CPUs without VNNI or AMX, whose default "
        "kernel saturates; elsewhere onnxruntime's default kernel, exact there; the row with the "
        "entry flipped shows the other); Add + "
        f"LayerNormalization kept unfused; {TOP_LAYER[pooling]}; one cached session). Plans "
        f"measured here: {'; '.join(f'{p} {plan}' for p, plan in plans.items())}. The previous release "
        "scored one text per call with the graph onnxruntime fuses (SkipLayerNormalization) "
        "and dynamic int8 (rebuilt here from the same fp32 graph with onnxruntime's "
        "`quantize_dynamic`); the release before it scored dynamic int8 in length-sorted "
        "padded batches of 32 with all cores per call, where texts share activation scales. "
        "Last column: the largest change in a raw output when each of the first 200 texts is "
        "scored alone instead of in the run (0: a text's score does not depend on its "
        "batch-mates).",
        "",
        *[t + "\n" for t in tables],
        f"### Where int8 time goes (`{meta['text']}`, onnxruntime profile)",
        "",
        *profile_lines,
        "",
        *extras,
        f"Run: `{' '.join(['python benchmarks/bench_scoring.py', *sys.argv[1:]])}` "
        f"({time.strftime('%Y-%m-%d')}).",
    ]
    out = Path(args.out)
    previous = out.read_text() if out.exists() else ""
    kept = previous[previous.index(SHIFT):] if SHIFT in previous else ""  # bench_shift.py's section
    out.write_text("\n".join(lines) + "\n" + ("\n" + kept if kept else ""))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
