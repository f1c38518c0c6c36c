"""What measuring a batch plan costs (``pytext_psych/scoring/plan.py``), and whether stopping
at the first batch size that is not faster changes the plan.

A bundle's first scoring on a machine times one-thread onnxruntime calls of 32-token windows
in batches of 1, 4, 16 and 64 texts. For each bundle and precision, side by side in one
run: the time of timing every size (as before) and of timing them in turn up to the first
that is not 5% faster than the ones before (as now), and the batch size each way chooses.
Run: ``python benchmarks/plan_cost.py --bundle DIR [DIR ...] [--rounds 3] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from bench_scoring import machine

from pytext_psych import load_model
from pytext_psych.scoring.plan import fastest_batch, measure


def timed(run, probe, every_size: bool) -> tuple[float, int, dict]:
    """Seconds :func:`measure` took, the batch it leads to, and its speeds; ``every_size``:
    no stopping."""
    started = time.perf_counter()
    speeds = measure(run, probe, faster=0.0) if every_size else measure(run, probe)
    return time.perf_counter() - started, fastest_batch(speeds), speeds


def rows(bundle: Path, rounds: int) -> list[str]:
    model = load_model(bundle)
    out = []
    for precision in model.description.onnx["files"]:
        run, probe = model._call(precision), model._probe_window()
        run(np.asarray([probe]))  # session built, weights packed
        for _ in range(rounds):  # alternate, so that both ways see the same machine state
            every, stopping = timed(run, probe, True), timed(run, probe, False)
            out.append(f"| {bundle.name} | {precision} | {every[0]:.2f} | {every[1]} | {stopping[0]:.2f} | "
                       f"{stopping[1]} | {', '.join(stopping[2])} |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundle", type=Path, nargs="+", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "plan_cost.md")
    args = parser.parse_args()
    table = [row for bundle in args.bundle for row in rows(bundle, args.rounds)]
    args.out.write_text(
        "# What measuring a batch plan costs\n\n"
        f"Machine: {machine()}.\n\n"
        "One-thread onnxruntime calls of 32-token windows (the bundle's own length if shorter), "
        "each size warmed up, then at least 3 calls and 50 ms; rounds alternate the two ways.\n\n"
        "| bundle | precision | every size: s | batch chosen | up to the first not faster: s | batch chosen | "
        "sizes timed |\n|---|---|---|---|---|---|---|\n" + "\n".join(table) + "\n\n"
        f"Run: `python benchmarks/plan_cost.py --bundle {' '.join(str(b) for b in args.bundle)} "
        f"--rounds {args.rounds}` ({time.strftime('%Y-%m-%d')}).\n")
    print(args.out.read_text())


if __name__ == "__main__":
    main()
