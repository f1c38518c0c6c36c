"""Which shift signal fires for real classifiers, with the class entropy or its log as the
model's response (``pytext_psych/scoring/shift.py``).

Two MiniLM-L6 classifiers, fitted by the package at its defaults (3 epochs, seed 42): the
chosen emotion of 1,000 RWWD long answers (8 classes) and the emotion of 1,500 GoEmotions
comments (27 emotions, "neutral" left out). For each, two shift profiles from the same fit
(medians and scales from the training texts, threshold from the dev texts): the entropy
(profiles made before December 2026) and its log (since). Then the share of texts flagged, and
of texts each signal sets apart, for the test texts (in distribution: about 5% expected) and
four kinds of shifted ones: the test texts repeated four times, cut to their first three
words, with two letters swapped in every word of four letters or more, and texts of the other
data set.

Run: ``python benchmarks/shift_signals.py`` (fits the two bundles into ``benchmarks/models``
when missing: about 10 minutes on 2 cores). Writes ``benchmarks/results/shift_signals.md``.
Data: the Real World Worry Dataset (Kleinberg, van der Vegt & Mozes, 2020; CC BY 4.0) and
GoEmotions (Demszky et al., 2020; Apache 2.0), from ``../shared/data``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from bench_scoring import machine

from pytext_psych import fit_text_model, load_model
from pytext_psych.data.design import split_rows
from pytext_psych.data.reading import prepare
from pytext_psych.scoring.shift import FEATURES, LOG_ENTROPY, deviations, features, make_profile

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "benchmarks" / "results" / "shift_signals.md"
RESPONSES = {"entropy (before December 2026)": "output", "log entropy (since)": LOG_ENTROPY}


def cases() -> dict[str, tuple[pd.DataFrame, str, list[str]]]:
    """Name: (training data with a ``text`` column, outcome, texts of the other data set)."""
    rwwd = pd.read_csv(DATA / "rwwd" / "rwwd_full_clean.csv")
    go = pd.read_csv(DATA / "goemotions" / "goemotions_single_label.csv")
    return {"RWWD chosen emotion (1,000 long answers, 8 classes)":
            (rwwd.sample(1000, random_state=42).rename(columns={"text_long": "text"}), "chosen_emotion",
             go.text.sample(300, random_state=1).tolist()),
            "GoEmotions emotion (1,500 comments, 27 classes)":
            (go[go.label != "neutral"].sample(1500, random_state=42), "label",
             rwwd.text_long.sample(300, random_state=1).tolist())}


def swapped(text: str, rng: np.random.Generator) -> str:
    """Two neighbouring letters swapped in every word of four letters or more: typos."""
    def swap(word: str) -> str:
        if len(word) < 4:
            return word
        i = int(rng.integers(1, len(word) - 2))
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return " ".join(swap(w) for w in text.split())


def shifted(test: list[str], other: list[str]) -> dict[str, list[str]]:
    rng = np.random.default_rng(0)
    return {"test texts (in distribution)": test, "repeated four times": [" ".join([t] * 4) for t in test],
            "first three words": [" ".join(t.split()[:3]) for t in test],
            "letters swapped (typos)": [swapped(t, rng) for t in test], "the other data set": other}


def table(name: str, df: pd.DataFrame, outcome: str, other: list[str]) -> list[str]:
    folder = ROOT / "benchmarks" / "models" / ("shift_" + outcome)
    if not (folder / "bundle.json").is_file():
        fit_text_model(df, text="text", outcome=outcome, output_dir=folder, seed=42, epochs=3)
    model = load_model(folder)
    prep, training = prepare(df, "text", outcome), model.description.to_json()["training"]
    split = split_rows(prep.y, prep.task, training["split"], training["seed"])  # the fit's own split
    texts = list(prep.texts)
    outputs = model.raw_outputs(texts)
    sets = {k: (v, model.raw_outputs(v)) for k, v in shifted([t for t, s in zip(texts, split) if s == "test"],
                                                                other).items()}
    lines = [f"### {name}", "", "| response | threshold (robust z) | texts | flagged | by length | "
             "by word pieces | by the response |", "|---|---|---|---|---|---|---|"]
    for label, response in RESPONSES.items():
        names = [*FEATURES[:2], response]
        profile = make_profile(model, texts, outputs, np.flatnonzero(split == "train"),
                               np.flatnonzero(split == "dev"), "dev split", names)
        for what, (these, out) in sets.items():
            x = features(model, these, out, model.pieces(these), names)
            past = np.abs(deviations(profile, x)) > profile["threshold"]
            lines.append(f"| {label} | {profile['threshold']:.1f} | {what} | {past.any(axis=1).mean():.0%} | "
                         + " | ".join(f"{share:.0%}" for share in past.mean(axis=0)) + " |")
    return lines + [""]


def main() -> None:
    warnings.simplefilter("ignore")
    lines = ["# Shift signals of two classifiers: the class entropy or its log", "",
             f"Machine: {machine()}.", "", "Each profile from the same fit and texts; a text can count under "
             "several signals.", ""]
    for name, (df, outcome, other) in cases().items():
        lines += table(name, df, outcome, other)
    OUT.write_text("\n".join(lines + ["Run: `python benchmarks/shift_signals.py`."]) + "\n")


if __name__ == "__main__":
    main()
