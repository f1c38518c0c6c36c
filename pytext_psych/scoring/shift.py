"""Is a new text like the texts the model was trained on? A cheap check at scoring time.

Each text is described by three numbers the scoring path has at hand (no torch, no second
model): its length (log words), how finely the model's tokenizer cuts its words (word
pieces per word, the tokenizer's special tokens not counted: text in another language,
jargon or typos is cut into many more pieces), and
how the model responds (classification: the log of the entropy of its class probabilities;
regression: how far the score lies from the training scores). Each number becomes a
robust z score against the training texts (median and MAD), and a text's unusualness is
the largest of the three. The threshold is the 95th percentile of the dev texts'
unusualness, so about 5% of texts like the training texts are flagged; a scoring call with
clearly more (binomial test) gets one warning, for all its chunks or partitions together,
which also says how many of them each number set apart, and which way (e.g. "longer", or
"cut into more word pieces", which points to another language, jargon or typos). The
bundle stores only these medians, scales and the threshold, no text.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ..data.outcomes import views
from ..stats import softmax
from .pieces import Pieces

FEATURES = ["log_words", "pieces_per_word", "output"]
# The profiles of bundles made before December 2026 list "tokens_per_word" instead: the same
# ratio with the tokenizer's two special tokens counted, which made a one-word text three
# pieces per word (an 8-word text of 10 pieces 1.5 instead of 1.25), so that very short texts
# were set apart by their "word pieces" rather than their length. Those profiles were
# calibrated on it, so it is still computed for them.
LEGACY_PER_WORD = "tokens_per_word"
# A classifier's response is the log of its class entropy in profiles made since December 2026
# ("log_entropy"); older ones list "output", the entropy itself, still computed for them. A
# fine-tuned classifier is much surer of its training texts than of new ones, so on the
# entropy's own scale the training texts' MAD is tiny and ordinary dev texts lie far out:
# measured on a MiniLM-L6 fit of 1,500 GoEmotions comments (27 emotions; entropy median .042 on
# training texts, .76 on dev ones), the threshold came to 32.7 robust z, no text's length or
# word pieces ever reached it, and only 32% of comments with typos and 59% of RWWD answers were
# flagged (test comments: 8%). With the log: threshold 3.0, typos 93%, RWWD answers 100%,
# comments repeated four times 36% (17%), test comments 6%. A fit on 1,000 RWWD answers'
# chosen emotion (8 classes, less sure) flagged the same either way (test 4%, each shift 100%).
LOG_ENTROPY = "log_entropy"
ENTROPY_FLOOR = 1e-6  # float32 probabilities resolve an entropy to about this; below it is rounding
EXPECTED = 0.05  # share of in-distribution texts flagged, by construction
WORD = re.compile(r"\S+")
# what a feature past the threshold says about a text, by feature: (below, above the training texts)
PIECES = ("cut into fewer word pieces", "cut into more word pieces (another language, jargon or typos?)")
SIGNALS = {"log_words": ("shorter", "longer"), "pieces_per_word": PIECES, LEGACY_PER_WORD: PIECES}
RESPONSES = {"classification": ("given surer class probabilities", "given less sure class probabilities"),
             "multilabel": ("given a lower score for the first code", "given a higher score for the first code"),
             "regression": ("scored lower", "scored higher"), "ordinal": ("scored lower", "scored higher")}


def feature_names(task: str) -> list[str]:
    """The features a new profile is calibrated on, for a model whose (first) outcome is of ``task``.

    >>> feature_names("classification")
    ['log_words', 'pieces_per_word', 'log_entropy']
    """
    return [*FEATURES[:2], LOG_ENTROPY if task == "classification" else FEATURES[2]]


def features(model, texts: Sequence[str], outputs: np.ndarray, pieces: Pieces, names: Sequence[str]) -> np.ndarray:
    """The three numbers per text (see the module docstring); ``model`` is a TextModel,
    ``pieces`` what its tokenizer made of the texts, ``names`` the features its profile was
    calibrated on."""
    words = np.array([len(WORD.findall(t)) for t in texts], dtype=float)
    per_word = pieces.per_word(with_specials=names[1] == LEGACY_PER_WORD)
    view, cols, _ = views(model)[0]  # several outcomes: the first one's response
    answer = response(view.task, outputs[:, cols])
    if names[2] == LOG_ENTROPY:
        answer = np.log(answer + ENTROPY_FLOOR)
    return np.column_stack([np.log1p(words), per_word, answer])


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
                 calibration: np.ndarray, where: str, names: Sequence[str] | None = None) -> dict[str, Any]:
    """Medians and scales from the ``reference`` rows (training texts), the threshold from
    the ``calibration`` rows (dev texts), on the features ``names`` (by default
    :func:`feature_names` of the model's task)."""
    names = list(names or feature_names(views(model)[0][0].task))
    x = features(model, texts, outputs, model.pieces(texts), names)
    median = np.median(x[reference], axis=0)
    scale = 1.4826 * np.median(np.abs(x[reference] - median), axis=0)
    scale = np.where(scale > 0, scale, x[reference].std(axis=0) + 1e-6)
    profile = {"features": names, "median": median.tolist(), "scale": scale.tolist()}
    score = unusualness(profile, x[calibration])
    profile.update(threshold=float(np.quantile(score, 1 - EXPECTED)), calibrated_on=where,
                   n=int(len(calibration)))
    return profile


def deviations(profile: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Each text's robust z score on each feature, against the training texts."""
    return (x - np.asarray(profile["median"])) / np.asarray(profile["scale"])


def unusualness(profile: dict[str, Any], x: np.ndarray) -> np.ndarray:
    return np.abs(deviations(profile, x)).max(axis=1)


@dataclass
class ShiftTally:
    """The texts of one scoring call, its unusual ones, and how many of those each signal
    (:func:`signals_of`) set apart: filled chunk by chunk (or partition by partition),
    then :meth:`warn` once."""

    texts: int = 0
    unusual: int = 0
    signals: Counter = field(default_factory=Counter)

    def add(self, texts: int, unusual: int, signals: Mapping[str, int]) -> None:
        self.texts += texts
        self.unusual += unusual
        self.signals.update(signals)

    def warn(self, stacklevel: int = 2) -> None:
        """Warn when the unusual texts are clearly more than the 5% expected (one-sided
        binomial test, p < .001), saying how many each signal set apart."""
        from scipy.stats import binomtest

        k, n = self.unusual, self.texts
        if k > 1 and binomtest(k, n, EXPECTED, alternative="greater").pvalue < 0.001:
            apart = ", ".join(f"{m} {signal}" for signal, m in sorted(self.signals.items(),
                                                                      key=lambda item: (-item[1], item[0])))
            warnings.warn(f"{k} of {n} texts ({k / n:.0%}) are unlike the texts the model was trained on "
                          f"(about {EXPECTED:.0%} expected): {apart}; check that the model applies to them "
                          "(see the 'unusual' column)", UserWarning, stacklevel=stacklevel + 1)


def signals_of(z: np.ndarray, threshold: float, names: Sequence[str], task: str) -> Counter:
    """How many texts each signal sets apart: a feature (``names``, the columns of ``z``,
    robust z scores from :func:`deviations`, one row per text) past ``threshold``, below or
    above the training texts (:data:`SIGNALS`, :data:`RESPONSES`). A text may count under several."""
    labels = {**SIGNALS, "output": RESPONSES[task], LOG_ENTROPY: RESPONSES["classification"]}
    rows, cols = np.nonzero(np.abs(z) > threshold)
    return Counter(labels[names[j]][int(z[i, j] > 0)] for i, j in zip(rows, cols))


def flag(model, texts: Sequence[str], outputs: np.ndarray, pieces: Pieces, tally: ShiftTally) -> np.ndarray | None:
    """Per text: is it unlike the training texts? None when the bundle has no profile.
    ``outputs`` and ``pieces`` come from scoring the texts
    (:meth:`~pytext_psych.scoring.infer.TextModel.outputs_and_pieces`). The texts, the unusual
    ones and what set them apart are added to ``tally``."""
    profile = model.description.shift
    if not profile or not len(texts):
        return None
    names, threshold = profile["features"], profile["threshold"]
    z = deviations(profile, features(model, texts, outputs, pieces, names))
    unusual = np.abs(z).max(axis=1) > threshold
    tally.add(len(texts), int(unusual.sum()), signals_of(z, threshold, names, model.description.task))
    return unusual
