"""Several codes per text (task="multilabel"): the codes read from 0/1 columns or one
";"-separated column, checked before training; a real fit whose metrics of all codes
together are scikit-learn's on the fit's own predictions."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, hamming_loss

from conftest import TINY
from pytext_psych import fit_text_model, predict_scores
from pytext_psych.data.codes import code_matrix


@pytest.fixture(scope="module")
def coded(examples):
    """Each answer coded with its topic and, when its stress rating is 6 or more, "strained"."""
    strained = np.where(examples.stress >= 6, "; strained", "")
    return examples.assign(codes=examples.topic + strained)


def test_codes_from_one_column_or_several():
    df = pd.DataFrame({"t": list("abcdefgh"), "codes": ["x; y", "x", "y", "", None, "x;y", "y ;x", "x"]})
    m = code_matrix(df, "codes", "t")
    assert list(m.columns) == ["x", "y"] and m.x.tolist() == [True, True, False, False, False, True, True, True]
    wide = pd.DataFrame({"t": list("abcdefgh"), "x": m.x.astype(int), "y": m.y.map({True: "TRUE", False: "FALSE"})})
    pd.testing.assert_frame_equal(code_matrix(wide, ["x", "y"], "t"), m)


def test_bad_codes_are_refused_before_training(coded):
    with pytest.raises(ValueError, match=r"code\(s\) are given to fewer than 3 texts: 'rare' \(1\)"):
        fit_text_model(coded.assign(codes=["work; rare"] + list(coded.codes[1:])), "answer", "codes",
                       task="multilabel")
    with pytest.raises(ValueError, match=r"code column 'w' holds values other than 0/1 or True/False \(2"):
        fit_text_model(coded.assign(w=[2] + [0] * 399, v=1 - (coded.id % 2)), "answer", ["w", "v"],
                       task="multilabel")
    with pytest.raises(ValueError, match="needs at least 2 codes"):
        fit_text_model(coded.assign(codes="work"), "answer", "codes", task="multilabel")
    odd = coded.codes.where(coded.index >= 3, coded.codes + "; odd")  # 3 texts: too few for 4 dev, 4 test
    with pytest.raises(ValueError, match=r"no text with code\(s\) .*'odd' \((dev|test)\).* after the split"):
        fit_text_model(coded.assign(codes=odd), "answer", "codes", task="multilabel", split=(0.98, 0.01, 0.01))


@pytest.fixture(scope="module")
def code_fit(coded, tmp_path_factory):
    return fit_text_model(coded, "answer", "codes", task="multilabel",
                          output_dir=tmp_path_factory.mktemp("codes") / "bundle", **dict(TINY, epochs=4))


def test_all_codes_together_are_scikit_learns_on_the_fits_predictions(code_fit, coded):
    codes = ["family", "health", "money", "social", "strained", "work"]
    assert list(code_fit.outcomes) == codes
    test = code_fit.predictions[code_fit.predictions.split == "test"]
    y = test[[f"observed_{c}" for c in codes]].to_numpy() == "True"
    p = test[[f"predicted_{c}" for c in codes]].to_numpy() == "True"
    m = code_fit.code_metrics.set_index("metric")
    assert m.loc["f1_micro", "estimate"] == pytest.approx(f1_score(y, p, average="micro"))
    assert m.loc["f1_macro", "estimate"] == pytest.approx(f1_score(y, p, average="macro", zero_division=0))
    assert m.loc["hamming_loss", "estimate"] == pytest.approx(hamming_loss(y, p))
    assert m.loc["f1_micro", "estimate"] > 0.6  # learning happened
    assert set(code_fit.code_comparison.baseline) == {"tfidf", "embeddings"}
    kappas = code_fit.agreement[code_fit.agreement.metric == "cohen_kappa"]
    assert set(kappas.outcome) == set(codes)  # agreement with the coders, code by code
    assert "all codes together" in repr(code_fit)


def test_scores_say_for_each_code_whether_a_text_has_it(code_fit):
    scores = predict_scores(code_fit, ["My boss shouted at me again", "A quiet dinner with my parents"],
                            check_shift=False)
    assert {"predicted_work", "prob_work_True", "predicted_family"} <= set(scores.columns)
    assert set(scores.predicted_work) <= {"True", "False"}


def test_each_code_is_predicted_from_its_dev_chosen_threshold(code_fit):
    from pytext_psych import load_model

    model = load_model(code_fit.bundle_path)
    thresholds = {o.name: o.threshold for o in model.description.outcomes}
    assert all(0 < t < 1 for t in thresholds.values()) and len(set(thresholds.values())) > 1
    test = code_fit.predictions[code_fit.predictions.split == "test"]
    for code, t in thresholds.items():
        assert ((test[f"prob_{code}_True"] >= t) == (test[f"predicted_{code}"] == "True")).all(), code


@pytest.mark.parametrize("seed", range(5))
def test_the_threshold_maximises_f1_on_dev_as_scikit_learn_counts_it(seed):
    from pytext_psych.stats.multilabel import f1_threshold

    rng = np.random.default_rng(seed)
    present = rng.random(60) < 0.2
    prob = np.clip(0.3 * present + rng.random(60) * 0.6, 0, 1)
    t = f1_threshold(prob, present)
    grid = np.linspace(0, 1, 1001)
    best = max(f1_score(present, prob >= g, zero_division=0) for g in grid)
    assert f1_score(present, prob >= t, zero_division=0) == pytest.approx(best)


def test_code_sets_hold_every_code_of_a_text_at_the_conformal_rate(code_fit, coded):
    """The code set's threshold is the split-conformal quantile of the dev texts' scores
    (1 - the lowest probability of a code the text has), computed here with numpy from the
    fit's own dev predictions; each set is every code at or above 1 - that threshold, plus
    the predicted codes; on the test texts the sets hold all of a text's codes about as
    often as asked."""
    codes, level = list(code_fit.outcomes), 0.9
    dev = code_fit.predictions[code_fit.predictions.split == "dev"]
    has = dev[[f"observed_{c}" for c in codes]].to_numpy() == "True"
    prob = dev[[f"prob_{c}_True" for c in codes]].to_numpy()
    scores = [max([1 - p for p, h in zip(ps, hs) if h], default=0.0) for ps, hs in zip(prob, has)]
    q = np.quantile(scores, np.ceil((len(scores) + 1) * level) / len(scores), method="inverted_cdf")
    test = code_fit.predictions[code_fit.predictions.split == "test"]
    scored = predict_scores(code_fit, coded.loc[test.row, "answer"].tolist(), interval=level, check_shift=False)
    sets = [set(s.split("; ")) - {""} for s in scored.code_set]
    expected = [{c for c in codes if 1 - row[f"prob_{c}_True"] <= q or row[f"predicted_{c}"] == "True"}
                for _, row in scored.iterrows()]
    assert sets == expected
    truth = [{c for c in codes if row[f"observed_{c}"] == "True"} for _, row in test.iterrows()]
    covered = np.mean([t <= s for t, s in zip(truth, sets)])
    assert covered >= 0.8 and np.mean([len(s) for s in sets]) < len(codes)  # holds the codes, not all codes


def test_the_command_line_reports_all_codes_and_scores_code_sets(code_fit, coded, tmp_path):
    """``pytext-psych report`` and ``predict --interval`` on a model of codes, run as a user
    runs them."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).parent / "pytext-psych"
    res = subprocess.run([str(script), "report", str(code_fit.bundle_path), "--out", str(tmp_path / "rep")],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "all codes together reached micro F1 = " in res.stdout and "Code by code" in res.stdout
    coded.head(5).to_csv(tmp_path / "new.csv", index=False)
    res = subprocess.run([str(script), "predict", str(code_fit.bundle_path), str(tmp_path / "new.csv"),
                          "--text", "answer", "--interval", "0.9", "--quiet"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "code_set" in res.stdout.splitlines()[0]


def test_explain_says_which_words_made_each_code_likelier(code_fit):
    from pytext_psych import explain

    words = explain(code_fit, ["My boss shouted at me at work today"])
    assert set(words.target) == set(code_fit.outcomes)  # every code, each as its probability of presence
    work = words[words.target == "work"]
    scores = predict_scores(code_fit, ["My boss shouted at me at work today"], check_shift=False)
    assert work.prediction.iloc[0] == pytest.approx(scores.prob_work_True.iloc[0], abs=1e-6)
    assert work.sort_values("attribution").word.iloc[-1] in {"boss", "work"}
    assert set(explain(code_fit, ["A quiet dinner"], target="family").target) == {"family"}


def test_a_rare_code_reaches_every_split():
    """Splits of codes are stratified by each text's rarest code: a code given to 8 of 400
    texts, never the first code, is divided among train, dev and test in proportion (under
    the first code's strata it lands where chance puts it)."""
    from pytext_psych.data.outcomes import prepare_codes
    from pytext_psych.data.design import split_rows

    rng = np.random.default_rng(0)
    codes = pd.DataFrame({"t": [f"text {i}" for i in range(400)], "a": rng.random(400) < 0.5,
                          "b": rng.random(400) < 0.3, "rare": np.isin(np.arange(400), np.arange(8) * 50)})
    prep = prepare_codes(codes, "t", ("a", "b", "rare"))
    for seed in range(10):
        split = split_rows(prep.strata, prep.task, seed=seed)
        rare = split[codes.rare.to_numpy()]
        assert sorted(rare) == ["dev"] + ["test"] * 2 + ["train"] * 5, seed
