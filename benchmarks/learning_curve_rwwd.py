"""Learning curve on the Real World Worry Dataset: anxiety (1-9) from the long texts.

Sizes 100 / 250 / 500 / 1000 / full (all texts outside the fixed 25% test set), 3 repeats
per size below full, TF-IDF baseline at each run. To fit a 2-core CPU the fine-tunes use
``epochs=5`` and ``max_length=128`` (instead of 10 and 256). Runs are recorded in
``benchmarks/models/curve_rwwd/runs.jsonl``, so an interrupted run resumes. Writes
``benchmarks/results/learning_curve_rwwd.md`` and ``learning_curve_rwwd.png``.

Run: ``python benchmarks/learning_curve_rwwd.py [--repeats 3]`` (about 40 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from pytext_psych import learning_curve
from pytext_psych.metadata import hardware

ROOT = Path(__file__).resolve().parents[1]
RWWD = ROOT.parent / "shared" / "data" / "rwwd" / "rwwd_full_clean.csv"
OUT = ROOT / "benchmarks" / "models" / "curve_rwwd"
RESULTS = ROOT / "benchmarks" / "results"
SETTINGS = dict(epochs=5, max_length=128)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--target", type=float, default=0.60)
    args = parser.parse_args()
    df = pd.read_csv(RWWD)
    curve = learning_curve(df, "text_long", "anxiety", sizes=(100, 250, 500, 1000, "full"),
                           repeats=args.repeats, output_dir=OUT, **SETTINGS)
    summary = curve.summary()
    runs = curve.runs[curve.runs.metric == "pearson_r"]
    need = curve.n_needed(args.target)
    p = curve.params
    largest = int(runs.n_train.max())
    ahead = curve.predict([largest, 2 * largest, 4 * largest])
    seconds = [json.loads(line).get("seconds") for line in (OUT / "runs.jsonl").read_text().splitlines()[1:]]
    h = hardware()
    lines = [
        "# Learning curve: RWWD anxiety from text_long",
        "",
        f"Machine: {h['cpu']}; {h['cores_available']} cores; {h.get('memory_gib')} GiB RAM; CPU only. "
        f"Data: `{RWWD.name}` (n = {len(df)}); fixed stratified test set of {curve.n_test} texts "
        f"(seed 42); subsamples of the remaining {largest} texts, each split 5:1 into train and "
        f"dev; default encoder, lr 5e-5, batch 16, epochs <= {SETTINGS['epochs']} (patience 3), "
        f"max_length {SETTINGS['max_length']}. {len(seconds)} runs, "
        f"{sum(s or 0 for s in seconds) / 60:.0f} min of fitting. Produced by "
        "`benchmarks/learning_curve_rwwd.py`.",
        "",
        "Test Pearson r per run (95% bootstrap CI, 1,000 BCa resamples):",
        "",
        "| n labelled | repeat | fine-tuned r [95% CI] | TF-IDF ridge r [95% CI] |",
        "|---|---|---|---|",
    ]
    for (n, r), g in runs.groupby(["n_train", "repeat"]):
        cell = {m: f"{x.estimate:.3f} [{x.conf_low:.3f}, {x.conf_high:.3f}]"
                for m, x in g.set_index("model").iterrows()}
        lines.append(f"| {n} | {r + 1} | {cell.get('fine-tuned', '')} | {cell.get('baseline', '')} |")
    lines += ["", "Across repeats (mean, SD):", "", "| n labelled | model | mean r | SD | runs |",
              "|---|---|---|---|---|"]
    for row in summary.sort_values(["n_train", "model"]).itertuples():
        sd = "" if pd.isna(row.sd) else f"{row.sd:.3f}"
        lines.append(f"| {row.n_train} | {row.model} | {row.mean:.3f} | {sd} | {row.runs} |")
    lines += [
        "",
        f"Inverse power law fitted to the fine-tuned runs: r = {p['a']:.3f} - {p['b']:.3f} * "
        f"n^(-{p['c']:.3f}) (asymptote {p['a']:.3f}).",
        "",
        "| n labelled | predicted r | 95% band | extrapolated |",
        "|---|---|---|---|",
        *[f"| {int(x.n_train)} | {x.estimate:.3f} | [{x.conf_low:.3f}, {x.conf_high:.3f}] | "
          f"{'yes' if x.extrapolated else 'no'} |" for x in ahead.itertuples()],
        "",
        f"**Labelled texts needed for r = {args.target:.2f}: about {need['n_train']:.0f} "
        f"(95% bootstrap interval {need['conf_low']:.0f} to {need['conf_high']:.0f}).** "
        + (need["caveat"] or "Within twice the largest size observed.")
        + " An estimate from a fitted curve, not a guarantee; the band comes from resampling "
        "the runs within each size.",
        "",
        "![learning curve](learning_curve_rwwd.png)",
    ]
    curve.plot(RESULTS / "learning_curve_rwwd.png", targets=[args.target])
    (RESULTS / "learning_curve_rwwd.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
