"""language_analysis(): word and phrase correlations, checked against scipy by hand."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pytext_psych import language_analysis, plot_language

DATA = pd.DataFrame({
    "text": ["rent rent bills", "rent is high", "my boss again", "boss boss deadlines",
             "bills and rent", "deadlines at work", "rent rent rent", "work boss meeting"],
    "stress": [8.0, 7.0, 4.0, 3.0, 6.0, 5.0, 9.0, 2.0],
    "age": [30.0, 41.0, 25.0, 52.0, 38.0, 29.0, 47.0, 33.0],
    "topic": ["money", "money", "work", "work", "money", "work", "money", "work"],
})


def relative(word: str) -> np.ndarray:
    """The word's count over the words in each text (CountVectorizer's tokens: 2+ letters)."""
    tokens = [[w for w in t.lower().split() if len(w) > 1] for t in DATA.text]
    return np.array([t.count(word) / len(t) for t in tokens])


def test_correlation_and_bh_reproduce_scipy():
    words = language_analysis(DATA, "text", "stress", ngrams=(1, 1), min_texts=2)
    rent = words.set_index("feature").loc["rent"]
    expected = stats.pearsonr(relative("rent"), DATA.stress)
    assert rent.r == pytest.approx(expected.statistic)
    assert rent.p_value == pytest.approx(expected.pvalue)
    ci = expected.confidence_interval(0.95)
    assert (rent.conf_low, rent.conf_high) == pytest.approx((ci.low, ci.high), abs=1e-6)
    np.testing.assert_allclose(words.p_adjusted, stats.false_discovery_control(words.p_value))
    assert words.texts.min() >= 2 and set(words["class"]) == {None}


def test_partial_correlation_controls_for_a_covariate():
    words = language_analysis(DATA, "text", "stress", covariates=["age"], ngrams=(1, 1), min_texts=2)
    x, y, z = relative("boss"), DATA.stress.to_numpy(), DATA.age.to_numpy()
    rxy, rxz, ryz = (stats.pearsonr(a, b).statistic for a, b in ((x, y), (x, z), (y, z)))
    partial = (rxy - rxz * ryz) / np.sqrt((1 - rxz ** 2) * (1 - ryz ** 2))  # textbook formula
    assert words.set_index("feature").loc["boss"].r == pytest.approx(partial)


def test_classes_predictions_phrases_and_plot(tmp_path):
    words = language_analysis(DATA, "text", "topic", ngrams=(1, 2), min_texts=2)
    assert set(words["class"]) == {"money", "work"}
    top = words[words["class"] == "money"].sort_values("r").iloc[-1]
    assert top.feature == "rent" and top.r > 0.8
    assert (words.n_words == words.feature.str.count(" ") + 1).all()
    scored = language_analysis(DATA, "text", DATA.stress.to_numpy() * 2, ngrams=(1, 1), min_texts=2)
    assert scored.r.tolist() == pytest.approx(
        language_analysis(DATA, "text", "stress", ngrams=(1, 1), min_texts=2).r.tolist())
    assert plot_language(words, tmp_path / "words.png").stat().st_size > 5000
    with pytest.raises(ValueError, match="one non-missing value per text"):
        language_analysis(DATA, "text", [1.0, 2.0])
