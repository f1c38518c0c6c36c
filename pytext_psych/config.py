"""Typed training settings, validated before anything heavy is imported (no torch here)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


STRATEGIES = ("full", "freeze", "gradual", "lora")


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
        checks = {
            "epochs": self.epochs >= 1,
            "learning_rate": self.learning_rate > 0,
            "batch_size": self.batch_size >= 1,
            "max_length": 8 <= self.max_length <= 4096,
            "patience": self.patience >= 1,
            "warmup_ratio": 0 <= self.warmup_ratio < 1,
            "weight_decay": self.weight_decay >= 0,
            "strategy": self.strategy in STRATEGIES,
            "freeze_layers": self.freeze_layers == "all" or (
                isinstance(self.freeze_layers, int) and not isinstance(self.freeze_layers, bool)
                and self.freeze_layers >= 0),
            "lora_r": self.lora_r >= 1,
            "lora_alpha": self.lora_alpha > 0,
            "grad_accumulation": self.grad_accumulation >= 1,
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            hint = f" (strategy is one of {', '.join(STRATEGIES)})" if "strategy" in bad else ""
            raise ValueError("invalid training setting(s): "
                             f"{', '.join(f'{k}={getattr(self, k)!r}' for k in bad)}{hint}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
