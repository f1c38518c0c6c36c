"""Psychometric outcomes on the Real World Worry Dataset (Kleinberg, van der Vegt & Mozes,
2020; CC BY 4.0): anxiety (1-9) from ``text_long``, the paper's 62.5/12.5/25 split, seed 42,
the package defaults otherwise.

1. Ordinal (CORN head) against regression: r, RMSE and quadratic-weighted kappa with CIs,
   and the paired difference on the same test texts (``compare_models``).
2. Incremental validity: the regression fit with ``covariates=["worry"]`` (the general
   worry rating, r = .66 with anxiety): ΔR² beyond worry, in-sample and out of sample.
3. Fairness across ``eng_native`` (native English speakers or not): r per group, the
   difference, and Cleary's differential-prediction tests.

Writes ``--out`` (default ``benchmarks/results/psychometrics.md``). A fit takes about a
minute on one GPU and 20-40 minutes on 2 CPU cores. ``--quick`` is a smoke run (300 rows,
1 epoch, 64 tokens) that checks the script, not the numbers.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from pytext_psych import compare_models, fairness, fit_text_model
from pytext_psych.metadata import hardware
from pytext_psych.reporting.report import incremental_sentence
from pytext_psych.training.encoders import DEFAULT_MODEL

ROOT = Path(__file__).resolve().parents[1]
RWWD = ROOT.parent / "shared" / "data" / "rwwd" / "rwwd_full_clean.csv"


def table(frame: pd.DataFrame, columns: list[str]) -> str:
    return frame[columns].to_markdown(index=False, floatfmt=".3f")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(RWWD))
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "psychometrics.md"))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    df = pd.read_csv(args.data)
    options = dict(model=args.model, seed=42, progress=False)
    if args.quick:
        df = df.sample(300, random_state=1)
        options.update(epochs=1, max_length=64, n_resamples=200)
    fits, seconds = {}, {}
    runs = (("regression", dict(covariates=["worry"])),
            ("ordinal, cumulative link", dict(task="ordinal", ordinal_head="clm")),
            ("ordinal, CORN", dict(task="ordinal", ordinal_head="corn")))
    with tempfile.TemporaryDirectory() as tmp:
        for k, (name, extra) in enumerate(runs):
            start = time.perf_counter()
            fits[name] = fit_text_model(df, "text_long", "anxiety", output_dir=Path(tmp) / str(k),
                                        **extra, **options)
            seconds[name] = time.perf_counter() - start
            print(name, f"{seconds[name]:.0f} s", flush=True)
        paired = {name: compare_models(fits[name], fits["regression"]) for name, _ in runs[1:]}
        fair = fairness(fits["regression"], "eng_native", data=df)
    write(args, fits, seconds, paired, fair)


def write(args, fits: dict, seconds: dict, paired: dict, fair) -> None:
    hw = hardware()
    cols = ["metric", "estimate", "conf_low", "conf_high"]
    reg = fits["regression"]
    rows = []
    for name, fit in fits.items():
        t = pd.concat([fit.metrics, fit.agreement[fit.agreement.metric == "kappa_quadratic"]])
        t = t.drop_duplicates("metric").set_index("metric")
        for metric in ("pearson_r", "rmse", "mae", "kappa_quadratic"):
            r = t.loc[metric]
            rows.append({"model": name, "metric": metric, "estimate": r.estimate,
                         "conf_low": r.conf_low, "conf_high": r.conf_high,
                         "fit s": round(seconds[name])})
    lines = [
        "# Psychometric outcomes (RWWD anxiety)", "",
        f"Machine: {hw['cpu']}; {hw['cores_available']} cores; GPU: {hw['gpu'] or 'none'}; Python "
        f"{hw['python']}. Data: RWWD `rwwd_full_clean.csv`, anxiety (1-9) from `text_long`, "
        f"n = {sum(reg.n.values())}, the paper's split (seed 42), test n = {reg.n.get('test')}; "
        "package defaults (MiniLM-L6, max_length 256, up to 10 epochs, patience 3). 95% CIs: "
        "2,000 bootstrap resamples of the test texts (BCa; paired for differences)."
        + (" **Smoke run (--quick): the numbers mean nothing.**" if args.quick else ""), "",
        "## 1. Ordinal heads against regression", "",
        "Quadratic kappa: for regression, the rounded predictions against the ratings; for the "
        "ordinal heads, the most likely level. Other metrics: the regression score, or the "
        "ordinal heads' expected rating. Fit time includes export, evaluation and (regression) "
        "the incremental-validity analysis.", "",
        pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3f"), "",
    ]
    for name, table_ in paired.items():
        lines += [f"{name} minus regression, paired on the same test texts:", "",
                  table(table_, cols + ["p_value"]), ""]
    lines += [
        "## 2. Incremental validity beyond the general worry rating", "",
        table(reg.incremental, ["metric", "estimate", "conf_low", "conf_high", "p_value",
                                "estimate_a", "estimate_b", "method"]), "",
        incremental_sentence(reg.incremental, ["worry"], "regression", "95%"), "",
        "## 3. Across native and non-native English speakers (`eng_native`)", "",
        table(fair.metrics[fair.metrics.metric.isin(["pearson_r", "rmse"])],
              ["group", "metric", "estimate", "conf_low", "conf_high", "n"]), "",
        table(fair.differences[fair.differences.metric.isin(["pearson_r", "rmse"])],
              ["group", "reference", "metric", "estimate", "conf_low", "conf_high", "p_value"]), "",
        "Cleary's differential prediction (observed anxiety on predicted, group and their "
        "interaction):", "", fair.cleary_tests.to_markdown(index=False, floatfmt=".3f"), "",
        fair.report(), "",
    ]
    out = Path(args.out)  # section 4 comes from several_outcomes.py: kept as it is
    kept = out.read_text().partition("\n## 4. ")[2] if out.exists() else ""
    out.write_text("\n".join(lines) + (f"\n## 4. {kept}" if kept else ""))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
