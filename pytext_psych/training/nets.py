"""Helpers for a torch network that several training modules share: its raw outputs in
input order, saving it, tokenising once per fit, using the cores allotted, seeding its
randomness without touching the caller's, and naming the GPU."""

from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from transformers import DataCollatorWithPadding

from ..core.outputs import follow_umask
from ..core.windows import pooled, windows
from .encoders import quiet_transformers


def predict_torch(net, encoded: list[dict], collate, batch_size: int = 64, autocast=nullcontext) -> np.ndarray:
    """Raw outputs of a transformers model, in input order (length-sorted batches); under
    ``autocast()`` (the training's, for dev ratings; none, fp32, for the export's reference)."""
    net.eval()
    order = np.argsort([-len(e["input_ids"]) for e in encoded], kind="stable")
    out = np.empty((len(encoded), net.config.num_labels), dtype=np.float32)
    with torch.inference_mode(), autocast():
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            batch = collate([encoded[i] for i in rows])
            out[rows] = net(**batch).logits.float().cpu().numpy()
    return out


def predict_texts(tokenizer, net, texts: Sequence[str], max_length: int, stride: int | None,
                  batch_size: int = 64) -> np.ndarray:
    """Raw PyTorch outputs for ``texts``, long ones read in windows every ``stride`` tokens
    and averaged (the reference the ONNX export is checked against)."""
    collate = DataCollatorWithPadding(tokenizer, return_tensors="pt")
    encoded, owner = TokenCache().windows(tokenizer, texts, max_length, stride)
    return pooled(predict_torch(net, encoded, collate, batch_size), owner)


@contextmanager
def using_all_cores():
    """Use every core this process may run on (torch defaults to physical cores, which
    in containers can exceed the CPUs actually allotted), shared out among the processes
    of a DDP fit on this machine."""
    before = torch.get_num_threads()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else before
    shared = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))  # processes on this machine (DDP)
    torch.set_num_threads(max(1, cores // shared))
    try:
        yield
    finally:
        torch.set_num_threads(before)


class TokenCache:
    """Tokenised texts, keyed by their content, the tokenizer and max_length; one per fit or
    learning curve (its folds and runs tokenise the same texts), never process-wide."""

    def __init__(self):
        self._kept: dict[tuple, list[dict]] = {}

    def windows(self, tokenizer, texts: Sequence[str], max_length: int,
                stride: int | None) -> tuple[list[dict], np.ndarray]:
        """The model inputs of every text's windows (see :mod:`pytext_psych.core.windows`;
        ``stride=None``: its first ``max_length`` tokens), and each window's text."""
        digest = hashlib.sha256("\x00".join(texts).encode("utf-8", "surrogatepass")).hexdigest()
        key = (tokenizer.name_or_path, type(tokenizer).__name__, max_length, stride, len(texts), digest)
        if key not in self._kept:
            enc = tokenizer(list(texts), truncation=False, verbose=False)
            names = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
            fill = {"attention_mask": 1, "token_type_ids": 0}  # one sequence: every token attended
            parts = [windows(ids, max_length, stride) for ids in enc["input_ids"]]
            items = [{k: w if k == "input_ids" else [fill[k]] * len(w) for k in names} for p in parts for w in p]
            owner = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
            self._kept[key] = (items, owner)
        return self._kept[key]

    def encode(self, tokenizer, texts: Sequence[str], max_length: int) -> list[dict]:
        """The model inputs of every text's first ``max_length`` tokens."""
        return self.windows(tokenizer, texts, max_length, None)[0]


def on_device(collate, device):
    """A collator whose batches land on ``device``."""
    return lambda items: {k: v.to(device) for k, v in collate(items).items()}


def save_pretrained(tokenizer, net, folder: Path) -> None:
    """Fine-tuned weights (safetensors), config and tokenizer files, each readable as the
    user's umask says (safetensors writes its file 0600, which would stop a colleague on a
    shared drive from refitting from the weights)."""
    before = {p.name for p in folder.iterdir()}
    with quiet_transformers():
        net.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    follow_umask([p for p in folder.iterdir() if p.is_file() and p.name not in before])


@contextmanager
def seeded(seed: int):
    """Run the block with torch's RNGs seeded by ``seed``, the CPU's and every CUDA
    device's, and give the caller's RNG states back afterwards, all of them
    (``torch.manual_seed`` seeds CUDA too, so forking the CPU's RNG alone would leak)."""
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def gpu_name() -> str | None:
    """The first CUDA device's name, or None without one."""
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
