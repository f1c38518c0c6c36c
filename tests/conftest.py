"""Shared fixtures: real fine-tunes of the default model on the shipped example data.

Kept tiny (max_length 32, a few epochs of 16 steps) so the suite fits a 2-core CI
machine, yet large enough that the tests can assert that learning happened.
"""

import os
from pathlib import Path

import pytest

from pytext_psych import example_data, fit_text_model

# strategy="full": the default "auto" tunes on contrastive pairs for data this small, at
# several times the time; "auto" and "contrastive" have their own tests
TINY = dict(max_length=32, epochs=3, learning_rate=1e-4, progress=False, n_resamples=500, strategy="full")


@pytest.fixture(scope="session", autouse=True)
def encoder_cache(tmp_path_factory):
    """Named encoders are assembled into a cache of the test session's own, never the
    user's (R and other subprocesses inherit it)."""
    from pytext_psych.core.catalog import CACHE_ENV

    before = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("encoder_cache"))
    yield Path(os.environ[CACHE_ENV])
    if before is None:
        del os.environ[CACHE_ENV]
    else:
        os.environ[CACHE_ENV] = before


@pytest.fixture(scope="session")
def examples():
    return example_data()


@pytest.fixture(scope="session")
def topic_fit(examples, tmp_path_factory):
    """Classification: topic (5 classes) from the answer."""
    out = tmp_path_factory.mktemp("topic") / "bundle"
    return fit_text_model(examples, text="answer", outcome="topic", output_dir=out, **TINY)


@pytest.fixture(scope="session")
def stress_fit(examples, tmp_path_factory):
    """Regression: stress rating (1-9), with output_dir=None (a fresh folder in the cwd)."""
    cwd = tmp_path_factory.mktemp("stress_cwd")
    before = Path.cwd()
    os.chdir(cwd)
    try:
        return fit_text_model(examples, text="answer", outcome="stress", **dict(TINY, epochs=4))
    finally:
        os.chdir(before)
