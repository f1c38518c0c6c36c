"""Long texts: sliding windows against truncation, side by side in one run.

Data sets (read from ``../shared/data``; credit in each SOURCE.md):
- ``empathic``: Empathic Reactions (Buechel, Buffone, Slaff, Ungar & Sedoc, 2018; CC BY 4.0):
  each writer's five essays joined into one text (median about 500 tokens), the outcome the
  writer's mean empathy rating; one text per writer.
- ``rwwd``: the Real World Worry Dataset (Kleinberg, van der Vegt & Mozes, 2020; CC BY 4.0),
  ``text_long`` (median about 150 tokens) and anxiety (1-9), read 64 tokens at a time.

For each: two fits on the same rows, split and seed that differ only in ``truncate``
(``True``: the first ``max_length`` tokens; ``False``: windows every ``max_length // 2``
tokens, outputs averaged), both ``strategy="full"`` (so "auto" cannot pick different
strategies for them). Reported: r with its 95% CI for each, their paired difference on the
same test texts (``compare_models``), how many texts were longer than the window, wall and
CPU time of each fit, and the time to score the test texts with each bundle.

    python benchmarks/long_texts.py --data empathic
    python benchmarks/long_texts.py --data rwwd --n 1000

writes ``benchmarks/results/long_texts_<data>.md``. ``--quick``: a smoke run.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd
from several_outcomes import ROOT, SHARED, ci, machine, timed  # the sibling scripts' helpers

from pytext_psych import compare_models, fit_text_model, load_model, predict_scores


def empathic() -> tuple[pd.DataFrame, str, str]:
    essays = pd.read_csv(SHARED / "empathic_reactions" / "empathic_reactions.csv")
    writers = essays.groupby("response_id", sort=True).agg(text=("essay", " ".join), empathy=("empathy", "mean"))
    return writers.reset_index(drop=True), "text", "empathy"


def rwwd() -> tuple[pd.DataFrame, str, str]:
    return pd.read_csv(SHARED / "rwwd" / "rwwd_full_clean.csv"), "text_long", "anxiety"


SETS = {"empathic": (empathic, 256), "rwwd": (rwwd, 64)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", choices=sorted(SETS), default="empathic")
    parser.add_argument("--n", type=int, help="a random sample of this many rows (seed 1)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    load, max_length = SETS[args.data]
    df, text, outcome = load()
    if args.n:
        df = df.sample(args.n, random_state=1).reset_index(drop=True)
    options = dict(epochs=args.epochs, max_length=max_length, seed=42, progress=False, strategy="full")
    if args.quick:
        df, options = df.head(120), dict(options, epochs=1, n_resamples=200)
    fits, times, scoring = {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, truncate in (("truncated", True), ("windows", False)):
            fits[name], wall, cpu = timed(lambda: fit_text_model(df, text, outcome, truncate=truncate,
                                                                 output_dir=Path(tmp) / name, **options))
            times[name] = (wall, cpu)
            print(f"{name}: {wall:.0f} s", flush=True)
        texts = df[text].iloc[fits["windows"].evaluated.row].tolist()
        for name, fit in fits.items():
            scoring[name] = timed(lambda: predict_scores(fit, texts, check_shift=False))[1]
        tokens = load_model(fits["windows"].bundle_path).description.data["tokens"]
    write(args, df, fits, times, scoring, len(texts), max_length, tokens)


def write(args, df, fits, times, scoring, n_scored: int, max_length: int, tokens: dict) -> None:
    d = compare_models(fits["windows"], fits["truncated"]).set_index("metric").loc["pearson_r"]
    rows = [{"reading": name, "r [95% CI]": ci(fit.metrics.set_index("metric").loc["pearson_r"]),
             "best epoch": fit.best_epoch, "fit wall s": f"{times[name][0]:.0f}", "fit CPU s": f"{times[name][1]:.0f}",
             f"scoring {n_scored} test texts, s": f"{scoring[name]:.1f}"} for name, fit in fits.items()]
    lines = [
        f"# Long texts, windows against truncation: {args.data}", "",
        f"Machine: {machine()}. Command: `python benchmarks/long_texts.py "
        f"--data {args.data}{f' --n {args.n}' if args.n else ''}`"
        + (" **Smoke run (--quick): the numbers mean nothing.**" if args.quick else ""), "",
        f"n = {len(df)} texts; train/dev/test {'/'.join(str(fits['windows'].n.get(k)) for k in ('train', 'dev', 'test'))} "
        f"(seed 42); MiniLM-L6, strategy full, up to {fits['windows'].settings['epochs']} epochs "
        f"(best dev epoch kept), max_length "
        f"{max_length}; windows every {(max_length - 2) // 2} tokens, outputs averaged. "
        + f"{tokens['longer']} of {len(df)} texts are longer than {max_length} tokens (median "
        f"{tokens['median']:g}, longest {tokens['longest']}). "
        + "95% CIs: BCa bootstrap of the test texts; the difference is paired on the same texts.", "",
        pd.DataFrame(rows).to_markdown(index=False), "",
        f"Windows minus truncation: r {d.estimate:+.3f} [{d.conf_low:+.3f}, {d.conf_high:+.3f}], p = {d.p_value:.3f}.",
        "",
    ]
    out = ROOT / "benchmarks" / "results" / f"long_texts_{args.data}.md"
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
