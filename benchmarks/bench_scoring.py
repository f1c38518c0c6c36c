"""Scoring throughput: PyTorch eager fp32 vs our ONNX fp32 vs our ONNX int8, in one run.

The same texts go through each engine, each in a fresh subprocess (so peak RSS is its
own): PyTorch eager as a Hugging Face user runs it (batches of 32 in input order, padded
per batch, ``torch.inference_mode``), then ``predict_scores`` with ``precision="fp32"`` and
``"int8"``. Reports texts/s, the ratio to eager, peak RSS, and parity with eager (max abs
output difference, score correlation, and the change in Pearson r on the bundle's test
split). A second part streams a 100,000-row CSV through ``predict_scores(..., out=)``
and reports its peak RSS. Writes ``benchmarks/results/scoring.md``.

Run: ``python benchmarks/bench_scoring.py --bundle benchmarks/models/anxiety_lr5e-05``
(a bundle fitted on RWWD text_long -> anxiety, e.g. by choose_defaults.py).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pytext_psych.fit import hardware

ROOT = Path(__file__).resolve().parents[1]
RWWD = ROOT.parent / "shared" / "data" / "rwwd" / "rwwd_full_clean.csv"

WORKER = r'''
import json, resource, sys, time
import numpy as np
engine, bundle, texts_file, out_file = sys.argv[1:5]
texts = json.load(open(texts_file))
if engine == "pytorch":
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from pytext_psych import load_model
    max_length = load_model(bundle).meta["max_length"]
    tok = AutoTokenizer.from_pretrained(bundle)
    net = AutoModelForSequenceClassification.from_pretrained(bundle).eval()
    def run(batch):
        out = []
        with torch.inference_mode():
            for i in range(0, len(batch), 32):
                enc = tok(batch[i:i + 32], padding=True, truncation=True,
                          max_length=max_length, return_tensors="pt")
                out.append(net(**enc).logits.numpy())
        return np.concatenate(out)
else:
    from pytext_psych import load_model
    model = load_model(bundle)
    run = lambda batch: model.raw_outputs(batch, precision=engine)
run(texts[:64])  # warm-up: first session run, allocations
start = time.perf_counter()
outputs = run(texts)
seconds = time.perf_counter() - start
np.save(out_file, outputs)
print(json.dumps({"seconds": seconds,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''

STREAM = r'''
import json, resource, sys, time
from pytext_psych import predict_scores
bundle, csv, out = sys.argv[1:4]
start = time.perf_counter()
predict_scores(bundle, csv, text="text", out=out, progress=False)
print(json.dumps({"seconds": time.perf_counter() - start,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''


def machine() -> str:
    h = hardware()
    return (f"{h['cpu']}; {h['cores_available']} cores available; {h.get('memory_gib', '?')} GiB RAM; "
            f"GPU: {h['gpu'] or 'none'}; {h['system']}; Python {h['python']}")


def run_worker(script: str, *args: str) -> dict:
    res = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True)
    if res.returncode:
        raise RuntimeError(res.stderr[-3000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bundle", default=str(ROOT / "benchmarks" / "models" / "anxiety_lr5e-05"))
    parser.add_argument("--stream-rows", type=int, default=100_000)
    args = parser.parse_args()
    from pytext_psych import load_model
    from pytext_psych.data import prepare, split_rows
    from pytext_psych.stats import headline_score

    meta = load_model(args.bundle).meta
    df = pd.read_csv(RWWD)
    prep = prepare(df, meta["text"], meta["outcome"], meta["task"])
    test = split_rows(prep.y, prep.task, meta["training"]["split"], meta["training"]["seed"]) == "test"
    texts = prep.texts
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "texts.json").write_text(json.dumps(texts))
        results, outputs = {}, {}
        for engine in ("pytorch", "fp32", "int8"):
            results[engine] = run_worker(WORKER, engine, args.bundle, str(tmp / "texts.json"),
                                         str(tmp / f"{engine}.npy"))
            outputs[engine] = np.load(tmp / f"{engine}.npy")
            print(engine, results[engine], flush=True)
        short = pd.read_csv(RWWD).text_short
        reps = -(-args.stream_rows // len(short))
        pd.DataFrame({"id": range(args.stream_rows),
                      "text": np.tile(short.to_numpy(), reps)[: args.stream_rows]}).to_csv(
            tmp / "big.csv", index=False)
        stream = run_worker(STREAM, args.bundle, str(tmp / "big.csv"), str(tmp / "scores.parquet"))
        print("stream", stream, flush=True)

    y = prep.y if prep.task == "classification" else (prep.y - meta["target_mean"]) / meta["target_sd"]
    metric = "macro F1" if prep.task == "classification" else "Pearson r"
    eager = outputs["pytorch"]
    base_speed = len(texts) / results["pytorch"]["seconds"]
    lengths = [len(t) for t in texts]
    lines = [
        "# Scoring throughput: ONNX (ours) vs PyTorch eager",
        "",
        f"Machine: {machine()}.",
        f"Bundle: `{Path(args.bundle).name}` ({meta['base_model']}; {meta['task']} of "
        f"`{meta['outcome']}`; max_length {meta['max_length']}). Texts: the {len(texts):,} "
        f"RWWD `{meta['text']}` answers ({np.mean(lengths):.0f} characters on average), "
        "the same texts for every engine, each engine in its own process after a 64-text "
        "warm-up. PyTorch eager: batches of 32 in input order, padded per batch, "
        "`torch.inference_mode()`, as a Hugging Face user runs it. Ours: `predict_scores` "
        "(length-sorted batches of 32, fused graph). The bundle was fitted on a 1,000-row "
        "subset of RWWD (test r .49 on its own split), so the test-split rows here overlap its "
        "training data: read the metric columns for the *change* between engines only.",
        "",
        f"| engine | texts/s | ratio to eager | peak RSS (MB) | max abs diff vs eager | "
        f"score r vs eager | {metric} (test split) | Δ {metric} vs eager |",
        "|---|---|---|---|---|---|---|---|",
    ]
    eager_metric = headline_score(prep.task, eager[test], y[test])
    for engine, label in (("pytorch", "PyTorch eager fp32"), ("fp32", "ONNX fp32 (ours)"),
                          ("int8", "ONNX int8 (ours)")):
        out = outputs[engine]
        speed = len(texts) / results[engine]["seconds"]
        m = headline_score(prep.task, out[test], y[test])
        lines.append(
            f"| {label} | {speed:.1f} | {speed / base_speed:.2f}x | {results[engine]['rss_mb']:.0f} | "
            f"{np.abs(out - eager).max():.2g} | {np.corrcoef(out[:, 0], eager[:, 0])[0, 1]:.4f} | "
            f"{m:.4f} | {m - eager_metric:+.4f} |"
        )
    lines += [
        "",
        f"Streaming: {args.stream_rows:,} rows (RWWD `text_short`, repeated) from a CSV file, "
        f"`predict_scores(bundle, csv, text=, out=parquet)`, precision auto: "
        f"{stream['seconds']:.0f} s ({args.stream_rows / stream['seconds']:.0f} texts/s), "
        f"peak RSS {stream['rss_mb']:.0f} MB.",
        "",
        f"Run: `python benchmarks/bench_scoring.py --bundle {Path(args.bundle).relative_to(ROOT) if Path(args.bundle).is_relative_to(ROOT) else args.bundle}`"
        f" ({time.strftime('%Y-%m-%d')}).",
    ]
    out = ROOT / "benchmarks" / "results" / "scoring.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
