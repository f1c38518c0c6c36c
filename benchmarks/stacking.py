"""Tables from ``gpu_recipes.py``'s runs (``results/gpu_recipes_runs.jsonl`` and
``results/gpu_recipes_predictions.csv.gz``), on any machine, no fitting:

1. every recipe on all of RWWD anxiety (paper split, seed 42), against both baselines and
   paired with the new default on the same test texts;
2. the new default on the other data sets at the package's caps;
3. two candidates of issue 16 judged from the saved predictions: **stacking** the fine-tune
   with TF-IDF (and with the embeddings), weights by least squares on the dev texts, and
   **ensembles** of several fine-tunes (the mean of their standardised scores: the
   ensembles of a few seeds, with recipes in place of seeds).

Every interval is a paired 95% BCa bootstrap on the same test texts
(``pytext_psych.stats.bootstrap.compare_predictions``). Run: ``python benchmarks/stacking.py``;
it prints markdown for ``results/accuracy.md``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from accuracy import _cell, by_baseline, headline

from pytext_psych.stats.bootstrap import compare_predictions

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT = "new default"
BLENDS = ((["baseline_tfidf"], "TF-IDF"), (["baseline_tfidf", "baseline_embeddings"], "both baselines"))
ENSEMBLES = {"3 fits (new default, old default, mean pooling only)": [DEFAULT, "old default", "mean pooling only"]}


def runs() -> list[dict]:
    return [json.loads(line) for line in (RESULTS / "gpu_recipes_runs.jsonl").read_text().splitlines()]


def holdout(predictions: pd.DataFrame, data: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Dev and test predictions of ``data`` (ratings), one column per recipe, with the observed
    rating and both baselines (which do not depend on the recipe: same split)."""
    p = predictions[predictions["data"] == data]
    out = []
    for split in ("dev", "test"):
        rows = p[p["split"] == split]
        wide = rows.pivot(index="row", columns="recipe", values="predicted").astype(float)
        fixed = rows.drop_duplicates("row").set_index("row")[["observed", "baseline_tfidf", "baseline_embeddings"]]
        out.append(wide.join(fixed.astype(float)))
    return out[0], out[1]


def paired(observed, a, b) -> dict:
    """r of ``a``, and ``a`` minus ``b`` in r with its paired CI."""
    row = compare_predictions(observed, a, b, "regression").set_index("metric").loc["pearson_r"]
    return dict(r=row["estimate_a"], diff=f"{row['estimate']:+.3f} [{row['conf_low']:+.3f}, {row['conf_high']:+.3f}]")


def stacked(dev: pd.DataFrame, test: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Test scores of a least-squares blend of ``columns`` fitted on the dev texts."""
    def design(frame: pd.DataFrame) -> np.ndarray:
        return np.c_[np.ones(len(frame)), frame[columns].to_numpy()]

    weights = np.linalg.lstsq(design(dev), dev["observed"].to_numpy(), rcond=None)[0]
    return design(test) @ weights


def recipe_table(records: list[dict], test: pd.DataFrame) -> list[str]:
    lines = ["| recipe | test r [95% CI] | minus TF-IDF (paired) | minus embeddings (paired) | "
             "minus new default (paired) | best epoch | GPU s |", "|---|---|---|---|---|---|---|"]
    for r in sorted(records, key=lambda r: -r["metrics"][0]["estimate"]):
        diff = by_baseline(r["comparison"])
        versus = "" if r["recipe"] == DEFAULT else paired(test["observed"], test[r["recipe"]], test[DEFAULT])["diff"]
        lines.append(f"| {r['recipe']} | {_cell(r['metrics'], 'pearson_r')} | {_cell(diff['tfidf'], 'pearson_r')} | "
                     f"{_cell(diff['embeddings'], 'pearson_r')} | {versus} | {r['best_epoch']} | {r['seconds']:.0f} |")
    base = by_baseline(records[0]["baselines"])
    return lines + ["", f"Baselines on the same split: TF-IDF {_cell(base['tfidf'], 'pearson_r')}, "
                        f"embeddings {_cell(base['embeddings'], 'pearson_r')}."]


def other_sets(records: list[dict]) -> list[str]:
    lines = ["| data (n) | metric | new default [95% CI] | TF-IDF | embeddings | minus TF-IDF (paired) | "
             "minus embeddings (paired) | best epoch | GPU s |", "|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        metric = headline(r)
        base, diff = by_baseline(r["baselines"]), by_baseline(r["comparison"])
        lines.append(f"| {r['data']} ({r['n']}) | {metric} | {_cell(r['metrics'], metric)} | "
                     f"{_cell(base['tfidf'], metric)} | {_cell(base['embeddings'], metric)} | {_cell(diff['tfidf'], metric)} | "
                     f"{_cell(diff['embeddings'], metric)} | {r['best_epoch']} | {r['seconds']:.0f} |")
    return lines


def blends(dev: pd.DataFrame, test: pd.DataFrame, data: str, recipes: list[str]) -> list[str]:
    """Stacking each recipe's fine-tune with the baselines, and ensembles of fine-tunes."""
    lines = []
    for recipe in recipes:
        for extra, name in BLENDS:
            got = paired(test["observed"], stacked(dev, test, [recipe, *extra]), test[recipe])
            lines.append(f"| {data} | {recipe} + {name}, weights on dev | {got['r']:.3f} | {got['diff']} |")
    if len(recipes) > 1:
        scaled = (test[recipes] - dev[recipes].mean()) / dev[recipes].std()
        for name, members in {**ENSEMBLES, f"all {len(recipes)} fits": recipes}.items():
            got = paired(test["observed"], scaled[members].mean(axis=1), test[DEFAULT])
            lines.append(f"| {data} | ensemble of {name} | {got['r']:.3f} | {got['diff']} (vs the new default) |")
    return lines


def main() -> None:
    records = [r for r in runs() if "error" not in r]
    whole = [r for r in records if r["data"] == "RWWD anxiety"]
    predictions = pd.read_csv(RESULTS / "gpu_recipes_predictions.csv.gz", low_memory=False)
    dev, test = holdout(predictions, "RWWD anxiety")
    ratings = [r["data"] for r in records if r["data"] != "RWWD anxiety" and headline(r) == "pearson_r"]
    rows = ["| data | scores | test r | minus the fine-tune alone (paired) |", "|---|---|---|---|"]
    rows += blends(dev, test, "RWWD anxiety", [r["recipe"] for r in whole])
    for data in ratings:
        rows += blends(*holdout(predictions, data), data, [DEFAULT])
    print("\n".join(recipe_table(whole, test) + [""] + other_sets([r for r in records if r["data"] != "RWWD anxiety"])
                    + [""] + rows))


if __name__ == "__main__":
    main()
