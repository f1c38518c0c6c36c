"""The evaluation design of a fit: which rows each model trains, selects and is tested on.

One code path for a hold-out split and for k-fold cross-validation: a :class:`Design` is
a list of training :class:`Run` s whose test rows together are the evaluated cases, plus,
with ``cv``, a final run on all rows that becomes the bundle. Random streams come from
``numpy.random.SeedSequence(seed).spawn``, so no two runs share a seed by accident.
No torch here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import Prepared, check_split, fold_rows, split_rows
from .settings import EvalSettings


@dataclass(frozen=True)
class Run:
    """One model to train: ``assigned`` says, per row, train / dev / test / unused."""

    name: str
    assigned: np.ndarray

    def rows(self, part: str) -> np.ndarray:
        return np.flatnonzero(self.assigned == part)


@dataclass(frozen=True)
class Design:
    """The runs of a fit. ``runs`` are evaluated (their test rows never overlap);
    ``final`` (cross-validation only) is refitted on all rows for the bundle."""

    runs: list[Run]
    final: Run | None
    folds: np.ndarray | None  # fold number (0-based) of each row with cv

    @property
    def evaluated(self) -> np.ndarray:
        """Rows the metrics are computed on: the test split, or every row out-of-fold."""
        return np.sort(np.concatenate([run.rows("test") for run in self.runs]))

    @property
    def calibration(self) -> np.ndarray:
        """Rows whose errors calibrate conformal intervals: dev, or all rows out-of-fold."""
        return self.evaluated if self.final is not None else self.runs[0].rows("dev")

    @property
    def bundle_run(self) -> Run:
        return self.final if self.final is not None else self.runs[0]


def plan(prep: Prepared, groups: np.ndarray | None, evaluation: EvalSettings, seed: int) -> Design:
    """The hold-out split (``evaluation.split``) or ``evaluation.cv`` folds, each fold's
    other rows split train:dev in the same ratio as ``split``."""
    if evaluation.cv is None:
        assigned = split_rows(prep.y, prep.task, evaluation.split, seed, groups)
        if not (assigned == "test").any():
            raise ValueError(f"split {evaluation.split} leaves no test cases to evaluate on")
        return Design([Run("holdout", assigned)], None, None)
    folds = fold_rows(prep.y, prep.task, evaluation.cv, seed, groups)
    train, dev, _ = check_split(evaluation.split)
    inner = (train / (train + dev), dev / (train + dev), 0.0)
    runs = []
    for f, stream in enumerate(np.random.SeedSequence(seed).spawn(evaluation.cv)):
        held = folds == f
        assigned = np.full(len(prep.y), "test", dtype=object)
        rest = np.flatnonzero(~held)
        assigned[rest] = split_rows(prep.y[rest], prep.task, inner, int(stream.generate_state(1)[0]),
                                    None if groups is None else groups[rest])
        runs.append(Run(f"fold {f + 1}", assigned))
    final = Run("final (all rows)", np.full(len(prep.y), "train", dtype=object))
    return Design(runs, final, folds)
