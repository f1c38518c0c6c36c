"""The epoch loop shared by fine-tuning (:mod:`pytext_psych.training.train`) and domain
pretraining (:mod:`pytext_psych.training.domain`): the optimiser, length-grouped batches, and
epochs that save their progress and resume from it (:mod:`pytext_psych.training.checkpoints`).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from ..core.settings import TrainSettings
from .checkpoints import Checkpoint, StopRequest, interrupted, random_state, restore_random_state, said_resuming
from .encoders import layer_depths
from .precision import autocast_for


def length_grouped(rows: np.ndarray, lengths: np.ndarray, batch_size: int,
                   rng: np.random.Generator, group: bool = True) -> list[np.ndarray]:
    """Shuffled batches of ``rows``; with ``group``, texts of similar length share a batch.

    Grouping sorts by length within shuffled windows of 50 batches, then shuffles the
    batch order (the scheme of transformers' ``group_by_length``): batches stay random,
    but per-batch padding wastes far fewer tokens.

    >>> rng = np.random.default_rng(0)
    >>> batches = length_grouped(np.arange(6), np.array([1, 9, 2, 8, 3, 7]), 2, rng)
    >>> sorted(sorted(b.tolist()) for b in batches)
    [[0, 2], [1, 3], [4, 5]]
    """
    rows = rng.permutation(rows)
    if group:
        window = 50 * batch_size
        rows = np.concatenate([
            chunk[np.argsort(-lengths[chunk], kind="stable")]
            for chunk in np.array_split(rows, range(window, len(rows), window))
        ]) if len(rows) else rows
    batches = [rows[i : i + batch_size] for i in range(0, len(rows), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))] if group else batches


class _Stop(Exception):
    """Ctrl-C was pressed: the epoch stopped after an optimiser step."""


def rate_scales(net, layer_decay: float) -> dict[str, float]:
    """Layer-wise learning-rate decay: each parameter below the head's factor on the rate,
    ``layer_decay ** (layers above it + 1)``; parameters not listed train at the full rate."""
    if layer_decay == 1:
        return {}
    top = net.config.num_hidden_layers + 1  # the head's depth
    return {name: layer_decay ** (top - depth) for name, depth in layer_depths(net).items()}


def linear_schedule(optimizer, warmup: int, total: int) -> torch.optim.lr_scheduler.LambdaLR:
    """The rate rises from 0 over ``warmup`` updates, then falls to 0 at ``total`` (BERT's
    schedule): transformers' ``get_linear_schedule_with_warmup``, factor for factor
    (``tests/test_epochs.py``), without importing ``transformers.optimization``, which
    imports peft: 2.5 s of every new process's first fit (AVX2-only AMD EPYC)."""

    def factor(step: int) -> float:
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class Optimiser:
    """AdamW (fused) with linear warmup and decay, gradient clipping at 1, gradient accumulation,
    and mixed precision as :func:`~pytext_psych.training.precision.autocast_for` chooses.
    With ``layer_decay`` below 1, each layer trains at that times the rate of the one above
    it (the head at the full rate, the embeddings lowest).

    One code path for CPU and GPU: the same autocast, the loss scaler only for fp16.
    Parameters without gradients (frozen) are skipped by AdamW, weight decay included.
    """

    def __init__(self, net, config: TrainSettings, batches_per_epoch: int, epochs: int, device):
        no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight", "ordinal_cuts")
        scale = rate_scales(net, config.layer_decay)
        groups: dict[tuple, dict] = {}
        for name, p in net.named_parameters():
            decay = 0.0 if name.endswith(no_decay) else config.weight_decay
            lr = config.learning_rate * scale.get(name, 1.0)
            groups.setdefault((decay, lr), {"params": [], "weight_decay": decay, "lr": lr})["params"].append(p)
        self.net, self.accumulate = net, config.grad_accumulation
        # fused: one kernel for all parameters, on CPU as on GPU. On MiniLM's 22.7M parameters
        # a step is about 5.8x faster than the CPU's default for-loop, a whole training step of 16
        # texts x 128 tokens 1.13x (benchmarks/results/optimiser.md)
        self.optimizer = torch.optim.AdamW(list(groups.values()), lr=config.learning_rate, fused=True)
        self.updates_per_epoch = -(-batches_per_epoch // self.accumulate)
        total = self.updates_per_epoch * epochs
        self.schedule = linear_schedule(self.optimizer, int(config.warmup_ratio * total), total)
        self.device_type, self.amp, self.dtype = device.type, *autocast_for(device, config.mixed_precision)
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.amp and self.dtype == torch.float16)

    def autocast(self):
        return torch.autocast(self.device_type, dtype=self.dtype, enabled=self.amp)

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "schedule": self.schedule.state_dict(),
                "scaler": self.scaler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        if state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])

    def epoch(self, batches: list, loss_of, bar, done: "Progress", stop: StopRequest,
              rating_time: Callable[[], float | None] = lambda: None,
              cost: Callable[[Any], float] = lambda batch: 1.0) -> float:
        """The optimiser steps of one pass over ``batches`` after the ``done.step`` already
        taken (their losses in ``done.losses``); ``loss_of(batch)`` is a batch's mean loss;
        for :class:`StepTimer`, ``rating_time()`` the seconds a dev rating will take and
        ``cost(batch)`` a batch's share of the work (its padded tokens).
        Returns the mean training loss; raises :class:`_Stop` after a step once Ctrl-C was
        pressed."""
        costs = [sum(map(cost, batches[s : s + self.accumulate])) for s in range(0, len(batches), self.accumulate)]
        timer = StepTimer(bar, costs, rating_time)
        for start in range(done.step * self.accumulate, len(batches), self.accumulate):
            group = batches[start : start + self.accumulate]
            for batch in group:
                with self.autocast():
                    loss = loss_of(np.asarray(batch))
                self.scaler.scale(loss / len(group)).backward()
                done.losses.append(loss.item())
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), 1.0)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.schedule.step()
            self.optimizer.zero_grad(set_to_none=True)
            done.step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(done.losses[-20:]):.3f}")
            timer.step()
            if stop.requested and done.step < self.updates_per_epoch:
                raise _Stop
        return float(np.mean(done.losses))


def duration(seconds: float) -> str:
    """``95`` -> ``"2 min"``; ``5400`` -> ``"1 h 30 min"``."""
    minutes = max(1, round(seconds / 60))
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


class StepTimer:
    """Says, once, how long the training loop will take on this machine, written above the
    progress bar (whose own estimate then follows the pace as it goes): the seconds per unit
    of work of the optimiser steps after the first (which pays one-off set-up costs) times
    the work left (``costs``: each step's work in this epoch, e.g. its padded tokens; later
    epochs hold the same texts, so the same work), and a dev rating after each epoch
    (``rating_time()``: its seconds, None without one)."""

    FIRST, TIMED = 1, 3  # the steps skipped, then the steps timed

    def __init__(self, bar, costs: Sequence[float], rating_time: Callable[[], float | None] = lambda: None) -> None:
        self.bar, self.seen, self.started = bar, 0, 0.0
        self.costs, self.rating_time = list(costs), rating_time
        self.fresh = bar.n == 0  # not resumed: the estimate is said at the start only

    def step(self) -> None:
        self.seen += 1
        if not self.fresh or self.bar.disable or self.seen > self.FIRST + self.TIMED:
            return
        if self.seen == self.FIRST:
            self.started = time.perf_counter()
        elif self.seen == self.FIRST + self.TIMED:
            timed = self.costs[self.FIRST : self.seen]
            per_work = (time.perf_counter() - self.started) / sum(timed)
            self.bar.write(self._said(per_work), file=getattr(self.bar, "fp", None))

    def _said(self, per_work: float) -> str:
        epoch, this_epoch = sum(self.costs), self.costs[self.seen :]
        later = (self.bar.total - self.bar.n - len(this_epoch)) // len(self.costs)  # whole epochs after this
        pace = per_work * epoch / len(self.costs)  # a mean step
        left, what = per_work * (sum(this_epoch) + later * epoch), f"all {self.bar.total} steps"
        rating = self.rating_time()
        if rating is not None:
            ratings = later + 1
            left += ratings * rating
            what += f" and {ratings} dev ratings of {rating:.2g} s" if rating < 10 else \
                f" and {ratings} dev ratings of {rating:.0f} s"
        return (f"{self.bar.desc}: {pace:.2g} s a step on this machine, about {duration(left)} more for "
                f"{what} (early stopping may end it sooner)")


@dataclass
class Progress:
    """Where a loop stands: the epoch being trained, the optimiser steps done in it (with
    its batches and losses so far), the history and the best epoch so far."""

    epoch: int = 1
    step: int = 0
    batches: list | None = None
    losses: list = field(default_factory=list)
    history: list = field(default_factory=list)
    best_score: float = -math.inf
    best_epoch: int = 0
    waited: int = 0
    finished: bool = False


@dataclass
class Epochs:
    """A resumable training loop: ``draw()`` gives a new epoch's batches, ``loss_of``
    a batch's loss, ``on_epoch(epoch)`` prepares an epoch (gradual unfreezing), and
    ``end_epoch(progress, record)`` completes the epoch's record (dev metric) and returns
    its score (higher is better; None: no selection, keep the last epoch); ``rating_time()``
    estimates the seconds that takes (None: no rating), ``cost(batch)`` a batch's share of
    the work (for the time said before training, :class:`StepTimer`)."""

    net: Any
    optimiser: Optimiser
    shuffler: np.random.Generator
    settings: TrainSettings
    draw: Callable[[], list]
    loss_of: Callable
    on_epoch: Callable[[int], None] = lambda epoch: None
    end_epoch: Callable[[dict], float | None] = lambda record: None
    rating_time: Callable[[], float | None] = lambda: None
    cost: Callable[[Any], float] = lambda batch: 1.0

    def run(self, checkpoint: Checkpoint | None, what: str, progress: bool) -> Progress:
        """Train, saving the whole state after every epoch but the last (and on Ctrl-C);
        continue from ``checkpoint`` when it holds this loop's progress. Leaves the best
        epoch's weights in ``net`` and saves them as the finished state (no optimiser):
        writing the whole state after the last epoch too, only to replace it at once, cost each
        MiniLM-L6 loop 364 MB written and 0.3 to 2 s on a 2-core AMD EPYC (9 s of a
        two-fit tutorial's 131 went to saving checkpoints)."""
        p, best = self._restore(checkpoint, what)
        steps = self.optimiser.updates_per_epoch
        if p.finished:
            return p
        with tqdm(total=steps * self.settings.epochs, initial=steps * (p.epoch - 1) + p.step,
                  disable=not progress, desc=what, unit="step") as bar, StopRequest() as stop:
            while self._continues(p):
                if stop.requested:  # Ctrl-C came while the dev split was scored
                    self._stop(checkpoint, p, best)
                best = self._epoch(p, best, bar, stop, checkpoint)
        if best is not None:
            self.net.load_state_dict(best)
        p.finished = True
        self._save(checkpoint, p, None)
        return p

    def _epoch(self, p: Progress, best, bar, stop: StopRequest, checkpoint: Checkpoint | None):
        started = time.perf_counter()
        self.on_epoch(p.epoch)
        if p.batches is None:
            p.batches = [b.tolist() for b in self.draw()]
        self.net.train()
        try:
            loss = self.optimiser.epoch(p.batches, self.loss_of, bar, p, stop, self.rating_time, self.cost)
        except _Stop:
            loss = None
        if loss is None:
            self._stop(checkpoint, p, best)
        record = {"epoch": p.epoch, "train_loss": loss}
        score = self.end_epoch(record)
        record["trainable"] = sum(q.numel() for q in self.net.parameters() if q.requires_grad)
        record["seconds"] = time.perf_counter() - started
        p.history.append(record)
        score = float(p.epoch) if score is None else score  # no selection: keep the last epoch
        if np.isfinite(score) and score > p.best_score:
            p.best_score, p.best_epoch, p.waited = score, p.epoch, 0
            best = {k: v.detach().clone() for k, v in self.net.state_dict().items()}
        else:
            p.waited += 1
        p.epoch, p.step, p.batches, p.losses = p.epoch + 1, 0, None, []
        if self._continues(p):  # else run() saves the finished state at once, in its place
            self._save(checkpoint, p, best)
        return best

    def _continues(self, p: Progress) -> bool:
        """Whether another epoch runs: epochs left and patience not spent."""
        return p.epoch <= self.settings.epochs and p.waited < self.settings.patience

    def _stop(self, checkpoint: Checkpoint | None, p: Progress, best) -> None:
        """Save and raise :class:`~pytext_psych.training.checkpoints.Interrupted` (Ctrl-C)."""
        if checkpoint is None:
            raise KeyboardInterrupt
        self._save(checkpoint, p, best)
        raise interrupted(checkpoint, p.epoch, p.step, self.optimiser.updates_per_epoch)

    def _save(self, checkpoint: Checkpoint | None, p: Progress, best) -> None:
        if checkpoint is None:
            return
        state = {"progress": asdict(p), "net": self.net.state_dict()}
        if not p.finished:
            state.update(best=best, optimiser=self.optimiser.state_dict(),
                         random=random_state(self.shuffler))
        checkpoint.save(state)

    def _restore(self, checkpoint: Checkpoint | None, what: str) -> tuple[Progress, Any]:
        saved = checkpoint.load() if checkpoint is not None else None
        if saved is None:
            return Progress(), None
        p = Progress(**saved["progress"])
        said_resuming(checkpoint, asdict(p), what)
        self.net.load_state_dict(saved["net"])
        if not p.finished:
            self.optimiser.load_state_dict(saved["optimiser"])
            restore_random_state(saved["random"], self.shuffler)
        return p, saved.get("best")
