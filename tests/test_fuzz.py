"""Fuzzing the boundaries with hypothesis (bounded example counts, so CI stays in time).

* ``prepare`` on generated frames: a ``Prepared`` with one clean text per row, or a clear
  ``ValueError`` / ``TypeError``; never another exception, never a changed frame.
* ``predict_scores`` on generated text lists: no crash, order and length kept, and the
  same text gets the same scores in any batch composition.
* ``bootstrap_metrics`` on generated pairs: finite estimates lie inside their intervals; a
  NaN only where the metric is undefined (no spread to correlate).
* Bundle loading on randomly corrupted bundles: always a ``BundleError``.
"""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytext_psych import BundleError, bootstrap_metrics, load_model, predict_scores
from pytext_psych.data.reading import Prepared, prepare

FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

TEXTS = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
CELLS = st.one_of(TEXTS, st.none(), st.integers(), st.floats(), st.binary(max_size=5),
                  st.just("\u200b"), st.just("  "), st.lists(st.integers(), max_size=2))


@st.composite
def frames(draw):
    n = draw(st.integers(0, 30))
    text = draw(st.lists(st.one_of(TEXTS.filter(str.strip), CELLS), min_size=n, max_size=n))
    outcome = draw(st.one_of(
        st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=n, max_size=n),
        st.lists(st.sampled_from(["a", "b", "c", None]), min_size=n, max_size=n),
        st.lists(st.integers(-5, 5), min_size=n, max_size=n)))
    index = draw(st.one_of(st.just(list(range(n))), st.lists(st.integers(0, 5), min_size=n, max_size=n)))
    return pd.DataFrame({"text": pd.Series(text, dtype=object), "y": pd.Series(outcome, dtype=object)},
                        index=index)


@FUZZ
@given(frames(), st.sampled_from(["auto", "classification", "regression"]))
def test_prepare_gives_clean_data_or_a_clear_error(df, task):
    before = df.copy()
    try:
        prep = prepare(df, "text", "y", task)
    except (ValueError, TypeError) as err:
        assert len(str(err)) < 600
    else:
        assert isinstance(prep, Prepared) and len(prep.texts) == len(df) == len(prep.y)
        assert all(isinstance(t, str) and t.strip() for t in prep.texts)
        assert np.isfinite(prep.y.astype(float)).all()
    pd.testing.assert_frame_equal(df, before)


@FUZZ
@given(st.lists(TEXTS, min_size=1, max_size=12), st.randoms(use_true_random=False))
def test_predict_scores_same_text_same_score(topic_fit, texts, rnd):
    model = load_model(topic_fit.bundle_path)
    try:
        scores = predict_scores(model, texts)
    except ValueError as err:  # blank texts are refused, with their rows named
        assert "empty text" in str(err)
        return
    assert len(scores) == len(texts) and list(scores.index) == list(range(len(texts)))
    order = list(range(len(texts)))
    rnd.shuffle(order)
    mixed = predict_scores(model, [texts[i] for i in order] + ["a batch-mate"]).iloc[:-1]
    pd.testing.assert_frame_equal(mixed.set_axis(order).sort_index(), scores, check_exact=True)
    for text in set(texts):  # duplicates within one call agree too
        rows = scores[[t == text for t in texts]]
        assert (rows.nunique() <= 1).all()


PAIRS = st.integers(3, 40).flatmap(lambda n: st.tuples(
    st.lists(st.floats(-100, 100), min_size=n, max_size=n),
    st.lists(st.floats(-100, 100), min_size=n, max_size=n)))


@FUZZ
@given(PAIRS, st.sampled_from(["bca", "percentile"]))
def test_bootstrap_intervals_hold_their_estimates(pair, method):
    y, p = map(np.asarray, pair)
    table = bootstrap_metrics(y, p, "regression", n_resamples=200, method=method, seed=1)
    undefined = np.std(y) == 0 or np.std(p) == 0
    for row in table.itertuples():
        if np.isnan(row.estimate):
            assert undefined and row.metric in ("pearson_r", "spearman_rho", "r_squared", "icc_2_1"), row
            continue
        if np.isfinite(row.conf_low) and np.isfinite(row.conf_high):
            slack = 1e-9 * max(1.0, abs(row.estimate))
            assert row.conf_low - slack <= row.estimate <= row.conf_high + slack, row


@pytest.fixture(scope="module")
def bundle_copy(topic_fit, tmp_path_factory):
    copy = tmp_path_factory.mktemp("fuzz") / "bundle"
    shutil.copytree(topic_fit.bundle_path, copy)
    return copy


CORRUPTIONS = st.one_of(
    st.tuples(st.just("flip"), st.sampled_from(["model.onnx", "model_int8.onnx", "tokenizer.json",
                                                 "model.safetensors", "config.json"]), st.floats(0, 0.999)),
    st.tuples(st.just("truncate"), st.sampled_from(["model_int8.onnx", "tokenizer.json", "bundle.json"]),
              st.floats(0, 0.999)),
    st.tuples(st.just("delete"), st.sampled_from(["model.onnx", "tokenizer.json", "bundle.json"]), st.just(0.0)),
    st.tuples(st.just("json"), st.sampled_from(["task", "labels", "files", "onnx", "max_length",
                                                "format_version", "manifest_sha256"]),
              st.one_of(st.none(), st.integers(), st.text(max_size=8), st.just("../x.onnx"))),
)


@FUZZ
@given(CORRUPTIONS)
def test_corrupted_bundles_are_always_refused(bundle_copy, corruption):
    kind, name, where = corruption
    path = bundle_copy / ("bundle.json" if kind == "json" else name)
    original = path.read_bytes()
    try:
        if kind == "flip":
            data = bytearray(original)
            data[int(where * len(data))] ^= 0xFF
            path.write_bytes(bytes(data))
        elif kind == "truncate":
            path.write_bytes(original[: int(where * len(original))])
        elif kind == "delete":
            path.unlink()
        else:
            meta = json.loads(original)
            meta[name] = where
            path.write_text(json.dumps(meta))
        with pytest.raises(BundleError):
            load_model(bundle_copy)
    finally:
        path.write_bytes(original)
    load_model(bundle_copy)  # restored
