"""Batches whose shape depends on each text alone, so that a score never does on anything else.

Texts are grouped by *length bucket* (their token count rounded up: to a multiple of 8 up to
64 tokens, of 32 beyond, never past the bundle's ``max_length``), and every onnxruntime call
gets exactly ``ROWS`` rows of its bucket's length: the texts of one bucket, then rows of
padding. A text therefore meets the same shapes whether it is scored alone, first, last,
among other texts or in another chunk, and onnxruntime's kernels (single-threaded sessions:
the calls run in parallel instead) give it the same bits: tested forward, reversed,
shuffled and one at a time in every precision (``tests/test_batches.py``).

Why fixed shapes: onnxruntime's matrix kernels choose their blocking by the number of rows,
so the same text padded to the same length but in a batch of another size differs in the
last bit or two (measured 7e-7 on RWWD scores); with the row count fixed it does not.
Padding costs about 13% more tokens on short answers; batches of 16 against one text per
call scored short answers 1.6x and long ones 1.4x as fast (benchmarks/results/scoring.md).

numpy only.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

ROWS = 16  # rows of every call on a batched graph


def bucket(n_tokens: int, max_length: int) -> int:
    """The padded length of a text of ``n_tokens`` tokens.

    >>> [bucket(n, 128) for n in (1, 8, 9, 64, 65, 120)]
    [8, 8, 16, 64, 96, 128]
    """
    step = 8 if n_tokens <= 64 else 32
    return max(min(-(-n_tokens // step) * step, max_length), n_tokens)


def groups(lengths: Sequence[int], rows: int, max_length: int) -> Iterator[tuple[np.ndarray, int]]:
    """``(positions, padded length)`` of each call: texts of one bucket, at most ``rows``
    at a time (``rows`` 1: each text alone, unpadded)."""
    lengths = np.asarray(lengths)
    padded = lengths if rows == 1 else np.array([bucket(n, max_length) for n in lengths], dtype=int)
    for length in np.unique(padded):
        members = np.flatnonzero(padded == length)
        for start in range(0, len(members), rows):
            yield members[start : start + rows], int(length)


def padded_feed(ids: Sequence[Sequence[int]], length: int, rows: int, pad: int,
                names: set[str]) -> dict[str, np.ndarray]:
    """The model's inputs for token ids ``ids``: ``rows`` x ``length``, padded with the
    token ``pad`` (padding rows are all padding), with the attention mask; only the inputs
    the graph takes."""
    tokens = np.full((max(rows, len(ids)), length), pad, dtype=np.int64)
    mask = np.zeros_like(tokens)
    for r, row in enumerate(ids):
        tokens[r, : len(row)] = row
        mask[r, : len(row)] = 1
    feed = {"input_ids": tokens, "attention_mask": mask, "token_type_ids": np.zeros_like(mask)}
    return {n: v for n, v in feed.items() if n in names}
