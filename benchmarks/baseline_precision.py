"""The embedding baseline's frozen embeddings in fp32 and under bf16 autocast, side by side:
the same texts, the same random 62.5/12.5/25 split, ridge with its penalty chosen on dev
(the package's ``fit_penalised``); test r of each, the correlation of their test predictions,
the smallest cosine between a text's two embeddings, and the seconds each took. For the
choice that the baseline's embeddings follow the fit's ``mixed_precision``
(``training/precision.py``).

Data: the Real World Worry Dataset (Kleinberg et al., 2020; ``../shared/data/rwwd``, all 2,491
long answers -> anxiety) with all-mpnet-base-v2, and Empathic Reactions (Buechel et al., 2018;
``../shared/data/empathic_reactions``, all 1,860 essays -> empathy) with MiniLM-L6; 256 tokens,
windows every 128.

Run: ``python benchmarks/baseline_precision.py`` (writes ``results/baseline_precision.md``).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import pearsonr

from pytext_psych.core.machine import cpu_flags
from pytext_psych.evaluation.baseline import fit_penalised
from pytext_psych.metadata import hardware
from pytext_psych.training.encoders import text_embeddings
from pytext_psych.training.nets import using_all_cores

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SETS = [("RWWD anxiety", DATA / "rwwd" / "rwwd_full_clean.csv", "text_long", "anxiety", "mpnet-base"),
        ("Empathic Reactions empathy", DATA / "empathic_reactions" / "empathic_reactions.csv", "essay", "empathy",
         "default")]


def compare(path: Path, text: str, outcome: str, model: str) -> dict:
    df = pd.read_csv(path).dropna(subset=[text, outcome])
    texts, y = df[text].astype(str).tolist(), df[outcome].to_numpy(float)
    split = np.random.default_rng(0).choice(["train", "dev", "test"], size=len(texts), p=[.625, .125, .25])
    test, row = split == "test", {"n": len(texts), "encoder": model}
    kept = {}
    for precision in ("off", "bf16"):
        started = time.perf_counter()
        with using_all_cores():
            kept[precision] = text_embeddings(model, texts, 256, 128, mixed_precision=precision)
        row[f"{precision} s"] = round(time.perf_counter() - started, 1)
        predicted = np.asarray(fit_penalised(kept[precision], y, split, "regression", None,
                                             lambda a, b: 0.0).predicted, float).ravel()
        row[f"{precision} test r"], kept[precision + " predicted"] = pearsonr(predicted[test], y[test])[0], predicted
    row["r of the test predictions"] = pearsonr(kept["off predicted"][test], kept["bf16 predicted"][test])[0]
    a, b = kept["off"], kept["bf16"]
    row["smallest cosine"] = float(np.min((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)))
    return row


def main() -> None:
    rows = {name: compare(*spec) for name, *spec in SETS}
    machine = hardware()
    flags = [f for f in ("avx512_bf16", "amx_bf16") if f in cpu_flags()]
    lines = ["# Baseline embeddings: fp32 against bf16 autocast", "", __doc__.split("\n\n")[0].replace("\n", " "),
             "", f"Machine: {machine['cpu']} ({', '.join(flags) or 'no bf16 instructions'}), "
             f"{machine['cores_available']} cores; torch {torch.__version__}; {time.strftime('%Y-%m-%d')}.", "",
             pd.DataFrame(rows).T.to_markdown(floatfmt=".5g"), ""]
    out = ROOT / "benchmarks" / "results" / "baseline_precision.md"
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
