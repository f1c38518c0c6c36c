"""Which encoder: MiniLM-L6 (the default) against all-mpnet-base-v2 (``model="mpnet-base"``),
fine-tuned, and mpnet's frozen embeddings + ridge / logistic regression, on the same test texts.

For each data set of ``accuracy.py`` (a seeded subsample of ``--n`` texts, the package's
62.5/12.5/25 split, grouped by writer where texts share one), fits each recipe with the same
caps on epochs and length:

- ``minilm``: the default encoder, its embeddings baseline from mpnet (``baseline_model=
  "mpnet-base"``), so its record holds TF-IDF, mpnet embeddings + ridge and the fine-tune;
- ``mpnet``: all-mpnet-base-v2 fine-tuned, everything else the package's defaults;
- ``mpnet freeze``: the lowest 8 of its 12 layers frozen (``strategy="freeze"``,
  ``freeze_layers=8``), the top 4 trained from the frozen layers' stored outputs;
- ``mpnet freeze bf16``: the same under bf16 autocast (``mixed_precision="bf16"``);
- ``mpnet bf16``: every layer trained under bf16 autocast (a step 1.7x as fast on a CPU with
  AVX512-BF16, 7x with AMX, ``bench_base_training.py``);
- ``minilm bf16``: the default encoder under bf16 autocast (is bf16 as accurate as fp32?);
- ``mpnet bf16 lr2e-5``: ``mpnet bf16`` at learning rate 2e-5, the rate base-size encoders are
  usually tuned at (5e-5, the package's full-strategy rate, was chosen on MiniLM).

``--truncate``: texts cut at ``--max-length`` (``truncate=True``) as in the runs made before
sliding windows existed, so new recipes pair with them on equal terms. ``--package-defaults``:
no caps at all (the package's epochs, early stopping, length and windows, as a user's call
gets them); these fits are kept in their own folders (``..._defaults``) and pair only with
each other. ``--again``: fit a
recipe that has a record once more (another machine), adding a record; the paired
differences use the bundles on disk, so the last fit of each recipe.

Each record has the test metric with its 95% BCa CI, the paired differences to the baselines
and to ``minilm`` (same test texts; for a recipe fitted without baselines, ``--report`` pairs
it with the ``minilm`` bundle's baselines), and the fit's CPU and wall minutes. Results go to
``benchmarks/results/encoders_runs.jsonl`` (a finished fit is not refitted); ``--report``
prints the table for ``benchmarks/results/accuracy.md``.

Data (``../shared/data``, each with its SOURCE.md; credit in accuracy.py): Real World Worry
Dataset, Empathic Reactions, GoEmotions, PersuasionForGood.

Run: ``python benchmarks/encoders.py [--n 1000] [--epochs 3] [--max-length 128] [--sets ...]
[--recipes ...]``; an mpnet fit takes about eight times a MiniLM fit's CPU time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import SETS, _cell, by_baseline, data_for, headline  # noqa: E402

from pytext_psych import compare_models, fit_text_model  # noqa: E402
from pytext_psych.metadata import hardware  # noqa: E402
from pytext_psych.result import TextModelFit  # noqa: E402
from pytext_psych.stats.bootstrap import compare_predictions  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
RUNS = RESULTS / "encoders_runs.jsonl"
MODELS = ROOT / "benchmarks" / "models" / "encoders"
RECIPES = {"minilm": dict(model="default", baseline_model="mpnet-base"),
           "mpnet": dict(model="mpnet-base", baseline=False),
           "mpnet freeze": dict(model="mpnet-base", strategy="freeze", freeze_layers=8, baseline=False),
           "mpnet freeze bf16": dict(model="mpnet-base", strategy="freeze", freeze_layers=8,
                                     mixed_precision="bf16", baseline=False),
           "mpnet bf16": dict(model="mpnet-base", mixed_precision="bf16", baseline=False),
           "minilm bf16": dict(model="default", mixed_precision="bf16", baseline=False),
           "mpnet bf16 lr2e-5": dict(model="mpnet-base", mixed_precision="bf16", learning_rate=2e-5, baseline=False)}
DEFAULT_RECIPES = list(RECIPES)


def folder(name: str, recipe: str, n: int, package_defaults: bool = False) -> Path:
    return MODELS / (f"{name}_{n}_{recipe}" + "_defaults" * package_defaults).replace(" ", "_")


def run(name: str, recipe: str, args) -> dict:
    df, text, outcome, extra, n, max_length = data_for(name, args)
    caps = ({} if args.package_defaults else
            dict(epochs=args.epochs, max_length=max_length, truncate=args.truncate))
    started, wall = time.process_time(), time.perf_counter()
    fit = fit_text_model(df, text, outcome, output_dir=folder(name, recipe, n, args.package_defaults),
                         overwrite=True, progress=False, **caps, **extra, **RECIPES[recipe])
    return dict(data=name, recipe=recipe, n=len(df), n_arg=n, package_defaults=args.package_defaults,
                max_length=fit.settings.get("max_length"), epochs=fit.settings.get("epochs"),
                truncate=fit.settings.get("truncate"), machine=hardware(),
                strategy=fit.settings.get("strategy"), metrics=fit.metrics.to_dict("records"),
                baselines=None if fit.baseline_metrics is None else fit.baseline_metrics.to_dict("records"),
                comparison=None if fit.baseline_metrics is None else compare_models(fit).to_dict("records"),
                cpu_minutes=(time.process_time() - started) / 60,
                wall_minutes=(time.perf_counter() - wall) / 60, best_epoch=int(fit.best_epoch))


def versus_minilm(record: dict, metric: str) -> list[str]:
    """A recipe without baselines of its own minus TF-IDF, minus mpnet embeddings (the
    ``minilm`` record's baselines, fitted on the same split) and minus the MiniLM fit, on the
    same test texts, from the two saved bundles."""
    n = record.get("n_arg", record["n"])  # the n the folders were named by (0: every row)
    defaults = record.get("package_defaults", False)
    folders = [folder(record["data"], r, n, defaults) for r in (record["recipe"], "minilm")]
    if not all((f / "bundle.json").exists() for f in folders):
        return ["", "", "-"]
    fit, minilm = (TextModelFit.from_bundle(f) for f in folders)
    cases = minilm.predictions
    versus_baselines = [compare_predictions(cases["observed"], fit.predictions["predicted"], cases[column],
                                            fit.task, labels=fit.labels).to_dict("records")
                        for column in ("baseline_tfidf", "baseline_embeddings")]
    return [_cell(rows, metric) for rows in (*versus_baselines, compare_models(fit, minilm).to_dict("records"))]


def report() -> str:
    runs = [json.loads(line) for line in RUNS.read_text().splitlines()]
    lines = ["| data (n) | metric | recipe | test [95% CI] | TF-IDF | mpnet embeddings | minus TF-IDF | "
             "minus mpnet embeddings | minus MiniLM fine-tuned | CPU min | wall min |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        metric = headline(r)
        base = by_baseline(r["baselines"]) if r["baselines"] else None
        diff = by_baseline(r["comparison"]) if r["comparison"] else None
        cells = ([_cell(base["tfidf"], metric), _cell(base["embeddings"], metric),
                  _cell(diff["tfidf"], metric), _cell(diff["embeddings"], metric), ""] if base
                 else ["", "", *versus_minilm(r, metric)])
        recipe = r["recipe"] + " (package defaults)" * r.get("package_defaults", False)
        lines.append(f"| {r['data']} ({r['n']}) | {metric} | {recipe} | {_cell(r['metrics'], metric)} | "
                     + " | ".join(cells) + f" | {r['cpu_minutes']:.1f} | {r['wall_minutes']:.1f} |")
    return "\n".join(lines)


def scoring(name: str, n: int, texts: int = 500) -> str:
    """Scoring speed and size of the saved ``minilm`` and ``mpnet`` bundles of data set
    ``name``: texts/s of ``predict_scores`` on ``texts`` of its texts, fp32 and int8, in
    rounds (a busy moment hits every engine), and the bundle's MB on disk."""
    from pytext_psych import load_model, predict_scores

    read, text, _, _ = SETS[name]
    sample = read().sample(frac=1, random_state=7)[text].head(texts).tolist()
    bundles = {r: load_model(folder(name, r, n)) for r in ("minilm", "mpnet")}
    seen: dict = {(r, p): [] for r in bundles for p in ("fp32", "int8")}
    for _ in range(2):
        for (r, p) in seen:
            started = time.perf_counter()
            predict_scores(bundles[r], sample, precision=p, progress=False, check_shift=False)
            seen[(r, p)].append(len(sample) / (time.perf_counter() - started))
    lines = ["| bundle | MB on disk | fp32 texts/s | int8 texts/s |", "|---|---|---|---|"]
    for r in ("minilm", "mpnet"):
        mb = sum(f.stat().st_size for f in folder(name, r, n).iterdir()) / 1e6
        lines.append(f"| {r} | {mb:.0f} | {max(seen[(r, 'fp32')]):.1f} | {max(seen[(r, 'int8')]):.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument("--recipes", nargs="+", default=DEFAULT_RECIPES, choices=list(RECIPES))
    parser.add_argument("--truncate", action="store_true", help="cut long texts (as runs before windows did)")
    parser.add_argument("--package-defaults", action="store_true", help="no caps: the package's own defaults")
    parser.add_argument("--again", action="store_true", help="refit recipes that have a record (a new record)")
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--scoring", metavar="SET", help="scoring speed and size of SET's two bundles")
    args = parser.parse_args()
    if args.report:
        print(report())
        return
    if args.scoring:
        print(scoring(args.scoring, SETS[args.scoring][3].get("n", args.n)))
        return
    warnings.filterwarnings("ignore", category=UserWarning)
    records = map(json.loads, RUNS.read_text().splitlines()) if RUNS.exists() else []
    done = {(r["data"], r["recipe"], r.get("n_arg", r["n"]), r.get("package_defaults", False)) for r in records}
    for name in args.sets:
        for recipe in args.recipes:
            n = SETS[name][3].get("n", args.n)
            if (name, recipe, n, args.package_defaults) in done and not args.again:
                continue
            record = run(name, recipe, args)
            with open(RUNS, "a") as f:
                f.write(json.dumps(record) + "\n")
            print(pd.Series({k: v for k, v in record.items() if k not in ("metrics", "baselines", "comparison")}),
                  flush=True)


if __name__ == "__main__":
    main()
