"""A fit request is checked, and what will happen to the data said, before any training."""

import re

import pytest
from tokenizers import Tokenizer

from pytext_psych import example_data, request
from pytext_psych.training.encoders import resolve_model


def test_truncated_long_texts_are_counted_and_named_before_training():
    data = example_data()
    tok = Tokenizer.from_file(f"{resolve_model('default')}/tokenizer.json")
    tok.no_truncation()
    tok.no_padding()
    lengths = [len(e.ids) for e in tok.encode_batch(list(data.answer))]
    longer = sum(n > 24 for n in lengths)
    with pytest.warns(UserWarning, match=re.escape(
            f"{longer} of 400 texts in 'answer' ({longer / 400:.0%}) are longer than max_length=24 tokens "
            f"(the longest has {max(lengths)}): the model reads only their first 24 tokens")):
        job = request.check_request(data, "answer", "topic", "auto", dict(max_length=24, truncate=True),
                                    progress=False)
    assert job.data.token_lengths.tolist() == lengths


def test_texts_that_fit_or_are_read_in_windows_give_no_warning(recwarn):
    request.check_request(example_data(), "answer", "topic", "auto", dict(max_length=64, truncate=True),
                          progress=False)
    request.check_request(example_data(), "answer", "topic", "auto", dict(max_length=24), progress=False)
    assert not [w for w in recwarn if "longer than max_length" in str(w.message)]
