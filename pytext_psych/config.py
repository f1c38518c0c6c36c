"""Typed training settings, validated before anything heavy is imported (no torch here)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


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
    warmup_ratio: float = 0.1  # BERT's recipe
    weight_decay: float = 0.01

    def __post_init__(self) -> None:
        checks = {
            "epochs": self.epochs >= 1,
            "learning_rate": self.learning_rate > 0,
            "batch_size": self.batch_size >= 1,
            "max_length": 8 <= self.max_length <= 4096,
            "patience": self.patience >= 1,
            "warmup_ratio": 0 <= self.warmup_ratio < 1,
            "weight_decay": self.weight_decay >= 0,
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid training setting(s): {', '.join(f'{k}={getattr(self, k)!r}' for k in bad)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
