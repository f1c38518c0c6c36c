"""``tune_text_model``: try training settings on the dev split, keep the best, fit it.

The same steps as ``fit_text_model`` (:mod:`pytext_psych.pipeline`); the winning trial's
trained model is handed to the final fit explicitly, so it is not trained twice.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from . import pipeline, request
from .core.settings import TrainSettings
from .data.reading import DataLike
from .result import TextModelFit
from .scoring import bundle
from .stats import HEADLINE
from .training.checkpoints import Checkpoints

TUNABLE = tuple(f.name for f in TrainSettings.public_fields() if f.metadata["tunable"])


def tune_text_model(data: DataLike, text: str, outcome: str, *, task: str = "auto",
                    learning_rate: Sequence[float] = (2e-5, 5e-5, 1e-4), domain_texts: Any = None,
                    output_dir: str | Path | None = None, overwrite: bool = False,
                    progress: bool = True, resume: bool = True, **options: Any) -> TextModelFit:
    """Try training settings on the dev split, keep the best, and return its full fit.

    Every combination of the list-valued settings (``learning_rate`` and any tunable
    setting of :class:`~pytext_psych.TrainSettings` given as a list: ``epochs,
    batch_size, max_length, patience, strategy, freeze_layers, lora_r, lora_alpha,
    class_weights, grad_accumulation``) is fine-tuned on the train rows and scored on the
    dev rows (macro F1 / Pearson r at its best epoch). The test rows are not looked at
    until the chosen setting's fit, which is :func:`fit_text_model` with that setting,
    reusing the winning trial's model. Other keyword arguments are settings as in
    :func:`fit_text_model`; ``seed`` is deliberately not tunable. Every trial saves its
    progress as a fit does: the same call resumes after a crash (``resume=False`` starts
    over).

    The default grid spans what won in our measurements: 2e-5 (the common recipe),
    5e-5 (the default) and 1e-4 (best on RWWD's unbalanced emotions).

    Returns
    -------
    TextModelFit
        The chosen fit, with ``trials``: one row per setting tried, with its dev metric,
        best epoch, epochs run, seconds and ``chosen``.

    Examples
    --------
    >>> fit = tune_text_model(df, "answer", "stress", learning_rate=[3e-5, 1e-4],
    ...                       strategy=["full", "lora"])                     # doctest: +SKIP
    >>> fit.trials                                                          # doctest: +SKIP
    """
    request.single_fit(outcome, "tune_text_model")
    if domain_texts is not None:
        raise ValueError("run pretrain_domain() once and pass its folder as model=, "
                         "rather than pretraining again for every trial")
    grid = {"learning_rate": list(np.atleast_1d(learning_rate))}
    grid.update({k: list(v) for k, v in options.items() if k in TUNABLE and isinstance(v, (list, tuple))})
    if any(len(v) == 0 for v in grid.values()):
        raise ValueError("every tuned setting needs at least one value")
    if options.get("cv") is not None:
        raise ValueError("tune_text_model chooses on the dev split; it does not combine with cv")
    combos = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    fixed = {k: v for k, v in options.items() if k not in grid}
    job = request.check_request(data, text, outcome, task, {**fixed, **combos[0]}, None, progress,
                                 overwrite, caller="tune_text_model", resume=resume)
    jobs = [request.with_settings(job, **combo) for combo in combos]  # all checked up front
    if not len(job.data.design.runs[0].rows("dev")):
        raise ValueError("tuning needs a dev split; split leaves no dev cases")
    with bundle.reserve_bundle(output_dir, overwrite) as slot:
        checkpoints = Checkpoints(slot.target, resume)
        trials, best, winner = _trials(jobs, combos, checkpoints)
        described, predictions, _ = pipeline.run(jobs[best], slot, checkpoints, winner=winner)
    fit = TextModelFit.from_description(described, predictions, slot.target)
    fit.trials = pd.DataFrame(trials).assign(chosen=lambda t: t["trial"] == best + 1)
    return fit


def _trials(jobs: list[request.Job], combos: list[dict],
            checkpoints: Checkpoints) -> tuple[list[dict], int, pipeline.Trained]:
    """Fine-tune every setting on the hold-out run and rate it by its best dev score
    (higher is better: the fit's dev scorer sets the sign by the metric's direction).
    Returns the trials, the winner's position and its trained model (only the best so
    far is kept in memory)."""
    from .training.nets import TokenCache

    tokens, trials, best, winner = TokenCache(), [], -1, None
    for i, (job, combo) in enumerate(zip(jobs, combos)):
        started = time.perf_counter()
        result = pipeline.train_run(job.data, job.data.design.runs[0], job.settings, tokens, checkpoints,
                                    job.progress)
        score = max(h["dev_metric"] for h in result.history)
        trials.append({"trial": i + 1, **combo, "learning_rate": job.settings.learning_rate,
                       f"dev_{HEADLINE[job.data.prep.task]}": score, "best_epoch": result.best_epoch,
                       "epochs_run": len(result.history), "seconds": time.perf_counter() - started})
        if winner is None or score > trials[best]["dev_" + HEADLINE[job.data.prep.task]]:
            best, winner = i, result
    return trials, best, winner
