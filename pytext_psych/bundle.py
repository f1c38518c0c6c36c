"""The model bundle: the one contract between training and scoring.

A bundle is a folder with fixed file names. ``bundle.json`` holds everything scoring needs
(task, labels, target scaling, max_length, input names) plus provenance (base model,
training settings, metrics, package versions) and the sha256 of every other file. It is
written atomically (staged in a hidden sibling folder, then renamed into place), holds no
pickles, and is verified on load: a changed, missing or unexpected file is refused.

Only json and hashlib here: no torch, no transformers, no onnxruntime.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

FORMAT_VERSION = 1
BUNDLE_JSON = "bundle.json"
ONNX_FILES = {"fp32": "model.onnx", "int8": "model_int8.onnx"}
WEIGHTS = "model.safetensors"
TOKENIZER_JSON = "tokenizer.json"
_FORBIDDEN_SUFFIXES = (".pkl", ".pickle", ".bin", ".pt", ".pth", ".joblib", ".py")
_REQUIRED_KEYS = {
    "format_version": int,
    "task": str,
    "max_length": int,
    "files": dict,
    "onnx": dict,
    "manifest_sha256": str,
}


class BundleError(ValueError):
    """A model bundle is missing, corrupt, tampered with, or of an unknown format."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _manifest_digest(meta: dict[str, Any]) -> str:
    """sha256 of bundle.json's own content (without this field), to catch edits to it."""
    body = {k: v for k, v in meta.items() if k != "manifest_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _files(folder: Path) -> list[str]:
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name != BUNDLE_JSON
    )


def check_free(path: str | Path, overwrite: bool = False) -> Path:
    """``path`` resolved; an existing one is refused unless ``overwrite`` (checked before
    any training, so nothing is computed only to be refused at the end)."""
    target = Path(path).resolve()
    if target.exists() and not overwrite:
        raise FileExistsError(
            f"'{target}' already exists; choose another output_dir or pass overwrite=True"
        )
    return target


def default_folder(prefix: str) -> Path:
    """A new ``<prefix>_<time>`` folder name in the working directory (suffixed if taken)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = Path.cwd() / f"{prefix}_{stamp}"
    k = 1
    while path.exists():
        k += 1
        path = Path.cwd() / f"{prefix}_{stamp}-{k}"
    return path


@contextmanager
def staged_folder(path: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield an empty staging folder next to ``path``; on clean exit move it to ``path``.

    If anything fails, the staging folder is removed and ``path`` is untouched: an existing
    folder is never half-replaced.
    """
    target = check_free(path, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield stage
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}-{time.time_ns()}")
            target.rename(old)
            stage.rename(target)
            shutil.rmtree(old)
        else:
            stage.rename(target)
    finally:
        if stage.exists():
            shutil.rmtree(stage)


@contextmanager
def staged_bundle(path: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """:func:`staged_folder` for a model bundle: the caller writes model files into the
    staging folder and must :func:`seal` it before the block ends."""
    with staged_folder(path, overwrite=overwrite) as stage:
        yield stage
        if not (stage / BUNDLE_JSON).is_file():
            raise BundleError("internal error: bundle was not sealed before it was published")


def seal(stage: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """Record the sha256 of every file in ``stage`` and write ``bundle.json``."""
    for name in _files(stage):
        if name.endswith(_FORBIDDEN_SUFFIXES):
            raise BundleError(f"refusing to put '{name}' in a bundle: no pickles or code")
    meta = dict(meta, format_version=FORMAT_VERSION)
    meta["files"] = {name: sha256_file(stage / name) for name in _files(stage)}
    meta["manifest_sha256"] = _manifest_digest(meta)
    (stage / BUNDLE_JSON).write_text(json.dumps(meta, indent=2, sort_keys=True))
    return meta


def read_bundle(path: str | Path, *, verify: bool = True) -> dict[str, Any]:
    """Read and check ``bundle.json``; with ``verify``, check every file's sha256 too.

    Raises
    ------
    BundleError
        Missing folder or bundle.json, unreadable JSON, unknown format version, a
        missing/changed/unexpected file, or a hand-edited bundle.json.
    """
    folder = Path(path)
    meta_path = folder / BUNDLE_JSON
    if not meta_path.is_file():
        raise BundleError(f"'{folder}' is not a model bundle: no {BUNDLE_JSON} in it")
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BundleError(f"{meta_path} is corrupt: {err}") from None
    if not isinstance(meta, dict):
        raise BundleError(f"{meta_path} is corrupt: expected a JSON object")
    for key, kind in _REQUIRED_KEYS.items():
        if not isinstance(meta.get(key), kind):
            raise BundleError(f"{meta_path} is corrupt: '{key}' is missing or not a {kind.__name__}")
    if meta["format_version"] != FORMAT_VERSION:
        raise BundleError(
            f"bundle format {meta['format_version']} is not supported by this version of "
            f"pytext-psych (which reads format {FORMAT_VERSION}); upgrade pytext-psych"
        )
    if not verify:
        return meta
    if _manifest_digest(meta) != meta["manifest_sha256"]:
        raise BundleError(f"{meta_path} was modified after the bundle was written; refusing it")
    present = set(_files(folder))
    expected = set(meta["files"])
    problems = [f"missing: {n}" for n in sorted(expected - present)]
    problems += [f"unexpected: {n}" for n in sorted(present - expected)]
    problems += [
        f"modified: {n}"
        for n in sorted(expected & present)
        if sha256_file(folder / n) != meta["files"][n]
    ]
    if problems:
        raise BundleError(
            f"model bundle '{folder}' failed verification ({'; '.join(problems)}); "
            "it was changed after it was written. Refit or restore the original bundle."
        )
    return meta
