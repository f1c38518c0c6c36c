"""Fine-tuning on several processes (DDP) with Hugging Face Accelerate.

Launch the script that calls :func:`~pytext_psych.fit_text_model` once per process, on
several GPUs or, with the gloo backend, several CPU processes::

    torchrun --nproc-per-node 2 fit.py                      # GPUs, or CPU processes (gloo)
    accelerate launch --multi_gpu --num_processes 2 fit.py  # GPUs

Every process reads and checks the data, splits it the same way (same seed) and trains
the same model in lockstep: each optimiser step's batch is shared out among the
processes and DDP averages their gradients, so the number of steps and the learning-rate
schedule are those of one process. Each epoch's dev predictions are made in parts and
gathered, so every process picks the same best epoch. The main process alone writes
checkpoints, exports, evaluates and writes the bundle (the same bundle as on one
process); the others wait for it and return the fit read from that bundle.

One code path: on one process :class:`Processes` passes everything through unchanged
(and Accelerate is not started).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np


def launched() -> bool:
    """Whether this process is one of several started by torchrun / accelerate launch."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def refuse_if_launched(where: str) -> None:
    if launched():
        raise ValueError(f"{where} runs on one process; under torchrun / accelerate launch only "
                         "fit_text_model trains on several (run this one with plain python)")


class Processes:
    """The processes one fine-tune runs on: under torchrun / accelerate launch, through an
    ``accelerate.Accelerator``; otherwise this one process, and Accelerate is not even
    created (it sets process-wide state, e.g. environment variables that an embedding R
    session would pass on to every program it starts)."""

    def __init__(self):
        import torch

        self.accelerator = _accelerator() if launched() else None
        self._device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self._wrapped: tuple[tuple, Any] = ((), None)

    @property
    def world(self) -> int:
        return self.accelerator.num_processes if self.accelerator else 1

    @property
    def rank(self) -> int:
        return self.accelerator.process_index if self.accelerator else 0

    @property
    def main(self) -> bool:
        return self.accelerator.is_main_process if self.accelerator else True

    @property
    def device(self):
        return self.accelerator.device if self.accelerator else self._device

    def wrap(self, net):
        """``net`` for the training forward pass: DDP-wrapped on several processes (again
        whenever the set of trained parameters changed), else ``net`` itself."""
        if self.world == 1:
            return net
        trainable = tuple(p.requires_grad for p in net.parameters())
        if self._wrapped[0] != trainable:
            self._wrapped = (trainable, self.accelerator.prepare_model(net))
        return self._wrapped[1]

    def share(self, rows: np.ndarray) -> tuple[np.ndarray, float]:
        """This process's part of a batch and its loss weight: a batch smaller than the
        number of processes leaves some without rows, which then run one row with weight
        0 (DDP needs every process in every step)."""
        mine = np.array_split(rows, self.world)[self.rank]
        return (mine, 1.0) if len(mine) else (rows[:1], 0.0)

    def part(self, rows: np.ndarray) -> np.ndarray:
        """This process's contiguous part of ``rows`` (for predictions to gather)."""
        return np.array_split(rows, self.world)[self.rank]

    def check_in_step(self, net) -> None:
        """Raise if the processes' weights differ after an epoch (a gradient that DDP did
        not average would let them drift apart silently)."""
        if self.world == 1:
            return
        from hashlib import sha256

        digest = sha256()
        for p in net.parameters():  # DDP's averaged gradients make the weights bit-identical
            digest.update(p.detach().cpu().numpy().tobytes())
        digests = self.gather(np.array([digest.hexdigest()]))
        if len(set(digests)) > 1:
            raise RuntimeError("the training processes have different weights after an epoch; "
                               "please report this with the strategy and settings used")

    def broadcast(self, value: Any = None) -> Any:
        """The main process's ``value``, on every process."""
        from accelerate.utils import broadcast_object_list

        return broadcast_object_list([value])[0]

    def wait(self) -> None:
        """Block until every process gets here."""
        self.accelerator.wait_for_everyone()

    def gather(self, outputs: np.ndarray) -> np.ndarray:
        """The parts' outputs, concatenated in process order (the order of ``rows``)."""
        if self.world == 1:
            return outputs
        from accelerate.utils import gather_object

        return np.concatenate(gather_object([outputs]))


def _accelerator():
    import torch
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs

    # find_unused_parameters=False, deliberately: every strategy freezes by
    # requires_grad=False, and DDP registers only the parameters that train when it wraps
    # the model, so every registered parameter gets a gradient each step (the search for
    # unused ones would cost a graph traversal per step). Gradual unfreezing changes which
    # parameters train each epoch: Processes.wrap wraps the model again then.
    return Accelerator(cpu=not torch.cuda.is_available(),
                       kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=False)])
