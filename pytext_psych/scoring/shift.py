"""Is a new text like the texts the model was trained on? A cheap check at scoring time.

Each text is described by three numbers the scoring path has at hand (no torch, no second
model): its length (log words), how finely the model's tokenizer cuts its words (tokens
per word: text in another language, jargon or typos is cut into many more pieces), and
how the model responds (classification: the entropy of its class probabilities;
regression: how far the score lies from the training scores). Each number becomes a
robust z score against the training texts (median and MAD), and a text's unusualness is
the largest of the three. The threshold is the 95th percentile of the dev texts'
unusualness, so about 5% of texts like the training texts are flagged; a batch with
clearly more (binomial test) gets a one-line warning. The bundle stores only these
medians, scales and the threshold, no text.
"""

from __future__ import annotations

import re
import warnings
from typing import Any, Sequence

import numpy as np

from ..data.outcomes import views
from ..stats import softmax

FEATURES = ["log_words", "tokens_per_word", "output"]
EXPECTED = 0.05  # share of in-distribution texts flagged, by construction
WORD = re.compile(r"\S+")


def features(model, texts: Sequence[str], outputs: np.ndarray) -> np.ndarray:
    """The three numbers per text (see the module docstring); ``model`` is a TextModel."""
    encodings = model.tokenizer.encode_batch(list(texts))
    words = np.array([len(WORD.findall(t)) for t in texts], dtype=float)
    per_word = np.array([len(e.ids) / max(len({w for w in e.word_ids if w is not None}), 1)
                         for e in encodings])
    view, cols, _ = views(model)[0]  # several outcomes: the first one's response
    return np.column_stack([np.log1p(words), per_word, response(view.task, outputs[:, cols])])


def response(task: str, outputs: np.ndarray) -> np.ndarray:
    """The model's response to each text: its class entropy, or its (standardised) score."""
    if task == "classification":
        p = softmax(outputs)
        return -(p * np.log(np.clip(p, 1e-12, 1))).sum(axis=1)
    if task == "ordinal":
        from ..stats.ordinal import level_score

        return level_score(outputs)
    return outputs[:, 0].astype(float)  # standardised score: training mean 0, SD 1


def make_profile(model, texts: Sequence[str], outputs: np.ndarray, reference: np.ndarray,
                 calibration: np.ndarray, where: str) -> dict[str, Any]:
    """Medians and scales from the ``reference`` rows (training texts), the threshold from
    the ``calibration`` rows (dev texts)."""
    x = features(model, texts, outputs)
    median = np.median(x[reference], axis=0)
    scale = 1.4826 * np.median(np.abs(x[reference] - median), axis=0)
    scale = np.where(scale > 0, scale, x[reference].std(axis=0) + 1e-6)
    profile = {"features": FEATURES, "median": median.tolist(), "scale": scale.tolist()}
    score = unusualness(profile, x[calibration])
    profile.update(threshold=float(np.quantile(score, 1 - EXPECTED)), calibrated_on=where,
                   n=int(len(calibration)))
    return profile


def unusualness(profile: dict[str, Any], x: np.ndarray) -> np.ndarray:
    return np.abs((x - np.asarray(profile["median"])) / np.asarray(profile["scale"])).max(axis=1)


def flag(model, texts: Sequence[str], outputs: np.ndarray) -> np.ndarray | None:
    """Per text: is it unlike the training texts? None when the bundle has no profile.
    Warns once when clearly more than 5% of the texts are flagged."""
    profile = model.description.shift
    if not profile or not len(texts):
        return None
    unusual = unusualness(profile, features(model, texts, outputs)) > profile["threshold"]
    warn_if_many(int(unusual.sum()), len(unusual), stacklevel=5)
    return unusual


def warn_if_many(k: int, n: int, stacklevel: int = 2) -> None:
    """Warn when ``k`` unusual texts of ``n`` are clearly more than the 5% expected
    (one-sided binomial test, p < .001)."""
    from scipy.stats import binomtest

    if k > 1 and binomtest(k, n, EXPECTED, alternative="greater").pvalue < 0.001:
        warnings.warn(f"{k} of {n} texts ({k / n:.0%}) are unlike the texts the model was trained "
                      f"on (length, words or the model's response; about {EXPECTED:.0%} expected): "
                      "check that the model applies to them (see the 'unusual' column)",
                      UserWarning, stacklevel=stacklevel)
