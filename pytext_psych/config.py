"""Typed training settings, validated before anything heavy is imported (no torch here)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np


STRATEGIES = ("full", "freeze", "gradual", "lora")


def is_int(value: Any, low: int = 0, high: float = math.inf) -> bool:
    """A whole number (not a bool, float or string) in ``[low, high]``."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and low <= value <= high


def is_real(value: Any, low: float = -math.inf, high: float = math.inf) -> bool:
    """A finite real number (not a bool or string) in ``[low, high]``."""
    return (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            and math.isfinite(value) and low <= value <= high)


SEED_RULE = (lambda v: is_int(v, 0, 2**32 - 1), "a whole number from 0 to 2**32 - 1")
# name -> (check, what is allowed): checked once, when the settings are made
_CONSTRAINTS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "epochs": (lambda v: is_int(v, 1), "a whole number of at least 1"),
    "learning_rate": (lambda v: is_real(v, 1e-12, 1.0), "a finite number above 0 and at most 1"),
    "batch_size": (lambda v: is_int(v, 1), "a whole number of at least 1"),
    "max_length": (lambda v: is_int(v, 8, 4096), "a whole number of tokens from 8 to 4096"),
    "patience": (lambda v: is_int(v, 1), "a whole number of at least 1"),
    "seed": SEED_RULE,
    "strategy": (lambda v: v in STRATEGIES, f"one of {', '.join(STRATEGIES)}"),
    "freeze_layers": (lambda v: v == "all" or is_int(v, 0), "a whole number of layers or 'all'"),
    "lora_r": (lambda v: is_int(v, 1), "a whole number of at least 1"),
    "lora_alpha": (lambda v: is_real(v, 1e-12), "a number above 0"),
    "grad_accumulation": (lambda v: is_int(v, 1), "a whole number of at least 1"),
    "class_weights": (lambda v: isinstance(v, (bool, np.bool_)), "True or False"),
    "warmup_ratio": (lambda v: is_real(v, 0, 0.999), "a fraction from 0 to below 1"),
    "weight_decay": (lambda v: is_real(v, 0), "a number of at least 0"),
    "group_by_length": (lambda v: isinstance(v, (bool, np.bool_)), "True or False"),
}


def default_learning_rate(strategy: str) -> float:
    """5e-5 for the small default encoder (lr 2e-5 underfits it: benchmarks/results/
    defaults.md); 5e-4 for LoRA, whose few adapter weights start at zero and need larger
    steps (Hu et al., 2021, used 2e-4..5e-4; measured in benchmarks/results/rwwd.md)."""
    return 5e-4 if strategy == "lora" else 5e-5


@dataclass(frozen=True)
class TrainConfig:
    """Training settings, validated once; every field is recorded in the bundle.

    The user-facing defaults live in :func:`pytext_psych.fit_text_model`'s signature,
    with the measurements behind them.
    """

    epochs: int
    learning_rate: float
    batch_size: int
    max_length: int
    patience: int
    seed: int
    strategy: str = "full"
    freeze_layers: int | str = 3
    lora_r: int = 8
    lora_alpha: int = 16
    grad_accumulation: int = 1
    class_weights: bool = False
    warmup_ratio: float = 0.1  # BERT's recipe
    weight_decay: float = 0.01
    group_by_length: bool = True  # batches of similar length: less padding, same randomness

    def __post_init__(self) -> None:
        problems = [f"{name}={getattr(self, name)!r} ({rule})"
                    for name, (ok, rule) in _CONSTRAINTS.items() if not ok(getattr(self, name))]
        if problems:
            raise ValueError("invalid training setting(s): " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
