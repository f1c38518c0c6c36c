"""predict_scores_distributed on real Dask LocalClusters (worker processes), scoring the
fitted example bundle: same scores as predict_scores, surviving a killed worker,
resuming a failed run, and files / globs as input."""

import json
import os
import signal
import threading
import time
import warnings

import numpy as np
import pandas as pd
import pytest

from pytext_psych import predict_scores, predict_scores_distributed

distributed = pytest.importorskip("distributed")
import dask  # noqa: E402


@pytest.fixture(scope="module")
def texts(examples):
    frame = pd.concat([examples] * 5, ignore_index=True).head(2000)
    return frame.assign(id=np.arange(len(frame)))[["id", "answer"]]


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0",
                                  silence_logs=40) as cluster, distributed.Client(cluster) as c:
        yield c


def _kill_a_worker_once_parts_appear(client, folder_parent, name):
    """Wait until the run has written its first part, then SIGKILL one worker process."""
    pids = list(client.run(os.getpid).values())
    deadline = time.time() + 60
    while time.time() < deadline:
        if any(folder_parent.glob(f".{name}.pytext-psych.partial-*/part-*.parquet")):
            os.kill(pids[0], signal.SIGKILL)
            return True
        time.sleep(0.01)
    return False


def test_same_scores_as_predict_scores_though_a_worker_is_killed(topic_fit, texts, client, tmp_path):
    reference = predict_scores(topic_fit, texts, text="answer")
    killed = {}
    killer = threading.Thread(target=lambda: killed.setdefault(
        "ok", _kill_a_worker_once_parts_appear(client, tmp_path, "scores")))
    killer.start()
    out = predict_scores_distributed(topic_fit, texts, "answer", out=tmp_path / "scores",
                                     scheduler=client, chunk_size=100, progress=False)
    killer.join()
    assert killed["ok"]
    got = pd.read_parquet(out)
    assert got["id"].tolist() == texts["id"].tolist()  # no row lost or duplicated, input order
    assert got.index.tolist() == texts.index.tolist()
    assert got["predicted"].tolist() == reference["predicted"].tolist()
    probs = [c for c in reference if c.startswith("prob_")]
    np.testing.assert_allclose(got[probs].to_numpy(), reference[probs].to_numpy(), atol=1e-6)
    record = json.loads((out / "_pytext_psych.json").read_text())
    assert record["rows"] == 2000 and len(record["files"]) == 20
    assert sorted(os.listdir(tmp_path)) == ["scores"]  # no partial folder or lock left


def test_a_failed_run_keeps_its_finished_partitions_and_resumes(topic_fit, texts, tmp_path):
    out = tmp_path / "scores"
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0",
                                      silence_logs=50) as cluster, distributed.Client(cluster) as c:
            killer = threading.Thread(target=_kill_a_worker_once_parts_appear, args=(c, tmp_path, "scores"))
            killer.start()
            with pytest.raises(distributed.KilledWorker):
                predict_scores_distributed(topic_fit, texts, "answer", out=out, scheduler=c,
                                           chunk_size=100, progress=False)
            killer.join()
    assert not out.exists()  # nothing under the final name looks complete
    partial = next(tmp_path.glob(".scores.pytext-psych.partial-*"))
    # finished = the part and its row counts written (a part whose worker died before its
    # counts were written is not finished, and is rightly scored again)
    before = {p.name: p.stat().st_mtime_ns for p in partial.glob("part-*.parquet")
              if p.with_suffix(".json").is_file()}
    assert 0 < len(before) < 20
    result = predict_scores_distributed(topic_fit, texts, "answer", out=out, workers=1,
                                        chunk_size=100, progress=False)
    after = {p.name: p.stat().st_mtime_ns for p in result.glob("part-*.parquet")}
    assert len(after) == 20 and all(after[name] == t for name, t in before.items())  # kept
    assert pd.read_parquet(result)["id"].tolist() == texts["id"].tolist()
    # the same call again: out exists now, so it is refused, and replaced with overwrite
    with pytest.raises(FileExistsError, match="already exists"):
        predict_scores_distributed(topic_fit, texts, "answer", out=out, workers=1, progress=False)


def test_files_and_globs(topic_fit, texts, client, tmp_path):
    for k, part in enumerate((texts.iloc[:1200], texts.iloc[1200:])):
        part.to_csv(tmp_path / f"wave{k}.csv", index=False)
    out = predict_scores_distributed(topic_fit, str(tmp_path / "wave*.csv"), "answer",
                                     out=tmp_path / "scores", scheduler=client, progress=False)
    got = pd.read_parquet(out)
    reference = predict_scores(topic_fit, texts, text="answer")
    assert got["id"].tolist() == texts["id"].tolist()
    assert got["predicted"].tolist() == reference["predicted"].tolist()
    # a user's folder of other files is never replaced
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="did not write"):
        predict_scores_distributed(topic_fit, texts, "answer", out=tmp_path / "mine",
                                   scheduler=client, overwrite=True, progress=False)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def _said(call) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [str(w.message) for w in caught if "unlike the texts" in str(w.message)]


def test_one_shift_warning_for_all_partitions_as_predict_scores_gives(topic_fit, examples, client, tmp_path):
    texts = pd.DataFrame({"answer": ["my boss keeps adding work and the rent goes up " * 30] * 9
                          + examples.answer.head(9).tolist()})
    said = _said(lambda: predict_scores_distributed(topic_fit, texts, "answer", out=tmp_path / "s",
                                                    scheduler=client, chunk_size=4, progress=False))  # 5 parts
    assert len(said) == 1 and said == _said(lambda: predict_scores(topic_fit, texts, "answer")), said
    assert said[0].startswith(f"{pd.read_parquet(tmp_path / 's').unusual.sum()} of 18 texts")


def test_cli_scores_on_local_workers(topic_fit, texts, tmp_path):
    from pytext_psych.cli import main

    texts.head(300).to_parquet(tmp_path / "texts.parquet")
    assert main(["predict", str(topic_fit.bundle_path), str(tmp_path / "texts.parquet"), "--text",
                 "answer", "--out", str(tmp_path / "scores"), "--workers", "2", "--quiet"]) == 0
    got = pd.read_parquet(tmp_path / "scores")
    assert got["id"].tolist() == list(range(300))
    assert main(["predict", str(topic_fit.bundle_path), str(tmp_path / "texts.parquet"), "--text",
                 "answer", "--workers", "2"]) == 2  # no --out: a clear error


def test_bad_input_is_refused_before_any_cluster_starts(topic_fit, texts, tmp_path):
    with pytest.raises(ValueError, match="text column 'text' not found.*'answer'"):
        predict_scores_distributed(topic_fit, texts, "text", out=tmp_path / "s")
    with pytest.raises(ValueError, match="already has column.*'predicted'"):
        predict_scores_distributed(topic_fit, texts.assign(predicted=1), "answer", out=tmp_path / "s")
    with pytest.raises(FileNotFoundError, match="no data file matches"):
        predict_scores_distributed(topic_fit, str(tmp_path / "*.csv"), "answer", out=tmp_path / "s")
    with pytest.raises(ValueError, match="workers must be"):
        predict_scores_distributed(topic_fit, texts, "answer", out=tmp_path / "s", workers=0)
    with pytest.raises(ValueError, match="not both"):
        predict_scores_distributed(topic_fit, texts, "answer", out=tmp_path / "s", workers=2,
                                   scheduler="tcp://127.0.0.1:1")
    assert not any(tmp_path.iterdir())
