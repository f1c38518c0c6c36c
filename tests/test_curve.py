"""Learning curves: real tiny fine-tunes on the example data, the power law checked on
known curves, resuming from runs.jsonl."""

import json

import numpy as np
import pandas as pd
import pytest

from pytext_psych import learning_curve
from pytext_psych.curve import PAIRED, LearningCurve, power_law
from pytext_psych.stats import COLUMNS

TINY = dict(epochs=2, max_length=32, learning_rate=1e-4, progress=False, n_resamples=200, strategy="full")


@pytest.fixture(scope="module")
def curve(examples, tmp_path_factory):
    out = tmp_path_factory.mktemp("curve")
    return learning_curve(examples, "answer", "topic", sizes=(40, 100, "full"), repeats=2,
                          output_dir=out, **TINY), out


def test_runs_frame(curve, examples):
    lc, _ = curve
    assert list(lc.runs.columns) == ["n_train", "repeat", "model", "strategy"] + COLUMNS
    assert (lc.runs.strategy == "full").all()  # the strategy each run's fine-tune used
    assert lc.metric == "f1_macro" and lc.n_test == 100
    runs = lc.runs[lc.runs.metric == "f1_macro"]
    # 2 repeats of 40 and 100, the full pool of 300 once; fine-tuned, baseline and their
    # paired difference each
    assert sorted(zip(runs.model, runs.n_train, runs.repeat)) == sorted(
        [(m, n, r) for m in ("baseline", "fine-tuned", PAIRED) for n, r in
         [(40, 0), (40, 1), (100, 0), (100, 1), (300, 0)]])
    assert (runs.n == 100).all()
    wide = runs.pivot_table(index=["n_train", "repeat"], columns="model", values="estimate")
    np.testing.assert_allclose(wide[PAIRED], wide["fine-tuned"] - wide["baseline"], atol=1e-9)
    s = lc.summary()
    assert list(s.columns) == ["model", "n_train", "mean", "sd", "min", "max", "runs"]
    tuned = s[s.model == "fine-tuned"].set_index("n_train")["mean"]
    assert tuned[300] > tuned[40]  # more labelled texts, better: learning happened
    assert tuned[300] > 0.5


def test_resume_skips_finished_runs(curve, examples):
    lc, out = curve
    lines = (out / "runs.jsonl").read_text().splitlines()
    assert len(lines) == 1 + 5 and "settings" in json.loads(lines[0])
    for run in map(json.loads, lines[1:]):  # which texts each run used, by the data's index
        rows = run["rows"]
        assert len(rows["train"]) + len(rows["dev"]) == run["n_train"] and len(rows["test"]) == 100
        assert set(rows["test"]).isdisjoint(rows["train"] + rows["dev"]) and set(rows["test"]) <= set(examples.index)
    again = learning_curve(examples, "answer", "topic", sizes=(40, 100, "full"), repeats=2,
                           output_dir=out, **TINY)  # nothing left to run: returns at once
    pd.testing.assert_frame_equal(again.runs, lc.runs)
    with pytest.raises(ValueError, match="other settings"):
        learning_curve(examples, "answer", "topic", sizes=(40,), output_dir=out,
                       **dict(TINY, epochs=3))


def test_plot(curve, tmp_path):
    lc, _ = curve
    assert lc.plot(tmp_path / "c.png", targets=[0.9]).stat().st_size > 10_000


def _synthetic(a=0.7, b=2.0, c=0.5, noise=0.005, seed=0) -> LearningCurve:
    rng = np.random.default_rng(seed)
    rows = []
    for n in (100, 250, 500, 1000):
        for r in range(3):
            est = power_law(n, a, b, c) + rng.normal(0, noise)
            rows.append(dict(n_train=n, repeat=r, model="fine-tuned", metric="pearson_r",
                             estimate=est, conf_low=est - 0.05, conf_high=est + 0.05,
                             ci_level=0.95, n=600, method="bootstrap bca"))
    return LearningCurve(pd.DataFrame(rows), "pearson_r", 600, n_boot=300)


def test_power_law_recovers_a_known_curve():
    lc = _synthetic()
    p = lc.params
    assert p["a"] == pytest.approx(0.7, abs=0.02) and p["c"] == pytest.approx(0.5, abs=0.1)
    need = lc.n_needed(0.6)
    exact = (2.0 / 0.1) ** 2  # 400 texts
    assert need["n_train"] == pytest.approx(exact, rel=0.1)
    assert need["conf_low"] <= exact <= need["conf_high"] and need["caveat"] == ""
    band = lc.predict([400, 4000])
    assert (band.conf_low <= band.estimate).all() and (band.estimate <= band.conf_high).all()
    assert band.extrapolated.tolist() == [False, True]


def test_one_run_per_size_is_flagged():
    runs = _synthetic().runs
    single = LearningCurve(runs[runs["repeat"] == 0].reset_index(drop=True), "pearson_r", 600)
    need = single.n_needed(0.6)
    assert "one run per size" in need["caveat"] and need["conf_low"] == need["conf_high"]


def test_targets_out_of_reach_are_flagged():
    lc = _synthetic()
    assert "extrapolation" in lc.n_needed(0.68)["caveat"]  # about 10,000 texts
    beyond = lc.n_needed(0.75)
    assert beyond["n_train"] == np.inf and "levels off" in beyond["caveat"]


def test_bad_sizes(examples):
    with pytest.raises(ValueError, match="pool of 300 texts"):
        learning_curve(examples, "answer", "topic", sizes=(100, 5000), **TINY)
