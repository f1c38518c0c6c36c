"""Raw model outputs -> the frame ``predict_scores`` returns: classes and probabilities,
scores, or ordinal ratings (expected rating, most likely level, level probabilities), with
conformal intervals or prediction sets. numpy and pandas only."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd

from ..core.description import Description, Outcome
from ..core.settings import BASELINES
from ..data.outcomes import views, wide
from ..stats import conformal_threshold, ordinal, softmax


class TextModel(Protocol):
    """What these functions read of a :class:`~pytext_psych.scoring.infer.TextModel` (a
    protocol, so that this module does not import the model that imports it)."""

    description: Description
    task: str
    labels: list

    def conformal_threshold(self, level: float) -> float: ...


def outputs_to_frame(model: TextModel, outputs: np.ndarray, index: pd.Index,
                     interval: float | None = None) -> pd.DataFrame:
    """Turn raw model outputs into the user-facing frame (classes + probabilities, or
    scores), with conformal intervals or prediction sets when ``interval`` is given.
    Several outcomes: each one's columns, named ``predicted_<outcome>`` and so on; several
    codes per text also get ``code_set``, the codes that hold all of a text's codes with
    probability ``interval`` (:func:`code_sets`)."""
    frame = pd.concat([_outcome_frame(view, outputs[:, cols], index, interval).rename(
        columns=lambda c, o=name: wide(c, o)) for view, cols, name in views(model)], axis=1)
    if _has_code_sets(model.description, interval):
        frame["code_set"] = code_sets(model.description, frame, interval)
    return frame


def code_sets(d: Description, frame: pd.DataFrame, interval: float) -> list[str]:
    """Each text's conformal set of codes (joined by ``SET_SEPARATOR``): every code whose
    probability misses 1 by no more than the calibrated threshold (see
    :func:`~pytext_psych.stats.code_set_scores`), and every code predicted for it."""
    threshold = conformal_threshold(d.code_calibration["scores"], interval)
    names = np.array([o.name for o in d.outcomes], dtype=object)
    present = [o.labels[1] for o in d.outcomes]
    probs = np.column_stack([frame[wide(f"prob_{p}", o.name)].to_numpy(float) for o, p in zip(d.outcomes, present)])
    predicted = np.column_stack([frame[wide("predicted", o.name)].to_numpy() == p for o, p in zip(d.outcomes, present)])
    return [SET_SEPARATOR.join(names[row]) for row in (1 - probs <= threshold) | predicted]


def _has_code_sets(d: Description, interval: float | None) -> bool:
    return interval is not None and d.several and d.code_calibration is not None


SET_SEPARATOR = "; "  # between the classes of a prediction set


def class_columns(d: Description, fitted: bool = False, outcome: str | None = None) -> dict[str, dict[str, Any]]:
    """The columns of scores that hold classes, each with its outcome's levels in the fit's
    order: a class outcome's ``predicted`` and ``prediction_set`` (``members``: classes
    joined by ``separator``; ``logical``: a code of several per text, False / True), an
    ordinal outcome's most likely ``level`` (``ordered``), a model of codes' ``code_set``; with
    ``fitted``, also a fit's ``observed`` classes and its baselines' predictions. Several
    outcomes: the wide names, or (``outcome``) that one's columns under their own names.
    The R package makes these columns factors.

    >>> d = Description(text="answer", outcomes=(Outcome("mood", "classification", (0, 2), ("sad", "happy")),),
    ...                 max_length=32, pad_token_id=0, base_model="m")
    >>> class_columns(d)["predicted"]
    {'levels': ['sad', 'happy'], 'ordered': False, 'members': False, 'separator': '; ', 'logical': False}
    """
    out = {}
    for o in (o for o in d.outcomes if outcome in (None, o.name)):
        name = o.name if d.several and outcome is None else None
        rule = {"levels": list(o.labels or ()), "ordered": o.task == "ordinal", "members": False,
                "separator": SET_SEPARATOR, "logical": o.threshold is not None}
        if o.task == "ordinal":
            out[wide("level", name)] = rule
        elif o.task == "classification":
            own = ["predicted", *(["observed", *(f"baseline_{b}" for b in BASELINES)] if fitted else [])]
            out.update({wide(c, name): rule for c in own})
            out[wide("prediction_set", name)] = dict(rule, members=True)
    if d.code_calibration is not None and outcome is None:
        out["code_set"] = {"levels": [o.name for o in d.outcomes], "ordered": False, "members": True,
                           "separator": SET_SEPARATOR, "logical": False}
    return out


def _outcome_frame(model: TextModel, outputs: np.ndarray, index: pd.Index,
                   interval: float | None) -> pd.DataFrame:
    """One outcome's frame (``model``: a model of that outcome alone)."""
    outcome = model.description.outcomes[0]
    threshold = model.conformal_threshold(interval) if interval is not None else None
    if outcome.task != "classification":
        return _rating_frame(outcome, outputs, index, threshold)
    probs = softmax(outputs)
    labels = list(outcome.labels)
    frame = pd.DataFrame(
        {f"prob_{label}": probs[:, k].astype(float) for k, label in enumerate(labels)}, index=index
    )
    top = probs.argmax(axis=1) if outcome.threshold is None else (probs[:, 1] >= outcome.threshold).astype(int)
    frame.insert(0, "predicted", np.asarray(labels, dtype=object)[top])
    if threshold is not None:
        members = probs >= 1 - threshold
        members[np.arange(len(top)), top] = True  # never an empty set
        frame["prediction_set"] = [SET_SEPARATOR.join(np.asarray(labels)[row]) for row in members]
    return frame


def _rating_frame(outcome: Outcome, outputs: np.ndarray, index: pd.Index,
                  threshold: float | None) -> pd.DataFrame:
    """Regression: the score. Ordinal: the expected rating, the most likely ``level`` and
    each level's probability. With ``threshold``: ``lower`` and ``upper``."""
    if outcome.task == "ordinal":
        probs = ordinal.probabilities(outputs, outcome.ordinal_cuts)
        scores = probs @ np.asarray(outcome.level_values, dtype=float)
        frame = pd.DataFrame({"predicted": scores,
                              "level": np.asarray(outcome.labels, dtype=object)[probs.argmax(1)],
                              **{f"prob_{label}": probs[:, k] for k, label in enumerate(outcome.labels)}},
                             index=index)
    else:
        scores = outputs[:, 0].astype(float) * outcome.target_sd + outcome.target_mean
        frame = pd.DataFrame({"predicted": scores}, index=index)
    if threshold is not None:
        frame.insert(1, "lower", scores - threshold)
        frame.insert(2, "upper", scores + threshold)
    return frame


def output_columns(model: TextModel, interval: float | None) -> set[str]:
    """The columns predict_scores adds for ``model``."""
    shift = {"unusual"} if model.description.shift else set()
    sets = {"code_set"} if _has_code_sets(model.description, interval) else set()
    return shift | sets | {wide(c, name) for view, _, name in views(model) for c in _outcome_columns(view, interval)}


def _outcome_columns(model: TextModel, interval: float | None) -> set[str]:
    """One outcome's columns (``model``: a model of that outcome alone)."""
    labels = model.description.outcomes[0].labels or ()
    if model.task == "ordinal":
        return {"predicted", "level"} | {f"prob_{label}" for label in labels} | _interval(interval)
    if model.task == "regression":
        return {"predicted"} | _interval(interval)
    return ({"predicted"} | {f"prob_{label}" for label in labels}
            | ({"prediction_set"} if interval is not None else set()))


def _interval(interval: float | None) -> set[str]:
    return {"lower", "upper"} if interval is not None else set()
