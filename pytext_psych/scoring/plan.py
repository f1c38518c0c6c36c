"""How this machine scores a bundle fastest: the batch size, measured, and the CPU in words.

A bundle whose export verified batch invariance (``onnx.batch_invariant``) is scored in
batches of windows of equal length, no padding (:func:`pytext_psych.core.windows.length_batches`):
a window's numbers are then the same whatever it is batched with, so the batch size
changes the speed and never a score. Which size is fastest depends on the CPU: on a Xeon
with AMX, batches of about 16 short answers ran 1.13x one at a time and 64 ran slower; on
CPUs whose int8 kernels need taller matrices (AVX-512 VNNI without AMX, AVX2) batching pays
more (``benchmarks/results/scoring.md``). So the size is measured, not assumed: the first
time a bundle's precision scores :data:`PLAN_TEXTS` texts or more in one call on a machine
(or ``pytext-psych info`` shows its plan), a single-threaded session scores windows
of 32 tokens in batches of 1, 4, 16 and 64 texts, up to the first size that is not faster
(:func:`measure`: under a second for MiniLM-L6, a few seconds for a base-size encoder),
and the fastest is kept, as a budget of tokens per call, in the
package's cache folder, keyed by the ONNX file's digest, the CPU, its flags and the
onnxruntime version.

Batch invariance is checked on each machine too, before a plan is kept: the export verified
it on the exporting computer's kernels, but onnxruntime may pick other kernels for one row
and for many on another CPU (or on a GPU). So windows of random tokens are scored batched
and one at a time here (:func:`batching_exact`); unless every output is the same bit for bit,
the plan is one window per call on this machine, whatever the export found.

The precision is *not* chosen by machine: ``"auto"`` follows the bundle's parity report
everywhere, so one bundle gives one precision's scores on every computer. The CPU's int8
class is reported (``pytext-psych info``). Its int8 kernel differs by class, not its sums:
on an AVX2 CPU without VNNI, every session asks onnxruntime for exact int8 products
(:mod:`.sessions`), so the int8 parity measured at export holds there too.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from ..core.catalog import cache_folder
from ..core.machine import cpu_flags, cpu_model
from .sessions import exact_int8_entry

BATCHES = (1, 4, 16, 64)  # texts per call tried when measuring
PROBE_TOKENS = 32  # a short answer's length, where batching matters most
_FASTER = 1.05  # a larger batch is kept only when at least 5% faster (measurement noise)
# A call of fewer texts, while no plan is known, scores one window per call and measures
# nothing: measuring costs more than batching would save it. Measured on a 2-core AMD EPYC
# with AVX2 alone (benchmarks/results/plan_break_even.md, 1,000 RWWD short answers): a plan
# took 0.7-1.7 s for a MiniLM-L6 bundle and 4.9-10.8 s for an all-mpnet-base-v2 one, and
# saved 6-21% of the time one window per call: it pays from 1,255 to 3,177 texts in one
# call. 1,000, as a plan, once measured, serves every later call too; a hold-out fit scores
# all its texts through its bundle, so measures the plan of a fit on 1,000 texts or more.
# Smaller fits (the test suite's) and cross-validation folds each spent 4.6 s measuring
# before (MiniLM-L6, both precisions), never repaid.
PLAN_TEXTS = 1_000

@dataclass(frozen=True)
class BatchPlan:
    """Tokens per onnxruntime call for one bundle precision on this machine, and why.

    ``batch_tokens`` 0 means one window per call (a bundle not verified batch-invariant).
    ``texts_per_s``: what each batch size scored when measured (windows of ``PROBE_TOKENS``
    tokens, one thread).
    """

    batch_tokens: int
    source: str  # "measured", "cached", "not batch-invariant", "batching not exact here"
    texts_per_s: Mapping[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        """One line for ``pytext-psych info``."""
        if not self.batch_tokens:
            return f"one text per call ({self.source})"
        measured = (f"; texts/s at {', '.join(self.texts_per_s)} texts a call: "
                    f"{', '.join(f'{v:.0f}' for v in self.texts_per_s.values())}" if self.texts_per_s else "")
        return f"batches of equal length, up to {self.batch_tokens} tokens a call ({self.source}{measured})"


def fastest_batch(speeds: Mapping[str, float]) -> int:
    """The batch size to use from measured texts/s: the fastest, unless a smaller one is
    within 5% of it (the smaller batch then wins: less memory, same speed).

    >>> fastest_batch({"1": 100.0, "4": 130.0, "16": 134.0, "64": 120.0})
    4
    """
    best = max(speeds.values())
    return min(int(b) for b, v in speeds.items() if v * _FASTER >= best)


def measure(run: Callable[[np.ndarray], Any], token_ids: list[int], faster: float = _FASTER) -> dict[str, float]:
    """Texts/s of ``run`` (one onnxruntime call on a (batch, tokens) array of ids) for the
    batch sizes of :data:`BATCHES` in turn, on copies of ``token_ids``, up to the first whose
    speed is below ``faster`` (1.05) times the fastest smaller one's (0: every size is
    timed): :func:`fastest_batch` would not choose it, and larger ones cost the most to
    time. In no plan measured was the fastest size one that came after a slower one
    (``benchmarks/results/scoring*.md``: the fastest at 4 or 16 texts a call on the CPUs
    met), so stopping there keeps the choice (within the timing's noise) and, on CPUs,
    mostly skips the 64-text calls, the costliest: measuring took 0.7 s instead of 2.9 for
    MiniLM-L6 and 5.4 s instead of 23 for all-mpnet-base-v2 in fp32 on an AVX2-only AMD
    EPYC (``benchmarks/results/plan_cost.md``), a cost each bundle pays once per machine."""
    speeds: dict[str, float] = {}
    for size in BATCHES:
        ids = np.tile(np.asarray(token_ids, dtype=np.int64), (size, 1))
        run(ids)  # warm-up: allocations, prepacked weights
        calls, started = 0, time.perf_counter()
        while calls < 3 or time.perf_counter() - started < 0.05:
            run(ids)
            calls += 1
        best_before = max(speeds.values(), default=0.0)
        speeds[str(size)] = size * calls / (time.perf_counter() - started)
        if speeds[str(size)] < faster * best_before:
            break
    return speeds


def probe_batch(token_ids: list[int], vocab_size: int, rows: int, seed: int = 0) -> np.ndarray:
    """``rows`` windows as long as ``token_ids``, with its first and last ids (the special
    tokens) and random ids in between: distinct texts for :func:`batching_exact`.

    >>> probe_batch([101, 7, 7, 102], vocab_size=1000, rows=2).shape
    (2, 4)
    """
    ids = np.random.default_rng(seed).integers(1000 if vocab_size > 2000 else 0, vocab_size,
                                               size=(rows, len(token_ids)))
    ids[:, 0], ids[:, -1] = token_ids[0], token_ids[-1]
    return ids.astype(np.int64)


def batching_exact(run: Callable[[np.ndarray], np.ndarray], batches: list[np.ndarray]) -> bool:
    """Whether ``run`` gives every row of each batch the same outputs, bit for bit, as that
    row scored alone (ties every batch size the plan may use to one-at-a-time scoring)."""
    for ids in batches:
        together = run(ids)  # once per batch, not once per row
        if not all(np.array_equal(together[i], run(ids[i : i + 1])[0]) for i in range(len(ids))):
            return False
    return True


def plan_key(onnx_digest: str, precision: str) -> str:
    """The cache key of a plan: the ONNX file, the CPU, its flags, onnxruntime and the
    session's int8 setting (plans measured with other kernels are not reused)."""
    import onnxruntime as ort

    flags = cpu_flags()
    parts = [onnx_digest, precision, cpu_model(), " ".join(sorted(flags)), ort.__version__,
             "=".join(exact_int8_entry(flags) or ("onnxruntime's int8 kernel",))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _plan_file(key: str) -> Path:
    return cache_folder() / "scoring-plans" / f"{key}.json"


def cached_plan(key: str) -> BatchPlan | None:
    """The plan measured before on this machine, if the cache holds a readable one."""
    try:
        stored = json.loads(_plan_file(key).read_text())
        return BatchPlan(**{**stored, "source": "cached"})
    except (OSError, ValueError, TypeError):
        return None


def keep_plan(key: str, plan: BatchPlan) -> None:
    """Store ``plan`` in the cache (atomically); a cache that cannot be written is skipped:
    the plan is then measured again next time."""
    path = _plan_file(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(json.dumps(asdict(plan)))
        os.replace(partial, path)
    except OSError:
        pass
