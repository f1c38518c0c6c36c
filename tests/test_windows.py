"""Long texts in sliding windows (pytext_psych/core/windows.py), in training and scoring:
the windows against transformers' own overflowing windows, a text that fits read exactly as
before, a long text's score the mean of its windows' and independent of its batch-mates."""

import numpy as np
import pandas as pd
import pytest
from transformers import AutoTokenizer

from pytext_psych import TextModel, TrainSettings, load_model
from pytext_psych.core.windows import length_batches, pooled, windows
from pytext_psych.training.encoders import resolve_model
from pytext_psych.training.nets import TokenCache
from pytext_psych.training.train import _per_text

LONG = "the rent is due and I have no money left at all this month"


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(resolve_model("default"))


def test_windows_are_transformers_overflowing_windows_with_the_last_ending_on_the_text(tokenizer):
    """transformers' ``stride`` is the overlap; ours is the step (overlap = 6 - 3 here). Its
    last window is what is left over; ours ends where the text ends, so it is full."""
    ids = tokenizer(LONG)["input_ids"]
    ours = windows(ids, 8, 3)
    theirs = tokenizer(LONG, truncation=True, max_length=8, stride=3, return_overflowing_tokens=True)["input_ids"]
    assert ours[:-1] == theirs[: len(ours) - 1]
    assert ours[-1] == [ids[0], *ids[-7:-1], ids[-1]] and all(len(w) == 8 for w in ours)
    assert windows(ids, 8, None) == [tokenizer(LONG, truncation=True, max_length=8)["input_ids"]]
    assert windows(ids, len(ids), 3) == [ids]


def test_pooled_is_each_texts_mean():
    rng = np.random.default_rng(0)
    owner = np.repeat(np.arange(5), rng.integers(1, 4, 5))
    outputs = rng.normal(size=(len(owner), 3)).astype(np.float32)
    want = pd.DataFrame(outputs.astype(np.float64)).groupby(owner).mean().to_numpy()
    np.testing.assert_allclose(pooled(outputs, owner), want, rtol=1e-6)
    assert np.array_equal(pooled(outputs[:1], owner[:1]), outputs[:1])  # one window: itself


@pytest.mark.parametrize("budget", [0, 1, 40, 97, 10**6])
def test_length_batches_hold_every_window_once_in_equal_lengths_within_the_budget(budget):
    lengths = np.random.default_rng(3).integers(3, 30, size=300)
    batches = length_batches(lengths, budget)
    assert sorted(np.concatenate(batches).tolist()) == list(range(300))
    for batch in batches:
        assert len(set(lengths[batch])) == 1
        assert len(batch) == 1 or lengths[batch].sum() <= budget
    if budget == 10**6:  # one batch per length
        assert len(batches) == len(set(lengths.tolist()))


def test_training_reads_texts_that_fit_as_before(tokenizer):
    texts = ["fine", "I worry about my job", LONG]
    encoded, owner = TokenCache().windows(tokenizer, texts, 8, 3)
    assert owner.tolist() == [0, 1, 2, 2, 2, 2]
    before = tokenizer(texts[:2], truncation=True, max_length=8)
    assert [e["input_ids"] for e in encoded[:2]] == before["input_ids"]
    assert [e["attention_mask"] for e in encoded[:2]] == before["attention_mask"]
    assert [e["input_ids"] for e in TokenCache().encode(tokenizer, texts, 8)] == tokenizer(
        texts, truncation=True, max_length=8)["input_ids"]


def test_the_dev_metric_rates_texts_not_windows():
    owner = np.array([0, 1, 1, 2, 3, 3, 3])
    split = np.array(["train", "dev", "test", "dev"])
    seen = {}
    rate = _per_text(lambda out, y: seen.update(out=out, y=y) or 0.0, owner, split, np.array([9.0, 1.0, 7.0, 3.0]))
    rate(np.array([[1.0], [3.0], [2.0], [4.0], [6.0]], dtype=np.float32))  # text 1's two, text 3's three
    assert seen["out"].ravel().tolist() == [2.0, 4.0] and seen["y"].tolist() == [1.0, 3.0]


def test_stride_is_checked_against_the_window():
    assert TrainSettings(max_length=32).window_stride == 15
    assert TrainSettings(truncate=True).window_stride is None
    with pytest.raises(ValueError, match=r"stride=31 \(at most max_length - 2 = 30"):
        TrainSettings(max_length=32, stride=31)


def test_a_long_text_scores_as_the_mean_of_its_windows(topic_fit, examples):
    """The fit's bundle reads texts over 32 tokens in windows every 15; one that fits scores
    to the byte as a truncating bundle would."""
    model = load_model(topic_fit.bundle_path)
    d = model.description
    assert (d.max_length, d.stride) == (32, 15)
    texts = examples.answer.tolist()
    lengths = [len(e.ids) for e in model.tokenizer.encode_batch(texts)]
    long_text, short = texts[int(np.argmax(lengths))], texts[int(np.argmin(lengths))]
    session = model.session("fp32")
    names = {i.name for i in session.get_inputs()}

    def run(ids):
        feed = {"input_ids": np.array([ids]), "attention_mask": np.ones((1, len(ids)), dtype=np.int64),
                "token_type_ids": np.zeros((1, len(ids)), dtype=np.int64)}
        return session.run(None, {k: v for k, v in feed.items() if k in names})[0][0]

    each = [run(w) for w in windows(model.tokenizer.encode(long_text).ids, 32, 15)]
    assert len(each) >= 2
    np.testing.assert_allclose(model.raw_outputs([long_text], "fp32")[0], np.mean(each, axis=0), atol=1e-6)
    truncating = TextModel(model.path, d.but(stride=None))
    for precision in ("fp32", "int8"):
        assert np.array_equal(model.raw_outputs([short], precision), truncating.raw_outputs([short], precision))
    assert not np.array_equal(model.raw_outputs([long_text]), truncating.raw_outputs([long_text]))
    alone = model.raw_outputs([long_text])
    among = model.raw_outputs([short, long_text, *texts[:50]][::-1], threads=1)
    assert np.array_equal(alone[0], among[50])
    tokens = d.data["tokens"]
    assert tokens["longer"] == sum(n > 32 for n in lengths) and tokens["stride"] == 15
