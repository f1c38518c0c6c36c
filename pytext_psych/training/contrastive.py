"""Contrastive tuning of the encoder on pairs of labelled texts (``strategy="contrastive"``),
after SetFit (Tunstall et al., 2022, "Efficient few-shot learning without prompts"): the
encoder learns to place texts with the same outcome close together and texts with
different outcomes apart, by regressing the cosine similarity of the two texts'
embeddings on how alike their outcomes are; the head is then the penalised linear model
on the tuned embeddings (:func:`pytext_psych.training.probe.warm_start`). Each labelled text
yields many pairs, which is why it helps most when texts are few.

SetFit handles classes only (same class: 1, else 0). Here ratings work too: two texts
are as alike as their ratings are close, ``1 - |a - b| / range``; with several outcomes
the similarities are averaged. No torch here but in :func:`pair_loss`.
"""

from __future__ import annotations

import math

import numpy as np

# An epoch: each training text meets at least two partners, one alike and one not (SetFit's
# "iteration"), and the epoch has at least MIN_PAIRS pairs, so that few texts still make
# enough steps: on GoEmotions with 64 labelled texts macro F1 .46, against .40 with SetFit's
# two partners a text (docs/decisions.md, "The strategy").
MIN_PAIRS = 512


def partners(n_texts: int) -> int:
    """How many partners each of ``n_texts`` training texts meets in an epoch.

    >>> partners(64), partners(1000)
    (8, 2)
    """
    return max(2, math.ceil(MIN_PAIRS / max(n_texts, 1)))


def draw_pairs(rows: np.ndarray, targets: np.ndarray, task: str, rng: np.random.Generator) -> np.ndarray:
    """One epoch's pairs of ``rows`` (an ``n x 2`` array of row numbers), shuffled; each
    text meets :func:`partners` others.

    Classes (the first outcome's): half of each text's partners from its own class, half
    from other classes, where there are such texts (SetFit's sampling). Ratings: partners
    drawn at random.

    >>> y = np.array([0, 0, 1, 1] * 64)
    >>> pairs = draw_pairs(np.arange(256), y, "classification", np.random.default_rng(0))
    >>> len(pairs), int((y[pairs[:, 0]] == y[pairs[:, 1]]).sum())
    (512, 256)
    """
    rows = rng.permutation(rows)
    k = partners(len(rows))
    if task == "classification":
        code = (targets if targets.ndim == 1 else targets[:, 0])[rows]
        pools = lambda i, c: ((rows[(code == c) & (rows != i)], k // 2), (rows[code != c], k - k // 2))
    else:
        code = np.zeros(len(rows))
        pools = lambda i, c: ((rows[rows != i], k),)
    pairs = [(i, j) for i, c in zip(rows, code) for pool, m in pools(i, c) if len(pool)
             for j in rng.choice(pool, m)]
    return rng.permutation(np.array(pairs, dtype=np.int64).reshape(-1, 2))


def similarity(a: np.ndarray, b: np.ndarray, task: str, span: np.ndarray) -> np.ndarray:
    """How alike two texts' outcomes are, from 0 to 1, averaged over outcomes (columns):
    classes 1 when equal, else 0; ratings ``1 - |a - b| / span`` (``span``: each rating's
    range in the training rows).

    >>> similarity(np.array([1.0, 1.0]), np.array([1.0, 3.0]), "regression", np.array([4.0])).tolist()
    [1.0, 0.5]
    """
    a, b = np.atleast_2d(a.T).T, np.atleast_2d(b.T).T  # rows x outcomes
    alike = (a == b) if task == "classification" else 1 - np.abs(a - b) / np.maximum(span, 1e-12)
    return alike.astype(np.float32).mean(1)


def pair_loss(features, alike):
    """Mean squared difference between the cosine similarity of each pair's embeddings
    (``features``: the pairs' two texts in consecutive rows) and how alike their outcomes
    are (SetFit's ``CosineSimilarityLoss``)."""
    import torch

    cos = torch.nn.functional.cosine_similarity(features[0::2].float(), features[1::2].float())
    return torch.nn.functional.mse_loss(cos, alike)
