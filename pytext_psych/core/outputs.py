"""Writing results without ever losing the user's files.

Every folder or file the package writes (model bundles, domain-pretrained models, score
files) goes through here, under four rules:

* **Reserve before working.** :func:`reserve` checks the location and takes a lock file
  next to it *before* any training or scoring starts, so a second writer to the same place
  is refused at once ("in use by process N on host H since T"), not after minutes of work.
  A lock left by a process that no longer runs (same host) is taken over, with a warning.
* **Stage, then publish with one rename.** Work happens in a hidden folder next to the
  target (``.<name>.pytext-psych-<pid>-<random>``, so same file system); publishing is a
  rename that cannot replace anything (``renameat2(RENAME_NOREPLACE)`` on Linux, else a
  check under the lock). A kill at any moment leaves either the old state or the new
  one under the final name, never a half-written one.
* **Only replace what the package wrote.** ``overwrite=True`` replaces an existing folder
  only if its marker file (``bundle.json``, ``domain_pretraining.json``) lists every file
  in it; a folder of user files, the working directory or any folder above it is refused.
* **Leave nothing behind.** The staging area holds every temporary file of the run
  (export scratch included), so a killed run's leftovers sit in one hidden folder that
  the next reservation of the same target removes (its lock proves no one else uses it).
  New files and folders get the permissions the user's umask gives (not 0600/0700).

No torch, no onnxruntime here.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import secrets
import shutil
import socket
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

PREFIX = ".pytext-psych"  # hidden work folders and lock files start with ".<name>" + this


def default_folder(prefix: str) -> Path:
    """A new ``<prefix>_<time>`` folder name in the working directory (suffixed if taken)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = Path.cwd() / f"{prefix}_{stamp}"
    k = 1
    while path.exists():
        k += 1
        path = Path.cwd() / f"{prefix}_{stamp}-{k}"
    return path


def _listed_files(folder: Path, marker: str) -> set[str] | None:
    """The files ``folder``'s marker says the package wrote (None: no readable marker)."""
    try:
        record = json.loads((folder / marker).read_text())
    except (OSError, ValueError):
        return None
    files = record.get("files") if isinstance(record, dict) else None
    return set(files) if isinstance(files, (dict, list)) else None


def not_ours(folder: Path, marker: str) -> str | None:
    """Why ``folder`` may not be replaced (None when the package wrote all of it)."""
    if folder.is_symlink() or not folder.is_dir():
        return "it is not a folder"
    listed = _listed_files(folder, marker)
    if listed is None:
        return f"it has no valid {marker}, so pytext-psych did not write it"
    foreign = []
    for root, dirs, files in os.walk(folder):
        for name in files + [d for d in dirs if Path(root, d).is_symlink()]:
            rel = Path(root, name).relative_to(folder).as_posix()
            if rel != marker and (rel not in listed or Path(root, name).is_symlink()):
                foreign.append(rel)
    if foreign:
        shown = ", ".join(sorted(foreign)[:5]) + (", ..." if len(foreign) > 5 else "")
        return f"it holds {len(foreign)} file(s) pytext-psych did not write ({shown})"
    return None


def check_target(target: Path, overwrite: bool, marker: str | None) -> None:
    """Refuse a target that exists (unless ``overwrite`` and the package wrote it all), or
    that is the working directory or above it."""
    cwd = Path.cwd().resolve()
    if target == cwd or target in cwd.parents:
        raise FileExistsError(f"'{target}' is the working directory or a folder above it; "
                              "choose a new output location")
    if not (target.exists() or target.is_symlink()):
        return
    if not overwrite:
        raise FileExistsError(f"'{target}' already exists; choose another output location or "
                              "pass overwrite=True (which only replaces what pytext-psych wrote)")
    why = "it is not a file" if marker is None and not target.is_file() else (
        not_ours(target, marker) if marker is not None else None)
    if why:
        raise FileExistsError(f"will not overwrite '{target}': {why}. overwrite=True only "
                              "replaces a bundle or model folder written by pytext-psych; "
                              "choose another output location")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _create_exclusive(path: Path, content: str) -> bool:
    """Create ``path`` with ``content`` unless it exists (atomic); mode follows the umask."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        fh.write(content)
    return True


def _stale(holder: dict) -> bool:
    return holder.get("host") == socket.gethostname() and not _pid_alive(int(holder.get("pid", -1)))


@contextmanager
def _lock(target: Path) -> Iterator[None]:
    """Hold ``.<name>.pytext-psych.lock`` next to ``target`` for the block."""
    lock = target.with_name(f".{target.name}{PREFIX}.lock")
    me = {"pid": os.getpid(), "host": socket.gethostname(),
          "since": datetime.now().isoformat(timespec="seconds")}
    for _ in range(2):
        try:
            if _create_exclusive(lock, json.dumps(me)):
                break
        except OSError as err:  # read-only or not ours: FileExistsError is handled above
            raise PermissionError(f"cannot write to '{target.parent}' ({err.strerror}); "
                                  "choose an output location you can write to") from None
        try:
            holder = json.loads(lock.read_text())
        except (OSError, ValueError):
            holder = {}
        if not _stale(holder):
            raise FileExistsError(
                f"'{target}' is in use by process {holder.get('pid', '?')} on "
                f"{holder.get('host', '?')} since {holder.get('since', '?')} (lock file {lock}); "
                "wait for it to finish or choose another output location (delete the lock "
                "file only if that process is gone)")
        warnings.warn(f"taking over the lock of '{target}' left by process {holder['pid']}, "
                      "which no longer runs", stacklevel=4)
        lock.unlink(missing_ok=True)
    else:
        raise FileExistsError(f"'{target}' is in use (lock file {lock})")
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _remove_leftovers(target: Path) -> None:
    """Work folders and temporary files a killed run left for ``target`` (we hold its lock,
    so nobody is using them)."""
    for path in target.parent.glob(f".{target.name}{PREFIX}-*"):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


_RENAME_NOREPLACE = 1


def _rename_noreplace(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst``; raise ``FileExistsError`` if ``dst`` exists, atomically
    where the system offers it (Linux ``renameat2``)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        renameat2 = None
    if renameat2 is not None:
        at_cwd = -100
        if renameat2(at_cwd, os.fsencode(src), at_cwd, os.fsencode(dst), _RENAME_NOREPLACE) == 0:
            return
        err = ctypes.get_errno()
        if err == errno.EEXIST:
            raise FileExistsError(f"'{dst}' appeared while this run was writing; "
                                  f"the new result is left in '{src}'")
        if err not in (errno.EINVAL, errno.ENOSYS):  # file system without the flag: fall back
            raise OSError(err, os.strerror(err), str(dst))
    if dst.exists() or dst.is_symlink():
        raise FileExistsError(f"'{dst}' appeared while this run was writing")
    os.rename(src, dst)


def make_dir(path: Path) -> Path:
    """``mkdir`` whose mode follows the umask (``tempfile.mkdtemp`` gives 0700)."""
    path.mkdir(mode=0o777)
    return path


@dataclass
class Reservation:
    """A locked output location; :meth:`staged` writes into it, :meth:`work` is scratch."""

    target: Path
    overwrite: bool
    marker: str | None
    area: Path  # the hidden work folder next to the target

    def work(self, name: str) -> Path:
        """A scratch folder inside the work area (removed with it)."""
        return make_dir(self.area / f"scratch-{name}-{secrets.token_hex(4)}")

    @contextmanager
    def staged(self, check: Callable[[Path], None] | None = None) -> Iterator[Path]:
        """Yield an empty folder; on clean exit (after ``check(folder)``) publish it as the
        target. A failure leaves the target as it was."""
        stage = make_dir(self.area / "result")
        yield stage
        if check is not None:
            check(stage)
        self.publish(stage)

    def publish(self, path: Path) -> None:
        """Move ``path`` (inside the work area) to the target, replacing an old target only
        if it may be (checked again now, under the lock)."""
        check_target(self.target, self.overwrite, self.marker)
        if self.target.exists():
            old = self.area / "replaced"
            os.rename(self.target, old)
            try:
                _rename_noreplace(path, self.target)
            except BaseException:
                os.rename(old, self.target)
                raise
        else:
            _rename_noreplace(path, self.target)


@contextmanager
def reserve(path: str | Path, *, overwrite: bool = False,
            marker: str | None = None) -> Iterator[Reservation]:
    """Check and lock an output location for the block (see the module docstring).

    ``marker``: for folders, the file whose ``files`` list proves the package wrote the
    folder (only such a folder is replaced with ``overwrite``); None for single files.
    """
    target = Path(path).expanduser().resolve()
    check_target(target, overwrite, marker)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise PermissionError(f"cannot create the folder '{target.parent}' for the output: "
                              f"{err.strerror}; choose another output location") from None
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write to '{target.parent}' (permission denied); "
                              "choose an output location you can write to")
    with _lock(target):
        _remove_leftovers(target)
        check_target(target, overwrite, marker)  # again, now that no one else can write it
        area = make_dir(target.with_name(
            f".{target.name}{PREFIX}-{os.getpid()}-{secrets.token_hex(4)}"))
        try:
            yield Reservation(target, overwrite, marker, area)
        finally:
            shutil.rmtree(area, ignore_errors=True)


def sha256_file(path: Path) -> str:
    """The file's sha256, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def current_umask() -> int:
    """The process's umask, read without changing it (Linux), else set and put back."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def follow_umask(paths: list[Path]) -> None:
    """Give files the package wrote the permissions a new file gets under the umask (some
    writers, such as safetensors, create theirs 0600)."""
    mode = 0o666 & ~current_umask()
    for path in paths:
        os.chmod(path, mode)
