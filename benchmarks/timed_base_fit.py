"""A base-size fit as a user runs it, timed end to end: all-mpnet-base-v2 (``model="mpnet-base"``)
fine-tuned on all 2,491 long (or short) answers of the Real World Worry Dataset (Kleinberg et
al., 2020; ``../shared/data/rwwd``, ``text_long`` or ``text_short`` -> anxiety), the package's
defaults otherwise (split, epochs, windows, baselines, export, parity), with the progress bar
on. Records the estimate the fit announces after its first steps, the training loop's own
seconds, the whole call's wall time and the test metrics, and writes
``benchmarks/results/timed_base_fit.md`` (or ``--out``).

Issue 32's goal: a base-size fit of 2,500 short-to-medium texts under 60 minutes on a 2-core
machine, its expected time announced before it runs.

Run: ``python benchmarks/timed_base_fit.py [--text text_long] [--model mpnet-base]
[--mixed-precision auto] [--n 0]`` on a quiet machine (anything beside it inflates every number).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from contextlib import redirect_stderr
from pathlib import Path

import pandas as pd
import torch

from pytext_psych import TextModelFit, compare_models, fit_text_model, pipeline
from pytext_psych.core.machine import cpu_flags
from pytext_psych.metadata import hardware

ROOT = Path(__file__).resolve().parents[1]
RWWD = ROOT.parent / "shared" / "data" / "rwwd" / "rwwd_full_clean.csv"
FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8")  # what bf16 and int8 run on


PHASES = {"train_design": "training (load, tokenise, epochs with dev ratings)",
          "baseline_predictions": "baselines (TF-IDF; frozen embeddings + ridge)",
          "export_model": "export (fp32, int8 recipes, parity)",
          "scored_through_bundles": "scoring every text through the bundle",
          "_evaluated": "test metrics with bootstrap CIs"}


def timed_phases() -> dict[str, float]:
    """Wraps the pipeline's steps (:mod:`pytext_psych.pipeline`) to record each one's wall
    seconds; the steps themselves are unchanged."""
    seconds: dict[str, float] = {}
    for name in PHASES:
        step = getattr(pipeline, name)

        def timed(*args, _step=step, _name=name, **kwargs):
            started = time.perf_counter()
            try:
                return _step(*args, **kwargs)
            finally:
                seconds[_name] = seconds.get(_name, 0.0) + time.perf_counter() - started
        setattr(pipeline, name, timed)
    return seconds


class Tee(io.TextIOBase):
    """Writes to the terminal and keeps a copy (the announcement is written above the bar)."""

    def __init__(self, terminal) -> None:
        self.terminal, self.kept = terminal, io.StringIO()

    def write(self, text: str) -> int:
        self.kept.write(text)
        return self.terminal.write(text)

    def flush(self) -> None:
        self.terminal.flush()


def paired(fit, other: TextModelFit | None) -> list[str]:
    """The paired differences ``other`` minus ``fit`` (same split, so the same test answers)."""
    if other is None:
        return []
    return [f"`{other.bundle_path.name}` minus this fit, paired on the same test answers:", "",
            compare_models(other, fit).to_markdown(index=False), ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mixed-precision", default="auto", choices=["auto", "bf16", "off"])
    parser.add_argument("--n", type=int, default=0, help="a seeded subsample of n answers (0: all)")
    parser.add_argument("--text", default="text_long", choices=["text_long", "text_short"])
    parser.add_argument("--model", default="mpnet-base", help="the encoder (a name of models())")
    parser.add_argument("--pair-with", help="a bundle fitted by this script on the same data and split: "
                        "its test metrics minus this fit's, paired on the same test answers")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "timed_base_fit.md"))
    parser.add_argument("--bundle", default=str(ROOT / "benchmarks" / "models" / "timed_mpnet_rwwd"))
    args = parser.parse_args()
    other = TextModelFit.from_bundle(args.pair_with) if args.pair_with else None  # read before the long fit
    data = pd.read_csv(RWWD)
    data = data.sample(args.n, random_state=42) if args.n else data
    tee, phases = Tee(sys.stderr), timed_phases()
    started = time.perf_counter()
    with redirect_stderr(tee):
        fit = fit_text_model(data, text=args.text, outcome="anxiety", model=args.model,
                             mixed_precision=args.mixed_precision, output_dir=args.bundle, overwrite=True, seed=42)
    wall = time.perf_counter() - started
    announced = [line.strip() for line in tee.kept.getvalue().replace("\r", "\n").splitlines()
                 if "a step on this machine" in line]
    loop = float(fit.history["seconds"].sum())
    machine, flags = hardware(), [f for f in FLAGS if f in cpu_flags()]
    lines = ["# A base-size fit timed end to end (issue 32)", "", __doc__.split("\n\n")[0].replace("\n", " "), "",
             f"Machine: {machine['cpu']} ({', '.join(flags)}), {machine['cores_available']} cores, "
             f"{machine.get('memory_gib')} GiB, GPU: {machine['gpu'] or 'none'}; {machine['system']}; "
             f"Python {machine['python']}; torch {torch.__version__}.", "",
             f"Command: `python benchmarks/timed_base_fit.py --text {args.text} --model {args.model} "
             f"--mixed-precision {args.mixed_precision} --n {args.n}` ({len(data)} answers; "
             f"{time.strftime('%Y-%m-%d')}).", "",
             "| what | value |", "|---|---|",
             f"| announced after the first steps | {'; '.join(announced) or 'nothing'} |",
             f"| training loop (epochs, with dev ratings) | {loop / 60:.1f} min |",
             f"| whole call (split, baselines, training, export, parity, test metrics) | {wall / 60:.1f} min |",
             *[f"| {PHASES[name]} | {phases.get(name, 0) / 60:.1f} min |" for name in PHASES],
             f"| epochs run (best) | {len(fit.history)} ({fit.best_epoch}) |", "",
             "Test metrics:", "", fit.metrics.to_markdown(index=False), "",
             "Baselines:", "", fit.baseline_metrics.to_markdown(index=False), "", *paired(fit, other)]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
