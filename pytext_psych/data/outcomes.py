"""Several outcomes in one model: ``outcome=["anxiety", "sadness", ...]``.

One encoder, one head per outcome: the heads are one linear layer whose outputs are cut
into column blocks, one block per outcome (a rating's standardised score, or a class
variable's logits). Training adds the outcomes' losses; the dev metric that picks the
epoch is the mean of the outcomes' headline metrics. The ONNX graph has that one output, so
scoring runs the encoder once per text, and ``bundle.json`` lists each outcome's block,
labels, scaling and calibration under ``"outcomes"``.

Everything per outcome (the output frame, metrics, baseline, report) is the one-outcome
code applied to a *view*: a model whose description holds that outcome alone, and that
outcome's block of the outputs. Names in wide frames: ``predicted_<outcome>``,
``prob_<outcome>_<label>``, ``observed_<outcome>``, ...; tidy tables gain an ``outcome``
column. numpy and pandas only.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from .codes import code_matrix
from .reading import Prepared, prepare, require_columns

NO_ORDINALS = ("several ordinal outcomes in one model are not supported yet; use task='regression' "
               "for the ratings, or fit each one with task='ordinal'")


def outcome_names(outcome: Any) -> tuple[str, ...]:
    """``outcome`` as a tuple of column names, checked: one name, or several different."""
    names = (outcome,) if isinstance(outcome, str) else outcome
    if not isinstance(names, (list, tuple)) or not names or not all(isinstance(o, str) for o in names):
        raise TypeError(f"outcome must be a column name or a list of column names, not {outcome!r}")
    repeated = sorted({o for o in names if names.count(o) > 1})
    if repeated:
        raise ValueError(f"outcome names the column(s) {', '.join(map(repr, repeated))} more than "
                         "once; list each outcome once")
    return tuple(names)


def prepare_outcomes(df: pd.DataFrame, text: str, outcome: Any, task: str = "auto") -> Prepared:
    """One outcome as :func:`~pytext_psych.data.reading.prepare` does it; several, each checked the
    same way, then stacked (y: n x outcomes). They must be all ratings or all classes."""
    names = outcome_names(outcome)
    if task == "multilabel":
        return prepare_codes(df, text, names)
    if len(names) == 1:
        return prepare(df, text, names[0], task)
    if task == "ordinal":
        raise ValueError(NO_ORDINALS)
    parts = tuple(prepare(df, text, name, task) for name in names)
    tasks = {name: p.task for name, p in zip(names, parts)}
    if "ordinal" in tasks.values():  # ordered categoricals, with task="auto"
        raise ValueError(NO_ORDINALS)
    if len(set(tasks.values())) > 1:
        shown = ", ".join(f"{n}: {t}" for n, t in tasks.items())
        raise ValueError(f"the outcomes mix ratings and classes ({shown}); several outcomes in one "
                         "model must be all numeric or all categorical (set task=, recode, or fit "
                         "them separately)")
    return Prepared(parts[0].texts, np.column_stack([p.y for p in parts]), parts[0].task, None,
                    df.index, names=names, parts=parts)


def prepare_codes(df: pd.DataFrame, text: str, names: tuple[str, ...]) -> Prepared:
    """Several codes per text (:mod:`.codes`): each code a two-class outcome (False, True)
    of one model."""
    require_columns(df, text)
    codes = code_matrix(df, names[0] if len(names) == 1 else names, text)
    frame = pd.concat([df[[text]], codes], axis=1)
    parts = tuple(prepare(frame, text, code, "classification") for code in codes.columns)
    return Prepared(parts[0].texts, np.column_stack([p.y for p in parts]), "classification", None, df.index,
                    names=tuple(codes.columns), parts=parts, multilabel=True)


def head_sizes(prep: Prepared) -> list[int] | None:
    """Several outcomes: each one's number of outputs (one per rating, one per class), for
    the training loop's shared head; one outcome: ``None``, the task's own head."""
    return [len(p.labels or [0]) for p in prep.parts] or None


def wide(column: str, outcome: str | None) -> str:
    """A one-outcome column's name in a several-outcome frame (``outcome=None``: a
    one-outcome frame, where it keeps its name).

    >>> wide("predicted", "anxiety"), wide("prob_work", "topic"), wide("predicted", None)
    ('predicted_anxiety', 'prob_topic_work', 'predicted')
    """
    if outcome is None:
        return column
    if column.startswith("prob_"):
        return f"prob_{outcome}_{column[5:]}"
    return f"{column}_{outcome}"


def narrow(frame: pd.DataFrame, outcome: str, columns: Iterable[str]) -> pd.DataFrame:
    """The one-outcome frame of ``outcome`` in a wide ``frame`` (``columns``: its names in a
    one-outcome frame; those present are kept, in ``frame``'s order)."""
    names = {wide(c, outcome): c for c in columns}
    return frame[[c for c in frame.columns if c in names]].rename(columns=names)


def views(model) -> list[tuple[Any, slice, str | None]]:
    """``(model, columns, name)`` per outcome: the model of that outcome alone (the model
    itself when it has one; else one sharing the bundle's files, whose description is that
    outcome's), its block of the outputs, and its name in wide frames (``None`` for a
    one-outcome model, whose columns keep their names)."""
    d = model.description
    if not d.several:
        return [(model, slice(None), None)]
    return [(type(model)(model.path, d.view(o)), slice(*o.columns), o.name) for o in d.outcomes]


def stacked(tables: dict[str, pd.DataFrame | None], column: str = "outcome") -> pd.DataFrame | None:
    """One tidy table from the outcomes' (or baselines') tables, with an ``outcome`` (or
    ``column``) column first."""
    present = {name: t for name, t in tables.items() if t is not None}
    if not present:
        return None
    return pd.concat([t.assign(**{column: name})[[column, *t.columns]] for name, t in present.items()],
                     ignore_index=True)


def dev_scorer_for(prep: Prepared, scorer: Callable[[str], Callable]) -> Callable:
    """The dev metric that picks the epoch: the outcome's, or the mean of the outcomes'
    (``scorer(task)`` gives one outcome's)."""
    one = scorer(prep.task)
    sizes = head_sizes(prep)
    if sizes is None:
        return one
    ends = np.cumsum(sizes)
    return lambda outputs, targets: float(np.mean([one(outputs[:, e - k:e], targets[:, j])
                                                   for j, (k, e) in enumerate(zip(sizes, ends))]))
