"""The shift check at scoring time: flags texts unlike the training texts."""

import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from pytext_psych import load_model, predict_scores, write_scores
from pytext_psych.scoring.shift import FEATURES, features, signals_of
from scipy.special import softmax
from scipy.stats import entropy

GERMAN = ["Die Miete ist schon wieder gestiegen und ich kann nachts nicht schlafen",
          "Mein Chef verlangt ständig Überstunden am Wochenende",
          "Meine Mutter ist krank und ich mache mir große Sorgen um sie",
          "Seit meine Freunde weggezogen sind, fühle ich mich einsam",
          "Die Kinder streiten dauernd und mein Partner ist nie zu Hause",
          "Wir wissen nicht, wie wir die Rechnungen bezahlen sollen"] * 3


def _shift_warnings(call) -> tuple[list[str], object]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return [str(w.message) for w in caught if "unlike the texts the model was trained on" in str(w.message)], result


@pytest.mark.parametrize("texts, signal", [
    (GERMAN, "cut into more word pieces (another language, jargon or typos?)"),
    (["my boss keeps adding work and the rent goes up " * 30] * 5, "longer"),
    (["ok", "no", "fine", "work"] * 5, "shorter")])
def test_unlike_texts_are_flagged_with_a_warning_that_says_what_set_them_apart(stress_fit, texts, signal):
    said, scores = _shift_warnings(lambda: predict_scores(stress_fit, texts))
    assert scores.unusual.mean() > 0.8
    k, n = int(scores.unusual.sum()), len(texts)
    assert len(said) == 1 and said[0].startswith(f"{k} of {n} texts ({k / n:.0%}) are unlike the texts the model "
                                                 "was trained on (about 5% expected): "), said
    assert said[0].endswith("; check that the model applies to them (see the 'unusual' column)")
    assert f"{k} {signal}" in said[0]  # every one of them
    if signal == "shorter":  # the special tokens are not counted as word pieces
        assert "word pieces" not in said[0]


def test_one_warning_for_all_the_chunks_of_a_file(topic_fit, tmp_path):
    pd.DataFrame({"answer": GERMAN}).to_csv(tmp_path / "german.csv", index=False)
    said, out = _shift_warnings(lambda: write_scores(topic_fit, tmp_path / "german.csv", tmp_path / "scores.csv",
                                                      text="answer", chunk_size=5))  # 4 chunks
    k = int(pd.read_csv(out).unusual.sum())
    assert len(said) == 1 and said[0].startswith(f"{k} of 18 texts"), said


def test_word_pieces_leave_out_special_tokens_except_in_older_profiles(topic_fit):
    model = load_model(topic_fit.bundle_path)
    texts = ["ok", "the rent went up again", "Überstunden am Wochenende"]
    outputs, pieces = model.outputs_and_pieces(texts)
    words = np.array([len(t.split()) for t in texts])
    new, old = (features(model, texts, outputs, pieces, [FEATURES[0], name, FEATURES[2]])
                for name in ("pieces_per_word", "tokens_per_word"))
    np.testing.assert_allclose(old[:, 1] - new[:, 1], 2 / words)  # [CLS] and [SEP]
    np.testing.assert_array_equal(np.delete(old, 1, axis=1), np.delete(new, 1, axis=1))
    assert new[0, 1] == 1  # "ok" is one piece


def test_what_sets_texts_apart_is_each_feature_past_the_threshold_and_its_direction():
    z = np.array([[0.5, 4.0, -1.0], [-3.0, 1.0, 2.5], [0.0, 0.1, -5.0], [0.0, -2.1, 6.0]])
    assert signals_of(z, 2.0, FEATURES, "regression") == Counter({
        "cut into more word pieces (another language, jargon or typos?)": 1, "shorter": 1, "scored higher": 2,
        "scored lower": 1, "cut into fewer word pieces": 1})
    assert signals_of(z[2:], 2.0, ["log_words", "tokens_per_word", "output"], "classification") == Counter({
        "given surer class probabilities": 1, "given less sure class probabilities": 1,
        "cut into fewer word pieces": 1})
    assert signals_of(z[2:], 2.0, ["log_words", "pieces_per_word", "log_entropy"], "classification") == Counter({
        "given surer class probabilities": 1, "given less sure class probabilities": 1,
        "cut into fewer word pieces": 1})


def test_a_classifier_responds_with_its_log_entropy_and_older_profiles_with_the_entropy(topic_fit):
    model = load_model(topic_fit.bundle_path)
    assert model.description.shift["features"] == ["log_words", "pieces_per_word", "log_entropy"]
    texts = ["ok", "the rent went up again and I cannot sleep", "Überstunden am Wochenende"]
    outputs, pieces = model.outputs_and_pieces(texts)
    reference = entropy(softmax(outputs.astype(np.float64), axis=1), axis=1)
    new, old = (features(model, texts, outputs, pieces, [*FEATURES[:2], name]) for name in ("log_entropy", "output"))
    np.testing.assert_allclose(old[:, 2], reference, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(new[:, 2], np.log(reference + 1e-6), rtol=1e-4, atol=1e-4)


def test_a_sure_classifier_still_sets_long_and_short_texts_apart(topic_fit):
    """On the entropy's own scale the topic classifier's threshold (14.5 robust z) was out of
    reach of any length; on its log, length counts again."""
    long, short = ["my boss keeps adding work and the rent goes up " * 30] * 5, ["ok", "no", "fine", "work"] * 5
    for texts, signal in ((long, "longer"), (short, "shorter")):
        said, scores = _shift_warnings(lambda: predict_scores(topic_fit, texts))
        assert len(said) == 1 and f"{int(scores.unusual.sum())} {signal}" in said[0], said
