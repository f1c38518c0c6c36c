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
