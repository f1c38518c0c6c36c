"""Shared fixtures: real fine-tunes of the default model on the shipped example data.

Kept tiny (max_length 32, a few epochs of 16 steps) so the suite fits a 2-core CI
machine, yet large enough that the tests can assert that learning happened.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from pytext_psych import example_data, fit_text_model

# The files that take longest (measured in CI: the R package check about 500 s, the
# kill-and-resume runs about 350 s, the oldest-versions install about 110 s) go first, so
# that the two workers (setup.cfg) finish together rather than one waiting on the R check.
LONGEST_FIRST = ("test_rbridge.py", "test_checkpoints.py", "test_minimums.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order


def pytest_configure(config):
    """Each worker its own temporary folder, so a test that checks what a run leaves there
    never sees the other worker's files."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        config.worker_tmp = tempfile.mkdtemp(prefix=f"pytext-psych-{os.environ['PYTEST_XDIST_WORKER']}-")
        os.environ["TMPDIR"] = tempfile.tempdir = config.worker_tmp


def pytest_unconfigure(config):
    if getattr(config, "worker_tmp", None):
        shutil.rmtree(config.worker_tmp, ignore_errors=True)


# strategy="full": the default "auto" tunes on contrastive pairs for data this small, at
# several times the time; "auto" and "contrastive" have their own tests
TINY = dict(max_length=32, epochs=3, learning_rate=1e-4, progress=False, n_resamples=500, strategy="full")


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
