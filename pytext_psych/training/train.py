"""Fine-tuning a pretrained encoder with a fresh classification / regression head.

A plain, readable loop: AdamW with linear warmup and decay, length-grouped batches with
padding per batch, gradient accumulation, mixed precision on a GPU, evaluation on the dev
split after every epoch, the best epoch's weights kept (early stopping with patience).
Strategies from the field (full, freeze, gradual unfreezing, LoRA) only change which
parameters train (domain-adaptive pretraining is in :mod:`pytext_psych.training.domain`).
All randomness (head initialisation, dropout, shuffling) comes from ``seed`` inside a
forked RNG, so a fit is reproducible and the caller's global torch
RNG is left as it was.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Sequence

import numpy as np
import torch
from transformers import DataCollatorWithPadding

from ..core.settings import TrainSettings
from ..core.windows import pooled
from .checkpoints import Checkpoint
from .contrastive import draw_pairs, pair_loss, partners, similarity
from .encoders import encoder_layers, load_base
from .epochs import Epochs, Optimiser, length_grouped
from .frozen import FrozenOutputs, can_cache, top_only
from .nets import TokenCache, on_device, predict_torch, seeded, using_all_cores
from . import precision
from .parallel import Processes
from .probe import final_linear, warm_start

Scorer = Callable[[np.ndarray, np.ndarray], float]  # (outputs, targets) -> higher is better

@dataclass
class TrainResult:
    history: list[dict[str, Any]]  # per epoch: epoch, train_loss, dev_metric, seconds, ...
    best_epoch: int  # whose weights the returned model holds
    cuts: list[float] | None = None  # ordinal cumulative-link head: its ordered cut points


def layer_groups(net) -> list[list[torch.nn.Parameter]]:
    """Parameters grouped top-down for freezing: head (classifier and pooler), each encoder
    layer from the top, then the embeddings."""
    layers = encoder_layers(net)
    embeddings = getattr(net.base_model, "embeddings", None) or net.get_input_embeddings()
    body = {id(p) for m in [*layers, embeddings] for p in m.parameters()}
    head = [p for p in net.parameters() if id(p) not in body]
    return [head, *[list(m.parameters()) for m in reversed(layers)], list(embeddings.parameters())]


def _trainable(groups: list[list], count: int) -> None:
    """Train the top ``count`` groups, freeze the rest."""
    for i, params in enumerate(groups):
        for p in params:
            p.requires_grad_(i < count)


def apply_strategy(net, config: TrainSettings):
    """Prepare ``net`` for ``config.strategy``; returns the model to train and a hook
    ``on_epoch(epoch)`` (gradual unfreezing opens one more group per epoch).

    full: everything trains. freeze: embeddings and the lowest ``freeze_layers`` encoder
    layers are frozen ("all": only the head trains); they run once, their outputs stored
    (:mod:`pytext_psych.training.frozen`). gradual: epoch 1 trains the head, each
    later epoch also the next encoder layer down, the embeddings last (ULMFiT). lora: peft
    low-rank adapters on the attention projections; head and pooler train in full.
    contrastive: everything but the head's output layer trains, on pairs of texts
    (:mod:`pytext_psych.training.contrastive`); the output layer is refitted as a linear model
    after every epoch.
    """
    if config.strategy == "lora":
        from peft import LoraConfig, TaskType, get_peft_model

        pooler = ["pooler"] if getattr(net.base_model, "pooler", None) is not None else []
        lora = LoraConfig(task_type=TaskType.SEQ_CLS, r=config.lora_r, lora_alpha=config.lora_alpha,
                          lora_dropout=0.1, modules_to_save=pooler or None)
        with warnings.catch_warnings():  # a transformers deprecation raised inside peft
            warnings.simplefilter("ignore", FutureWarning)
            return get_peft_model(net, lora), lambda epoch: None
    if config.strategy == "contrastive":
        final_linear(net).requires_grad_(False)
    if config.strategy in ("full", "contrastive"):
        return net, lambda epoch: None
    groups = layer_groups(net)
    n_layers = len(groups) - 2
    if config.strategy == "freeze":
        frozen = n_layers if config.freeze_layers == "all" else config.freeze_layers
        if frozen > n_layers:
            raise ValueError(f"freeze_layers={frozen}, but the model has only {n_layers} layers")
        _trainable(groups, 1 + n_layers - frozen)
        return net, lambda epoch: None
    return net, lambda epoch: _trainable(groups, epoch)  # gradual


def corn_loss(logits, y):
    """CORN (see :mod:`pytext_psych.stats.ordinal`): output k is trained, on the texts rated
    above level k - 1 only, to say whether the rating is above level k."""
    k = torch.arange(logits.shape[1], device=logits.device)
    subset = (y[:, None] >= k).float()
    above = (y[:, None] > k).float()
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), above, reduction="none")
    return (loss * subset).sum() / subset.sum().clamp(min=1)


def ordered_cuts(raw):
    """The cumulative-link head's cut points from their free parameters: the first, then
    positive gaps (softplus), so they stay in order."""
    gaps = torch.nn.functional.softplus(raw[1:])
    return torch.cat([raw[:1], raw[:1] + torch.cumsum(gaps, 0)])


def add_cut_points(net, y_train: np.ndarray, levels: int):
    """Register the K - 1 cut points on ``net`` (so they train, checkpoint and synchronise
    under DDP like any weight), starting where a score of 0 reproduces the training
    levels' shares: cut_k = logit(P(y <= k))."""
    shares = np.bincount(y_train.astype(np.int64), minlength=levels)[:-1].cumsum() / len(y_train)
    cuts = np.log(np.clip(shares, 1e-3, 1 - 1e-3) / (1 - np.clip(shares, 1e-3, 1 - 1e-3)))
    gaps = np.maximum(np.diff(cuts), 1e-3)
    raw = np.concatenate([cuts[:1], np.log(np.expm1(gaps))])  # inverse softplus
    net.ordinal_cuts = torch.nn.Parameter(torch.as_tensor(raw, dtype=torch.float32))
    return net.ordinal_cuts


def clm_loss(raw):
    """Negative log-likelihood of the cumulative-link (ordinal logistic) model,
    P(y <= k) = sigmoid(cut_k - s), with s the network's one output."""
    def loss(logits, y):
        s = logits[:, 0].float()
        below = torch.sigmoid(ordered_cuts(raw)[None, :] - s[:, None])
        edges = torch.nn.functional.pad(below, (1, 0), value=0.0)
        edges = torch.nn.functional.pad(edges, (0, 1), value=1.0)
        rows = torch.arange(len(y), device=y.device)
        return -torch.log((edges[rows, y + 1] - edges[rows, y]).clamp_min(1e-9)).mean()
    return loss


def _loss_function(task: str, weights: list[np.ndarray] | None, device, sizes: Sequence[int] | None):
    """The loss of one outcome; several (``sizes``: each class outcome's block of logits, or
    the ratings' columns): the mean of the outcomes' cross-entropies, or the mean squared
    error over all ratings. One outcome is one block of all the logits."""
    if task == "regression":
        return lambda logits, y: torch.nn.functional.mse_loss(logits.squeeze(-1).float(), y)
    if task == "ordinal":
        return corn_loss
    w = [None if v is None else torch.as_tensor(v, dtype=torch.float32, device=device) for v in weights or []]

    def cross_entropy(logits, y):
        widths = sizes or [logits.shape[1]]
        columns = y if y.ndim == 2 else y[:, None]
        ends = np.cumsum(widths)
        return sum(torch.nn.functional.cross_entropy(logits[:, e - k:e].float(), columns[:, j],
                                                     weight=w[j] if w else None)
                   for j, (k, e) in enumerate(zip(widths, ends))) / len(widths)
    return cross_entropy


def class_weights(y: np.ndarray, num_classes: int) -> np.ndarray:
    """"Balanced" weights n / (k * n_class), as scikit-learn's ``class_weight="balanced"``.

    >>> class_weights(np.array([0, 0, 0, 1]), 2).tolist()
    [0.6666666666666666, 2.0]
    """
    counts = np.bincount(y, minlength=num_classes).astype(float)
    return np.where(counts > 0, len(y) / (num_classes * np.maximum(counts, 1)), 0.0)


def _weights(y: np.ndarray, sizes: Sequence[int]) -> list[np.ndarray]:
    """Balanced class weights of each outcome (columns of ``y`` when there are several)."""
    return [class_weights(y if y.ndim == 1 else y[:, j], k) for j, k in enumerate(sizes)]


def _per_text(dev_score: Scorer, owner: np.ndarray, split: np.ndarray, targets: np.ndarray) -> Callable:
    """An epoch's dev metric from its dev windows' outputs: each dev text's windows
    averaged (:func:`~pytext_psych.core.windows.pooled`), then rated against its target."""
    windows_of = owner[split[owner] == "dev"]
    dev_targets = targets[split == "dev"]
    return lambda outputs: dev_score(pooled(outputs, windows_of), dev_targets)


def fine_tune(
    texts: Sequence[str],
    targets: np.ndarray,
    split: np.ndarray,
    task: str,
    labels: Sequence[str] | None,
    settings: TrainSettings,
    dev_score: Scorer,
    *,
    tokens: "TokenCache | None" = None,
    progress: bool = True,
    checkpoint: Checkpoint | None = None,
    sizes: Sequence[int] | None = None,
) -> tuple[Any, Any, TrainResult]:
    """Fine-tune ``settings.model`` on the train rows, selecting the epoch by the dev rows.

    ``targets`` are class codes (classification) or standardised scores (regression);
    ``dev_score(outputs, targets)`` rates an epoch on the dev rows (higher is better).
    ``tokens`` reuses tokenised texts across the calls of one fit or learning curve;
    ``checkpoint``: where progress is saved every epoch and resumed from (see
    :mod:`pytext_psych.training.checkpoints`); ``sizes``: several outcomes (``targets`` n x outcomes),
    each one's number of outputs (see :mod:`pytext_psych.data.outcomes`).
    Returns the tokenizer, the model (best epoch; LoRA merged into the weights, so it
    exports like any other) and the training history.
    """
    processes = Processes()  # one, or several under torchrun / accelerate launch (DDP)
    device = processes.device
    with seeded(settings.seed), using_all_cores():
        head = settings.ordinal_head if task == "ordinal" else None
        tokenizer, net = load_base(settings.model, task, labels, head, sum(sizes) if sizes else None,
                                   settings.pooling)
        encoded, owner = (tokens or TokenCache()).windows(tokenizer, texts, settings.max_length,
                                                          settings.window_stride)
        per_text = _per_text(dev_score, owner, split, targets)
        targets, split = targets[owner], split[owner]  # a row per window from here on
        train_rows, dev_rows = np.flatnonzero(split == "train"), np.flatnonzero(split == "dev")
        cuts = add_cut_points(net, targets[train_rows], len(labels)) if head == "clm" else None
        net.to(device)
        collate = on_device(DataCollatorWithPadding(tokenizer, return_tensors="pt"), device)
        contrastive = settings.strategy == "contrastive"
        widths = sizes or [len(labels or [0])]  # each outcome's block of outputs
        if settings.linear_probe and task != "ordinal" and not contrastive:
            warm_start(net, encoded, collate, targets, split, task, widths,
                       partial(precision.autocast, device, settings.mixed_precision))
        net, on_epoch = apply_strategy(net, settings)
        if cuts is not None:
            cuts.requires_grad_(True)  # LoRA freezes everything it does not adapt
        y = torch.as_tensor(targets.astype(np.float32 if task == "regression" else np.int64))
        weights = (_weights(targets[train_rows].astype(np.int64), sizes or [len(labels)])
                   if settings.class_weights and task == "classification" else None)
        loss = clm_loss(cuts) if cuts is not None else _loss_function(task, weights, device, sizes)
        loop = _make_loop(net, settings, (encoded, collate, loss, y, processes),
                          (targets, split, task, widths))
        history, best_epoch = loop.run(train_rows, dev_rows, settings, on_epoch, per_text, progress, checkpoint)
        if settings.strategy == "lora":
            net = loop.net.merge_and_unload()
        cut_points = None if cuts is None else ordered_cuts(cuts).detach().cpu().tolist()
        if cuts is not None:  # the cut points go to bundle.json; the network exports as usual
            del net.ordinal_cuts
        for p in net.parameters():
            p.requires_grad_(True)
        net.to("cpu").eval()
    return tokenizer, net, TrainResult(history, best_epoch or len(history), cut_points)


def _make_loop(net, settings: TrainSettings, parts: tuple, outcome: tuple) -> "_Loop":
    """The loop for ``settings.strategy``: pairs (contrastive), the top layers from the
    frozen layers' stored outputs (freeze, where the model's parts allow), or plain."""
    if settings.strategy == "contrastive":
        return _PairLoop(net, *parts, outcome)
    if settings.strategy == "freeze" and can_cache(net):
        layers = net.config.num_hidden_layers
        frozen = layers if settings.freeze_layers == "all" else settings.freeze_layers
        # with every layer frozen the top one still runs (the pooling reads its output)
        rows = np.flatnonzero(np.isin(outcome[1], ("train", "dev")))
        return _TopLoop(net, *parts, min(frozen, layers - 1), rows)
    return _Loop(net, *parts)


class _Loop:
    """The epochs of one fine-tune: train, rate on dev, keep the best weights, stop early."""

    def __init__(self, net, encoded: list[dict], collate, loss_fn, y, processes: Processes):
        self.net, self.encoded, self.collate, self.loss_fn, self.y = net, encoded, collate, loss_fn, y
        self.processes, self.device = processes, processes.device
        self.lengths = np.array([len(e["input_ids"]) for e in encoded])

    def loss_of(self, rows: np.ndarray):
        """The mean loss of this process's part of the batch ``rows``."""
        mine, weight = self.processes.share(rows)
        batch = self.collate([self.encoded[i] for i in mine])
        logits = self.processes.wrap(self.net)(**batch).logits
        return self.loss_fn(logits, self.y[mine].to(self.device)) * weight

    def batches_per_epoch(self, n_train: int, batch_size: int) -> int:
        return -(-n_train // batch_size)

    def draw(self, train_rows: np.ndarray, settings: TrainSettings, shuffler) -> list[np.ndarray]:
        return length_grouped(train_rows, self.lengths, settings.batch_size, shuffler, settings.group_by_length)

    def before_rating(self, autocast) -> None:
        """Complete the model after an epoch's training steps, under the training's
        ``autocast()`` (nothing to do here)."""

    def outputs(self, rows: np.ndarray, autocast) -> np.ndarray:
        """The model's raw outputs for ``rows`` (the dev rows, after an epoch) under the
        training's ``autocast()``."""
        return predict_torch(self.net, [self.encoded[i] for i in rows], self.collate, autocast=autocast)

    def rating_time(self, rows: np.ndarray, autocast, probe: int = 32) -> float | None:
        """The seconds rating ``rows`` will take (None without rows): ``probe`` of them, spread
        over the lengths, rated in batches of 8 of like length and timed, scaled by tokens.
        Leaves the model training (the estimate is made between two training steps)."""
        if not len(rows):
            return None
        by_length = rows[np.argsort(self.lengths[rows], kind="stable")]
        sample = by_length[np.linspace(0, len(rows) - 1, min(probe, len(rows))).astype(int)]
        chunks = np.array_split(sample, -(-len(sample) // 8))
        started = time.perf_counter()
        for chunk in chunks:
            self.outputs(chunk, autocast)
        seconds = time.perf_counter() - started
        self.net.train()
        return seconds * self.lengths[rows].sum() / sum(len(c) * self.lengths[c].max() for c in chunks)

    def run(self, train_rows, dev_rows, settings: TrainSettings, on_epoch, rate, progress: bool,
            checkpoint: Checkpoint | None):
        optimiser = Optimiser(self.net, settings, self.batches_per_epoch(len(train_rows), settings.batch_size),
                              settings.epochs, self.device)
        shuffler = np.random.default_rng(settings.seed)

        def end_epoch(record: dict) -> float | None:
            self.processes.check_in_step(self.net)
            self.before_rating(optimiser.autocast)
            if not len(dev_rows):
                return None
            outputs = self.outputs(self.processes.part(dev_rows), optimiser.autocast)
            record["dev_metric"] = rate(self.processes.gather(outputs))
            return record["dev_metric"]

        epochs = Epochs(self.net, optimiser, shuffler, settings,
                        lambda: self.draw(train_rows, settings, shuffler), self.loss_of, on_epoch, end_epoch,
                        lambda: self.rating_time(self.processes.part(dev_rows), optimiser.autocast),
                        lambda batch: np.size(batch) * self.lengths[np.asarray(batch)].max())  # padded tokens
        done = epochs.run(checkpoint, "fine-tuning", progress)
        return done.history, done.best_epoch


class _TopLoop(_Loop):
    """strategy="freeze": the top layers train, and rate the dev rows, from the frozen
    layers' outputs, computed once (:mod:`pytext_psych.training.frozen`)."""

    def __init__(self, net, encoded, collate, loss_fn, y, processes: Processes, frozen: int, rows: np.ndarray):
        super().__init__(net, encoded, collate, loss_fn, y, processes)
        self.frozen, self.stored = frozen, FrozenOutputs(net, encoded, collate, frozen, rows)

    def loss_of(self, rows: np.ndarray):
        mine, weight = self.processes.share(rows)
        with top_only(self.net, self.frozen):
            logits = self.processes.wrap(self.net)(**self.stored.batch(mine)).logits
        return self.loss_fn(logits, self.y[mine].to(self.device)) * weight

    def outputs(self, rows: np.ndarray, autocast) -> np.ndarray:
        self.net.eval()
        with torch.inference_mode(), top_only(self.net, self.frozen), autocast():
            return np.concatenate([self.net(**self.stored.batch(rows[i : i + 64])).logits.float().cpu().numpy()
                                   for i in range(0, len(rows), 64)] or [np.empty((0, self.net.config.num_labels))])


class _PairLoop(_Loop):
    """Contrastive epochs (:mod:`pytext_psych.training.contrastive`): batches of text pairs, each
    pair's loss from the embeddings the head's output layer reads, and that layer refitted
    as a linear model on the tuned embeddings before the dev rows are rated."""

    def __init__(self, net, encoded, collate, loss_fn, y, processes: Processes, outcome: tuple):
        super().__init__(net, encoded, collate, loss_fn, y, processes)
        self.targets, self.split, self.task, self.sizes = outcome
        train = self.targets[self.split == "train"]
        self.span = np.ptp(train.reshape(len(train), -1), axis=0) if len(train) else np.ones(1)

    def batches_per_epoch(self, n_train: int, batch_size: int) -> int:
        return -(-n_train * partners(n_train) // batch_size)

    def draw(self, train_rows: np.ndarray, settings: TrainSettings, shuffler) -> list[np.ndarray]:
        pairs = draw_pairs(train_rows, self.targets, self.task, shuffler)
        return [pairs[i : i + settings.batch_size] for i in range(0, len(pairs), settings.batch_size)]

    def loss_of(self, rows: np.ndarray):
        mine, weight = self.processes.share(rows)
        seen: list = []
        handle = final_linear(self.net).register_forward_pre_hook(lambda m, args: seen.append(args[0]))
        try:
            self.processes.wrap(self.net)(**self.collate([self.encoded[i] for i in mine.ravel()]))
        finally:
            handle.remove()
        alike = similarity(self.targets[mine[:, 0]], self.targets[mine[:, 1]], self.task, self.span)
        return pair_loss(seen[0], torch.as_tensor(alike, device=self.device)) * weight

    def before_rating(self, autocast) -> None:
        warm_start(self.net, self.encoded, self.collate, self.targets, self.split, self.task, self.sizes, autocast)
