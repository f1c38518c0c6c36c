"""The steps of a fit, each one job, after the request is checked
(:mod:`pytext_psych.request`): adapt the encoder to the domain, train the design's runs (the
one place that calls ``fine_tune``), fit the baseline, export and check the bundle, score
through it, compute the statistics and describe the result.

``fit_text_model`` (in :mod:`pytext_psych.fit`) and ``tune_text_model`` (in
:mod:`pytext_psych.tune`) are these steps in order. torch is imported inside the steps
that train or export.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import metadata
from .core.outputs import Reservation
from .core.description import Description
from .core.settings import BASELINES, TrainSettings
from .data.design import Run
from .data.outcomes import blocks, dev_scorer_for, wide
from .data.reading import Prepared
from .evaluation.evaluate import (
    Evaluation,
    Scored,
    evaluate_outcomes,
    observed_values,
    rescale,
    score_rows,
)
from .reporting.card import CARD, render
from .request import Job
from .scoring import bundle
from .stats import dev_scorer, metric_task
from .training.checkpoints import Checkpoints


def adapt_domain(job: Job, slot: Reservation) -> tuple[str, dict[str, Any] | None]:
    """The encoder to fine-tune: ``settings.model``, or a copy of it pretrained on the
    unlabelled domain texts (in the reservation's scratch area). Also its record."""
    from .training.domain import domain_record, pretrain_domain

    model = job.settings.model
    if job.domain_texts is not None:
        s = job.settings
        model = str(pretrain_domain(job.domain_texts, model, slot.work("domain") / "model",
                                    max_length=s.max_length, batch_size=s.batch_size, seed=s.seed,
                                    progress=job.progress))
    return model, domain_record(model)


@dataclass
class Trained:
    """A fine-tuned model of one run, with its target scaling (regression)."""

    run: Run
    tokenizer: Any
    net: Any
    history: list[dict[str, Any]]
    best_epoch: int
    scale: tuple[float, float] | None
    strategy: str  # the one used ("auto" made concrete)
    cuts: list[float] | None = None  # ordinal cumulative-link head's cut points


def scaling(prep: Prepared, run: Run) -> tuple[Any, Any] | None:
    """Mean and SD of the run's training outcome (regression targets are standardised);
    several outcomes: arrays, one value per outcome."""
    if prep.task != "regression":
        return None
    y = prep.y[run.rows("train")]
    mean, sd = y.mean(axis=0), y.std(axis=0)
    if np.any(sd == 0):
        constant = [n for n, s in zip(prep.names, np.atleast_1d(sd)) if s == 0] or ["the outcome"]
        raise ValueError(f"{', '.join(constant)} is constant in the training rows; nothing to learn")
    return (float(mean), float(sd)) if y.ndim == 1 else (mean, sd)


def targets(prep: Prepared, scale: tuple[float, float] | None) -> np.ndarray:
    return (prep.y - scale[0]) / scale[1] if scale else prep.y


def train_run(job: Job, run: Run, settings: TrainSettings, tokens,
              checkpoints: Checkpoints | None = None) -> Trained:
    """Fine-tune one run: the one place a fit calls the training loop. With
    ``checkpoints``, its progress is saved and resumed under a key of its data and
    settings."""
    from .training.train import fine_tune

    settings = settings.for_data(len(run.rows("train")), job.prep.task)
    scale = scaling(job.prep, run)
    y = targets(job.prep, scale)
    checkpoint = checkpoints.slot("fine-tune", job.prep.texts, y, run.assigned, job.prep.task,
                                  job.prep.labels, settings.to_dict()) if checkpoints else None
    sizes = [c.stop - c.start for c in blocks(job.prep)] if job.prep.parts else None
    tokenizer, net, result = fine_tune(job.prep.texts, y, run.assigned, job.prep.task, job.prep.labels,
                                       settings, dev_scorer_for(job.prep, dev_scorer), tokens=tokens,
                                       progress=job.progress, checkpoint=checkpoint, sizes=sizes)
    history = [dict(h, run=run.name) if job.design.final is not None else h for h in result.history]
    return Trained(run, tokenizer, net, history, result.best_epoch, scale, settings.strategy, result.cuts)


def train_design(job: Job, model: str, tokens, checkpoints: Checkpoints,
                 winner: Trained | None = None) -> list[Trained]:
    """Every run of the design (``winner``: the hold-out run already trained by tuning),
    then, with cv, the final model on all rows for the median of the folds' best epochs
    (with the folds' strategy: ``"auto"`` is made concrete once, for the first run's size)."""
    settings = job.settings.but(model=model).for_data(len(job.design.runs[0].rows("train")), job.prep.task)
    trained = [winner] if winner is not None else [
        train_run(job, run, settings, tokens, checkpoints) for run in job.design.runs]
    if job.design.final is None:
        return trained
    epochs = max(1, int(np.round(np.median([t.best_epoch for t in trained]))))
    return trained + [train_run(job, job.design.final, settings.but(epochs=epochs), tokens, checkpoints)]


def baseline_predictions(job: Job) -> tuple[Any, dict[str, str] | None]:
    """Each baseline's predictions (as the outcome's values) for every evaluated row, as
    ``{name: values}`` (several outcomes: a list of these, one per outcome), each trained on
    each run's train rows with the penalty chosen on its dev rows; and their descriptions."""
    if not job.evaluation.baseline:
        return None, None
    from .training.encoders import text_embeddings
    from .training.nets import using_all_cores

    encoder = job.evaluation.baseline_model or job.settings.model
    with using_all_cores():  # the cores the fine-tune used
        embedded = text_embeddings(encoder, job.prep.texts, job.settings.max_length)
    made = [{name: _baseline(job, part, name, embedded) for name in BASELINES}
            for part in job.prep.parts or [job.prep]]
    values = [{name: v for name, (v, _) in each.items()} for each in made]
    described = {name: d + (f"; encoder {encoder}" if name == "embeddings" else "")
                 for name, (_, d) in made[0].items()}
    return (values if job.prep.parts else values[0]), described


def _baseline(job: Job, prep: Prepared, name: str, embedded: np.ndarray) -> tuple[np.ndarray, str]:
    from .evaluation.baseline import fit_named

    k = len(prep.labels or [0])
    task = metric_task(prep.task)  # ordinal: ridge on the ratings
    y = observed_values(prep) if prep.numeric else prep.y
    values = np.empty(len(prep.y), dtype=float if prep.numeric else np.int64)
    for run in job.design.runs:
        base = fit_named(name, prep.texts, embedded, y, run.assigned, task, k, dev_scorer(task))
        rows = slice(None) if job.design.final is None else run.rows("test")
        values[rows] = base.predicted[rows]
    return (values if prep.numeric else np.asarray(prep.labels, dtype=object)[values]), base.describe()


def export_model(job: Job, trained: Trained, folder: Path, contract: Description):
    """Export ``trained`` with parity checked on its dev rows (else its test rows; for a
    model trained on all rows, a sample of 256 of them)."""
    from .training.export import export_checked

    run = trained.run
    part = "dev" if len(run.rows("dev")) else "test"
    rows, split = run.rows(part), part
    if not len(rows):
        rows = np.sort(np.random.default_rng(job.settings.seed).permutation(len(job.prep.y))[:256])
        split = "sample of training rows"
    return export_checked(trained.tokenizer, trained.net, folder, _fitted(contract, trained), job.evaluation.precisions,
                          [job.prep.texts[i] for i in rows], targets(job.prep, trained.scale)[rows], split)


def _fitted(contract: Description, trained: Trained) -> Description:
    """The contract with what the fine-tune learned: each rating's training mean and SD,
    the ordinal cumulative-link head's cut points."""
    mean, sd = (np.atleast_1d(v).astype(float).tolist() for v in trained.scale or ((), ()))
    return contract.but(outcomes=tuple(
        replace(o, target_mean=mean[j] if mean else None, target_sd=sd[j] if sd else None,
                ordinal_cuts=None if trained.cuts is None else tuple(trained.cuts))
        for j, o in enumerate(contract.outcomes)))


def scored_through_bundles(job: Job, trained: list[Trained], scorer, slot: Reservation,
                           contract: Description) -> Scored:
    """Predictions for the rows the fit reports: hold-out, every row from the bundle; with
    cv, each row from its fold's model, exported and scored the same way."""
    n = len(job.prep.y)
    if job.design.final is None:
        return score_rows(scorer, job.prep.texts, np.arange(n), n)
    frames, outputs = [], np.full((n, contract.num_outputs), np.nan, dtype=np.float32)
    for fold in trained[:-1]:
        fold_scorer = export_model(job, fold, slot.work("fold"), contract)
        rows = fold.run.rows("test")
        part = score_rows(fold_scorer, job.prep.texts, rows, n)
        outputs[rows] = rescale(part.outputs[rows], fold_scorer, scorer)
        frames.append(part.frame.loc[rows])
    return Scored(outputs, pd.concat(frames).sort_index(),
                  f"{part.precision} (fold models exported to ONNX, out-of-fold)")


def fit_predictions(job: Job, scored: Scored, baseline: Any) -> pd.DataFrame:
    """``fit.predictions``: row id, split (and fold), observed, the scores, the baseline
    (several outcomes: ``observed_<outcome>``, ``predicted_<outcome>``, ...)."""
    design, n = job.design, len(job.prep.y)
    split = np.full(n, "test", dtype=object) if design.folds is not None else design.runs[0].assigned
    each = _each_outcome(job.prep, baseline)
    observed = {wide("observed", name): observed_values(part) for name, part, _ in each}
    frame = pd.concat([pd.DataFrame({"row": job.prep.index, "split": split, **observed}),
                       scored.frame.reset_index(drop=True)], axis=1)
    if design.folds is not None:
        frame.insert(2, "fold", design.folds + 1)
    for outcome, _, base in each:
        for name, values in (base or {}).items():
            frame[wide(f"baseline_{name}", outcome)] = values
    return frame


def _each_outcome(prep: Prepared, baseline: Any) -> list[tuple[str | None, Prepared, dict | None]]:
    """``(name, data, baselines)`` per outcome; one outcome: ``(None, prep, baseline)``, so
    that :func:`~pytext_psych.data.outcomes.wide` keeps its columns' names."""
    if not prep.parts:
        return [(None, prep, baseline)]
    return list(zip(prep.names, prep.parts, baseline or [None] * len(prep.parts)))


def _cases(job: Job, scored: Scored, baseline: Any) -> dict[str, list]:
    """The evaluated cases for bundle.json (several outcomes: wide names)."""
    out = {}
    for name, part, base in _each_outcome(job.prep, baseline):
        one = metadata.cases(part, job.design, scored.frame[wide("predicted", name)].to_numpy(), base,
                             observed_values(part))
        out.update({k if k in ("row", "fold") else wide(k, name): v for k, v in one.items()})
    return out


def describe(job: Job, trained: list[Trained], scorer, scored: Scored, results: Evaluation,
             baseline: tuple[np.ndarray | None, str | None], domain: dict | None) -> Description:
    """bundle.json: the scoring contract, training record, evaluation and provenance."""
    history = [h for t in trained for h in t.history]
    training = dict(job.settings.to_dict(), **job.evaluation.to_dict(), strategy=trained[-1].strategy,
                    strategy_requested=job.settings.strategy, best_epoch=trained[-1].best_epoch,
                    domain_pretraining=domain, covariates=list(job.covariates), history=history)
    training["split"] = list(job.evaluation.split)
    evaluation = {k: metadata.records(getattr(results, k))
                  for k in ("metrics", "baseline_metrics", "comparison", "agreement", "incremental")}
    evaluation.update(baseline=baseline[1], cases=_cases(job, scored, baseline[0]))
    from .reporting.card import model_license
    from .training.encoders import describe_encoder, resolve_model

    calibration = results.calibration or (None,) * len(scorer.description.outcomes)
    return scorer.description.but(
        outcomes=tuple(replace(o, calibration=c) for o, c in zip(scorer.description.outcomes, calibration)),
        training=training, n=metadata.split_sizes(job.design), data=_data_summary(job.prep),
        encoder=describe_encoder(job.settings.model),
        card={"license": model_license(_folder(resolve_model(job.settings.model))),
              "intended_use": None, "limitations": None},
        metrics_precision=scored.precision, metrics=evaluation["metrics"], evaluation=evaluation,
        manifest=metadata.manifest(job.settings.seed, job.design, job.prep.index, job.started))


def _data_summary(prep: Prepared) -> dict[str, Any]:
    from .reporting.card import data_summary

    if not prep.parts:
        return data_summary(prep.y, prep.labels, prep.texts)
    each = {name: data_summary(part.y, part.labels, prep.texts) for name, part in zip(prep.names, prep.parts)}
    first = next(iter(each.values()))
    return {"n": first["n"], "words": first["words"], "outcomes": each}


def run(job: Job, slot: Reservation, checkpoints: Checkpoints, winner: Trained | None = None):
    """All steps after the checks, writing the bundle into ``slot``; returns the bundle's
    description, ``fit.predictions`` and the evaluation. The checkpoints are removed once the bundle is written."""
    from .training.nets import TokenCache

    model, domain = adapt_domain(job, slot)
    trained = train_design(job, model, TokenCache(), checkpoints, winner)
    baseline = baseline_predictions(job)
    contract = metadata.scoring_contract(job.prep, job.text, job.outcome, job.settings.max_length,
                                         trained[-1].tokenizer.pad_token_id,
                                         metadata.base_model_name(job.settings.model, domain),
                                         job.settings.ordinal_head)
    with slot.staged(check=bundle.check_sealed) as stage:
        scorer = export_model(job, trained[-1], stage, contract)
        scored = scored_through_bundles(job, trained, scorer, slot, scorer.description)
        boot = dict(n_resamples=job.evaluation.n_resamples, ci_level=job.evaluation.ci_level,
                    seed=job.settings.seed)
        cases = ("out-of-fold predictions of the fold models" if job.design.final is not None
                 else "dev split")
        results = evaluate_outcomes(job.prep, scored, baseline[0], job.design.evaluated,
                                    job.design.calibration, cases, boot, job.covariate_values, model=scorer)
        described = describe(job, trained, scorer, scored, results, baseline, domain).but(
            shift=shift_profile(job, scorer, scored))
        (stage / CARD).write_text(render(described))
        description = bundle.seal(stage, described)
    checkpoints.discard()
    return description, fit_predictions(job, scored, baseline[0]), results


def shift_profile(job: Job, scorer, scored: Scored) -> dict[str, Any]:
    """The training texts' profile for the shift check at scoring time: medians from the
    training rows, threshold from the dev rows (with cv: all rows, out-of-fold)."""
    from .scoring.shift import make_profile

    run = job.design.runs[0]
    if job.design.final is not None or not len(run.rows("dev")):
        every = np.arange(len(job.prep.y))
        return make_profile(scorer, job.prep.texts, scored.outputs, every, every, "all texts")
    return make_profile(scorer, job.prep.texts, scored.outputs, run.rows("train"), run.rows("dev"),
                        "dev split")


def _folder(model: str) -> Path | None:
    return Path(model) if Path(model).is_dir() else None
