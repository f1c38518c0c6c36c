"""The onnxruntime session options of every session the package opens: exact int8 sums on every CPU.

An int8 matrix product multiplies uint8 activations by int8 weights. CPUs with VNNI or AMX
add those products in exact 32-bit sums. Without them (AVX2 alone, or AVX-512 without
VNNI), onnxruntime's fastest kernel (``VPMADDUBSW``) adds each pair of products in 16 bits,
and a pair beyond 32,767 saturates; its quantisation guide warns of this. The same bundle
then gives other int8 scores on such a CPU than on one with VNNI or AMX.

Measured on a 2-core AMD EPYC with AVX2 alone (``benchmarks/results/int8_exact.md``; the
MiniLM-L6 benchmark bundle, 1,000 RWWD answers, one window at a time): saturation changed
the int8 outputs of 99.9% of the short answers, by .08 on average and by up to .56 (the
outputs' SD is 1.0), about as much as int8 itself differs from fp32 (.09 on average).

onnxruntime's own remedy is the session option ``session.x64quantprecision``. Where a
weight lies outside [-64, 63], it gives that product uint8 weights (the same integers
shifted by 128, with their zero point), which onnxruntime multiplies without the 16-bit
step. With it, the AVX2 outputs were bit for bit those of the weights shifted by hand. So
a bundle's int8 scores are the same on every CPU, to float rounding, and the parity report
measured at export holds wherever the bundle is scored. The export calibrates and checks
its int8 graph under the same rule, so a bundle does not depend on the CPU that exported
it either.

The option is set only where the CPU's int8 kernel can saturate (:func:`exact_int8_entry`),
without VNNI or AMX. onnxruntime applies it on every x86 CPU whose uint8 x uint8 and
uint8 x int8 kernels differ (``MlasPlatformU8S8Overflow``), VNNI ones included, where the
uint8 x int8 sums are exact already and the uint8 x uint8 kernel is only slower. Measured
on a 2-core AMD EPYC (Zen 4) with AVX-512 VNNI (``benchmarks/results/scoring_epyc.md``,
``int8_exact_vnni.md``): with the option int8 scored half as many short answers a second
(a call of 4 x 32 tokens took 21.2 ms against 11.2), and its outputs on all 2,491 short and
2,491 long RWWD answers were equal bit for bit with and without it.
(AMX CPUs, whose int8 tiles sum exactly too, were not measured with and without it.)

The price falls on CPUs without VNNI only, and only on speed: there int8 scored 0.83x as many
short and 0.85x as many long answers a second (3.84x and 3.04x PyTorch eager, against 4.61x
and 3.61x; both paths side by side in ``scoring_avx2.md``). 7-bit weights (onnxruntime's
``reduce_range``) would be exact at full speed everywhere, but agreed less with fp32 on every
CPU (``int8_exact.md``: mean change from fp32 .078 against .050 on long answers), so they
are not used. Nor are 7-bit activations (static scales onto [0, 127]; exact at full speed
too, with 8-bit weights): on the same bundle their int8 correlated .988 with fp32 on the
calibration texts, under the export's bar of .99, so the export kept the down projections
in fp32 and the calls were no faster than exact 8-bit ones (25.3 against 25.0 ms for 4 x 32
tokens); on the answers their outputs moved from fp32 by .124 / .066 (short / long) against
.089 / .050.
"""

from __future__ import annotations

from ..core.machine import cpu_flags

EXACT_INT8 = ("session.x64quantprecision", "1")  # onnxruntime's config key, and "on"

# int8 matrix-product kernels onnxruntime (MLAS) picks, best first
INT8_CLASSES = {"amx": ("amx_int8",), "avx512_vnni": ("avx512_vnni",), "avx_vnni": ("avx_vnni",),
                "avx2": ("avx2",)}
EXACT_CLASSES = frozenset({"amx", "avx512_vnni", "avx_vnni"})  # uint8 x int8 products summed in int32
INT8_NOTES = {
    "amx": "AMX int8 tiles: exact int32 sums",
    "avx512_vnni": "AVX-512 VNNI: exact int32 sums",
    "avx_vnni": "AVX-VNNI: exact int32 sums",
    "avx2": "AVX2 without VNNI: exact int32 sums through onnxruntime's uint8-weight products "
            "(session.x64quantprecision), slower than its saturating ones",
    "other": "no AVX2: onnxruntime's int8 kernels are slow here; fp32 may be faster",
}


def int8_class(flags: frozenset[str] | set[str]) -> str:
    """The int8 kernel class of a CPU with these flags: ``"amx"``, ``"avx512_vnni"``,
    ``"avx_vnni"``, ``"avx2"`` or ``"other"``.

    >>> int8_class({"avx2", "avx512f", "avx512_vnni"})
    'avx512_vnni'
    >>> int8_class({"sse4_2"})
    'other'
    """
    return next((name for name, needs in INT8_CLASSES.items() if set(needs) <= set(flags)), "other")


def exact_int8_entry(flags: frozenset[str] | set[str]) -> tuple[str, str] | None:
    """The session entry that makes int8 sums exact on a CPU with these ``flags``; None
    where onnxruntime's own int8 kernel sums exactly (VNNI, AMX) and the entry would only
    slow it (module docstring).

    >>> exact_int8_entry({"avx2", "fma"})
    ('session.x64quantprecision', '1')
    >>> exact_int8_entry({"avx2", "avx512f", "avx512_vnni"}) is None
    True
    """
    return None if int8_class(flags) in EXACT_CLASSES else EXACT_INT8


def session_options(threads: int | None = None):
    """onnxruntime ``SessionOptions`` with exact int8 sums on this CPU (module docstring);
    ``threads`` threads per call (``None``: onnxruntime's default, every core).

    >>> session_options(1).intra_op_num_threads
    1
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    entry = exact_int8_entry(cpu_flags())
    if entry is not None:
        options.add_session_config_entry(*entry)
    if threads is not None:
        options.intra_op_num_threads = options.inter_op_num_threads = threads
    return options
