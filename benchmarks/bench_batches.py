"""Batched, batch-invariant scoring against the previous one-text-per-call path and PyTorch
eager, side by side in one run (issue 33).

From one fitted bundle (default: RWWD anxiety, all 2,491 long answers, MiniLM-L6, from
``benchmarks/encoders.py``), its weights are exported again with this release's exporter into
a scratch folder, so the same network is scored four ways on the same texts:

- PyTorch eager fp32, batches of 32 in input order, padded per batch (what a Hugging Face user runs);
- the previous release: the bundle's dynamic-int8 graph, one text per call, unpadded;
- this release, fp32 and per-token int8: texts of one length bucket, 16 rows per call.

For each: texts/s (best of two rounds, after a warm-up), the ratio to eager, and whether the
scores are the same bits forward, reversed, shuffled and one text at a time; for int8 the score
correlation with eager. Text sets: RWWD ``text_short`` and ``text_long`` answers. Writes
``benchmarks/results/scoring_batches.md`` with the machine and its CPU flags.

Run: ``python benchmarks/bench_batches.py [--bundle DIR] [--n 2000]``.
Data: Real World Worry Dataset (Kleinberg, van der Vegt & Mozes, 2020), ``../shared/data/rwwd``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pytext_psych import load_model, load_torch_model
from pytext_psych.metadata import hardware
from pytext_psych.scoring.infer import TextModel
from pytext_psych.training.export import export_onnx

ROOT = Path(__file__).resolve().parents[1]
RWWD = ROOT.parent / "shared" / "data" / "rwwd" / "rwwd_full_clean.csv"
BUNDLE = ROOT / "benchmarks" / "models" / "encoders" / "RWWD_anxiety_0_minilm"


def eager(bundle: Path, max_length: int):
    import torch

    tok, net = load_torch_model(bundle)

    def run(texts):
        out = []
        with torch.inference_mode():
            for i in range(0, len(texts), 32):
                enc = tok(texts[i:i + 32], padding=True, truncation=True, max_length=max_length,
                          return_tensors="pt")
                out.append(net(**enc).logits.numpy())
        return np.concatenate(out)
    return run


def rate(run, texts) -> tuple[float, np.ndarray]:
    run(texts[:64])
    best, out = np.inf, None
    for _ in range(2):
        start = time.perf_counter()
        out = run(texts)
        best = min(best, time.perf_counter() - start)
    return len(texts) / best, out


def invariant(run, texts) -> bool:
    forward = run(texts)
    order = np.random.default_rng(0).permutation(len(texts))
    shuffled = np.empty_like(forward)
    shuffled[order] = run([texts[i] for i in order])
    alone = np.concatenate([run([t]) for t in texts])
    return all(np.array_equal(forward, other) for other in (run(texts[::-1])[::-1], shuffled, alone))


def engines(bundle: Path, scratch: Path) -> dict:
    old = load_model(bundle)
    tok, net = load_torch_model(bundle)
    onnx = export_onnx(net, tok, scratch)
    new = TextModel(scratch, old.description.but(onnx=onnx))
    for name in ("tokenizer.json",):
        (scratch / name).write_bytes((bundle / name).read_bytes())
    return {"PyTorch eager fp32 (batches of 32)": eager(bundle, old.description.max_length),
            "previous: dynamic int8, one text a call": lambda t: old.raw_outputs(t, precision="int8"),
            "this release: fp32, 16 rows a call": lambda t: new.raw_outputs(t, precision="fp32"),
            "this release: per-token int8, 16 rows a call": lambda t: new.raw_outputs(t, precision="int8")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bundle", type=Path, default=BUNDLE)
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    df = pd.read_csv(RWWD).sample(frac=1, random_state=7)
    sets = {"text_short": df.text_short.astype(str).tolist()[:args.n],
            "text_long": df.text_long.astype(str).tolist()[:args.n // 4]}
    lines = ["# Batched, batch-invariant scoring (issue 33)", "", f"Machine: {describe_machine()}.", "",
             f"Bundle: `{args.bundle.name}`; its weights exported again by this release into a scratch folder.", "",
             "| texts | engine | texts/s | x eager | same bits (forward, reversed, shuffled, alone) | r with eager |",
             "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        runs = engines(args.bundle, Path(tmp))
        for column, texts in sets.items():
            reference = None
            for name, run in runs.items():
                speed, out = rate(run, texts)
                reference = out if reference is None else reference
                same = "" if "eager" in name else ("yes" if invariant(run, texts[:300]) else "**no**")
                r = np.corrcoef(out[:, 0], reference[:, 0])[0, 1]
                base = speed if "eager" in name else base
                lines.append(f"| {column} ({len(texts)}) | {name} | {speed:.0f} | {speed / base:.2f} | {same} | {r:.4f} |")
                print(lines[-1], flush=True)
    out = ROOT / "benchmarks" / "results" / "scoring_batches.md"
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


def describe_machine() -> str:
    import onnxruntime as ort

    h = hardware()
    flags = set(open("/proc/cpuinfo").read().split()) if Path("/proc/cpuinfo").exists() else set()
    shown = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_int8") if f in flags]
    return (f"{h['cpu']}, {h.get('cores_available')} cores, {h.get('memory_gib')} GiB; CPU flags "
            f"{', '.join(shown) or 'none of avx2/avx512'}; onnxruntime {ort.__version__}")


if __name__ == "__main__":
    main()
