"""Every path of the package with the base-size encoder (issue 32, point 2): each public
entry point that takes ``model=`` run once with ``model="mpnet-base"`` (all-mpnet-base-v2,
assembled from its pinned packages) at a tiny size, to show that it runs end to end and what
it records; not an accuracy benchmark (120 synthetic answers, 32 tokens, 1 epoch).

Paths: hold-out fit with int8 (its parity report), cross-validation, grouped split
(essays by writer) with metrics per person, several outcomes, ordinal, several codes per
text, tuning, learning curve, domain pretraining then a fit from its folder, the embeddings
baseline on mpnet, and ``explain``; every bundle is then scored by ``predict_scores`` in a
process that never imports torch. Writes ``results/mpnet_paths.md``. Run (about 20 minutes on
2 cores without AMX): ``python benchmarks/mpnet_paths.py``. Data: the package's example data
(synthetic answers; Empathic Reactions essays, Buechel et al., 2018, CC BY 4.0).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
from bench_scoring import machine

from pytext_psych import (example_data, explain, fit_text_model, learning_curve, load_model, pretrain_domain,
                          tune_text_model)

OUT = Path(__file__).parent / "results" / "mpnet_paths.md"
TINY = dict(model="mpnet-base", max_length=32, epochs=1, n_resamples=100, progress=False, strategy="full")
SCORE = """import json, sys
from pytext_psych import predict_scores
frame = predict_scores(sys.argv[1], ["I cannot sleep for worrying about rent", "All is well"], check_shift=False)
print(json.dumps({"torch": "torch" in sys.modules, "columns": len(frame.columns)}))"""


def answers(n: int = 120):
    data = example_data().head(n).copy()
    data["codes"] = data["topic"] + np.where(data["stress"] >= 6, "; strained", "")
    data["calm"] = 10 - data["stress"] + np.random.default_rng(0).integers(-1, 2, len(data))  # a second rating
    return data


def essays():
    """30 writers' essays, each with the writer's mean empathy (person= needs one value a person)."""
    data = example_data("empathy")
    data = data[data.writer.isin(data.writer.unique()[:30])].copy()
    data["trait"] = data.groupby("writer").empathy.transform("mean")
    return data


def holdout(out: Path):
    return fit_text_model(answers(), "answer", "stress", output_dir=out, **TINY)


def paths(tmp: Path) -> dict[str, Callable[[Path], Any]]:
    fp32 = dict(TINY, export="fp32")
    return {
        "hold-out fit, fp32 + int8": holdout,
        "several codes per text": lambda out: fit_text_model(answers(), "answer", "codes", task="multilabel",
                                                             output_dir=out, **fp32),
        "tune (2 learning rates)": lambda out: tune_text_model(
            answers(), "answer", "stress", learning_rate=[5e-5, 1e-4], output_dir=out,
            **{k: v for k, v in fp32.items() if k != "learning_rate"}),
        "learning curve (60, all)": lambda out: learning_curve(
            answers(), "answer", "stress", sizes=(60, "full"), repeats=1, output_dir=out, **fp32),
        "domain pretraining, then a fit from its folder": lambda out: fit_text_model(
            answers(), "answer", "stress", output_dir=out, **dict(fp32, model=pretrain_domain(
                answers()["answer"].tolist(), model="mpnet-base", output_dir=tmp / "adapted", epochs=1,
                max_length=32, progress=False))),
        "embeddings baseline on mpnet": lambda out: fit_text_model(
            answers(), "answer", "stress", baseline_model="mpnet-base", output_dir=out, **fp32),
        "cross-validation (cv=2)": lambda out: fit_text_model(answers(), "answer", "stress", cv=2, output_dir=out,
                                                              **fp32),
        "grouped by writer, metrics per person": lambda out: fit_text_model(
            essays(), "essay", "trait", person="writer", output_dir=out, **fp32),
        "several outcomes": lambda out: fit_text_model(answers(), "answer", ["stress", "calm"], output_dir=out,
                                                       **fp32),
        "ordinal": lambda out: fit_text_model(answers(), "answer", "stress", task="ordinal", output_dir=out,
                                              **fp32),
    }


def described(result: Any) -> tuple[str, Path | None]:
    """A line on what ``result`` holds, and its bundle (None for a learning curve)."""
    if hasattr(result, "metrics"):
        head = result.metrics.iloc[0]
        line = f"{head['metric']} {head['estimate']:.3f}, {result.task}"
        if result.person_metrics is not None:
            line += f"; per person {result.person_metrics.iloc[0]['estimate']:.3f}"
        if result.trials is not None:
            line += f"; {len(result.trials)} trials"
        return line, Path(result.bundle_path)
    fitted = result.runs[(result.runs.metric == result.metric) & (result.runs.model == "fine-tuned")]
    return ", ".join(f"{result.metric} {e:.3f} at {n} texts" for n, e in zip(fitted.n_train, fitted.estimate)), None


def attempted(run: Callable[[Path], Any], out: Path) -> str:
    """The table cells of one path: seconds, result, parity, torch-free scoring (or the error)."""
    started = time.perf_counter()
    try:
        result = run(out)
        seconds = time.perf_counter() - started
        if isinstance(result, str):
            return f"{seconds:.0f} | {result} | | "
        line, bundle = described(result)
        scored = (parity(bundle), torch_free(bundle)) if bundle else ("", "")
    except Exception as err:  # a path that fails is a finding: record it and go on
        return f"{time.perf_counter() - started:.0f} | **failed**: {type(err).__name__}: {err} | | "
    return f"{seconds:.0f} | {line} | {scored[0]} | {scored[1]}"


def explained(hold_out: Path) -> str:
    words = explain(load_model(hold_out), ["I cannot sleep for worrying about rent"])
    return f"{len(words)} word attributions, largest '{words.loc[words.attribution.abs().idxmax(), 'word']}'"


def parity(bundle: Path) -> str:
    """Each precision's agreement with PyTorch on the dev texts (the bundle's parity report)."""
    d = load_model(bundle).description
    cells = []
    for precision in ("fp32", "int8"):
        if precision in d.parity:
            report = d.parity[precision]
            said = ", ".join(f"{k} {v:.4f}" for k, v in report.items() if k in ("score_correlation", "max_abs_diff"))
            recipe = f" ({d.onnx['int8']['recipe']})" if precision == "int8" else ""
            cells.append(f"{precision}{recipe}: {said}, recommended {report.get('recommended')}")
    return "; ".join(cells)


def torch_free(bundle: Path) -> str:
    done = subprocess.run([sys.executable, "-c", SCORE, str(bundle)], capture_output=True, text=True, check=True)
    record = json.loads(done.stdout.strip().splitlines()[-1])
    return "yes" if not record["torch"] else "no (torch imported)"


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for i, (name, run) in enumerate(paths(tmp).items()):
            rows.append(f"| {name} | {attempted(run, tmp / f'path{i}')} |")
            print(rows[-1], flush=True)
        rows.append(f"| explain (hold-out bundle) | {attempted(explained, tmp / 'path0')} |")
    text = "\n".join([
        "# Every path with all-mpnet-base-v2 (issue 32, point 2)", "",
        f"Machine: {machine()}.", "",
        "Each path once with `model=\"mpnet-base\"` on the package's example data (120 synthetic answers; "
        "30 writers' essays for the grouped row), 32 tokens, 1 epoch, `strategy=\"full\"`: whether it runs "
        "and what it records, not accuracy. Bundles scored by `predict_scores` in a fresh process.", "",
        "| path | seconds | result | parity | scored without torch |", "|---|---|---|---|---|", *rows, "",
        f"Run: `python benchmarks/mpnet_paths.py` ({time.strftime('%Y-%m-%d')}).", ""])
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
