"""Several texts per person: a person's trait from their texts, two ways, side by side.

Data: Empathic Reactions (Buechel, Buffone, Slaff, Ungar & Sedoc, 2018; CC BY 4.0; read
from ``../shared/data/empathic_reactions``): 372 writers with 5 essays each; the outcome is
the writer's mean empathy over their five essays (a trait-like score, one per person).

- ``person=``: one fit on the 1,860 essays, each labelled with its writer's score, split by
  writer; each test writer's score is the mean of their five essays' outputs
  (``fit.person_metrics``, CIs resampling writers). Its text-level metrics (each essay
  against its writer's score) are reported beside it.
- ``joined``: the five essays joined into one text per writer (median about 460 tokens),
  read in sliding windows; one fit on the 372 writers, split by writer with the same seed.

Both ``strategy="full"`` (so "auto" cannot pick different strategies for them). When the
two splits hold the same test writers, their difference is a paired bootstrap over those
writers (``pytext_psych.stats.compare_predictions``).

    python benchmarks/persons.py

writes ``benchmarks/results/persons_empathic.md``. ``--quick``: a smoke run.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from several_outcomes import ROOT, SHARED, ci, machine, timed  # the sibling scripts' helpers

from pytext_psych import fit_text_model
from pytext_psych.stats import compare_predictions


def essays() -> pd.DataFrame:
    df = pd.read_csv(SHARED / "empathic_reactions" / "empathic_reactions.csv")
    return df.assign(trait=df.groupby("response_id")["empathy"].transform("mean"))


def joined(df: pd.DataFrame) -> pd.DataFrame:
    return df.groupby("response_id", sort=False).agg(text=("essay", " ".join), trait=("trait", "first")).reset_index()


def person_scores(fit, persons: np.ndarray) -> pd.Series:
    """The test persons' scores of the person= fit (the mean of their texts' outputs equals
    the mean of their text scores for a rating)."""
    test = fit.predictions[fit.predictions.split == "test"]
    return test.groupby(persons[test.row.to_numpy()])["predicted"].mean()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    df = essays()
    options = dict(epochs=args.epochs, seed=42, progress=False, strategy="full")
    if args.quick:
        df = df[df.response_id.isin(df.response_id.unique()[:40])].reset_index(drop=True)
        options = dict(options, epochs=1, n_resamples=200, max_length=64)
    writers = joined(df)
    with tempfile.TemporaryDirectory() as tmp:
        per, wall_a, cpu_a = timed(lambda: fit_text_model(df, "essay", "trait", person="response_id",
                                                          output_dir=Path(tmp) / "per", **options))
        print(f"person=: {wall_a:.0f} s", flush=True)
        one, wall_b, cpu_b = timed(lambda: fit_text_model(writers, "text", "trait", group="response_id",
                                                          output_dir=Path(tmp) / "joined", **options))
        print(f"joined: {wall_b:.0f} s", flush=True)
    write(args, df, writers, per, one, (wall_a, cpu_a), (wall_b, cpu_b), options)


def write(args, df, writers, per, one, time_a, time_b, options) -> None:
    a = person_scores(per, df.response_id.to_numpy())
    test_b = one.predictions[one.predictions.split == "test"]
    b = pd.Series(test_b.predicted.to_numpy(), index=writers.response_id.to_numpy()[test_b.row.to_numpy()])
    same = set(a.index) == set(b.index)
    rows = [
        {"reading": "person=: each essay scored, a writer's essays averaged", "level": "writer",
         "r [95% CI]": ci(per.person_metrics.set_index("metric").loc["pearson_r"]),
         "n": int(per.person_metrics.n.iloc[0]), "fit wall s": f"{time_a[0]:.0f}", "fit CPU s": f"{time_a[1]:.0f}"},
        {"reading": "person=: the same fit's essays one by one", "level": "essay",
         "r [95% CI]": ci(per.metrics.set_index("metric").loc["pearson_r"]),
         "n": int(per.metrics.n.iloc[0]), "fit wall s": "", "fit CPU s": ""},
        {"reading": "joined: one text per writer, in windows", "level": "writer",
         "r [95% CI]": ci(one.metrics.set_index("metric").loc["pearson_r"]),
         "n": int(one.metrics.n.iloc[0]), "fit wall s": f"{time_b[0]:.0f}", "fit CPU s": f"{time_b[1]:.0f}"},
    ]
    for name in per.baseline_names:
        rows.append({"reading": f"baseline {name}, per writer (essay scores averaged)", "level": "writer",
                     "r [95% CI]": ci(per.person_baseline_metrics.set_index(["baseline", "metric"])
                                      .loc[(name, "pearson_r")]),
                     "n": int(per.person_metrics.n.iloc[0]), "fit wall s": "", "fit CPU s": ""})
    lines = [
        "# Several texts per person: averaging essays against joining them (Empathic Reactions)", "",
        f"Machine: {machine()}. Command: `python benchmarks/persons.py --epochs {args.epochs}"
        f"{' --quick' if args.quick else ''}`"
        + (" **Smoke run (--quick): the numbers mean nothing.**" if args.quick else ""), "",
        f"{df.response_id.nunique()} writers, {len(df)} essays; outcome: the writer's mean empathy (1-7) over "
        f"their essays. MiniLM-L6, strategy full, up to {options['epochs']} epochs (best dev epoch kept), "
        "split by writer 62.5/12.5/25 (seed 42). 95% CIs: BCa bootstrap resampling writers (essays for the "
        "essay row).", "",
        pd.DataFrame(rows).to_markdown(index=False), "",
    ]
    if same:
        obs = df.groupby("response_id")["trait"].first()[a.index].to_numpy()
        d = compare_predictions(obs, a.to_numpy(), b[a.index].to_numpy(), "regression",
                                n_resamples=options.get("n_resamples", 2000), seed=42)
        d = d.set_index("metric").loc["pearson_r"]
        lines += [f"Averaging minus joining, on the same {len(a)} test writers: r {d.estimate:+.3f} "
                  f"[{d.conf_low:+.3f}, {d.conf_high:+.3f}], p = {d.p_value:.3f}.", ""]
    else:
        lines += ["The two splits hold different test writers, so the difference is not paired.", ""]
    out = ROOT / "benchmarks" / "results" / "persons_empathic.md"
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
