"""The command line, run as a user runs it."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pytext_psych import load_model, predict_scores
from pytext_psych.cli import main
from pytext_psych.core.machine import cpu_flags
from pytext_psych.scoring.bundle import bundle_digest
from pytext_psych.scoring.sessions import int8_class

SCRIPT = Path(sys.executable).parent / "pytext-psych"  # the installed entry point


def run(*args):
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True)


def test_info(topic_fit):
    res = run("info", str(topic_fit.bundle_path))
    assert res.returncode == 0, res.stderr
    assert "files verified" in res.stdout and "f1_macro" in res.stdout
    assert "ONNX parity vs PyTorch fp32 on the dev split (n = 50" in res.stdout
    assert "int8" in res.stdout and "recommended" in res.stdout
    fused = load_model(topic_fit.bundle_path).description.onnx["fused"]
    assert "fused by onnxruntime's optimiser: " + ", ".join(f"{op} x{n}" for op, n in fused.items()) in res.stdout
    assert "Scoring on this machine (precision auto: " in res.stdout
    assert "int8: batches of equal length, up to" in res.stdout and "int8 kernels here: " in res.stdout
    assert "int8 against fp32 on the calibration texts: r = " in res.stdout
    assert "the int8 parity was measured with: " + int8_class(cpu_flags()) in res.stdout
    assert "bit for bit (checked at export on the parity texts) for: fp32, int8" in res.stdout
    digest = bundle_digest(topic_fit.bundle_path)
    assert f"bundle digest: sha256:{digest}" in res.stdout
    checked = run("info", str(topic_fit.bundle_path), "--digest", f"sha256:{digest}")
    assert "matches the expected digest" in checked.stdout
    wrong = run("info", str(topic_fit.bundle_path), "--digest", "0" * 64)
    assert wrong.returncode == 2 and "is not the bundle that digest was published for" in wrong.stderr


def test_predict_writes_csv(topic_fit, examples, tmp_path):
    examples.head(20).to_csv(tmp_path / "new.csv", index=False)
    res = run("predict", str(topic_fit.bundle_path), str(tmp_path / "new.csv"), "--text",
              "answer", "--out", str(tmp_path / "scores.csv"))
    assert res.returncode == 0, res.stderr
    got = pd.read_csv(tmp_path / "scores.csv")
    want = predict_scores(topic_fit, examples.head(20), text="answer")
    assert list(got.predicted) == list(want.predicted)
    assert list(got.id) == list(examples.id[:20])  # the input's other columns come along


def test_fit_and_errors(tmp_path, capsys):
    df = pd.DataFrame({"t": ["warm sun", "cold rain", "sunny sky", "wet storm"] * 6,
                       "y": ["happy", "sad"] * 12})
    df.to_csv(tmp_path / "d.csv", index=False)
    with pytest.warns(UserWarning, match="only 6 texts will be evaluated"):
        code = main(["fit", str(tmp_path / "d.csv"), "--text", "t", "--outcome", "y", "--out",
                     str(tmp_path / "m"), "--epochs", "1", "--max-length", "16", "--quiet",
                     "--strategy", "freeze", "--freeze-layers", "all", "--class-weights"])
    assert code == 0
    out = capsys.readouterr().out
    assert "<TextModelFit: classification of 'y'" in out
    assert "Caution: these estimates rest on only 6 texts (fewer than 30)" in out
    training = json.loads((tmp_path / "m" / "bundle.json").read_text())["training"]
    assert (training["strategy"], training["freeze_layers"], training["class_weights"]) == ("freeze", "all", True)
    assert (tmp_path / "m" / "bundle.json").is_file()
    res = run("fit", str(tmp_path / "d.csv"), "--text", "nope", "--outcome", "y")
    assert res.returncode == 2
    assert "column(s) 'nope' not found in data; available columns: 't', 'y'" in res.stderr
    assert "Traceback" not in res.stderr
    res = run("info", str(tmp_path))
    assert res.returncode == 2 and "not a model bundle" in res.stderr


def test_report_from_bundle(stress_fit, tmp_path):
    res = run("report", str(stress_fit.bundle_path), "--out", str(tmp_path / "rep"))
    assert res.returncode == 0, res.stderr
    assert "TF-IDF baseline" in res.stdout
    assert {p.name for p in (tmp_path / "rep").iterdir()} == {"report.md", "report.html", "figures.png"}


def test_predict_with_interval(stress_fit, examples, tmp_path):
    examples.head(5).to_csv(tmp_path / "new.csv", index=False)
    res = run("predict", str(stress_fit.bundle_path), str(tmp_path / "new.csv"), "--text",
              "answer", "--interval", "0.9", "--quiet")
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[0].endswith("predicted,lower,upper,unusual")


def test_curve(examples, tmp_path, capsys):
    examples.head(60).to_csv(tmp_path / "d.csv", index=False)
    code = main(["curve", str(tmp_path / "d.csv"), "--text", "answer", "--outcome", "stress",
                 "--sizes", "15", "30", "full", "--repeats", "1", "--epochs", "1",
                 "--max-length", "16", "--strategy", "full", "--target", "0.9", "--out", str(tmp_path / "c"),
                 "--quiet"])
    assert code == 0
    out = capsys.readouterr().out
    assert "n_train" in out and "labelled texts needed for pearson_r = 0.9" in out
    assert (tmp_path / "c" / "runs.jsonl").is_file() and (tmp_path / "c" / "learning_curve.png").is_file()


def test_curve_target_needs_three_sizes_before_training(examples, tmp_path, capsys):
    examples.to_csv(tmp_path / "d.csv", index=False)
    assert main(["curve", str(tmp_path / "d.csv"), "--text", "answer", "--outcome", "stress",
                 "--sizes", "50", "100", "--target", "0.5", "--quiet"]) == 2
    assert "at least 3 sizes" in capsys.readouterr().err
