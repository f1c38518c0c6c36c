"""Several codes per text on GoEmotions: one multi-label model against one two-class model
per code and against TF-IDF, side by side in one run.

Data: GoEmotions (Demszky et al., 2020, ACL; Apache-2.0; read from
``../shared/data/goemotions/goemotions_multilabel.csv``): Reddit comments with 28 codes
(27 emotions and neutral), 16% with two or more. A random sample of ``--n`` comments
(seed 1) from all official splits, split by the package 62.5/12.5/25 (seed 42).

- ``multilabel``: ``fit_text_model(..., task="multilabel")`` on the ``labels`` column
  (codes joined by ";"): one encoder, a head per code, thresholds chosen on dev; its
  baselines (TF-IDF and frozen embeddings, one per code) and their paired comparison.
- ``one model per code``: for the ``--per-code`` most frequent codes, a two-class fit of
  its own on the same rows and split; each code's F1 beside the multi-label model's.

    python benchmarks/codes_goemotions.py --n 5000 --per-code 4

writes ``benchmarks/results/codes_goemotions.md``. ``--quick``: a smoke run.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd
from several_outcomes import ROOT, SHARED, ci, machine, timed  # the sibling scripts' helpers

from pytext_psych import fit_text_model

CODES = ["admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion", "curiosity",
         "desire", "disappointment", "disapproval", "disgust", "embarrassment", "excitement", "fear",
         "gratitude", "grief", "joy", "love", "nervousness", "optimism", "pride", "realization", "relief",
         "remorse", "sadness", "surprise", "neutral"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--per-code", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--min-texts", type=int, default=40,
                        help="codes given to fewer comments are dropped (rarer ones can miss the dev texts)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    df = pd.read_csv(SHARED / "goemotions" / "goemotions_multilabel.csv").sample(args.n, random_state=1)
    df = df.reset_index(drop=True)
    options = dict(epochs=args.epochs, max_length=64, seed=42, progress=False, strategy="full")
    if args.quick:
        options = dict(options, epochs=1, n_resamples=200)
    counts = df[CODES].sum()
    codes = [c for c in CODES if counts[c] >= args.min_texts]  # rarer ones: dropped, and said
    df = df.assign(codes=df[codes].apply(lambda row: "; ".join(c for c in codes if row[c]), axis=1))
    with tempfile.TemporaryDirectory() as tmp:
        joint, wall, cpu = timed(lambda: fit_text_model(df, "text", "codes", task="multilabel",
                                                        output_dir=Path(tmp) / "joint", **options))
        print(f"multilabel: {wall:.0f} s", flush=True)
        frequent = counts[codes].sort_values(ascending=False).index[:args.per_code]
        single = {}
        for code in frequent:
            single[code] = timed(lambda: fit_text_model(df.assign(has=df[code].astype(bool)), "text", "has",
                                                        output_dir=Path(tmp) / code, baseline=False, **options))
            print(f"{code}: {single[code][1]:.0f} s", flush=True)
    write(args, df, codes, counts, joint, (wall, cpu), single)


def write(args, df, codes, counts, joint, time_joint, single) -> None:
    m = joint.code_metrics.set_index("metric")
    b = joint.code_baseline_metrics.set_index(["baseline", "metric"])
    rows = [{"metric": name, "multilabel model": ci(m.loc[name]),
             **{f"baseline {base}": ci(b.loc[(base, name)]) for base in joint.baseline_names}}
            for name in m.index]
    per = joint.metrics.set_index(["outcome", "metric"])
    code_rows = [{"code": code, "texts with it": int(counts[code]),
                  "F1, multilabel model": ci(per.loc[(code, "f1_True")]),
                  "F1, its own model": ci(fit.metrics.set_index("metric").loc["f1_True"]),
                  "own model, fit wall s": f"{wall:.0f}"} for code, (fit, wall, _) in single.items()]
    d = joint.code_comparison.set_index(["baseline", "metric"])
    lines = [
        "# Several codes per text: GoEmotions", "",
        f"Machine: {machine()}. Command: `python benchmarks/codes_goemotions.py --n {args.n} --per-code "
        f"{args.per_code} --epochs {args.epochs} --min-texts {args.min_texts}{' --quick' if args.quick else ''}`"
        + (" **Smoke run (--quick): the numbers mean nothing.**" if args.quick else ""), "",
        f"{len(df)} comments (random, seed 1), {len(codes)} codes with at least {args.min_texts} comments "
        f"({', '.join(c for c in CODES if c not in codes) or 'none'} dropped); {(df[codes].sum(1) >= 2).mean():.0%} "
        f"with two or more. MiniLM-L6, strategy full, max_length 64, up to {args.epochs} epochs; split "
        f"62.5/12.5/25 (seed 42); each code's threshold chosen on dev. Multilabel fit: "
        f"{time_joint[0]:.0f} s wall, {time_joint[1]:.0f} s CPU. 95% CIs: BCa bootstrap of the test comments.", "",
        "## All codes together", "", pd.DataFrame(rows).to_markdown(index=False), "",
        *(f"Model minus {base}: micro F1 {d.loc[(base, 'f1_micro')].estimate:+.3f} "
          f"[{d.loc[(base, 'f1_micro')].conf_low:+.3f}, {d.loc[(base, 'f1_micro')].conf_high:+.3f}], macro F1 "
          f"{d.loc[(base, 'f1_macro')].estimate:+.3f} [{d.loc[(base, 'f1_macro')].conf_low:+.3f}, "
          f"{d.loc[(base, 'f1_macro')].conf_high:+.3f}]." for base in joint.baseline_names), "",
        "## The most frequent codes: one model for all against a model of their own", "",
        "Own models predict their more probable class (no threshold tuned on dev); the multilabel model's "
        "codes use the threshold chosen on dev.", "",
        pd.DataFrame(code_rows).to_markdown(index=False), "",
    ]
    out = ROOT / "benchmarks" / "results" / "codes_goemotions.md"
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
