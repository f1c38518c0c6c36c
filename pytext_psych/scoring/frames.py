"""Raw model outputs -> the frame ``predict_scores`` returns: classes and probabilities,
scores, or ordinal ratings (expected rating, most likely level, level probabilities), with
conformal intervals or prediction sets. numpy and pandas only."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd

from ..data.outcomes import views, wide
from ..stats import ordinal, softmax


class TextModel(Protocol):
    """What these functions read of a :class:`~pytext_psych.scoring.infer.TextModel` (a
    protocol, so that this module does not import the model that imports it)."""

    meta: dict[str, Any]
    task: str
    labels: list

    def conformal_threshold(self, level: float) -> float: ...


def outputs_to_frame(model: TextModel, outputs: np.ndarray, index: pd.Index,
                     interval: float | None = None) -> pd.DataFrame:
    """Turn raw model outputs into the user-facing frame (classes + probabilities, or
    scores), with conformal intervals or prediction sets when ``interval`` is given.
    Several outcomes: each one's columns, named ``predicted_<outcome>`` and so on."""
    if "outcomes" in model.meta:
        return pd.concat([outputs_to_frame(view, outputs[:, cols], index, interval).rename(
            columns=lambda c, o=view.meta["outcome"]: wide(c, o)) for view, cols in views(model)], axis=1)
    meta = model.meta
    threshold = model.conformal_threshold(interval) if interval is not None else None
    if meta["task"] != "classification":
        return _rating_frame(meta, outputs, index, threshold)
    probs = softmax(outputs)
    labels = meta["labels"]
    frame = pd.DataFrame(
        {f"prob_{label}": probs[:, k].astype(float) for k, label in enumerate(labels)}, index=index
    )
    top = probs.argmax(axis=1)
    frame.insert(0, "predicted", np.asarray(labels, dtype=object)[top])
    if threshold is not None:
        members = probs >= 1 - threshold
        members[np.arange(len(top)), top] = True  # never an empty set
        frame["prediction_set"] = ["; ".join(np.asarray(labels)[row]) for row in members]
    return frame


def _rating_frame(meta: dict, outputs: np.ndarray, index: pd.Index,
                  threshold: float | None) -> pd.DataFrame:
    """Regression: the score. Ordinal: the expected rating, the most likely ``level`` and
    each level's probability. With ``threshold``: ``lower`` and ``upper``."""
    if meta["task"] == "ordinal":
        probs = ordinal.probabilities(outputs, meta.get("ordinal_cuts"))
        scores = probs @ np.asarray(meta["level_values"], dtype=float)
        frame = pd.DataFrame({"predicted": scores,
                              "level": np.asarray(meta["labels"], dtype=object)[probs.argmax(1)],
                              **{f"prob_{label}": probs[:, k] for k, label in enumerate(meta["labels"])}},
                             index=index)
    else:
        scores = outputs[:, 0].astype(float) * meta["target_sd"] + meta["target_mean"]
        frame = pd.DataFrame({"predicted": scores}, index=index)
    if threshold is not None:
        frame.insert(1, "lower", scores - threshold)
        frame.insert(2, "upper", scores + threshold)
    return frame


def output_columns(model: TextModel, interval: float | None) -> set[str]:
    """The columns predict_scores adds for ``model``."""
    shift = {"unusual"} if "shift" in model.meta else set()
    if "outcomes" in model.meta:
        return shift | {wide(c, view.meta["outcome"]) for view, _ in views(model)
                        for c in output_columns(view, interval) - shift}
    if model.task != "classification":
        levels = ({"level"} | {f"prob_{label}" for label in model.labels}
                  if model.task == "ordinal" else set())
        return {"predicted"} | levels | shift | ({"lower", "upper"} if interval is not None else set())
    return ({"predicted"} | shift | {f"prob_{label}" for label in model.labels}
            | ({"prediction_set"} if interval is not None else set()))
