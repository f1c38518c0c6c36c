"""The arithmetic of the torch passes of a fit: the linear-probe warm start, the training
steps, the dev ratings after each epoch and the frozen embeddings of the embedding baseline
all run under the autocast chosen here. The export's PyTorch reference stays fp32."""

from __future__ import annotations

import torch

from ..core.machine import cpu_flags


def autocast_for(device, mixed_precision: str, flags: frozenset[str] | None = None) -> tuple[bool, torch.dtype]:
    """Whether a fit's torch passes run under autocast, and in which type.

    ``"auto"``: on a GPU bf16 where it has it, else fp16 (with loss scaling); on a CPU bf16
    where ``flags`` (this machine's, :func:`~pytext_psych.core.machine.cpu_flags`) include
    AMX's ``amx_bf16``, else fp32. ``"bf16"``: everywhere; ``"off"``: nowhere.

    Why bf16 on AMX CPUs only: there a training step of all-mpnet-base-v2 runs 3-7x as fast
    as in fp32, and bf16 cost nothing measurable in paired fits on the same test texts
    (MiniLM-L6 on an AMX Xeon: GoEmotions macro F1 +.008 [-.028, +.043], Empathic Reactions
    r .000, at a third to a half of the CPU time; ``benchmarks/results/accuracy.md`` section 8).
    Without AMX (AVX512-BF16 alone, an AMD EPYC) a step was only 1.7x as fast and its one
    pair (all-mpnet-base-v2, the essays) went the other way (r .269 against .311), so fp32
    stays there.

    >>> cpu, amx = torch.device("cpu"), frozenset({"avx512f", "amx_bf16"})
    >>> autocast_for(cpu, "auto", frozenset({"avx2"})), autocast_for(cpu, "auto", amx)
    ((False, torch.float32), (True, torch.bfloat16))
    >>> autocast_for(cpu, "bf16", frozenset()), autocast_for(cpu, "off", amx)
    ((True, torch.bfloat16), (False, torch.float32))
    """
    gpu = device.type == "cuda"
    if mixed_precision == "off":
        return False, torch.float32
    if mixed_precision == "auto" and not gpu:
        on = "amx_bf16" in (cpu_flags() if flags is None else flags)
        return on, torch.bfloat16 if on else torch.float32
    if mixed_precision == "bf16" or torch.cuda.is_bf16_supported():
        return True, torch.bfloat16
    return True, torch.float16


def arithmetic(mixed_precision: str) -> str:
    """What ``mixed_precision`` becomes for a fit on this machine (its GPU if it has one):
    ``"bf16"``, ``"fp16"`` or ``"fp32"``; recorded in the bundle beside the setting.

    >>> arithmetic("off")
    'fp32'
    """
    on, dtype = autocast_for(torch.device("cuda" if torch.cuda.is_available() else "cpu"), mixed_precision)
    return {torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype] if on else "fp32"


def autocast(device, mixed_precision: str):
    """The autocast context :func:`autocast_for` chooses (disabled: plain fp32)."""
    device = torch.device(device)
    on, dtype = autocast_for(device, mixed_precision)
    return torch.autocast(device.type, dtype=dtype, enabled=on)
