"""What the tokenizer made of each text, counted once where texts are scored."""

import numpy as np
import pytest

from pytext_psych import load_model, predict_scores
from pytext_psych.scoring import infer

TEXTS = ["ok", "the rent went up again", "Überstunden am Wochenende", "", "I can't sleep!!"] * 3


def _reference(model, text: str) -> tuple[int, int, int]:
    """Tokens, special tokens and words of one text, from the tokenizer's own token strings."""
    tokens = model.tokenizer.encode(text).tokens
    specials = sum(t in ("[CLS]", "[SEP]") for t in tokens)
    words = sum(not t.startswith("##") for t in tokens) - specials  # BERT's word pieces go on with ##
    return len(tokens), specials, words


def test_the_scoring_path_counts_what_the_tokenizer_made_of_each_text(topic_fit, monkeypatch):
    model = load_model(topic_fit.bundle_path)
    monkeypatch.setattr(infer, "CHUNK", 4)  # texts tokenized across several chunks
    outputs, pieces = model.outputs_and_pieces(TEXTS)
    np.testing.assert_array_equal(pieces.counts, [_reference(model, t) for t in TEXTS])
    np.testing.assert_array_equal(model.pieces(TEXTS).counts, pieces.counts)
    np.testing.assert_array_equal(outputs, model.raw_outputs(TEXTS))
    assert pieces.per_word()[0] == 1 and pieces.per_word(with_specials=True)[0] == 3  # "ok"
    assert pieces.per_word()[3] == 0  # no words: no pieces, not a division by zero


class Counting:
    """The bundle's real tokenizer, counting the texts it is given to encode in batches."""

    def __init__(self, tokenizer):
        self.tokenizer, self.texts = tokenizer, 0

    def encode_batch(self, texts):
        self.texts += len(texts)
        return self.tokenizer.encode_batch(texts)

    def __getattr__(self, name):
        return getattr(self.tokenizer, name)


@pytest.mark.parametrize("check_shift", [True, False])
def test_predict_scores_tokenizes_each_text_once(topic_fit, check_shift):
    model = load_model(topic_fit.bundle_path)
    model._tokenizer = Counting(model.tokenizer)
    texts = [t for t in TEXTS if t]  # scoring refuses empty texts
    scores = predict_scores(model, texts, check_shift=check_shift)
    assert model._tokenizer.texts == len(texts)
    assert ("unusual" in scores) == check_shift
