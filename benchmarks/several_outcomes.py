"""Several outcomes in one model against one model per outcome, side by side in one run.

Data sets (read from ``../shared/data``; credit in each SOURCE.md):
- ``rwwd``: the Real World Worry Dataset (Kleinberg, van der Vegt & Mozes, 2020; CC BY
  4.0), the eight emotion ratings (1-9) from ``text_long``.
- ``empathic``: Empathic Reactions (Buechel, Buffone, Slaff, Ungar & Sedoc, 2018; CC BY
  4.0), empathy and distress (1-7) from the essays; split by writer (``group="response_id"``).

For each: one ``fit_text_model(outcome=[...])`` and one fit per outcome, same rows, split
and seed, same settings. Reported: per outcome r with its 95% CI for both and their paired
difference (the same test texts, ``compare_models``); total wall and CPU time of the fits;
the time to score the test texts with the one bundle against all the separate ones.

    python benchmarks/several_outcomes.py --data rwwd --n 1250
    python benchmarks/several_outcomes.py --data empathic

writes ``benchmarks/results/several_outcomes_<data>.md``. ``--quick``: a smoke run.
``--one-only``: only the one model (e.g. with more ``--epochs``), its r per outcome and time,
written to ``several_outcomes_<data>_one_<epochs>ep.md``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
from bench_scoring import machine  # the machine in words, with its CPU's vector flags

from pytext_psych import compare_models, fit_text_model, predict_scores

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SETS = {
    "rwwd": dict(path=SHARED / "rwwd" / "rwwd_full_clean.csv", text="text_long", group=None,
                 outcomes=["anger", "disgust", "fear", "anxiety", "sadness", "happiness",
                           "relaxation", "desire"]),
    "empathic": dict(path=SHARED / "empathic_reactions" / "empathic_reactions.csv", text="essay",
                     group="response_id", outcomes=["empathy", "distress"]),
}


def timed(call):
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", choices=sorted(SETS), default="rwwd")
    parser.add_argument("--n", type=int, help="a random sample of this many rows (seed 1)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--one-only", action="store_true")
    args = parser.parse_args()
    spec = SETS[args.data]
    df = pd.read_csv(spec["path"])
    if args.n:
        df = df.sample(args.n, random_state=1).reset_index(drop=True)
    options = dict(epochs=args.epochs, max_length=args.max_length, seed=42, progress=False,
                   group=spec["group"])
    if args.quick:
        df, options = df.head(200), dict(options, epochs=1, max_length=32, n_resamples=200)
    names, text = spec["outcomes"], spec["text"]
    with tempfile.TemporaryDirectory() as tmp:
        one, wall, cpu = timed(lambda: fit_text_model(df, text, names, output_dir=Path(tmp) / "all", **options))
        print(f"one model: {wall:.0f} s", flush=True)
        if args.one_only:
            return write_one(args, one, wall, cpu)
        times = {"one model, all outcomes": (wall, cpu)}
        single = {}
        for name in names:
            single[name], wall, cpu = timed(lambda: fit_text_model(df, text, name, output_dir=Path(tmp) / name,
                                                                   **options))
            times[name] = (wall, cpu)
            print(f"{name}: {wall:.0f} s", flush=True)
        texts = df[text].iloc[one.evaluated.row].tolist()
        scoring = {"one bundle": timed(lambda: predict_scores(one, texts, check_shift=False))[1],
                   "separate bundles": sum(timed(lambda f=f: predict_scores(f, texts, check_shift=False))[1]
                                           for f in single.values())}
        write(args, df, one, single, times, scoring, len(texts))


def write(args, df, one, single, times, scoring, n_scored) -> None:
    rows = []
    for name, fit in single.items():
        mine = one.outcome_fit(name).metrics.set_index("metric").loc["pearson_r"]
        alone = fit.metrics.set_index("metric").loc["pearson_r"]
        d = compare_models(one.outcome_fit(name), fit).set_index("metric").loc["pearson_r"]
        rows.append({"outcome": name, "one model r [95% CI]": ci(mine), "separate fit r [95% CI]": ci(alone),
                     "difference [95% CI]": f"{d.estimate:+.3f} [{d.conf_low:+.3f}, {d.conf_high:+.3f}]",
                     "p": f"{d.p_value:.3f}", "best epoch (separate)": fit.best_epoch})
    separate = [t for k, t in times.items() if k in single]
    lines = [
        f"# Several outcomes in one model: {args.data}", "",
        f"Machine: {machine()}. Command: `python benchmarks/several_outcomes.py "
        f"--data {args.data}{f' --n {args.n}' if args.n else ''}`"
        + (" **Smoke run (--quick): the numbers mean nothing.**" if args.quick else ""), "",
        f"n = {len(df)} texts; train/dev/test {'/'.join(str(one.n.get(k)) for k in ('train', 'dev', 'test'))} (seed 42{', grouped by writer' if SETS[args.data]['group'] else ''}); "
        f"MiniLM-L6, up to {args.epochs} epochs (best dev epoch kept), max_length {args.max_length}, "
        "other settings the package defaults. The one model picked its epoch by the mean dev r "
        f"of the outcomes (best epoch {one.best_epoch}); each separate fit by its own. 95% CIs: "
        "BCa bootstrap of the test texts; differences paired on the same texts.", "",
        pd.DataFrame(rows).to_markdown(index=False), "",
        "| | wall s | CPU s |", "|---|---:|---:|",
        f"| one model, {len(single)} outcomes | {times['one model, all outcomes'][0]:.0f} | "
        f"{times['one model, all outcomes'][1]:.0f} |",
        f"| {len(single)} separate fits | {sum(t[0] for t in separate):.0f} | {sum(t[1] for t in separate):.0f} |",
        f"| ratio (separate / one) | {sum(t[0] for t in separate) / times['one model, all outcomes'][0]:.1f} | "
        f"{sum(t[1] for t in separate) / times['one model, all outcomes'][1]:.1f} |", "",
        f"Scoring the {n_scored} test texts (precision auto, threads = cores): one bundle "
        f"{scoring['one bundle']:.1f} s, the {len(single)} separate bundles {scoring['separate bundles']:.1f} s "
        f"({scoring['separate bundles'] / scoring['one bundle']:.1f}x).", "",
    ]
    out = ROOT / "benchmarks" / "results" / f"several_outcomes_{args.data}.md"
    out.write_text("\n".join(lines))
    print("\n".join(lines))


def write_one(args, one, wall: float, cpu: float) -> None:
    r = one.metrics[one.metrics.metric == "pearson_r"]
    lines = [f"# One model of several outcomes, up to {args.epochs} epochs: {args.data}", "",
             f"Machine: {machine()}; command: `python benchmarks/several_outcomes.py --data "
             f"{args.data}{f' --n {args.n}' if args.n else ''} --epochs {args.epochs} --one-only`; "
             f"otherwise as `several_outcomes_{args.data}.md` (same rows, split and seed). Best epoch "
             f"{one.best_epoch}; wall {wall:.0f} s, CPU {cpu:.0f} s.", "",
             "| outcome | r [95% CI] |", "|---|---|",
             *(f"| {row.outcome} | {ci(row)} |" for row in r.itertuples()), ""]
    out = ROOT / "benchmarks" / "results" / f"several_outcomes_{args.data}_one_{args.epochs}ep.md"
    out.write_text("\n".join(lines))
    print("\n".join(lines))


def ci(row) -> str:
    return f"{row.estimate:.3f} [{row.conf_low:.3f}, {row.conf_high:.3f}]"


if __name__ == "__main__":
    main()
