"""Call shapes that depend on each text alone."""

import numpy as np

from pytext_psych.scoring.batches import ROWS, bucket, groups, padded_feed


def test_buckets_round_up_and_never_pass_max_length_unless_the_text_does():
    assert [bucket(n, 256) for n in (3, 16, 17, 63, 65, 97, 250)] == [8, 16, 24, 64, 96, 128, 256]
    assert bucket(120, 100) == 120 and bucket(90, 100) == 96


def test_groups_cover_every_text_once_by_bucket():
    lengths = np.random.default_rng(0).integers(1, 200, size=300)
    calls = list(groups(lengths, ROWS, 256))
    positions = np.concatenate([p for p, _ in calls])
    assert sorted(positions) == list(range(300))
    assert all(len(p) <= ROWS and {bucket(n, 256) for n in lengths[p]} == {length} for p, length in calls)
    assert list(groups([5, 9], 1, 256))[0][1] == 5  # one per call: unpadded


def test_feeds_have_the_fixed_shape_and_mask():
    feed = padded_feed([[5, 6, 7], [8]], 8, ROWS, 1, {"input_ids", "attention_mask"})
    assert set(feed) == {"input_ids", "attention_mask"} and feed["input_ids"].shape == (ROWS, 8)
    assert feed["input_ids"][1].tolist() == [8] + [1] * 7 and feed["attention_mask"].sum() == 4
