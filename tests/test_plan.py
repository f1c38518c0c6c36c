"""The batch plan: the choice among measured speeds, and a real bundle's plan measured once,
cached, and never changing a score."""

import time

import numpy as np
import pytest

from pytext_psych import load_model
from pytext_psych.core.catalog import CACHE_ENV
from pytext_psych.scoring.infer import TextModel
from pytext_psych.scoring.plan import (BATCHES, PLAN_TEXTS, PROBE_TOKENS, batching_exact, fastest_batch,
                                      measure, probe_batch)


def test_fastest_batch_prefers_the_smaller_of_near_ties():
    assert fastest_batch({"1": 100.0, "4": 130.0, "16": 134.0, "64": 120.0}) == 4
    assert fastest_batch({"1": 100.0, "4": 110.0, "16": 150.0, "64": 120.0}) == 16
    assert fastest_batch({"1": 300.0, "4": 200.0}) == 1


@pytest.mark.parametrize("per_text_squared, timed", [(1e-4, [1, 4, 16]), (0.0, [1, 4, 16, 64])])
def test_measuring_stops_at_the_first_batch_size_that_is_not_faster(per_text_squared, timed):
    """Calls that cost 4 ms, 1 ms a text and ``per_text_squared`` s a text squared: with the
    squared term, 16 texts a call are slower than 4, so 64 is never tried; without it every
    size is faster than the last and all are timed."""
    seen = set()

    def run(ids):
        seen.add(len(ids))
        time.sleep(0.004 + 0.001 * len(ids) + per_text_squared * len(ids) ** 2)

    speeds = measure(run, [101, 7, 102])
    assert [int(b) for b in speeds] == timed and sorted(seen) == timed


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_plan_is_measured_once_then_cached(topic_fit, own_cache):
    model = load_model(topic_fit.bundle_path)
    plan = model.plan("int8")
    timed = [int(b) for b in plan.texts_per_s]
    assert plan.source == "measured" and timed == list(BATCHES[: len(timed)]) and len(timed) >= 2
    length = min(PROBE_TOKENS, model.description.max_length)
    assert plan.batch_tokens == fastest_batch(plan.texts_per_s) * length
    assert len(list((own_cache / "scoring-plans").glob("*.json"))) == 1
    again = load_model(topic_fit.bundle_path).plan("int8")  # a new process would read the same
    assert again.source == "cached" and again.batch_tokens == plan.batch_tokens
    assert "batches of equal length" in again.describe()


def test_a_small_call_measures_nothing_until_a_plan_is_known(topic_fit, examples, own_cache):
    """Fewer than PLAN_TEXTS texts in a call: one window per call, nothing measured, the
    same scores as batched; a call of PLAN_TEXTS texts measures the plan, and every call
    after, however small, uses it."""
    model = load_model(topic_fit.bundle_path)
    texts = examples.answer.tolist()[:40]
    assert model.tokens_per_call("int8", PLAN_TEXTS - 1) == 0
    small = model.raw_outputs(texts, "int8")
    assert not (own_cache / "scoring-plans").exists()  # nothing measured
    budget = model.tokens_per_call("int8", PLAN_TEXTS)
    assert budget == model.plan("int8").batch_tokens > 0 and model.plan("int8").source == "measured"
    assert model.tokens_per_call("int8", 1) == budget
    np.testing.assert_array_equal(small, model.raw_outputs(texts, "int8"))
    assert load_model(topic_fit.bundle_path).tokens_per_call("int8", 1) == budget  # from the cache


def test_unwritable_cache_is_skipped(topic_fit, tmp_path, monkeypatch):
    (tmp_path / "a_file").write_text("not a folder")
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "a_file"))
    assert load_model(topic_fit.bundle_path).plan("fp32").source == "measured"
    assert load_model(topic_fit.bundle_path).plan("fp32").source == "measured"


def test_bundle_without_verified_invariance_scores_one_text_per_call(topic_fit, examples, own_cache):
    """A bundle written before batching (no ``onnx.batch_invariant``) is never batched, and
    its scores are those of the batched path of the same files where both are invariant."""
    model = load_model(topic_fit.bundle_path)
    d = model.description
    assert set(d.onnx["batch_invariant"]) == set(d.onnx["files"])  # verified at export
    older = TextModel(model.path, d.but(onnx={k: v for k, v in d.onnx.items() if k != "batch_invariant"}))
    plan = older.plan("int8")
    assert plan.batch_tokens == 0 and plan.source == "not batch-invariant"
    assert "one text per call" in plan.describe()
    texts = examples.answer.tolist()[:40]
    one_at_a_time = older.raw_outputs(texts, "int8")
    assert not (own_cache / "scoring-plans").exists()  # nothing measured
    np.testing.assert_array_equal(one_at_a_time, model.raw_outputs(texts, "int8"))


def test_batching_exact_catches_outputs_that_depend_on_batch_mates():
    ids = probe_batch([101, 5, 5, 5, 102], vocab_size=30522, rows=4)
    assert ids.shape == (4, 5) and (ids[:, 0] == 101).all() and (ids[:, -1] == 102).all()
    assert len({tuple(r) for r in ids}) == 4  # distinct texts
    rowwise = lambda x: np.sin(x.astype(np.float32)).sum(1, keepdims=True)  # noqa: E731
    centred = lambda x: rowwise(x) - rowwise(x).mean()  # noqa: E731 (a batch statistic leaks in)
    assert batching_exact(rowwise, [ids])
    assert not batching_exact(centred, [ids])


def test_plan_falls_back_to_one_text_per_call_where_batching_is_not_exact(topic_fit, examples, own_cache,
                                                                          monkeypatch):
    """Kernels that are not batch-invariant cannot be made real on this CPU: the check's
    verdict is replaced, the rest (plan, cache, scores) is real."""
    monkeypatch.setattr("pytext_psych.scoring.infer.batching_exact", lambda run, batches: False)
    model = load_model(topic_fit.bundle_path)
    plan = model.plan("int8")
    assert plan.batch_tokens == 0 and plan.source == "batching not exact here"
    assert load_model(topic_fit.bundle_path).plan("int8").batch_tokens == 0  # kept for this machine
    texts = examples.answer.tolist()[:20]
    np.testing.assert_array_equal(model.raw_outputs(texts, "int8"), model.raw_outputs(texts, "int8", batch_tokens=0))
