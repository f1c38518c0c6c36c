"""The evaluation design of a fit: which rows each model trains, selects and is tested on
(stratified and grouped splits, cross-validation folds).

One code path for a hold-out split and for k-fold cross-validation: a :class:`Design` is
a list of training :class:`Run` s whose test rows together are the evaluated cases, plus,
with ``cv``, a final run on all rows that becomes the bundle. Random streams come from
``numpy.random.SeedSequence(seed).spawn``, so no two runs share a seed by accident.
No torch here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..core.settings import EvalSettings
from .reading import Prepared


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


def plan(prep: Prepared, groups: np.ndarray | None, evaluation: EvalSettings, seed: int) -> Design:
    """The hold-out split (``evaluation.split``) or ``evaluation.cv`` folds, each fold's
    other rows split train:dev in the same ratio as ``split``."""
    if evaluation.cv is None:
        assigned = split_rows(prep.strata, prep.task, evaluation.split, seed, groups)
        if not (assigned == "test").any():
            raise ValueError(f"split {evaluation.split} leaves no test cases to evaluate on")
        return Design([Run("holdout", assigned)], None, None)
    folds = fold_rows(prep.strata, prep.task, evaluation.cv, seed, groups)
    train, dev, _ = check_split(evaluation.split)
    inner = (train / (train + dev), dev / (train + dev), 0.0)
    runs = []
    for f, stream in enumerate(np.random.SeedSequence(seed).spawn(evaluation.cv)):
        held = folds == f
        assigned = np.full(len(prep.y), "test", dtype=object)
        rest = np.flatnonzero(~held)
        assigned[rest] = split_rows(prep.strata[rest], prep.task, inner, int(stream.generate_state(1)[0]),
                                    None if groups is None else groups[rest])
        runs.append(Run(f"fold {f + 1}", assigned))
    final = Run("final (all rows)", np.full(len(prep.y), "train", dtype=object))
    return Design(runs, final, folds)


def check_split(split: Sequence[float]) -> np.ndarray:
    """``split`` as three validated (train, dev, test) fractions."""
    fractions = np.asarray(split, dtype=float)
    if fractions.shape != (3,) or (fractions < 0).any() or not np.isclose(fractions.sum(), 1):
        raise ValueError(f"split must be three non-negative fractions summing to 1, not {split}")
    if fractions[0] == 0:
        raise ValueError("split must give the training set a non-zero share")
    return fractions


def split_rows(
    y: np.ndarray,
    task: str,
    split: Sequence[float] = (0.625, 0.125, 0.25),
    seed: int = 42,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """Assign each row to ``"train"``, ``"dev"`` or ``"test"``.

    Classification is stratified: every class is divided in the given proportions on its
    own (rounded, keeping at least one example in train), so rare classes appear in every
    split where they can. Regression rows are shuffled and cut. With ``groups`` (e.g.
    participant ids) whole groups are assigned, so no group straddles two splits; the
    proportions then hold approximately, and classes are not stratified.

    Examples
    --------
    >>> s = split_rows(np.array([0] * 8 + [1] * 8), "classification", seed=1)
    >>> [int((s == k).sum()) for k in ("train", "dev", "test")]
    [10, 2, 4]
    """
    fractions = check_split(split)
    rng = np.random.default_rng(seed)
    out = np.empty(len(y), dtype=object)
    if groups is not None:
        units = rng.permutation(np.unique(groups))
        sizes = np.bincount(groups)[units]
        ends = np.cumsum(sizes)
        targets = np.round(len(y) * np.cumsum(fractions[[2, 1]]))
        which = np.where(ends - sizes < targets[0], "test",
                         np.where(ends - sizes < targets[1], "dev", "train"))
        if not (which == "train").any():
            raise ValueError(f"too few groups ({len(units)}) for a train/dev/test split; "
                             "use fewer splits or more groups")
        assigned = np.empty(groups.max() + 1, dtype=object)
        assigned[units] = which
        return assigned[groups]
    row_sets = [np.flatnonzero(y == c) for c in np.unique(y)] if task == "classification" else [
        np.arange(len(y))
    ]
    for rows in row_sets:
        rows = rng.permutation(rows)
        n = len(rows)
        n_test = int(round(n * fractions[2]))
        n_dev = int(round(n * fractions[1]))
        while n_test + n_dev >= n and (n_test or n_dev):  # keep >= 1 training example
            if n_dev >= n_test and n_dev:
                n_dev -= 1
            else:
                n_test -= 1
        out[rows[:n_test]] = "test"
        out[rows[n_test : n_test + n_dev]] = "dev"
        out[rows[n_test + n_dev :]] = "train"
    return out


def fold_rows(y: np.ndarray, task: str, k: int, seed: int = 42,
              groups: np.ndarray | None = None) -> np.ndarray:
    """Fold number (0 .. k-1) of each row for k-fold cross-validation: stratified by class
    for classification; with ``groups``, whole groups per fold (scikit-learn's splitters).
    """
    if not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"cv must be an integer of at least 2 (folds), not {k!r}")
    from sklearn import model_selection as ms

    if groups is not None and len(np.unique(groups)) < k:
        raise ValueError(f"cv={k} needs at least {k} groups; the data has {len(np.unique(groups))}")
    if task == "classification":
        smallest = np.bincount(y).min()
        if smallest < k:
            raise ValueError(f"cv={k} needs at least {k} examples of every class; the rarest "
                             f"class has {smallest} (merge classes or use fewer folds)")
        splitter = (ms.StratifiedGroupKFold(k, shuffle=True, random_state=seed) if groups is not None
                    else ms.StratifiedKFold(k, shuffle=True, random_state=seed))
    else:
        splitter = (ms.GroupKFold(k, shuffle=True, random_state=seed) if groups is not None
                    else ms.KFold(k, shuffle=True, random_state=seed))
    folds = np.empty(len(y), dtype=np.int64)
    for i, (_, test) in enumerate(splitter.split(np.zeros(len(y)), y, groups)):
        folds[test] = i
    return folds
