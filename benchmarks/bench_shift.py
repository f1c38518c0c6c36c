"""What the shift check costs at scoring time: ``predict_scores`` with ``check_shift=False``
and ``True`` side by side in one run, int8 and fp32, on the 2,491 RWWD long answers and the
2,491 short ones, 3 interleaved rounds after a warm-up. Also the share of texts flagged.

Writes its section of ``benchmarks/results/scoring.md`` (between the shift-check markers,
replacing an earlier one). Run: ``python benchmarks/bench_shift.py`` (fits the benchmark
bundle first when it is missing: the default model on 1,000 random RWWD rows, text_long
-> anxiety, 2 epochs, seed 42; a few minutes on 2 cores). Data: the Real World Worry
Dataset (Kleinberg, van der Vegt & Mozes, 2020; CC BY 4.0), from ../shared/data/rwwd.
"""

from __future__ import annotations

import time
from datetime import date
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from pytext_psych import fit_text_model, load_model, predict_scores
from pytext_psych.metadata import hardware

ROOT = Path(__file__).resolve().parents[1]
RWWD = ROOT.parent / "shared" / "data" / "rwwd" / "rwwd_full_clean.csv"
BUNDLE = ROOT / "benchmarks" / "models" / "anxiety_subset1000_shift"
RESULTS = ROOT / "benchmarks" / "results" / "scoring.md"
BEGIN, END = "<!-- shift check: bench_shift.py -->", "<!-- end of shift check -->"


def timed(model, texts: list[str], precision: str, check: bool) -> tuple[float, pd.DataFrame]:
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = predict_scores(model, texts, precision=precision, check_shift=check)
    return len(texts) / (time.perf_counter() - started), scores


def one_round(model, texts: list[str], precision: str, first_on: bool) -> tuple[float, float, pd.DataFrame]:
    """Texts/s without the check and with it (and the scores with it), the order alternated by round."""
    if first_on:
        on, scores = timed(model, texts, precision, True)
        return timed(model, texts, precision, False)[0], on, scores
    off = timed(model, texts, precision, False)[0]
    return (off, *timed(model, texts, precision, True))


def main() -> None:
    df = pd.read_csv(RWWD)
    if not BUNDLE.exists():
        subset = df.sample(1000, random_state=42)
        fit_text_model(subset, "text_long", "anxiety", output_dir=BUNDLE, epochs=2, seed=42,
                       progress=True, n_resamples=200)
    model = load_model(BUNDLE)
    hw = hardware()
    lines = [BEGIN, "", "### The shift check's cost (`check_shift`)", "", f"Measured on {date.today()}.", "",
             f"Machine: {hw['cpu']}; {hw['cores_available']} cores; {hw['memory_gib']} GiB; "
             f"Python {hw['python']}. Bundle: the default model fitted on 1,000 random RWWD rows "
             "(`text_long` -> anxiety, 2 epochs). Same texts, same cached session, 3 interleaved "
             "rounds after a 64-text warm-up (without the check first in the first and third, with it first "
             "in the second); texts/s is the median over rounds, the ratio the "
             "median of each round's ratio [min, max].", "",
             "| texts | precision | texts/s without | texts/s with | with / without [range] | flagged |",
             "|---|---|---|---|---|---|"]
    for column in ("text_long", "text_short"):
        texts = df[column].astype(str).tolist()
        for precision in ("int8", "fp32"):
            timed(model, texts[:64], precision, True)
            rounds = [one_round(model, texts, precision, first_on=bool(i % 2)) for i in range(3)]
            off, on = np.median([r[0] for r in rounds]), np.median([r[1] for r in rounds])
            ratio = [r[1] / r[0] for r in rounds]
            flagged = rounds[-1][2]["unusual"].mean()
            lines.append(f"| RWWD `{column}` ({len(texts):,}) | {precision} | {off:.1f} | {on:.1f} | "
                         f"{np.median(ratio):.3f} [{min(ratio):.3f}, {max(ratio):.3f}] | {flagged:.1%} |")
            print(lines[-1], flush=True)
    lines += ["", "The check reads the token counts that scoring made anyway (`scoring/pieces.py`; until "
              "the twenty-ninth session it tokenized each text a second time) and computes three numbers "
              "per text; "
              "the ratio is the speed with the check over the speed without it (1.0: free). "
              "`flagged`: the share of texts marked `unusual`. The long answers are the bundle's "
              "own kind of text (its 1,000 training rows are among them), so about 5% is expected; "
              "the short answers of the same people are far shorter than anything the model was "
              "trained on, and the check says so.", "", END]
    text = RESULTS.read_text() if RESULTS.exists() else ""
    section = "\n".join(lines)
    if BEGIN in text:  # replaced where it stands
        RESULTS.write_text(text[: text.index(BEGIN)] + section + text[text.index(END) + len(END):])
    else:
        RESULTS.write_text(text.rstrip("\n") + "\n\n" + section + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
