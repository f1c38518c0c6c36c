"""What stacking int8 calibration windows of equal length saves (``CALIBRATION_BATCH`` in
``pytext_psych/training/quantize.py``), and that it leaves the int8 graph as it was, byte for byte.

For each bundle, side by side in one run (rounds alternate the two ways): the int8 export's
calibration steps on its fp32 graph, with the package's feeds (windows of equal length
stacked into calls of up to ``CALIBRATION_BATCH`` tokens; the activation ranges still one
window per call, as a dynamic quantiser's scales are per call) and with the same windows one
per call throughout: fp32's outputs (the reference), the int8 graph by the bundle's own
recipe (peaks for smoothing, activation ranges; onnxruntime's weight quantiser inside it,
the same either way) and its outputs. Texts: the shipped example answers, cut at ``--max-length`` tokens.
Run: ``python benchmarks/calibration_calls.py --bundle DIR [DIR ...] [--rounds 2]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import onnx
from bench_scoring import machine
from transformers import AutoTokenizer

from pytext_psych import example_data
from pytext_psych.training.export import _calibration_feeds, _outputs, _static_int8
from pytext_psych.training.quantize import agreement, one_per_call


def calibrated(fp32: Path, feeds: list[dict], recipe: str) -> tuple[float, float, bytes]:
    """Seconds for the reference, the int8 graph and its outputs; their agreement; the graph."""
    started = time.perf_counter()
    reference = _outputs(fp32, feeds)
    model, _ = _static_int8(fp32, feeds, recipe)
    r = agreement(reference, _outputs(model, feeds))
    return time.perf_counter() - started, r, model.SerializeToString()


def rows(bundle: Path, max_length: int, rounds: int) -> list[str]:
    recipe = json.loads((bundle / "bundle.json").read_text())["onnx"]["int8"]["recipe"]
    tokenizer = AutoTokenizer.from_pretrained(str(bundle))
    with tempfile.TemporaryDirectory() as tmp:  # the quantiser writes beside the graph: not into the bundle
        fp32 = Path(shutil.copy(bundle / "model.onnx", Path(tmp) / "model.onnx"))
        names = [i.name for i in onnx.load(str(fp32), load_external_data=False).graph.input]
        stacked = _calibration_feeds(tokenizer, example_data()["answer"].tolist(), names, max_length)
        ways = {"stacked": stacked, "one per call": one_per_call(stacked)}
        times, r, graphs = {w: [] for w in ways}, {}, {}
        for _ in range(rounds):
            for way, feeds in ways.items():
                seconds, r[way], graphs[way] = calibrated(fp32, feeds, recipe)
                times[way].append(seconds)
    same = "yes" if len(set(graphs.values())) == 1 else "no"
    windows = sum(len(f["input_ids"]) for f in stacked)
    return [f"| {bundle.name} | {recipe} | {way} | {len(feeds)} calls, {windows} windows | {min(times[way]):.1f} | "
            f"{r[way]:.4f} | {same} |" for way, feeds in ways.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundle", type=Path, nargs="+", required=True)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "calibration_calls.md")
    args = parser.parse_args()
    table = [row for bundle in args.bundle for row in rows(bundle, args.max_length, args.rounds)]
    args.out.write_text(
        "# int8 calibration: windows of equal length stacked, or one per call\n\n"
        f"Machine: {machine()}.\n\n"
        f"The shipped example answers cut at {args.max_length} tokens (and the first 64 cut to 4, 8, 16 "
        f"and 32 tokens, as the export does); the best of {args.rounds} rounds. Seconds: fp32's outputs, "
        "the int8 graph by the bundle's recipe, its outputs. Agreement: r of int8 with fp32 on the "
        "calibration windows (the bar is .99). Stacked: the activation ranges still one window per call "
        "(a dynamic quantiser's scales are per call). Same graph: the two ways' int8 graphs are byte for "
        "byte the same.\n\n"
        "| bundle | recipe | windows | onnxruntime calls | s | agreement | same graph |\n"
        "|---|---|---|---|---|---|---|\n"
        + "\n".join(table) + "\n\n"
        f"Run: `python benchmarks/calibration_calls.py --bundle {' '.join(str(b) for b in args.bundle)} "
        f"--max-length {args.max_length} --rounds {args.rounds}` ({time.strftime('%Y-%m-%d')}).\n")
    print(args.out.read_text())


if __name__ == "__main__":
    main()
