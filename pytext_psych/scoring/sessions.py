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

onnxruntime's own remedy is the session option ``session.x64quantprecision``. Where the CPU
lacks VNNI and a weight lies outside [-64, 63], it gives that product uint8 weights (the
same integers shifted by 128, with their zero point), which onnxruntime multiplies without
the 16-bit step. On CPUs with VNNI or AMX it changes nothing. With it, the AVX2 outputs
were bit for bit those of the weights shifted by hand. So a bundle's int8 scores are the
same on every CPU, to float rounding, and the parity report measured at export holds
wherever the bundle is scored. The export calibrates and checks its int8 graph under the
same option, so a bundle does not depend on the CPU that exported it either.

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

EXACT_INT8 = ("session.x64quantprecision", "1")  # onnxruntime's config key, and "on"


def session_options(threads: int | None = None):
    """onnxruntime ``SessionOptions`` with exact int8 sums (module docstring); ``threads``
    threads per call (``None``: onnxruntime's default, every core).

    >>> session_options(1).get_session_config_entry("session.x64quantprecision")
    '1'
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.add_session_config_entry(*EXACT_INT8)
    if threads is not None:
        options.intra_op_num_threads = options.inter_op_num_threads = threads
    return options
