"""Long runs survive: a fine-tune killed (SIGKILL) or stopped (Ctrl-C) mid-epoch resumes
from its checkpoint and ends with the same results as a run never interrupted; the same
for a cross-validation fold and a tuning trial. Real fine-tunes in subprocesses."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pytext_psych.training.checkpoints import RESUME, Checkpoints, data_key

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import json, sys, warnings
warnings.simplefilter("ignore")
from pytext_psych import example_data, fit_text_model, tune_text_model
kind, out = sys.argv[1], sys.argv[2]
data = example_data().head(120)
# "auto" (the default) trains on contrastive pairs for data this small; the others "full"
common = dict(epochs=2, max_length=24, batch_size=8, learning_rate=1e-4, progress=False,
              n_resamples=50, baseline=False, export="fp32", output_dir=out,
              resume=sys.argv[3] == "resume", strategy="auto" if kind == "auto" else "full")
if kind == "tune":
    fit = tune_text_model(data, "answer", "stress", learning_rate=[5e-5, 1e-4],
                          **{k: v for k, v in common.items() if k != "learning_rate"})
    extra = fit.trials.drop(columns="seconds").to_dict(orient="list")
else:
    fit = fit_text_model(data, "answer", "stress", cv=2 if kind == "cv" else None, **common)
    extra = None
print(json.dumps({"metrics": fit.metrics.to_dict(orient="list"),
                  "predicted": fit.predictions["predicted"].tolist(), "extra": extra}))
"""


def _start(tmp_path: Path, kind: str, out: Path, resume: str = "resume") -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SCRIPT, kind, str(out), resume], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> tuple[dict, str]:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1]), err


def _resume_folder(out: Path) -> Path:
    return out.with_name(f".{out.name}{RESUME}")


def _wait_for_checkpoints(out: Path, count: int, proc: subprocess.Popen) -> None:
    """Until ``count`` checkpoint files exist (the first appears when epoch 1 ends)."""
    deadline = time.monotonic() + 300
    while len(list(_resume_folder(out).glob("*.pt"))) < count:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline
        time.sleep(0.05)


def _same(a: dict, b: dict) -> None:
    pd.testing.assert_frame_equal(pd.DataFrame(a["metrics"]), pd.DataFrame(b["metrics"]), rtol=1e-5)
    np.testing.assert_allclose(a["predicted"], b["predicted"], rtol=1e-5, atol=1e-6)
    if a["extra"] is not None:
        pd.testing.assert_frame_equal(pd.DataFrame(a["extra"]), pd.DataFrame(b["extra"]), rtol=1e-5)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Uninterrupted runs (same seed), one per kind, made when first needed."""
    folder, done = tmp_path_factory.mktemp("reference"), {}

    def get(kind: str) -> dict:
        if kind not in done:
            done[kind] = _finish(_start(folder, kind, folder / kind))[0]
            assert not _resume_folder(folder / kind).exists()
        return done[kind]

    return get


@pytest.mark.parametrize("kind, checkpoints", [("fit", 1), ("auto", 1), ("cv", 2), ("tune", 2)])
def test_a_killed_run_resumes_to_the_same_results(tmp_path, reference, kind, checkpoints):
    """SIGKILL in epoch 2 (fit; auto: the default strategy, contrastive pairs here), in
    fold 2 (cv: fold 1 finished), in trial 2 (tune)."""
    out = tmp_path / "model"
    victim = _start(tmp_path, kind, out)
    _wait_for_checkpoints(out, checkpoints, victim)  # epoch 1 of the last loop is saved
    victim.kill()
    victim.wait()
    assert not out.exists()
    again, err = _finish(_start(tmp_path, kind, out))
    assert "Resuming fine-tuning from its checkpoint" in err
    if checkpoints == 2:
        assert "(finished;" in err  # fold 1 / trial 1 not trained again
    _same(again, reference(kind))
    assert not _resume_folder(out).exists()  # removed once the bundle is written


def test_ctrl_c_saves_says_how_to_resume_and_resumes(tmp_path, reference):
    out = tmp_path / "model"
    proc = _start(tmp_path, "fit", out)
    _wait_for_checkpoints(out, 1, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode != 0
    assert "Stopping after this step and saving progress" in err
    assert "Interrupted in epoch 2 after step" in err
    assert f"progress is saved in {_resume_folder(out)}" in err
    assert "Run the same call again to resume" in err
    assert len(list(_resume_folder(out).glob("*.pt"))) == 1
    again, err = _finish(_start(tmp_path, "fit", out))
    assert "Resuming fine-tuning from its checkpoint (epoch 2, step " in err
    assert not _resume_folder(out).exists()
    _same(again, reference("fit"))


def test_resume_false_starts_over_and_other_settings_never_match(tmp_path):
    out = tmp_path / "model"
    stale = _resume_folder(out) / "fine-tune-0123.pt"  # a run's file, as a kill leaves it
    stale.parent.mkdir()
    stale.write_bytes(b"not loaded")
    _, err = _finish(_start(tmp_path, "fit", out, resume="no"))
    assert "Resuming" not in err
    assert not _resume_folder(out).exists()
    assert data_key(["a"], {"seed": 1}) != data_key(["a"], {"seed": 2})
    assert data_key(["a", "b"], np.array([1.0])) != data_key(["a", "b"], np.array([1]))
    assert data_key(["ab"]) != data_key(["a", "b"])
    split = np.array(["train", "dev"], dtype=object)
    assert data_key(split) == data_key(split.copy()) == data_key(["train", "dev"])


def test_discard_removes_only_checkpoint_files(tmp_path):
    checkpoints = Checkpoints(tmp_path / "model")
    checkpoints.folder.mkdir()
    (checkpoints.folder / "fine-tune-x.pt").write_bytes(b"x")
    (checkpoints.folder / "notes.txt").write_text("mine")
    checkpoints.discard()
    assert [p.name for p in checkpoints.folder.iterdir()] == ["notes.txt"]


def test_pretrain_domain_resumes_after_ctrl_c(tmp_path):
    code = ("import sys, warnings; warnings.simplefilter('ignore'); "
            "from pytext_psych import example_data, pretrain_domain; "
            "pretrain_domain(example_data().answer.tolist()[:120], output_dir=sys.argv[1], "
            "epochs=2, max_length=24, batch_size=8, progress=False)")
    out = tmp_path / "dapt"
    proc = subprocess.Popen([sys.executable, "-c", code, str(out)], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not list(_resume_folder(out).glob("domain-*.pt")):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert "Interrupted in epoch 2" in err
    res = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Resuming domain pretraining from its checkpoint (epoch 2" in res.stderr
    assert (out / "domain_pretraining.json").is_file() and not _resume_folder(out).exists()
    ref = tmp_path / "reference"
    subprocess.run([sys.executable, "-c", code, str(ref)], check=True, capture_output=True)
    history = [json.loads((p / "domain_pretraining.json").read_text())["history"] for p in (out, ref)]
    np.testing.assert_allclose([h["mlm_loss"] for h in history[0]], [h["mlm_loss"] for h in history[1]],
                               rtol=1e-5)
