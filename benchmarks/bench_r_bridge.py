"""The same small fit called from Python and from R (reticulate), in one run.

Fits the default model on the shipped example data (topic, 400 answers, 3 epochs,
max_length 64, fp32 export) once from a Python process and once from an R process that
calls the R package pytextpsych (which must be installed: R CMD INSTALL rbridge).
Each is timed inside its own process (wall time of the fit call only), so the ratio
shows the bridge's overhead. Writes benchmarks/results/r_bridge.md.

Run: python benchmarks/bench_r_bridge.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pytext_psych.metadata import hardware

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 3

PYTHON = """
import sys, time
from pytext_psych import example_data, fit_text_model
data = example_data()
start = time.perf_counter()
fit = fit_text_model(data, text="answer", outcome="topic", output_dir=sys.argv[1], epochs=3,
                     max_length=64, export="fp32", progress=False, seed=42)
print(time.perf_counter() - start, fit.metrics.set_index("metric").estimate["f1_macro"])
"""

R = """
library(pytextpsych)
args <- commandArgs(trailingOnly = TRUE)
data <- read.csv(args[2], stringsAsFactors = FALSE)
start <- Sys.time()
fit <- fit_text_model(data, text = "answer", outcome = "topic", output_dir = args[1],
                      epochs = 3L, max_length = 64L, export = "fp32", progress = FALSE,
                      seed = 42L)
cat(as.numeric(difftime(Sys.time(), start, units = "secs")),
    fit$metrics$estimate[fit$metrics$metric == "f1_macro"], "\\n")
"""


def main() -> None:
    csv = ROOT / "pytext_psych" / "resources" / "stress_answers.csv"
    env = dict(os.environ, RETICULATE_PYTHON=sys.executable)
    runs: dict[str, list[tuple[float, float, float]]] = {"Python": [], "R (reticulate)": []}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(REPEATS):  # interleaved, so drifts in machine speed hit both
            for name, cmd in (("Python", [sys.executable, "-c", PYTHON, f"{tmp}/py{repeat}"]),
                              ("R (reticulate)", ["Rscript", "-e", R, f"{tmp}/r{repeat}", str(csv)])):
                wall = time.perf_counter()
                res = subprocess.run(cmd, capture_output=True, text=True, env=env)
                if res.returncode:
                    raise RuntimeError(res.stderr[-2000:])
                seconds, f1 = map(float, res.stdout.split()[-2:])
                runs[name].append((seconds, time.perf_counter() - wall, f1))
                print(name, runs[name][-1], flush=True)
    rows = [(name, *np.median(np.array(r), axis=0)) for name, r in runs.items()]
    spread = {name: ", ".join(f"{s:.1f}" for s, _, _ in r) for name, r in runs.items()}
    base = rows[0][1]
    h = hardware()
    lines = [
        "# A small fit from R vs from Python",
        "",
        f"Machine: {h['cpu']}; {h['cores_available']} cores; {h.get('memory_gib')} GiB RAM; "
        f"{h['system']}. R with OpenBLAS (Debian's libopenblas0-pthread). Fit: example data, "
        "topic (5 classes, 400 answers), 3 epochs, max_length 64, fp32 export, seed 42, "
        "with the TF-IDF baseline.",
        "",
        "History: before the bridge set RTLD_DEEPBIND (rbridge/R/python.R), PyTorch inside R "
        "bound its matrix products to R's BLAS: 1.85x as long as Python with OpenBLAS (73.9 s "
        "vs 39.9 s), over 10x with Debian's reference BLAS.",
        "",
        f"Each caller ran {REPEATS} times, interleaved; the table shows medians (all runs in brackets).",
        "",
        "| caller | fit seconds | ratio to Python | process wall s (with start-up) | test macro F1 |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {n} | {s:.1f} ({spread[n]}) | {s / base:.2f}x | {w:.1f} | {f:.3f} |"
              for n, s, w, f in rows]
    out = ROOT / "benchmarks" / "results" / "r_bridge.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
