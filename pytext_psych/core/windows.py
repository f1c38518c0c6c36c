"""Long texts, read in sliding windows: one rule for training, scoring and the baselines.

A text whose tokens fit in ``max_length`` is read as it is (the same token ids as without
windows, so its score is the same to the byte). A longer text is cut into overlapping
windows of ``max_length`` tokens, each with the text's first and last special tokens
(``[CLS] ... [SEP]``, ``<s> ... </s>``), starting every ``stride`` tokens, the last one
ending where the text ends; the model reads each window on its own and the text's output
is the mean of its windows' outputs. A window depends on its text alone, so a text's score
never depends on its batch-mates, their order or the chunking.

``stride=None`` is truncation (bundles written before windows, and ``truncate=True``):
the first ``max_length`` tokens.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def windows(ids: Sequence[int], max_length: int, stride: int | None) -> list[list[int]]:
    """The token ids the model reads for one text (its ids with the special tokens first
    and last, uncut), one list per window.

    >>> windows([101, 1, 2, 3, 4, 5, 102], 5, 2)
    [[101, 1, 2, 3, 102], [101, 3, 4, 5, 102]]
    >>> windows([101, 1, 2, 3, 4, 5, 6, 102], 5, 2)
    [[101, 1, 2, 3, 102], [101, 3, 4, 5, 102], [101, 4, 5, 6, 102]]
    >>> windows([101, 1, 2, 102], 5, 2), windows([101, 1, 2, 3, 4, 5, 102], 5, None)
    ([[101, 1, 2, 102]], [[101, 1, 2, 3, 102]])
    """
    ids = list(ids)
    if len(ids) <= max_length:
        return [ids]
    first, body, last = ids[0], ids[1:-1], ids[-1]
    width = max_length - 2
    if stride is None:
        return [[first, *body[:width], last]]
    starts = list(range(0, len(body) - width, stride)) + [len(body) - width]
    return [[first, *body[s : s + width], last] for s in starts]


def pooled(outputs: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Each text's output: the mean of its windows' ``outputs`` (rows), texts in the order
    of ``owner`` (each window's text; a text's windows are consecutive). The mean is taken
    in float64, so a text of one window keeps its output exactly.

    >>> pooled(np.array([[1.0], [3.0], [5.0]], dtype=np.float32), np.array([0, 0, 7]))
    array([[2.],
           [5.]], dtype=float32)
    """
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    sums = np.add.reduceat(outputs.astype(np.float64), starts, axis=0)
    return (sums / np.diff(np.r_[starts, len(owner)])[:, None]).astype(outputs.dtype)


def length_batches(lengths: Sequence[int], batch_tokens: int) -> list[np.ndarray]:
    """Indices of windows (by their token ``lengths``) in batches of equal length, each of at
    most ``batch_tokens`` tokens and at least one window, longest first. No padding: a
    window's computation is then row for row the same whatever it is batched with.

    >>> length_batches([3, 5, 3, 3, 5], 6)
    [array([1]), array([4]), array([0, 2]), array([3])]
    >>> length_batches([3, 5, 3], 0)
    [array([1]), array([0]), array([2])]
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(-lengths, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(lengths[order])) + 1) if len(order) else []
    batches = []
    for group in groups:
        size = max(1, batch_tokens // int(lengths[group[0]]))
        batches += [group[i : i + size] for i in range(0, len(group), size)]
    return batches
