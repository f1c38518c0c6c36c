"""Bundles: atomic writes, sha256 verification, refusal of tampered or corrupt bundles."""

import json
import shutil
from contextlib import contextmanager

import pytest

from pytext_psych import BundleError, load_model
from pytext_psych.core.description import FORMAT_VERSION, Description, Outcome
from pytext_psych.scoring.bundle import BUNDLE_JSON, check_sealed, read_bundle, reserve_bundle, seal

META = Description(text="answer", outcomes=(Outcome("stress", "regression", (0, 1), target_mean=5.0, target_sd=2.0),),
                   max_length=16, onnx={"files": {"fp32": "model.onnx"}})


@contextmanager
def staged_bundle(path, overwrite=False):
    with reserve_bundle(path, overwrite) as slot, slot.staged(check_sealed) as stage:
        yield stage


def _write(path, payload="weights", overwrite=False):
    with staged_bundle(path, overwrite=overwrite) as stage:
        (stage / "model.onnx").write_text(payload)
        (stage / "tokenizer.json").write_text("{}")
        (stage / "sub").mkdir()
        (stage / "sub" / "vocab.txt").write_text("a\nb\n")
        seal(stage, META)


def test_round_trip_and_manifest(tmp_path):
    _write(tmp_path / "b")
    described = read_bundle(tmp_path / "b")
    assert set(described.files) == {"model.onnx", "tokenizer.json", "sub/vocab.txt"}
    assert described.format_version == FORMAT_VERSION and described.but(files={}, manifest_sha256=None) == META
    assert [p.name for p in tmp_path.iterdir()] == ["b"]  # no staging leftovers


def test_failed_write_leaves_nothing_and_keeps_old_bundle(tmp_path):
    _write(tmp_path / "b", payload="old")
    with pytest.raises(RuntimeError):
        with staged_bundle(tmp_path / "b", overwrite=True) as stage:
            (stage / "model.onnx").write_text("half-written")
            raise RuntimeError("disk full")
    assert (tmp_path / "b" / "model.onnx").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["b"]
    read_bundle(tmp_path / "b")


def test_existing_bundle_needs_overwrite(tmp_path):
    _write(tmp_path / "b", payload="old")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        _write(tmp_path / "b", payload="new")
    _write(tmp_path / "b", payload="new", overwrite=True)
    assert (tmp_path / "b" / "model.onnx").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["b"]


def test_no_pickles_in_bundles(tmp_path):
    with pytest.raises(BundleError, match="no pickles"):
        with staged_bundle(tmp_path / "b") as stage:
            (stage / "head.pkl").write_bytes(b"\x80\x04")
            seal(stage, META)
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("tamper, message", [
    (lambda b: (b / "model.onnx").write_text("evil"), "modified: model.onnx"),
    (lambda b: (b / "sub" / "vocab.txt").unlink(), "missing: sub/vocab.txt"),
    (lambda b: (b / "extra.py").write_text("import os"), "unexpected: extra.py"),
])
def test_tampered_files_are_refused(tmp_path, tamper, message):
    _write(tmp_path / "b")
    tamper(tmp_path / "b")
    with pytest.raises(BundleError, match=message):
        read_bundle(tmp_path / "b")


def test_edited_or_corrupt_bundle_json_is_refused(tmp_path):
    _write(tmp_path / "b")
    path = tmp_path / "b" / BUNDLE_JSON
    meta = json.loads(path.read_text())
    path.write_text(json.dumps(dict(meta, task="classification")))
    with pytest.raises(BundleError, match="modified after the bundle was written"):
        read_bundle(tmp_path / "b")
    path.write_text(json.dumps(dict(meta, format_version=99)))
    with pytest.raises(BundleError, match="format 99 is not supported"):
        read_bundle(tmp_path / "b")
    path.write_text("{not json")
    with pytest.raises(BundleError, match="corrupt"):
        read_bundle(tmp_path / "b")
    path.write_text(json.dumps({"task": "regression"}))
    with pytest.raises(BundleError, match="'format_version' is missing"):
        read_bundle(tmp_path / "b")
    with pytest.raises(BundleError, match="not a model bundle"):
        read_bundle(tmp_path / "nowhere")


def test_real_bundle_tampered_onnx_is_refused(topic_fit, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(topic_fit.bundle_path, copy)
    load_model(copy)
    with open(copy / "model.onnx", "r+b") as fh:
        fh.seek(1000)
        byte = fh.read(1)
        fh.seek(1000)
        fh.write(bytes([byte[0] ^ 1]))
    with pytest.raises(BundleError, match="modified: model.onnx"):
        load_model(copy)


def test_every_file_of_a_real_bundle_follows_the_umask(topic_fit):
    """A colleague who can read the ONNX files can read the weights too (safetensors
    writes its file 0600; the package gives it the mode the umask asks for)."""
    from pytext_psych.core.outputs import current_umask

    expected = 0o666 & ~current_umask()
    modes = {p.name: p.stat().st_mode & 0o777 for p in topic_fit.bundle_path.rglob("*") if p.is_file()}
    assert "model.safetensors" in modes
    assert {name: oct(m) for name, m in modes.items() if m != expected} == {}
