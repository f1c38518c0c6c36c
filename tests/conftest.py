"""Shared fixtures: real fine-tunes of the default model on the shipped example data.

Kept tiny (max_length 32, a few epochs of 16 steps) so the suite fits a 2-core CI
machine, yet large enough that the tests can assert that learning happened.
"""

import os
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import pytest
from filelock import FileLock

from pytext_psych import TextModelFit, example_data, fit_text_model

# strategy="full": the default "auto" tunes on contrastive pairs for data this small, at
# several times the time; "auto" and "contrastive" have their own tests
TINY = dict(max_length=32, epochs=3, learning_rate=1e-4, progress=False, n_resamples=500, strategy="full")


@pytest.fixture(scope="session", autouse=True)
def encoder_cache(tmp_path_factory):
    """Named encoders are assembled into a cache of the test session's own, never the
    user's (R and other subprocesses inherit it)."""
    from pytext_psych.core.catalog import CACHE_ENV

    folder = tmp_path_factory.mktemp("encoder_cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(folder))
        yield folder


@pytest.fixture(scope="session", autouse=True)
def temporary_folders(tmp_path_factory):
    """Every temporary folder of the session (``tempfile``, R's ``tempdir()``, the docs'
    tutorials, torch's launcher) under pytest's own, which goes when the suite passes:
    before, each full run left some 3 GB in /tmp, and a CI run once filled its disk."""
    folder = tmp_path_factory.mktemp("tmp")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TMPDIR", str(folder))
        patch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
        yield folder


@pytest.fixture(scope="session")
def examples():
    return example_data()


@pytest.fixture(scope="session")
def run_folder(tmp_path_factory, worker_id) -> Path:
    """A folder every test worker of this run shares (each worker's own temporary folders
    are sub-folders of it); the run's temporary folder without workers (``-n 0``)."""
    own = tmp_path_factory.getbasetemp()
    return own.parent if worker_id != "master" else own


def fitted_once(folder: Path, fit: Callable[[Path], TextModelFit]) -> TextModelFit:
    """``fit(folder)``'s result, fitted by the first test worker that asks and read back by
    the others, so that a session fit runs once per run, not once per worker (two fits of
    about 45 s each). Pickled for this run's workers only; bundles stay pickle-free."""
    done = folder / "fit.pickle"
    with FileLock(folder.with_name(folder.name + ".lock")):
        if done.exists():
            return pickle.loads(done.read_bytes())
        folder.mkdir(exist_ok=True)
        result = fit(folder)
        done.write_bytes(pickle.dumps(result))
        return result


@pytest.fixture(scope="session")
def topic_fit(examples, run_folder):
    """Classification: topic (5 classes) from the answer."""
    return fitted_once(run_folder / "topic", lambda folder: fit_text_model(
        examples, text="answer", outcome="topic", output_dir=folder / "bundle", **TINY))


def _stress(examples, cwd: Path) -> TextModelFit:
    before = Path.cwd()
    os.chdir(cwd)
    try:
        return fit_text_model(examples, text="answer", outcome="stress", **dict(TINY, epochs=4))
    finally:
        os.chdir(before)


@pytest.fixture(scope="session")
def stress_fit(examples, run_folder):
    """Regression: stress rating (1-9), with output_dir=None (a fresh folder in the cwd)."""
    return fitted_once(run_folder / "stress", lambda folder: _stress(examples, folder))


# Each slow file's worker seconds in a full run on the 2-core CI machine (AMD EPYC, two
# test workers; measured 2026-12-06). The files start longest first, so that the run
# ends on short files on both workers instead of one worker finishing a long one alone
# (before, with only the slowest seven ordered: one worker idle for the last 3 minutes).
# Files not listed (a few seconds each) come last, in their collection order.
SECONDS = {"test_site.py": 837, "test_rbridge.py": 622, "test_checkpoints.py": 503,
           "test_parallel.py": 262, "test_train.py": 261, "test_fit.py": 170,
           "test_encoders.py": 146, "test_curve.py": 136, "test_cli.py": 126, "test_ordinal.py": 109,
           "test_infer.py": 106, "test_minimums.py": 93, "test_outcomes.py": 83, "test_persons.py": 82,
           "test_quantize.py": 80, "test_codes.py": 77, "test_bad_input.py": 66, "test_fairness.py": 62,
           "test_distributed.py": 55, "test_explain.py": 55, "test_incremental.py": 47,
           "test_baseline.py": 40, "test_outputs.py": 40, "test_docs.py": 31, "test_light_install.py": 27,
           "test_assembly.py": 24, "test_fuzz.py": 16, "test_plan.py": 12}


def pytest_xdist_auto_num_workers():
    """Two test workers (setup.cfg: ``-n auto --dist loadfile``) where each can have cores of
    its own, else one process. Measured on the 2-core CI machine (AMD EPYC, no GPU): the
    whole suite, tutorials executed, in 35 min in a fresh clone on two pinned workers (with
    the files ordered by SECONDS and the session fits made once; 39 min before those),
    against 57 min in one process with the tutorials cached. Two workers sharing both
    cores instead ran a set of fit tests several times slower than one process (threads
    contending): hence the pinning below."""
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


def pytest_report_header():
    """The free disk where the session's temporary folders go: a full run peaks near 9 GiB
    there (the tutorials' bundles while the site builds, the fits of two workers), so that
    a run that fails for want of disk says so at the top."""
    folder = tempfile.gettempdir()
    return f"temporary folders in {folder}: {shutil.disk_usage(folder).free / 2**30:.1f} GiB free"


def pytest_collection_modifyitems(items):
    """The files by their measured time, longest first; each file's tests in their written order."""
    items.sort(key=lambda item: -SECONDS.get(item.path.name, 0))
