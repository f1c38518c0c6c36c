"""Several texts per person (``person=``): one outcome value per person, and each person's
score from all their texts.

A person's score is the mean of their texts' raw outputs (a rating's standardised score,
a class variable's logits, an ordinal head's outputs), turned into scores as one text's
outputs are. The network's last layer is linear, so this is also the score of the mean of
the texts' pooled vectors, the other candidate (they are the same number); it is the rule
long texts' windows follow too (:func:`pytext_psych.core.windows.pooled`). numpy and
pandas only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.windows import pooled
from .reading import Prepared, _show


def check_one_value(prep: Prepared, persons: np.ndarray, ids: pd.Series, person: str) -> None:
    """Refuse (before training) an outcome that differs between one person's texts: metrics
    per person need the person's one value (a trait, a diagnosis)."""
    for name, part in prep.outcomes:
        y = pd.Series(part.y if part.y.ndim == 1 else part.y[:, 0])
        varies = y.groupby(persons).nunique() > 1
        if varies.any():
            first = int(np.flatnonzero(varies.to_numpy())[0])
            rows = persons == varies.index[first]
            shown = ", ".join(_show(v) for v in pd.unique(_observed(part)[rows])[:3])
            column = name or prep.names[0]
            raise ValueError(
                f"outcome {column!r} differs between the texts of {int(varies.sum())} of {len(varies)} persons in "
                f"{person!r} (e.g. {_show(ids.to_numpy()[rows][0])}: {shown}); "
                f"person= needs one value per person. Give each person's value to all their texts (a rating's "
                f"mean: df.groupby({person!r})[{column!r}].transform('mean')), or pass group={person!r} "
                "instead to split by person and score texts one by one")


def _observed(part: Prepared) -> np.ndarray:
    return np.asarray(part.labels, dtype=object)[part.y] if part.labels else part.y


def by_person(outputs: np.ndarray, persons: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(persons, outputs, counts)``: each person once (in the order of their first text),
    the mean of their texts' ``outputs`` (rows) in float64, and how many texts they have.

    >>> by_person(np.array([[1.0], [4.0], [3.0]]), np.array([7, 2, 7]))
    (array([7, 2]), array([[2.],
           [4.]]), array([2, 1]))
    """
    first = pd.unique(persons)
    order = np.argsort(pd.Categorical(persons, categories=first).codes, kind="stable")
    _, counts = np.unique(pd.Categorical(persons, categories=first).codes, return_counts=True)
    return first, pooled(np.asarray(outputs)[order], persons[order]), counts
