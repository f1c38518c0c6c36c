"""``model="auto"``: the encoder chosen for this fit's data on this machine.

``"default"`` stays MiniLM-L6 on every machine, so a script fits the same encoder wherever
it runs. ``"auto"`` is for a user who would rather have the more accurate encoder whenever
this machine can afford it: all-mpnet-base-v2 (``"mpnet-base"``) where

* it is installed (``pytext-psych models --install mpnet-base``: nothing is downloaded here), and
* a GPU is available, or the CPU has AMX (where ``mixed_precision="auto"`` trains in bf16, a
  step 3-7x as fast as fp32) and the fit should take at most :data:`BUDGET_MINUTES` on
  this machine's cores (:data:`TOKENS_PER_CORE_MINUTE`);

MiniLM-L6 otherwise. Why (``benchmarks/results/accuracy.md`` section 8; the package's
defaults, paired on the same test texts, a 2-core AMX Xeon): mpnet minus MiniLM was +.057
[+.027, +.086] r on all 2,491 RWWD long answers (.651 against .594; 35 minutes for mpnet's
whole call), +.077 [+.025, +.124] on all 1,860 Empathic Reactions essays and -.017 [-.054,
+.019] macro F1 on 2,000 GoEmotions comments: ahead on long texts, never behind by a CI that
excludes zero. Without AMX a base-size step was 1.7x fp32 at best (AVX512-BF16) and the same
fits take hours on 2 cores, which is not what a user who did not name the encoder expects.
The GPU branch is not measured here (no device was lent when it was written).

>>> choose_encoder(200_000, 2, frozenset({"avx512f", "amx_bf16"}), gpu=False, installed=True).model
'mpnet-base'
>>> choose_encoder(200_000, 2, frozenset({"avx2"}), gpu=False, installed=True).model
'default'
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Sequence

from ..core.machine import cpu_flags
from .encoders import DEFAULT_MODEL, token_lengths

BASE = "mpnet-base"
BUDGET_MINUTES = 60  # the bound for a base-size fit of 2,500 texts on 2 cores
# Tokens (the default tokenizer's, every text, uncut) a core gets through in a minute of a
# whole mpnet fit at the package's defaults under bf16 on an AMX Xeon: the slower of two
# measured fits, all 1,860 Empathic Reactions essays (183,349 tokens, 63.3 CPU minutes:
# 2,900); all 2,491 RWWD long answers went faster (344,914 tokens, 35.0 minutes on 2 cores: 4,900).
TOKENS_PER_CORE_MINUTE = 2_900


@dataclass(frozen=True)
class EncoderChoice:
    """The encoder ``model="auto"`` picked and why, in words."""

    model: str
    reason: str

    def __str__(self) -> str:
        return f"model='auto' chose {self.model!r}: {self.reason}"


def choose_encoder(tokens: int, cores: int, flags: frozenset[str], gpu: bool, installed: bool) -> EncoderChoice:
    """The encoder for a fit of ``tokens`` tokens on ``cores`` cores of a CPU with ``flags``
    (a GPU if ``gpu``), all-mpnet-base-v2 being ``installed`` or not (module docstring).

    >>> choose_encoder(10**6, 2, frozenset({"amx_bf16"}), gpu=False, installed=True).reason[-44:]
    'about 3 h on 2 cores here (more than 60 min)'
    """
    if not installed:
        return EncoderChoice(DEFAULT_MODEL, "all-mpnet-base-v2 is not installed "
                                        "(pytext-psych models --install mpnet-base adds it)")
    if gpu:
        return EncoderChoice(BASE, "a GPU is available")
    if "amx_bf16" not in flags:
        return EncoderChoice(DEFAULT_MODEL, "this CPU has no AMX, so a base-size fit would run in fp32 and take "
                                        "several times as long as MiniLM-L6's")
    minutes = tokens / (TOKENS_PER_CORE_MINUTE * max(1, cores))
    said = ("under a minute" if minutes < 1 else f"about {minutes:.0f} min" if minutes < 90
            else f"about {minutes / 60:.0f} h")
    if minutes > BUDGET_MINUTES:
        return EncoderChoice(DEFAULT_MODEL, f"a base-size fit of these {tokens:,} tokens would take {said} on "
                                        f"{cores} cores here (more than {BUDGET_MINUTES} min)")
    return EncoderChoice(BASE, f"this CPU has AMX (bf16), and a base-size fit of these {tokens:,} tokens "
                               f"should take {said} on {cores} cores")


def auto_encoder(texts: Sequence[str], progress: bool = True) -> EncoderChoice:
    """:func:`choose_encoder` for ``texts`` on this machine, said on standard error when
    ``progress``."""
    import torch

    from ..core.catalog import known_model

    choice = choose_encoder(int(token_lengths(DEFAULT_MODEL, texts).sum()), len(os.sched_getaffinity(0)),
                            cpu_flags(), torch.cuda.is_available(), known_model(BASE).installed)
    if progress:
        print(choice, file=sys.stderr, flush=True)
    return choice
