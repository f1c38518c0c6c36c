"""From how many texts a call does measuring a batch plan pay (``PLAN_TEXTS`` in
``pytext_psych/scoring/plan.py``)?

For each bundle and precision, side by side in one run: what the package spends on a plan
the first time (``TextModel._measured_plan``: batching checked exact, then the batch sizes
timed), and what scoring the same texts costs one window per call and with that plan's
batches (on every core, as ``predict_scores`` does; rounds alternate the two ways). The
break-even is the plan's seconds over the seconds it saves a text: a call of fewer texts
loses more to measuring than batching wins it back. Texts: RWWD short answers (Real World
Worry Dataset, Kleinberg et al. 2020, CC BY 4.0), the shipped example answers without it.
Run: ``python benchmarks/plan_break_even.py --bundle DIR [DIR ...] [--texts 1000] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
from bench_scoring import machine

from pytext_psych import example_data, load_model

RWWD = Path(__file__).resolve().parents[2] / "shared" / "data" / "rwwd" / "rwwd_full_clean.csv"


def texts(n: int) -> tuple[list[str], str]:
    if RWWD.is_file():
        return pd.read_csv(RWWD)["text_short"].dropna().astype(str).tolist()[:n], "RWWD short answers"
    return example_data()["answer"].tolist()[:n], "example answers"


def seconds(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def rows(bundle: Path, answers: list[str], rounds: int) -> list[str]:
    model = load_model(bundle)
    out = []
    for precision in model.description.onnx["files"]:
        model.raw_outputs(answers[:8], precision, batch_tokens=0)  # session built, weights packed
        plan, cost = None, 0.0
        for _ in range(rounds):  # the plan's cost, the best of the rounds, like the scoring times
            started = time.perf_counter()
            plan = model._measured_plan(precision)
            cost = min(cost or float("inf"), time.perf_counter() - started)
        alone, batched = float("inf"), float("inf")
        for _ in range(rounds):
            alone = min(alone, seconds(lambda: model.raw_outputs(answers, precision, batch_tokens=0)))
            batched = min(batched, seconds(lambda: model.raw_outputs(answers, precision,
                                                                     batch_tokens=plan.batch_tokens)))
        saved = (alone - batched) / len(answers)
        even = f"{cost / saved:,.0f}" if saved > 0 else "never"
        out.append(f"| {bundle.name} | {precision} | {cost:.2f} | {plan.batch_tokens} | {alone:.2f} | "
                   f"{batched:.2f} | {1 - batched / alone:.0%} | {even} |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundle", type=Path, nargs="+", required=True)
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "plan_break_even.md")
    args = parser.parse_args()
    answers, source = texts(args.texts)
    table = [row for bundle in args.bundle for row in rows(bundle, answers, args.rounds)]
    args.out.write_text(
        "# From how many texts a call measuring a batch plan pays\n\n"
        f"Machine: {machine()}.\n\n"
        f"{len(answers):,} {source}, each bundle's first window; the best of {args.rounds} rounds. "
        "Plan: batching checked exact, then batch sizes timed (one thread), as the package does the "
        "first time; scoring on every core. Break-even: the plan's seconds over the seconds it "
        "saves a text.\n\n"
        "| bundle | precision | plan: s | its tokens a call | one window a call: s | batched: s | saved | "
        "break-even texts |\n|---|---|---|---|---|---|---|---|\n" + "\n".join(table) + "\n\n"
        f"Run: `python benchmarks/plan_break_even.py --bundle {' '.join(str(b) for b in args.bundle)} "
        f"--texts {args.texts} --rounds {args.rounds}` ({time.strftime('%Y-%m-%d')}).\n")
    print(args.out.read_text())


if __name__ == "__main__":
    main()
