"""Accuracy of the default recipe against both baselines, on several public data sets.

For each data set (a seeded subsample of ``--n`` texts; the package's 62.5/12.5/25 split,
grouped by writer where texts share one), fits the old default (first-token pooler, random head) and the new
one (mean pooling + linear-probe warm start; see ``TrainSettings.pooling`` and
``linear_probe``) with the same caps on epochs and length, and records the test metric with
its 95% BCa CI, the paired differences to the two built-in baselines (TF-IDF and the
``text``-style frozen embeddings) and between the recipes, and the CPU minutes of each fit.
Results go to ``benchmarks/results/accuracy_runs.jsonl`` (a finished fit is not refitted)
and the tables in ``benchmarks/results/accuracy.md`` (section "Recipes").

Data (``../shared/data``, each with its SOURCE.md; credit there): Real World Worry Dataset
(Kleinberg et al., 2020), Empathic Reactions (Buechel et al., 2018), GoEmotions (Demszky
et al., 2020; its 8 most frequent emotions besides neutral), PersuasionForGood (Wang et
al., 2019; the persuader's or persuadee's Big Five, weak signal expected).

Run: ``python benchmarks/accuracy.py [--n 1000] [--epochs 5] [--max-length 128] [--sets ...]
[--recipes ...]`` (3 to 5 minutes a fit on 2 cores; RWWD's long answers 15 to 25);
``--small-n`` the learning curve's small sizes (about 25 minutes); ``--report`` prints the
tables.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import pandas as pd

from pytext_psych import compare_models, fit_text_model, learning_curve
from pytext_psych.metadata import hardware
from pytext_psych.result import TextModelFit

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
MODELS = ROOT / "benchmarks" / "models" / "accuracy"
RECIPES = {"old default": dict(pooling="cls", linear_probe=False),
           "new default": dict(pooling="mean", linear_probe=True),
           # which half of the new default does what; and a candidate for classes only
           "mean pooling only": dict(pooling="mean", linear_probe=False),
           "new + class weights": dict(pooling="mean", linear_probe=True, class_weights=True),
           # layer-wise learning-rate decay (Sun et al., 2019): 0.9 per layer, so MiniLM's
           # embeddings train at 0.48 times the head's rate
           "new + layer decay 0.9": dict(pooling="mean", linear_probe=True, layer_decay=0.9),
           # SetFit-style pairs (pytext_psych.training.contrastive), for classes and ratings
           "contrastive": dict(pooling="mean", strategy="contrastive")}


def goemotions() -> pd.DataFrame:
    df = pd.read_csv(DATA / "goemotions" / "goemotions_single_label.csv")
    top = df[df.label != "neutral"].label.value_counts().index[:8]
    return df[df.label.isin(top)]


SETS = {  # name: (read, text, outcome, options; "n" / "max_length" override the command line's)
    # (the full RWWD with the paper's split and the package's caps: --n 0 --epochs 10
    # --max-length 256 --sets "RWWD anxiety")
    "RWWD anxiety": (lambda: pd.read_csv(DATA / "rwwd" / "rwwd_full_clean.csv"), "text_long", "anxiety",
                     {}),
    "RWWD emotion": (lambda: pd.read_csv(DATA / "rwwd" / "rwwd_full_clean.csv"), "text_short",
                     "chosen_emotion", {"max_length": 64}),
    "Empathic Reactions empathy": (lambda: pd.read_csv(DATA / "empathic_reactions" / "empathic_reactions.csv"),
                                   "essay", "empathy", {"group": "response_id"}),
    "GoEmotions 8 emotions": (goemotions, "text", "label", {"n": 2000, "max_length": 64}),
    "PersuasionForGood extraversion": (
        lambda: pd.read_csv(DATA / "persuasionforgood_personality" / "persuasionforgood_personality.csv"),
        "text", "extraversion", {"group": "user_id"}),
}


def data_for(name: str, args) -> tuple[pd.DataFrame, str, str, dict, int, int]:
    """Data set ``name`` as the fits read it: its rows (a seeded subsample of ``n`` texts, or
    every row for ``n`` 0), the text and outcome columns, the other options, ``n`` and
    ``max_length`` (the set's own, else the command line's)."""
    read, text, outcome, extra = SETS[name]
    extra = dict(extra)
    n, max_length = extra.pop("n", args.n), extra.pop("max_length", args.max_length)
    df = read() if n == 0 else read().sample(frac=1, random_state=42).head(n)
    return df, text, outcome, extra, n, max_length


def run(name: str, recipe: str, args) -> dict:
    df, text, outcome, extra, n, max_length = data_for(name, args)
    started, wall = time.process_time(), time.perf_counter()
    fit = fit_text_model(df, text, outcome, output_dir=_folder(name, recipe, n == 0),
                         overwrite=True, progress=False, epochs=args.epochs, max_length=max_length,
                         **extra, **RECIPES[recipe])
    minutes = (time.process_time() - started) / 60
    return dict(data=name, recipe=recipe, n=len(df), max_length=max_length, metrics=fit.metrics.to_dict("records"),
                baselines=fit.baseline_metrics.to_dict("records"),
                comparison=compare_models(fit).to_dict("records"), cpu_minutes=minutes,
                best_epoch=int(fit.best_epoch), wall_minutes=(time.perf_counter() - wall) / 60)


def small_n(args) -> None:
    """The RWWD learning curve's small sizes (100 and 250 labelled texts, 3 subsamples each,
    fixed test set of 623) with each recipe but the old default (the new default's runs in
    ``curve_small_n``), each run paired with TF-IDF."""
    df = pd.read_csv(DATA / "rwwd" / "rwwd_full_clean.csv")
    for recipe in (r for r in args.recipes if r != "old default"):
        learning_curve(df, "text_long", "anxiety", sizes=(100, 250), repeats=3, progress=False,
                       output_dir=_curve_folder(recipe), epochs=args.epochs, max_length=args.max_length, **RECIPES[recipe])


def _curve_folder(recipe: str) -> Path:
    return MODELS / ("curve_small_n" + ("" if recipe == "new default" else f"_{recipe}".replace(" ", "_")))


def _cell(rows: list[dict], metric: str) -> str:
    m = next(r for r in rows if r["metric"] == metric)
    return f"{m['estimate']:.3f} [{m['conf_low']:.3f}, {m['conf_high']:.3f}]"


def headline(record: dict) -> str:
    """The metric a run's tables report: r for ratings, macro F1 for classes."""
    return "pearson_r" if any(m["metric"] == "pearson_r" for m in record["metrics"]) else "f1_macro"


def by_baseline(rows: list[dict]) -> dict[str, list[dict]]:
    """A run's baseline rows (or paired comparisons) split by baseline."""
    return {b: [m for m in rows if m["baseline"] == b] for b in ("tfidf", "embeddings")}


def _versus_old(record: dict, metric: str) -> str:
    """A recipe minus the old default on the same test texts (from the two saved bundles)."""
    if record["recipe"] == "old default":
        return ""
    whole = record["settings"]["n"] == 0
    folders = [_folder(record["data"], recipe, whole) for recipe in (record["recipe"], "old default")]
    if not all(f.exists() for f in folders):
        return "-"
    fits = [TextModelFit.from_bundle(f) for f in folders]
    return _cell(compare_models(*fits).to_dict("records"), metric)


def _folder(name: str, recipe: str, whole: bool) -> Path:
    return MODELS / f"{name}_{recipe}{'_all_rows' if whole else ''}".replace(" ", "_")


def report() -> str:
    """The tables of accuracy.md from the recorded runs."""
    runs = sorted((json.loads(line) for line in (RESULTS / "accuracy_runs.jsonl").read_text().splitlines()),
                  key=lambda r: (list(SETS).index(r["data"]), list(RECIPES).index(r["recipe"])))
    lines = ["| data (n) | metric | recipe | test estimate [95% CI] | TF-IDF | embeddings | "
             "minus TF-IDF (paired) | minus embeddings (paired) | minus old default (paired) | CPU min | best epoch |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        metric = headline(r)
        base, diff = by_baseline(r["baselines"]), by_baseline(r["comparison"])
        rows = f"{r['n']}, all in file order" if r["settings"]["n"] == 0 else r["n"]
        lines.append(f"| {r['data']} ({rows}) | {metric} | {r['recipe']} | {_cell(r['metrics'], metric)} | "
                     f"{_cell(base['tfidf'], metric)} | {_cell(base['embeddings'], metric)} | "
                     f"{_cell(diff['tfidf'], metric)} | {_cell(diff['embeddings'], metric)} | "
                     f"{_versus_old(r, metric)} | {r['cpu_minutes']:.1f} | {r['best_epoch']} |")
    lines += ["", "| labelled texts | run | recipe | r [95% CI] | TF-IDF r | paired difference | run s |",
              "|---|---|---|---|---|---|---|"]
    for recipe in (r for r in RECIPES if (_curve_folder(r) / "runs.jsonl").exists()):
        for r in [json.loads(line) for line in (_curve_folder(recipe) / "runs.jsonl").read_text().splitlines()[1:]]:
            t = r["tables"]
            lines.append(f"| {r['n_train']} | {r['repeat'] + 1} | {recipe} | {_cell(t['fine-tuned'], 'pearson_r')} | "
                         f"{_cell(t['baseline'], 'pearson_r')} | {_cell(t['fine-tuned minus baseline'], 'pearson_r')} | "
                         f"{r['seconds']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000,
                        help="texts per data set, a seeded random subsample; 0: every row in the file's "
                             "order (for RWWD, the paper's split)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument("--recipes", nargs="+", default=["old default", "new default"], choices=list(RECIPES))
    parser.add_argument("--small-n", action="store_true", help="run the small learning-curve sizes only")
    parser.add_argument("--report", action="store_true", help="print the tables of the recorded runs")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    if args.small_n:
        return small_n(args)
    if args.report:
        return print(report())
    log = RESULTS / "accuracy_runs.jsonl"
    done = {(r["data"], r["recipe"], r["settings"]["n"]) for r in map(json.loads, log.read_text().splitlines())} \
        if log.exists() else set()
    for name in args.sets:
        for recipe in args.recipes:
            if (name, recipe, args.n) in done:
                continue
            record = run(name, recipe, args)
            record.update(settings=dict(n=args.n, epochs=args.epochs, max_length=args.max_length),
                          machine=hardware())
            with log.open("a") as fh:
                fh.write(json.dumps(record, default=str) + "\n")
            print(name, recipe, f"{record['cpu_minutes']:.1f} CPU min", flush=True)


if __name__ == "__main__":
    main()
