"""Contrastive pairs: how they are drawn, how alike their outcomes are, and the loss
(checked against scikit-learn's cosine similarity). Training with them: test_train."""

import numpy as np
import torch
from sklearn.metrics.pairwise import cosine_similarity

from pytext_psych.training.contrastive import MIN_PAIRS, draw_pairs, pair_loss, partners, similarity


def test_few_texts_meet_more_partners():
    assert [partners(n) for n in (10, 64, 100, 256, 5000)] == [52, 8, 6, 2, 2]
    assert all(n * partners(n) >= MIN_PAIRS for n in range(1, 600))


def test_class_pairs_are_half_alike_and_never_a_text_with_itself():
    y = np.repeat([0, 1, 2], [5, 3, 8])
    rows = np.arange(2, 16)  # some rows are not training rows
    pairs = draw_pairs(rows, y, "classification", np.random.default_rng(1))
    k = partners(len(rows))
    assert pairs.shape == (k * len(rows), 2)
    assert set(pairs.ravel()) <= set(rows) and (pairs[:, 0] != pairs[:, 1]).all()
    assert sorted(pairs[:, 0]) == sorted(np.repeat(rows, k))  # each text anchors k pairs
    assert (y[pairs[:, 0]] == y[pairs[:, 1]]).sum() == len(rows) * (k // 2)


def test_a_class_of_one_gets_no_alike_pair():
    y = np.array([0, 1, 1, 1])
    pairs = draw_pairs(np.arange(4), y, "classification", np.random.default_rng(0))
    mine = pairs[pairs[:, 0] == 0, 1]
    assert len(mine) == partners(4) // 2 and (y[mine] == 1).all()


def test_rating_pairs_have_random_partners():
    y = np.linspace(-1, 1, 300)
    pairs = draw_pairs(np.arange(300), y, "regression", np.random.default_rng(2))
    assert pairs.shape == (600, 2) and (pairs[:, 0] != pairs[:, 1]).all()
    assert len(np.unique(pairs[:, 1])) > 200
    again = draw_pairs(np.arange(300), y, "regression", np.random.default_rng(2))
    assert np.array_equal(pairs, again)


def test_similarity_of_ratings_and_classes_averaged_over_outcomes():
    a = np.array([[1.0, 0.0], [2.0, 4.0]])
    b = np.array([[3.0, 0.0], [2.0, 2.0]])
    span = np.array([4.0, 8.0])
    expected = [np.mean([1 - 2 / 4, 1 - 0 / 8]), np.mean([1, 1 - 2 / 8])]
    assert np.allclose(similarity(a, b, "regression", span), expected)
    codes = np.array([[0, 1], [2, 2]])
    assert np.allclose(similarity(codes, np.array([[0, 0], [2, 2]]), "classification", span), [0.5, 1.0])


def test_pair_loss_is_the_squared_error_of_the_cosine():
    rng = np.random.default_rng(3)
    features = rng.normal(size=(8, 5)).astype(np.float32)
    alike = rng.uniform(size=4).astype(np.float32)
    cos = np.array([cosine_similarity(features[2 * i : 2 * i + 1], features[2 * i + 1 : 2 * i + 2])[0, 0]
                    for i in range(4)])
    got = pair_loss(torch.as_tensor(features), torch.as_tensor(alike)).item()
    assert np.isclose(got, np.mean((cos - alike) ** 2), rtol=1e-5)
