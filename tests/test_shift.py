"""The shift check at scoring time: flags texts unlike the training texts."""

import warnings

import numpy as np
import pytest

from pytext_psych import predict_scores

GERMAN = ["Die Miete ist schon wieder gestiegen und ich kann nachts nicht schlafen",
          "Mein Chef verlangt ständig Überstunden am Wochenende",
          "Meine Mutter ist krank und ich mache mir große Sorgen um sie",
          "Seit meine Freunde weggezogen sind, fühle ich mich einsam",
          "Die Kinder streiten dauernd und mein Partner ist nie zu Hause",
          "Wir wissen nicht, wie wir die Rechnungen bezahlen sollen"] * 3


def test_german_and_very_long_texts_are_flagged_with_a_warning(topic_fit):
    with pytest.warns(UserWarning, match="unlike the texts the model was trained on"):
        scores = predict_scores(topic_fit, GERMAN)
    assert scores.unusual.mean() > 0.8
    long = ["my boss keeps adding work and the rent goes up " * 30] * 5
    assert predict_scores(topic_fit, long, check_shift=True).unusual.all()


def test_about_five_percent_of_held_out_english_texts_are_flagged(topic_fit, examples):
    test = examples.answer[topic_fit.predictions.split.to_numpy() == "test"].tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning for texts like the training texts
        scores = predict_scores(topic_fit, test)
    share = scores.unusual.mean()
    # 100 test texts; the threshold is the dev texts' 95th percentile (75 texts), so the
    # share flagged is 5% give or take sampling error: a binomial 99% range is 0-11%.
    assert share <= 0.12, share
    assert "unusual" not in predict_scores(topic_fit, test[:3], check_shift=False).columns
    profile = topic_fit.bundle_path.joinpath("bundle.json").read_text()
    assert '"shift"' in profile and np.isfinite(scores.unusual.sum())
