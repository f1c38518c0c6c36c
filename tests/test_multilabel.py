"""Multi-label metrics (stats/multilabel.py) against scikit-learn: estimates, and bootstrap
intervals recomputed with scikit-learn on the same resamples."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, hamming_loss, precision_score, recall_score

from pytext_psych.stats import bootstrap_metrics, compare_predictions

SKLEARN = {
    "f1_micro": lambda y, p: f1_score(y, p, average="micro", zero_division=0),
    "f1_macro": lambda y, p: f1_score(y, p, average="macro", zero_division=0),
    "precision_micro": lambda y, p: precision_score(y, p, average="micro", zero_division=0),
    "recall_micro": lambda y, p: recall_score(y, p, average="micro", zero_division=0),
    "subset_accuracy": accuracy_score,
    "hamming_loss": hamming_loss,
}


def _codes(seed: int, n: int = 80):
    rng = np.random.default_rng(seed)
    y = rng.random((n, 5)) < [0.4, 0.2, 0.1, 0.3, 0.05]
    p = np.where(rng.random((n, 5)) < 0.75, y, ~y)  # right three times in four
    p[:, 4] = False  # a code never predicted
    return y, p


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_estimates_are_scikit_learns(seed):
    y, p = _codes(seed)
    t = bootstrap_metrics(y.astype(int), p, "multilabel", labels=list("abcde"), n_resamples=50).set_index("metric")
    for name, fn in SKLEARN.items():
        assert t.loc[name, "estimate"] == pytest.approx(fn(y, p), abs=1e-12), name
    for j, code in enumerate("abcde"):
        assert t.loc[f"f1_{code}", "estimate"] == pytest.approx(f1_score(y[:, j], p[:, j], zero_division=0))


def test_percentile_intervals_are_those_of_scikit_learn_on_the_same_resamples():
    y, p = _codes(3)
    idx = np.random.default_rng(9).integers(0, len(y), (300, len(y)))
    t = bootstrap_metrics(y, p, "multilabel", labels=list("abcde"), method="percentile", indices=idx,
                          ci_level=0.9).set_index("metric")
    for name, fn in SKLEARN.items():
        values = [fn(y[i], p[i]) for i in idx]
        low, high = np.percentile(values, [5, 95])
        assert (t.loc[name, "conf_low"], t.loc[name, "conf_high"]) == pytest.approx((low, high), abs=1e-12), name


def test_paired_comparison_of_two_coders():
    y, p = _codes(4)
    worse = p.copy()
    worse[:40] = ~worse[:40]
    c = compare_predictions(y, p, worse, "multilabel", labels=list("abcde"), n_resamples=500).set_index("metric")
    assert c.loc["f1_micro", "estimate"] == pytest.approx(SKLEARN["f1_micro"](y, p) - SKLEARN["f1_micro"](y, worse))
    assert c.loc["f1_micro", "conf_low"] > 0 and c.loc["hamming_loss", "conf_high"] < 0
    assert not any(m.startswith("f1_") and m[3:] in "abcde" for m in c.index)  # no per-code rows


def test_bad_code_matrices_are_refused():
    y, p = _codes(5)
    with pytest.raises(ValueError, match="needs labels: the codes"):
        bootstrap_metrics(y, p, "multilabel")
    with pytest.raises(ValueError, match="predicted must hold 0/1 or True/False"):
        bootstrap_metrics(y, p * 2.0 + 1, "multilabel", labels=list("abcde"))
    with pytest.raises(ValueError, match=r"observed must be a matrix of texts x 4 codes"):
        bootstrap_metrics(y, p, "multilabel", labels=list("abcd"))
