"""This machine's CPU in words and flags (Linux ``/proc/cpuinfo``); the standard library only."""

from __future__ import annotations

import platform

CPUINFO = "/proc/cpuinfo"


def _cpuinfo_value(keys: tuple[str, ...], cpuinfo: str) -> str | None:
    try:
        with open(cpuinfo) as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith(keys))
    except (OSError, StopIteration):
        return None


def cpu_model(cpuinfo: str = CPUINFO) -> str:
    """The CPU's model name, e.g. ``"Intel(R) Xeon(R) Processor"``."""
    return _cpuinfo_value(("model name",), cpuinfo) or platform.processor() or platform.machine()


def cpu_flags(cpuinfo: str = CPUINFO) -> frozenset[str]:
    """The CPU's feature flags (``avx2``, ``avx512_vnni``, ``amx_int8``, ...); empty where
    they cannot be read."""
    return frozenset((_cpuinfo_value(("flags", "Features"), cpuinfo) or "").split())
