"""The evaluation design: stratified and grouped splits, folds, and the runs of a fit."""

import numpy as np
import pandas as pd
import pytest

from pytext_psych import EvalSettings, example_data
from pytext_psych.data.design import plan, split_rows
from pytext_psych.data.reading import prepare


def test_split_is_stratified_and_reproducible():
    y = np.repeat(np.arange(4), [80, 40, 16, 8])
    s = split_rows(y, "classification", seed=3)
    for k in range(4):
        n = (y == k).sum()
        got = [(s[y == k] == part).sum() for part in ("train", "dev", "test")]
        assert got == [n - round(n * 0.25) - round(n * 0.125), round(n * 0.125), round(n * 0.25)]
    assert (split_rows(y, "classification", seed=3) == s).all()
    assert not (split_rows(y, "classification", seed=4) == s).all()


def test_split_regression_proportions_and_small_classes():
    s = split_rows(np.arange(800.0), "regression")
    assert [(s == p).sum() for p in ("train", "dev", "test")] == [500, 100, 200]
    tiny = split_rows(np.array([0, 0, 1, 1, 1, 1]), "classification")
    assert (tiny[:2] == "train").any()  # a 2-example class keeps a training example


def test_grouped_split_keeps_groups_whole():
    groups = np.repeat(np.arange(50), 4)
    y = np.random.default_rng(0).normal(size=200)
    s = split_rows(y, "regression", seed=3, groups=groups)
    per_group = pd.crosstab(groups, s).gt(0).sum(axis=1)
    assert per_group.max() == 1
    counts = pd.Series(s).value_counts()
    assert abs(counts["test"] - 50) <= 4 and abs(counts["dev"] - 25) <= 4
    with pytest.raises(ValueError, match="too few groups"):
        split_rows(y[:4], "regression", split=(0.2, 0.4, 0.4), groups=np.array([0, 0, 1, 1]))


def test_cv_design_runs_cover_every_row_once_and_streams_differ():
    prep = prepare(example_data(), "answer", "topic")
    design = plan(prep, None, EvalSettings(cv=4), seed=3)
    assert [r.name for r in design.runs] == ["fold 1", "fold 2", "fold 3", "fold 4"]
    tested = np.concatenate([r.rows("test") for r in design.runs])
    assert sorted(tested.tolist()) == list(range(len(prep.y)))  # every row out-of-fold once
    assert design.final.name == "final (all rows)" and (design.final.assigned == "train").all()
    for run, f in zip(design.runs, range(4)):
        assert (run.rows("test") == np.flatnonzero(design.folds == f)).all()
        assert len(run.rows("dev")) > 0 and len(run.rows("train")) > 3 * len(run.rows("dev"))
    # each fold splits train:dev with its own random stream (SeedSequence.spawn), so the
    # inner splits of the folds are not copies of one another
    devs = [set(r.rows("dev")) for r in design.runs]
    assert len({frozenset(d) for d in devs}) == 4
    assert (design.calibration == design.evaluated).all()


def test_holdout_design_is_the_split():
    prep = prepare(example_data(), "answer", "stress")
    design = plan(prep, None, EvalSettings(), seed=42)
    assert design.final is None and len(design.runs) == 1
    assert (design.runs[0].assigned == split_rows(prep.y, prep.task, seed=42)).all()
    assert (design.calibration == design.runs[0].rows("dev")).all()
    with pytest.raises(ValueError, match="leaves no test cases"):
        plan(prep, None, EvalSettings(split=(0.8, 0.2, 0.0)), seed=42)
