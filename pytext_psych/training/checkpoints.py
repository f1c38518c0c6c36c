"""Saved progress of the long training loops, so that a crash, a kill or Ctrl-C does not
cost the work done.

Every training loop (each fine-tune of a fit, a cross-validation fold, a tuning trial, a
learning-curve run; domain pretraining) saves its whole state at the end of every epoch:
weights, optimiser, schedule, every random number generator, history, the best epoch so
far (after the last epoch, only the finished loop's weights and history). The file sits in
one hidden folder next to the output (``.<name>.pytext-psych.resume``) and is named by a
hash of the loop's data and settings, so a checkpoint is never picked up for other data or
settings. The same call after a kill continues from the last finished epoch (or the step
where Ctrl-C stopped it) and ends with the same numbers as a run that was never
interrupted; the folder is removed once the output is written.

Ctrl-C stops at the next optimiser step, saves, and says how to resume; a second Ctrl-C
stops at once. Files are written with :func:`torch.save` and read back with
``weights_only=True`` (tensors, numbers, strings and containers only: no code is run).
torch is imported only inside the functions that save or load.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..core.version import VERSION

RESUME = ".pytext-psych.resume"  # not "-*": outputs.reserve removes those as leftovers
FORMAT = 1


def data_key(*parts: Any) -> str:
    """A hash of a loop's inputs (texts, targets, split, settings ...): its checkpoint name."""
    digest = hashlib.sha256(f"pytext-psych {VERSION} checkpoint {FORMAT}".encode())
    for part in parts:
        if isinstance(part, np.ndarray) and part.dtype == object:  # bytes would be pointers
            part = [str(p) for p in part]
        if isinstance(part, np.ndarray):
            digest.update(f"{part.dtype}{part.shape}".encode() + np.ascontiguousarray(part).tobytes())
        elif isinstance(part, (list, tuple)) and all(isinstance(p, str) for p in part):
            digest.update("\0".join(part).encode("utf-8", "surrogatepass") + b"\1")
        else:
            digest.update(json.dumps(part, sort_keys=True, default=str).encode())
        digest.update(b"\2")
    return digest.hexdigest()[:32]


class Checkpoints:
    """The checkpoint folder of one output (``target``); ``resume=False`` empties it.
    ``write=False``: read only (the processes of a DDP fit other than the main one)."""

    def __init__(self, target: Path, resume: bool = True, write: bool = True):
        self.folder = target.with_name(f".{target.name}{RESUME}")
        self.resume, self.write = resume, write
        if not resume and write:
            self.discard()

    def slot(self, kind: str, *parts: Any) -> "Checkpoint":
        """Where the loop ``kind`` with these inputs saves its progress."""
        return Checkpoint(self.folder / f"{kind}-{data_key(kind, *parts)}.pt", self.write,
                          self.resume)

    def discard(self) -> None:
        """Remove the checkpoints (only the files this module writes, then the folder)."""
        if self.folder.is_dir() and not self.folder.is_symlink():
            for path in self.folder.glob("*.pt*"):
                path.unlink(missing_ok=True)
            try:
                self.folder.rmdir()
            except OSError:  # someone put another file there: leave it
                pass


class Checkpoint:
    """One loop's saved state: ``load()`` (None when there is none) and ``save(state)``."""

    def __init__(self, path: Path, write: bool = True, resume: bool = True):
        self.path, self.write, self.resume = path, write, resume

    def load(self) -> dict[str, Any] | None:
        import torch

        if not self.resume or not self.path.is_file():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as err:  # a torn or foreign file: start this loop over
            print(f"Ignoring an unreadable checkpoint {self.path} ({err}); starting over",
                  file=sys.stderr)
            return None
        return state if isinstance(state, dict) and state.get("format") == FORMAT else None

    def save(self, state: dict[str, Any]) -> None:
        """Write atomically: a kill while saving leaves the previous checkpoint."""
        import torch

        if not self.write:
            return
        self.path.parent.mkdir(exist_ok=True)
        partial = self.path.with_name(self.path.name + f".{os.getpid()}.partial")
        torch.save(dict(state, format=FORMAT), partial)
        os.replace(partial, self.path)


def random_state(shuffler: np.random.Generator) -> dict[str, Any]:
    """Every generator a loop draws from: torch's (dropout, masking, on CPU and GPU) and
    the batch shuffler's."""
    import torch

    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": json.dumps(shuffler.bit_generator.state)}


def restore_random_state(state: dict[str, Any], shuffler: np.random.Generator) -> None:
    import torch

    torch.set_rng_state(state["torch"])
    if state["cuda"]:
        torch.cuda.set_rng_state_all(state["cuda"])
    shuffler.bit_generator.state = json.loads(state["numpy"])


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped training after progress was saved; the message says how to resume."""


class StopRequest:
    """Turns the first Ctrl-C into a request to stop at the next step boundary (a second
    Ctrl-C interrupts at once). Only where Python itself handles Ctrl-C (its main thread,
    with Python's default handler): embedded in R through reticulate, R owns SIGINT and
    is left alone. The previous handler is restored on exit."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> "StopRequest":
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nStopping after this step and saving progress (Ctrl-C again to stop at once)",
              file=sys.stderr, flush=True)


def interrupted(checkpoint: Checkpoint, epoch: int, step: int, steps: int) -> Interrupted:
    """The exception to raise once progress is saved, saying where and how to resume."""
    message = (f"Interrupted in epoch {epoch} after step {step} of {steps}; progress is saved in "
               f"{checkpoint.path.parent}. Run the same call again to resume from there "
               "(resume=False starts over).")
    print(message, file=sys.stderr, flush=True)
    return Interrupted(message)


def said_resuming(checkpoint: Checkpoint, state: dict[str, Any], what: str) -> None:
    where = "finished" if state.get("finished") else f"epoch {state['epoch']}, step {state['step']}"
    print(f"Resuming {what} from its checkpoint ({where}; resume=False starts over)",
          file=sys.stderr, flush=True)
