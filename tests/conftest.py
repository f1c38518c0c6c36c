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


# The files that take longest start first (minutes on the 2-core CI machine: the site
# with its tutorials, the R package's CRAN check, the kill-and-resume runs, the DDP
# fits), so that the run does not end on one worker with them while the other idles.
SLOW_FILES = ("test_site.py", "test_rbridge.py", "test_checkpoints.py", "test_parallel.py",
              "test_minimums.py", "test_encoders.py", "test_curve.py")


def pytest_xdist_auto_num_workers():
    """Two test workers (setup.cfg: ``-n auto --dist loadfile``) where each can have cores of
    its own, else one process. Measured on the 2-core CI machine (AMD EPYC, no GPU): the
    whole suite, tutorials executed, in 42 min on two pinned workers (1.85 cores busy on
    average; 39 min in a fresh clone), against 57 min in one process with the tutorials
    cached. Two workers sharing both cores instead ran a set of fit tests several times
    slower than one process (threads contending): hence the pinning below."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own reading of it
    return 2 if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2 else 0


def pytest_configure():
    """Each test worker runs on its own share of the cores: the package sizes its threads,
    and R and the child processes theirs, by the cores they may use, so workers never
    share a core."""
    worker, count = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if worker and count and hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, cores[int(worker.removeprefix("gw"))::int(count)] or cores)


def pytest_collection_modifyitems(items):
    """The slow files first, each file's tests in their written order."""
    rank = {name: i for i, name in enumerate(SLOW_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOW_FILES)))
