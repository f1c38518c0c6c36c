"""Output locations: nothing of the user's is replaced, writers are locked out, killed runs
leave nothing under the final name and nothing behind after the next run."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from pytext_psych import example_data, fit_text_model, write_scores
from pytext_psych.core.outputs import _rename_noreplace, reserve

TINY = dict(epochs=1, max_length=16, progress=False, n_resamples=50, strategy="full")


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".pytext-psych" in p.name)


def _bundle(folder: Path) -> Path:
    """A minimal folder as the package writes it: its marker lists every file."""
    with reserve(folder, marker="bundle.json") as slot, slot.staged() as stage:
        (stage / "model.onnx").write_text("weights")
        (stage / "bundle.json").write_text('{"files": {"model.onnx": "x"}}')
    return folder


def test_overwrite_replaces_only_what_the_package_wrote(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "thesis.docx").write_text("precious")
    ours = _bundle(tmp_path / "ours")
    (ours / "notes.txt").write_text("added by the user")
    for target, why in ((theirs, "no valid bundle.json"), (ours, r"1 file\(s\) pytext-psych did not write \(notes.txt\)"),
                        (tmp_path, "working directory"), (tmp_path.parent, "folder above it")):
        with pytest.raises(FileExistsError, match=why):
            with reserve(target, overwrite=True, marker="bundle.json"):
                pass
    assert (theirs / "thesis.docx").read_text() == "precious"
    assert (ours / "notes.txt").exists()
    (ours / "notes.txt").unlink()
    with reserve(ours, overwrite=True, marker="bundle.json") as slot, slot.staged() as stage:
        (stage / "bundle.json").write_text('{"files": {}}')
    assert sorted(p.name for p in ours.iterdir()) == ["bundle.json"]
    assert _hidden(tmp_path) == []


def test_publish_never_replaces_what_appeared_meanwhile(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(FileExistsError, match="already exists"):
        with reserve(target, marker="bundle.json") as slot, slot.staged() as stage:
            (stage / "bundle.json").write_text('{"files": {}}')
            target.mkdir()  # someone else, not through the package, creates it now
            (target / "theirs.txt").write_text("keep me")
    assert [p.name for p in target.iterdir()] == ["theirs.txt"]
    assert _hidden(tmp_path) == []
    # between that check and the rename: the rename itself refuses (a plain rename would
    # silently replace an empty folder)
    (tmp_path / "empty").mkdir()
    (tmp_path / "new").mkdir()
    with pytest.raises(FileExistsError, match="appeared while this run was writing"):
        _rename_noreplace(tmp_path / "new", tmp_path / "empty")
    assert (tmp_path / "new").is_dir()


HOLDER = """
import sys, time
from pytext_psych.core.outputs import _rename_noreplace, reserve
with reserve(sys.argv[1], marker="bundle.json") as slot:
    (slot.area / "partial.onnx").write_text("half")
    print("reserved", flush=True)
    time.sleep(60)
"""


def test_a_second_writer_is_locked_out_and_a_dead_ones_lock_taken_over(tmp_path):
    target = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(target)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "reserved"
        with pytest.raises(FileExistsError, match=f"in use by process {holder.pid} on .* since"):
            with reserve(target, marker="bundle.json"):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert len(_hidden(tmp_path)) == 2  # the dead writer's lock and work folder
    with pytest.warns(UserWarning, match=f"left by process {holder.pid}, which no longer runs"):
        with reserve(target, marker="bundle.json") as slot:
            assert _hidden(tmp_path) == sorted([slot.area.name, ".out.pytext-psych.lock"])
    assert _hidden(tmp_path) == [] and not target.exists()


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_new_files_follow_the_umask(topic_fit, tmp_path, umask):
    previous = os.umask(umask)
    try:
        out = write_scores(topic_fit, ["rent is due"], tmp_path / "scores.csv")
        with reserve(tmp_path / "folder", marker="bundle.json") as slot, slot.staged() as stage:
            (stage / "bundle.json").write_text('{"files": {}}')
    finally:
        os.umask(previous)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "folder").stat().st_mode & 0o777 == 0o777 & ~umask


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 300) -> None:
    end = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < end, "timed out waiting for the moment to kill"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


FIT = """
import sys
from pytext_psych import example_data, fit_text_model
fit_text_model(example_data().sample(80, random_state=0), "answer", "topic", output_dir=sys.argv[1],
               epochs=1, max_length=16, progress=False, n_resamples=50, baseline=False, strategy="full")
"""


def test_a_fit_killed_during_export_leaves_nothing_after_the_next_run(tmp_path):
    target = tmp_path / "bundle"
    before_tmp = set(os.listdir(os.environ.get("TMPDIR", "/tmp")))
    proc = subprocess.Popen([sys.executable, "-c", FIT, str(target)])
    exporting = lambda: any(p.is_dir() for p in tmp_path.glob(".bundle.pytext-psych-*/result/tmp*"))  # noqa: E731
    _kill_when(proc, exporting)
    assert not target.exists()
    assert _hidden(tmp_path)  # the killed run's work area (with its ONNX scratch) and lock
    assert set(os.listdir(os.environ.get("TMPDIR", "/tmp"))) - before_tmp <= {"pytest-of-root"}
    fit = fit_text_model(example_data().sample(80, random_state=0), "answer", "topic",
                         output_dir=target, baseline=False, **TINY)
    assert fit.bundle_path == target and (target / "bundle.json").exists()
    assert _hidden(tmp_path) == []


STREAM = """
import sys
from pytext_psych import write_scores
write_scores(sys.argv[1], sys.argv[2], sys.argv[3], text="answer", chunk_size=50, progress=False)
"""


def test_a_killed_stream_leaves_no_partial_file(topic_fit, tmp_path):
    data = pd.concat([example_data()] * 10, ignore_index=True)
    data.to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "scores.csv"
    proc = subprocess.Popen([sys.executable, "-c", STREAM, str(topic_fit.bundle_path),
                             str(tmp_path / "in.csv"), str(out)])
    partial = lambda: any(p.stat().st_size > 0 for p in tmp_path.glob(".scores.csv.pytext-psych-*/scores.csv"))  # noqa: E731
    _kill_when(proc, partial)
    assert not out.exists() and _hidden(tmp_path)
    write_scores(topic_fit, tmp_path / "in.csv", out, text="answer")
    assert len(pd.read_csv(out)) == len(data)
    assert _hidden(tmp_path) == []
