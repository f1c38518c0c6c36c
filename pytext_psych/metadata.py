"""What a bundle says about itself: the scoring contract, the training record, the
evaluation and the provenance (seed, split row ids, package versions, hardware, time).

Builds the parts of a bundle's :class:`~pytext_psych.core.description.Description` (its
``bundle.json``) from the steps' results; reads nothing from disk
but package metadata and the machine's description. torch is imported (through training) only to name a GPU.
"""

from __future__ import annotations

import os
import platform
import time
from datetime import datetime, timezone
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd

from .core.description import Description, Outcome
from .core.machine import cpu_model
from .core.settings import TrainSettings
from .data.design import Design
from .data.reading import Prepared

_VERSIONED = ("pytext-psych", "torch", "transformers", "onnxruntime", "tokenizers", "numpy",
              "pandas", "scipy", "scikit-learn")


def versions() -> dict[str, str]:
    out = {}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def hardware() -> dict[str, Any]:
    """CPU model, cores, memory, GPU and platform: the machine part of the manifest (and of
    every benchmark report)."""
    info: dict[str, Any] = {"cpu": cpu_model(), "cores": os.cpu_count(),
                            "cores_available": len(os.sched_getaffinity(0)), "system": platform.platform(),
                            "python": platform.python_version()}
    try:
        info["memory_gib"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    from .training.nets import gpu_name

    info["gpu"] = gpu_name()
    return info


def ids(index: pd.Index) -> list:
    """Row ids as JSON values (ints stay ints)."""
    return [int(i) if isinstance(i, (int, np.integer)) else str(i) for i in index]


def base_model_name(model: str, domain: dict[str, Any] | None) -> str:
    """The encoder in words: a known model's name with its source (``"default (minilm-l6:
    sentence-transformers/all-MiniLM-L6-v2)"``), else the name or folder given."""
    from .core.catalog import known_model

    known = known_model(model)
    name = str(model)
    if known is not None:
        alias = f"{known.name}: " if name != known.name else ""
        at = f" at {known.revision[:12]}" if known.revision else ""
        name = f"{name} ({alias}{known.source}{at})"
    return name + (f" + domain-adaptive masked-LM pretraining on {domain['n_texts']} texts" if domain else "")


def scoring_contract(prep: Prepared, text: str, settings: TrainSettings, pad_token_id: int | None,
                     base_model: str) -> Description:
    """What scoring needs: the text column, how texts are read (``settings``' token limit and
    window stride) and each outcome's rules, with its block of the network's output (target
    scaling and cut points are added at export)."""
    outcomes, start, ordinal_head = [], 0, settings.ordinal_head
    for name, (_, part) in zip(prep.names, prep.outcomes):
        width = len(part.labels or [0])
        if part.task == "ordinal":  # CORN: K - 1 logits; cumulative link: one score (cuts added later)
            width = len(part.labels) - 1 if ordinal_head == "corn" else 1
        outcomes.append(Outcome(
            name=name, task=part.task, columns=(start, start + width),
            labels=None if part.labels is None else tuple(part.labels),
            level_values=None if part.values is None else tuple(part.values.tolist()),
            ordinal_head=ordinal_head if part.task == "ordinal" else None))
        start += width
    return Description(text=text, outcomes=tuple(outcomes), max_length=settings.max_length,
                       pad_token_id=int(pad_token_id or 0), base_model=base_model, stride=settings.window_stride)


def split_sizes(design: Design) -> dict[str, int]:
    if design.folds is not None:
        return {f"fold_{f + 1}": int((design.folds == f).sum()) for f in range(len(design.runs))}
    return {s: int((design.runs[0].assigned == s).sum()) for s in ("train", "dev", "test")}


def manifest(seed: int, design: Design, index: pd.Index, started: float) -> dict[str, Any]:
    """Reproducibility record: seed, row ids of every split (never texts), versions,
    hardware, time."""
    if design.folds is not None:
        rows = {f"fold_{f + 1}": ids(index[design.folds == f]) for f in range(len(design.runs))}
    else:
        rows = {s: ids(index[design.runs[0].assigned == s]) for s in ("train", "dev", "test")}
    return {"seed": seed, "rows": rows, "versions": versions(), "hardware": hardware(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "wall_seconds": round(time.perf_counter() - started, 1)}


def records(table: pd.DataFrame | None) -> list[dict] | None:
    return None if table is None else table.to_dict(orient="records")


def cases(prep: Prepared, design: Design, predicted: np.ndarray, baseline: dict[str, np.ndarray] | None,
          observed: np.ndarray) -> dict[str, list]:
    """The evaluated cases (row id, fold, observed, predicted, each baseline's prediction
    as ``baseline_<name>``) as JSON lists."""
    rows = design.evaluated
    as_json = (lambda v: [float(x) for x in v]) if prep.numeric else (lambda v: [str(x) for x in v])
    out: dict[str, list] = {"row": ids(prep.index[rows])}
    if design.folds is not None:
        out["fold"] = [int(f) + 1 for f in design.folds[rows]]
    out.update(observed=as_json(observed[rows]), predicted=as_json(predicted[rows]))
    for name, values in (baseline or {}).items():
        out[f"baseline_{name}"] = as_json(values[rows])
    return out
