"""One-GPU timings, for a machine with a CUDA GPU (CI has none): the default fine-tune of
RWWD anxiety (``text_long``, the paper's 62.5/12.5/25 split, seed 42) on the GPU through
``fit_text_model``'s one code path (mixed precision, bf16 where supported), then scoring
the 2,491 long answers with ``predict_scores`` (onnxruntime: its CUDA provider where the
onnxruntime-gpu build is installed, else its CPU provider on every core) and, for
reference, with PyTorch eager on the GPU (batches of 64, bf16 autocast).

Writes a markdown section to ``--out`` (paste it into ``benchmarks/results/distributed.md``).
Run: ``python benchmarks/bench_gpu.py --model <encoder folder> --data rwwd_full_clean.csv``.
Data: the Real World Worry Dataset (Kleinberg, van der Vegt & Mozes, 2020; CC BY 4.0).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from pytext_psych import fit_text_model, load_model, predict_scores
from pytext_psych.training.encoders import DEFAULT_MODEL


def eager_texts_per_second(bundle: Path, texts: list[str], max_length: int) -> float:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(bundle)
    net = AutoModelForSequenceClassification.from_pretrained(bundle).cuda().eval()
    order = np.argsort([len(t) for t in texts])
    torch.cuda.synchronize()
    start = time.perf_counter()
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
        for i in range(0, len(texts), 64):
            batch = [texts[j] for j in order[i : i + 64]]
            enc = tok(batch, padding=True, truncation=True, max_length=max_length,
                      return_tensors="pt").to("cuda")
            net(**enc).logits.float().cpu()
    torch.cuda.synchronize()
    return len(texts) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", default="gpu.md")
    args = parser.parse_args()
    import onnxruntime

    df = pd.read_csv(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        fit = fit_text_model(df, "text_long", "anxiety", model=args.model, seed=42,
                             output_dir=Path(tmp) / "bundle", progress=False)
        fit_seconds = time.perf_counter() - start
        r = fit.metrics.set_index("metric").loc["pearson_r"]
        texts = df["text_long"].astype(str).tolist()
        model = load_model(fit.bundle_path)
        predict_scores(model, texts[:64])  # warm-up: session creation
        start = time.perf_counter()
        predict_scores(model, texts)
        ort_rate = len(texts) / (time.perf_counter() - start)
        eager_texts_per_second(fit.bundle_path, texts[:128], model.description.max_length)  # warm-up
        eager_rate = eager_texts_per_second(fit.bundle_path, texts, model.description.max_length)
        providers = model.session().get_providers()
    epochs = fit.history["seconds"].to_numpy()
    lines = [
        "## Measured once on a GPU machine (bench_gpu.py)", "",
        f"Machine: {torch.cuda.get_device_name(0)}, {torch.get_num_threads()} CPU threads; "
        f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__} (providers available: "
        f"{', '.join(onnxruntime.get_available_providers())}).", "",
        "| what | result |", "|---|---|",
        f"| fit_text_model, RWWD anxiety from text_long, defaults (max_length 256, batch 16, "
        f"lr 5e-5, up to 10 epochs, patience 3), seed 42 | {fit_seconds:.0f} s in all "
        f"({len(epochs)} epochs, median {np.median(epochs):.1f} s per epoch incl. dev "
        f"scoring; the rest: export, int8 parity, scoring through the bundle, bootstrap) |",
        f"| test Pearson r [95% CI] | {r['estimate']:.3f} [{r['conf_low']:.3f}, "
        f"{r['conf_high']:.3f}] |",
        f"| predict_scores, 2,491 long answers, onnxruntime ({providers[0]}) | "
        f"{ort_rate:.0f} texts/s |",
        f"| PyTorch eager on the GPU, bf16, length-sorted batches of 64 | {eager_rate:.0f} texts/s |",
    ]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
