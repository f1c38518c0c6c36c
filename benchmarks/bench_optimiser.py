"""The optimiser step: AdamW's three implementations in torch, side by side in one run, on
the default encoder's parameters (MiniLM-L6, 22.7M), next to the forward and backward pass
of one training batch (16 texts of 128 tokens) so that each step's share is visible.

``for-loop`` is torch's default on the CPU, ``foreach`` its default on a GPU, ``fused``
(one kernel for all parameters; on the CPU since torch 2.4) what ``epochs.Optimiser`` uses.
Writes ``benchmarks/results/optimiser.md``.

    python benchmarks/bench_optimiser.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import torch

from pytext_psych.metadata import hardware
from pytext_psych.training.encoders import load_base

HERE = Path(__file__).resolve().parent
KINDS = {"for-loop (CPU default)": dict(foreach=False), "foreach (GPU default)": dict(foreach=True),
         "fused (ours)": dict(fused=True)}


def seconds(step, repeats: int) -> float:
    """Median wall time of ``step()`` after one warm-up call."""
    step()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return float(pd.Series(times).median())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "optimiser.md")
    args = parser.parse_args()
    torch.manual_seed(0)
    _, net = load_base("default", "regression", None)
    batch = {"input_ids": torch.randint(1000, 2000, (16, 128)), "attention_mask": torch.ones(16, 128, dtype=torch.long)}

    def forward_backward():
        net.zero_grad(set_to_none=True)
        net(**batch).logits.square().mean().backward()

    batch_s = seconds(forward_backward, args.repeats)
    rows = [{"part": "forward + backward, 16 x 128 tokens", "seconds": batch_s, "speed-up vs for-loop": ""}]
    steps = {}
    for name, kind in KINDS.items():
        optimizer = torch.optim.AdamW(net.parameters(), lr=1e-5, **kind)
        steps[name] = seconds(optimizer.step, args.repeats)
    for name, s in steps.items():
        rows.append({"part": f"AdamW step, {name}", "seconds": s,
                     "speed-up vs for-loop": f"{steps[next(iter(KINDS))] / s:.1f}x"})
    hw = hardware()
    fused, loop = steps["fused (ours)"], steps[next(iter(KINDS))]
    text = "\n".join([
        "# The optimiser step",
        "",
        f"`benchmarks/bench_optimiser.py`, one run; median of {args.repeats} calls each, after a "
        "warm-up call. Parameters: the default encoder with a one-output head "
        f"({sum(p.numel() for p in net.parameters()) / 1e6:.1f}M).",
        "",
        f"Machine: {hw['cpu']}, {hw['cores_available']} cores, {hw.get('memory_gib')} GiB, GPU: "
        f"{hw['gpu'] or 'none'}; torch {torch.__version__}, {torch.get_num_threads()} threads.",
        "",
        pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3f"),
        "",
        f"A training step (forward, backward, AdamW) of one such batch: {batch_s + loop:.2f} s with "
        f"the for-loop AdamW, {batch_s + fused:.2f} s fused ({(batch_s + loop) / (batch_s + fused):.2f}x).",
        "",
    ])
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
