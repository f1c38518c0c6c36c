"""What makes a base-size encoder (all-mpnet-base-v2, 12 layers, 768 wide) train faster on a
CPU: one training step (forward, backward, AdamW) of 16 real RWWD answers at 128 tokens, side
by side in one run, interleaved, for

- ``fp32 full``: every layer trains (the package's recipe on CPU today);
- ``bf16 autocast full``: the same under ``torch.autocast("cpu", bfloat16)``;
- ``fp32 freeze 8``: the embeddings and lowest 8 layers fixed (``strategy="freeze"``,
  ``freeze_layers=8``): the forward pass still runs all 12 layers;
- ``fp32 top 4 from cache``: only the top 4 layers run, from stored outputs of layer 8 (what
  caching frozen layers' outputs would cost per step after one pass to fill the cache);
- ``bf16 top 4 from cache``: the same under bf16 autocast.

Also MiniLM-L6 ``fp32 full`` for scale. Prints a Markdown table (median seconds a step, and the
ratio to ``fp32 full``) and the machine. Data: Real World Worry Dataset (Kleinberg et al.,
2020), ``../shared/data/rwwd``.

Run: ``python benchmarks/bench_base_training.py [--repeats 3]`` (about 5 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from pathlib import Path

import pandas as pd
import torch

from pytext_psych.metadata import hardware
from pytext_psych.training.encoders import load_base, resolve_model

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "rwwd" / "rwwd_full_clean.csv"


def batch(tokenizer, n: int = 16, length: int = 128) -> dict:
    texts = pd.read_csv(DATA)["text_long"].head(n).tolist()
    return tokenizer(texts, truncation=True, max_length=length, padding="max_length", return_tensors="pt")


def step_fn(net, inputs: dict, bf16: bool):
    """One training step of ``net`` on ``inputs`` (a closure timed by :func:`seconds`)."""
    params = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-5, fused=True)
    target = torch.zeros(len(inputs["attention_mask"]))

    def step():
        cast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
        with cast:
            out = net(**inputs).logits.squeeze(-1)
        loss = torch.nn.functional.mse_loss(out.float(), target)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return step


def seconds(step, n: int = 3) -> float:
    step()  # warm-up
    started = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - started) / n


def variants(name: str) -> dict:
    """Each variant's step, built once (weights loaded once per variant)."""
    tokenizer, _ = load_base(name, "regression", None, pooling="mean")
    inputs = batch(tokenizer)
    out = {}
    for label, bf16, frozen, top in (("fp32 full", False, 0, None), ("bf16 autocast full", True, 0, None),
                                     ("fp32 freeze 8", False, 8, None), ("fp32 top 4 from cache", False, 0, 4),
                                     ("bf16 top 4 from cache", True, 0, 4)):
        _, net = load_base(name, "regression", None, pooling="mean")
        net.train()
        layers = net.base_model.encoder.layer
        for p in list(net.base_model.embeddings.parameters()) + [q for l in layers[:frozen] for q in l.parameters()]:
            p.requires_grad_(False)
        feed = inputs
        if top:  # the cached hidden states stand in as the input of the top layers
            net.base_model.encoder.layer = torch.nn.ModuleList(list(layers)[-top:])
            hidden = torch.randn(*inputs["input_ids"].shape, net.config.hidden_size)
            feed = {"inputs_embeds": hidden, "attention_mask": inputs["attention_mask"]}
        out[label] = step_fn(net, feed, bf16)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    steps = variants(resolve_model("mpnet-base"))
    minilm = variants(resolve_model("default"))["fp32 full"]
    times: dict[str, list[float]] = {k: [] for k in [*steps, "MiniLM-L6 fp32 full"]}
    for _ in range(args.repeats):  # interleaved, so a busy moment hits every variant
        for label, step in steps.items():
            times[label].append(seconds(step))
        times["MiniLM-L6 fp32 full"].append(seconds(minilm))
    base = statistics.median(times["fp32 full"])
    print(f"Machine: {hardware()}; torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"CPU capability {torch.backends.cpu.get_cpu_capability()}\n")
    print("| all-mpnet-base-v2 step (16 x 128 tokens) | median s | x fp32 full speed |\n|---|---|---|")
    for label, values in times.items():
        median = statistics.median(values)
        print(f"| {label} | {median:.2f} | {base / median:.2f} |")


if __name__ == "__main__":
    main()
