"""The baselines a fine-tune must beat: features + a penalised linear model.

- ``tfidf``: TF-IDF (word 1-2 grams), the traditional method.
- ``embeddings``: what the R package ``text`` does (``textEmbed`` + ``textTrain``): the
  pretrained encoder left as it is, each text the mean of its tokens' vectors from the
  second-to-last layer (:func:`pytext_psych.training.encoders.text_embeddings`).

Each is fitted on the same training rows as the language model, with the penalty chosen on
the same dev rows, and scored on the same test rows, so the comparison is paired and fair.
Logistic regression for classification, ridge regression for ratings. Needs scikit-learn
(the ``[train]`` extra), imported here only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge

from ..core.settings import BASELINES

Scorer = Callable[[np.ndarray, np.ndarray], float]  # (outputs, targets) -> higher is better

PENALTIES = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
DEFAULT_PENALTY = 1.0  # used when there is no dev split to choose on


@dataclass
class Baseline:
    """Predictions for every row (class codes or numbers) and how the penalty was chosen."""

    predicted: np.ndarray
    penalty: float
    chosen_on: str  # "dev" or "default (no dev split)"
    dev_scores: dict[float, float]  # macro F1, or minus the mean squared error
    model: str  # features + linear model
    linear: Any = None  # the fitted scikit-learn model

    def describe(self) -> str:
        return f"{self.model}, penalty {self.penalty:g} chosen on {self.chosen_on}"


def fit_baseline(texts: Sequence[str], y: np.ndarray, split: np.ndarray, task: str,
                 num_classes: int | None, dev_score: Scorer) -> Baseline:
    """TF-IDF (word 1-2 grams, sublinear tf) features of the train rows' vocabulary, then
    :func:`fit_penalised`.

    Examples
    --------
    >>> from pytext_psych.stats import dev_scorer
    >>> texts = ["good day", "bad day", "good mood", "bad mood"] * 5
    >>> y = np.array([1, 0, 1, 0] * 5)
    >>> split = np.array(["train"] * 12 + ["dev"] * 4 + ["test"] * 4)
    >>> base = fit_baseline(texts, y, split, "classification", 2, dev_scorer("classification"))
    >>> base.predicted[-4:].tolist()
    [1, 0, 1, 0]
    """
    texts = np.asarray(texts, dtype=object)
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    vectorizer.fit(texts[split == "train"])
    return fit_penalised(vectorizer.transform(texts), y, split, task, num_classes, dev_score,
                         "TF-IDF (word 1-2 grams)")


def fit_named(name: str, texts: Sequence[str], embeddings: np.ndarray, y: np.ndarray, split: np.ndarray,
              task: str, num_classes: int | None, dev_score: Scorer) -> Baseline:
    """The baseline ``name`` (a key of ``BASELINES``); ``embeddings``: the texts' frozen-encoder
    embeddings, computed once per fit (they do not depend on the split)."""
    if name == "tfidf":
        return fit_baseline(texts, y, split, task, num_classes, dev_score)
    return fit_penalised(embeddings, y, split, task, num_classes, dev_score, BASELINES[name])


def fit_penalised(x, y: np.ndarray, split: np.ndarray, task: str, num_classes: int | None,
                  dev_score: Scorer, features: str = "features") -> Baseline:
    """Ridge (ratings) or logistic regression (classes) on feature rows ``x``: fitted on the
    ``"train"`` rows, penalty chosen on the dev rows (``dev_score`` for classes, squared
    error for ratings), predictions for every row. Also used for frozen-embedding baselines.
    """
    train, dev = split == "train", split == "dev"

    def model(penalty: float):
        if task == "regression":
            return Ridge(alpha=penalty).fit(x[train], y[train])
        return LogisticRegression(C=1 / penalty, max_iter=2000).fit(x[train], y[train])

    def outputs(fitted, rows: np.ndarray) -> np.ndarray:
        if task == "regression":
            return fitted.predict(x[rows])[:, None]
        out = np.full((int(rows.sum()), num_classes), -np.inf)
        out[:, fitted.classes_] = fitted.predict_log_proba(x[rows])
        return out

    scores: dict[float, float] = {}
    if dev.any():
        for penalty in PENALTIES:
            out = outputs(model(penalty), dev)
            # ratings: lowest squared error (the usual ridge choice; a correlation would
            # favour shrinking predictions to the mean); classes: highest macro F1
            scores[penalty] = (-float(np.mean((out[:, 0] - y[dev]) ** 2)) if task == "regression"
                               else dev_score(out, y[dev]))
        penalty = max(scores, key=lambda p: (np.nan_to_num(scores[p], nan=-np.inf), p))  # ties: more penalty
        chosen_on = "dev"
    else:
        penalty, chosen_on = DEFAULT_PENALTY, "default (no dev split)"
    fitted = model(penalty)
    all_out = outputs(fitted, np.ones(x.shape[0], dtype=bool))
    predicted = all_out[:, 0] if task == "regression" else all_out.argmax(1)
    linear = "ridge regression" if task == "regression" else "logistic regression"
    return Baseline(predicted, penalty, chosen_on, scores, f"{features} + {linear}", fitted)
