"""The model bundle: the one contract between training and scoring.

A bundle is a folder with fixed file names. ``bundle.json`` holds everything scoring needs
(task, labels, target scaling, max_length, input names) plus provenance (base model,
training settings, metrics, package versions) and the sha256 of every other file. It is
written atomically (:mod:`pytext_psych.core.outputs`), holds no pickles, code or symbolic
links, and is verified on load: a changed, missing or unexpected file is refused, and
every path bundle.json names must be a plain relative path in its verified list. What the
checksums can and cannot prove is said in :func:`bundle_digest`.

Only json and hashlib here: no torch, no transformers, no onnxruntime.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path, PurePosixPath
from typing import Any

from ..core.description import FORMAT_VERSION, READABLE_FORMATS, Description
from ..core.outputs import default_folder, reserve, sha256_file

BUNDLE_JSON = "bundle.json"
ONNX_FILES = {"fp32": "model.onnx", "int8": "model_int8.onnx", "fp16": "model_fp16.onnx"}
TOKENIZER_JSON = "tokenizer.json"
_FORBIDDEN_SUFFIXES = (".pkl", ".pickle", ".bin", ".pt", ".pth", ".joblib", ".py")
_REQUIRED_KEYS = {
    "format_version": int,
    "task": str,
    "text": str,
    "max_length": int,
    "num_outputs": int,
    "files": dict,
    "onnx": dict,
    "manifest_sha256": str,
}


class BundleError(ValueError):
    """A model bundle is missing, corrupt, tampered with, or of an unknown format."""


def _manifest_digest(meta: dict[str, Any]) -> str:
    """sha256 of bundle.json's own content (without this field), to catch edits to it."""
    body = {k: v for k, v in meta.items() if k != "manifest_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _files(folder: Path) -> list[str]:
    """Every file under ``folder`` but bundle.json, as relative POSIX paths; a symbolic
    link anywhere (which could point outside the bundle) is refused."""
    found = []
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            if Path(root, name).is_symlink():
                raise BundleError(f"model bundle '{folder}' contains a symbolic link "
                                  f"({Path(root, name).relative_to(folder)}); refusing it")
        found += [Path(root, f).relative_to(folder).as_posix() for f in files]
    return sorted(f for f in found if f != BUNDLE_JSON)


def _safe_name(name: Any) -> bool:
    """A plain relative path that stays inside the bundle (no '..', no absolute path)."""
    if not isinstance(name, str) or not name or "\\" in name or "\0" in name:
        return False
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and path.parts[0] != "~"


def _check_names(meta: dict[str, Any], meta_path: Path) -> None:
    """Every path bundle.json names is a plain relative path, and every file scoring opens
    is in the verified list."""
    files = meta["files"]
    bad = [n for n in files if not _safe_name(n)]
    onnx = meta["onnx"].get("files")
    if not isinstance(onnx, dict) or not onnx:
        raise BundleError(f"{meta_path} is corrupt: 'onnx.files' is missing or empty")
    bad += [f"onnx.files.{k} = {v!r}" for k, v in onnx.items()
            if k not in ONNX_FILES or v not in files or not _safe_name(v)]
    if TOKENIZER_JSON not in files:
        bad.append(f"{TOKENIZER_JSON} (not in the verified files)")
    if bad:
        raise BundleError(f"{meta_path} names files outside the bundle or outside its verified "
                          f"list ({'; '.join(map(str, bad))}); refusing it")


def reserve_bundle(path: str | Path | None, overwrite: bool = False):
    """:func:`pytext_psych.core.outputs.reserve` for a model bundle (default: a new
    ``pytext_psych_model_<time>`` folder in the working directory)."""
    return reserve(path if path is not None else default_folder("pytext_psych_model"),
                   overwrite=overwrite, marker=BUNDLE_JSON)


def check_sealed(stage: Path) -> None:
    """Refuse to publish a staged bundle that was never sealed."""
    if not (stage / BUNDLE_JSON).is_file():
        raise BundleError("internal error: bundle was not sealed before it was published")


def seal(stage: Path, description: Description) -> Description:
    """Record the sha256 of every file in ``stage`` and write ``bundle.json``."""
    for name in _files(stage):
        if name.endswith(_FORBIDDEN_SUFFIXES):
            raise BundleError(f"refusing to put '{name}' in a bundle: no pickles or code")
    meta = description.but(format_version=FORMAT_VERSION, manifest_sha256=None,
                           files={name: sha256_file(stage / name) for name in _files(stage)}).to_json()
    meta["manifest_sha256"] = _manifest_digest(meta)
    (stage / BUNDLE_JSON).write_text(json.dumps(meta, indent=2, sort_keys=True))
    return Description.from_json(meta)


def read_bundle(path: str | Path, *, verify: bool = True) -> Description:
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
    if meta_path.is_symlink():
        raise BundleError(f"{meta_path} is a symbolic link; refusing it")
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BundleError(f"{meta_path} is corrupt: {err}") from None
    if not isinstance(meta, dict):
        raise BundleError(f"{meta_path} is corrupt: expected a JSON object")
    for key, kind in _REQUIRED_KEYS.items():
        if not isinstance(meta.get(key), kind):
            raise BundleError(f"{meta_path} is corrupt: '{key}' is missing or not a {kind.__name__}")
    if meta["format_version"] not in READABLE_FORMATS:
        raise BundleError(
            f"bundle format {meta['format_version']} is not supported by this version of "
            f"pytext-psych (which reads formats {', '.join(map(str, READABLE_FORMATS))}); upgrade pytext-psych"
        )
    _check_names(meta, meta_path)
    if not verify:
        return _described(meta, meta_path)
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
    return _described(meta, meta_path)


def _described(meta: dict[str, Any], meta_path: Path) -> Description:
    try:
        return Description.from_json(meta)
    except (KeyError, TypeError, ValueError) as err:
        raise BundleError(f"{meta_path} is corrupt: its scoring contract cannot be read ({err!r})") from None


def bundle_digest(path: str | Path) -> str:
    """One sha256 for the whole bundle: of bundle.json, which holds the sha256 of every
    other file. Publish it with a paper; ``load_model(path, digest=...)`` and
    ``pytext-psych info --digest`` check a copy against it.

    What the checks protect against: the per-file checksums catch accidents (a truncated
    copy, a changed or stray file, an edited bundle.json). They are not a signature:
    whoever can write the folder can recompute them. Only a digest kept apart from the
    bundle (in the paper, the lab notebook, a release page) shows that a bundle is the
    one its authors made.
    """
    return sha256_file(Path(path) / BUNDLE_JSON)
