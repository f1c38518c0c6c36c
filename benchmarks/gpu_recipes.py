"""Recipe search on a lent GPU machine (CI has none): fits each (data set, recipe) of
``JOBS`` through ``fit_text_model``'s one code path, a few at a time on the one GPU, and
writes each fit's record (test metric with its CI, both baselines, the paired comparisons,
the epochs, seconds) to ``results.jsonl`` and its holdout predictions (dev and test: the
fine-tune's and both baselines') to ``predictions.csv.gz``, for analyses on a CPU
afterwards (``benchmarks/stacking.py``).

The data sets and recipes are ``accuracy.py``'s; here every fit uses the package's own
caps (up to 10 epochs, patience 3, 256 tokens, or 64 for short texts), and RWWD anxiety is
the whole file with the paper's split (seed 42), the issue's target. Jobs run in priority
order and none starts after ``--deadline`` seconds, so a lease that ends early still
returns the most important ones.

Run: ``python benchmarks/gpu_recipes.py --model <encoder folder> --data <folder holding
../shared/data's sets> --out <folder>``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path

import accuracy
import pandas as pd

WHOLE_RWWD = "RWWD anxiety"
NEW = accuracy.RECIPES["new default"]
# (data set, recipe name, options), most important first
JOBS = [
    (WHOLE_RWWD, "new default", NEW),
    (WHOLE_RWWD, "old default", accuracy.RECIPES["old default"]),
    (WHOLE_RWWD, "new + lr 1e-4", dict(NEW, learning_rate=1e-4)),
    (WHOLE_RWWD, "new + max_length 512", dict(NEW, max_length=512)),
    ("Empathic Reactions empathy", "new default", NEW),
    ("RWWD emotion", "new default", NEW),
    ("GoEmotions 8 emotions", "new default", NEW),
    ("PersuasionForGood extraversion", "new default", NEW),
    (WHOLE_RWWD, "new + lr 2e-5", dict(NEW, learning_rate=2e-5)),
    (WHOLE_RWWD, "new + layer decay 0.9", accuracy.RECIPES["new + layer decay 0.9"]),
    (WHOLE_RWWD, "new + 20 epochs", dict(NEW, epochs=20, patience=5)),
    (WHOLE_RWWD, "new + batch 32", dict(NEW, batch_size=32)),
    (WHOLE_RWWD, "contrastive", accuracy.RECIPES["contrastive"]),
    (WHOLE_RWWD, "mean pooling only", accuracy.RECIPES["mean pooling only"]),
]


def fit_one(name: str, recipe: str, options: dict, model: str, data: str, n: int) -> tuple[dict, pd.DataFrame]:
    """One fit; its record and holdout predictions."""
    from pytext_psych import compare_models, fit_text_model

    accuracy.DATA = Path(data)
    read, text, outcome, extra = accuracy.SETS[name]
    extra = dict(extra)
    rows = 0 if name == WHOLE_RWWD else extra.pop("n", n)
    df = read() if rows == 0 else read().sample(frac=1, random_state=42).head(rows)
    options = {**extra, **options}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        fit = fit_text_model(df, text, outcome, model=model, output_dir=Path(tmp) / "bundle",
                             progress=False, export="fp32", **options)
    record = dict(data=name, recipe=recipe, n=len(df), options=options,
                  metrics=fit.metrics.to_dict("records"), baselines=fit.baseline_metrics.to_dict("records"),
                  comparison=compare_models(fit).to_dict("records"), best_epoch=int(fit.best_epoch),
                  history=fit.history.to_dict("records"), seconds=time.perf_counter() - started,
                  strategy=fit.settings.get("strategy"))
    held = fit.predictions[fit.predictions["split"].isin(["dev", "test"])].assign(data=name, recipe=recipe)
    return record, held


def pin(cores: list[list[int]], counter) -> None:
    """Each worker process on cores of its own, so their CPU steps do not fight."""
    with counter.get_lock():
        mine = cores[counter.value % len(cores)]
        counter.value += 1
    os.sched_setaffinity(0, mine)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--n", type=int, default=1000, help="texts per data set but whole RWWD anxiety")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--deadline", type=float, default=330, help="seconds after which no job starts")
    parser.add_argument("--jobs", type=int, default=len(JOBS), help="only the first this many")
    parser.add_argument("--skip", type=int, default=0, help="leave out the first this many (done before)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override an option in every job (tests on a CPU: epochs=1)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
    cores = sorted(os.sched_getaffinity(0))
    share = max(1, len(cores) // args.workers)
    groups = [cores[i * share:(i + 1) * share] for i in range(args.workers)]
    context = get_context("spawn")
    counter = context.Value("i", 0)
    begun, held = time.perf_counter(), []
    queue = list(JOBS[args.skip:args.jobs])
    with ProcessPoolExecutor(args.workers, mp_context=context, initializer=pin,
                             initargs=(groups, counter)) as pool:
        running = {}
        while queue or running:
            while queue and len(running) < args.workers and time.perf_counter() - begun < args.deadline:
                name, recipe, options = queue.pop(0)
                running[pool.submit(fit_one, name, recipe, {**options, **overrides}, args.model,
                                    args.data, args.n)] = (name, recipe)
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for job in done:
                name, recipe = running.pop(job)
                try:
                    record, predictions = job.result()
                except Exception as error:  # record it and go on: one broken recipe must not cost the lease
                    record, predictions = dict(data=name, recipe=recipe, error=repr(error)), None
                record["finished_s"] = time.perf_counter() - begun
                with open(out / "results.jsonl", "a") as f:
                    f.write(json.dumps(record, default=str) + "\n")
                if predictions is not None:  # rewritten whole each time: a lease cut short keeps what is done
                    held.append(predictions)
                    pd.concat(held).to_csv(out / "predictions.csv.gz", index=False)
                print(f"{record['finished_s']:6.0f} s  {name} / {recipe}: "
                      f"{record.get('error') or record['metrics'][0]}", flush=True)
    print(f"not started: {[(n, r) for n, r, _ in queue]}")


if __name__ == "__main__":
    main()
