"""Why the time said before training runs short: every optimiser step's seconds and work.

The fit announces its expected time after timing three steps (``training/epochs.py``,
``StepTimer``: seconds per padded token of steps 2-4, times the tokens left). On the AMX Xeon
that estimate has been about a fifth short (``timed_base_fit.md``). This script fits once with
the progress bar on, records when each step ended and its padded tokens (a wrapper around
``StepTimer.step``, the package unchanged), and reports: the announcement, the estimate's pace
(s per token of steps 2-4) against the pace of every later step, the pace by epoch and by the
step's length, and a least-squares fit of seconds = a + b x tokens (is there a per-step cost
the per-token pace leaves out?).

Data: the Real World Worry Dataset (Kleinberg et al., 2020; ``../shared/data/rwwd``, CC BY 4.0),
``text_long`` -> anxiety, ``--n`` answers sampled with seed 7.

Run: ``python benchmarks/step_times.py [--model mpnet-base] [--n 800] [--epochs 3] [--sweep]
[--out benchmarks/results/step_times.md]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from pytext_psych import fit_text_model
from pytext_psych.metadata import hardware
from pytext_psych.training import epochs as epochs_module

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "rwwd" / "rwwd_full_clean.csv"
OUT = ROOT / "benchmarks" / "results" / "step_times.md"


def recorded_fit(df: pd.DataFrame, model: str, epochs: int) -> tuple[pd.DataFrame, str]:
    """Fit with every step's end time and padded tokens recorded; returns the steps and the
    fit's stderr (the announcement)."""
    steps: list[dict] = []
    sizes: list[list[int]] = []  # the texts of each batch of the epoch running (accumulation 1: a step each)
    original, original_epoch = epochs_module.StepTimer.step, epochs_module.Optimiser.epoch

    def epoch(optimiser, batches, *args, **kwargs):
        sizes.append([int(np.size(b)) for b in batches])
        return original_epoch(optimiser, batches, *args, **kwargs)

    def step(timer) -> None:
        steps.append(dict(index=timer.seen, tokens=timer.costs[timer.seen], texts=sizes[-1][timer.seen],
                          ended=time.perf_counter()))
        original(timer)

    said = io.StringIO()
    epochs_module.StepTimer.step, epochs_module.Optimiser.epoch = step, epoch
    try:
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stderr(said):
            fit_text_model(df, "text_long", "anxiety", model=model, epochs=epochs, patience=epochs, strategy="full",
                           baseline=False, export="fp32", output_dir=Path(tmp) / "fit", progress=True)
    finally:
        epochs_module.StepTimer.step, epochs_module.Optimiser.epoch = original, original_epoch
    frame = pd.DataFrame(steps)
    frame["epoch"] = (frame["index"] == 0).cumsum()  # each epoch's timer starts at step 0
    frame["seconds"] = frame.groupby("epoch").ended.diff()  # the first step of an epoch: unknown
    frame["length"] = frame.tokens / frame.texts  # the batch's padded length
    return frame, said.getvalue()


def report(steps: pd.DataFrame, said: str, args) -> str:
    timed = steps[(steps.epoch == 1) & steps["index"].between(1, 3)]  # the StepTimer's steps 2-4
    later = steps[~steps.index.isin(timed.index)].dropna(subset=["seconds"])
    pace = timed.seconds.sum() / timed.tokens.sum()
    slope, intercept = np.polyfit(later.tokens, later.seconds, 1)
    by_epoch = later.groupby("epoch").apply(lambda g: g.seconds.sum() / g.tokens.sum(), include_groups=False)
    later = later.assign(third=pd.qcut(later.tokens, 3, labels=["short third", "middle third", "long third"]))
    by_length = later.groupby("third", observed=True).apply(lambda g: g.seconds.sum() / g.tokens.sum(),
                                                             include_groups=False)
    announced = next((line.strip() for line in said.replace("\r", "\n").splitlines() if "s a step on this" in line),
                     "(none)")
    lines = [
        "# Step times: the estimate said before training, against every step",
        "",
        f"Machine: {hardware()}; {platform.platform()}; Python {platform.python_version()}.",
        "",
        f"Command: `python benchmarks/step_times.py --model {args.model} --n {args.n} --epochs {args.epochs}"
        f"{' --sweep' * args.sweep}{f' --out {args.out.name}' * (args.out != OUT)}` "
        f"({len(steps)} steps; RWWD long answers, seed 7).",
        "",
        f"Announced: {announced}",
        "",
        "| what | value |",
        "|---|---|",
        f"| pace of the three timed steps (ms per 1,000 padded tokens) | {1e6 * pace:.1f} |",
        f"| pace of every later step | {1e6 * later.seconds.sum() / later.tokens.sum():.1f} |",
        *[f"| pace in epoch {e} | {1e6 * v:.1f} |" for e, v in by_epoch.items()],
        *[f"| pace of the {k} of steps by tokens | {1e6 * v:.1f} |" for k, v in by_length.items()],
        f"| least squares over later steps: seconds = a + b x tokens | a = {intercept:.3f} s, "
        f"b = {1e6 * slope:.1f} ms per 1,000 tokens |",
        f"| mean tokens: timed steps, later steps | {timed.tokens.mean():.0f}, {later.tokens.mean():.0f} |",
        f"| the loop's steps: said (pace x tokens) against measured | "
        f"{pace * later.tokens.sum() / 60:.1f} min against {later.seconds.sum() / 60:.1f} min |",
        "",
        "The timed steps:",
        "",
        timed[["index", "texts", "length", "tokens", "seconds"]].to_markdown(index=False),
        "",
        "Every later step's seconds by its padded length (texts x length = tokens):",
        "",
        later.assign(length_bin=pd.cut(later.length, [0, 64, 128, 192, 256, 512]))
        .groupby("length_bin", observed=True)
        .agg(steps=("seconds", "size"), texts=("texts", "mean"), tokens=("tokens", "mean"),
             seconds=("seconds", "mean"))
        .assign(ms_per_1000_tokens=lambda g: 1e6 * g.seconds / g.tokens).to_markdown(floatfmt=".3g"),
    ]
    return "\n".join(lines) + "\n"


def sweep(model: str, texts: int = 16) -> str:
    """The bare encoder outside the fit (the same autocast as the fit's, random token ids, no
    padding): seconds of a forward pass (inference mode) and of a training step's forward and
    backward (no optimiser), best of two after a warm-up, for batches of ``texts`` texts of
    each length."""
    from transformers import AutoModelForSequenceClassification

    from pytext_psych.training.encoders import resolve_model
    from pytext_psych.training.precision import autocast_for

    net = AutoModelForSequenceClassification.from_pretrained(resolve_model(model), num_labels=1)
    amp, dtype = autocast_for(torch.device("cpu"), "auto")

    def best(length: int, train: bool) -> float:
        ids = torch.randint(1000, 20000, (texts, length))
        net.train(train)
        seconds = []
        for _ in range(3):
            started = time.perf_counter()
            with torch.autocast("cpu", dtype=dtype, enabled=amp), torch.inference_mode(not train):
                out = net(input_ids=ids, attention_mask=torch.ones_like(ids)).logits.float().sum()
            if train:
                out.backward()
                net.zero_grad(set_to_none=True)
            seconds.append(time.perf_counter() - started)
        return min(seconds[1:])

    lines = ["", f"The bare encoder by length ({texts} texts a batch, autocast {dtype if amp else 'off'}):", "",
             "| length | forward s | ms per 1,000 tokens | forward + backward s | ms per 1,000 tokens |",
             "|---|---|---|---|---|"]
    for length in (96, 128, 160, 192, 224, 256):
        forward, step = best(length, False), best(length, True)
        lines.append(f"| {length} | {forward:.2f} | {1e6 * forward / (texts * length):.0f} | {step:.2f} | "
                     f"{1e6 * step / (texts * length):.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="mpnet-base")
    parser.add_argument("--n", type=int, default=800)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--sweep", action="store_true", help="also time the bare encoder by length (appended)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    df = pd.read_csv(DATA).sample(args.n, random_state=7)
    steps, said = recorded_fit(df, args.model, args.epochs)
    text = report(steps, said, args) + (sweep(args.model) if args.sweep else "")
    args.out.write_text(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
