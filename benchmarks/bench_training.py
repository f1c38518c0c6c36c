"""Training speed: our loop against the seeds' recipe, side by side in one run.

The seeds' recipe, as their notebooks run it: every text padded to max_length 128, a
shuffled DataLoader with no length grouping, batch 32, AdamW at lr 2e-5 with linear
warmup, 3 epochs. Ours: padding per batch, length-grouped batches, threads set to the
cores available. Three runs on the same texts and split, each for the same epochs:

1. ``seeds``: the seeds' loop and settings;
2. ``ours, seeds' settings``: our ``fine_tune`` with the seeds' batch, lr and
   max_length, so only the batching differs (equal dev metric expected);
3. ``ours, defaults``: ``fit_text_model``'s defaults (batch 16, lr 5e-5, max_length 256).

Reports seconds per epoch (training plus dev evaluation), the ratio to the seeds, and
the dev metric after the last epoch; writes ``benchmarks/results/training.md``.
Data: RWWD ``text_short`` -> ``anxiety`` (short, survey-like answers) when
``../shared/data/rwwd`` is present, else the bundled example data.

    python benchmarks/bench_training.py [--epochs 3] [--texts text_short]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

from pytext_psych import example_data
from pytext_psych.core.settings import TrainSettings
from pytext_psych.data.design import Run, split_rows
from pytext_psych.data.reading import prepare
from pytext_psych.metadata import hardware
from pytext_psych.pipeline import scaling, targets
from pytext_psych.stats import dev_scorer, headline_score
from pytext_psych.training.encoders import quiet_transformers, resolve_model
from pytext_psych.training.train import fine_tune

HERE = Path(__file__).resolve().parent
RWWD = HERE.parent.parent / "shared" / "data" / "rwwd" / "rwwd_full_clean.csv"
SEED = 42


def seeds_recipe(texts, y, split, task, num_labels, epochs, batch_size=32, lr=2e-5, max_length=128):
    """The seeds' loop: pad everything to max_length, plain shuffled batches."""
    torch.manual_seed(SEED)
    name = resolve_model("default")
    tokenizer = AutoTokenizer.from_pretrained(name)
    with quiet_transformers():
        net = AutoModelForSequenceClassification.from_pretrained(
            name, num_labels=num_labels, problem_type="regression" if task == "regression" else None)
    enc = tokenizer(list(texts), padding="max_length", truncation=True, max_length=max_length,
                    return_tensors="pt")
    target = torch.as_tensor(y, dtype=torch.float32 if task == "regression" else torch.long)
    train, dev = np.flatnonzero(split == "train"), np.flatnonzero(split == "dev")
    loader = torch.utils.data.DataLoader(torch.as_tensor(train), batch_size=batch_size, shuffle=True)
    optimizer = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.01)
    total = len(loader) * epochs
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.1 * total), total)
    history = []
    for epoch in range(epochs):
        started = time.perf_counter()
        net.train()
        for rows in loader:
            out = net(input_ids=enc["input_ids"][rows], attention_mask=enc["attention_mask"][rows],
                      labels=target[rows])
            out.loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
        net.eval()
        with torch.inference_mode():
            logits = torch.cat([net(input_ids=enc["input_ids"][dev[i:i + 64]],
                                    attention_mask=enc["attention_mask"][dev[i:i + 64]]).logits
                                for i in range(0, len(dev), 64)]).numpy()
        history.append({"epoch": epoch + 1, "dev_metric": headline_score(task, logits, y[dev]),
                        "seconds": time.perf_counter() - started})
    return history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--texts", default="text_short")
    parser.add_argument("--n", type=int, help="use only the first n rows (a quick check)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "training.md")
    args = parser.parse_args()
    if RWWD.exists():
        df, text, outcome = pd.read_csv(RWWD), args.texts, "anxiety"
    else:
        df, text, outcome = example_data(), "answer", "stress"
    df = df.head(args.n) if args.n else df
    source = f"{'RWWD' if RWWD.exists() else 'example data'} `{text}` -> {outcome} (n = {len(df)})"
    prep = prepare(df, text, outcome)
    split = split_rows(prep.y, prep.task, (0.625, 0.125, 0.25), SEED)
    y = targets(prep, scaling(prep, Run("all", split))).astype(np.float32)
    tokenizer = AutoTokenizer.from_pretrained(resolve_model("default"))
    lengths = np.array([len(ids) for ids in tokenizer(prep.texts)["input_ids"]])
    runs = {}
    runs["seeds (pad to 128, batch 32, lr 2e-5)"] = seeds_recipe(prep.texts, y, split, prep.task, 1, args.epochs)
    for name, settings in {
        "ours, seeds' settings (batch 32, lr 2e-5, max_length 128)": dict(batch_size=32, learning_rate=2e-5, max_length=128),
        "ours, defaults (batch 16, lr 5e-5, max_length 256)": dict(batch_size=16, learning_rate=5e-5, max_length=256),
    }.items():
        config = TrainSettings(epochs=args.epochs, patience=args.epochs, seed=SEED, **settings)
        _, _, result = fine_tune(prep.texts, y, split, prep.task, None, config, dev_scorer(prep.task),
                                 progress=True)
        runs[name] = result.history
    base = np.mean([h["seconds"] for h in runs[next(iter(runs))]])
    rows = []
    for name, history in runs.items():
        per_epoch = np.mean([h["seconds"] for h in history])
        rows.append({"run": name, "s / epoch": f"{per_epoch:.1f}", "speed-up vs seeds": f"{base / per_epoch:.2f}x",
                     f"dev r after epoch {args.epochs}": f"{history[-1]['dev_metric']:.3f}",
                     "dev r per epoch": ", ".join(f"{h['dev_metric']:.3f}" for h in history)})
    hw = hardware()
    text = "\n".join([
        "# Training speed: our loop vs the seeds' recipe",
        "",
        "`benchmarks/bench_training.py`, one run, same texts, split (62.5/12.5/25, seed 42) and "
        f"epochs ({args.epochs}). Data: {source}; train n = {(split == 'train').sum()}, dev n = "
        f"{(split == 'dev').sum()}. Token lengths: median {np.median(lengths):.0f}, 95th percentile "
        f"{np.percentile(lengths, 95):.0f}. Seconds per epoch include the dev evaluation.",
        "",
        f"Machine: {hw['cpu']}, {hw['cores_available']} cores, {hw.get('memory_gib')} GiB, GPU: "
        f"{hw['gpu'] or 'none'}; torch {torch.__version__}, {torch.get_num_threads()} threads.",
        "",
        pd.DataFrame(rows).to_markdown(index=False),
        "",
    ])
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
