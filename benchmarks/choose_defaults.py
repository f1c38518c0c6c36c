"""Measure candidate default training settings on the Real World Worry Dataset.

Fits the default encoder (MiniLM-L6) with each candidate learning rate on the paper's
62.5/12.5/25 split, next to a TF-IDF baseline fitted on the same split, and writes
``benchmarks/results/defaults_<outcomes>.md``. Two targets:

* regression: ``text_long`` -> ``anxiety`` (Pearson r)
* classification: ``text_short`` -> ``chosen_emotion`` (8 unbalanced classes, macro F1)

Run: ``python benchmarks/choose_defaults.py [--outcomes anxiety] [--lrs 5e-5 1e-4] [--limit N]``
(needs ../shared/data/rwwd; CPU takes about an hour). The TF-IDF rows recorded in
defaults.md were made before the baseline moved into the package (min_df 2, ridge penalty
chosen by dev r rather than squared error); rerunning gives the package's baseline.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pytext_psych import bootstrap_metrics, fit_text_model
from pytext_psych.data.design import split_rows
from pytext_psych.data.reading import prepare
from pytext_psych.evaluation.baseline import fit_baseline
from pytext_psych.stats import dev_scorer

ROOT = Path(__file__).resolve().parents[1]
RWWD = ROOT.parent / "shared" / "data" / "rwwd" / "rwwd_full_clean.csv"
MODELS = ROOT / "benchmarks" / "models"  # fitted bundles (not committed)
TASKS = [("text_long", "anxiety", "pearson_r"), ("text_short", "chosen_emotion", "f1_macro")]


def tfidf_baseline(df: pd.DataFrame, text: str, outcome: str, seed: int) -> tuple[pd.DataFrame, float]:
    """The package's TF-IDF baseline (pytext_psych.evaluation.baseline) on the same split, test metrics."""
    prep = prepare(df, text, outcome)
    split = split_rows(prep.y, prep.task, seed=seed)
    started = time.perf_counter()
    base = fit_baseline(prep.texts, prep.y, split, prep.task, len(prep.labels or [0]),
                        dev_scorer(prep.task))
    test = split == "test"
    if prep.task == "classification":
        labels = np.asarray(prep.labels, dtype=object)
        metrics = bootstrap_metrics(labels[prep.y[test]], labels[base.predicted[test]],
                                    "classification", labels=prep.labels)
    else:
        metrics = bootstrap_metrics(prep.y[test], base.predicted[test], "regression")
    return metrics, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lrs", type=float, nargs="+", default=[5e-5, 1e-4])
    parser.add_argument("--limit", type=int, default=None, help="use the first N rows only")
    parser.add_argument("--outcomes", nargs="+", default=[t[1] for t in TASKS])
    parser.add_argument("--patience", type=int, default=3)
    args = parser.parse_args()
    df = pd.read_csv(RWWD)
    if args.limit:
        df = df.head(args.limit)
    lines = [
        "# Choosing the default training settings (RWWD)",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.system()}; CPU only. Data: `{RWWD.name}`, n = {len(df)}, split 62.5/12.5/25 "
        "(seed 42), default encoder MiniLM-L6, batch 16, max_length 256, epochs <= 10.",
        "",
        "| target | model | test metric | estimate | 95% CI | epochs run (best) | train s |",
        "|---|---|---|---|---|---|---|",
    ]
    for text, outcome, headline in (t for t in TASKS if t[1] in args.outcomes):
        metrics, seconds = tfidf_baseline(df, text, outcome, seed=42)
        row = metrics.set_index("metric").loc[headline]
        lines.append(f"| {outcome} | TF-IDF baseline | {headline} | {row.estimate:.3f} | "
                     f"[{row.conf_low:.3f}, {row.conf_high:.3f}] | - | {seconds:.0f} |")
        print(lines[-1], flush=True)
        for lr in args.lrs:
            started = time.perf_counter()
            fit = fit_text_model(df, text=text, outcome=outcome, learning_rate=lr,
                                 patience=args.patience, overwrite=True, progress=False,
                                 output_dir=MODELS / f"{outcome}_lr{lr:g}")
            seconds = time.perf_counter() - started
            row = fit.metrics.set_index("metric").loc[headline]
            dev = ", ".join(f"{v:.3f}" for v in fit.history["dev_metric"])
            lines.append(f"| {outcome} | MiniLM lr {lr:g}, patience {args.patience} | {headline} | {row.estimate:.3f} | "
                         f"[{row.conf_low:.3f}, {row.conf_high:.3f}] | {len(fit.history)} "
                         f"({fit.best_epoch}); dev: {dev} | {seconds:.0f} |")
            print(lines[-1], flush=True)
    out = ROOT / "benchmarks" / "results" / f"defaults_{'_'.join(args.outcomes)}.md"
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
